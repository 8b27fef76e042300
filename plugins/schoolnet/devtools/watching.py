"""Airflow on this machine with the triggerer watching Drive, as production runs it.

``schoolnet demo --live``, ``schoolnet demo-ui`` and ``make bench-live`` run ``airflow
standalone`` (API server, scheduler, DAG processor, triggerer) with the scheduler creating runs,
every DAG paused when first seen, and ``schoolnet_feedback`` unpaused through the REST API: the
triggerer then runs its ``drive_changes`` watcher, and a clerk's edit starts a run. Nothing here
mocks Airflow: the runs are the scheduler's, started by the triggerer's events. ``standalone``
runs Airflow's components in a process group of their own and stops the whole group, whatever
ends it.
"""

from __future__ import annotations

import json
import math
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from datetime import datetime
from functools import partial
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

import requests

from schoolnet.core.config import load_settings
from schoolnet.orchestration.live_tasks import DAG_ID, DRIVE_CHANGES_URI

if TYPE_CHECKING:
    from schoolnet.devtools.devenv import LocalAirflow
    from schoolnet.devtools.emulator import Emulator

STEP_TIMEOUT_SECONDS = 600.0  # the DAG parsed, the watcher running, the runs settled
WEEK = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


STOP_GRACE_SECONDS = 30.0  # what Airflow's components get to end before they are killed
START_TIMEOUT_SECONDS = 600.0  # a first start migrates the metadata database


def unused_port() -> int:
    """A port nothing listens on now, for ``--port 0``. Airflow's standalone must know its API
    port before it starts (its scheduler is told where the API is), so it cannot bind port 0
    itself; should another program take the port first, the start fails and says so."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def group_members(group: int) -> list[int]:
    """The live processes of a process group (from /proc; zombies excluded)."""
    members = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        # pid (comm) state ppid pgrp ...: comm may hold spaces, so split after its ")".
        fields = stat.rsplit(")", 1)[1].split()
        if int(fields[2]) == group and fields[0] != "Z":
            members.append(int(entry.name))
    return members


def stop_group(process: subprocess.Popen[Any], grace: float = STOP_GRACE_SECONDS) -> None:
    """SIGTERM the process's whole group, wait for every member, SIGKILL what outlives the
    grace: none of Airflow's components is left behind."""
    group = process.pid
    with suppress(ProcessLookupError):
        os.killpg(group, signal.SIGTERM)
    deadline = time.monotonic() + grace
    while time.monotonic() < deadline:
        process.poll()
        if not group_members(group):
            break
        time.sleep(0.2)
    else:
        with suppress(ProcessLookupError):
            os.killpg(group, signal.SIGKILL)
    process.wait()


def wait_for_api(url: str, process: subprocess.Popen[Any], timeout: float) -> None:
    """Until the API server answers ``url`` (or Airflow exits, or ``timeout`` passes)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"airflow standalone ended (exit code {process.returncode})")
        try:
            with urllib.request.urlopen(url, timeout=5) as answer:
                if answer.status == 200:
                    return
        except (urllib.error.URLError, OSError):
            pass
        time.sleep(1.0)
    raise RuntimeError(f"the Airflow API did not answer at {url} within {timeout:.0f}s")


def standalone_environment(airflow: LocalAirflow, port: int) -> dict[str, str]:
    """The environment ``airflow standalone`` runs in: this Airflow's settings, ``.venv/bin``
    first on PATH (standalone starts its components as ``airflow`` commands), the API on
    127.0.0.1:``port`` (where the task runners reach it too), the DAG folder listed every 30
    seconds."""
    environment = airflow.environment()
    bin_dir = str(Path(sys.executable).parent)
    environment["PATH"] = os.pathsep.join([bin_dir, environment.get("PATH", "")])
    environment.update(
        {
            "AIRFLOW__API__PORT": str(port),
            "AIRFLOW__API__HOST": "127.0.0.1",
            "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"http://127.0.0.1:{port}/execution/",
            "AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL": "30",
        }
    )
    return environment


@dataclass(frozen=True)
class Standalone:
    """A running ``airflow standalone``: its process (the leader of its own process group)
    and the URL its API answers at."""

    process: subprocess.Popen[Any]
    url: str


@contextmanager
def standalone(
    environment: dict[str, str], port: int, log: IO[str], timeout: float = START_TIMEOUT_SECONDS
) -> Iterator[Standalone]:
    """Run ``airflow standalone`` (API server, scheduler, DAG processor, triggerer) in
    ``environment`` (see :func:`standalone_environment`), its output to ``log``, in a process
    group of its own; yields once its API answers on ``port``. On leaving, however it is left
    (an error, Ctrl-C), the whole group is stopped: no component is left behind."""
    process = subprocess.Popen(
        [str(Path(sys.executable).with_name("airflow")), "standalone"],
        env=environment,
        stdout=log,
        stderr=subprocess.STDOUT,
        process_group=0,  # its own group, so that stopping it reaches every component
    )
    try:
        url = f"http://127.0.0.1:{port}"
        wait_for_api(f"{url}/api/v2/monitor/health", process, timeout)
        yield Standalone(process, url)
    finally:
        stop_group(process)


def all_day_settings(base: Path, path: Path) -> Path:
    """``base`` written to ``path`` with ``[live]`` on every day, all day (``"00:00-24:00"``),
    and no pause before the morning run: the trigger looks and the DAG's ``gate`` lets runs
    through whatever the machine's clock says (demonstrations, benchmarks, tests)."""
    text = base.read_text(encoding="utf-8")
    head, found, rest = text.partition("\n[live]\n")
    section, _, tail = rest.partition("\n[") if found else ("", "", "")
    section = re.sub(r"(?m)^(hours|days|enabled|pause_before_morning_minutes) = .*\n?", "", section)
    week = ", ".join(f'"{day}"' for day in WEEK)
    section = (
        f'enabled = true\nhours = "00:00-24:00"\ndays = [{week}]\n'
        f"pause_before_morning_minutes = 0\n{section}"
    )
    path.write_text(
        head + "\n[live]\n" + section + ("\n[" + tail if tail else ""), encoding="utf-8"
    )
    live = load_settings(path).live
    if live.days != tuple(range(7)) or live.start.hour or live.pause_before_morning_minutes:
        raise RuntimeError(f"[live] in {path} does not cover the whole day: {live}")
    return path


