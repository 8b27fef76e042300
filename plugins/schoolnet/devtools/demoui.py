"""``schoolnet demo-ui``: the Airflow UI on the demo, started and stopped as one.

It serves the demo's sheets from the Sheets emulator (with the quota the demo's settings pace
at, so no ESA is lost to it) and a mail sink, both in this process on ports of their own, and
runs ``airflow standalone`` (API server, scheduler, DAG processor, triggerer) with the demo's
settings, the project's ``.venv/bin`` first on PATH (standalone starts its components as
``airflow`` commands) and in a process group of its own. Every DAG is paused when first seen,
so opening the UI never emails a report for today: the operator triggers ``schoolnet_daily``
for a demo date. ``schoolnet_feedback`` is unpaused, so the triggerer watches Drive (all day
here) and a clerk's edit in the emulator starts its run. Ctrl-C or SIGTERM stops Airflow's
whole process group, then the emulator and the mail sink.
"""

from __future__ import annotations

import argparse
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from schoolnet.core.paths import project_root
from schoolnet.devtools.demosetup import DEMO_QUOTA_PER_MINUTE, demo_settings, demo_warehouse_url
from schoolnet.orchestration.live_tasks import DAG_ID as FEEDBACK_DAG_ID
from schoolnet.orchestration.tasks import DAG_ID

if TYPE_CHECKING:
    from schoolnet.devtools.devenv import LocalAirflow

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


def say(message: str) -> None:
    print(f"[schoolnet demo-ui] {message}", flush=True)


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


@contextmanager
def stop_signals() -> Iterator[None]:
    """SIGTERM ends the command as Ctrl-C does, through the same clean stop."""

    def interrupt(_signum: int, _frame: Any) -> None:
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


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


def run_ui(args: argparse.Namespace) -> int:
    from schoolnet.devtools.devenv import LocalAirflow
    from schoolnet.devtools.emulator import Emulator
    from schoolnet.devtools.mailsink import MailSink
    from schoolnet.devtools.watching import (
        AirflowApi,
        all_day_settings,
        scheduler_environment,
        start_watching,
    )

    root = project_root()
    out: Path = args.out or root / "out"
    home: Path = args.airflow_home or root / ".airflow"
    if not (out / "emulator" / "spreadsheets").is_dir():
        raise RuntimeError(
            f"no demo in {out} (its emulator/spreadsheets/ is missing): run `make demo` first"
        )
    port = args.port or unused_port()
    with ExitStack() as stack, stop_signals():
        emulator = Emulator(
            out / "emulator",
            read_quota_per_minute=DEMO_QUOTA_PER_MINUTE,
            write_quota_per_minute=DEMO_QUOTA_PER_MINUTE,
        )
        emulator_url = emulator.start()
        stack.callback(emulator.stop)
        sink = MailSink(out / "mail")
        sink.start()
        stack.callback(sink.stop)
        # The demo's settings, watched all day: an edit is checked whatever the hour.
        config = all_day_settings(demo_settings(root, out), out / "demo-ui-settings.toml")
        airflow = LocalAirflow(
            home=home,
            config_file=config,
            emulator_url=emulator_url,
            smtp_port=sink.port,
            warehouse_url=demo_warehouse_url(out),
        )
        say(f"Sheets emulator at {emulator_url}; SMTP server at 127.0.0.1:{sink.port}")
        home.mkdir(parents=True, exist_ok=True)
        log_path = out / "logs" / "airflow-standalone.log"
        log_path.parent.mkdir(parents=True, exist_ok=True)
        log = stack.enter_context(log_path.open("a", encoding="utf-8"))
        say(f"starting Airflow (log: {log_path}); the first start takes a minute or two")
        try:
            environment = scheduler_environment(airflow, port)
            launched_at = time.time()
            running = stack.enter_context(standalone(environment, port, log))
            url = running.url
            say(f"Airflow UI at {url}")
            passwords = home / "simple_auth_manager_passwords.json.generated"
            say(f"log in as admin, password in {passwords}")
            say(
                f"{DAG_ID} is paused, so nothing starts by itself: trigger it for a demo date "
                "(logical date e.g. 2018-01-16T06:00:00+07:00) and unpause it to let it run "
                f"(catchup is off: Airflow then also starts today's 06:00 run); reports and ESA "
                f"emails land in {out / 'mail'}. Ctrl-C stops everything"
            )
            watcher = start_watching(AirflowApi(url, home), emulator, log_path, launched_at)
            say(
                f"{FEEDBACK_DAG_ID} is unpaused and the triggerer watches Drive (trigger "
                f"{watcher.trigger_id}): an edit to a sheet in {out / 'emulator'} (schoolnet "
                "emulator edit) is in its ผลตรวจสอบ tab within about a minute"
            )
            running.process.wait()
            raise RuntimeError(f"airflow standalone ended (exit code {running.process.returncode})")
        except KeyboardInterrupt:
            say("stopping Airflow, the emulator and the SMTP server ...")
    say("stopped; nothing left running")
    return 0


def register(commands: Any) -> None:
    parser = commands.add_parser(
        "demo-ui",
        help="the Airflow UI on the demo (emulator, SMTP server, Airflow); Ctrl-C stops all",
    )
    parser.add_argument(
        "--port", type=int, default=8080, help="the Airflow UI's port (default 8080; 0: any)"
    )
    parser.add_argument(
        "--out", type=Path, default=None, help="the demo's output folder (default: out/)"
    )
    parser.add_argument(
        "--airflow-home", type=Path, default=None, help="Airflow's home (default: .airflow/)"
    )
    parser.set_defaults(handler=run_ui)
