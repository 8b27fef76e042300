"""The production path without Docker: scheduler, DAG processor and API server as processes.

What the compose deployment runs in containers runs here as subprocesses on 127.0.0.1, against a
throwaway PostgreSQL database for Airflow's metadata and another for the warehouse, with the
project's Sheets emulator and SMTP sink. docker/airflow-init.sh itself prepares Airflow (metadata
migration, the three connections, the pool, the admin's password, the warehouse migration).
The run is triggered and inspected through Airflow's REST API, as an operator would.

The executor is the LocalExecutor instead of Celery: the scheduler, the pool, the retries and the
task runtime (task SDK through the API server's execution API) are the same code either way.
"""

from __future__ import annotations

import contextlib
import email
import json
import os
import re
import secrets
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from email.message import EmailMessage
from email.policy import default as default_policy
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import requests
from sqlalchemy import text
from sqlalchemy.engine import make_url

from schoolnet.demo import DemoManifest, generate
from schoolnet.emulator import Emulator, load_day
from schoolnet.mailsink import MailSink
from schoolnet.registry import read_esas
from schoolnet.report import SUBJECT_PREFIX
from schoolnet.tasks import DAG_ID, GOOGLE_POOL, SCHEDULE_CRON, TIMEZONE
from schoolnet.thai import thai_date
from schoolnet.warehouse import create_warehouse_engine
from tests.conftest import postgres_url
from tests.settings import write_test_settings

# The first test also starts the stack (Airflow's migration, three services, the DAG's parse).
pytestmark = [pytest.mark.e2e, pytest.mark.postgres, pytest.mark.timeout(2400)]

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
ESA_COUNT = 10
POOL_SLOTS = 3
RETRY_DELAY_SECONDS = 4  # [core] default_task_retry_delay here; 120 in production
RUN_TIMEOUT_SECONDS = 8 * 60
# Bounds on waiting for a step that takes seconds alone and minutes on a loaded machine: they
# only turn a hang into a failure that says which step hung.
STEP_TIMEOUT_SECONDS = 900
USER = "operator"
# uvicorn's line once the API server listens; it binds port 0 and says which port it got.
LISTENING = re.compile(r"Uvicorn running on \S*?http://127\.0\.0\.1:(\d+)")


@dataclass
class Stack:
    root: Path
    manifest: DemoManifest
    day: date
    api: str
    session: requests.Session
    sink: MailSink
    emulator: Emulator
    warehouse_url: str
    processes: Processes
    started_at: datetime  # before any Airflow process ran: the earliest the DAG was parsed

    def get(self, path: str, **params: Any) -> Any:
        response = self.session.get(f"{self.api}/api/v2{path}", params=params, timeout=30)
        response.raise_for_status()
        return response.json()

    def log_tail(self, lines: int = 60) -> str:
        parts = []
        for name, path in self.processes.logs.items():
            content = path.read_text(encoding="utf-8", errors="replace").splitlines()
            parts.append(f"--- {name} ({path}) ---\n" + "\n".join(content[-lines:]))
        return "\n".join(parts)


def _pg_admin_url() -> str:
    url = postgres_url()
    if url is None:
        pytest.skip("no PostgreSQL server (set SCHOOLNET_TEST_PG_URL)")
    return url


def _database_url(admin_url: str, database: str, driver: str = "postgresql+psycopg") -> str:
    return make_url(admin_url).set(drivername=driver, database=database).render_as_string(False)


