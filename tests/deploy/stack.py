"""Airflow's production services as local processes, for the deploy tests.

What the compose deployment runs in containers runs here as subprocesses on 127.0.0.1, against
throwaway PostgreSQL databases (Airflow's metadata, the warehouse) with the project's Sheets
emulator and SMTP sink. docker/airflow-init.sh itself prepares Airflow, as the compose file's
airflow-init service does. Runs are triggered and inspected through Airflow's REST API, as an
operator would.
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
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from email.message import EmailMessage
from email.policy import default as default_policy
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import redis
import requests
from sqlalchemy import text
from sqlalchemy.engine import make_url

from schoolnet.devtools.demo import DemoManifest, generate
from schoolnet.devtools.emulator import Emulator, load_day
from schoolnet.devtools.mailsink import MailSink
from schoolnet.orchestration.airflow_glue import TIMEZONE
from schoolnet.orchestration.tasks import DAG_ID
from schoolnet.warehouse import create_warehouse_engine
from tests.conftest import postgres_url
from tests.deploy.worker_identity import WORKER_NAME_VARIABLE
from tests.ports import airflow_log_server_ports
from tests.settings import write_test_settings

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
USER = "operator"
RETRY_DELAY_SECONDS = 4  # [core] default_task_retry_delay here; 120 in production
FINISHED = ("success", "failed")
# Bounds on waiting for a step that takes seconds alone and minutes on a loaded machine: they
# only turn a hang into a failure that says which step hung.
STEP_TIMEOUT_SECONDS = 900
REDIS_URL = os.environ.get("SCHOOLNET_TEST_REDIS_URL", "redis://127.0.0.1:6379")
CLAIM_KEY = "schoolnet-test:claimed-by"
# uvicorn's line once the API server listens; it binds port 0 and says which port it got.
LISTENING = re.compile(r"Uvicorn running on \S*?http://127\.0\.0\.1:(\d+)")


def pg_admin_url() -> str:
    url = postgres_url()
    if url is None:
        pytest.skip("no PostgreSQL server (set SCHOOLNET_TEST_PG_URL)")
    return url


def database_url(admin_url: str, database: str, driver: str = "postgresql+psycopg") -> str:
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
    """Servers a test starts; each is stopped by its pid (then killed after a timeout)."""

    def __init__(self, env: dict[str, str], log_dir: Path) -> None:
        self.env = env
        self.log_dir = log_dir
        self.started: dict[str, subprocess.Popen[bytes]] = {}
        self.logs: dict[str, Path] = {}
        self.ended: set[str] = set()  # killed on purpose by the test

    def start(self, name: str, *args: str, env: Mapping[str, str] | None = None) -> None:
        log = self.log_dir / f"{name}.log"
        self.logs[name] = log
        with log.open("ab") as stream:
            # A session of its own: the pids it leaves (executor workers, API server workers,
            # Celery's pool) share its process group, which is stopped with it.
            process = subprocess.Popen(
                [str(BIN / "airflow"), *args],
                env={**self.env, **(env or {})},
                stdout=stream,
                stderr=subprocess.STDOUT,
                cwd=self.log_dir,
                start_new_session=True,
            )
        self.started[name] = process
        self.ended.discard(name)

    def kill(self, name: str) -> None:
        """SIGKILL the process and everything it started, as a machine that dies would."""
        process = self.started[name]
        self.ended.add(name)
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=30)

    def check_alive(self) -> None:
        for name, process in self.started.items():
            if name not in self.ended and process.poll() is not None:
                tail = "\n".join(self.logs[name].read_text(errors="replace").splitlines()[-40:])
                raise AssertionError(f"airflow {name} exited ({process.returncode}):\n{tail}")

    def log_tail(self, lines: int = 60) -> str:
        return "\n".join(
            f"--- {name} ---\n" + "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
            for name, path in self.logs.items()
        )

    def stop(self) -> None:
        for process in reversed(self.started.values()):
            if process.poll() is None:
                process.terminate()
        deadline = time.monotonic() + 10
        for process in reversed(self.started.values()):
            try:
                process.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=10)
            # Whatever it started and left behind is in the group this test created for it.
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(process.pid, signal.SIGKILL)


def settings_file(
    root: Path, demo: Path, *, requests_per_minute: int = 0, email_esas: bool = False
) -> Path:
    return write_test_settings(
        root / "schoolnet.toml",
        esas=demo / "esas.csv",
        schools=demo / "schools.csv",
        root=root,
        requests_per_minute=requests_per_minute,
        email_esas=email_esas,
    )


def airflow_environment(
    root: Path,
    metadata_url: str,
    config: Path,
    *,
    executor: str = "LocalExecutor",
    extra: Mapping[str, str] | None = None,
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
            "AIRFLOW__CORE__EXECUTOR": executor,
            "AIRFLOW__CORE__PARALLELISM": "8",
            "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "True",
            "AIRFLOW__CORE__DEFAULT_TASK_RETRY_DELAY": str(RETRY_DELAY_SECONDS),
            "AIRFLOW__CORE__FERNET_KEY": "",
            "AIRFLOW__CORE__AUTH_MANAGER": (
                "airflow.api_fastapi.auth.managers.simple.simple_auth_manager.SimpleAuthManager"
            ),
            "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": f"{USER}:admin",
            "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE": str(
                root / "auth" / "passwords.json"
            ),
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
            # beside the triggered ones. The timetable is still checked through next_dagrun.
            "AIRFLOW__SCHEDULER__USE_JOB_SCHEDULE": "False",
            "SCHOOLNET_CONFIG": str(config),
            # Log servers of their own: another test process may run a stack beside this one.
            **airflow_log_server_ports(),
        }
    )
    env.update(extra or {})
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


def wait_for(what: str, check: Callable[[], Any], timeout: float, processes: Processes) -> Any:
    """Poll ``check`` until it returns something true; fail with the services' logs."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        processes.check_alive()
        with contextlib.suppress(requests.RequestException):
            value = check()
            if value:
                return value
        time.sleep(0.5)
    raise AssertionError(f"timed out waiting for {what}\n{processes.log_tail(30)}")


