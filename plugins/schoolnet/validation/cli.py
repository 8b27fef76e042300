"""``schoolnet validate``: check one district sheet exported as ``.xlsx`` or ``.csv``.

    schoolnet validate FILE --esa ESA_CODE --registry SCHOOLS_CSV [--json] [--date YYYY-MM-DD]
                       [--previous-accepted N]

The same validator as the daily pull, so a clerk or an operator sees exactly the findings the
pipeline would report. The exit code is 0 whenever the file was read, whatever it held; it is 1
only when the file or the registry cannot be read at all, with one line on stderr saying why.
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
import unicodedata
from collections.abc import Sequence
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any, TextIO

from schoolnet.cliargs import iso_date
from schoolnet.registry import RegistryError, read_schools, schools_by_code
from schoolnet.validation.files import SheetFileError, read_sheet_file
from schoolnet.validation.findings import Finding
from schoolnet.validation.quarantine import apply_quarantine
from schoolnet.validation.validator import SheetValidation, validate_sheet

COMMAND = "validate"
# Thailand keeps UTC+7 all year (no daylight saving), so a fixed offset needs no tz database.
BANGKOK = timezone(timedelta(hours=7), "Asia/Bangkok")
OUTCOME_TEXT = {
    "accepted": "รับข้อมูล (accepted)",
    "rejected": "ไม่รับข้อมูลทั้งชีต (rejected)",
    "quarantined": "พักข้อมูลทั้งชีตไว้รอผู้ดูแลระบบยืนยัน (quarantined)",
}
SEVERITY_TEXT = {"error": "ข้อผิดพลาด", "warning": "คำเตือน"}
TABLE_HEADERS = ("แถว", "ช่อง", "ระดับ", "รหัสปัญหา", "ค่าที่พิมพ์", "ข้อความ")
_VALUE_WIDTH = 24  # characters of a typed value shown in the table


def today_in_bangkok() -> date:
    return datetime.now(BANGKOK).date()


def _count(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError("must be 0 or more")
    return value


def register(subparsers: Any) -> None:
    """Add the ``validate`` subcommand to the ``schoolnet`` command."""
    parser = subparsers.add_parser(
        COMMAND,
        help="check one district sheet exported as .xlsx or .csv against the contract",
        description=(
            "Check one ESA's district sheet, exported as .xlsx or .csv, against the district "
            "sheet contract and print every finding. Exit code 0 when the file was read "
            "(whatever it held), 1 when it could not be read at all."
        ),
    )
    parser.add_argument("file", type=Path, metavar="FILE", help="the exported sheet (.xlsx/.csv)")
    parser.add_argument(
        "--esa", required=True, metavar="ESA_CODE", help="the ESA whose sheet this is"
    )
    parser.add_argument(
        "--registry",
        type=Path,
        required=True,
        metavar="SCHOOLS_CSV",
        help="the school registry (schools.csv in the contract's shape)",
    )
    parser.add_argument(
        "--json", action="store_true", help="print the contract's JSON document instead"
    )
    parser.add_argument(
        "--date",
        type=iso_date,
        default=None,
        metavar="YYYY-MM-DD",
        help="today for the future-date rule (default: today in Asia/Bangkok)",
    )
    parser.add_argument(
        "--previous-accepted",
        type=_count,
        default=None,
        metavar="N",
        help="rows accepted at the ESA's last accepted pull: quarantine a sheet that fell too far",
    )
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    esa_code = str(args.esa).strip()
    try:
        schools = schools_by_code(read_schools(args.registry))
    except UnicodeDecodeError:
        return _fail(f"อ่านทะเบียนโรงเรียน {args.registry} ไม่ได้: ไม่ใช่ไฟล์ CSV แบบ UTF-8")
    except (RegistryError, csv.Error) as error:
        return _fail(f"อ่านทะเบียนโรงเรียนไม่ได้: {error}")
    try:
        values, tab = read_sheet_file(args.file)
    except SheetFileError as error:
        return _fail(str(error))
    if not any(school.esa_code == esa_code for school in schools.values()):
        # Not a reason to stop: the sheet is still checked, every row as another ESA's school.
        print(
            f"schoolnet {COMMAND}: หมายเหตุ: ไม่มีโรงเรียนของเขตพื้นที่ {esa_code} "
            f"ในทะเบียน {args.registry.name}",
            file=sys.stderr,
        )
    validation = validate_sheet(
        values,
        esa_code=esa_code,
        schools=schools,
        today=args.date or today_in_bangkok(),
        tab_title=tab,
    )
    validation = apply_quarantine(validation, args.previous_accepted)
    if args.json:
        json.dump(validation.to_json_dict(), sys.stdout, ensure_ascii=False, indent=2)
        sys.stdout.write("\n")
    else:
        write_table(validation, sys.stdout, source=args.file.name, tab=tab)
    return 0


def _fail(reason: str) -> int:
    print(f"schoolnet {COMMAND}: {_one_line(reason)}", file=sys.stderr)
    return 1


def _one_line(text: object) -> str:
    return " ".join(str(text).split())


# ---------------------------------------------------------------------------------------------
# The readable table


def display_width(text: str) -> int:
    """Terminal columns of a text: Thai vowel and tone marks take none, wide characters two."""
    width = 0
    for char in text:
        if unicodedata.category(char) in ("Mn", "Me", "Cf"):
            continue
        width += 2 if unicodedata.east_asian_width(char) in ("W", "F") else 1
    return width


def _pad(text: str, width: int) -> str:
    return text + " " * (width - display_width(text))


def _clip(text: str, limit: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def table_order(findings: Sequence[Finding]) -> list[Finding]:
    """Sheet-wide findings, then each row's top to bottom, then the schools not in the sheet."""

    def key(item: tuple[int, Finding]) -> tuple[int, int, int]:
        index, finding = item
        if finding.code == "not_reported":
            return (2, 0, index)
        if finding.row is None:
            return (0, 0, index)
        return (1, finding.row, index)  # the validator already orders a row's cells

    return [finding for _, finding in sorted(enumerate(findings), key=key)]


