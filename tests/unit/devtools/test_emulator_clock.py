"""The emulator's clock: a demo day's morning, not the wall clock, stamps what happens to its
sheets, so ages computed from Drive's modifiedTime are those of a real morning of that date."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import gspread
import pytest

from schoolnet.cli.main import main
from schoolnet.devtools.demo import generate
from schoolnet.devtools.emulator import Emulator, edit_cell, load_day, read_control, set_clock
from schoolnet.devtools.emulator import state as st
from schoolnet.ingestion.google import EmulatorSession

DAY = date(2018, 1, 4)


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("clock-demo")
    generate(out, esa_limit=2, days=2)
    return out


def modified(state_dir: Path, spreadsheet_id: str) -> str:
    return str(st.load_spreadsheet(state_dir, spreadsheet_id)["modifiedTime"])


def soon_after(stamp: str, start: datetime) -> bool:
    """``stamp`` is ``start`` moved on by the real time since (however slow the machine)."""
    return timedelta(0) <= st.parse_rfc3339(stamp) - start < timedelta(minutes=30)


def test_a_loaded_day_stamps_writes_and_edits_on_that_morning(demo: Path, tmp_path: Path) -> None:
    load_day(tmp_path, demo, DAY)
    ids = st.Store(tmp_path).ids()
    with Emulator(tmp_path, read_quota_per_minute=0, write_quota_per_minute=0) as emulator:
        client = gspread.Client(None, session=EmulatorSession(emulator.base_url))  # type: ignore[arg-type]  # gspread types auth as Credentials; the session given already authorises (the emulator needs none)
        client.open_by_key(ids[0]).add_worksheet("ผลตรวจสอบ", rows=10, cols=3)
    morning = datetime(2018, 1, 3, 23, 0, tzinfo=UTC)  # 06:00 on 4 January in Bangkok
    assert soon_after(modified(tmp_path, ids[0]), morning)
    edit_cell(tmp_path, ids[1], "C3", "245")
    assert soon_after(modified(tmp_path, ids[1]), morning)
    assert modified(tmp_path, ids[0]) <= modified(tmp_path, ids[1])  # the clock moves on


def test_the_clock_can_be_set_and_given_back_to_the_wall(demo: Path, tmp_path: Path) -> None:
    load_day(tmp_path, demo, DAY)
    spreadsheet_id = st.Store(tmp_path).ids()[0]
    afternoon = datetime(2018, 1, 20, 14, 30, tzinfo=UTC)
    set_clock(tmp_path, afternoon)
    edit_cell(tmp_path, spreadsheet_id, "C3", "245")
    assert soon_after(modified(tmp_path, spreadsheet_id), afternoon)
    set_clock(tmp_path, None)
    assert "clock" not in read_control(tmp_path)
    edit_cell(tmp_path, spreadsheet_id, "C3", "246")
    assert modified(tmp_path, spreadsheet_id)[:4] == str(datetime.now(UTC).year)
    with pytest.raises(st.EmulatorError, match="time zone"):
        set_clock(tmp_path, datetime(2018, 1, 20, 14, 30))  # noqa: DTZ001 - the naive time is refused


def test_clock_command(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    state = str(tmp_path)
    assert main(["emulator", "clock", "--state", state, "--at", "2018-01-17T06:00+07:00"]) == 0
    shown = capsys.readouterr().out
    assert shown.endswith(" (set)\n")
    assert soon_after(shown.split()[0], datetime(2018, 1, 16, 23, 0, tzinfo=UTC))
    assert main(["emulator", "clock", "--state", state, "--wall"]) == 0
    assert "(wall clock)" in capsys.readouterr().out
    with pytest.raises(SystemExit):
        main(["emulator", "clock", "--state", state, "--at", "2018-01-17T06:00"])
    assert "offset" in capsys.readouterr().err
