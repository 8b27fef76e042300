"""The district-sheet validator: every contract rule gives the right verdict and a finding at
the cell the clerk must fix, worded in Thai."""

from __future__ import annotations

import json
import re
from datetime import date
from typing import Any

import pytest
import yaml

from schoolnet.contract import CONTRACT_FILE, load_contract, parse_contract
from schoolnet.core.registry import Esa, School
from schoolnet.report.daily import template_environment
from schoolnet.validation import (
    SEVERITY,
    Finding,
    SheetValidation,
    column_letters,
    validate_sheet,
)
from schoolnet.validation.feedback import EsaFeedback, sheet_url
from schoolnet.validation.result import ResultFinding, SheetResult

CONTRACT = load_contract()
ESA = "105201"
OTHER_ESA = "105202"
TODAY = date(2018, 1, 10)
HEADERS = list(CONTRACT.headers)
KEYS = list(CONTRACT.keys)
THAI = re.compile("[\u0e00-\u0e7f]")
SHEETS_EPOCH = date(1899, 12, 30).toordinal()

DOCUMENTED_CODES = {
    "missing_school_code", "invalid_school_code", "unknown_school", "school_of_other_esa",
    "name_mismatch", "missing_value", "invalid_integer", "invalid_number", "negative_value",
    "value_too_large", "unusually_large", "unusually_small", "upload_above_download",
    "support_above_fee", "speed_beyond_link_type", "implausible_change", "unknown_enum_value",
    "invalid_date", "future_date",
    "duplicate_identical", "duplicate_conflict", "header_not_found", "missing_column",
    "unknown_column", "data_tab_missing", "not_reported", "quarantined", "heading_rows_skipped",
}  # fmt: skip


def code(number: int, esa: str = ESA) -> str:
    return f"{esa}{number:04d}"


def registry(count: int = 150) -> dict[str, School]:
    schools = [School(code(i), f"บ้านหนองบัว{i}", ESA, "ลำปาง", 100 + i) for i in range(1, count + 1)]
    schools.append(School(code(1, OTHER_ESA), "บ้านดอนแก้ว", OTHER_ESA, "ลำปาง", 80))
    return {school.school_code: school for school in schools}


def record(number: int, **cells: Any) -> dict[str, Any]:
    """A clean, connected school's row as a clerk types it; override cells by key."""
    base: dict[str, Any] = {
        "school_code": code(number),
        "school_name": f"โรงเรียนบ้านหนองบัว{number}",
        "students": 100 + number,
        "status": "เชื่อมต่อแล้ว",
        "isp": "ทีโอที",
        "link_type": "ใยแก้วนำแสง/FTTx",
        "download_mbps": 30,
        "upload_mbps": 10,
        "monthly_fee_thb": 1290,
        "funding_source": "เงินอุดหนุนรายหัว",
        "support_requested_thb": 0,
        "support_reason": "",
        "providers_contacted": "",
        "service_start": "3/1/2561",
        "note": "",
    }
    base.update(cells)
    return base


def sheet(
    records: list[dict[str, Any]], headers: list[str] | None = None, title_rows: int = 0
) -> list[list[Any]]:
    """Rows as the Sheets API returns them: header, then data, trailing blanks dropped."""
    headers = headers or HEADERS
    keys = [KEYS[HEADERS.index(h)] if h in HEADERS else h for h in headers]
    rows: list[list[Any]] = [["ข้อมูลอินเทอร์เน็ตโรงเรียน สพป.ลำปาง เขต 1"]] * title_rows
    rows.append(list(headers))
    for item in records:
        row = [item.get(key, "") for key in keys]
        while row and row[-1] in ("", None):
            row.pop()
        rows.append(row)
    return rows


def validate(values: list[list[Any]], registered: int = 150, **kwargs: Any) -> SheetValidation:
    """Validate as ESA 105201 whose registry holds schools 1..registered (and one elsewhere)."""
    kwargs.setdefault("schools", registry(registered))
    return validate_sheet(values, esa_code=ESA, today=TODAY, **kwargs)