def write_table(
    validation: SheetValidation, out: TextIO, *, source: str, tab: str | None = None
) -> None:
    """Findings as a plain table sorted by row, and a one-line summary."""
    where = f'แท็บ "{tab}"' if tab is not None else "CSV"
    out.write(f"ตรวจไฟล์ {source} ({where}) ของเขตพื้นที่ {validation.esa_code}\n")
    rows = [
        (
            "–" if finding.row is None else str(finding.row),
            finding.cell or "–",
            SEVERITY_TEXT.get(finding.severity, finding.severity),
            finding.code,
            _clip(finding.value or "", _VALUE_WIDTH),
            finding.message,
        )
        for finding in table_order(validation.findings)
    ]
    if rows:
        widths = [
            max(display_width(row[i]) for row in [TABLE_HEADERS, *rows])
            for i in range(len(TABLE_HEADERS) - 1)
        ]
        for row in [TABLE_HEADERS, *rows]:
            cells = [_pad(text, width) for text, width in zip(row, widths, strict=False)]
            out.write("  ".join([*cells, row[-1]]).rstrip() + "\n")
    else:
        out.write("ไม่พบปัญหา\n")
    out.write(summary_line(validation) + "\n")


def summary_line(validation: SheetValidation) -> str:
    """``ผล: รับข้อมูล (accepted) · 150 แถว: รับ 148 ไม่รับ 2 · ข้อผิดพลาด 2 คำเตือน 3 · ...``"""
    accepted = len(validation.accepted_rows)
    rejected = len(validation.rejected_rows)
    copies = len(validation.duplicate_copies)
    errors = sum(1 for f in validation.findings if f.severity == "error")
    warnings = sum(1 for f in validation.findings if f.severity == "warning")
    rows = f"{len(validation.rows):,} แถว: ผ่าน {accepted:,} ไม่ผ่าน {rejected:,}"
    if copies:
        rows += f" แถวซ้ำ {copies:,}"
    parts = [
        f"ผล: {OUTCOME_TEXT.get(validation.outcome, validation.outcome)}",
        rows,
        f"ข้อผิดพลาด {errors:,} คำเตือน {warnings:,}",
    ]
    if validation.not_reported:
        parts.append(f"ไม่พบในชีต {len(validation.not_reported):,} โรงเรียน")
    return " · ".join(parts)


__all__ = ["register", "run", "summary_line", "today_in_bangkok", "write_table"]
