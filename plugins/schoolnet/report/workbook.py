"""The report's workbook: the day's figures as an ``.xlsx`` the ministry can sort and filter.

Three sheets, Thai sheet names and header rows: every school's snapshot, the schools no provider
reaches, and every ESA's findings. Values keep their types (dates as dates, numbers as numbers),
enum keys are shown as the contract's Thai labels, and every text cell passes through
:func:`schoolnet.core.cellsafety.neutralize`, so a school named ``=HYPERLINK(...)`` arrives as text.

The same warehouse and date give the same bytes: no clock is read, the document properties
carry the report date, and every zip entry carries the report date as its timestamp.
"""

from __future__ import annotations

import io
import os
import shutil
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time
from functools import cache
from typing import Any
from zipfile import ZIP_DEFLATED, ZipFile, ZipInfo

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter
from openpyxl.worksheet._write_only import WriteOnlyWorksheet
from openpyxl.writer.excel import ExcelWriter
from sqlalchemy import Connection

from schoolnet.contract import load_contract
from schoolnet.core import thai
from schoolnet.core.cellsafety import neutralize
from schoolnet.report.export import as_date, as_float, as_integer, as_list
from schoolnet.report.texts import report_text
from schoolnet.validation.feedback import SEVERITY_LABEL
from schoolnet.warehouse.queries import load_query

SNAPSHOT_SHEET = report_text("workbook_snapshot_sheet")
NO_PROVIDER_SHEET = report_text("workbook_no_provider_sheet")
NEVER_REPORTED = report_text("workbook_status_never_reported")
"""The status of a school that never reported, so a filter on the column finds it."""
FINDINGS_SHEET = load_contract().feedback_tab  # the findings, as each ESA's own tab is named
MEDIA_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
"""The MIME type of an ``.xlsx`` attachment."""

LEVEL_LABEL = {"primary": "ประถมศึกษา", "secondary": "มัธยมศึกษา"}
"""ESA levels as the ministry names them (สพป. / สพม.)."""

MAX_CELL_CHARS = 32_767
"""Excel's limit on the text of one cell; a longer text makes Excel "repair" the file."""


def workbook_filename(report_date: date) -> str:
    """The attachment's file name: ``schoolnet-2018-01-03.xlsx``."""
    return f"schoolnet-{report_date.isoformat()}.xlsx"


# --- cell values -------------------------------------------------------------------------------

Convert = Callable[[Any], Any]


def _text(value: Any) -> str | None:
    """Text as a spreadsheet may hold it: characters XML cannot carry dropped, formula-like
    text neutralized, cut to Excel's limit; empty text as an empty cell."""
    if value is None:
        return None
    text = str(value)
    if ILLEGAL_CHARACTERS_RE.search(text):
        text = ILLEGAL_CHARACTERS_RE.sub("", text)
    if not text:
        return None
    text = neutralize(text)
    if len(text) > MAX_CELL_CHARS:
        text = text[: MAX_CELL_CHARS - 1] + "…"
    return text


def _labelled(labels: dict[str, str]) -> Convert:
    """A key shown as its Thai label; a key the contract does not know, as stored."""

    def convert(value: Any) -> str | None:
        return None if value is None else _text(labels.get(str(value), value))

    return convert


def _status(labels: dict[str, str]) -> Convert:
    """The status as its Thai label. Every accepted row has one (the contract requires it), so
    a blank status is a school with no accepted row: it never reported, as the email counts."""
    labelled = _labelled(labels)

    def convert(value: Any) -> str | None:
        return NEVER_REPORTED if value is None else labelled(value)

    return convert


def _labelled_list(labels: dict[str, str]) -> Convert:
    def convert(value: Any) -> str | None:
        return _text(", ".join(labels.get(key, key) for key in as_list(value) or []))

    return convert


# --- sheets ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SheetColumn:
    key: str  # the query's column
    header: str  # Thai, as the sheet shows it
    width: float  # in characters
    convert: Convert


@dataclass(frozen=True)
class SheetSpec:
    title: str
    query: str  # sql/<query>.sql, bound with :report_date
    columns: tuple[SheetColumn, ...]