def clean_records(count: int = 150) -> list[dict[str, Any]]:
    return [record(i) for i in range(1, count + 1)]


def only(result: SheetValidation, finding_code: str) -> Finding:
    found = [f for f in result.findings if f.code == finding_code]
    assert len(found) == 1, [f.to_dict() for f in result.findings]
    return found[0]


def assert_clerk_message(finding: Finding) -> None:
    assert THAI.search(finding.message), finding.message
    for leak in ("Error", "Traceback", "invalid literal", "could not convert", "{", "}"):
        assert leak not in finding.message, finding.message


# --- the sheet as a whole --------------------------------------------------------------------


def test_clean_sheet_of_150_rows_has_no_findings() -> None:
    result = validate(sheet(clean_records()))
    assert result.outcome == "accepted"
    assert result.findings == ()
    assert result.not_reported == ()
    assert len(result.rows) == len(result.accepted_rows) == 150
    first = result.rows[0]
    assert first.row == 2 and first.school_code == code(1)
    assert first.values == {
        "school_code": code(1),
        "school_name": "โรงเรียนบ้านหนองบัว1",
        "students": 101,
        "status": "connected",
        "isp": "TOT",
        "link_type": "fiber",
        "download_mbps": 30.0,
        "upload_mbps": 10.0,
        "monthly_fee_thb": 1290.0,
        "funding_source": "per_student_subsidy",
        "support_requested_thb": 0.0,
        "support_reason": None,
        "providers_contacted": None,
        "service_start": date(2018, 1, 3),
        "note": None,
    }


def test_header_under_title_rows() -> None:
    result = validate(sheet(clean_records(3), title_rows=2))
    assert result.outcome == "accepted"
    assert [row.row for row in result.rows] == [4, 5, 6]
    assert len(result.accepted_rows) == 3


def test_header_beyond_search_rows_is_not_found() -> None:
    result = validate(sheet(clean_records(3), title_rows=CONTRACT.header_search_rows))
    assert result.outcome == "rejected"
    assert result.rows == ()
    finding = only(result, "header_not_found")
    assert (finding.row, finding.cell, finding.severity) == (None, None, "error")
    assert_clerk_message(finding)


def test_english_keys_shuffled_order_and_loose_header_spelling() -> None:
    order = list(reversed(KEYS))
    headers = [key.upper() if i % 2 else key for i, key in enumerate(order)]
    headers[headers.index("students")] = "  จำนวน  นักเรียน "  # spaces inside and around
    reference = validate(sheet(clean_records(5)), registered=5)
    result = validate(
        [headers] + [[item[key] for key in order] for item in clean_records(5)], registered=5
    )
    assert result.findings == ()
    assert [row.values for row in result.rows] == [row.values for row in reference.rows]


def test_missing_always_required_column_rejects_the_sheet() -> None:
    headers = [h for h in HEADERS if h != CONTRACT.column("students").header]
    result = validate(sheet(clean_records(5), headers=headers))
    assert result.outcome == "rejected"
    assert result.rows == () and result.accepted_rows == ()
    finding = only(result, "missing_column")
    assert finding.column == "students" and finding.header == "จำนวนนักเรียน"
    assert finding.severity == "error"
    assert "จำนวนนักเรียน" in finding.message
    assert_clerk_message(finding)


def test_missing_optional_column_is_fine() -> None:
    headers = [h for h in HEADERS if h != CONTRACT.column("note").header]
    result = validate(sheet(clean_records(5), headers=headers), registered=5)
    assert result.findings == ()
    assert "note" not in result.rows[0].values


def test_unknown_column_is_one_warning_at_its_header_cell() -> None:
    headers = [*HEADERS, "ผู้กรอกข้อมูล"]
    records = [record(i, **{"ผู้กรอกข้อมูล": "สมชาย"}) for i in range(1, 4)]
    result = validate(sheet(records, headers=headers, title_rows=1))
    finding = only(result, "unknown_column")
    assert (finding.row, finding.cell, finding.value) == (2, "P2", "ผู้กรอกข้อมูล")
    assert finding.severity == "warning"
    assert len(result.accepted_rows) == 3


