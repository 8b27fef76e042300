"""``schoolnet validate``: check one district sheet exported as ``.xlsx`` or ``.csv``.

    schoolnet validate FILE --esa ESA_CODE --registry SCHOOLS_CSV [--json] [--date YYYY-MM-DD]
                       [--previous SNAPSHOT_CSV] [--previous-accepted N]

The same validator as the daily pull, so a clerk or an operator sees exactly the findings the
pipeline would report; with ``--previous`` (the CSV ``schoolnet export`` writes) each row is
also compared with its school's last accepted values, as the daily run compares it with the
warehouse. Options are never abbreviated: ``--previous`` and ``--previous-accepted`` are two
options, each only as spelled. The exit code is 0 whenever the file was read, whatever it
held; it is 1 only when the file, the registry or the export cannot be read at all, with one
line on stderr saying why.
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
import unicodedata
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any, TextIO

from schoolnet.contract import load_contract
from schoolnet.core.cliargs import iso_date
from schoolnet.core.registry import RegistryError, School, read_schools, schools_by_code
from schoolnet.validation.files import SheetFileError, Uncomputed, read_sheet_file
from schoolnet.validation.findings import Finding, column_letters
from schoolnet.validation.previous import PreviousFileError, read_previous_export
from schoolnet.validation.quarantine import apply_quarantine
from schoolnet.validation.validator import SheetValidation, validate_sheet

COMMAND = "validate"
# Thailand keeps UTC+7 all year (no daylight saving), so a fixed offset needs no tz database.
BANGKOK = timezone(timedelta(hours=7), "Asia/Bangkok")
_TEXT = load_contract().file_text  # the command's Thai lines are the contract's `file_texts`
OUTCOME_TEXT = {
    outcome: _TEXT(f"outcome_{outcome}") for outcome in ("accepted", "rejected", "quarantined")
}
SEVERITY_TEXT = {severity: _TEXT(f"severity_{severity}") for severity in ("error", "warning")}
TABLE_HEADERS = tuple(
    _TEXT(f"table_{column}") for column in ("row", "cell", "severity", "code", "value", "message")
)
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
        # `--previous` must never be read as an abbreviation of `--previous-accepted`.
        allow_abbrev=False,
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
        "--previous",
        dest="previous_snapshot",
        type=Path,
        default=None,
        metavar="SNAPSHOT_CSV",
        help=(
            "the schools' last accepted values, as `schoolnet export DATE --format csv` writes "
            "them: each row is compared with its school's, as the daily run does"
        ),
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
        return _fail(_TEXT("registry_not_utf8", path=args.registry))
    except (RegistryError, csv.Error) as error:
        return _fail(_TEXT("registry_unreadable", error=error))
    try:
        values, tab = read_sheet_file(args.file)
    except SheetFileError as error:
        return _fail(str(error))
    previous = None
    if args.previous_snapshot is not None:
        try:
            previous = read_previous_export(args.previous_snapshot, esa_code)
        except PreviousFileError as error:
            return _fail(str(error))
    if not any(school.esa_code == esa_code for school in schools.values()):
        # Not a reason to stop: the sheet is still checked, every row as another ESA's school.
        note = _TEXT("registry_no_schools", esa_code=esa_code, registry=args.registry.name)
        print(f"schoolnet {COMMAND}: {note}", file=sys.stderr)
    validation = validate_sheet(
        values,
        esa_code=esa_code,
        schools=schools,
        today=args.date or today_in_bangkok(),
        tab_title=tab,
        previous=previous,
    )
    validation = flag_uncomputed(validation, values)
    validation = apply_quarantine(validation, args.previous_accepted)
    if args.json:
        json.dump(validation.to_json_dict(), sys.stdout, ensure_ascii=False, indent=2)
        sys.stdout.write("\n")
    else:
        write_table(
            validation,
            sys.stdout,
            source=args.file.name,
            tab=tab,
            likely_esa=likely_esa(validation, schools),
        )
    return 0


UNCOMPUTED_MESSAGE = load_contract().message_template("formula_without_value")


def flag_uncomputed(validation: SheetValidation, values: list[list[Any]]) -> SheetValidation:
    """Say of each formula cell the file kept no value for that it is one (an error: its value
    is unknown), in place of what the validator made of the formula's text; its row is not
    accepted. Only exported files have such cells: Google computes every formula. A row the
    validator did not read (a title line, a totals row's ``=SUM``) needs no value."""
    read = {result.row for result in validation.rows}
    formulas = {
        f"{column_letters(column)}{number}": (number, str(value))
        for number, cells in enumerate(values, start=1)
        if number in read
        for column, value in enumerate(cells)
        if isinstance(value, Uncomputed)
    }
    if not formulas:
        return validation

    def flagged(cell: str, finding: Finding | None) -> Finding:
        number, formula = formulas[cell]
        return Finding(
            esa_code=validation.esa_code,
            row=number,
            column=finding.column if finding else None,
            header=finding.header if finding else None,
            cell=cell,
            severity="error",
            code="formula_without_value",
            message=UNCOMPUTED_MESSAGE,
            value=formula,
        )

    findings: list[Finding] = []
    done: set[str] = set()
    for finding in validation.findings:  # each in the place of what it replaces
        if finding.cell not in formulas:
            findings.append(finding)
        elif finding.cell not in done:
            findings.append(flagged(finding.cell, finding))
            done.add(finding.cell)
    findings += [flagged(cell, None) for cell in formulas if cell not in done]
    numbers = {number for number, _ in formulas.values()}
    rows = tuple(
        replace(result, accepted=False) if result.row in numbers else result
        for result in validation.rows
    )
    return replace(validation, rows=rows, findings=tuple(findings))


def likely_esa(validation: SheetValidation, schools: Mapping[str, School]) -> str | None:
    """The ESA whose sheet this probably is, when it is not the one given: none of its rows'
    schools belong to the given ESA and most belong to one other."""
    owners = [
        schools[row.school_code].esa_code
        for row in validation.rows
        if row.school_code and row.school_code in schools
    ]
    if not owners or validation.esa_code in owners:
        return None
    other, count = Counter(owners).most_common(1)[0]
    return other if count * 2 > len(validation.rows) else None


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
    validation: SheetValidation,
    out: TextIO,
    *,
    source: str,
    tab: str | None = None,
    likely_esa: str | None = None,
) -> None:
    """Findings as a plain table sorted by row, and a one-line summary."""
    where = _TEXT("where_tab", tab=tab) if tab is not None else "CSV"
    out.write(_TEXT("checking", source=source, where=where, esa_code=validation.esa_code) + "\n")
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
        out.write(_TEXT("no_problems") + "\n")
    out.write(summary_line(validation, likely_esa) + "\n")


