"""The data read is one ``spreadsheets.get`` with grid data: its values are exactly what the
values API gives unformatted (so the data digest and every finding stay as they were), and the
same answer carries the notes, colours and the feedback tab's cells."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from schoolnet.core.config import GoogleSettings
from schoolnet.devtools.demo import generate
from schoolnet.devtools.emulator import Emulator, load_day
from schoolnet.devtools.emulator.state import as_clerk, set_background, set_cell, set_note, tab_of
from schoolnet.ingestion.google import EmulatorSession
from schoolnet.ingestion.ingest import (
    VALUE_PARAMS,
    CellMark,
    SheetsReader,
    TabRegion,
    quote_sheet_name,
)

DATA = "โรงเรียน"


@pytest.fixture
def world(tmp_path: Path) -> Iterator[tuple[Path, Emulator, SheetsReader, list[str]]]:
    manifest = generate(tmp_path / "demo", esa_limit=8, days=1)
    state = tmp_path / "state"
    load_day(state, tmp_path / "demo", manifest.days[-1])
    with Emulator(state, read_quota_per_minute=0, write_quota_per_minute=0) as emulator:
        reader = SheetsReader(
            EmulatorSession(emulator.base_url),
            GoogleSettings(
                request_timeout_seconds=10,
                max_attempts=2,
                backoff_base_seconds=0.01,
                backoff_max_seconds=0.02,
            ),
        )
        ids = sorted(path.stem for path in (state / "spreadsheets").glob("*.json"))
        yield state, emulator, reader, ids


def values_api(reader: SheetsReader, spreadsheet_id: str, tab: str) -> list[list[Any]]:
    reply = reader.client.http_client.values_batch_get(
        spreadsheet_id, [quote_sheet_name(tab)], params=dict(VALUE_PARAMS)
    )
    values: list[list[Any]] = reply["valueRanges"][0].get("values", [])
    return values


def test_grid_values_are_the_values_apis_for_every_demo_sheet(
    world: tuple[Path, Emulator, SheetsReader, list[str]],
) -> None:
    _, _, reader, ids = world
    compared = 0
    for spreadsheet_id in ids:
        read = reader.read_data_tab(spreadsheet_id, DATA)
        assert read.values == values_api(reader, spreadsheet_id, read.tab), spreadsheet_id
        compared += len(read.values)
    assert compared > 100  # the demo's sheets hold rows: the comparison compared something


def test_odd_cells_read_as_the_values_api_gives_them(
    world: tuple[Path, Emulator, SheetsReader, list[str]],
) -> None:
    state, _, reader, ids = world
    with as_clerk(state, ids[0]) as doc:
        sheet = tab_of(doc, DATA)
        set_cell(sheet, 1, 20, {"error": "#DIV/0!"})  # far right: a ragged row grows
        set_cell(sheet, 2, 21, True)
        set_cell(sheet, 3, 22, {"formula": "=SUM(C2:C3)", "value": 512})
        set_cell(sheet, 4, 23, {"serial": 43120, "format": "d mmm yyyy"})
        set_cell(sheet, 5, 24, 0.25)
        set_note(sheet, 60, 2, "หมายเหตุใต้ข้อมูล")  # a note below the data adds no row
        set_background(sheet, 61, 3, (1.0, 0.9, 0.8))
    read = reader.read_data_tab(ids[0], DATA)
    assert read.values == values_api(reader, ids[0], DATA)
    assert read.values[1][20] == "#DIV/0!" and read.values[2][21] is True
    assert read.values[3][22] == 512 and read.values[4][23] == 43120
    assert read.marks[(60, 2)].note == "หมายเหตุใต้ข้อมูล"
    assert read.marks[(61, 3)].hex_color == "#ffe6cc"


def test_one_call_brings_the_marks_and_the_feedback_tab_and_a_missing_tab_says_so(
    world: tuple[Path, Emulator, SheetsReader, list[str]],
) -> None:
    _, emulator, reader, ids = world
    sid = ids[1]
    first = reader.read_data_tab(sid, DATA)
    assert first.sheet_id is not None
    mark = CellMark(first.sheet_id, 3, 2, note="ไม่รับแถวนี้: ...", color=(1.0, 0.8, 0.8))
    reader.write_tab(sid, "ผลตรวจสอบ", [["หัวเรื่อง"], ["", "บรรทัดสอง"]], marks=[mark])
    emulator.reset()
    read = reader.read_data_tab(sid, DATA, TabRegion("ผลตรวจสอบ", 2, 7))
    assert read.api_calls == 1 and emulator.stats()["by_endpoint"] == {"spreadsheets.get": 1}
    assert read.feedback is not None and read.feedback.sheet_id is not None
    assert read.feedback.cells == (("หัวเรื่อง",), ("", "บรรทัดสอง"))
    assert read.marks[(3, 2)].note == "ไม่รับแถวนี้: ..." and read.marks[(3, 2)].hex_color == "#ffcccc"
    assert read.values == first.values  # our marks change no value
    # The tab gone: the read says so, at the cost of one metadata call and the read again.
    gone = reader.read_data_tab(sid, DATA, TabRegion("ผลตรวจอื่น", 2, 7))
    assert gone.feedback is not None and gone.feedback.sheet_id is None
    assert gone.api_calls == 3 and gone.values == first.values and not gone.used_first_tab
