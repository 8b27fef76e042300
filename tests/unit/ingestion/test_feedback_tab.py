"""Writing the feedback tab in one batchUpdate, and what it costs when the tab is not where the
warehouse thinks: real gspread against the emulator over HTTP."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from gspread.exceptions import APIError

from schoolnet.core.config import GoogleSettings
from schoolnet.devtools.emulator import Emulator
from schoolnet.devtools.emulator.server import cell_format
from schoolnet.devtools.emulator.state import load_spreadsheet
from schoolnet.ingestion.google import EmulatorSession
from schoolnet.ingestion.ingest import FEEDBACK_SHEET_ID, SheetsReader, TabLayout
from tests.unit.devtools.test_emulator import SID, make_doc, write_doc

TAB = "ผลตรวจสอบ"
GOOGLE = GoogleSettings(
    request_timeout_seconds=10, max_attempts=2, backoff_base_seconds=0.05, backoff_max_seconds=0.1
)


@pytest.fixture
def world(tmp_path: Path) -> Iterator[tuple[Path, Emulator, SheetsReader]]:
    write_doc(tmp_path, make_doc(SID, [["รหัสโรงเรียน"], ["1052010001"]]))
    with Emulator(tmp_path, read_quota_per_minute=0, write_quota_per_minute=0) as emulator:
        yield tmp_path, emulator, SheetsReader(EmulatorSession(emulator.base_url), GOOGLE)


def tab(state: Path) -> dict[str, Any]:
    return next(s for s in load_spreadsheet(state, SID)["sheets"] if s["title"] == TAB)


def calls(emulator: Emulator) -> dict[str, int]:
    by_endpoint: dict[str, int] = emulator.stats()["by_endpoint"]
    emulator.reset()
    return by_endpoint


def test_added_and_written_in_one_call_then_rewritten_in_one(
    world: tuple[Path, Emulator, SheetsReader],
) -> None:
    state, emulator, reader = world
    first = reader.write_tab(SID, TAB, [["หัวเรื่อง"], ["=1+1", "x"]])
    assert first.sheet_id == FEEDBACK_SHEET_ID and first.api_calls == 1
    assert calls(emulator) == {"spreadsheets.batchUpdate": 1}
    assert tab(state)["rows"] == [["หัวเรื่อง"], ["=1+1", "x"]]  # text, never a formula
    again = reader.write_tab(SID, TAB, [["ใหม่"], ["", ""]], sheet_id=first.sheet_id)
    assert again.api_calls == 1 and tab(state)["rows"] == [["ใหม่"]]  # old lines cleared


def test_a_tab_the_clerk_deleted_is_added_again(
    world: tuple[Path, Emulator, SheetsReader],
) -> None:
    state, emulator, reader = world
    reader.write_tab(SID, TAB, [["a"]])
    doc = load_spreadsheet(state, SID)
    doc["sheets"] = [s for s in doc["sheets"] if s["title"] != TAB]
    write_doc(state, doc)
    calls(emulator)
    written = reader.write_tab(SID, TAB, [["b"]], sheet_id=FEEDBACK_SHEET_ID)
    assert written.api_calls == 3  # refused, the metadata, then added and written at once
    assert calls(emulator) == {"spreadsheets.batchUpdate": 2, "spreadsheets.get": 1}
    assert tab(state)["rows"] == [["b"]]


def test_a_tab_written_before_ids_were_kept_is_found_once(
    world: tuple[Path, Emulator, SheetsReader],
) -> None:
    state, _, reader = world
    doc = load_spreadsheet(state, SID)
    doc["sheets"].append({"sheetId": 7, "title": TAB, "rows": [["old"], ["line"]]})
    write_doc(state, doc)
    written = reader.write_tab(SID, TAB, [["new"], [""]])
    assert written.sheet_id == 7 and written.api_calls == 3
    assert tab(state)["rows"] == [["new"]]
    assert reader.write_tab(SID, TAB, [["next"]], sheet_id=7).api_calls == 1


def test_a_list_longer_than_the_grid_grows_the_tab_in_the_same_call(
    world: tuple[Path, Emulator, SheetsReader],
) -> None:
    state, _, reader = world
    rows = [[str(n)] for n in range(1500)]
    first = reader.write_tab(SID, TAB, rows)
    assert first.api_calls == 1 and len(tab(state)["rows"]) == 1500
    longer = [[str(n)] for n in range(1800)]
    assert reader.write_tab(SID, TAB, longer, sheet_id=first.sheet_id).api_calls == 1
    assert tab(state)["gridProperties"]["rowCount"] == 1800


LAYOUT = TabLayout(widths=(50, 60, 420, 150), wrapped=(2,), heading_row=1, frozen=True)
STAMPS = ("modifiedTime", "version")  # what any write moves on, in Sheets as here


def test_the_layout_goes_in_the_same_call_and_the_sheet_keeps_it(
    world: tuple[Path, Emulator, SheetsReader],
) -> None:
    state, emulator, reader = world
    rows = [["หัวเรื่อง"], ["แถว", "ช่อง", "สิ่งที่ต้องทำ", "รหัส"], ["7", "C7", "ยาว " * 40, "x"]]
    first = reader.write_tab(SID, TAB, rows, layout=LAYOUT)
    assert first.api_calls == 1 and calls(emulator) == {"spreadsheets.batchUpdate": 1}
    sheet = tab(state)
    assert sheet["gridProperties"]["frozenRowCount"] == 2  # the heading and the title above it
    assert [c["pixelSize"] for c in sheet["columnMetadata"]] == [50, 60, 420, 150]
    assert cell_format(sheet, 1, 0) == {"textFormat": {"bold": True}}  # the heading, bold
    assert cell_format(sheet, 0, 0) == {} and cell_format(sheet, 2, 0) == {}
    assert cell_format(sheet, 2, 2) == {"wrapStrategy": "WRAP"}  # the message wraps
    assert cell_format(sheet, 999, 2) == {"wrapStrategy": "WRAP"}  # down to the grid's end
    assert cell_format(sheet, 2, 3) == {} and cell_format(sheet, 0, 2) == {}
    assert "recordedRequests" not in load_spreadsheet(state, SID)  # kept, not just recorded

    before = {k: v for k, v in load_spreadsheet(state, SID).items() if k not in STAMPS}
    again = reader.write_tab(SID, TAB, rows, sheet_id=first.sheet_id, layout=LAYOUT)
    assert again.api_calls == 1 and calls(emulator) == {"spreadsheets.batchUpdate": 1}
    after = {k: v for k, v in load_spreadsheet(state, SID).items() if k not in STAMPS}
    assert after == before


def test_a_tab_written_before_the_layout_gets_it_on_its_next_write(
    world: tuple[Path, Emulator, SheetsReader],
) -> None:
    state, _, reader = world
    first = reader.write_tab(SID, TAB, [["a"]])
    assert "columnMetadata" not in tab(state) and "formats" not in tab(state)
    no_findings = TabLayout(widths=(50, 60, 420, 150), wrapped=(2,), heading_row=1, frozen=False)
    reader.write_tab(SID, TAB, [["b"]], sheet_id=first.sheet_id, layout=no_findings)
    sheet = tab(state)
    assert sheet["gridProperties"]["frozenRowCount"] == 0  # nothing under a heading to keep
    assert [c["pixelSize"] for c in sheet["columnMetadata"]] == [50, 60, 420, 150]
    assert cell_format(sheet, 5, 2) == {"wrapStrategy": "WRAP"}


def test_layout_requests_the_emulator_does_not_know_are_refused(
    world: tuple[Path, Emulator, SheetsReader],
) -> None:
    _, _, reader = world
    http = reader.writer.http_client
    bad = [
        {
            "updateDimensionProperties": {
                "range": {"sheetId": 0, "dimension": "COLUMNS", "startIndex": 0, "endIndex": 1},
                "properties": {"width": 200},
                "fields": "width",
            }
        },
        {
            "repeatCell": {
                "range": {"sheetId": 0},
                "cell": {"userEnteredFormat": {"wrapStrategy": "SHRINK"}},
                "fields": "userEnteredFormat.wrapStrategy",
            }
        },
        {
            "repeatCell": {
                "range": {"sheetId": 0},
                "cell": {"userEnteredFormat": {"wrap": "WRAP"}},
                "fields": "userEnteredFormat.wrap",
            }
        },
        {
            "updateDimensionProperties": {
                "range": {"sheetId": 0, "dimension": "COLUMNS", "startIndex": 0, "endIndex": 99},
                "properties": {"pixelSize": 200},
                "fields": "pixelSize",
            }
        },
    ]
    for request in bad:
        with pytest.raises(APIError) as raised:
            http.batch_update(SID, {"requests": [request]})
        assert raised.value.response.status_code == 400