def verdict(validation: SheetValidation, likely_esa: str | None = None) -> str:
    """What happened to the sheet, in words: a sheet the contract accepts may still have given
    nothing (only its header, every row rejected, or the schools of another ESA)."""
    if validation.outcome != "accepted" or validation.accepted_rows:
        return OUTCOME_TEXT.get(validation.outcome, validation.outcome)
    if likely_esa is not None:
        return _TEXT("nothing_other_esa", likely_esa=likely_esa, esa_code=validation.esa_code)
    if not validation.rows:
        return _TEXT("nothing_no_rows")
    return _TEXT("nothing_all_rejected")


def summary_line(validation: SheetValidation, likely_esa: str | None = None) -> str:
    """``ผล: รับข้อมูล (accepted) · 150 แถว: รับ 148 ไม่รับ 2 · ข้อผิดพลาด 2 คำเตือน 3 · ...``"""
    accepted = len(validation.accepted_rows)
    rejected = len(validation.rejected_rows)
    copies = len(validation.duplicate_copies)
    errors = sum(1 for f in validation.findings if f.severity == "error")
    warnings = sum(1 for f in validation.findings if f.severity == "warning")
    rows = _TEXT("summary_rows", rows=len(validation.rows), accepted=accepted, rejected=rejected)
    if copies:
        rows += _TEXT("summary_copies", copies=copies)
    parts = [
        _TEXT("summary_result", verdict=verdict(validation, likely_esa)),
        rows,
        _TEXT("summary_findings", errors=errors, warnings=warnings),
    ]
    if validation.not_reported:
        parts.append(_TEXT("summary_not_reported", schools=len(validation.not_reported)))
    return " · ".join(parts)


__all__ = ["register", "run", "summary_line", "today_in_bangkok", "write_table"]