@contextlib.contextmanager
def throwaway_databases(admin_url: str, *names: str) -> Iterator[None]:
    """CREATE DATABASE each name; DROP them (closing what still uses them) at the end."""
    engine = create_warehouse_engine(admin_url).execution_options(isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            for name in names:
                conn.execute(text(f'CREATE DATABASE "{name}"'))
        yield
    finally:
        with engine.connect() as conn:
            for name in names:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        engine.dispose()


class Processes:
    """Servers this test starts; each is stopped by its pid (then killed after a timeout)."""

    def __init__(self, env: dict[str, str], log_dir: Path) -> None:
        self.env = env
        self.log_dir = log_dir
        self.started: list[subprocess.Popen[bytes]] = []
        self.logs: dict[str, Path] = {}

    def start(self, name: str, *args: str) -> None:
        log = self.log_dir / f"{name}.log"
        self.logs[name] = log
        with log.open("wb") as stream:
            # A session of its own: the pids it leaves (LocalExecutor workers, API server
            # workers) share its process group, which is stopped with it.
            process = subprocess.Popen(
                [str(BIN / "airflow"), *args],
                env=self.env,
                stdout=stream,
                stderr=subprocess.STDOUT,
                cwd=self.log_dir,
                start_new_session=True,
            )
        self.started.append(process)

    def check_alive(self) -> None:
        for process, (name, log) in zip(self.started, self.logs.items(), strict=True):
            if process.poll() is not None:
                tail = "\n".join(log.read_text(errors="replace").splitlines()[-40:])
                raise AssertionError(f"airflow {name} exited ({process.returncode}):\n{tail}")

    def stop(self) -> None:
        for process in reversed(self.started):
            if process.poll() is None:
                process.terminate()
        deadline = time.monotonic() + 10
        for process in reversed(self.started):
            try:
                process.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=10)
            # Whatever it started and left behind is in the group this test created for it.
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(process.pid, signal.SIGKILL)


def settings_file(root: Path, demo: Path) -> Path:
    return write_test_settings(
        root / "schoolnet.toml",
        esas=demo / "esas.csv",
        schools=demo / "schools.csv",
        root=root,
        email_esas=False,  # the report is the one email this test counts
    )


def airflow_environment(
    root: Path, metadata_url: str, passwords: Path, config: Path
) -> dict[str, str]:
    """Airflow's settings for every process: what docker-compose.yaml sets, scaled to a test.

    The API server's address is added by ``api_address`` once it listens (it binds port 0).
    """
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("AIRFLOW__", "AIRFLOW_CONN_", "SCHOOLNET_"))
    }
    env.update(
        {
            "PATH": f"{BIN}{os.pathsep}{env.get('PATH', '')}",
            "AIRFLOW_HOME": str(root / "airflow"),
            "AIRFLOW__CORE__DAGS_FOLDER": str(ROOT / "dags"),
            "AIRFLOW__CORE__PLUGINS_FOLDER": str(ROOT / "plugins"),
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "AIRFLOW__CORE__UNIT_TEST_MODE": "False",
            "AIRFLOW__CORE__EXECUTOR": "LocalExecutor",
            "AIRFLOW__CORE__PARALLELISM": "8",
            "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "True",
            "AIRFLOW__CORE__DEFAULT_TASK_RETRY_DELAY": str(RETRY_DELAY_SECONDS),
            "AIRFLOW__CORE__FERNET_KEY": "",
            "AIRFLOW__CORE__AUTH_MANAGER": (
                "airflow.api_fastapi.auth.managers.simple.simple_auth_manager.SimpleAuthManager"
            ),
            "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": f"{USER}:admin",
            "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE": str(passwords),
            "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": metadata_url,
            # psycopg 3 serves both; the image's default async driver (asyncpg) is not in .venv.
            "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN_ASYNC": metadata_url,
            "AIRFLOW__API__HOST": "127.0.0.1",
            "AIRFLOW__API__WORKERS": "1",
            "AIRFLOW__API__SECRET_KEY": secrets.token_hex(16),
            "AIRFLOW__API_AUTH__JWT_SECRET": secrets.token_hex(32),
            "AIRFLOW__LOGGING__BASE_LOG_FOLDER": str(root / "airflow" / "logs"),
            # Fast enough for a test: the DAG folder is listed and parsed every few seconds,
            # the scheduler loops without idling long.
            "AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL": "5",
            "AIRFLOW__DAG_PROCESSOR__MIN_FILE_PROCESS_INTERVAL": "5",
            "AIRFLOW__DAG_PROCESSOR__PARSING_PROCESSES": "1",
            "AIRFLOW__SCHEDULER__SCHEDULER_IDLE_SLEEP_TIME": "0.5",
            "AIRFLOW__SCHEDULER__JOB_HEARTBEAT_SEC": "2",
            "AIRFLOW__SCHEDULER__SCHEDULER_HEARTBEAT_SEC": "2",
            # No cron runs: catchup=False would start the latest missed 06:00 run on unpause,
            # beside the triggered one. The timetable is still checked through next_dagrun.
            "AIRFLOW__SCHEDULER__USE_JOB_SCHEDULE": "False",
            "SCHOOLNET_CONFIG": str(config),
        }
    )
    return env


