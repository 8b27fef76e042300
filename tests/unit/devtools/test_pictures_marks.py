"""The data tab pictured with the marks the pipeline leaves on its cells, as Google Sheets shows
them: a note's corner triangle, a background colour, and one note open beside its cell. The
marks are written through the reader's own call to a started emulator, and read back from the
state it saved; the page is checked, not a screenshot (no browser needed)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from html import escape, unescape
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from schoolnet.contract import load_contract
from schoolnet.core.config import GoogleSettings
from schoolnet.devtools import pictures
from schoolnet.devtools.emulator import Emulator
from schoolnet.devtools.emulator.state import load_spreadsheet
from schoolnet.devtools.pictures import (
    COLUMN_HEADER_PX,
    COLUMN_PX,
    ROW_HEADER_PX,
    ROW_PX,
    TAB_COLUMNS,
    data_tab_picture,
    write_marks_preview,
)
from schoolnet.ingestion.google import EmulatorSession
from schoolnet.ingestion.ingest import CellMark, SheetsReader, hex_rgb
from tests.unit.devtools.test_emulator import SID, make_doc, write_doc

GOOGLE = GoogleSettings(
    request_timeout_seconds=10, max_attempts=2, backoff_base_seconds=0.05, backoff_max_seconds=0.1
)
CONTRACT = load_contract()
DATA_TAB = CONTRACT.data_tab
FEEDBACK_TAB = CONTRACT.feedback_tab
RED = hex_rgb(CONTRACT.finding_cell_colors["error"])  # #f4cccc, Sheets' light red 3
YELLOW = hex_rgb(CONTRACT.finding_cell_colors["warning"])  # #fff2cc, Sheets' light yellow 3
OTHER = (1.0, 0.95, 0.6)  # a colour of the clerk's own: #fff299
# A clerk's tab: a title and a date line above the header, a blank row, a sequence column, a
# group heading and a totals row around the schools' rows.
CLERK_ROWS: list[list[Any]] = [
    ["ข้อมูลอินเทอร์เน็ตโรงเรียน สพป.ลำปาง เขต 1"],
    ["ข้อมูล ณ วันที่ 15 มกราคม 2561"],
    [],
    ["ลำดับ", "รหัสโรงเรียน", "ชื่อโรงเรียน", "จำนวนนักเรียน", "สถานะ", "ผู้ให้บริการ", "ดาวน์โหลด"],
    ["อำเภอเมืองลำปาง"],
    [1, "1052010001", "บ้านทุ่ง", 245, "เชื่อมต่อแล้ว", "TOT", 30],
    [2, "1052010002", "บ้านดอย", "สองร้อย", "เชื่อมต่อแล้ว", "CAT", 20],
    [3, "105201003", "บ้านนา", 80, "ยังไม่เชื่อมต่อ"],
    ["รวม", "", "", 325],
]
# As the pipeline writes them: a line a finding, then the footer (the note's line breaks kept).
ERROR_NOTE = "ข้อผิดพลาด: จำนวนนักเรียนต้องเป็นตัวเลข <ไม่ใช่ข้อความ> & ห้ามเว้นว่าง\n" + CONTRACT.sheet_text(
    "mark_footer"
)
WARNING_NOTE = "คำเตือน: รหัสโรงเรียนมี 9 หลัก ควรมี 10 หลัก\n" + CONTRACT.sheet_text("mark_footer")
CLERK_NOTE = "โน้ตของเจ้าหน้าที่"


def write_marks(state: Path, marks: list[CellMark]) -> None:
    """Write ``marks`` as the pipeline does: in the feedback tab's one batchUpdate, through
    the reader, to an emulator serving ``state`` on 127.0.0.1 (stopped on return)."""
    with Emulator(state, read_quota_per_minute=0, write_quota_per_minute=0) as emulator:
        assert emulator.base_url.startswith("http://127.0.0.1:")
        reader = SheetsReader(EmulatorSession(emulator.base_url), GOOGLE)
        reader.write_tab(SID, FEEDBACK_TAB, [["หัวเรื่อง"], ["ข้อความ"]], marks=marks)


def grid_cells(page: str) -> dict[tuple[int, int], str]:
    """Each grid cell's attributes by (row, column), 0-based, the row read from its number."""
    cells: dict[tuple[int, int], str] = {}
    for number, boxes in re.findall(r"<tr><th>(\d+)</th>((?:<td[^>]*></td>)*)</tr>", page):
        for column, attributes in enumerate(re.findall(r"<td([^>]*)></td>", boxes)):
            cells[(int(number) - 1, column)] = attributes
    return cells


