"""Edit → finding under the real scheduler, with the triggerer watching Drive's changes feed.

    python -m benchmarks.live --scheduler-only --edits 3 --minutes 2 --quiet-minutes 1

``make bench-live`` runs this after its other measurements. It serves the national demo data
set from the emulator at Google's real quota, starts Airflow as ``schoolnet demo-ui`` does
(``airflow standalone``: API server, scheduler, DAG processor and triggerer, all on
127.0.0.1), with the scheduler creating runs and a settings file whose ``[live]`` days and
hours cover the whole day, every day (the DAG file is the shipped one: the trigger polls every
30 seconds and sends its event again after 60 seconds while sheets wait). Then it:

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
   (``asset_triggered``: the watcher's event; ``scheduled``: the 10-minute clock).

Every process Airflow started is stopped with its process group, whatever happens.
"""

from __future__ import annotations

import json
import math
import re
import statistics
import time
from collections import Counter
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import requests
from sqlalchemy import text

from schoolnet.core.config import load_settings
from schoolnet.core.registry import Esa, read_esas
from schoolnet.devtools.demoui import standalone, standalone_environment, unused_port
from schoolnet.devtools.devenv import LocalAirflow
from schoolnet.devtools.emulator import Emulator
from schoolnet.devtools.livedemo import tab_rows, type_mistake
from schoolnet.ingestion.google import EmulatorSession
from schoolnet.ingestion.ingest import SheetsReader
from schoolnet.orchestration.live import begin
from schoolnet.orchestration.live_tasks import DAG_ID, DRIVE_CHANGES_URI
from schoolnet.orchestration.live_trigger import in_hours
from schoolnet.validation.feedback import TAB_HEADING_ROW
from schoolnet.warehouse import create_warehouse_engine, ensure_schema

START, END = "<!-- bench-live-scheduler:start -->", "<!-- bench-live-scheduler:end -->"
TIMEZONE = ZoneInfo("Asia/Bangkok")
STEP_TIMEOUT_SECONDS = 600.0  # the DAG parsed, the watcher running, the runs settled
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


def all_day_settings(base: Path, path: Path) -> Path:
    """``base`` with ``[live]`` covering every day from 00:00 to 23:59 (Bangkok), so that the
    trigger looks and the DAG's ``gate`` lets runs through whatever the machine's clock."""
    text_ = base.read_text(encoding="utf-8")
    head, _, rest = text_.partition("\n[live]\n")
    if not rest:
        raise RuntimeError(f"{base} has no [live] section")
    section, _, tail = rest.partition("\n[")
    section = re.sub(r"(?m)^hours = .*$", 'hours = "00:00-23:59"', section)
    week = ", ".join(f'"{day}"' for day in ("mon", "tue", "wed", "thu", "fri", "sat", "sun"))
    section = re.sub(r"(?m)^days = .*$", f"days = [{week}]", section)
    section = re.sub(r"(?m)^enabled = .*$", "enabled = true", section)
    path.write_text(
        head + "\n[live]\n" + section + ("\n[" + tail if tail else ""), encoding="utf-8"
    )
    live = load_settings(path).live
    if live.days != tuple(range(7)) or live.start.hour or live.end.hour != 23:
        raise RuntimeError(f"[live] in {path} does not cover the whole day: {live}")
    return path


def blind_spot(settings_path: Path, start: datetime, minutes: float) -> datetime | None:
    """The first moment of the next ``minutes`` at which the trigger would not look and the
    gate would skip even with these settings (the 10 minutes before the morning run, and
    23:59), or None."""
    settings = load_settings(settings_path)
    for step in range(math.ceil(minutes * 2) + 1):
        moment = start + timedelta(seconds=30 * step)
        if not in_hours(settings, moment):
            return moment
    return None


class Api:
    """Airflow's REST API, logged in as the admin standalone made."""

    def __init__(self, url: str, home: Path) -> None:
        self.url = url
        self.session = requests.Session()
        passwords = home / "simple_auth_manager_passwords.json.generated"
        password = wait_until(
            "the admin's password", lambda: _password(passwords), STEP_TIMEOUT_SECONDS
        )
        login = requests.post(
            f"{url}/auth/token", json={"username": "admin", "password": password}, timeout=30
        )
        login.raise_for_status()
        self.session.headers["Authorization"] = f"Bearer {login.json()['access_token']}"

    def get(self, path: str, **params: Any) -> Any:
        response = self.session.get(f"{self.url}/api/v2{path}", params=params, timeout=30)
        response.raise_for_status()
        return response.json()

    def found(self, path: str) -> Any:
        response = self.session.get(f"{self.url}/api/v2{path}", timeout=30)
        return response.json() if response.ok else None

    def unpause(self, dag_id: str) -> None:
        response = self.session.patch(
            f"{self.url}/api/v2/dags/{dag_id}", json={"is_paused": False}, timeout=30
        )
        response.raise_for_status()

    def runs(self, dag_id: str) -> list[dict[str, Any]]:
        runs: list[dict[str, Any]] = []
        while True:
            page = self.get(f"/dags/{dag_id}/dagRuns", limit=100, offset=len(runs))
            runs += page["dag_runs"]
            if not page["dag_runs"] or len(runs) >= page["total_entries"]:
                return runs

    def watchers(self) -> list[dict[str, Any]]:
        assets = self.get("/assets", uri_pattern=DRIVE_CHANGES_URI)["assets"]
        return [w for a in assets if a["uri"] == DRIVE_CHANGES_URI for w in a["watchers"]]


