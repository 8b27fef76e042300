"""``schoolnet demo --live``: a clerk types a mistake, and minutes later the sheet says so.

It serves the national demo sheets from the emulator, starts watching Drive's changes feed,
types a wrong student count into one ESA's sheet as a clerk would, runs the real
``schoolnet_feedback`` DAG once with Airflow (``airflow dags test``), and prints the finding as
it appeared in the sheet's ``ผลตรวจสอบ`` tab, how long it took and what it cost in Google calls.
In production the triggerer's watch of Drive starts that run on the edit; ``schoolnet demo-ui``
runs it (``airflow standalone``), and the benchmark (``make bench-live``) measures the whole
path under the scheduler at Google's real quota.
"""

from __future__ import annotations

import argparse
import json
import shutil
import time
from dataclasses import dataclass
from datetime import datetime
from datetime import time as time_of_day
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from schoolnet.contract import load_contract
from schoolnet.core.registry import Esa
from schoolnet.devtools.devenv import LocalAirflow
from schoolnet.devtools.emulator import edit_cell
from schoolnet.devtools.emulator.state import load_spreadsheet
from schoolnet.orchestration.airflow_glue import TIMEZONE
from schoolnet.orchestration.live_tasks import DAG_ID
from schoolnet.validation.feedback import TAB_HEADING_ROW
from schoolnet.validation.findings import column_letters

STUDENTS = "จำนวนนักเรียน"


def say(message: str) -> None:
    print(f"[schoolnet demo --live] {message}", flush=True)


def student_cell(state: Path, esa: Esa, row: int) -> str:
    """The A1 address of the student count of sheet row ``row``."""
    header = load_spreadsheet(state, esa.spreadsheet_id)["sheets"][0]["rows"][0]
    return f"{column_letters(header.index(STUDENTS))}{row}"


def type_mistake(state: Path, esa: Esa, row: int, typed: str) -> str:
    """Type ``typed`` into the student count of sheet row ``row``, as a clerk would; returns
    the cell's A1 address."""
    cell = student_cell(state, esa, row)
    edit_cell(state, esa.spreadsheet_id, f"'{load_contract().data_tab}'!{cell}", typed)
    return cell


def tab_rows(state: Path, esa: Esa) -> list[list[Any]]:
    doc = load_spreadsheet(state, esa.spreadsheet_id)
    tabs = {sheet["title"]: sheet["rows"] for sheet in doc["sheets"]}
    rows: list[list[Any]] = tabs.get(load_contract().feedback_tab, [])
    return rows


def run_feedback_dag(airflow: LocalAirflow, log: Path, when: datetime | None = None) -> None:
    """One run of ``schoolnet_feedback`` by Airflow, whatever the hour (``any_time``)."""
    moment = when or datetime.now(ZoneInfo(TIMEZONE)).replace(microsecond=0)
    conf = json.dumps({"any_time": True})
    airflow.airflow("dags", "test", DAG_ID, moment.isoformat(), "--conf", conf, log=log)
    output = log.read_text(encoding="utf-8")
    if "state=failed" in output.lower():
        tail = "\n".join(output.strip().splitlines()[-30:])
        raise RuntimeError(f"the feedback run failed; full log in {log}\n{tail}")


@dataclass(frozen=True)
class EditToFinding:
    """One clerk's edit followed by one feedback run: how long until the tab showed it."""

    seconds: float
    calls: dict[str, int]
    finding: list[list[Any]]


def edit_then_run(
    airflow: LocalAirflow,
    state: Path,
    emulator: Any,
    esas: list[Esa],
    log: Path,
    row: int = 3,
    typed: str = "-5",
) -> EditToFinding:
    """Clerks type a mistake into each sheet of ``esas``; one feedback run follows at once."""
    emulator.reset()
    started = time.monotonic()
    for esa in esas:
        type_mistake(state, esa, row, typed)
    run_feedback_dag(airflow, log)
    finding = [r for r in tab_rows(state, esas[0]) if r[:1] == [str(row)]]
    seconds = time.monotonic() - started
    return EditToFinding(seconds, dict(emulator.stats()["by_endpoint"]), finding)


# The near-live check runs in the ESAs' working hours: the demo's clerk types at this time of
# the data set's last day, by the emulator's clock, which stamps the check as Google's would.
CLERK_TYPES_AT = time_of_day(10, 20)