def row_numbers(page: str) -> list[int]:
    return [int(number) for number in re.findall(r"<tr><th>(\d+)</th>", page)]


def open_notes(page: str) -> list[tuple[str, str, str, str]]:
    return re.findall(
        r'<div class="note" data-line="(\d+)" style="left:(\d+)px;top:(\d+)px">(.*?)</div>',
        page,
        re.DOTALL,
    )


@pytest.fixture
def clerk_sheet(tmp_path: Path) -> Iterator[Path]:
    """The emulator's state: one ESA's sheet whose data tab holds a clerk's layout and the
    clerk's own note on the title."""
    doc = make_doc(SID, CLERK_ROWS, tab=DATA_TAB)
    doc["sheets"][0]["notes"] = {"A1": CLERK_NOTE}
    write_doc(tmp_path / "state", doc)
    yield tmp_path / "state"


def test_marked_cells_carry_their_colour_and_triangle_and_one_note_is_open(
    clerk_sheet: Path, tmp_path: Path
) -> None:
    write_marks(
        clerk_sheet,
        [
            CellMark(0, 6, 3, note=ERROR_NOTE, color=RED),  # D7: students typed in words
            CellMark(0, 7, 1, note=WARNING_NOTE, color=YELLOW),  # B8: a 9-digit code
            CellMark(0, 5, 6, color=OTHER),  # G6: a colour, no note
        ],
    )
    doc = load_spreadsheet(clerk_sheet, SID)
    page_path, view = write_marks_preview(doc, DATA_TAB, tmp_path)
    page = page_path.read_text("utf-8")

    # The window starts at row 1: the marks are near the top.
    assert row_numbers(page)[:10] == list(range(1, 11))
    assert view.rows[0] == 0
    # Every cell with a mark, and no other, is drawn with it: the colour as its fill, a note
    # as the triangle in its corner (the clerk's own note on A1 too).
    marked = {where: attributes for where, attributes in grid_cells(page).items() if attributes}
    assert marked == {
        (0, 0): ' class="noted"',
        (5, 6): ' style="background:#fff299"',
        (6, 3): ' class="noted" style="background:#f4cccc"',
        (7, 1): ' class="noted" style="background:#fff2cc"',
    }
    assert "td.noted::after" in page and "border-top: 6px solid" in page
    # The note open is the first finding's (a note on a coloured cell) in row order, not the
    # clerk's on A1: its exact text, escaped, beside its cell at the top of its row.
    assert view.opened == (6, 3)
    d_right = ROW_HEADER_PX + 4 * COLUMN_PX
    assert open_notes(page) == [
        ("6", str(d_right + 4), str(COLUMN_HEADER_PX + 6 * ROW_PX), escape(ERROR_NOTE))
    ]
    assert unescape(open_notes(page)[0][3]) == ERROR_NOTE
    assert "<ไม่ใช่ข้อความ>" not in page and "&lt;ไม่ใช่ข้อความ&gt; &amp; ห้าม" in page
    assert WARNING_NOTE not in page and CLERK_NOTE not in page  # those stay closed
    # The cells' values are drawn as Sheets formats them, over their fill.
    assert ">สองร้อย</div>" in page and ">245</div>" in page


