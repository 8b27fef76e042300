"""End to end: the real schoolnet_feedback DAG (``airflow dags test``) against the emulator over
HTTP and a SQLite warehouse: a clerk's mistake reaches the sheet's feedback tab, at one Drive
call, one read and one write, and a quiet run costs one call."""

from __future__ import annotations

import json
import re
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from schoolnet.core.registry import Esa, read_esas
from schoolnet.devtools.demo import generate
from schoolnet.devtools.devenv import LocalAirflow
from schoolnet.devtools.emulator import Emulator, edit_cell, load_day
from schoolnet.orchestration.live_tasks import DAG_ID
from schoolnet.validation.feedback import TAB_HEADING_ROW
from tests.settings import write_test_settings

ESA_COUNT = 4


@dataclass
class LiveWorld:
    root: Path
    state: Path
    emulator: Emulator
    airflow: LocalAirflow
    esas: list[Esa]
    runs: int = 0

    def run(self) -> dict[str, int]:
        """One feedback run by Airflow (outside working hours, so with ``any_time``)."""
        self.runs += 1
        self.emulator.reset()
        logical = datetime(2018, 1, 16, 10, 10 * self.runs, tzinfo=ZoneInfo("Asia/Bangkok"))
        log = self.root / "logs" / f"feedback-{self.runs}.log"
        self.airflow.airflow(
            "dags", "test", DAG_ID, logical.isoformat(), "--conf", '{"any_time": true}', log=log
        )
        output = log.read_text(encoding="utf-8")
        assert "state=failed" not in output.lower(), output[-3000:]
        by_endpoint: dict[str, int] = self.emulator.stats()["by_endpoint"]
        return by_endpoint

    def tab(self, esa: Esa) -> list[list[Any]]:
        path = self.state / "spreadsheets" / f"{esa.spreadsheet_id}.json"
        doc = json.loads(path.read_text(encoding="utf-8"))
        tabs: dict[str, list[list[Any]]] = {
            sheet["title"]: sheet["rows"] for sheet in doc["sheets"]
        }
        return tabs.get("ผลตรวจสอบ", [])


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveWorld]:
    root = tmp_path_factory.mktemp("live")
    demo = root / "demo-data"
    manifest = generate(demo, esa_limit=ESA_COUNT, days=2)
    config = write_test_settings(
        root / "schoolnet.toml", esas=demo / "esas.csv", schools=demo / "schools.csv", root=root
    )
    state = root / "emulator"
    load_day(state, demo, manifest.days[-1])
    with (
        Emulator(state, read_quota_per_minute=0, write_quota_per_minute=0) as emulator,
        pytest.MonkeyPatch.context() as patch,
    ):
        patch.setenv("AIRFLOW__CORE__DEFAULT_TASK_RETRY_DELAY", "1")  # a failure shows at once
        airflow = LocalAirflow(
            home=root / "airflow",
            config_file=config,
            emulator_url=emulator.base_url,
            smtp_port=1,  # the feedback DAG sends no email
            warehouse_url=f"sqlite:///{root / 'warehouse.db'}",
        )
        airflow.prepare()
        yield LiveWorld(root, state, emulator, airflow, read_esas(demo / "esas.csv"))


def test_a_clerks_mistake_reaches_the_tab_through_airflow(world: LiveWorld) -> None:
    first = world.run()  # no position yet: one listing, every sheet checked once
    assert first["drive.changes.getStartPageToken"] == 1 and first["drive.files.list"] == 1
    assert first["spreadsheets.get"] == ESA_COUNT
    assert first["spreadsheets.batchUpdate"] == ESA_COUNT

    assert world.run() == {"drive.changes.list": 1}  # nothing changed: exactly one call

    esa = world.esas[2]
    header = json.loads(
        (world.state / "spreadsheets" / f"{esa.spreadsheet_id}.json").read_text(encoding="utf-8")
    )["sheets"][0]["rows"][0]
    column = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"[header.index("จำนวนนักเรียน")]
    edit_cell(world.state, esa.spreadsheet_id, f"'โรงเรียน'!{column}4", "-12")
    calls = world.run()
    assert calls == {"drive.changes.list": 1, "spreadsheets.get": 1, "spreadsheets.batchUpdate": 1}
    tab = world.tab(esa)
    # Stamped with the emulator's clock (the data set's last day, 4 January 2018, from 06:00),
    # not the machine's.
    assert re.match(r"ตรวจเมื่อ 4 มกราคม 2561 เวลา 06:\d\d น\.", tab[1][0]), tab[1][0]
    assert any(row[:1] == ["4"] and "negative_value" in row and "-12" in row for row in tab)
    assert not (world.root / "data" / "validated").exists()  # the daily record is untouched