def init_environment(
    env: Mapping[str, str],
    *,
    emulator: Emulator,
    sink: MailSink,
    warehouse_url: str,
    admin_password: str,
    pool_slots: int,
) -> dict[str, str]:
    """What .env gives docker/airflow-init.sh in the compose deployment."""
    return {
        **env,
        "AIRFLOW_ADMIN_PASSWORD": admin_password,
        "GOOGLE_SHEETS_POOL_SLOTS": str(pool_slots),
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


def run_init_script(env: Mapping[str, str]) -> None:
    init = subprocess.run(
        ["bash", str(ROOT / "docker" / "airflow-init.sh")],
        env=dict(env),
        capture_output=True,
        text=True,
        check=False,
        timeout=STEP_TIMEOUT_SECONDS,
    )
    assert init.returncode == 0, f"airflow-init.sh failed:\n{init.stdout}\n{init.stderr}"


@dataclass
class Stack:
    """The running services and what they talk to."""

    root: Path
    manifest: DemoManifest
    api: str
    session: requests.Session
    sink: MailSink
    emulator: Emulator
    warehouse_url: str
    processes: Processes
    started_at: datetime  # before any Airflow process ran: the earliest the DAG was parsed
    run_ids: dict[date, str] = field(default_factory=dict)

    def get(self, path: str, **params: Any) -> Any:
        response = self.session.get(f"{self.api}/api/v2{path}", params=params, timeout=30)
        response.raise_for_status()
        return response.json()

    def post(self, path: str, body: Mapping[str, Any]) -> Any:
        response = self.session.post(f"{self.api}/api/v2{path}", json=body, timeout=30)
        assert response.ok, response.text
        return response.json()

    def log_tail(self, lines: int = 60) -> str:
        return self.processes.log_tail(lines)

    def unpause(self, dag_id: str = DAG_ID) -> None:
        dag = wait_for(
            f"{dag_id} to be parsed",
            lambda: self.get(f"/dags/{dag_id}"),
            STEP_TIMEOUT_SECONDS,
            self.processes,
        )
        assert dag["is_paused"] is True  # paused at creation, as in production
        response = self.session.patch(
            f"{self.api}/api/v2/dags/{dag_id}", json={"is_paused": False}, timeout=30
        )
        assert response.ok, response.text

    def trigger(self, day: date) -> str:
        """Start the morning run of ``day`` (06:00 in Bangkok) and return its run id."""
        logical = datetime(day.year, day.month, day.day, 6, tzinfo=ZoneInfo(TIMEZONE))
        run = self.post(f"/dags/{DAG_ID}/dagRuns", {"logical_date": logical.isoformat()})
        self.run_ids[day] = run["dag_run_id"]
        return str(run["dag_run_id"])

    def run_state(self, run_id: str) -> str:
        return str(self.get(f"/dags/{DAG_ID}/dagRuns/{run_id}")["state"])

    def wait_finished(
        self, run_id: str, timeout: float, while_waiting: Callable[[], None] | None = None
    ) -> str:
        """Wait for the run to end (success or failed); ``while_waiting`` runs on each poll."""
        deadline = time.monotonic() + timeout
        state = "queued"
        while time.monotonic() < deadline and state not in FINISHED:
            self.processes.check_alive()
            if while_waiting is not None:
                while_waiting()
            time.sleep(0.5)
            state = self.run_state(run_id)
        assert state in FINISHED, f"run {run_id} still {state}\n{self.log_tail()}"
        return state

    def mapped_pulls(self, run_id: str) -> list[dict[str, Any]]:
        found = self.get(
            f"/dags/{DAG_ID}/dagRuns/{run_id}/taskInstances/pull_sheet/listMapped", limit=1000
        )
        return list(found["task_instances"])

    def tries(self, run_id: str, map_index: int) -> list[dict[str, Any]]:
        found = self.get(
            f"/dags/{DAG_ID}/dagRuns/{run_id}/taskInstances/pull_sheet/{map_index}/tries"
        )
        return list(found["task_instances"])

    def messages(self) -> list[EmailMessage]:
        return [
            email.message_from_bytes(path.read_bytes(), policy=default_policy)
            for path in self.sink.messages()
        ]


@contextlib.contextmanager
def airflow_stack(
    *,
    root: Path,
    manifest: DemoManifest,
    emulator: Emulator,
    sink: MailSink,
    admin_url: str,
    metadata_db: str,
    warehouse_db: str,
    settings: Path,
    pool_slots: int,
    services: Callable[[Processes], None],
    executor: str = "LocalExecutor",
    extra_env: Mapping[str, str] | None = None,
) -> Iterator[Stack]:
    """Initialise Airflow with the deployment's init script, start the API server, then the
    ``services`` (scheduler, DAG processor, workers...), log in, and stop them all at the end."""
    password = secrets.token_urlsafe(16)
    (root / "logs").mkdir(exist_ok=True)
    warehouse_url = database_url(admin_url, warehouse_db)
    env = airflow_environment(
        root, database_url(admin_url, metadata_db), settings, executor=executor, extra=extra_env
    )
    run_init_script(
        init_environment(
            env,
            emulator=emulator,
            sink=sink,
            warehouse_url=warehouse_url,
            admin_password=password,
            pool_slots=pool_slots,
        )
    )
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
        services(processes)
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
            root, manifest, api, session, sink, emulator, warehouse_url, processes, started_at
        )
    finally:
        processes.stop()


