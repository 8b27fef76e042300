"""``schoolnet demo``'s choice of day (the sheets it loads are those of the date it reports) and
of warehouse (its own, or ``--warehouse``, in every step)."""

from __future__ import annotations

import contextlib
import csv
import io
import json
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import select

from schoolnet.cli.main import build_parser, main
from schoolnet.core.registry import read_esas
from schoolnet.devtools.demo import generate
from schoolnet.devtools.demosetup import demo_airflow
from schoolnet.devtools.emulator import load_day
from schoolnet.devtools.rundemo import (
    HISTORY_CODES,
    WAREHOUSE_VARIABLE,
    DemoRun,
    announce_warehouse,
    day_summary,
    demo_day,
    demo_warehouse,
    load_demo_sheets,
    prepare_morning,
    tell_results,
)
from schoolnet.warehouse import create_warehouse_engine
from schoolnet.warehouse.models import DailyCountRow

ROOT = Path(__file__).resolve().parents[3]


def sheet_files(state: Path) -> dict[str, bytes]:
    return {path.name: path.read_bytes() for path in (state / "spreadsheets").glob("*.json")}


def checkout(tmp_path: Path) -> tuple[Path, Path]:
    """A checkout's folders (its settings read only) and the out/ where the demo keeps its own."""
    root = tmp_path / "checkout"
    root.mkdir()
    (root / "config").symlink_to(ROOT / "config")
    return root, root / "out"


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


def test_the_same_day_of_a_new_data_set_is_loaded_afresh(tmp_path: Path) -> None:
    # The demo makes its data set anew when asked for another one (`--messy`, `--seed`): the
    # emulator must then serve the new sheets, not those an earlier demo left of that date.
    demo, state = tmp_path / "demo", tmp_path / "emulator"
    manifest = generate(demo, esa_limit=2, days=2)
    day = manifest.days[-1]
    load_demo_sheets(state, demo, day)
    clean = sheet_files(state)
    generate(demo, esa_limit=2, days=2, messy_rate=0.3)
    load_day(tmp_path / "expected", demo, day)
    assert sheet_files(tmp_path / "expected") != clean
    load_demo_sheets(state, demo, day)
    assert sheet_files(state) == sheet_files(tmp_path / "expected")


# --- the demo's warehouse ------------------------------------------------------------------------


def connection_variable(url: str) -> str:
    """``AIRFLOW_CONN_SCHOOLNET_WAREHOUSE`` as ``schoolnet env`` writes it (JSON)."""
    return json.dumps({"conn_type": "generic", "extra": {"sqlalchemy_url": url}})


def test_the_demo_uses_its_own_warehouse_unless_given_one(tmp_path: Path) -> None:
    out = tmp_path / "out"
    own = f"sqlite:///{out / 'warehouse.db'}"
    other = "postgresql://ops:s3cret@db.obec.go.th/schoolnet"
    assert demo_warehouse(out, None, {}) == (own, None)
    assert demo_warehouse(out, "sqlite:///elsewhere.db", {}) == ("sqlite:///elsewhere.db", None)
    # The checkout's own line (`schoolnet env`) names the same warehouse: nothing to say.
    assert demo_warehouse(out, None, {WAREHOUSE_VARIABLE: connection_variable(own)}) == (own, None)
    # A shell pointing elsewhere (JSON or URI) is not followed, and the demo says so and why,
    # without the password.
    for variable in (connection_variable(other), other):
        url, note = demo_warehouse(out, None, {WAREHOUSE_VARIABLE: variable})
        assert url == own
        assert note is not None and "s3cret" not in note
        assert f"{WAREHOUSE_VARIABLE} in this shell names postgresql" in note
        assert "://ops:***@db.obec.go.th/schoolnet;" in note
        assert "does not use it" in note and "--warehouse URL" in note
    url, note = demo_warehouse(out, "sqlite://", {WAREHOUSE_VARIABLE: other})
    assert url == "sqlite://" and note is not None and "--warehouse names" in note


