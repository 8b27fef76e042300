"""``schoolnet demo --live``: a clerk types a mistake, and within a minute the sheet says so.

It serves the national demo sheets from the emulator and runs Airflow as production does
(``airflow standalone``: API server, scheduler, DAG processor and triggerer), with the
``[live]`` hours widened to the whole day so the demo runs at any hour. Once the triggerer's
watcher looks at Drive's changes feed, a clerk types a wrong student count into one ESA's
sheet; the watcher sees the edit, the scheduler starts ``schoolnet_feedback`` on its event, and
the command prints the finding as it appeared in the sheet's ``ผลตรวจสอบ`` tab, how long it took
from the edit and what it cost in Google calls and DAG runs. ``--again`` starts Airflow again
over what the last one left: an edit made while it was stopped is found from the page token
kept in the warehouse, as after a triggerer restart in production.
"""

from __future__ import annotations

import argparse
import shutil
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from datetime import time as time_of_day
from pathlib import Path
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from schoolnet.contract import load_contract
from schoolnet.core.registry import Esa
from schoolnet.devtools.devenv import LocalAirflow
from schoolnet.devtools.emulator import edit_cell
from schoolnet.devtools.emulator.state import load_spreadsheet
from schoolnet.devtools.watching import (
    Watching,
    all_day_settings,
    calls_between,
    run_started,
    wait_until,
    watching,
)
from schoolnet.orchestration.airflow_glue import TIMEZONE
from schoolnet.orchestration.live_tasks import DAG_ID
from schoolnet.validation.feedback import TAB_HEADING_ROW
from schoolnet.validation.findings import column_letters

if TYPE_CHECKING:
    from sqlalchemy import Engine

    from schoolnet.devtools.emulator import Emulator

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


def findings_in(tab: list[list[Any]], row: int, cell: str, typed: str) -> list[list[Any]]:
    """The lines of a ``ผลตรวจสอบ`` tab that list the value ``typed`` at ``cell`` of sheet
    ``row``."""
    return [
        line
        for line in tab[TAB_HEADING_ROW + 1 :]
        if line[:2] == [str(row), cell] and typed in (str(value) for value in line)
    ]


def finding_rows(state: Path, esa: Esa, row: int, cell: str, typed: str) -> list[list[Any]]:
    """The lines of ``esa``'s tab (in the emulator's ``state``) that list that finding."""
    return findings_in(tab_rows(state, esa), row, cell, typed)


# The near-live check runs in the ESAs' working hours: the demo's clerk types at this time of
# the data set's last day, by the emulator's clock, which stamps the check as Google's would.
CLERK_TYPES_AT = time_of_day(10, 20)
FINDING_TIMEOUT_SECONDS = 300.0  # from the edit; the benchmark's p95 is about 35 s
SETTINGS_FILE = "settings.toml"  # in out/live: the demo's settings, watched all day


def _airflow(config: Path, emulator_url: str, live: Path) -> LocalAirflow:
    """The live demo's Airflow: its own home and warehouse in ``live`` (out/live)."""
    return LocalAirflow(
        home=live / "airflow",
        config_file=config,
        emulator_url=emulator_url,
        smtp_port=1,  # the feedback run sends no email
        warehouse_url=f"sqlite:///{live / 'warehouse.db'}",
    )


@contextmanager
def _watching(airflow: LocalAirflow, emulator: Emulator, live: Path) -> Iterator[Watching]:

    airflow.prepare()
    log_path = live / "airflow-standalone.log"
    say(f"starting Airflow: API server, scheduler, DAG processor, triggerer (log: {log_path})")
    with (
        log_path.open("a", encoding="utf-8") as log,
        watching(airflow, emulator, log_path, log) as watch,
    ):
        watcher = watch.watcher
        say(
            f"{DAG_ID} unpaused; the triggerer's watcher first looked at Drive "
            f"{watcher.first_look - watcher.launched_at:.0f}s after Airflow was started, and "
            "looks every 30 seconds"
        )
        yield watch


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
        return check_again(out)
    manifest = ensure_demo_data(out / "demo-data", args.seed)
    shutil.rmtree(live, ignore_errors=True)
    state = live / "emulator"
    day = manifest.days[-1]
    load_day(state, out / "demo-data", day)
    set_clock(state, datetime.combine(day, CLERK_TYPES_AT, tzinfo=ZoneInfo(TIMEZONE)))
    config = all_day_settings(demo_settings(root, out), live / SETTINGS_FILE)
    settings = load_settings(config)
    esa = read_esas(settings.registry.esas)[0]
    row, typed = 3, "-5"
    with Emulator(
        state,
        read_quota_per_minute=DEMO_QUOTA_PER_MINUTE,
        write_quota_per_minute=DEMO_QUOTA_PER_MINUTE,
    ) as emulator:
        say(f"Sheets emulator at {emulator.base_url}, {manifest.esa_count} ESA sheets")
        airflow = _airflow(config, emulator.base_url, live)
        engine = create_warehouse_engine(airflow.warehouse_url)
        try:
            ensure_schema(engine)
            begin(SheetsReader(EmulatorSession(emulator.base_url), settings.google), engine)
        finally:
            engine.dispose()
        say("watching Drive's changes feed from now on (the [live] hours widened to all day)")
        with _watching(airflow, emulator, live) as watch:
            say(
                f'a clerk of {esa.esa_name} types "{typed}" as the student count of sheet row '
                f"{row} ({day.isoformat()} {CLERK_TYPES_AT:%H:%M} by the emulator's clock)"
            )
            cell = type_mistake(state, esa, row, typed)
            made = time.time()
            finding = wait_until(
                "the finding in the tab",
                lambda: finding_rows(state, esa, row, cell, typed),
                FINDING_TIMEOUT_SECONDS,
                watch.alive,
            )
            seconds = time.time() - made
            runs = _runs_since(watch, made)
            calls = calls_between(emulator, made)
    _print_tab(state, esa, finding)
    say(
        f"from the edit to the finding in the tab: {seconds:.0f}s; started by the watcher's "
        f"event, not by hand: {_runs_told(runs)} (make bench-live measures 20 edits)"
    )
    _print_calls(calls, "the edit")
    say(f"the sheet: {state / 'spreadsheets' / (esa.spreadsheet_id + '.json')}")
    fix = f"'{load_contract().data_tab}'!{cell}"
    say(
        "to check again after a fix: schoolnet emulator edit --state out/live/emulator "
        f'{esa.spreadsheet_id} "{fix}" 120, then schoolnet demo --live --again'
    )
    return 0