def _password(path: Path) -> str | None:
    try:
        password = json.loads(path.read_text(encoding="utf-8")).get("admin")
    except (OSError, ValueError):
        return None
    return str(password) if password else None


def wait_until(
    what: str, check: Callable[[], Any], timeout: float, alive: Callable[[], None] | None = None
) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if alive is not None:
            alive()
        value = check()
        if value:
            return value
        time.sleep(1.0)
    raise RuntimeError(f"{what}: not within {timeout:.0f} s")


def epoch(stamp: str | None) -> float | None:
    return datetime.fromisoformat(stamp).timestamp() if stamp else None


def run_started(run: dict[str, Any]) -> float:
    """When the scheduler created the run (queued), else when it was due."""
    return epoch(run.get("queued_at")) or epoch(run.get("run_after")) or 0.0


def runs_by_type(runs: list[dict[str, Any]], since: float, until: float) -> Counter[str]:
    return Counter(r["run_type"] for r in runs if since <= run_started(r) < until)


def calls(emulator: Emulator, since: float, until: float) -> Counter[str]:
    return Counter(
        r.endpoint for r in emulator.request_log() if since <= r.at < until and r.granted
    )


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
    return any(
        row[:2] == [str(edit.row), edit.cell] and edit.typed in (str(c) for c in row)
        for row in rows[TAB_HEADING_ROW + 1 :]
    )


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
    watcher_seconds: float | None  # unpause → the triggerer's first look
    edit_calls: Counter[str]
    edit_throttled: int
    edit_runs: Counter[str]
    edit_phase_seconds: float
    quiet_calls: Counter[str]
    quiet_runs: Counter[str]
    quiet_seconds: float
    failed_runs: int
    notes: list[str] = field(default_factory=list)


def measure(work: Path, base_settings: Path, state: Path, quota: int, plan: Plan) -> Result:
    """The whole measurement in ``work`` over the emulator state ``state`` (one day loaded)."""
    config = all_day_settings(base_settings, work / "scheduler-settings.toml")
    expected = 12 + plan.minutes + plan.quiet_minutes + plan.lost_after / 60
    spot = blind_spot(config, datetime.now(TIMEZONE), expected)
    if spot is not None:
        raise RuntimeError(
            f"at {spot:%H:%M} Bangkok time, within the bench's next {expected:.0f} minutes, "
            "the trigger does not look and the gate skips whatever [live] says (the 10 "
            "minutes before the 06:00 morning run, or 23:59): run it at another time"
        )
    settings = load_settings(config)
    esas = read_esas(settings.registry.esas)[: plan.sheets]
    edits = edit_plan(esas, plan)
    url = f"sqlite:///{work / 'scheduler-warehouse.db'}"
    home = work / "scheduler-airflow"
    port = unused_port()
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
            home=home,
            config_file=config,
            emulator_url=emulator.base_url,
            smtp_port=1,  # the feedback run sends no email
            warehouse_url=url,
        )
        say("preparing Airflow's metadata database and pool")
        airflow.prepare()
        log_path = work / "airflow-standalone.log"
        log = stack.enter_context(log_path.open("w", encoding="utf-8"))
        say(f"starting airflow standalone on 127.0.0.1:{port}")
        running = stack.enter_context(standalone(scheduler_environment(airflow, port), port, log))

        def alive() -> None:
            if running.process.poll() is not None:
                tail = "\n".join(log_path.read_text(encoding="utf-8").splitlines()[-40:])
                raise RuntimeError(f"airflow standalone ended:\n{tail}")

        api = Api(running.url, home)
        notes: list[str] = []
        watcher_seconds = start_watching(api, emulator, log_path, alive, notes)
        began = time.time()
        sheets = len({edit.esa.esa_code for edit in edits})
        say(f"edit phase: {len(edits)} edits on {sheets} sheets over {plan.minutes:g} min")
        clerks_edit(edits, state, emulator, plan.lost_after, alive, api)
        say("every edit checked; waiting for no run in progress and no sheet waiting")

        def settled() -> bool:
            active = [r for r in api.runs(DAG_ID) if r["state"] in ("queued", "running")]
            with engine.connect() as conn:
                waiting = conn.execute(
                    text("SELECT COUNT(*) FROM live_sheet WHERE pending")
                ).scalar_one()
            return not active and not waiting

        wait_until("the runs to settle", settled, STEP_TIMEOUT_SECONDS, alive)
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
            watcher_seconds=watcher_seconds,
            edit_calls=calls(emulator, began, quiet),
            edit_throttled=throttled(emulator, began, quiet),
            edit_runs=runs_by_type(runs, began, quiet),
            edit_phase_seconds=quiet - began,
            quiet_calls=calls(emulator, quiet, ended),
            quiet_runs=runs_by_type(runs, quiet, ended),
            quiet_seconds=ended - quiet,
            failed_runs=sum(1 for run in runs if run["state"] == "failed"),
            notes=notes,
        )


