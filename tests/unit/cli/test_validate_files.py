"""``schoolnet validate`` on files as Thai Windows and Excel write them: date cells shown as the
clerk saw them, the 1904 date system, failed formulas, tab names with look-alikes, and the files
it cannot read named for what they are."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path

import openpyxl
import pytest
from openpyxl.utils.datetime import CALENDAR_MAC_1904

from schoolnet.validation.files import read_sheet_file
from schoolnet.validation.normalize import shown_date
from tests.unit.cli.test_validate_cli import (
    HEADERS,
    at,
    code,
    connected,
    registry,
    run,
    run_json,
    xlsx,
)

__all__ = ["registry"]  # the fixture, used by name


def test_a_date_cell_is_quoted_as_the_date_it_shows(
    tmp_path: Path, registry: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = xlsx(
        tmp_path / "s.xlsx",
        [
            HEADERS,
            connected(1, service_start=datetime(2018, 3, 1)),  # noqa: DTZ001 - a cell; after --date
            connected(2, students=datetime(2018, 1, 2)),  # noqa: DTZ001 - "1/2" typed, Excel made a date
        ],
    )
    workbook = openpyxl.load_workbook(path)
    workbook.active["N2"].number_format = "d/m/yyyy"
    workbook.active["C3"].number_format = "d mmm yy"
    workbook.save(path)
    document = run_json(capsys, path, registry)
    by_cell = {f["cell"]: f for f in document["findings"]}
    assert by_cell["N2"]["code"] == "future_date" and by_cell["N2"]["value"] == "1/3/2018"
    assert by_cell["C3"]["code"] == "invalid_integer"
    assert by_cell["C3"]["value"] == "2 ม.ค. 2018"
    assert by_cell["C3"]["message"].startswith('"2 ม.ค. 2018" ไม่ใช่ตัวเลขจำนวนเต็ม')
    assert not document["rows"][1]["accepted"]


@pytest.mark.parametrize(
    ("number_format", "shown"),
    [
        ("d/m/yyyy", "3/1/2018"),
        ("dd/mm/yyyy", "3/1/2018"),
        ("yyyy-mm-dd", "2018-01-03"),
        ("[$-th-TH,107]d/m/bbbb", "3/1/2561"),
        ("B2d/m/yyyy", "3/1/2561"),
        ("d mmmm yyyy", "3 มกราคม 2018"),
        ("mm-dd-yy", "3/1/2018"),
    ],
)
def test_date_formats_are_shown_as_the_cell_showed_them(number_format: str, shown: str) -> None:
    assert shown_date(date(2018, 1, 3), number_format) == shown


def test_a_1904_workbook_reads_its_dates_as_dates(tmp_path: Path) -> None:
    workbook = openpyxl.Workbook()
    workbook.epoch = CALENDAR_MAC_1904
    sheet = workbook.active
    assert sheet is not None
    sheet.title = "โรงเรียน"
    sheet.append(["วันที่", date(2018, 1, 3)])
    sheet["B1"].number_format = "d/m/yyyy"
    workbook.save(tmp_path / "mac.xlsx")
    values, _ = read_sheet_file(tmp_path / "mac.xlsx")
    assert values == [["วันที่", 43103]]  # the Sheets serial, whatever the workbook's epoch
    assert str(values[0][1]) == "3/1/2018"


def test_a_cached_formula_error_is_a_finding(
    tmp_path: Path, registry: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = xlsx(tmp_path / "s.xlsx", [HEADERS, connected(1, students="#N/A"), connected(2)])
    document = run_json(capsys, path, registry)
    (finding,) = [f for f in document["findings"] if f["row"] == 2]
    assert (finding["cell"], finding["code"], finding["value"]) == ("C2", "invalid_integer", "#N/A")
    assert "เป็นสูตรที่คำนวณไม่ได้" in finding["message"]
    assert [row["accepted"] for row in document["rows"]] == [False, True]


def test_the_data_tab_is_found_under_a_name_with_an_invisible_difference(
    tmp_path: Path, registry: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = xlsx(
        tmp_path / "s.xlsx", [HEADERS, connected(1)], tab="โรง\u200bเรียน ", before="คำอธิบาย"
    )
    document = run_json(capsys, path, registry)
    assert "data_tab_missing" not in at(document).values()
    assert [r["school_code"] for r in document["rows"]] == [code(1)]


HTML_PAGE = (
    b"<html><head><meta charset='utf-8'></head><body><table>"
    b"<tr><td>\xe0\xb8\xa3\xe0\xb8\xab\xe0\xb8\xb1\xe0\xb8\xaa</td></tr></table></body></html>"
)


@pytest.mark.parametrize("name", ["report.xlsx", "report.xls"])
def test_a_web_page_saved_as_a_workbook_is_named_as_one(
    tmp_path: Path, registry: Path, capsys: pytest.CaptureFixture[str], name: str
) -> None:
    path = tmp_path / name
    path.write_bytes(HTML_PAGE)
    status, out, err = run(capsys, path, registry)
    assert status == 1 and out == ""
    assert len(err.splitlines()) == 1
    assert f"{name} เป็นหน้าเว็บ (HTML)" in err and "Excel Workbook (.xlsx)" in err


def test_an_old_xls_is_named_as_one_and_a_misnamed_xlsx_is_read(
    tmp_path: Path, registry: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    old = tmp_path / "old.xls"
    old.write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(1024))
    status, _, err = run(capsys, old, registry)
    assert status == 1 and "old.xls เป็นไฟล์ Excel รุ่นเก่า (.xls)" in err
    misnamed = tmp_path / "sheet.xls"
    misnamed.write_bytes(xlsx(tmp_path / "sheet.xlsx", [HEADERS, connected(1)]).read_bytes())
    document = run_json(capsys, misnamed, registry)
    assert [r["school_code"] for r in document["rows"]] == [code(1)]