def _runs_since(watch: Watching, since: float) -> list[dict[str, Any]]:

    return [run for run in watch.api.runs() if run_started(run) >= since]


def _runs_told(runs: list[dict[str, Any]]) -> str:
    kinds = Counter(run["run_type"] for run in runs)
    told = ", ".join(f"{count} {kind}" for kind, count in sorted(kinds.items()))
    return f"{len(runs)} run{'' if len(runs) == 1 else 's'} of {DAG_ID} ({told or 'none'})"


def _print_tab(state: Path, esa: Esa, finding: list[list[Any]]) -> None:
    say(f"the ผลตรวจสอบ tab of {esa.esa_name} now says:")
    tab = tab_rows(state, esa)
    for line in tab[1:3]:
        print(f"    {line[0]}")
    for line in finding:
        print("    " + " | ".join(str(cell) for cell in line if cell != ""))


def _print_calls(calls: dict[str, int], since: str) -> None:
    listed = ", ".join(f"{name} {count}" for name, count in sorted(calls.items()))
    say(f"Google calls since {since}: {listed}")


def check_again(out: Path) -> int:
    """``schoolnet demo --live --again``: Airflow started again over what the last ``demo
    --live`` left in ``out/live`` (its sheets, as edited since, its warehouse and changes-feed
    position, its Airflow): the watcher's first look finds what clerks changed while it was
    stopped, and the scheduler checks it; the tab is stamped with the emulator's clock, which
    runs on from the demo's."""
    from schoolnet.core.config import load_settings
    from schoolnet.core.registry import read_esas
    from schoolnet.devtools.demosetup import DEMO_QUOTA_PER_MINUTE
    from schoolnet.devtools.emulator import Emulator
    from schoolnet.warehouse import create_warehouse_engine

    live = out / "live"
    state = live / "emulator"
    config = live / SETTINGS_FILE
    needed = (state / "control.json", live / "warehouse.db", config)
    if not all(path.exists() for path in needed):
        raise RuntimeError(f"no near-live demo in {live}: run `schoolnet demo --live` first")
    esa = read_esas(load_settings(config).registry.esas)[0]
    with Emulator(
        state,
        read_quota_per_minute=DEMO_QUOTA_PER_MINUTE,
        write_quota_per_minute=DEMO_QUOTA_PER_MINUTE,
    ) as emulator:
        say(f"Sheets emulator at {emulator.base_url} over {state}")
        airflow = _airflow(config, emulator.base_url, live)
        engine = create_warehouse_engine(airflow.warehouse_url)
        try:
            with _watching(airflow, emulator, live) as watch:
                since = watch.watcher.launched_at
                settled: Settled = wait_until(
                    "the edits made while Airflow was stopped to be checked",
                    lambda: _settled(watch, emulator, engine),
                    FINDING_TIMEOUT_SECONDS,
                    watch.alive,
                )
                calls = calls_between(emulator, since)
        finally:
            engine.dispose()
    checked = settled.runs
    if not checked:
        say("no sheet was edited since the last check: nothing was read, no run started")
    else:
        say(f"the watcher's first look found the edits: {_runs_told(checked)}")
    findings = [row for row in tab_rows(state, esa)[TAB_HEADING_ROW + 1 :] if any(row)]
    _print_tab(state, esa, findings)
    _print_calls(calls, "Airflow was started")
    return 0


@dataclass(frozen=True)
class Settled:
    """Nothing waits and no run is on: the runs started since the watcher did (none when two
    looks at Drive found nothing)."""

    runs: list[dict[str, Any]]


def _settled(watch: Watching, emulator: Emulator, engine: Engine) -> Settled | None:
    """``Settled`` once the edits made while Airflow was stopped are checked, else None."""
    from schoolnet.orchestration.live import waiting_sheets

    runs = _runs_since(watch, watch.watcher.launched_at)
    if waiting_sheets(engine) or any(run["state"] in ("queued", "running") for run in runs):
        return None
    if runs:
        return Settled(runs)
    looks = sum(
        1
        for r in emulator.request_log()
        if r.endpoint == "drive.changes.list" and r.at >= watch.watcher.first_look
    )
    return Settled([]) if looks >= 2 else None
