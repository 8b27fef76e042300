"""The report's workbook: the day's figures as an ``.xlsx`` the ministry can sort and filter.

Four sheets, Thai sheet names and header rows: every school's snapshot, the schools no provider
reaches, every ESA's findings, and the schools that lost their connection over the last days.
Values keep their types (dates as dates, numbers as numbers),
enum keys are shown as the contract's Thai labels, and every text cell passes through
:func:`schoolnet.core.cellsafety.neutralize`, so a school named ``=HYPERLINK(...)`` arrives as text.

The same warehouse and date give the same bytes: no clock is read, the document properties
carry the report date, and every zip entry carries the report date as its timestamp.
"""

from __future__ import annotations

import io
import math
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from functools import cache
from typing import Any
from zipfile import ZIP_DEFLATED, ZipFile, ZipInfo

from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.utils import get_column_letter
from sqlalchemy import Connection

from schoolnet.contract import load_contract
from schoolnet.core import thai
from schoolnet.core.cellsafety import neutralize
from schoolnet.report.daily import LOST_WINDOW_DAYS
from schoolnet.report.export import as_date, as_float, as_integer, as_list
from schoolnet.report.texts import report_text
from schoolnet.validation.feedback import SEVERITY_LABEL
from schoolnet.warehouse.queries import load_query

SNAPSHOT_SHEET = report_text("workbook_snapshot_sheet")
NO_PROVIDER_SHEET = report_text("workbook_no_provider_sheet")
NEVER_REPORTED = report_text("workbook_status_never_reported")
"""The status of a school that never reported, so a filter on the column finds it."""
LOST_SHEET = report_text("workbook_lost_sheet", days=LOST_WINDOW_DAYS)
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


@cache
def lost_sheet_spec() -> SheetSpec:
    """The schools that lost their connection over the last ``LOST_WINDOW_DAYS`` days
    (``sql/lost_connections.sql``), once each with the day; those lost since the previous
    report are the rows of the report date. Bound with ``:report_date`` and ``:since_date``."""
    contract = load_contract()

    def labels(enum: str) -> dict[str, str]:
        return {value.key: value.label for value in contract.enums[enum]}

    def header(key: str) -> str:
        return contract.column(key).header

    return SheetSpec(
        LOST_SHEET,
        "lost_connections",
        (
            SheetColumn("lost_on", "วันที่พบว่าขาดการเชื่อมต่อ", 14, as_date),
            SheetColumn("before_date", "รายงานก่อนหน้า (ยังเชื่อมต่อ)", 14, as_date),
            SheetColumn("school_code", header("school_code"), 13, _text),
            SheetColumn("school_name", header("school_name"), 30, _text),
            SheetColumn("esa_code", "รหัสเขตพื้นที่", 12, _text),
            SheetColumn("esa_name", "สำนักงานเขตพื้นที่การศึกษา", 30, _text),
            SheetColumn("province", "จังหวัด", 16, _text),
            SheetColumn("students", header("students"), 12, as_integer),
            SheetColumn("previous_isp", "ผู้ให้บริการเดิม", 14, _labelled(labels("isp"))),
            SheetColumn(
                "previous_link_type", "ประเภทการเชื่อมต่อเดิม", 16, _labelled(labels("link_type"))
            ),
            SheetColumn("status", "สถานะวันนี้", 22, _labelled(labels("status"))),
            SheetColumn("reconnected", "กลับมาเชื่อมต่อแล้ว", 12, _labelled(RECONNECTED_LABEL)),
            SheetColumn("note", header("note"), 40, _text),
            SheetColumn("accepted_on", "วันที่รับข้อมูล", 14, as_date),
        ),
    )


RECONNECTED_LABEL = {"1": "ใช่", "0": "", "True": "ใช่", "False": ""}
"""The reconnected flag as the workbook shows it (an engine returns 1/0 or a boolean)."""


# --- the package ---------------------------------------------------------------------------------
#
# SpreadsheetML written directly: openpyxl builds a cell object per value and writes it through
# lxml element by element, ~9 µs a cell, and the national day has ~450,000 cells. The parts below
# are the ones openpyxl's write-only workbook wrote (three styles: plain, bold header, date),
# with text as inline strings in UTF-8.