def test_data_tab_missing_warning() -> None:
    result = validate(sheet(clean_records(2)), registered=2, tab_title="Sheet1")
    finding = only(result, "data_tab_missing")
    assert finding.severity == "warning" and "Sheet1" in finding.message
    assert len(result.accepted_rows) == 2
    assert validate(sheet(clean_records(2)), 2, tab_title=CONTRACT.data_tab).findings == ()


# --- one finding per mistake, at the right cell ----------------------------------------------

CASES: list[tuple[dict[str, Any], str, str, str, str | None]] = [
    # (cells of row 1, finding code, column key, column letter, typed value)
    ({"school_code": "12345"}, "invalid_school_code", "school_code", "A", "12345"),
    ({"school_code": "1099999999"}, "unknown_school", "school_code", "A", "1099999999"),
    (
        {"school_code": code(1, OTHER_ESA)},
        "school_of_other_esa",
        "school_code",
        "A",
        code(1, OTHER_ESA),
    ),
    ({"school_code": ""}, "missing_school_code", "school_code", "A", ""),
    ({"school_name": "บ้านดอนแก้ว"}, "name_mismatch", "school_name", "B", "บ้านดอนแก้ว"),
    ({"school_name": ""}, "missing_value", "school_name", "B", ""),
    ({"students": ""}, "missing_value", "students", "C", ""),
    ({"students": "245.5"}, "invalid_integer", "students", "C", "245.5"),
    ({"students": "สองร้อย"}, "invalid_integer", "students", "C", "สองร้อย"),
    ({"students": -12}, "negative_value", "students", "C", "-12"),
    ({"students": "๖,๐๐๐"}, "unusually_large", "students", "C", "๖,๐๐๐"),
    ({"status": "เน็ตใช้ได้"}, "unknown_enum_value", "status", "D", "เน็ตใช้ได้"),
    ({"isp": ""}, "missing_value", "isp", "E", ""),
    ({"link_type": "wifi"}, "unknown_enum_value", "link_type", "F", "wifi"),
    ({"download_mbps": "เร็ว"}, "invalid_number", "download_mbps", "G", "เร็ว"),
    ({"download_mbps": 0}, "negative_value", "download_mbps", "G", "0"),
    ({"download_mbps": "20,000 Mbps"}, "value_too_large", "download_mbps", "G", "20,000 Mbps"),
    ({"download_mbps": 1.5, "upload_mbps": 1}, "unusually_small", "download_mbps", "G", "1.5"),
    ({"upload_mbps": 100}, "upload_above_download", "upload_mbps", "H", "100"),
    ({"monthly_fee_thb": -1}, "negative_value", "monthly_fee_thb", "I", "-1"),
    ({"monthly_fee_thb": "฿150,000"}, "unusually_large", "monthly_fee_thb", "I", "฿150,000"),
    ({"funding_source": ""}, "missing_value", "funding_source", "J", ""),
    (
        {"support_requested_thb": 5000, "support_reason": "ขาดงบ"},
        "support_above_fee",
        "support_requested_thb",
        "K",
        "5000",
    ),
    ({"support_requested_thb": "500 บาท"}, "missing_value", "support_reason", "L", ""),
    (
        {"status": "ไม่มีผู้ให้บริการในพื้นที่", "providers_contacted": "ทีโอที, wifi"},
        "unknown_enum_value",
        "providers_contacted",
        "M",
        "ทีโอที, wifi",
    ),
    ({"status": "ไม่มีผู้ให้บริการในพื้นที่"}, "missing_value", "providers_contacted", "M", ""),
    ({"service_start": "31/2/2561"}, "invalid_date", "service_start", "N", "31/2/2561"),
    ({"service_start": "1/2/2561"}, "future_date", "service_start", "N", "1/2/2561"),
]


