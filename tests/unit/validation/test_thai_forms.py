"""What clerks type, read as they meant it: look-alike spellings, Thai money, speed, count, date
and code forms, a dash for "nothing", failed formulas; each form listed in the contract is read
to its stated value, and each near-miss gets the Thai message that says what to type instead."""

from __future__ import annotations

import json
import unicodedata
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from schoolnet.core.config import GoogleSettings
from schoolnet.devtools.emulator import Emulator
from schoolnet.ingestion.google import EmulatorSession
from schoolnet.ingestion.ingest import VALUE_PARAMS, SheetsReader
from schoolnet.validation import validate_sheet
from schoolnet.validation.files import read_sheet_file
from schoolnet.validation.normalize import EMPTY_MARKS, canonical, fold
from tests.unit.validation.test_validator import (
    CONTRACT,
    ESA,
    HEADERS,
    KEYS,
    TODAY,
    assert_clerk_message,
    only,
    record,
    registry,
    sheet,
    validate,
)

FORM_CASES = [
    (column.key, typed, value)
    for column in CONTRACT.columns
    for typed, value in (column.rule("examples") or {}).items()
]
NEAR_MISS_CASES = [
    (column.key, typed, code)
    for column in CONTRACT.columns
    for typed, code in (column.rule("near_misses") or {}).items()
]


def test_the_contract_lists_forms_and_near_misses_for_each_typed_column() -> None:
    keys = {key for key, _, _ in FORM_CASES} & {key for key, _, _ in NEAR_MISS_CASES}
    assert keys == {
        "school_code",
        "students",
        "download_mbps",
        "monthly_fee_thb",
        "service_start",
    }


@pytest.mark.parametrize(("key", "typed", "value"), FORM_CASES)
def test_each_form_in_the_contract_reads_as_stated(key: str, typed: str, value: Any) -> None:
    result = validate(sheet([record(1, **{key: typed})]), registered=1)
    row = result.rows[0]
    assert row.accepted, [f.to_dict() for f in result.findings]
    read = row.values[key]
    assert (read.isoformat() if isinstance(read, date) else read) == value


# The message a clerk gets for each near-miss: what was typed, why it cannot be read, what to type.
NEAR_MISS_MESSAGES = {
    "1.245": (
        '"1.245" อ่านได้สองแบบ เพราะจุดอาจคั่นหลักพันหรือคั่นทศนิยม และช่อง "จำนวนนักเรียน" '
        "ต้องเป็นจำนวนเต็ม: ถ้าหมายถึง 1,245 ให้พิมพ์ 1245 หรือ 1,245 (คั่นหลักพันด้วยจุลภาค ไม่ใช่จุด)"
    ),
    "1.290": (
        '"1.290" อ่านได้สองแบบ (1,290 หรือ 1.29) เพราะจุดอาจคั่นหลักพันหรือคั่นทศนิยม: '
        "ถ้าหมายถึง 1,290 ให้พิมพ์ 1290 หรือ 1,290 (คั่นหลักพันด้วยจุลภาค) ถ้าหมายถึง 1.29 ให้พิมพ์ 1.29"
    ),
    "1.000": (
        '"1.000" อ่านได้สองแบบ (1,000 หรือ 1) เพราะจุดอาจคั่นหลักพันหรือคั่นทศนิยม: '
        "ถ้าหมายถึง 1,000 ให้พิมพ์ 1000 หรือ 1,000 (คั่นหลักพันด้วยจุลภาค) ถ้าหมายถึง 1 ให้พิมพ์ 1"
    ),
    "1.05201E+09": (
        'รหัสโรงเรียน "1.05201E+09" ถูกโปรแกรมตารางแปลงเป็นตัวเลขแบบย่อ (E+) ทำให้ตัวเลขบางหลักหายไป: '
        "จัดรูปแบบช่องนี้เป็นข้อความ (รูปแบบ > ตัวเลข > ข้อความธรรมดา) "
        "แล้วพิมพ์รหัสโรงเรียน 10 หลักตามทะเบียน สพฐ. เช่น 1052010001 "
        # The row's name is the registry's: the message names the school the code lost.
        "ชื่อในแถวนี้ตรงกับโรงเรียนบ้านหนองบัว1 รหัส 1052010001 ในทะเบียนของเขต "
        "หมายถึงโรงเรียนนี้หรือไม่? ถ้าใช่ ให้พิมพ์รหัส 1052010001"
    ),
}


@pytest.mark.parametrize(("key", "typed", "code"), NEAR_MISS_CASES)
def test_each_near_miss_in_the_contract_is_a_finding_in_thai(
    key: str, typed: str, code: str
) -> None:
    result = validate(sheet([record(1, **{key: typed})]), registered=1)
    finding_code, _, variant = code.partition(".")
    finding = next(f for f in result.findings if f.column == key and f.row == 2)
    assert finding.code == finding_code
    assert finding.severity == "error" and not result.rows[0].accepted
    assert finding.value == typed
    assert_clerk_message(finding)
    expected = CONTRACT.message_template(finding_code, variant or None)
    if variant:  # the variant's own words, not the plain code's
        assert expected != CONTRACT.message_template(finding_code)
    if typed in NEAR_MISS_MESSAGES:
        assert finding.message == NEAR_MISS_MESSAGES[typed]