def api_address(port: int) -> dict[str, str]:
    """Where the scheduler's task runners reach the API server listening on ``port``."""
    return {
        "AIRFLOW__API__PORT": str(port),
        "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"http://127.0.0.1:{port}/execution/",
    }


def listening_port(log: Path) -> int | None:
    """The port the API server said it listens on, once it has said so."""
    found = LISTENING.search(log.read_text(encoding="utf-8", errors="replace"))
    return int(found.group(1)) if found else None


def wait_for(what: str, check: Any, timeout: float, processes: Processes) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        processes.check_alive()
        with contextlib.suppress(requests.RequestException):
            value = check()
            if value:
                return value
        time.sleep(0.5)
    tail = "\n".join(
        f"--- {name} ---\n" + "\n".join(path.read_text(errors="replace").splitlines()[-30:])
        for name, path in processes.logs.items()
    )
    raise AssertionError(f"timed out waiting for {what}\n{tail}")


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    admin_url = _pg_admin_url()
    root = tmp_path_factory.mktemp("scheduler-path")
    demo = root / "demo-data"
    manifest = generate(demo, esa_limit=ESA_COUNT, days=1)
    day = manifest.days[0]
    state = root / "emulator"
    load_day(state, demo, day)
    suffix = uuid.uuid4().hex[:10]
    metadata_db, warehouse_db = f"schoolnet_airflow_{suffix}", f"schoolnet_wh_{suffix}"
    passwords = root / "auth" / "passwords.json"
    password = secrets.token_urlsafe(16)
    (root / "logs").mkdir()
    with (
        throwaway_databases(admin_url, metadata_db, warehouse_db),
        Emulator(state, read_quota_per_minute=0, write_quota_per_minute=0) as emulator,
        MailSink(root / "mail") as sink,
    ):
        warehouse_url = _database_url(admin_url, warehouse_db)
        env = airflow_environment(
            root,
            _database_url(admin_url, metadata_db),
            passwords,
            settings_file(root, demo),
        )
        init_env = {
            **env,
            "AIRFLOW_ADMIN_PASSWORD": password,
            "GOOGLE_SHEETS_POOL_SLOTS": str(POOL_SLOTS),
            "SCHOOLNET_GOOGLE_CONN": json.dumps(
                {"conn_type": "generic", "extra": {"emulator_url": emulator.base_url}}
            ),
            "WAREHOUSE_CONN": json.dumps(
                {"conn_type": "generic", "extra": {"sqlalchemy_url": warehouse_url}}
            ),
            "SMTP_CONN": json.dumps(
                {
                    "conn_type": "smtp",
                    "host": "127.0.0.1",
                    "port": sink.port,
                    "extra": {
                        "disable_ssl": True,
                        "disable_tls": True,
                        "from_email": "schoolnet@obec.go.th",
                        "timeout": 30,
                    },
                }
            ),
        }
        init = subprocess.run(
            ["bash", str(ROOT / "docker" / "airflow-init.sh")],
            env=init_env,
            capture_output=True,
            text=True,
            check=False,
            timeout=STEP_TIMEOUT_SECONDS,
        )
        assert init.returncode == 0, f"airflow-init.sh failed:\n{init.stdout}\n{init.stderr}"
        processes = Processes(env, root / "logs")
        started_at = datetime.now(UTC)
        try:
            processes.start("api-server", "api-server", "--host", "127.0.0.1", "-p", "0")
            api_port = wait_for(
                "the API server's port",
                lambda: listening_port(processes.logs["api-server"]),
                STEP_TIMEOUT_SECONDS,
                processes,
            )
            processes.env = {**env, **api_address(api_port)}
            processes.start("dag-processor", "dag-processor")
            processes.start("scheduler", "scheduler")
            api = f"http://127.0.0.1:{api_port}"
            wait_for(
                "the API server",
                lambda: requests.get(f"{api}/api/v2/monitor/health", timeout=5).ok,
                STEP_TIMEOUT_SECONDS,
                processes,
            )
            login = requests.post(
                f"{api}/auth/token", json={"username": USER, "password": password}, timeout=30
            )
            assert login.status_code == 201, login.text
            session = requests.Session()
            session.headers["Authorization"] = f"Bearer {login.json()['access_token']}"
            yield Stack(
                root,
                manifest,
                day,
                api,
                session,
                sink,
                emulator,
                warehouse_url,
                processes,
                started_at,
            )
        finally:
            processes.stop()