@pytest.mark.parametrize(
    ("cells", "finding_code", "column", "letter", "value"),
    CASES,
    ids=[f"{case[1]}-{case[2]}" for case in CASES],
)
def test_each_finding_at_its_cell(
    cells: dict[str, Any], finding_code: str, column: str, letter: str, value: str | None
) -> None:
    records = [record(1, **cells), record(2)]
    result = validate(sheet(records, title_rows=1))
    finding = only(result, finding_code)
    assert [f for f in result.findings if f.row == 3] == [finding]  # one mistake, one finding
    assert finding.esa_code == ESA
    assert (finding.row, finding.column, finding.cell) == (3, column, f"{letter}3")
    assert finding.header == CONTRACT.column(column).header
    assert finding.value == value
    assert finding.severity == SEVERITY[finding_code]
    assert_clerk_message(finding)
    bad_row = result.rows[0]
    assert bad_row.accepted is (finding.severity == "warning")
    assert result.rows[1].accepted
    assert result.outcome == "accepted"


def test_message_says_what_to_type() -> None:
    result = validate(sheet([record(1, students="245.5")]))
    message = only(result, "invalid_integer").message
    assert "245.5" in message
    assert "พิมพ์จำนวนนักเรียนเป็นตัวเลขจำนวนเต็ม เช่น 245" in message


def test_enum_message_lists_the_choices() -> None:
    message = only(validate(sheet([record(1, status="ok")])), "unknown_enum_value").message
    assert "เชื่อมต่อแล้ว" in message and "ไม่มีผู้ให้บริการในพื้นที่" in message


def test_cells_beyond_column_z() -> None:
    extra = [f"คอลัมน์เสริม {i}" for i in range(27)]
    headers = extra + HEADERS
    result = validate(sheet([record(1, students=-3)], headers=headers))
    finding = only(result, "negative_value")
    assert finding.cell == "AD2"  # 27 extra columns, then A..C of the contract
    assert [column_letters(i) for i in (0, 25, 26, 51, 52, 701, 702)] == [
        "A",
        "Z",
        "AA",
        "AZ",
        "BA",
        "ZZ",
        "AAA",
    ]


def test_normalized_values_from_messy_typing() -> None:
    typed = record(
        1,
        school_code="๑๐๕๒๐๑-๐๐๐๑",
        school_name="รร.บ้านหนองบัว1",
        students="๑,๒๓๔",
        status=" Connected ",
        isp=True,  # Sheets turns a typed TRUE into a boolean
        link_type="FTTH",
        download_mbps="100M",
        monthly_fee_thb="฿1,290",
        funding_source="งบสพฐ",
        service_start=date(2561, 1, 3).toordinal() - SHEETS_EPOCH,  # a BE date cell
    )
    result = validate(sheet([typed]), registered=1)
    assert result.findings == ()
    values = result.rows[0].values
    assert values["school_code"] == code(1)
    assert values["students"] == 1234
    assert (values["status"], values["isp"], values["link_type"]) == ("connected", "True", "fiber")
    assert values["download_mbps"] == 100.0 and values["monthly_fee_thb"] == 1290.0
    assert values["funding_source"] == "obec"
    assert values["service_start"] == date(2018, 1, 3)


def serial(day: date) -> int:
    """The serial number the Sheets API gives for a date cell (UNFORMATTED_VALUE)."""
    return day.toordinal() - SHEETS_EPOCH


@pytest.mark.parametrize(
    ("typed", "quoted"),
    [
        (serial(date(2018, 1, 14)), "14/1/2018"),  # 43114: a date typed in a CE sheet
        (serial(date(2561, 1, 14)), "14/1/2561"),  # 14/1/2561 typed in a Thai-locale sheet
        (serial(date(2018, 1, 14)) + 0.375, "14/1/2018"),  # with a time of day (09:00)
        (float(serial(date(2018, 1, 14))), "14/1/2018"),  # an integral float
    ],
)
def test_a_date_cell_given_as_its_serial_is_quoted_as_the_sheet_shows_it(
    typed: float, quoted: str
) -> None:
    finding = only(validate(sheet([record(1, service_start=typed)])), "future_date")
    assert (finding.cell, finding.value) == ("N2", quoted)  # not "43114"
    assert finding.message.startswith("วันที่ 14 ม.ค. 2561 ยังมาไม่ถึง")


