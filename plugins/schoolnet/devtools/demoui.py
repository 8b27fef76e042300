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
import signal
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

from schoolnet.core.paths import project_root
from schoolnet.devtools.demosetup import DEMO_QUOTA_PER_MINUTE, demo_settings, demo_warehouse_url
from schoolnet.devtools.watching import (
    AirflowApi,
    all_day_settings,
    scheduler_environment,
    standalone,
    start_watching,
    unused_port,
)
from schoolnet.orchestration.live_tasks import DAG_ID as FEEDBACK_DAG_ID
from schoolnet.orchestration.tasks import DAG_ID


def say(message: str) -> None:
    print(f"[schoolnet demo-ui] {message}", flush=True)


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


def run_ui(args: argparse.Namespace) -> int:
    from schoolnet.devtools.devenv import LocalAirflow
    from schoolnet.devtools.emulator import Emulator
    from schoolnet.devtools.mailsink import MailSink

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
            api = AirflowApi(url, home)
            stack.callback(api.leave_paused)  # before Airflow stops (callbacks run in reverse)
            watcher = start_watching(api, emulator, log_path, launched_at)
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
