"""The near-live path as deployed: the triggerer watches Drive and the scheduler starts
``schoolnet_feedback`` on its events (tests/deploy/stack.py: API server, DAG processor,
scheduler and triggerer as processes, prepared by docker/airflow-init.sh, on throwaway
PostgreSQL databases, the warehouse connection defined there as in the compose deployment).

One story, in order, because each step starts from what the last one left:

1. the first look has no page token: one Drive listing, every sheet checked once;
2. a clerk's edit, then a second one typed while the run it started is checking sheets: both
   findings reach their tabs (the event that comes during a run is not lost, apache/airflow#56050);
3. the triggerer is killed (SIGKILL, as a machine that dies), a clerk edits while it is down,
   it is started again: the edit is found from the saved page token and checked;
4. quiet looks start no run and cost no Sheets call.

Every run is started by the watcher's event (``asset_triggered``); none fails.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine

from schoolnet.core.registry import Esa, read_esas
from schoolnet.devtools.emulator import set_fault
from schoolnet.devtools.livedemo import finding_rows, tab_rows, type_mistake
from schoolnet.devtools.watching import all_day_settings, epoch, run_started
from schoolnet.orchestration.live import waiting_sheets
from schoolnet.orchestration.live_tasks import DAG_ID
from schoolnet.warehouse import create_warehouse_engine
from tests.deploy.stack import (
    STEP_TIMEOUT_SECONDS,
    Processes,
    Stack,
    one_day_stack,
    settings_file,
    wait_for,
)

pytestmark = [pytest.mark.e2e, pytest.mark.postgres, pytest.mark.timeout(2400)]

ESA_COUNT = 4
POOL_SLOTS = 3
# Bounds that turn a hang into a failure naming the step; the edit → finding time itself is
# measured by the benchmark (make bench-live), not asserted here.
FINDING_TIMEOUT_SECONDS = 600
HANG_SECONDS = 6  # under the settings' request timeout (10 s)


@dataclass
class Live:
    stack: Stack
    state: Path
    esas: list[Esa]
    warehouse: Engine

    def runs(self) -> list[dict[str, Any]]:
        found = self.stack.get(f"/dags/{DAG_ID}/dagRuns", limit=100, order_by="run_after")
        return list(found["dag_runs"])

    def settled(self) -> bool:
        """No run queued or running, and no sheet waiting for its check."""
        if any(run["state"] in ("queued", "running") for run in self.runs()):
            return False
        return not waiting_sheets(self.warehouse)

    def wait(
        self, what: str, check: Callable[[], Any], timeout: float = STEP_TIMEOUT_SECONDS
    ) -> Any:
        return wait_for(what, check, timeout, self.stack.processes)

    def looks(self) -> list[float]:
        """When the watcher (or a run's poll) asked Drive's changes feed."""
        return [
            r.at for r in self.stack.emulator.request_log() if r.endpoint == "drive.changes.list"
        ]


@dataclass
class Edit:
    esa: Esa
    row: int
    typed: str
    cell: str = ""
    made_at: float = 0.0

    def make(self, live: Live) -> Edit:
        self.cell = type_mistake(live.state, self.esa, self.row, self.typed)
        self.made_at = time.time()
        return self

    def found(self, live: Live) -> bool:
        return bool(finding_rows(live.state, self.esa, self.row, self.cell, self.typed))


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Live]:
    def services(processes: Processes) -> None:
        processes.start("dag-processor", "dag-processor")
        processes.start("scheduler", "scheduler")
        processes.start("triggerer", "triggerer")

    def watched_all_day(root: Path, demo: Path) -> Path:
        """No pause before the morning run, every hour: the test passes at any hour."""
        return all_day_settings(settings_file(root, demo), root / "live.toml")

    root = tmp_path_factory.mktemp("live-watch")
    with one_day_stack(
        root,
        esa_count=ESA_COUNT,
        pool_slots=POOL_SLOTS,
        services=services,
        settings=watched_all_day,
        extra_env={
            # The scheduler creates runs here: the asset's (the morning DAG stays paused).
            "AIRFLOW__SCHEDULER__USE_JOB_SCHEDULE": "True",
            # The DAG files do not change here: parsed once a minute, not every 5 s.
            "AIRFLOW__DAG_PROCESSOR__MIN_FILE_PROCESS_INTERVAL": "60",
        },
    ) as running:
        warehouse = create_warehouse_engine(running.warehouse_url)
        try:
            esas = read_esas(root / "demo-data" / "esas.csv")
            yield Live(running, root / "emulator", esas, warehouse)
        finally:
            warehouse.dispose()


def test_edits_start_runs_through_the_triggerer_and_none_is_lost_during_a_run_or_a_restart(
    live: Live,
) -> None:
    stack = live.stack
    stack.unpause(DAG_ID)  # paused at creation, as in production

    # 1. No page token yet: the first look lists Drive once, and a run checks every sheet.
    live.wait("the first run, checking every sheet", lambda: live.runs() and live.settled())
    endpoints = [r.endpoint for r in stack.emulator.request_log()]
    assert endpoints.count("drive.files.list") == 1
    assert all(tab_rows(live.state, esa) for esa in live.esas)  # every sheet has its tab

    # 2. An edit, and another typed while the run the first started is checking sheets.
    # The edited sheet answers its read after a few seconds (the emulator's short hang, within
    # the request timeout), so the run stays in its check long enough to type during it.
    set_fault(live.state, live.esas[0].spreadsheet_id, "hang", seconds=HANG_SECONDS)
    before = time.time()
    edit = Edit(live.esas[0], 3, "-101").make(live)

    def checking() -> bool:
        for run in live.runs():
            if run_started(run) >= before and run["state"] == "running":
                poll = stack.get(
                    f"/dags/{DAG_ID}/dagRuns/{run['dag_run_id']}/taskInstances/poll_changes"
                )
                if poll["state"] == "success":
                    return True
        return False

    live.wait("a run past its look at Drive", checking, FINDING_TIMEOUT_SECONDS)
    during = Edit(live.esas[1], 4, "-102").make(live)
    live.wait("the first edit's finding", lambda: edit.found(live), FINDING_TIMEOUT_SECONDS)
    set_fault(live.state, live.esas[0].spreadsheet_id, None)
    live.wait(
        "the finding of the edit made during a run",
        lambda: during.found(live),
        FINDING_TIMEOUT_SECONDS,
    )
    in_progress = [
        run
        for run in live.runs()
        if (epoch(run["start_date"]) or 0) <= during.made_at < (epoch(run["end_date"]) or 1e12)
    ]
    assert in_progress, "the second edit was not made while a run was in progress"

    # 3. The triggerer dies; a clerk edits while it is down; it comes back (compose restarts
    # it) and goes on from the page token in the warehouse.
    live.wait("no run in progress", live.settled)
    stack.processes.kill("triggerer")
    down = Edit(live.esas[2], 5, "-103").make(live)
    looks_while_down = len(live.looks())
    time.sleep(5)
    assert len(live.looks()) == looks_while_down  # nothing watches Drive now
    stack.processes.start("triggerer", "triggerer")
    live.wait(
        "the finding of the edit made while the triggerer was down",
        lambda: down.found(live),
        FINDING_TIMEOUT_SECONDS,
    )

    # 4. Quiet: two more looks at Drive start nothing and read no sheet.
    live.wait("no run in progress", live.settled)
    runs_before = len(live.runs())
    quiet_from = time.time()
    live.wait(
        "two quiet looks at Drive",
        lambda: sum(at >= quiet_from for at in live.looks()) >= 2,
        FINDING_TIMEOUT_SECONDS,
    )
    time.sleep(5)  # time for a run the looks would have started to appear
    quiet = [r for r in stack.emulator.request_log() if r.at >= quiet_from]
    assert {r.endpoint for r in quiet} == {"drive.changes.list"}
    runs = live.runs()
    assert len(runs) == runs_before

    assert {run["run_type"] for run in runs} == {"asset_triggered"}
    assert {run["state"] for run in runs} == {"success"}
    assert not stack.messages()  # the feedback DAG sends no email