# --- text that renders alike reads alike ------------------------------------------------------

TONE_FIRST = "เช\u0e48\u0e37อมต่อแล้ว"  # ่ typed before ื: renders as เชื่อม


def test_look_alikes_are_one_spelling() -> None:
    assert canonical(TONE_FIRST) == "เชื่อมต่อแล้ว"
    assert canonical("กํ\u0e32ลัง") == "กำลัง"
    assert canonical("เเ") == "แ"
    assert canonical("ห\u0e49\u0e38") == "หุ้"  # tone before a vowel below
    assert canonical("２４５\u00a0คน\u200b") == "245 คน"
    assert canonical("cafe\u0301") == "café"  # NFC
    assert canonical("plain ascii") == "plain ascii"
    assert fold("โรงเรียน ") == fold("โรง\u200bเรียน")


def test_enum_cells_typed_with_look_alikes_read_as_the_value() -> None:
    records = [
        record(1, status=TONE_FIRST),
        record(2, status="กํ\u0e32ลังจัดหา", isp="\u200bทีโอที\u00a0"),
        record(3, link_type="ไฟเบอร\u0e4c", funding_source="เงินอุดหนุนราย\u200bหัว"),
    ]
    result = validate(sheet(records), registered=3)
    assert [row.values["status"] for row in result.rows] == [
        "connected",
        "procuring",
        "connected",
    ]
    assert result.rows[1].values["isp"] == "TOT"
    assert result.rows[2].values["funding_source"] == "per_student_subsidy"
    assert not [f for f in result.findings if f.severity == "error"]


def test_headers_read_after_the_same_normalisation_and_the_upload_alias() -> None:
    headers = list(HEADERS)
    headers[KEYS.index("students")] = "จํ\u0e32นวน\u200bนักเรียน "
    headers[KEYS.index("upload_mbps")] = "ความเร็วอัพโหลด (Mbps)"
    headers[KEYS.index("download_mbps")] = "ความเร็วดาวน์โหลด\u00a0(Ｍbps)".replace("Ｍ", "M")
    values = sheet([record(1, upload_mbps=12)])
    values[0] = headers
    result = validate(values, registered=1)
    assert not [f for f in result.findings if f.code == "unknown_column"]
    assert result.rows[0].values["upload_mbps"] == 12.0
    assert result.rows[0].values["students"] == 101


def test_a_tab_named_like_the_data_tab_is_the_data_tab() -> None:
    result = validate(sheet([record(1)]), registered=1, tab_title=" โรง\u200bเรียน")
    assert "data_tab_missing" not in {f.code for f in result.findings}


def test_free_text_is_kept_in_one_spelling() -> None:
    result = validate(sheet([record(1, note="สัญญาณ\u200bเเรง ๒ ขีด")]), registered=1)
    assert result.rows[0].values["note"] == "สัญญาณแรง 2 ขีด"


# --- a dash is an empty cell ------------------------------------------------------------------


def test_the_contract_and_the_code_agree_on_what_reads_as_empty() -> None:
    assert set(CONTRACT.empty_marks) == EMPTY_MARKS


def test_a_dash_is_empty_optional_cells_and_missing_required_ones() -> None:
    records = [
        record(1, upload_mbps="-", support_requested_thb="-", note=" - "),
        record(2, students="–"),
    ]
    result = validate(sheet(records), registered=2)
    first, second = result.rows
    assert first.accepted
    assert first.values["upload_mbps"] is None and first.values["support_requested_thb"] is None
    assert first.values["note"] is None
    assert not second.accepted
    finding = only(result, "missing_value")
    assert (finding.cell, finding.value) == ("C3", "–")
    assert finding.message == (
        'ช่อง "จำนวนนักเรียน" มีแค่ "–" ซึ่งระบบถือว่าเป็นช่องว่าง แต่ช่องนี้ต้องกรอกทุกแถว: '
        "พิมพ์จำนวนนักเรียนเป็นตัวเลขจำนวนเต็ม เช่น 245"
    )


# --- failed formulas --------------------------------------------------------------------------


FORMULA_MESSAGE = (
    'ช่อง "{header}" เป็นสูตรที่คำนวณไม่ได้ (แสดง {value}) ระบบจึงไม่รู้ค่า: แก้สูตรให้คำนวณได้ หรือพิมพ์ค่าแทนสูตร'
)


@pytest.mark.parametrize(
    ("key", "error", "code"),
    [
        ("students", "#N/A", "invalid_integer"),
        ("monthly_fee_thb", "#DIV/0!", "invalid_number"),
        ("isp", "#REF!", "unknown_enum_value"),
        ("service_start", "#VALUE!", "invalid_date"),
        ("school_name", "#N/A", "missing_value"),
    ],
)
def test_a_failed_formula_is_named_as_one(key: str, error: str, code: str) -> None:
    result = validate(sheet([record(1, **{key: error})]), registered=1)
    finding = next(f for f in result.findings if f.column == key)
    assert (finding.code, finding.severity, finding.value) == (code, "error", error)
    header = CONTRACT.column(key).header
    assert finding.message == FORMULA_MESSAGE.format(header=header, value=error)
    assert not result.rows[0].accepted


