"""Edit → finding under the real scheduler, with the triggerer watching Drive's changes feed.

    python -m benchmarks.live --scheduler-only --edits 3 --minutes 2 --quiet-minutes 1

``make bench-live`` runs this after its other measurements. It serves the national demo data
set from the emulator at Google's real quota, starts Airflow as ``schoolnet demo --live`` does
(``schoolnet.devtools.watching``: ``airflow standalone``, i.e. API server, scheduler, DAG
processor and triggerer, all on 127.0.0.1), with the scheduler creating runs and a settings
file whose ``[live]`` days and hours cover the whole day, every day, with no pause before the
morning run (the DAG file is the shipped one: the trigger polls every 30 seconds and sends its
event again after 60 seconds while sheets wait). Then it:

1. unpauses ``schoolnet_feedback`` through the REST API and waits until the triggerer runs the
   ``drive_changes`` watcher (the asset lists its trigger, the triggerer logs it starting,
   and the emulator receives its first ``changes.list``);
2. has clerks type mistakes into several sheets, in bursts of 2 and 3 spread over the edit
   phase: the last edit of each burst is typed once a run has polled Drive and is checking
   sheets, so it lands while a run is in progress and is left for the next run (the event
   Airflow holds while the run is on, or the trigger's refire). Each edit is timed until its
   finding (the row, the cell and the value typed) is in that sheet's ``ผลตรวจสอบ`` tab, read
   from the emulator's state files; an edit not there after ``lost_after`` seconds is lost;
3. once no run is in progress and no sheet waits, stays quiet for a few minutes, counting the
   Google calls and the runs started;
4. counts the Drive and Sheets calls by endpoint and the DAG runs by ``run_type``
   (``asset_triggered``: the watcher's event; any other kind would be a surprise).

Every process Airflow started is stopped with its process group, whatever happens.
"""

from __future__ import annotations

import math
import statistics
import time
from collections import Counter
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import Engine

from schoolnet.core.config import load_settings
from schoolnet.core.registry import Esa, read_esas
from schoolnet.devtools.devenv import LocalAirflow
from schoolnet.devtools.emulator import Emulator
from schoolnet.devtools.livedemo import findings_in, tab_rows, type_mistake
from schoolnet.devtools.watching import (
    STEP_TIMEOUT_SECONDS,
    AirflowApi,
    all_day_settings,
    calls_between,
    epoch,
    run_started,
    wait_until,
    watching,
)
from schoolnet.ingestion.google import EmulatorSession
from schoolnet.ingestion.ingest import SheetsReader
from schoolnet.orchestration.live import begin, waiting_sheets
from schoolnet.orchestration.live_tasks import DAG_ID
from schoolnet.warehouse import create_warehouse_engine, ensure_schema

START, END = "<!-- bench-live-scheduler:start -->", "<!-- bench-live-scheduler:end -->"
LOOK_SECONDS = 1.0  # how often the tabs are read for the findings
BURSTS = (2, 3)  # edits per burst, in turn
CLOCK, GAP, IN_RUN = "clock", "gap", "in_run"  # when an edit is made (see ``edit_plan``)


def say(message: str) -> None:
    print(f"[bench-live scheduler] {message}", flush=True)


@dataclass(frozen=True)
class Plan:
    """What the clerks do: ``edits`` edits on ``sheets`` sheets over ``minutes`` minutes, in
    bursts (``edit_plan``); then ``quiet_minutes`` with no edit."""

    edits: int = 20
    minutes: float = 10.0
    quiet_minutes: float = 3.0
    sheets: int = 5
    burst_gap: float = 3.0  # between two edits of a burst made by the clock
    in_run_wait: float = 90.0  # the longest wait for a run's checks before typing anyway
    lost_after: float = 900.0


@dataclass
class Edit:
    """One clerk's edit: a negative student count typed at ``row`` of ``esa``'s sheet, made
    ``when``: by the ``CLOCK``, ``due`` seconds into the edit phase; a ``GAP`` of ``due``
    seconds after the edit before it; or ``IN_RUN``, as soon as a run has polled Drive and is
    checking sheets after the edit before it was made. When it was saved and when its finding
    showed."""

    number: int
    esa: Esa
    row: int
    typed: str
    when: str
    due: float
    cell: str = ""
    made_at: float | None = None  # epoch seconds
    found_at: float | None = None
    lost: bool = False

    @property
    def seconds(self) -> float | None:
        if self.made_at is None or self.found_at is None:
            return None
        return self.found_at - self.made_at