def test_the_tab_and_the_email_quote_the_date_as_the_sheet_shows_it() -> None:
    result = validate(sheet([record(1, service_start=serial(date(2018, 1, 4)) + 10)]))
    esa = Esa(ESA, "สพป.ลำปาง เขต 1", "primary", "ลำปาง", "sheet-1", "esa@obec.go.th")
    feedback = EsaFeedback.from_result(
        esa,
        SheetResult(
            esa_code=esa.esa_code,
            spreadsheet_id=esa.spreadsheet_id,
            report_date=TODAY,
            api_calls=1,
            outcome=result.outcome,
            rows_read=len(result.rows),
            rows_rejected=len(result.rejected_rows),
            findings=tuple(ResultFinding.of(f) for f in result.findings),
        ),
    )
    (line,) = [row for row in feedback.tab_rows() if row[1:2] == ["N2"]]
    assert line[5] == "14/1/2018"  # the tab's "value as typed" column, not 43114
    context = {"feedback": feedback, "sheet_url": sheet_url(esa.spreadsheet_id), "standing": None}
    text = template_environment().get_template("esa_feedback.txt.j2").render(context)
    assert "[พิมพ์ไว้: 14/1/2018]" in text and "43114" not in text


def test_a_number_not_read_as_a_date_is_quoted_as_typed() -> None:
    too_small = only(validate(sheet([record(1, service_start=2561)])), "invalid_date")
    assert too_small.value == "2561" and '"2561" ไม่ใช่วันที่' in too_small.message
    as_text = only(validate(sheet([record(1, service_start="14/1/2561")])), "future_date")
    assert as_text.value == "14/1/2561"  # text is quoted as typed
    # A date in a number column is a number there: the validator cannot tell it was a date.
    count = only(validate(sheet([record(1, students=serial(date(2018, 1, 4)))])), "unusually_large")
    assert count.value == "43104"


def test_thai_date_forms_in_the_sheet() -> None:
    forms = ["3 ม.ค. 61", "3 มกราคม 2561", "2018-01-03", 43103, "03/01/2018"]
    records = [record(i + 1, service_start=f) for i, f in enumerate(forms)]
    result = validate(sheet(records), registered=len(forms))
    assert result.findings == ()
    assert {row.values["service_start"] for row in result.rows} == {date(2018, 1, 3)}


# --- conditional requirements ----------------------------------------------------------------


def test_not_connected_needs_no_connection_details() -> None:
    bare = {k: "" for k in KEYS[4:]}
    records = [
        record(1, **{**bare, "status": "ยังไม่เชื่อมต่อ"}),
        record(2, **{**bare, "status": "ไม่มีผู้ให้บริการในพื้นที่", "providers_contacted": "ทีโอที/ทรู"}),
    ]
    result = validate(sheet(records), registered=2)
    assert result.findings == ()
    assert result.rows[1].values["providers_contacted"] == ["TOT", "True"]


def test_procuring_needs_only_the_provider() -> None:
    bare = {k: "" for k in KEYS[4:]}
    ok = record(1, **{**bare, "status": "อยู่ระหว่างจัดหา", "isp": "ทรู"})
    missing = record(2, **{**bare, "status": "อยู่ระหว่างจัดหา"})
    result = validate(sheet([ok, missing]))
    finding = only(result, "missing_value")
    assert (finding.row, finding.cell) == (3, "E3")
    assert "อยู่ระหว่างจัดหา" in finding.message
    assert [row.accepted for row in result.rows] == [True, False]


def test_connected_row_lists_every_missing_detail() -> None:
    blank = {
        k: "" for k in ("isp", "link_type", "download_mbps", "monthly_fee_thb", "funding_source")
    }
    result = validate(sheet([record(1, **blank)]))
    cells = [f.cell for f in result.findings if f.code == "missing_value"]
    assert cells == ["E2", "F2", "G2", "I2", "J2"]