_MAIN_NS = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
_REL_NS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_PACKAGE_REL_NS = "http://schemas.openxmlformats.org/package/2006/relationships"
_OFFICE_TYPE = "application/vnd.openxmlformats-officedocument"
_XML_HEAD = '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
_BOLD_STYLE, _DATE_STYLE = 1, 2  # cellXfs in _STYLES
_STYLES = (
    f'{_XML_HEAD}<styleSheet xmlns="{_MAIN_NS}">'
    '<numFmts count="1"><numFmt numFmtId="164" formatCode="yyyy-mm-dd"/></numFmts>'
    '<fonts count="2"><font><sz val="11"/><name val="Calibri"/><family val="2"/></font>'
    '<font><b val="1"/><sz val="11"/><name val="Calibri"/><family val="2"/></font></fonts>'
    '<fills count="2"><fill><patternFill patternType="none"/></fill>'
    '<fill><patternFill patternType="gray125"/></fill></fills>'
    '<borders count="1"><border><left/><right/><top/><bottom/><diagonal/></border></borders>'
    '<cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/></cellStyleXfs>'
    '<cellXfs count="3"><xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/>'
    '<xf numFmtId="0" fontId="1" fillId="0" borderId="0" xfId="0" applyFont="1"/>'
    '<xf numFmtId="164" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/>'
    '</cellXfs><cellStyles count="1"><cellStyle name="Normal" xfId="0" builtinId="0"/>'
    "</cellStyles></styleSheet>"
)
_EXCEL_EPOCH = date(1899, 12, 30)  # day 0 of Excel's 1900 date system, as serial numbers count
_XML_ESCAPES = str.maketrans({"&": "&amp;", "<": "&lt;", ">": "&gt;"})


def _cell(reference: str, value: Any, style: int = 0) -> str:
    """One ``<c>`` element; '' for an empty cell (not written, as openpyxl did not)."""
    styled = f' s="{style}"' if style else ""
    if value is None:
        return ""
    if isinstance(value, str):
        space = ' xml:space="preserve"' if value != value.strip() else ""
        text = _escaped(value)
        return f'<c r="{reference}"{styled} t="inlineStr"><is><t{space}>{text}</t></is></c>'
    if isinstance(value, datetime):
        moment = value - datetime.combine(_EXCEL_EPOCH, time())
        serial = f"{moment.days + moment.seconds / 86_400:.10g}"
        return f'<c r="{reference}" s="{_DATE_STYLE}" t="n"><v>{serial}</v></c>'
    if isinstance(value, date):
        serial = str((value - _EXCEL_EPOCH).days)
        return f'<c r="{reference}" s="{_DATE_STYLE}" t="n"><v>{serial}</v></c>'
    if isinstance(value, bool):
        return f'<c r="{reference}"{styled} t="b"><v>{int(value)}</v></c>'
    if isinstance(value, int | float):
        if not math.isfinite(value):
            return ""
        return f'<c r="{reference}"{styled} t="n"><v>{value!r}</v></c>'
    raise TypeError(f"no spreadsheet cell for {type(value).__name__}")


def _sheet_xml(spec: SheetSpec, keys: Sequence[str], rows: Iterable[Any]) -> Iterator[str]:
    """The worksheet part: header row (bold, frozen, filtered), then one row per result row."""
    letters = [get_column_letter(index) for index in range(1, len(spec.columns) + 1)]
    widths = "".join(
        f'<col min="{index}" max="{index}" width="{column.width:g}" customWidth="1"/>'
        for index, column in enumerate(spec.columns, 1)
    )
    yield (
        f'{_XML_HEAD}<worksheet xmlns="{_MAIN_NS}" xmlns:r="{_REL_NS}">'
        '<sheetViews><sheetView workbookViewId="0"><pane ySplit="1" topLeftCell="A2" '
        'activePane="bottomLeft" state="frozen"/><selection pane="bottomLeft" activeCell="A2" '
        f'sqref="A2"/></sheetView></sheetViews><sheetFormatPr defaultRowHeight="15"/>'
        f"<cols>{widths}</cols><sheetData>"
    )
    header = "".join(
        _cell(f"{letter}1", _text(column.header), _BOLD_STYLE)
        for letter, column in zip(letters, spec.columns, strict=True)
    )
    yield f'<row r="1">{header}</row>'
    plan = [
        (letter, keys.index(column.key), column.convert)
        for letter, column in zip(letters, spec.columns, strict=True)
    ]
    number = 1
    for row in rows:
        number += 1
        cells = "".join(
            _cell(f"{letter}{number}", convert(row[index])) for letter, index, convert in plan
        )
        yield f'<row r="{number}">{cells}</row>'
    yield (
        f'</sheetData><autoFilter ref="A1:{letters[-1]}{number}"/>'
        '<pageMargins left="0.75" right="0.75" top="1" bottom="1" header="0.5" footer="0.5"/>'
        "</worksheet>"
    )