def edit_plan(esas: list[Esa], plan: Plan) -> list[Edit]:
    """The edits: bursts of 2 and 3 (``BURSTS``) started evenly over the edit phase by the
    clock. In a burst of 3 the second edit follows the first ``burst_gap`` seconds later
    (both in the same look at Drive, as a rule); the last edit of every burst waits for a run
    past its ``poll_changes``, so it lands while that run checks sheets and is left for the
    next run. Each edit on the next of ``plan.sheets`` sheets, a new row and value every time."""
    sizes: list[int] = []
    while sum(sizes) < plan.edits:
        sizes.append(min(BURSTS[len(sizes) % len(BURSTS)], plan.edits - sum(sizes)))
    spacing = plan.minutes * 60 / len(sizes)
    edits: list[Edit] = []
    for burst, size in enumerate(sizes):
        for place in range(size):
            number = len(edits)
            if place == 0:
                when, due = CLOCK, burst * spacing
            elif place == size - 1:
                when, due = IN_RUN, plan.in_run_wait
            else:
                when, due = GAP, plan.burst_gap
            edits.append(
                Edit(
                    number=number,
                    esa=esas[number % len(esas)],
                    row=3 + number // len(esas),
                    typed=str(-(100 + number)),
                    when=when,
                    due=due,
                )
            )
    return edits


def runs_by_type(runs: list[dict[str, Any]], since: float, until: float) -> Counter[str]:
    return Counter(r["run_type"] for r in runs if since <= run_started(r) < until)


def throttled(emulator: Emulator, since: float, until: float) -> int:
    return sum(1 for r in emulator.request_log() if since <= r.at < until and not r.granted)


def sheets_calls(counts: Counter[str]) -> int:
    return sum(n for endpoint, n in counts.items() if endpoint.startswith("spreadsheets."))


def drive_calls(counts: Counter[str]) -> int:
    return sum(n for endpoint, n in counts.items() if endpoint.startswith("drive."))


class TabCache:
    """The ``ผลตรวจสอบ`` tabs as the emulator's state files hold them, read again only when
    a sheet's file changed."""

    def __init__(self, state: Path) -> None:
        self.state = state
        self.tabs: dict[str, tuple[int, list[list[Any]]]] = {}

    def rows(self, esa: Esa) -> list[list[Any]]:
        stamp = (self.state / "spreadsheets" / f"{esa.spreadsheet_id}.json").stat().st_mtime_ns
        cached = self.tabs.get(esa.spreadsheet_id)
        if cached is None or cached[0] != stamp:
            cached = (stamp, tab_rows(self.state, esa))
            self.tabs[esa.spreadsheet_id] = cached
        return cached[1]


def in_tab(rows: list[list[Any]], edit: Edit) -> bool:
    """Whether a tab lists this edit: its row, its cell and the value typed."""
    return bool(findings_in(rows, edit.row, edit.cell, edit.typed))


def during_run(edit: Edit, runs: list[dict[str, Any]]) -> bool:
    """Whether a run of the DAG was in progress when the edit was saved."""
    made = edit.made_at or 0.0
    for run in runs:
        began = epoch(run.get("start_date"))
        ended = epoch(run.get("end_date")) or math.inf
        if began is not None and began <= made < ended:
            return True
    return False