def test_conditional_column_absent_from_sheet() -> None:
    headers = [h for h in HEADERS if h != CONTRACT.column("isp").header]
    result = validate(sheet([record(1)], headers=headers))
    finding = only(result, "missing_value")
    assert (finding.row, finding.column, finding.cell) == (2, "isp", None)
    assert not result.rows[0].accepted and result.outcome == "accepted"


def test_support_reason_required_only_when_support_is_requested() -> None:
    records = [record(1, support_requested_thb=0), record(2, support_requested_thb="")]
    assert validate(sheet(records), registered=2).findings == ()
    asked = validate(sheet([record(1, support_requested_thb=300, support_reason="ขาดงบ")]), 1)
    assert asked.findings == ()


# --- duplicates, registry, not reported ------------------------------------------------------


def test_identical_duplicate_is_one_row_and_a_warning() -> None:
    records = clean_records(3)
    values = sheet(records)
    values.append(list(values[2]))  # row 5 repeats row 3 exactly
    result = validate(values)
    finding = only(result, "duplicate_identical")
    assert (finding.row, finding.cell, finding.severity) == (5, "A5", "warning")
    assert "3" in finding.message
    assert [row.accepted for row in result.rows] == [True, True, True, False]
    assert sorted(r.school_code or "" for r in result.accepted_rows) == [code(1), code(2), code(3)]


def test_identical_duplicate_typed_differently_is_still_identical() -> None:
    values = sheet([record(1, students=245), record(1, students="๒๔๕")])
    result = validate(values, registered=1)
    assert [f.code for f in result.findings] == ["duplicate_identical"]


def test_conflicting_duplicates_are_all_rejected() -> None:
    values = sheet([record(1, students=245), record(2), record(1, students=250)])
    result = validate(values)
    conflicts = [f for f in result.findings if f.code == "duplicate_conflict"]
    assert [(f.row, f.cell, f.value, f.severity) for f in conflicts] == [
        (2, "A2", code(1), "error"),
        (4, "A4", code(1), "error"),
    ]
    for finding in conflicts:  # the message names the copies and the cells that differ
        assert code(1) in finding.message and "2, 4" in finding.message
        assert "จำนวนนักเรียน" in finding.message and "หมายเหตุ" not in finding.message
    assert [row.accepted for row in result.rows] == [False, True, False]
    assert code(1) not in result.not_reported


def test_not_reported_schools() -> None:
    result = validate(sheet(clean_records(147)))
    assert result.not_reported == (code(148), code(149), code(150))
    found = [f for f in result.findings if f.code == "not_reported"]
    assert [(f.row, f.cell, f.value, f.severity) for f in found] == [
        (None, None, code(n), "warning") for n in (148, 149, 150)
    ]
    assert "บ้านหนองบัว148" in found[0].message
    # A school with a rejected row did report: it is not "not reported".
    partial = validate(sheet([*clean_records(149), record(150, students=-1)]))
    assert partial.not_reported == ()


def test_blank_and_ragged_rows() -> None:
    values = sheet(clean_records(2))
    values.insert(2, [])
    values.insert(2, ["", "  ", None, "\u200b"])
    result = validate(values, schools={})
    assert [row.row for row in result.rows] == [2, 5]
    assert {f.code for f in result.findings} == {"unknown_school"}


def test_every_rejected_row_has_an_error_at_a_cell() -> None:
    records = [record(n, **cells) for n, (cells, *_) in enumerate(CASES, start=1)]
    result = validate(sheet(records, title_rows=3))
    for row in result.rows:
        errors = [f for f in result.findings if f.row == row.row and f.severity == "error"]
        if row.accepted:
            assert not errors
        else:
            assert errors and all(f.cell is not None for f in errors)
    assert {f.code for f in result.findings} <= DOCUMENTED_CODES