# --- the Google path: formatted and unformatted values ----------------------------------------

SHEET_ID = "1" + "t" * 43
# One row as a clerk types it into Google Sheets, stored as the emulator keeps cells: typed
# text as text, numbers and dates as numbers with their display format.
GOOGLE_ROW: list[Any] = [
    "１０５２０１０００１",
    "รร.บ้าน\u200bหนองบัว1",
    {"number": 1245, "format": "#,##0"},
    TONE_FIRST,
    "ทีโอที",
    "FTTx",
    "30Mb",
    "-",
    "1,290.- บาท",
    "เงินอุดหนุนรายหัว",
    {"number": 0, "format": "0"},
    "",
    "",
    {"serial": 43103, "format": "d/m/yyyy"},
    "#N/A",
]


@pytest.fixture
def emulator(tmp_path: Path) -> Iterator[Emulator]:
    folder = tmp_path / "state" / "spreadsheets"
    folder.mkdir(parents=True)
    doc = {
        "spreadsheetId": SHEET_ID,
        "title": "ข้อมูลอินเทอร์เน็ตโรงเรียน สพป.ลำปาง เขต 1",
        "parents": ["folder"],
        "createdTime": "2017-12-28T03:00:00.000Z",
        "modifiedTime": "2018-01-02T08:15:00.000Z",
        # A trailing space in the tab name: a clerk cannot see it.
        "sheets": [{"sheetId": 0, "title": "โรงเรียน ", "rows": [HEADERS, GOOGLE_ROW]}],
    }
    (folder / f"{SHEET_ID}.json").write_text(json.dumps(doc, ensure_ascii=False), "utf-8")
    with Emulator(tmp_path / "state", read_quota_per_minute=0) as running:
        yield running


def test_google_formatted_and_unformatted_values_read_the_same(emulator: Emulator) -> None:
    settings = GoogleSettings(
        request_timeout_seconds=5,
        max_attempts=1,
        backoff_base_seconds=0.01,
        backoff_max_seconds=0.02,
    )
    reader = SheetsReader(EmulatorSession(emulator.base_url), settings)
    read = reader.read_data_tab(SHEET_ID, CONTRACT.data_tab)
    assert (read.tab, read.used_first_tab) == ("โรงเรียน ", False)
    formatted = reader.client.http_client.values_batch_get(
        SHEET_ID, ["'โรงเรียน '"], params={**VALUE_PARAMS, "valueRenderOption": "FORMATTED_VALUE"}
    )["valueRanges"][0]["values"]
    assert formatted[1][2] == "1,245" and read.values[1][2] == 1245

    schools = registry(1)
    results = [
        validate_sheet(values, esa_code=ESA, schools=schools, today=TODAY, tab_title=read.tab)
        for values in (read.values, formatted)
    ]
    for result in results:
        row = result.rows[0]
        assert row.values["school_code"] == "1052010001"
        assert row.values["students"] == 1245
        assert row.values["status"] == "connected"
        assert row.values["download_mbps"] == 30.0 and row.values["upload_mbps"] is None
        assert row.values["monthly_fee_thb"] == 1290.0
        assert row.values["service_start"] == date(2018, 1, 3)
        assert [(f.code, f.cell, f.value) for f in result.findings] == [
            ("missing_value", "O2", "#N/A")
        ]
    assert results[0].rows[0].values == results[1].rows[0].values


# --- files as Thai Windows writes them --------------------------------------------------------


def test_csv_in_windows_thai_with_look_alikes_reads_like_the_sheet(tmp_path: Path) -> None:
    row = ["1052010001", "บ้านหนองบัว1", "1,245 คน", "เชื่อมต่อแล้ว", "ทีโอที", "FTTx", "30 เมก",
           "", "฿1,290.-", "รายหัว", "0", "", "", "3 มกรา 2561", ""]  # fmt: skip
    text = "\r\n".join(",".join(f'"{c}"' for c in cells) for cells in (HEADERS, row))
    path = tmp_path / "sheet.csv"
    path.write_bytes(text.encode("cp874"))
    values, _ = read_sheet_file(path)
    result = validate_sheet(values, esa_code=ESA, schools=registry(1), today=TODAY)
    assert result.rows[0].accepted, [f.to_dict() for f in result.findings]
    assert result.rows[0].values["monthly_fee_thb"] == 1290.0
    assert result.rows[0].values["service_start"] == date(2018, 1, 3)


def test_unicode_normalisation_is_idempotent_on_every_contract_spelling() -> None:
    spellings = [*HEADERS, *(v.label for values in CONTRACT.enums.values() for v in values)]
    for text in spellings:
        assert canonical(text) == unicodedata.normalize("NFC", text)
        assert canonical(canonical(text)) == canonical(text)