def scheduler_environment(airflow: LocalAirflow, port: int) -> dict[str, str]:
    """``airflow standalone``'s environment (``standalone_environment``) with the scheduler
    creating runs (the asset's) and every DAG paused when first seen: the morning DAG never
    starts by itself; ``schoolnet_feedback`` is unpaused through the API."""
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


def wait_until(
    what: str, check: Callable[[], Any], timeout: float, alive: Callable[[], None] | None = None
) -> Any:
    """Poll ``check`` every second until it returns something true (returned); ``alive``
    raises when what is waited on has died. RuntimeError naming ``what`` after ``timeout``."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if alive is not None:
            alive()
        value = check()
        if value:
            return value
        time.sleep(1.0)
    raise RuntimeError(f"{what}: not within {timeout:.0f} s")


class AirflowApi:
    """Airflow's REST API, logged in as the admin ``airflow standalone`` made."""

    def __init__(self, url: str, home: Path, timeout: float = STEP_TIMEOUT_SECONDS) -> None:
        self.url = url
        self.session = requests.Session()
        passwords = home / "simple_auth_manager_passwords.json.generated"
        password = wait_until("the admin's password", lambda: _password(passwords), timeout)
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
        """The answer to ``path``, or None when Airflow has no such thing (yet)."""
        response = self.session.get(f"{self.url}/api/v2{path}", timeout=30)
        return response.json() if response.ok else None

    def unpause(self, dag_id: str) -> None:
        self.set_paused(dag_id, False)

    def set_paused(self, dag_id: str, paused: bool) -> None:
        response = self.session.patch(
            f"{self.url}/api/v2/dags/{dag_id}", json={"is_paused": paused}, timeout=30
        )
        response.raise_for_status()

    def leave_paused(self, dag_id: str = DAG_ID) -> None:
        """Pause ``dag_id`` before Airflow stops, so that the next ``airflow standalone`` over
        the same home starts no run of it before its API server answers: standalone starts
        every component at once, the triggerer's watcher fires on its first look, and a task
        started before the API server listens fails (connection refused). ``start_watching``
        unpauses it once the API answers. Best effort: Airflow may be going down already."""
        with suppress(requests.RequestException):
            self.set_paused(dag_id, True)

    def runs(self, dag_id: str = DAG_ID) -> list[dict[str, Any]]:
        runs: list[dict[str, Any]] = []
        while True:
            page = self.get(f"/dags/{dag_id}/dagRuns", limit=100, offset=len(runs))
            runs += page["dag_runs"]
            if not page["dag_runs"] or len(runs) >= page["total_entries"]:
                return runs

    def watchers(self) -> list[dict[str, Any]]:
        """The ``drive_changes`` asset's watchers (with their trigger ids) once registered."""
        assets = self.get("/assets", uri_pattern=DRIVE_CHANGES_URI)["assets"]
        return [w for a in assets if a["uri"] == DRIVE_CHANGES_URI for w in a["watchers"]]