def test_findings_are_sorted_sheet_level_first_then_row_and_column() -> None:
    records = [record(1, students=-1, status="x"), record(2, school_code="1", students="y")]
    result = validate(sheet(records, headers=[*HEADERS, "อื่น"]), 2, tab_title="Sheet1")
    positions = [(f.row or 0, f.cell or "") for f in result.findings]
    assert [f.code for f in result.findings][:3] == [
        "data_tab_missing",
        "not_reported",
        "unknown_column",  # school 2's code is unreadable
    ]
    assert positions[2:] == [(1, "P1"), (2, "C2"), (2, "D2"), (3, "A3"), (3, "C3")]


# --- output shapes ---------------------------------------------------------------------------


def test_finding_to_dict_keys() -> None:
    finding = only(validate(sheet([record(1, students=-1)])), "negative_value")
    assert list(finding.to_dict()) == [
        "esa",
        "row",
        "column",
        "header",
        "cell",
        "severity",
        "code",
        "message",
        "value",
    ]


def test_to_json_dict_matches_the_contract_shape() -> None:
    records = [
        record(1),
        record(2, students=-3),
        record(
            3,
            status="ไม่มีผู้ให้บริการในพื้นที่",
            isp="",
            link_type="",
            download_mbps="",
            upload_mbps="",
            monthly_fee_thb="",
            funding_source="",
            providers_contacted="ทีโอที, ทรู",
        ),
    ]
    result = validate(sheet(records), registered=3)
    document = json.loads(json.dumps(result.to_json_dict(), ensure_ascii=False))
    assert list(document) == ["esa", "outcome", "rows", "findings"]
    assert document["esa"] == ESA and document["outcome"] == "accepted"
    first = document["rows"][0]
    assert list(first) == ["row", "school_code", "accepted", "values"]
    assert first["row"] == 2 and first["accepted"] is True
    assert first["values"]["service_start"] == "2018-01-03"
    assert first["values"]["students"] == 101 and first["values"]["download_mbps"] == 30.0
    assert first["values"]["status"] == "connected"
    assert document["rows"][2]["values"]["providers_contacted"] == ["TOT", "True"]
    finding = document["findings"][0]
    assert list(finding) == [
        "row",
        "column",
        "header",
        "cell",
        "severity",
        "code",
        "message",
        "value",
    ]
    assert finding["cell"] == "C3" and finding["value"] == "-3"


def test_finding_codes_are_the_documented_ones() -> None:
    assert set(SEVERITY) == DOCUMENTED_CODES
    for finding_code in DOCUMENTED_CODES:
        assert THAI.search(CONTRACT.message_template(finding_code)), finding_code


def test_sheet_with_nothing_has_no_header() -> None:
    result = validate([])
    assert result.outcome == "rejected"
    assert [f.code for f in result.findings] == ["header_not_found"]


def test_repeated_header_column_is_read_once() -> None:
    headers = [*HEADERS, CONTRACT.column("students").header]
    records = [record(1, **{"students": 245})]
    values = sheet(records, headers=headers)
    values[1].append(999)  # the second students column is ignored
    result = validate(values, registered=1)
    finding = only(result, "unknown_column")
    assert finding.cell == "P1" and "C1" in finding.message
    assert result.rows[0].values["students"] == 245 and result.rows[0].accepted


def test_sheets_error_cell_is_an_invalid_number() -> None:
    result = validate(sheet([record(1, monthly_fee_thb="#REF!")]), registered=1)
    finding = only(result, "invalid_number")
    assert (finding.cell, finding.value) == ("I2", "#REF!")


def test_a_contract_without_a_message_is_refused() -> None:
    raw = yaml.safe_load(CONTRACT_FILE.read_text(encoding="utf-8"))
    del raw["messages"]["future_date"]
    with pytest.raises(ValueError, match="future_date"):
        validate(sheet([record(1)]), contract=parse_contract(raw))


def test_contract_settings_are_read_from_the_contract() -> None:
    raw = yaml.safe_load(CONTRACT_FILE.read_text(encoding="utf-8"))
    raw["header_search_rows"] = 2
    values = sheet([record(1)], title_rows=2)
    assert validate(values, registered=1).outcome == "accepted"
    assert validate(values, registered=1, contract=parse_contract(raw)).outcome == "rejected"