def test_the_demo_says_its_warehouse_before_anything_starts(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "out"
    other = connection_variable("postgresql://ops@db.obec.go.th/schoolnet")
    assert announce_warehouse(out, None, {WAREHOUSE_VARIABLE: other}) == (
        f"sqlite:///{out / 'warehouse.db'}"
    )
    said = capsys.readouterr().out.splitlines()
    assert said[0] == f"[schoolnet demo] warehouse: sqlite:///{out / 'warehouse.db'}"
    assert said[1].startswith(
        f"[schoolnet demo] {WAREHOUSE_VARIABLE} in this shell names "
        "postgresql://ops@db.obec.go.th/schoolnet; the demo does not use it"
    )
    assert len(said) == 2


def test_the_warehouse_option_is_checked_and_is_for_the_daily_demo(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with pytest.raises(SystemExit):
        build_parser().parse_args(["demo", "--warehouse", "not a url"])
    assert "not a database URL" in capsys.readouterr().err
    args = build_parser().parse_args(["demo", "--warehouse", "postgresql://u@h/db"])
    assert args.warehouse == "postgresql://u@h/db"
    # --live keeps its own warehouse: refused in one line before anything starts.
    assert main(["demo", "--live", "--warehouse", "sqlite://"]) == 1
    (line,) = capsys.readouterr().err.splitlines()
    assert line.startswith("schoolnet demo: --warehouse is for the daily demo")


def test_every_step_of_the_demo_uses_the_warehouse_it_was_given(
    tmp_path: Path, empty_url: str
) -> None:
    root, out = checkout(tmp_path)
    manifest = generate(out / "demo-data", esa_limit=2, days=3)
    day = manifest.days[-1]
    prepare_morning(root, out, out / "demo-data", manifest.days, day, empty_url)
    engine = create_warehouse_engine(empty_url)
    try:
        with engine.connect() as conn:
            merged = set(conn.scalars(select(DailyCountRow.report_date)))
    finally:
        engine.dispose()
    assert merged == set(manifest.days[:-1])  # the earlier mornings, in the warehouse given
    assert not (out / "warehouse.db").exists()  # and nothing in the demo's own
    # The summary reads that warehouse; the DAG's run is pointed at it too.
    summary = day_summary(root, out, manifest.days[-2], empty_url)
    assert summary.outcomes == {"accepted": 2}
    airflow = demo_airflow(root, out, emulator_url="http://127.0.0.1:1", smtp_port=1,
                           warehouse_url=empty_url)  # fmt: skip
    variable = json.loads(airflow.variables()[WAREHOUSE_VARIABLE])
    assert variable["extra"]["sqlalchemy_url"] == empty_url


def test_a_data_set_of_the_esas_named(tmp_path: Path) -> None:
    # The runbook's checkout test keeps the ESAs its examples name, as the full set has them.
    manifest = generate(tmp_path / "demo", esa_codes={"105201", "105202"}, days=1)
    assert manifest.esa_count == 2
    codes = [esa.esa_code for esa in read_esas(tmp_path / "demo" / "esas.csv")]
    assert codes == ["105201", "105202"]
    with pytest.raises(ValueError, match="no ESA of code"):
        generate(tmp_path / "other", esa_codes={"999999"}, days=1)


def test_the_demo_says_how_many_schools_lost_their_connection(
    tmp_path: Path, empty_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    root, out = checkout(tmp_path)
    # This seed loses connections on each of these mornings (a clean set: every row accepted).
    manifest = generate(out / "demo-data", seed=2021, esa_limit=6, days=4)
    first, before, day, last = manifest.days
    prepare_morning(root, out, out / "demo-data", manifest.days, last, empty_url)

    def connected(on: date) -> set[str]:
        path = out / "demo-data" / "state" / f"{on.isoformat()}.csv"
        with path.open(encoding="utf-8", newline="") as handle:
            return {
                row["school_code"] for row in csv.DictReader(handle) if row["status"] == "connected"
            }

    lost = connected(before) - connected(day)
    week = (connected(first) - connected(before)) | lost
    assert lost and week
    summary = day_summary(root, out, day, empty_url)
    assert (summary.lost, summary.lost_recently) == (len(lost), len(week))
    assert summary.gained == len(connected(day) - connected(before))
    capsys.readouterr()
    tell_results(out, day, DemoRun(new_mail=[], emulator_stats={}), summary, empty_url)
    said = capsys.readouterr().out
    assert (
        f"schools:   +{summary.gained:,} connected and -{len(lost):,} lost their connection "
        f"since the previous report; {len(week):,} lost it over the last 7 days "
        f"({summary.reconnected:,} connected again)"
    ) in said


def test_the_demo_says_how_many_values_its_history_makes_implausible(
    tmp_path: Path, empty_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    root, out = checkout(tmp_path)
    # Every clerk who edits after the first morning slips once: a few slips on each day.
    manifest = generate(out / "demo-data", seed=2021, esa_limit=4, days=3, implausible_rate=1.0)
    prepare_morning(root, out, out / "demo-data", manifest.days, manifest.days[-1], empty_url)
    day = manifest.days[1]
    truth = json.loads((out / "demo-data" / "truth" / f"{day.isoformat()}.json").read_text())
    slipped = [entry for entry in truth if entry["expected_code"] in HISTORY_CODES]
    assert slipped, "this seed slips on its second morning"
    summary = day_summary(root, out, day, empty_url)
    assert summary.implausible == len(slipped)
    assert summary.implausible_esas == len({entry["esa_code"] for entry in slipped})
    capsys.readouterr()
    tell_results(out, day, DemoRun(new_mail=[], emulator_stats={}), summary, empty_url)
    assert f"history:   {len(slipped):,} values implausible against the school's own" in (
        capsys.readouterr().out
    )