def scheduler_environment(airflow: LocalAirflow, port: int) -> dict[str, str]:
    """``schoolnet demo-ui``'s Airflow, with the scheduler creating runs (the clock's and the
    asset's) and every DAG paused when first seen (the bench unpauses the feedback DAG)."""
    environment = standalone_environment(airflow, port)
    environment.update(
        {
            "AIRFLOW__SCHEDULER__USE_JOB_SCHEDULE": "True",
            "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "True",
            # Another Airflow on this machine may hold the default log server ports.
            "AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT": str(unused_port()),
            "AIRFLOW__LOGGING__TRIGGER_LOG_SERVER_PORT": str(unused_port()),
        }
    )
    return environment


def start_watching(
    api: Api, emulator: Emulator, log: Path, alive: Callable[[], None], notes: list[str]
) -> float | None:
    """Unpause the feedback DAG and wait until the triggerer runs its watcher: the asset lists
    the watcher's trigger, the triggerer logs that trigger starting, and the emulator receives
    a ``changes.list`` after that (its first look). The seconds from the unpause to that
    look, or None (noted) when it did not come: the clock alone then starts runs."""
    wait_until(f"{DAG_ID} parsed", lambda: api.found(f"/dags/{DAG_ID}"), 600.0, alive)
    unpaused = time.time()
    api.unpause(DAG_ID)
    say(f"{DAG_ID} unpaused; waiting for the triggerer to run the watcher")
    started = 0.0

    def trigger_started(trigger_id: int) -> bool:
        """Whether the triggerer logged the trigger starting; ``started``: when, by its log."""
        nonlocal started
        line = f"trigger ID {trigger_id} starting"
        for text_ in log.read_text(encoding="utf-8").splitlines():
            stamp = re.search(r"\d{4}-\d\d-\d\dT[\d:.]+Z", text_)
            if line in text_ and stamp:
                started = datetime.fromisoformat(stamp.group()).timestamp()
                return True
        return False

    def first_look() -> float | None:
        looks = emulator.request_log()
        return next(
            (r.at for r in looks if r.endpoint == "drive.changes.list" and r.at >= started),
            None,
        )

    try:
        watchers = wait_until(
            "the asset's watcher registered", api.watchers, STEP_TIMEOUT_SECONDS, alive
        )
        trigger_id = int(watchers[0]["trigger_id"])
        wait_until(
            f"the triggerer starting trigger {trigger_id}",
            lambda: trigger_started(trigger_id),
            STEP_TIMEOUT_SECONDS,
            alive,
        )
        first: float = wait_until(
            "the watcher's first look at Drive", first_look, STEP_TIMEOUT_SECONDS, alive
        )
    except RuntimeError as error:
        notes.append(f"the triggerer did not start the watcher ({error})")
        say(f"{notes[-1]}; measuring with the clock alone")
        return None
    say(
        f"the triggerer started the watcher (trigger {trigger_id}) and looked at Drive "
        f"{first - unpaused:.0f} s after the unpause"
    )
    return first - unpaused


def clerks_edit(
    edits: list[Edit],
    state: Path,
    emulator: Emulator,
    lost_after: float,
    alive: Callable[[], None],
    api: Api,
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


def due(edit: Edit, edits: list[Edit], began: float, api: Api) -> bool:
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


def checking(api: Api, since: float) -> bool:
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
            f"{result.watcher_seconds:.0f} s"
            if result.watcher_seconds is not None
            else "**never** (the watcher did not start)",
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
    rows += [("note", note) for note in result.notes]
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