def bangkok(moment: str) -> datetime:
    return datetime.fromisoformat(moment).astimezone(ZoneInfo(TIMEZONE))


def latest_daily_fire(moment: datetime) -> datetime:
    """The latest time the DAG's daily cron fired at or before ``moment``, in Bangkok."""
    minute, hour, *every_day = SCHEDULE_CRON.split()
    assert every_day == ["*", "*", "*"], f"not a daily cron: {SCHEDULE_CRON}"
    local = moment.astimezone(ZoneInfo(TIMEZONE))
    fired = local.replace(hour=int(hour), minute=int(minute), second=0, microsecond=0)
    return fired if fired <= local else fired - timedelta(days=1)


def overlaps(intervals: list[tuple[datetime, datetime]]) -> int:
    """The most intervals open at one moment (an end before a start at the same instant)."""
    events = sorted([(start, 1) for start, _ in intervals] + [(end, -1) for _, end in intervals])
    most = current = 0
    for _, step in events:
        current += step
        most = max(most, current)
    return most


def test_a_triggered_run_goes_through_scheduler_pool_retries_warehouse_and_mail(
    stack: Stack,
) -> None:
    esas = read_esas(stack.root / "demo-data" / "esas.csv")
    flaky = esas[2]
    # The first try of one ESA's pull cannot write its validation result (a directory is in
    # the way of the file, as a full or broken disk would do); the retry after the delay can.
    # (A Google error would not do: an unreadable sheet is an outcome, not a task failure.)
    blocker = stack.root / "data" / "validated" / stack.day.isoformat() / f"{flaky.esa_code}.json"
    blocker.mkdir(parents=True)

    dag = wait_for(
        "the DAG to be parsed",
        lambda: stack.get(f"/dags/{DAG_ID}"),
        STEP_TIMEOUT_SECONDS,
        stack.processes,
    )
    assert dag["is_paused"] is True  # paused at creation, as in production
    unpaused = stack.session.patch(
        f"{stack.api}/api/v2/dags/{DAG_ID}", json={"is_paused": False}, timeout=30
    )
    assert unpaused.ok, unpaused.text
    logical = datetime(stack.day.year, stack.day.month, stack.day.day, 6, tzinfo=ZoneInfo(TIMEZONE))
    triggered = stack.session.post(
        f"{stack.api}/api/v2/dags/{DAG_ID}/dagRuns",
        json={"logical_date": logical.isoformat(), "conf": {}},
        timeout=30,
    )
    assert triggered.ok, triggered.text
    run_id = triggered.json()["dag_run_id"]
    runs = f"/dags/{DAG_ID}/dagRuns/{run_id}"

    deadline = time.monotonic() + RUN_TIMEOUT_SECONDS
    state = "queued"
    while time.monotonic() < deadline and state not in ("success", "failed"):
        time.sleep(0.5)
        if blocker.exists():
            # Only the flaky ESA can fail (its label is rendered once it succeeds).
            waiting = stack.get(
                f"{runs}/taskInstances/pull_sheet/listMapped", state="up_for_retry", limit=100
            )
            if waiting["total_entries"]:
                blocker.rmdir()  # healed: the retry can write its result
        state = stack.get(runs)["state"]
    assert state == "success", f"run {run_id} ended {state}\n{stack.log_tail()}"

    # Mapped pulls: one per ESA, all succeeded, the flaky one on its second try.
    mapped = stack.get(f"{runs}/taskInstances/pull_sheet/listMapped", limit=100)["task_instances"]
    assert len(mapped) == ESA_COUNT
    assert {ti["state"] for ti in mapped} == {"success"}
    by_esa = {str(ti["rendered_map_index"]).split()[0]: ti for ti in mapped}
    assert set(by_esa) == {esa.esa_code for esa in esas}
    assert by_esa[flaky.esa_code]["try_number"] == 2
    assert all(ti["try_number"] == 1 for code, ti in by_esa.items() if code != flaky.esa_code)
    tries = stack.get(
        f"{runs}/taskInstances/pull_sheet/{by_esa[flaky.esa_code]['map_index']}/tries"
    )
    first, second = sorted(tries["task_instances"], key=lambda t: t["try_number"])
    assert first["state"] in ("failed", "up_for_retry") and second["state"] == "success"
    waited = datetime.fromisoformat(second["start_date"]) - datetime.fromisoformat(
        first["end_date"]
    )
    assert waited >= timedelta(seconds=RETRY_DELAY_SECONDS)  # Airflow's configured delay

    # The pool held the pulls to its 3 slots, and they did run side by side.
    intervals = [
        (datetime.fromisoformat(t["start_date"]), datetime.fromisoformat(t["end_date"]))
        for ti in mapped
        for t in stack.get(f"{runs}/taskInstances/pull_sheet/{ti['map_index']}/tries")[
            "task_instances"
        ]
        if t["start_date"] and t["end_date"]
    ]
    assert len(intervals) == ESA_COUNT + 1
    assert all(ti["pool"] == GOOGLE_POOL for ti in mapped)
    assert 1 < overlaps(intervals) <= POOL_SLOTS
    assert stack.get(f"/pools/{GOOGLE_POOL}")["slots"] == POOL_SLOTS  # made by airflow-init.sh

    # The retry waited Airflow's configured delay: the DAG sets none of its own.
    task = stack.get(f"/dags/{DAG_ID}/tasks/pull_sheet")
    assert task["retry_delay"]["seconds"] == RETRY_DELAY_SECONDS and task["retries"] == 2
    send = stack.get(f"/dags/{DAG_ID}/tasks/send_report")
    assert send["retry_delay"]["seconds"] == RETRY_DELAY_SECONDS
    assert send["retry_exponential_backoff"] == 2.0  # each wait doubles the last

    # The warehouse holds the day's snapshot of every school of the data set.
    engine = create_warehouse_engine(stack.warehouse_url)
    try:
        with engine.connect() as conn:
            schools = conn.execute(
                text("SELECT count(*) FROM snapshot WHERE report_date = :day"), {"day": stack.day}
            ).scalar_one()
    finally:
        engine.dispose()
    assert schools == stack.manifest.school_count

    # Exactly one mail reached the mail server: the report, for the run's date (ESA feedback is
    # off in these settings, and no operator alert, since no task failed for good).
    messages: list[EmailMessage] = [
        email.message_from_bytes(path.read_bytes(), policy=default_policy)
        for path in stack.sink.messages()
    ]
    reports = [m for m in messages if str(m["Subject"]).startswith(SUBJECT_PREFIX)]
    assert [m["Subject"] for m in reports] == [f"{SUBJECT_PREFIX} {thai_date(stack.day)}"]
    assert len(messages) == 1, [m["Subject"] for m in messages]


def test_the_next_scheduled_run_is_at_six_in_the_morning_in_bangkok(stack: Stack) -> None:
    dag = wait_for(
        "the DAG's next run",
        lambda: stack.get(f"/dags/{DAG_ID}"),
        STEP_TIMEOUT_SECONDS,
        stack.processes,
    )
    parsed_by = datetime.now(UTC)
    # The DAG processor computes the next run from the timetable when it stores the DAG. With
    # catchup off and no scheduled run yet, it is the latest 06:00 in Bangkok at that moment:
    # today's after 06:00, yesterday's before (a run at 03:00 still has yesterday's to make).
    # That moment lies between the stack's start and now; 06:00 may have passed in between.
    expected = {latest_daily_fire(stack.started_at), latest_daily_fire(parsed_by)}
    assert dag["next_dagrun_run_after"] and dag["next_dagrun_logical_date"], dag
    for moment in (dag["next_dagrun_run_after"], dag["next_dagrun_logical_date"]):
        next_run = bangkok(moment)
        assert (next_run.hour, next_run.minute, next_run.second) == (6, 0, 0), moment
        assert next_run in expected, (moment, sorted(expected))
    assert dag["timetable_summary"] and "0 6 * * *" in dag["timetable_summary"]