def _escaped(text: str) -> str:
    return text.translate(_XML_ESCAPES)


def _filter_range(spec: SheetSpec, rows: int) -> str:
    """The filtered range as a defined name states it: ``'ชื่อแท็บ'!$A$1:$U$29032``."""
    last = get_column_letter(len(spec.columns))
    return "'" + spec.title.replace("'", "''") + f"'!$A$1:${last}${rows + 1}"


def _package_parts(report_date: date, sheets: Sequence[tuple[SheetSpec, int]]) -> dict[str, str]:
    """Every part but the worksheets: content types, relationships, workbook, styles and the
    document properties (the report date as their time: no clock is read)."""
    moment = datetime.combine(report_date, time()).strftime("%Y-%m-%dT%H:%M:%SZ")
    title = report_text("workbook_title", date=thai.thai_date(report_date)).translate(_XML_ESCAPES)
    sheet_type = f"{_OFFICE_TYPE}.spreadsheetml.worksheet+xml"
    overrides = "".join(
        f'<Override PartName="/xl/worksheets/sheet{number}.xml" ContentType="{sheet_type}"/>'
        for number in range(1, len(sheets) + 1)
    )
    sheet_entries = "".join(
        f'<sheet name="{_escaped(spec.title)}" sheetId="{number}" r:id="rId{number}"/>'
        for number, (spec, _) in enumerate(sheets, 1)
    )
    filters = "".join(
        f'<definedName name="_xlnm._FilterDatabase" localSheetId="{number}" hidden="1">'
        f"{_escaped(_filter_range(spec, count))}</definedName>"
        for number, (spec, count) in enumerate(sheets)
    )
    sheet_rels = "".join(
        f'<Relationship Id="rId{number}" Type="{_REL_NS}/worksheet" '
        f'Target="worksheets/sheet{number}.xml"/>'
        for number in range(1, len(sheets) + 1)
    )
    return {
        "[Content_Types].xml": (
            f'{_XML_HEAD}<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
            f'<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.'
            'relationships+xml"/><Default Extension="xml" ContentType="application/xml"/>'
            f'<Override PartName="/xl/workbook.xml" ContentType="{_OFFICE_TYPE}.spreadsheetml.'
            'sheet.main+xml"/>'
            f'<Override PartName="/xl/styles.xml" ContentType="{_OFFICE_TYPE}.spreadsheetml.'
            'styles+xml"/>'
            f"{overrides}"
            '<Override PartName="/docProps/core.xml" ContentType="application/vnd.'
            'openxmlformats-package.core-properties+xml"/>'
            f'<Override PartName="/docProps/app.xml" ContentType="{_OFFICE_TYPE}.'
            'extended-properties+xml"/></Types>'
        ),
        "_rels/.rels": (
            f'{_XML_HEAD}<Relationships xmlns="{_PACKAGE_REL_NS}">'
            f'<Relationship Id="rId1" Type="{_REL_NS}/officeDocument" Target="xl/workbook.xml"/>'
            f'<Relationship Id="rId2" Type="{_PACKAGE_REL_NS}/metadata/core-properties" '
            'Target="docProps/core.xml"/>'
            f'<Relationship Id="rId3" Type="{_REL_NS}/extended-properties" '
            'Target="docProps/app.xml"/></Relationships>'
        ),
        "docProps/app.xml": (
            f'{_XML_HEAD}<Properties xmlns="http://schemas.openxmlformats.org/officeDocument/'
            '2006/extended-properties"><Application>schoolnet</Application></Properties>'
        ),
        "docProps/core.xml": (
            f'{_XML_HEAD}<cp:coreProperties xmlns:cp="{_PACKAGE_REL_NS.rsplit("/", 1)[0]}/'
            'metadata/core-properties" xmlns:dc="http://purl.org/dc/elements/1.1/" '
            'xmlns:dcterms="http://purl.org/dc/terms/" '
            'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">'
            f"<dc:title>{title}</dc:title><dc:creator>schoolnet</dc:creator>"
            "<cp:lastModifiedBy>schoolnet</cp:lastModifiedBy>"
            f'<dcterms:created xsi:type="dcterms:W3CDTF">{moment}</dcterms:created>'
            f'<dcterms:modified xsi:type="dcterms:W3CDTF">{moment}</dcterms:modified>'
            "</cp:coreProperties>"
        ),
        "xl/workbook.xml": (
            f'{_XML_HEAD}<workbook xmlns="{_MAIN_NS}" xmlns:r="{_REL_NS}">'
            '<bookViews><workbookView activeTab="0"/></bookViews>'
            f"<sheets>{sheet_entries}</sheets><definedNames>{filters}</definedNames>"
            '<calcPr calcId="124519" fullCalcOnLoad="1"/></workbook>'
        ),
        "xl/_rels/workbook.xml.rels": (
            f'{_XML_HEAD}<Relationships xmlns="{_PACKAGE_REL_NS}">{sheet_rels}'
            f'<Relationship Id="rId{len(sheets) + 1}" Type="{_REL_NS}/styles" '
            'Target="styles.xml"/></Relationships>'
        ),
        "xl/styles.xml": _STYLES,
    }