def _password(path: Path) -> str | None:
    try:
        password = json.loads(path.read_text(encoding="utf-8")).get("admin")
    except (OSError, ValueError):
        return None
    return str(password) if password else None


def epoch(stamp: str | None) -> float | None:
    return datetime.fromisoformat(stamp).timestamp() if stamp else None


def calls_between(emulator: Emulator, since: float, until: float = math.inf) -> Counter[str]:
    """The Google calls the emulator answered (not refused) from ``since`` until ``until``
    (epoch seconds), by endpoint."""
    return Counter(
        r.endpoint for r in emulator.request_log() if since <= r.at < until and r.granted
    )


def run_started(run: dict[str, Any]) -> float:
    """When the scheduler created the run (queued), else when it was due (epoch seconds)."""
    return epoch(run.get("queued_at")) or epoch(run.get("run_after")) or 0.0


@dataclass(frozen=True)
class Watcher:
    """The triggerer's watch of Drive: its trigger, when the feedback DAG was unpaused and
    when the watcher first looked at Drive (epoch seconds)."""

    trigger_id: int
    launched_at: float  # when Airflow was started
    unpaused_at: float
    first_look: float


def start_watching(
    api: AirflowApi,
    emulator: Emulator,
    log: Path,
    launched_at: float,
    alive: Callable[[], None] | None = None,
) -> Watcher:
    """Unpause the feedback DAG and wait until the triggerer runs its watcher: the asset lists
    the watcher's trigger, the triggerer logs that trigger starting (in ``log``, after
    ``launched_at``: an Airflow started again over the same home and log already did once),
    and the emulator receives a ``changes.list`` after that (its first look). RuntimeError
    naming the step that did not come."""
    wait_until(f"{DAG_ID} parsed", lambda: api.found(f"/dags/{DAG_ID}"), 600.0, alive)
    unpaused_at = time.time()
    api.unpause(DAG_ID)
    watchers = wait_until(
        "the asset's watcher registered", api.watchers, STEP_TIMEOUT_SECONDS, alive
    )
    trigger_id = int(watchers[0]["trigger_id"])
    started = wait_until(
        f"the triggerer starting trigger {trigger_id}",
        lambda: trigger_started(log, trigger_id, launched_at),
        STEP_TIMEOUT_SECONDS,
        alive,
    )

    def first_look() -> float | None:
        return next(
            (
                r.at
                for r in emulator.request_log()
                if r.endpoint == "drive.changes.list" and r.at >= started
            ),
            None,
        )

    first: float = wait_until(
        "the watcher's first look at Drive", first_look, STEP_TIMEOUT_SECONDS, alive
    )
    return Watcher(trigger_id, launched_at, unpaused_at, first)


def trigger_started(log: Path, trigger_id: int, since: float = 0.0) -> float | None:
    """When the triggerer logged trigger ``trigger_id`` starting at ``since`` or later (epoch
    seconds), or None."""
    line = f"trigger ID {trigger_id} starting"
    for text in log.read_text(encoding="utf-8", errors="replace").splitlines():
        stamp = re.search(r"\d{4}-\d\d-\d\dT[\d:.]+Z", text)
        if line in text and stamp:
            at = datetime.fromisoformat(stamp.group()).timestamp()
            if at >= since:
                return at
    return None


@dataclass(frozen=True)
class Watching:
    """Airflow running with the watcher: its process, its API, its log and the watcher."""

    running: Standalone
    api: AirflowApi
    log: Path
    watcher: Watcher

    def alive(self) -> None:
        still_running(self.running, self.log)


def still_running(running: Standalone, log: Path) -> None:
    """Raise, with the end of Airflow's log, if ``airflow standalone`` has ended."""
    if running.process.poll() is not None:
        tail = "\n".join(log.read_text(encoding="utf-8").splitlines()[-40:])
        raise RuntimeError(f"airflow standalone ended:\n{tail}")


@contextmanager
def watching(
    airflow: LocalAirflow, emulator: Emulator, log_path: Path, stream: IO[str]
) -> Iterator[Watching]:
    """``airflow standalone`` for ``airflow`` (output to ``stream``, which writes
    ``log_path``) with the feedback DAG unpaused and its watcher looking at Drive; every process
    stopped on leaving."""
    port = unused_port()
    launched_at = time.time()
    with standalone(scheduler_environment(airflow, port), port, stream) as running:
        api = AirflowApi(running.url, airflow.home)
        alive = partial(still_running, running, log_path)
        watcher = start_watching(api, emulator, log_path, launched_at, alive)
        try:
            yield Watching(running, api, log_path, watcher)
        finally:
            api.leave_paused()