def test_a_mark_far_down_is_pictured_under_the_frozen_rows_and_its_column_shown(
    tmp_path: Path,
) -> None:
    # A long tab whose header row is frozen; the finding is in row 61, column L (beyond the
    # nine columns of a laptop's window); a colour high up does not move the window.
    rows: list[list[Any]] = [["รหัสโรงเรียน", "ชื่อโรงเรียน", "จำนวนนักเรียน"]]
    rows += [[f"10520100{n:02d}", f"โรงเรียนที่ {n}", 100 + n] for n in range(1, 80)]
    doc = make_doc(SID, rows, tab=DATA_TAB)
    doc["sheets"][0]["gridProperties"] = {"frozenRowCount": 1}
    state = tmp_path / "state"
    write_doc(state, doc)
    write_marks(
        state,
        [
            CellMark(0, 10, 2, color=YELLOW),
            CellMark(0, 60, 11, note="ข้อผิดพลาด: วันที่เริ่มใช้บริการไม่ถูกต้อง", color=RED),
            CellMark(0, 62, 1, note="โน้ตของเจ้าหน้าที่"),  # the clerk's, under the finding
        ],
    )
    page_path, view = write_marks_preview(load_spreadsheet(state, SID), DATA_TAB, tmp_path)
    page = page_path.read_text("utf-8")

    numbers = row_numbers(page)
    assert numbers[:3] == [1, 56, 57]  # the frozen header, then five rows above the mark
    assert numbers == [row + 1 for row in view.rows]
    assert "(r + 1 === 1)" in page  # the thick line under the frozen row
    assert view.opened == (60, 11)
    line = numbers.index(61)
    letters = re.findall(r"<th>([A-Z]+)</th>", page)
    assert len(letters) == 13 > TAB_COLUMNS and letters[-1] == "M"
    l_right = ROW_HEADER_PX + 12 * COLUMN_PX
    assert open_notes(page) == [
        (
            str(line),
            str(l_right + 4),
            str(COLUMN_HEADER_PX + line * ROW_PX),
            "ข้อผิดพลาด: วันที่เริ่มใช้บริการไม่ถูกต้อง",
        )
    ]
    marked = {where for where, attributes in grid_cells(page).items() if attributes}
    assert marked == {(60, 11), (62, 1)}  # the colour on row 11 is out of the window


def test_a_data_tab_with_no_marks_is_still_pictured_and_said_so(
    clerk_sheet: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: Any
) -> None:
    doc = load_spreadsheet(clerk_sheet, SID)
    doc["sheets"][0].pop("notes")
    write_doc(clerk_sheet, doc)
    esas = tmp_path / "esas.csv"
    esas.write_text(
        "esa_code,esa_name,level,province,spreadsheet_id,contact_email\n"
        f"10520001,สพป.ลำปาง เขต 1,primary,ลำปาง,{SID},esa@example.org\n",
        encoding="utf-8",
    )
    shots: list[tuple[Path, int]] = []

    def screenshot(_browser: str, page: Path, out: Path, width: int, height: int) -> None:
        shots.append((page, width))
        Image.new("RGB", (width, height), "white").save(out)

    monkeypatch.setattr(pictures, "screenshot", screenshot)
    out = tmp_path / "docs" / pictures.DATA_PICTURE
    out.parent.mkdir()
    assert data_tab_picture("chromium", "10520001", clerk_sheet, esas, tmp_path, out)
    assert out.exists() and len(shots) == 1
    page = shots[0][0].read_text("utf-8")
    assert shots[0][1] == ROW_HEADER_PX + TAB_COLUMNS * COLUMN_PX
    assert row_numbers(page)[0] == 1
    assert not any(grid_cells(page).values()) and open_notes(page) == []
    assert ">ลำดับ</div>" in page
    said = capsys.readouterr().out
    assert f"{pictures.DATA_PICTURE}: the {DATA_TAB} tab of ESA 10520001 has no notes" in said
    # An ESA whose sheet the emulator does not hold is not pictured.
    assert not data_tab_picture("chromium", "99999999", clerk_sheet, esas, tmp_path, out)