@contextlib.contextmanager
def one_day_stack(
    root: Path,
    *,
    esa_count: int,
    pool_slots: int,
    services: Callable[[Processes], None],
    settings: Callable[[Path, Path], Path] = settings_file,
    extra_env: Mapping[str, str] | None = None,
) -> Iterator[Stack]:
    """``airflow_stack`` over a demo data set of ``esa_count`` ESAs and one day, served by the
    emulator without a quota, a mail sink, and throwaway metadata and warehouse databases;
    ``settings(root, demo folder)`` writes the settings file."""
    admin_url = pg_admin_url()
    demo = root / "demo-data"
    manifest = generate(demo, esa_limit=esa_count, days=1)
    state = root / "emulator"
    load_day(state, demo, manifest.days[0])
    suffix = uuid.uuid4().hex[:10]
    metadata_db, warehouse_db = f"schoolnet_airflow_{suffix}", f"schoolnet_wh_{suffix}"
    with (
        throwaway_databases(admin_url, metadata_db, warehouse_db),
        Emulator(state, read_quota_per_minute=0, write_quota_per_minute=0) as emulator,
        MailSink(root / "mail") as sink,
        airflow_stack(
            root=root,
            manifest=manifest,
            emulator=emulator,
            sink=sink,
            admin_url=admin_url,
            metadata_db=metadata_db,
            warehouse_db=warehouse_db,
            settings=settings(root, demo),
            pool_slots=pool_slots,
            services=services,
            extra_env=extra_env,
        ) as running,
    ):
        yield running


# --- the CeleryExecutor --------------------------------------------------------------------------


@contextlib.contextmanager
def redis_database() -> Iterator[int]:
    """A Redis database number of the caller's own: the first empty one, claimed with a key so
    that a concurrent test takes another, and flushed at the end."""
    try:
        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2).ping()
    except redis.RedisError:
        if os.environ.get("SCHOOLNET_TEST_REDIS_URL"):
            raise
        pytest.skip("no Redis server (set SCHOOLNET_TEST_REDIS_URL)")
    token = secrets.token_hex(8)
    for number in range(1, 16):
        client = redis.Redis.from_url(REDIS_URL, db=number)
        if client.set(CLAIM_KEY, token, nx=True, ex=3600):
            if client.dbsize() == 1:
                try:
                    yield number
                finally:
                    client.flushdb()
                    client.close()
                return
            client.delete(CLAIM_KEY)
        client.close()
    pytest.skip("no empty Redis database to use")


def celery_environment(
    admin_url: str, metadata_db: str, redis_db: int, concurrency: int
) -> dict[str, str]:
    """The compose file's Celery settings: Redis as the broker, the metadata database as the
    result backend."""
    return {
        "AIRFLOW__CELERY__BROKER_URL": f"{REDIS_URL}/{redis_db}",
        "AIRFLOW__CELERY__RESULT_BACKEND": "db+" + database_url(admin_url, metadata_db),
        "AIRFLOW__CELERY__WORKER_CONCURRENCY": str(concurrency),
    }


def start_worker(processes: Processes, name: str) -> None:
    """One ``airflow celery worker``, which tells Airflow its ``name`` as its host name."""
    processes.start(
        name,
        "celery",
        "worker",
        "--celery-hostname",
        f"{name}@%h",
        "--skip-serve-logs",  # the scheduler's log server serves the whole stack
        env={
            # Every worker runs on this one machine: each names itself instead.
            "AIRFLOW__CORE__HOSTNAME_CALLABLE": "tests.deploy.worker_identity.hostname",
            WORKER_NAME_VARIABLE: name,
            "PYTHONPATH": os.pathsep.join(
                filter(None, [str(ROOT), os.environ.get("PYTHONPATH", "")])
            ),
        },
    )