def test_demo_live_again_starts_airflow_and_the_watcher_checks_what_changed_while_stopped(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """``schoolnet demo --live --again`` (docs/live.md) over what ``demo --live`` leaves in
    ``out/live``: its sheets with the clock on the demo's day, its warehouse watching the
    changes feed, its all-day settings. A clerk's edit made while Airflow was stopped is found
    by the triggerer's first look from the saved page token, and the scheduler's run (started
    by the watcher's event, not by hand) writes the finding into the tab."""
    from schoolnet.devtools.emulator import set_clock
    from schoolnet.devtools.livedemo import (
        CLERK_TYPES_AT,
        SETTINGS_FILE,
        check_again,
        tab_rows,
        type_mistake,
    )
    from schoolnet.devtools.watching import all_day_settings
    from schoolnet.ingestion.google import EmulatorSession
    from schoolnet.ingestion.ingest import SheetsReader
    from schoolnet.orchestration.live import begin
    from schoolnet.warehouse import create_warehouse_engine, ensure_schema

    out = tmp_path / "out"
    live = out / "live"
    with pytest.raises(RuntimeError, match="run `schoolnet demo --live` first"):
        check_again(out)
    manifest = generate(out / "demo-data", esa_limit=2, days=2)
    state = live / "emulator"
    day = manifest.days[-1]
    load_day(state, out / "demo-data", day)
    set_clock(state, datetime.combine(day, CLERK_TYPES_AT, tzinfo=ZoneInfo("Asia/Bangkok")))
    demo = out / "demo-data"
    base = write_test_settings(
        tmp_path / "base.toml", esas=demo / "esas.csv", schools=demo / "schools.csv", root=out
    )
    all_day_settings(base, live / SETTINGS_FILE)
    engine = create_warehouse_engine(f"sqlite:///{live / 'warehouse.db'}")
    try:
        ensure_schema(engine)
        with Emulator(state, read_quota_per_minute=0) as emulator:
            begin(SheetsReader(EmulatorSession(emulator.base_url), _google()), engine)
    finally:
        engine.dispose()
    esa = read_esas(demo / "esas.csv")[0]
    type_mistake(state, esa, 3, "-5")  # while no Airflow runs

    assert check_again(out) == 0
    printed = capsys.readouterr().out
    assert "the watcher's first look found the edits: 1 run of schoolnet_feedback" in printed
    assert "asset_triggered" in printed
    assert "spreadsheets.batchUpdate 1, spreadsheets.get 1" in printed
    tab = tab_rows(state, esa)
    assert re.match(r"ตรวจเมื่อ 4 มกราคม 2561 เวลา 10:[23]\d น\.", tab[1][0]), tab[1][0]
    assert any(row[:1] == ["3"] and "negative_value" in row and "-5" in row for row in tab)
    assert tab[1][0] in printed

    # Left paused when Airflow stopped: the next start over this home runs nothing before its
    # API server answers (a task started earlier fails, connection refused).
    assert _feedback_paused(live / "airflow" / "airflow.db")

    # The clerk fixes the cell; Airflow is started again over the same home (its watcher known
    # from before, so it fires on its first look, before the feedback DAG is unpaused).
    type_mistake(state, esa, 3, "120")
    assert check_again(out) == 0
    printed = capsys.readouterr().out
    assert "the watcher's first look found the edits: 1 run of schoolnet_feedback" in printed
    tab = tab_rows(state, esa)
    assert not any(row[:1] == ["3"] for row in tab[TAB_HEADING_ROW + 1 :])  # row 3: no finding
    # The morning DAG stayed paused: the demo never starts a report by itself.
    assert not (out / "data" / "validated").exists()


def _feedback_paused(metadata: Path) -> bool:
    """Whether Airflow's metadata database (SQLite) has ``schoolnet_feedback`` paused."""
    with sqlite3.connect(metadata) as conn:
        row = conn.execute("SELECT is_paused FROM dag WHERE dag_id = ?", (DAG_ID,)).fetchone()
    return bool(row and row[0])


def _google() -> Any:
    from schoolnet.core.config import load_settings
    from schoolnet.core.paths import project_root

    return load_settings(project_root() / "config" / "schoolnet.toml").google