@cache
def sheet_specs() -> tuple[SheetSpec, ...]:
    """The workbook's sheets in order; headers of contract columns are the contract's own."""
    contract = load_contract()
    heading = contract.finding_headings  # the findings' headings, as the tab and email show

    def labels(enum: str) -> dict[str, str]:
        return {value.key: value.label for value in contract.enums[enum]}

    def contract_column(key: str, width: float) -> SheetColumn:
        column = contract.column(key)
        convert: Convert
        if column.type == "enum" and column.enum:
            convert = _labelled(labels(column.enum))
        elif column.type == "enum_list" and column.enum:
            convert = _labelled_list(labels(column.enum))
        elif column.type == "integer":
            convert = as_integer
        elif column.type == "number":
            convert = as_float
        elif column.type == "date":
            convert = as_date
        else:
            convert = _text
        return SheetColumn(key, column.header, width, convert)

    esa_name = SheetColumn("esa_name", "สำนักงานเขตพื้นที่การศึกษา", 30, _text)
    province = SheetColumn("province", "จังหวัด", 16, _text)
    accepted_on = SheetColumn("accepted_on", "วันที่รับข้อมูล", 14, as_date)
    snapshot = SheetSpec(
        SNAPSHOT_SHEET,
        "national_snapshot",
        (
            SheetColumn("report_date", "วันที่รายงาน", 13, as_date),
            contract_column("school_code", 13),
            contract_column("school_name", 30),
            SheetColumn("esa_code", "รหัสเขตพื้นที่", 12, _text),
            esa_name,
            province,
            SheetColumn("level", "ระดับ", 12, _labelled(LEVEL_LABEL)),
            contract_column("students", 12),
            SheetColumn("status", contract.column("status").header, 22, _status(labels("status"))),
            contract_column("isp", 14),
            contract_column("link_type", 16),
            contract_column("download_mbps", 14),
            contract_column("upload_mbps", 14),
            contract_column("monthly_fee_thb", 14),
            contract_column("funding_source", 18),
            contract_column("support_requested_thb", 16),
            contract_column("support_reason", 30),
            contract_column("providers_contacted", 24),
            contract_column("service_start", 14),
            contract_column("note", 30),
            accepted_on,
        ),
    )
    no_provider = SheetSpec(
        NO_PROVIDER_SHEET,
        "no_provider_schools",
        (
            contract_column("school_code", 13),
            contract_column("school_name", 30),
            esa_name,
            province,
            contract_column("students", 12),
            contract_column("providers_contacted", 30),
            accepted_on,
            contract_column("note", 40),
        ),
    )
    findings = SheetSpec(
        FINDINGS_SHEET,
        "findings_of_day",
        (
            SheetColumn("esa_code", "รหัสเขตพื้นที่", 12, _text),
            esa_name,
            SheetColumn("sheet_row", heading["row"], 8, as_integer),
            SheetColumn("cell", heading["cell"], 8, _text),
            SheetColumn("header", heading["header"], 24, _text),
            SheetColumn("severity", heading["severity"], 14, _labelled(SEVERITY_LABEL)),
            SheetColumn("message", heading["message"], 80, _text),
            SheetColumn("value", heading["value"], 20, _text),
            SheetColumn("code", heading["code"], 20, _text),
        ),
    )
    return (snapshot, no_provider, findings)


def _write_sheet(
    worksheet: WriteOnlyWorksheet, spec: SheetSpec, keys: Sequence[str], rows: Iterable[Any]
) -> int:
    """Header row (bold, frozen, filtered) and one row per result row; the rows written."""
    for index, column in enumerate(spec.columns, 1):
        worksheet.column_dimensions[get_column_letter(index)].width = column.width
    worksheet.freeze_panes = "A2"
    bold = Font(bold=True)
    header = []
    for column in spec.columns:
        cell = WriteOnlyCell(worksheet, value=_text(column.header))
        cell.font = bold
        header.append(cell)
    worksheet.append(header)
    plan = [(keys.index(column.key), column.convert) for column in spec.columns]
    count = 0
    for row in rows:
        worksheet.append([convert(row[index]) for index, convert in plan])
        count += 1
    last = get_column_letter(len(spec.columns))
    worksheet.auto_filter.ref = f"A1:{last}{count + 1}"
    return count


# --- reproducible bytes ------------------------------------------------------------------------


ZIP64_SIZE = (1 << 31) - 1
"""An entry this large needs zip64 headers, which are declared before its data is written."""


class _OneTimeZip(ZipFile):
    """A zip whose every entry carries one timestamp, not the clock's, so that the same
    workbook gives the same bytes (openpyxl writes entries by name and from temp files)."""

    def __init__(self, file: io.BytesIO, date_time: tuple[int, int, int, int, int, int]) -> None:
        super().__init__(file, "w", ZIP_DEFLATED, allowZip64=True)
        self.date_time = date_time

    def _info(self, name: str) -> ZipInfo:
        info = ZipInfo(name, date_time=self.date_time)
        info.compress_type = self.compression
        info.external_attr = 0o600 << 16
        return info

    def writestr(
        self,
        zinfo_or_arcname: str | ZipInfo,
        data: Any,
        compress_type: int | None = None,
        compresslevel: int | None = None,
    ) -> None:
        if isinstance(zinfo_or_arcname, str):
            zinfo_or_arcname = self._info(zinfo_or_arcname)
        super().writestr(zinfo_or_arcname, data, compress_type, compresslevel)

    def write(
        self,
        filename: Any,
        arcname: Any = None,
        # ZipFile.write's own parameters: _info gives every entry the book's one compression.
        compress_type: int | None = None,  # noqa: ARG002
        compresslevel: int | None = None,  # noqa: ARG002
    ) -> None:
        info = self._info(str(arcname or os.path.basename(filename)))
        large = os.path.getsize(filename) >= ZIP64_SIZE
        with open(filename, "rb") as source, self.open(info, "w", force_zip64=large) as target:
            shutil.copyfileobj(source, target, 1 << 20)


def build_report_workbook(conn: Connection, report_date: date) -> bytes:
    """The ``.xlsx`` of ``report_date``: every school, the schools no provider reaches, and
    every ESA's findings, read through ``sql/`` (an empty day gives the header rows only)."""
    workbook = Workbook(write_only=True)
    moment = datetime.combine(report_date, time())
    properties = workbook.properties
    properties.creator = "schoolnet"
    properties.lastModifiedBy = "schoolnet"
    # The document title, as a file browser shows it.
    properties.title = report_text("workbook_title", date=thai.thai_date(report_date))
    properties.created = moment
    properties.modified = moment
    for spec in sheet_specs():
        result = conn.execute(load_query(spec.query), {"report_date": report_date})
        worksheet = workbook.create_sheet(spec.title)
        _write_sheet(worksheet, spec, list(result.keys()), result)
    buffer = io.BytesIO()
    archive = _OneTimeZip(buffer, (report_date.year, report_date.month, report_date.day, 0, 0, 0))
    ExcelWriter(workbook, archive).save()  # not save_workbook(): it stamps the clock's time
    return buffer.getvalue()