def build_report_workbook(conn: Connection, report_date: date) -> bytes:
    """The ``.xlsx`` of ``report_date``: every school, the schools no provider reaches, every
    ESA's findings and the schools that lost their connection over the last days, read through
    ``sql/`` (an empty day gives the header rows only).

    The same warehouse and date give the same bytes: every zip entry and the document
    properties carry the report date, never the clock's time.
    """
    stamp = (report_date.year, report_date.month, report_date.day, 0, 0, 0)
    day = {"report_date": report_date}
    lost = {"report_date": report_date, "since_date": report_date - timedelta(LOST_WINDOW_DAYS)}
    sheets = [*((spec, day) for spec in sheet_specs()), (lost_sheet_spec(), lost)]
    specs = [spec for spec, _ in sheets]
    buffer = io.BytesIO()
    counts: list[int] = []
    with ZipFile(buffer, "w", ZIP_DEFLATED) as archive:
        # The content types first, as Excel writes them (file-type sniffers read the first entry).
        head = _package_parts(report_date, [(spec, 0) for spec in specs])
        for name in _HEAD_PARTS:
            archive.writestr(_entry(name, stamp), head[name].encode("utf-8"))
        for number, (spec, parameters) in enumerate(sheets, 1):
            result = conn.execute(load_query(spec.query), parameters)
            counted = _Counted(result)
            entry = _entry(f"xl/worksheets/sheet{number}.xml", stamp)
            with archive.open(entry, "w", force_zip64=True) as part:
                for chunk in _batched(_sheet_xml(spec, list(result.keys()), counted)):
                    part.write(chunk)
            counts.append(counted.count)
        # The workbook names each sheet's filtered range, known once its rows are written.
        parts = _package_parts(report_date, list(zip(specs, counts, strict=True)))
        for name, text in parts.items():
            if name not in _HEAD_PARTS:
                archive.writestr(_entry(name, stamp), text.encode("utf-8"))
    return buffer.getvalue()


_HEAD_PARTS = ("[Content_Types].xml", "_rels/.rels", "docProps/app.xml", "docProps/core.xml")


class _Counted:
    """The rows of a result, counted as they pass (the autofilter's range needs the count)."""

    def __init__(self, rows: Iterable[Any]) -> None:
        self._rows = rows
        self.count = 0

    def __iter__(self) -> Iterator[Any]:
        for row in self._rows:
            self.count += 1
            yield row


def _batched(pieces: Iterable[str], size: int = 1 << 20) -> Iterator[bytes]:
    """The pieces as UTF-8 in chunks of about ``size`` characters: few, large zip writes."""
    batch: list[str] = []
    length = 0
    for piece in pieces:
        batch.append(piece)
        length += len(piece)
        if length >= size:
            yield "".join(batch).encode("utf-8")
            batch, length = [], 0
    if batch:
        yield "".join(batch).encode("utf-8")


def _entry(name: str, stamp: tuple[int, int, int, int, int, int]) -> ZipInfo:
    """A zip entry with the report date as its time and the mode openpyxl gave its entries."""
    info = ZipInfo(name, date_time=stamp)
    info.compress_type = ZIP_DEFLATED
    info.external_attr = 0o600 << 16
    return info
