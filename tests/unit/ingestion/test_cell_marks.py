"""The reader's calls for marks on a data tab's cells (a note and a background colour): written
in the feedback tab's single batchUpdate, read back in one paced spreadsheets.get, against the
emulator over HTTP."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from schoolnet.core.config import GoogleSettings
from schoolnet.devtools.emulator import Emulator
from schoolnet.devtools.emulator.state import load_spreadsheet
from schoolnet.ingestion.google import EmulatorSession
from schoolnet.ingestion.ingest import CellMark, SheetRead, SheetReadError, SheetsReader, TabLayout
from tests.unit.devtools.test_emulator import SID, TAB, make_doc, write_doc

FEEDBACK = "ผลตรวจสอบ"


def read_marks(reader: SheetsReader, cells: list[tuple[int, int]]) -> SheetRead:
    """The data read (one call), its marks narrowed to ``cells``: what a check sees of them."""
    read = reader.read_data_tab(SID, TAB)
    wanted = set(cells)
    return replace(read, marks={cell: m for cell, m in read.marks.items() if cell in wanted})


GOOGLE = GoogleSettings(
    request_timeout_seconds=10, max_attempts=2, backoff_base_seconds=0.05, backoff_max_seconds=0.1
)
RED = (1.0, 0.8, 0.8)
YELLOW = (1.0, 0.95, 0.6)
ROWS: list[list[Any]] = [
    ["รหัสโรงเรียน", "ชื่อโรงเรียน", "จำนวนนักเรียน"],
    ["1052010001", "บ้านทุ่ง", "สองร้อย"],
    ["1052010002", "บ้านดอย", 30.5],
]


class CountingPacer:
    """A pacer that only counts the requests it was asked to pace."""

    def __init__(self) -> None:
        self.paced = 0

    def before_request(self) -> None:
        self.paced += 1

    def penalize(self, seconds: float) -> None:
        """No quota here to push back."""


@pytest.fixture
def world(tmp_path: Path) -> Iterator[tuple[Path, Emulator, SheetsReader, CountingPacer]]:
    doc = make_doc(SID, ROWS)
    doc["sheets"][0]["notes"] = {"A1": "โน้ตของเจ้าหน้าที่"}  # a clerk's own note
    write_doc(tmp_path, doc)
    pacer = CountingPacer()
    with Emulator(tmp_path, read_quota_per_minute=0, write_quota_per_minute=0) as emulator:
        reader = SheetsReader(EmulatorSession(emulator.base_url), GOOGLE, read_pacer=pacer)
        yield tmp_path, emulator, reader, pacer


def calls(emulator: Emulator) -> dict[str, int]:
    by_endpoint: dict[str, int] = emulator.stats()["by_endpoint"]
    emulator.reset()
    return by_endpoint


def data_tab(state: Path) -> dict[str, Any]:
    return next(s for s in load_spreadsheet(state, SID)["sheets"] if s["title"] == TAB)


LAYOUT = TabLayout(widths=(120, 300), wrapped=(1,), heading_row=0, frozen=True)


def test_marks_go_in_the_feedback_tabs_one_call_and_read_back_in_one(
    world: tuple[Path, Emulator, SheetsReader, CountingPacer],
) -> None:
    state, emulator, reader, pacer = world
    before = data_tab(state)["rows"]
    marks = [
        CellMark(0, 1, 2, note="จำนวนนักเรียนต้องเป็นตัวเลข", color=RED),
        CellMark(0, 2, 1, note="ชื่อซ้ำกับโรงเรียนอื่น", color=YELLOW),
    ]
    written = reader.write_tab(SID, FEEDBACK, [["หัวเรื่อง"], ["ข้อความ"]], layout=LAYOUT, marks=marks)
    assert written.api_calls == 1
    assert calls(emulator) == {"spreadsheets.batchUpdate": 1}
    assert data_tab(state)["rows"] == before  # the values (and so the digest) are untouched

    read = read_marks(reader, [(1, 2), (2, 1), (2, 2), (0, 0)])
    assert read.api_calls == 1 and pacer.paced == 1
    assert calls(emulator) == {"spreadsheets.get": 1}
    assert read.sheet_id == 0
    assert read.marks == {
        (1, 2): marks[0],
        (2, 1): marks[1],
        (0, 0): CellMark(0, 0, 0, note="โน้ตของเจ้าหน้าที่"),  # asked for, so reported
    }


def test_a_mark_of_none_removes_only_that_cells_note_and_colour(
    world: tuple[Path, Emulator, SheetsReader, CountingPacer],
) -> None:
    state, _emulator, reader, _pacer = world
    first = reader.write_tab(SID, FEEDBACK, [["ก"]], marks=[CellMark(0, 1, 2, "ผิด", RED)])
    again = reader.write_tab(
        SID, FEEDBACK, [["ข"]], sheet_id=first.sheet_id, marks=[CellMark(0, 1, 2)]
    )
    assert again.api_calls == 1
    read = read_marks(reader, [(0, 0), (1, 2)])
    assert read.marks == {(0, 0): CellMark(0, 0, 0, note="โน้ตของเจ้าหน้าที่")}  # the clerk's stays
    assert "formats" not in data_tab(state)


def test_only_the_colour_or_only_the_note(
    world: tuple[Path, Emulator, SheetsReader, CountingPacer],
) -> None:
    _state, _emulator, reader, _pacer = world
    reader.write_tab(SID, FEEDBACK, [["ก"]], marks=[CellMark(0, 2, 2, color=YELLOW)])
    reader.write_tab(SID, FEEDBACK, [["ก"]], marks=[CellMark(0, 2, 1, note="ข้อความ")])
    read = read_marks(reader, [(2, 1), (2, 2)])
    assert read.marks == {
        (2, 1): CellMark(0, 2, 1, note="ข้อความ"),
        (2, 2): CellMark(0, 2, 2, color=YELLOW),
    }


def test_marks_survive_the_costlier_path_when_the_feedback_tab_was_deleted(
    world: tuple[Path, Emulator, SheetsReader, CountingPacer],
) -> None:
    _state, _emulator, reader, _pacer = world
    reader.write_tab(SID, FEEDBACK, [["ก"]])
    gone = 4242  # an id the tab never had: as when a clerk deleted it
    written = reader.write_tab(
        SID, FEEDBACK, [["ข"]], sheet_id=gone, marks=[CellMark(0, 1, 0, "ผิด", RED)]
    )
    assert written.api_calls == 3  # the refused write, the metadata read, the write again
    assert read_marks(reader, [(1, 0)]).marks == {(1, 0): CellMark(0, 1, 0, "ผิด", RED)}


def test_a_mark_on_an_unknown_sheet_fails_and_writes_nothing(
    world: tuple[Path, Emulator, SheetsReader, CountingPacer],
) -> None:
    state, emulator, reader, _pacer = world
    before = load_spreadsheet(state, SID)
    with pytest.raises(SheetReadError) as caught:
        reader.write_tab(SID, FEEDBACK, [["ก"]], marks=[CellMark(77, 1, 0, "ผิด", RED)])
    assert caught.value.code == "bad_request" and caught.value.api_calls == 1
    assert "No grid with id: 77" in caught.value.detail
    assert load_spreadsheet(state, SID) == before  # nor the feedback tab: one call, all or none
    assert calls(emulator) == {"spreadsheets.batchUpdate": 1}


def test_a_mark_checks_its_colour_and_cell() -> None:
    with pytest.raises(ValueError, match="0 to 1"):
        CellMark(0, 1, 1, color=(255, 0, 0))
    with pytest.raises(ValueError, match="start at 0"):
        CellMark(0, -1, 1)
    request = CellMark(3, 4, 5, note="ข้อความ", color=(1, 0.5, 0)).request()
    assert request == {
        "updateCells": {
            "start": {"sheetId": 3, "rowIndex": 4, "columnIndex": 5},
            "rows": [
                {
                    "values": [
                        {
                            "note": "ข้อความ",
                            "userEnteredFormat": {
                                "backgroundColor": {"red": 1, "green": 0.5, "blue": 0}
                            },
                        }
                    ]
                }
            ],
            "fields": "note,userEnteredFormat.backgroundColor",
        }
    }
    assert CellMark(3, 4, 5).request()["updateCells"]["rows"] == [{"values": [{}]}]
