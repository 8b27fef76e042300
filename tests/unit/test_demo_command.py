"""``schoolnet demo``'s choice of day: the sheets it loads are those of the date it reports."""

from __future__ import annotations

import contextlib
import io
from datetime import date
from pathlib import Path

import pytest

from schoolnet.cli.main import build_parser
from schoolnet.devtools.demo import generate
from schoolnet.devtools.emulator import load_day
from schoolnet.devtools.rundemo import demo_day, load_demo_sheets


def sheet_files(state: Path) -> dict[str, bytes]:
    return {path.name: path.read_bytes() for path in (state / "spreadsheets").glob("*.json")}


def test_a_demo_date_loads_the_sheets_of_that_date(tmp_path: Path) -> None:
    demo = tmp_path / "demo"
    manifest = generate(demo, esa_limit=2, days=3)
    first, last = manifest.days[0], manifest.days[-1]
    expected = {}
    for day in (first, last):
        load_day(tmp_path / day.isoformat(), demo, day)
        expected[day] = sheet_files(tmp_path / day.isoformat())
    assert expected[first] != expected[last]  # the clerks edited their sheets in between

    state = tmp_path / "emulator"
    assert demo_day(manifest.days, None) == last  # the default: the data set's last day
    load_demo_sheets(state, demo, demo_day(manifest.days, None))
    assert sheet_files(state) == expected[last]
    # An earlier date of the data set (after a demo of the last day): its own sheets.
    day = demo_day(manifest.days, first)
    assert day == first
    assert load_demo_sheets(state, demo, day) == 2
    assert sheet_files(state) == expected[first]


def test_a_demo_date_outside_the_data_set_is_refused_in_one_line() -> None:
    days = (date(2018, 1, 3), date(2018, 1, 4), date(2018, 1, 5))
    with pytest.raises(RuntimeError) as refused:
        demo_day(days, date(2017, 12, 25))
    message = str(refused.value)
    assert "\n" not in message
    assert "no sheets for 2017-12-25" in message and "2018-01-03 to 2018-01-05" in message


def test_the_resend_help_says_the_esa_emails_are_sent_again_too() -> None:
    out = io.StringIO()
    with contextlib.redirect_stdout(out), pytest.raises(SystemExit):
        build_parser().parse_args(["demo", "--help"])
    resend = out.getvalue().split("--resend", 1)[1]
    assert "ESA's feedback email" in " ".join(resend.split())