def run_live_demo(args: argparse.Namespace) -> int:
    from schoolnet.core.config import load_settings
    from schoolnet.core.paths import project_root
    from schoolnet.core.registry import read_esas
    from schoolnet.devtools.demosetup import DEMO_QUOTA_PER_MINUTE, demo_settings, ensure_demo_data
    from schoolnet.devtools.emulator import Emulator, load_day, set_clock
    from schoolnet.ingestion.google import EmulatorSession
    from schoolnet.ingestion.ingest import SheetsReader
    from schoolnet.orchestration.live import begin
    from schoolnet.warehouse import create_warehouse_engine, ensure_schema

    root = project_root()
    out = root / "out"
    live = out / "live"
    if getattr(args, "again", False):
        return check_again(root, out)
    manifest = ensure_demo_data(out / "demo-data", args.seed)
    shutil.rmtree(live, ignore_errors=True)
    state = live / "emulator"
    day = manifest.days[-1]
    load_day(state, out / "demo-data", day)
    set_clock(state, datetime.combine(day, CLERK_TYPES_AT, tzinfo=ZoneInfo(TIMEZONE)))
    config = demo_settings(root, out)
    settings = load_settings(config)
    with Emulator(
        state,
        read_quota_per_minute=DEMO_QUOTA_PER_MINUTE,
        write_quota_per_minute=DEMO_QUOTA_PER_MINUTE,
    ) as emulator:
        say(f"Sheets emulator at {emulator.base_url}, {manifest.esa_count} ESA sheets")
        airflow = _airflow(root, config, emulator.base_url, live)
        say("preparing the project-local Airflow (metadata database, pool)")
        airflow.prepare()
        engine = create_warehouse_engine(airflow.warehouse_url)
        try:
            ensure_schema(engine)
            begin(SheetsReader(EmulatorSession(emulator.base_url), settings.google), engine)
        finally:
            engine.dispose()
        say("watching Drive's changes feed from now on (as the feedback DAG does all day)")
        esa = read_esas(settings.registry.esas)[0]
        say(
            f'a clerk of {esa.esa_name} types "-5" as the student count of sheet row 3 '
            f"({day.isoformat()} {CLERK_TYPES_AT:%H:%M} by the emulator's clock)"
        )
        say(f"running {DAG_ID} with Airflow (airflow dags test) ...")
        result = edit_then_run(airflow, state, emulator, [esa], live / "feedback-run.log")
    _print_tab(state, esa, result.finding)
    say(
        f"from the edit to the finding in the tab: {result.seconds:.0f}s of run time; in "
        "production the triggerer starts the run within 30 seconds of the edit (make bench-live "
        "measures it under the scheduler)"
    )
    _print_calls(result.calls)
    say(f"the sheet: {state / 'spreadsheets' / (esa.spreadsheet_id + '.json')}")
    fix = f"'{load_contract().data_tab}'!{student_cell(state, esa, 3)}"
    say(
        "to check again after a fix: schoolnet emulator edit --state out/live/emulator "
        f'{esa.spreadsheet_id} "{fix}" 120, then schoolnet demo --live --again'
    )
    return 0 if result.finding else 1


def _airflow(
    root: Path, config: Path, emulator_url: str, live: Path, home: Path | None = None
) -> LocalAirflow:
    """The project-local Airflow of the live demo (``home``: another Airflow home), on its own
    warehouse in ``live``."""
    return LocalAirflow(
        home=home or root / ".airflow",
        config_file=config,
        emulator_url=emulator_url,
        smtp_port=1,  # the feedback run sends no email
        warehouse_url=f"sqlite:///{live / 'warehouse.db'}",
    )


def _print_tab(state: Path, esa: Esa, finding: list[list[Any]]) -> None:
    say(f"the ผลตรวจสอบ tab of {esa.esa_name} now says:")
    tab = tab_rows(state, esa)
    for line in tab[1:3]:
        print(f"    {line[0]}")
    for line in finding:
        print("    " + " | ".join(str(cell) for cell in line if cell != ""))


def _print_calls(calls: dict[str, int]) -> None:
    listed = ", ".join(f"{name} {count}" for name, count in sorted(calls.items()))
    say(f"Google calls of the run: {listed}")


def check_again(root: Path, out: Path, airflow_home: Path | None = None) -> int:
    """``schoolnet demo --live --again``: one more run of ``schoolnet_feedback`` over what the
    last ``demo --live`` left in ``out/live`` (its sheets, as edited since, its warehouse and
    changes-feed position), as the next clerk's edit would start it; the tab is stamped
    with the emulator's clock, which runs on from the demo's."""
    from schoolnet.core.config import load_settings
    from schoolnet.core.registry import read_esas
    from schoolnet.devtools.demosetup import DEMO_QUOTA_PER_MINUTE, demo_settings
    from schoolnet.devtools.emulator import Emulator

    live = out / "live"
    state = live / "emulator"
    if not (state / "control.json").exists() or not (live / "warehouse.db").exists():
        raise RuntimeError(f"no near-live demo in {live}: run `schoolnet demo --live` first")
    config = demo_settings(root, out)
    esa = read_esas(load_settings(config).registry.esas)[0]
    with Emulator(
        state,
        read_quota_per_minute=DEMO_QUOTA_PER_MINUTE,
        write_quota_per_minute=DEMO_QUOTA_PER_MINUTE,
    ) as emulator:
        say(f"Sheets emulator at {emulator.base_url} over {state}")
        airflow = _airflow(root, config, emulator.base_url, live, airflow_home)
        airflow.prepare()
        emulator.reset()
        say(f"running {DAG_ID} with Airflow (airflow dags test) ...")
        run_feedback_dag(airflow, live / "feedback-again.log")
        calls = dict(emulator.stats()["by_endpoint"])
    if not calls.get("spreadsheets.get"):
        say("no sheet was edited since the last check: nothing was read, no tab was rewritten")
    findings = [row for row in tab_rows(state, esa)[TAB_HEADING_ROW + 1 :] if any(row)]
    _print_tab(state, esa, findings)
    _print_calls(calls)
    return 0