def percentile(values: list[float], share: float) -> float:
    """The nearest-rank percentile (``share`` in 0..1) of ``values``."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(share * len(ordered)) - 1)]


@dataclass
class Result:
    plan: Plan
    edits: list[Edit]
    during: list[bool]
    watcher_seconds: float  # unpause → the triggerer's first look
    edit_calls: Counter[str]
    edit_throttled: int
    edit_runs: Counter[str]
    edit_phase_seconds: float
    quiet_calls: Counter[str]
    quiet_runs: Counter[str]
    quiet_seconds: float
    failed_runs: int


def measure(work: Path, base_settings: Path, state: Path, quota: int, plan: Plan) -> Result:
    """The whole measurement in ``work`` over the emulator state ``state`` (one day loaded)."""
    config = all_day_settings(base_settings, work / "scheduler-settings.toml")
    settings = load_settings(config)
    esas = read_esas(settings.registry.esas)[: plan.sheets]
    edits = edit_plan(esas, plan)
    url = f"sqlite:///{work / 'scheduler-warehouse.db'}"
    with ExitStack() as stack:
        emulator = stack.enter_context(
            Emulator(state, read_quota_per_minute=quota, write_quota_per_minute=quota)
        )
        engine = create_warehouse_engine(url)
        stack.callback(engine.dispose)
        ensure_schema(engine)
        # Drive's changes feed is watched from now on, as after the first feedback run.
        begin(SheetsReader(EmulatorSession(emulator.base_url), settings.google), engine)
        airflow = LocalAirflow(
            home=work / "scheduler-airflow",
            config_file=config,
            emulator_url=emulator.base_url,
            smtp_port=1,  # the feedback run sends no email
            warehouse_url=url,
        )
        say("preparing Airflow's metadata database and pool")
        airflow.prepare()
        log_path = work / "airflow-standalone.log"
        log = stack.enter_context(log_path.open("w", encoding="utf-8"))
        say("starting airflow standalone, unpausing the feedback DAG, waiting for the watcher")
        watch = stack.enter_context(watching(airflow, emulator, log_path, log))
        watcher = watch.watcher
        say(
            f"the triggerer started the watcher (trigger {watcher.trigger_id}) and looked at "
            f"Drive {watcher.first_look - watcher.unpaused_at:.0f} s after the unpause"
        )
        api, alive = watch.api, watch.alive
        began = time.time()
        sheets = len({edit.esa.esa_code for edit in edits})
        say(f"edit phase: {len(edits)} edits on {sheets} sheets over {plan.minutes:g} min")
        clerks_edit(edits, state, emulator, plan.lost_after, alive, api)
        say("every edit checked; waiting for no run in progress and no sheet waiting")
        wait_until("the runs to settle", lambda: settled(api, engine), STEP_TIMEOUT_SECONDS, alive)
        quiet = time.time()
        say(f"quiet phase: {plan.quiet_minutes:g} min with no edit")
        while time.time() - quiet < plan.quiet_minutes * 60:
            alive()
            time.sleep(LOOK_SECONDS)
        ended = time.time()
        runs = api.runs(DAG_ID)
        say("stopping Airflow and the emulator")
        return Result(
            plan=plan,
            edits=edits,
            during=[during_run(edit, runs) for edit in edits],
            watcher_seconds=watcher.first_look - watcher.unpaused_at,
            edit_calls=calls_between(emulator, began, quiet),
            edit_throttled=throttled(emulator, began, quiet),
            edit_runs=runs_by_type(runs, began, quiet),
            edit_phase_seconds=quiet - began,
            quiet_calls=calls_between(emulator, quiet, ended),
            quiet_runs=runs_by_type(runs, quiet, ended),
            quiet_seconds=ended - quiet,
            failed_runs=sum(1 for run in runs if run["state"] == "failed"),
        )


def settled(api: AirflowApi, engine: Engine) -> bool:
    """No feedback run queued or running, and no sheet waiting for its check."""
    active = [r for r in api.runs(DAG_ID) if r["state"] in ("queued", "running")]
    return not active and not waiting_sheets(engine)


def clerks_edit(
    edits: list[Edit],
    state: Path,
    emulator: Emulator,
    lost_after: float,
    alive: Callable[[], None],
    api: AirflowApi,
) -> None:
    """Make each edit when it is due and look for its finding until every edit is in its tab
    or lost (not there ``lost_after`` seconds after it was saved); a failed run is told at
    once."""
    began = time.time()
    tabs = TabCache(state)
    failed: set[str] = set()
    looked = 0.0
    while not all(e.found_at is not None or e.lost for e in edits):
        alive()
        if time.time() - looked > 10:
            looked = time.time()
            for run in api.runs(DAG_ID):
                if run["state"] == "failed" and run["dag_run_id"] not in failed:
                    failed.add(run["dag_run_id"])
                    say(f"run {run['dag_run_id']} FAILED")
        for edit in edits:
            if edit.made_at is None and due(edit, edits, began, api):
                with emulator.store.lock:  # not between the emulator's read and write
                    edit.cell = type_mistake(state, edit.esa, edit.row, edit.typed)
                edit.made_at = time.time()
                say(
                    f"edit {edit.number + 1} ({edit.when}): ESA {edit.esa.esa_code} "
                    f"{edit.cell} = {edit.typed}"
                )
        for edit in edits:
            if edit.made_at is None or edit.found_at is not None or edit.lost:
                continue
            if in_tab(tabs.rows(edit.esa), edit):
                edit.found_at = time.time()
                say(f"edit {edit.number + 1}: in the tab after {edit.seconds:.0f} s")
            elif time.time() - edit.made_at > lost_after:
                edit.lost = True
                say(f"edit {edit.number + 1}: LOST (not in the tab after {lost_after:.0f} s)")
        waiting_for_run = any(
            e.when == IN_RUN and e.made_at is None and edits[e.number - 1].made_at for e in edits
        )
        time.sleep(LOOK_SECONDS / 4 if waiting_for_run else LOOK_SECONDS)


def due(edit: Edit, edits: list[Edit], began: float, api: AirflowApi) -> bool:
    """Whether ``edit`` is to be made now (see :class:`Edit`)."""
    now = time.time()
    if edit.when == CLOCK:
        return now - began >= edit.due
    before = edits[edit.number - 1].made_at
    if before is None:
        return False
    if edit.when == GAP:
        return now - before >= edit.due
    return now - before >= edit.due or checking(api, since=before)


def checking(api: AirflowApi, since: float) -> bool:
    """Whether a run started after ``since`` is past its ``poll_changes`` and still running."""
    for run in api.get(f"/dags/{DAG_ID}/dagRuns", state="running", limit=10)["dag_runs"]:
        if run_started(run) < since:
            continue
        polled = api.found(f"/dags/{DAG_ID}/dagRuns/{run['dag_run_id']}/taskInstances/poll_changes")
        if polled is not None and polled.get("state") == "success":
            return True
    return False


def _counted(counts: Counter[str]) -> str:
    return ", ".join(f"{name} {n}" for name, n in sorted(counts.items())) or "none"


def _runs(counts: Counter[str]) -> str:
    kinds = ("asset_triggered", "scheduled")
    named = [f"{kind} {counts.get(kind, 0)}" for kind in kinds]
    named += [f"{kind} {n}" for kind, n in sorted(counts.items()) if kind not in kinds]
    return f"**{sum(counts.values())}**: " + ", ".join(named)


def markdown(result: Result, machine_line: str, quota: int, paced: int) -> str:
    plan = result.plan
    found = [e.seconds for e in result.edits if e.seconds is not None]
    lost = [e for e in result.edits if e.lost]
    mid = [
        e.seconds
        for e, during in zip(result.edits, result.during, strict=True)
        if during and e.seconds is not None
    ]
    sheets = len({e.esa.esa_code for e in result.edits})
    if found:
        latency = (
            f"p50 **{statistics.median(found):.0f} s**, p95 **{percentile(found, 0.95):.0f} s**, "
            f"max {max(found):.0f} s"
        )
    else:
        latency = "none found"
    rows = [
        (
            f"edit → finding in the tab, {len(result.edits)} edits on {sheets} sheets over "
            f"{plan.minutes:g} min (bursts of 2 and 3; the last of each typed while a run "
            "checks sheets)",
            f"{latency}; lost (not in the tab after {plan.lost_after / 60:g} min): **{len(lost)}**",
        ),
        (
            "of which saved while a run was in progress (its start and end, from the API)",
            f"{len(mid)} edit{'' if len(mid) == 1 else 's'}"
            + (f", p50 {statistics.median(mid):.0f} s, max {max(mid):.0f} s" if mid else ""),
        ),
        (
            "unpause → the triggerer's first look at Drive",
            f"{result.watcher_seconds:.0f} s",
        ),
        (
            f"DAG runs started, edit phase ({result.edit_phase_seconds / 60:.1f} min, until "
            "no run in progress and no sheet waiting)",
            _runs(result.edit_runs),
        ),
        (
            "Google calls, edit phase",
            f"Drive **{drive_calls(result.edit_calls)}**, Sheets "
            f"**{sheets_calls(result.edit_calls)}** ({_counted(result.edit_calls)}; "
            f"answered 429: {result.edit_throttled})",
        ),
        (
            f"quiet phase, {result.quiet_seconds / 60:.1f} min with no edit: DAG runs started",
            _runs(result.quiet_runs),
        ),
        (
            "quiet phase: Google calls",
            f"Sheets **{sheets_calls(result.quiet_calls)}** (goal 0), Drive "
            f"**{drive_calls(result.quiet_calls)}** ({_counted(result.quiet_calls)})",
        ),
    ]
    rows.append(("DAG runs failed (the whole bench)", f"**{result.failed_runs}**"))
    return "\n".join(
        [
            START,
            f"Machine: {machine_line}. Emulator quota {quota} reads and {quota} writes a "
            f"minute; pipeline pacing {paced} a minute. `airflow standalone` (LocalExecutor, "
            "SQLite metadata database); trigger poll 30 s, refire 60 s (the DAG file's).",
            "",
            "| what | figure |",
            "|---|---|",
            *[f"| {what} | {figure} |" for what, figure in rows],
            END,
        ]
    )
