"""The operator's runbook commands, run for real: a temp ESA registry, the Sheets emulator, a
warehouse on both engines, a real SMTP sink, and a throwaway Airflow home with a migrated SQLite
metadata database for the connection and the ``airflow`` commands.

Every command goes through one of four functions (``schoolnet``, ``airflow``, ``airflow_in``,
``schoolnet_in``) with its words as literals: ``tests/unit/operations/test_runbook.py`` reads
those calls to check that every command of ``docs/operations.md`` is exercised here.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import re
import shutil
import signal
import smtplib
import socket
import subprocess
import sys
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from email.message import EmailMessage
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import Engine, select, text
from sqlalchemy.engine import make_url

from schoolnet.cli.main import main
from schoolnet.cli.sheets import EMULATOR_RETRIES
from schoolnet.core.config import load_settings
from schoolnet.core.message import RenderedEmail
from schoolnet.core.registry import Esa, read_esas, write_csv
from schoolnet.delivery.mail import deliver_once
from schoolnet.devtools.checkout import EMULATOR_PORT, SMTP_PORT, checkout_airflow
from schoolnet.devtools.demo import DemoManifest, generate
from schoolnet.devtools.devenv import LocalAirflow
from schoolnet.devtools.emulator import Emulator, load_day, set_fault
from schoolnet.devtools.mailsink import MailSink
from schoolnet.ingestion.google import EmulatorSession
from schoolnet.ingestion.ingest import SheetsReader
from schoolnet.orchestration.merge import merge
from schoolnet.orchestration.pull import pull_and_validate
from schoolnet.orchestration.registries import load_school_registry
from schoolnet.report.daily import build_report
from schoolnet.report.files import save_files
from schoolnet.warehouse import create_warehouse_engine, ensure_schema
from schoolnet.warehouse.models import (
    Base,
    EsaHistoryRow,
    MergeRunRow,
    PullRow,
    QuarantineReleaseRow,
    RegistryChangeRow,
)
from tests.conftest import postgres_url
from tests.keys import private_key_pem
from tests.ports import holding_ports
from tests.settings import write_test_settings

BANGKOK = ZoneInfo("Asia/Bangkok")
BIN = Path(sys.executable).parent
ROOT = Path(__file__).resolve().parents[3]


# --- the functions every command goes through ----------------------------------------------------


def schoolnet(*words: str) -> tuple[int, str, str]:
    """``schoolnet WORDS`` in this process: exit code, standard output, standard error."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(list(words))
    return code, out.getvalue(), err.getvalue()


def _run(
    program: str, env: dict[str, str], words: tuple[str, ...]
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(BIN / program), *words], env=env, capture_output=True, text=True, check=False
    )


def airflow_in(env: dict[str, str], *words: str) -> subprocess.CompletedProcess[str]:
    """``airflow WORDS`` in the environment ``env``; fails the test if Airflow fails."""
    completed = subprocess.run(
        [str(BIN / "airflow"), *words], env=env, capture_output=True, text=True, check=False
    )
    assert completed.returncode == 0, completed.stdout[-2000:] + completed.stderr[-3000:]
    return completed


@contextlib.contextmanager
def schoolnet_in(env: dict[str, str], *words: str) -> Iterator[subprocess.Popen[str]]:
    """``schoolnet WORDS`` in its own process with the environment ``env`` (a server, running
    through the block), stopped by its process id after it."""
    process = subprocess.Popen(
        [str(BIN / "schoolnet"), *words],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        yield process
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        if process.stdout is not None:
            process.stdout.close()


# --- the scratch world ---------------------------------------------------------------------------


@dataclass
class Sheets:
    demo: Path
    manifest: DemoManifest
    state: Path
    emulator: Emulator
    sink: MailSink
    esas: list[Esa]  # three ESAs; the registry of the tests holds the first two


@pytest.fixture(scope="module")
def sheets(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sheets]:
    root = tmp_path_factory.mktemp("operations")
    demo = root / "demo"
    manifest = generate(demo, esa_limit=3, days=2)
    state = root / "emulator"
    load_day(state, demo, manifest.days[0])
    # No quota: the module's tests run many days within a minute, and a 429 is not their subject
    # (a write refused mid-test made a clerk's edit fail on a slow machine).
    with (
        Emulator(state, read_quota_per_minute=0, write_quota_per_minute=0) as emulator,
        MailSink(root / "mail") as sink,
    ):
        yield Sheets(demo, manifest, state, emulator, sink, read_esas(demo / "esas.csv"))


def write_settings(root: Path, sheets: Sheets, registry: Path) -> Path:
    return write_test_settings(
        root / "schoolnet.toml", esas=registry, schools=sheets.demo / "schools.csv", root=root
    )


@pytest.fixture
def registry(tmp_path: Path, sheets: Sheets, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A registry file of the first two ESAs, named by the settings the commands read."""
    path = tmp_path / "esas.csv"
    write_csv(path, sheets.esas[:2])
    monkeypatch.setenv("SCHOOLNET_CONFIG", str(write_settings(tmp_path, sheets, path)))
    return path


def run_day(sheets: Sheets, day: date, engine: Engine, **airflow: Any) -> None:
    """The day's pulls and merge, as the DAG's tasks run them (through the emulator)."""
    settings = load_settings()
    reader = SheetsReader(EmulatorSession(sheets.emulator.base_url), EMULATOR_RETRIES)
    schools = load_school_registry(settings)
    for esa in read_esas(settings.registry.esas):
        pull_and_validate(esa, day, settings, reader, schools, engine, **airflow)
    merge(day, settings, engine)


def add_args(esa: Esa, *extra: str) -> list[str]:
    return [
        "--code",
        esa.esa_code,
        "--name",
        esa.esa_name,
        "--province",
        esa.province,
        "--level",
        esa.level,
        "--sheet-id",
        esa.spreadsheet_id,
        "--contact",
        esa.contact_email,
        *extra,
    ]


# --- the ESA registry ----------------------------------------------------------------------------


def test_esa_add_checks_the_sheet_and_appends_one_line(
    registry: Path, sheets: Sheets, empty_url: str, warehouse_engine: Engine
) -> None:
    before = registry.read_bytes()
    new = sheets.esas[2]
    code, out, err = schoolnet(
        "esa", "add", *add_args(new, "--check", "--emulator-url", sheets.emulator.base_url),
        "--reason", "เขตใหม่", "--url", empty_url,
    )  # fmt: skip
    assert code == 0, err
    assert f"ESA {new.esa_code}: sheet {new.spreadsheet_id} read" in out
    after = registry.read_bytes()
    assert after.startswith(before)  # the other lines are untouched
    assert read_esas(registry) == [*sheets.esas[:2], new]
    with warehouse_engine.connect() as conn:
        change = conn.execute(select(RegistryChangeRow.__table__)).mappings().one()
    assert (change["esa_code"], change["action"], change["reason"]) == (
        new.esa_code,
        "add",
        "เขตใหม่",
    )
    # The address of the sheet, as the browser shows it, is taken for its id.
    url = f"https://docs.google.com/spreadsheets/d/{'1' + 'x' * 43}/edit#gid=0"
    other = Esa("109999", "สพป.ทดสอบ", "primary", "ทดสอบ", url, "it@test.obec.go.th")
    code, _out, err = schoolnet("esa", "add", *add_args(other, "--url", empty_url))
    assert code == 0, err
    assert read_esas(registry)[-1].spreadsheet_id == "1" + "x" * 43
    assert "no school of ESA 109999" in err  # the school registry lacks its schools


@pytest.mark.parametrize(
    ("field", "value", "english"),
    [
        ("esa_code", "10520", "must be 6 digits"),
        ("esa_code", "", "must be 6 digits"),
        ("spreadsheet_id", "not a sheet", "not a Google Sheets id"),
        ("contact_email", "it at esa", "not an email address"),
        ("esa_name", " ", "the ESA name is empty"),
    ],
)
def test_esa_add_refuses_a_wrong_entry_and_writes_nothing(
    registry: Path, sheets: Sheets, field: str, value: str, english: str
) -> None:
    before = registry.read_bytes()
    esa = Esa(**{**vars(sheets.esas[2]), field: value})
    code, _out, err = schoolnet("esa", "add", *add_args(esa, "--url", "sqlite://"))
    assert code == 1
    assert english in err and " / " in err  # Thai, then English
    assert registry.read_bytes() == before


def test_esa_add_refuses_a_registered_code_or_sheet_and_an_unreadable_sheet(
    registry: Path, sheets: Sheets
) -> None:
    before = registry.read_bytes()
    taken = sheets.esas[0]
    code, _out, err = schoolnet("esa", "add", *add_args(taken, "--url", "sqlite://"))
    assert code == 1
    assert f"รหัสเขต {taken.esa_code} มีอยู่แล้วในทะเบียน" in err
    assert f"already the sheet of ESA {taken.esa_code}" in err
    missing = Esa(**{**vars(sheets.esas[2]), "spreadsheet_id": "1" + "z" * 43})
    code, _out, err = schoolnet(
        "esa", "add", *add_args(missing, "--check", "--emulator-url", sheets.emulator.base_url)
    )
    assert code == 1
    assert "not_found" in err and "อ่านชีตของเขต" in err
    assert registry.read_bytes() == before


def test_esa_retire_removes_the_entry_and_the_warehouse_keeps_its_history(
    registry: Path, sheets: Sheets, empty_url: str, warehouse_engine: Engine
) -> None:
    first, second = sheets.manifest.days
    run_day(sheets, first, warehouse_engine)
    gone = sheets.esas[0]
    code, out, err = schoolnet(
        "esa", "retire", gone.esa_code, "--reason", "ยุบรวมกับเขตอื่น", "--url", empty_url
    )
    assert code == 0, err
    assert "stay in the warehouse" in out
    assert read_esas(registry) == [sheets.esas[1]]
    code, _out, err = schoolnet("esa", "retire", gone.esa_code, "--reason", "again")
    assert code == 1 and "is not in the registry" in err
    run_day(sheets, second, warehouse_engine)
    with warehouse_engine.connect() as conn:
        history = conn.execute(
            select(EsaHistoryRow.valid_from, EsaHistoryRow.valid_to).where(
                EsaHistoryRow.esa_code == gone.esa_code
            )
        ).all()
        pulls = conn.execute(
            select(PullRow.report_date).where(PullRow.esa_code == gone.esa_code)
        ).all()
        reason = conn.execute(
            select(RegistryChangeRow.reason).where(RegistryChangeRow.action == "retire")
        ).scalar_one()
    assert history == [(first, second)]  # its entry ends on the next run's date
    assert pulls == [(first,)]  # its pulls are kept, and it is no longer pulled
    assert reason == "ยุบรวมกับเขตอื่น"


def test_esa_list_shows_each_esa_with_its_outcome(
    registry: Path, sheets: Sheets, empty_url: str, warehouse_engine: Engine
) -> None:
    first = sheets.manifest.days[0]
    set_fault(sheets.state, sheets.esas[1].spreadsheet_id, "403")
    try:
        run_day(sheets, first, warehouse_engine)
    finally:
        set_fault(sheets.state, sheets.esas[1].spreadsheet_id, None)
    code, out, err = schoolnet("esa", "list", "--url", empty_url)
    assert code == 0, err
    lines = out.splitlines()
    assert lines[0] == f"2 ESAs in the registry; outcomes of {first.isoformat()}"
    first_esa = [sheets.esas[0].esa_code, sheets.esas[0].level, "accepted", "2018-01-03"]
    assert lines[3].split()[:4] == first_esa
    assert lines[4].split()[:3] == [sheets.esas[1].esa_code, sheets.esas[1].level, "failed"]
    code, out, _err = schoolnet("esa", "list", "--date", "2018-01-04", "--url", empty_url)
    assert code == 0
    # Every ESA is still listed on a date with no pull, its outcome "-".
    listed = [line.split()[:3] for line in out.splitlines()[3:]]
    assert listed == [[esa.esa_code, esa.level, "-"] for esa in read_esas(registry)]


@pytest.mark.usefixtures("registry")
def test_esa_list_marks_the_stale_esas_as_the_report_flags_them(
    sheets: Sheets, empty_url: str, warehouse_engine: Engine
) -> None:
    first = sheets.manifest.days[0]
    later = date.fromordinal(first.toordinal() + 2)  # [report] stale_after_days = 2
    fresh, behind = sheets.esas[:2]
    set_fault(sheets.state, fresh.spreadsheet_id, "403")  # not read on the first day
    try:
        run_day(sheets, first, warehouse_engine)
    finally:
        set_fault(sheets.state, fresh.spreadsheet_id, None)
    # Two days later the first is read for the first time; the second has not changed since.
    run_day(sheets, later, warehouse_engine)
    code, out, err = schoolnet("esa", "list", "--url", empty_url)
    assert code == 0, err
    lines = out.splitlines()
    assert lines[0] == f"2 ESAs in the registry; outcomes of {later.isoformat()}"
    assert lines[1] == (
        "1 stale: data not changed for 2 days or more, or never read "
        "(the report's rule, [report] stale_after_days = 2)"
    )
    assert lines[2].split()[:7] == ["ESA", "level", "outcome", "last", "good", "changed", "stale"]
    rows = {line.split()[0]: line.split()[:6] for line in lines[3:]}
    assert rows == {
        fresh.esa_code: [fresh.esa_code, fresh.level, "accepted", "2018-01-05", "2018-01-05", "-"],
        behind.esa_code: [
            *(behind.esa_code, behind.level, "accepted", "2018-01-05", "2018-01-03", "stale"),
        ],
    }
    code, out, err = schoolnet("esa", "list", "--stale", "--url", empty_url)
    assert code == 0, err
    assert [line.split()[0] for line in out.splitlines()[3:]] == [behind.esa_code]
    # The same ESAs the report flags as not updated, by the same query and rule.
    with warehouse_engine.connect() as conn:
        report = build_report(conn, later, load_settings().report.stale_after_days)
    flagged = [line.esa_code for line in report.flagged_esas if line.stale]
    assert flagged == [behind.esa_code]
    # On the first day, the ESA whose sheet could not be read had never been read: stale.
    code, out, err = schoolnet(
        "esa", "list", "--stale", "--date", first.isoformat(), "--url", empty_url
    )
    assert code == 0, err
    assert out.splitlines()[1].startswith("1 stale: ")
    assert [line.split()[:6] for line in out.splitlines()[3:]] == [
        [fresh.esa_code, fresh.level, "failed", "-", "-", "stale"]
    ]


# --- what a run did ------------------------------------------------------------------------------


@pytest.mark.usefixtures("registry")
def test_runs_show_gives_every_esa_outcome_and_timings(
    sheets: Sheets, empty_url: str, warehouse_engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = sheets.manifest.days[0]
    set_fault(sheets.state, sheets.esas[1].spreadsheet_id, "404")
    # What Airflow exports to a running task is taken when the caller passes nothing.
    monkeypatch.setenv("AIRFLOW_CTX_DAG_RUN_ID", "scheduled__2018-01-02T23:00:00+00:00")
    monkeypatch.setenv("AIRFLOW_CTX_TRY_NUMBER", "2")
    try:
        run_day(sheets, first, warehouse_engine)
    finally:
        set_fault(sheets.state, sheets.esas[1].spreadsheet_id, None)
    with warehouse_engine.connect() as conn:
        pulls = conn.execute(select(PullRow.__table__).order_by(PullRow.esa_code)).mappings().all()
        merged = conn.execute(select(MergeRunRow.__table__)).mappings().one()
    assert [(p["outcome"], p["run_id"], p["try_number"]) for p in pulls] == [
        ("accepted", "scheduled__2018-01-02T23:00:00+00:00", 2),
        ("failed", "scheduled__2018-01-02T23:00:00+00:00", 2),
    ]
    for pull in pulls:
        assert pull["pull_started_at"] is not None and pull["pull_finished_at"] is not None
        assert pull["pull_started_at"] <= pull["pull_finished_at"]
        assert pull["read_seconds"] is not None and pull["read_seconds"] >= 0
        assert pull["validate_seconds"] is not None and pull["validate_seconds"] >= 0
    assert [pull["api_calls"] for pull in pulls] == [1, 1]  # a 404 is not retried
    assert (merged["report_date"], merged["esas"], merged["run_id"]) == (
        first,
        2,
        "scheduled__2018-01-02T23:00:00+00:00",
    )
    assert merged["started_at"] <= merged["finished_at"] and merged["seconds"] >= 0

    code, out, err = schoolnet("runs", "show", first.isoformat(), "--url", empty_url)
    assert code == 0, err
    assert out.splitlines()[0] == "run of 2018-01-03: 2 ESAs (accepted 1, failed 1); 2 API calls"
    assert "merge: " in out.splitlines()[1]
    rows = {line.split()[0]: line.split() for line in out.splitlines()[3:5]}
    assert rows[sheets.esas[0].esa_code][1:2] == ["accepted"]
    assert rows[sheets.esas[1].esa_code][-1] == "not_found"
    assert rows[sheets.esas[1].esa_code][-2] == "2"  # the try number
    assert "pulled by run(s): scheduled__2018-01-02T23:00:00+00:00" in out

    # An explicit run id wins; a date without a run is refused, naming those there are.
    run_day(sheets, first, warehouse_engine, run_id="manual__again", try_number=1)
    with warehouse_engine.connect() as conn:
        assert set(conn.execute(select(PullRow.run_id)).scalars()) == {"manual__again"}
    code, _out, err = schoolnet("runs", "show", "2018-01-09", "--url", empty_url)
    assert code == 1 and "no run of 2018-01-09" in err and "2018-01-03" in err


@pytest.mark.usefixtures("registry")
def test_recording_timings_never_fails_the_merge(
    sheets: Sheets, warehouse_engine: Engine, tmp_path: Path
) -> None:
    first = sheets.manifest.days[0]
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "timings").write_text("a file where the folder would be", "utf-8")
    run_day(sheets, first, warehouse_engine)  # no pull could keep its timings: they go on
    with warehouse_engine.begin() as conn:
        assert conn.execute(select(PullRow.outcome)).scalars().all() == ["accepted", "accepted"]
        conn.execute(text("DROP TABLE merge_run"))
    try:
        summary = merge(first, load_settings(), warehouse_engine)  # nowhere to record it
    finally:
        with warehouse_engine.begin() as conn:
            Base.metadata.tables["merge_run"].create(conn)
    assert summary.schools > 0 and summary.failed_esas == ()


@pytest.mark.usefixtures("registry")
def test_report_status_reads_the_delivery_ledger(
    sheets: Sheets, empty_url: str, warehouse_engine: Engine
) -> None:
    first = sheets.manifest.days[0]
    code, out, _err = schoolnet("report", "status", first.isoformat(), "--url", empty_url)
    assert code == 1 and "has not been sent" in out

    def send(message: EmailMessage) -> None:
        with smtplib.SMTP("127.0.0.1", sheets.sink.port) as client:
            client.send_message(message)

    rendered = RenderedEmail(subject="รายงาน", html="<p>รายงาน</p>", text="รายงาน")
    for force in (False, True):
        result = deliver_once(
            warehouse_engine,
            first,
            rendered,
            kind="report",
            mail_from="schoolnet@obec.go.th",
            to=["ict-report@obec.go.th"],
            send=send,
            force=force,
        )
    deliver_once(
        warehouse_engine,
        first,
        rendered,
        kind=f"esa:{sheets.esas[0].esa_code}",
        mail_from="schoolnet@obec.go.th",
        to=[sheets.esas[0].contact_email],
        send=send,
    )
    folder = load_settings().storage.report_folder(first.isoformat())
    manifest = save_files(rendered, folder)  # rendered before it was sent
    os.utime(manifest, (1514764800, 1514764800))  # 1 January 2018
    code, out, err = schoolnet("report", "status", first.isoformat(), "--url", empty_url)
    assert code == 0, err
    (line,) = out.splitlines()
    assert re.match(
        r"report: sent \d{4}-\d\d-\d\d \d\d:\d\d:\d\d \(Asia/Bangkok\), 2 time\(s\)", line
    )
    assert "to ict-report@obec.go.th" in line
    assert result.message_id in line
    code, out, _err = schoolnet("report", "status", first.isoformat(), "--all", "--url", empty_url)
    assert code == 0 and len(out.splitlines()) == 2 and f"esa:{sheets.esas[0].esa_code}" in out

    # A rerun renders the files again after the send: the status says they are not what was sent.
    save_files(RenderedEmail(subject="รายงาน", html="<p>แก้</p>", text="แก้"), folder)
    future = datetime.now(UTC).timestamp() + 3600  # the clock of the file system, an hour on
    os.utime(manifest, (future, future))
    code, out, _err = schoolnet("report", "status", first.isoformat(), "--url", empty_url)
    assert code == 0
    assert f"files: {folder} were written again" in out.splitlines()[-1]
    assert "after the report was last sent" in out
    # The operator's group can read what was rendered (and nobody else).
    assert {path.stat().st_mode & 0o777 for path in folder.iterdir()} == {0o640}


# --- Airflow: the connection and the runs --------------------------------------------------------
#
# The Airflow home of the test run (tests/conftest.py), migrated once; the connection commands
# and the ``airflow`` commands run in this process against it, ``airflow dags test`` in its own.


@pytest.fixture(scope="module")
def airflow_home(sheets: Sheets, tmp_path_factory: pytest.TempPathFactory) -> LocalAirflow:
    """The Airflow home of the test run, migrated, with settings naming the first two ESAs."""
    root = tmp_path_factory.mktemp("airflow-ops")
    registry = root / "esas.csv"
    write_csv(registry, sheets.esas[:2])
    local = LocalAirflow(
        home=Path(os.environ["AIRFLOW_HOME"]),
        config_file=write_settings(root, sheets, registry),
        emulator_url=sheets.emulator.base_url,
        smtp_port=sheets.sink.port,
        warehouse_url=f"sqlite:///{root / 'warehouse.db'}",
    )
    local.prepare()
    return local


@pytest.fixture
def airflow_env(airflow_home: LocalAirflow, monkeypatch: pytest.MonkeyPatch) -> LocalAirflow:
    """This process set up as the Airflow home's tasks and commands see it."""
    for name, value in airflow_home.variables().items():
        if name.startswith(("AIRFLOW_CONN_", "SCHOOLNET_")):
            monkeypatch.setenv(name, value)
    return airflow_home


def airflow(*words: str) -> None:
    """``airflow WORDS`` in this process, through Airflow's own command-line parser."""
    from airflow.cli import cli_parser

    args = cli_parser.get_parser().parse_args(list(words))
    args.func(args)


def key_file(
    path: Path, email: str, token_uri: str = "https://oauth2.googleapis.com/token"
) -> Path:
    """A service account key file, as Google Cloud's console gives it, with a fresh RSA key."""
    pem = private_key_pem()
    path.write_text(
        json.dumps(
            {
                "type": "service_account",
                "project_id": "obec-schoolnet",
                "private_key_id": "0" * 40,
                "private_key": pem,
                "client_email": email,
                "client_id": "1" * 21,
                "token_uri": token_uri,
            }
        ),
        encoding="utf-8",
    )
    return path


def the_account() -> str:
    """The address of the key Airflow hands out for the connection now (what a task gets
    through the API server: the environment variable, else the metadata database)."""
    from airflow.models.connection import Connection

    keyfile = Connection.get_connection_from_secrets("schoolnet_google").extra_dejson
    return str(keyfile["keyfile_dict"]["client_email"])


def connection_ids() -> set[str]:
    from airflow.models.connection import Connection
    from airflow.utils.session import create_session

    with create_session() as session:
        return {conn_id for (conn_id,) in session.query(Connection.conn_id)}


@pytest.mark.usefixtures("airflow_env")
def test_rotate_replaces_the_connection_in_airflow_and_rolls_back(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("AIRFLOW_CONN_SCHOOLNET_GOOGLE")  # it lives in the metadata database
    old = key_file(tmp_path / "old.json", "schoolnet@obec-old.iam.gserviceaccount.com")
    new = key_file(tmp_path / "new.json", "schoolnet@obec-new.iam.gserviceaccount.com")
    code, _out, err = schoolnet("service-account", "rotate", str(old))
    assert code == 0, err
    assert the_account() == "schoolnet@obec-old.iam.gserviceaccount.com"
    code, out, err = schoolnet("service-account", "rotate", str(new))
    assert code == 0, err
    assert "Airflow connection schoolnet_google now holds the key of schoolnet@obec-new" in out
    assert "share every ESA sheet" in out  # another account: its sheets must be shared with it
    secret = json.loads(new.read_text())["private_key"]
    assert "PRIVATE KEY" not in out + err and secret[40:80] not in out + err
    assert the_account() == "schoolnet@obec-new.iam.gserviceaccount.com"

    code, out, err = schoolnet("service-account", "rollback")
    assert code == 0, err
    assert the_account() == "schoolnet@obec-old.iam.gserviceaccount.com"
    code, _out, err = schoolnet("service-account", "rollback")
    assert code == 1 and "nothing to roll back" in err

    schoolnet("service-account", "rotate", str(new))
    assert "schoolnet_google_previous" in connection_ids()
    airflow("connections", "delete", "schoolnet_google_previous")
    assert "schoolnet_google_previous" not in connection_ids()
    assert the_account() == "schoolnet@obec-new.iam.gserviceaccount.com"
    airflow("connections", "delete", "schoolnet_google")


@pytest.mark.usefixtures("airflow_env")
def test_rotate_replaces_the_key_file_an_environment_connection_names(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    current = key_file(tmp_path / "service-account.json", "schoolnet@obec.iam.gserviceaccount.com")
    monkeypatch.setenv(
        "AIRFLOW_CONN_SCHOOLNET_GOOGLE",
        json.dumps({"conn_type": "generic", "extra": {"key_path": str(current)}}),
    )
    before = current.read_text()
    new = key_file(tmp_path / "new.json", "schoolnet@obec.iam.gserviceaccount.com")
    code, out, err = schoolnet("service-account", "rotate", str(new))
    assert code == 0, err
    assert f"key file {current} now holds" in out
    assert "the same service account as before" in out
    assert current.read_text() == new.read_text()
    assert current.stat().st_mode & 0o777 == 0o600
    assert (tmp_path / "service-account.json.previous").read_text() == before
    code, _out, err = schoolnet("service-account", "rollback")
    assert code == 0, err
    assert current.read_text() == before

    # A key inline in the environment cannot be rotated from here: the command says what to do.
    monkeypatch.setenv(
        "AIRFLOW_CONN_SCHOOLNET_GOOGLE",
        json.dumps({"conn_type": "generic", "extra": {"keyfile_dict": json.loads(before)}}),
    )
    code, out, err = schoolnet("service-account", "rotate", str(new))
    assert code == 1 and "holds no key_path" in err
    assert "PRIVATE KEY" not in out + err


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("{not json", "is not JSON"),
        ('{"type": "authorized_user"}', "lacks client_email, private_key, token_uri"),
        (
            '{"type": "service_account", "client_email": "a@b.iam.gserviceaccount.com", '
            '"private_key": "-----BEGIN PRIVATE KEY-----\\nc2VjcmV0\\n'
            '-----END PRIVATE KEY-----\\n", '
            '"token_uri": "https://oauth2.googleapis.com/token"}',
            "private_key is not a usable private key",
        ),
    ],
)
@pytest.mark.usefixtures("registry")
def test_rotate_refuses_what_is_not_a_service_account_key(
    tmp_path: Path, content: str, message: str
) -> None:
    path = tmp_path / "key.json"
    path.write_text(content, encoding="utf-8")
    code, out, err = schoolnet("service-account", "rotate", str(path))
    assert code == 1 and message in err
    assert "c2VjcmV0" not in out + err  # nothing of the key is printed


@pytest.mark.usefixtures("airflow_env")
def test_verify_reads_one_registered_sheet_through_the_connection(sheets: Sheets) -> None:
    second = sheets.esas[1]
    code, out, err = schoolnet("service-account", "verify", "--esa", second.esa_code)
    assert code == 0, err
    assert f"ESA {second.esa_code}: sheet {second.spreadsheet_id} read" in out
    set_fault(sheets.state, sheets.esas[0].spreadsheet_id, "403")
    try:
        code, _out, err = schoolnet("service-account", "verify")  # the first ESA by default
    finally:
        set_fault(sheets.state, sheets.esas[0].spreadsheet_id, None)
    assert code == 1 and "not_shared" in err and "กรุณาแชร์ชีต" in err
    code, _out, err = schoolnet("service-account", "verify", "--esa", "999999")
    assert code == 1 and "999999 is not in the ESA registry" in err


def test_esa_update_of_the_runbook_changes_one_line_in_place(
    registry: Path, warehouse_engine: Engine, empty_url: str, sheets: Sheets
) -> None:
    code, _out, err = schoolnet(
        "esa", "add", "--code", "105007", "--name", "สพป.เชียงใหม่ เขต 7",
        "--province", "เชียงใหม่", "--level", "primary",
        "--sheet-id", "1AbCdEfGhIjKlMnOpQrStUvWxYz0123456789abcdEFG",
        "--contact", "it@cm7.obec.go.th", "--url", empty_url,
    )  # fmt: skip
    assert code == 0, err
    write_csv(registry, [*read_esas(registry)[:1], read_esas(registry)[-1], sheets.esas[1]])
    before = registry.read_text(encoding="utf-8").splitlines()
    code, out, err = schoolnet(
        "esa", "update", "105007", "--sheet-id", "1ZyXwVuTsRqPoNmLkJiHgFeDcBa9876543210zyxWVU",
        "--contact", "it2@cm7.obec.go.th", "--reason", "ชีตใหม่ของเขต", "--url", empty_url,
    )  # fmt: skip
    assert code == 0, err
    assert "it@cm7.obec.go.th -> it2@cm7.obec.go.th" in out
    after = registry.read_text(encoding="utf-8").splitlines()
    assert [line for line in after if line not in before] == [
        "105007,สพป.เชียงใหม่ เขต 7,primary,เชียงใหม่,"
        "1ZyXwVuTsRqPoNmLkJiHgFeDcBa9876543210zyxWVU,it2@cm7.obec.go.th"
    ]
    assert after.index(after[2]) == 2 and after[2].startswith("105007,")  # in its place
    with warehouse_engine.connect() as conn:
        actions = conn.execute(select(RegistryChangeRow.action)).scalars().all()
    assert actions == ["add", "update"]
    # The sheet of another ESA, and an unknown code, are refused in one line; nothing changes.
    code, _out, err = schoolnet(
        "esa", "update", "105007", "--sheet-id", sheets.esas[1].spreadsheet_id, "--url", empty_url
    )
    assert code == 1 and f"already the sheet of ESA {sheets.esas[1].esa_code}" in err
    code, _out, err = schoolnet("esa", "update", "999999", "--contact", "a@b.go.th")
    assert code == 1 and "999999 is not in the registry" in err
    assert registry.read_text(encoding="utf-8").splitlines() == after


def one_error_line(err: str, command: str) -> str:
    """The one line a failed command printed for the operator (progress logs aside)."""
    assert "Traceback" not in err
    lines = [line for line in err.splitlines() if line.startswith(f"schoolnet {command}: ")]
    assert len(lines) == 1, err
    return lines[0]


@pytest.mark.usefixtures("airflow_env")
def test_verify_with_google_unreachable_says_so_in_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with socket.socket() as probe:  # a port nothing listens on once this closes
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    key = key_file(
        tmp_path / "key.json",
        "schoolnet@obec-schoolnet.iam.gserviceaccount.com",
        token_uri=f"http://127.0.0.1:{port}/token",  # Google's sign-in does not answer
    )
    monkeypatch.setenv(
        "AIRFLOW_CONN_SCHOOLNET_GOOGLE",
        json.dumps({"conn_type": "generic", "extra": {"key_path": str(key)}}),
    )
    code, out, err = schoolnet("service-account", "verify")
    assert (code, out) == (1, "")
    line = one_error_line(err, "service-account")
    assert "cannot be read with schoolnet@obec-schoolnet" in line
    assert "connection failed" in line


WAREHOUSE_COMMANDS = [
    ("runs", "show", "2018-01-04"),
    ("esa", "list"),
    ("report", "status", "2018-01-04"),
    ("export", "2018-01-04", "--format", "csv"),
    ("quarantine", "accept", "ESA", "--date", "2018-01-04"),
    ("db", "upgrade"),
]


@pytest.mark.parametrize("words", WAREHOUSE_COMMANDS, ids=" ".join)
def test_a_warehouse_connection_nobody_defined_is_one_line_saying_what_to_do(
    registry: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, words: tuple[str, ...]
) -> None:
    monkeypatch.delenv("AIRFLOW_CONN_SCHOOLNET_WAREHOUSE", raising=False)
    monkeypatch.chdir(tmp_path)  # an export would land here
    before = registry.read_bytes()
    esa = read_esas(registry)[0].esa_code  # a registered ESA where the command names one
    code, out, err = schoolnet(*(esa if word == "ESA" else word for word in words))
    assert (code, out) == (1, "")
    line = one_error_line(err, words[0])
    assert "the Airflow connection schoolnet_warehouse isn't defined" in line
    assert 'eval "$(.venv/bin/schoolnet env)"' in line and "--url" in line
    assert "AIRFLOW_CONN_SCHOOLNET_WAREHOUSE" in line and " / " in line  # Thai, then English
    assert registry.read_bytes() == before and not list(tmp_path.glob("snapshot-*"))


@pytest.mark.usefixtures("registry")
def test_replay_without_a_warehouse_connection_says_what_to_do(
    sheets: Sheets, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    first = sheets.manifest.days[0]
    engine = create_warehouse_engine(f"sqlite:///{tmp_path / 'warehouse.db'}")
    try:
        ensure_schema(engine)
        run_day(sheets, first, engine)  # lands the day's sheets: replay has a date to work on
    finally:
        engine.dispose()
    monkeypatch.delenv("AIRFLOW_CONN_SCHOOLNET_WAREHOUSE", raising=False)
    code, out, err = schoolnet("replay", first.isoformat())
    assert (code, out) == (1, "")
    line = one_error_line(err, "replay")
    assert "schoolnet_warehouse isn't defined" in line and "--url" in line


def test_a_registry_edit_without_a_warehouse_connection_stands_and_says_what_to_do(
    registry: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("AIRFLOW_CONN_SCHOOLNET_WAREHOUSE", raising=False)
    gone, kept = read_esas(registry)
    code, _out, err = schoolnet("esa", "retire", gone.esa_code, "--reason", "ยุบรวม")
    assert code == 0  # the registry file is what the next run reads; the record is extra
    assert read_esas(registry) == [kept]
    (line,) = err.splitlines()
    assert line.startswith("warning: the change is made but not recorded in the warehouse: ")
    assert "schoolnet_warehouse isn't defined" in line and "--url" in line


@pytest.mark.usefixtures("registry")
def test_a_google_connection_nobody_defined_is_one_line_too(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("AIRFLOW_CONN_SCHOOLNET_GOOGLE", raising=False)
    code, out, err = schoolnet("service-account", "verify")
    assert (code, out) == (1, "")
    line = one_error_line(err, "service-account")
    assert "the Airflow connection schoolnet_google isn't defined" in line
    assert "--url" not in line  # the command has none to offer


@pytest.mark.usefixtures("registry")
def test_runs_show_on_a_missing_warehouse_says_so_in_one_line(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere" / "warehouse.db"
    code, out, err = schoolnet("runs", "show", "2018-01-04", "--url", f"sqlite:///{missing}")
    assert (code, out) == (1, "")
    assert f"no warehouse at {missing}" in one_error_line(err, "runs")
    assert not missing.parent.exists()  # nothing was made in its place

    server = postgres_url()
    if server is None:
        pytest.skip("no PostgreSQL server (set SCHOOLNET_TEST_PG_URL)")
    absent = make_url(server).set(database=f"absent_{uuid.uuid4().hex[:12]}")
    code, out, err = schoolnet(
        "runs", "show", "2018-01-04", "--url", absent.render_as_string(hide_password=False)
    )
    assert (code, out) == (1, "")
    assert f'database "{absent.database}" does not exist' in one_error_line(err, "runs")


@pytest.mark.usefixtures("registry")
def test_commands_print_no_alembic_lines(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'warehouse.db'}"
    env = {
        **os.environ,
        "AIRFLOW_CONN_SCHOOLNET_WAREHOUSE": json.dumps(
            {"conn_type": "generic", "extra": {"sqlalchemy_url": url}}
        ),
    }
    created = _run("schoolnet", env, ("db", "upgrade"))
    assert created.returncode == 0, created.stderr
    listed = _run("schoolnet", env, ("esa", "list"))  # through the Airflow connection
    assert listed.returncode == 0, listed.stderr
    assert "ESAs in the registry" in listed.stdout
    for completed in (created, listed):
        assert "Context impl" not in completed.stdout + completed.stderr


def report_days() -> dict[date, dict[str, Any]]:
    """Each run of the DAG by its report date (the logical date in Bangkok), with its conf."""
    from airflow.models.dagrun import DagRun
    from airflow.utils.session import create_session

    with create_session() as session:
        runs = session.query(DagRun).filter(DagRun.dag_id == "schoolnet_daily").all()
        return {
            run.logical_date.astimezone(BANGKOK).date(): dict(run.conf or {})
            for run in runs
            if run.logical_date is not None
        }


@pytest.mark.usefixtures("airflow_env")
def test_airflow_commands_of_the_runbook_make_the_runs_they_promise() -> None:
    from airflow.models.pool import Pool
    from airflow.utils.session import create_session

    airflow("dags", "reserialize")
    airflow(
        "dags", "trigger", "schoolnet_daily",
        "--logical-date", "2018-01-04T06:00:00+07:00",
        "--conf", '{"full_pull": true}',
    )  # fmt: skip
    assert report_days()[date(2018, 1, 4)] == {"full_pull": True}
    airflow(
        "backfill", "create", "--dag-id", "schoolnet_daily",
        "--from-date", "2018-01-05T06:00:00+07:00", "--to-date", "2018-01-07T06:00:00+07:00",
        "--reprocess-behavior", "completed",
    )  # fmt: skip
    assert set(report_days()) >= {date(2018, 1, day) for day in (4, 5, 6, 7)}
    assert date(2018, 1, 8) not in report_days()
    airflow(
        "tasks", "clear", "schoolnet_daily",
        "--start-date", "2018-01-04T06:00:00+07:00", "--end-date", "2018-01-04T06:00:00+07:00",
        "--yes",
    )  # fmt: skip
    airflow("pools", "set", "google_sheets", "3", "Google Sheets reads at once")
    with create_session() as session:
        pool = Pool.get_pool("google_sheets", session=session)
        assert pool is not None and pool.slots == 3


# A whole DAG run under Airflow (`airflow dags test`): e2e, for its time limit and so that
# `make test-fast` leaves it to `make test`.
@pytest.mark.e2e
@pytest.mark.usefixtures("sheets")
def test_dags_test_runs_a_date_and_its_outcomes_and_report_can_be_seen(
    airflow_env: LocalAirflow,
) -> None:
    day = "2018-01-03T06:00:00+07:00"
    env = airflow_env.environment()
    airflow_in(env, "dags", "test", "schoolnet_daily", day)
    code, out, err = schoolnet("runs", "show", "2018-01-03")
    assert code == 0, err
    assert "2 ESAs (accepted 2)" in out
    assert "pulled by run(s): manual__" in out  # Airflow's run id reached the pull rows
    code, out, _err = schoolnet("report", "status", "2018-01-03")
    assert code == 0 and ", 1 time(s), " in out  # once: "1 time(s)" alone is in "11 time(s)"


@pytest.mark.usefixtures("registry")
def test_quarantine_accept_and_replay_of_the_runbook(
    sheets: Sheets, empty_url: str, warehouse_engine: Engine
) -> None:
    first = sheets.manifest.days[0]
    run_day(sheets, first, warehouse_engine)
    code, out, err = schoolnet(
        "quarantine", "accept", sheets.esas[0].esa_code, "--date", first.isoformat(),
        "--url", empty_url,
    )  # fmt: skip
    assert (code, out) == (1, "")  # its sheet was accepted that day: nothing to accept
    assert "was not quarantined on 2018-01-03" in one_error_line(err, "quarantine")
    # The runbook's own example: only its first date was landed here, so nothing is replayed.
    code, out, err = schoolnet(
        "replay", "2018-01-03", "2018-01-04", "2018-01-05", "--url", empty_url
    )
    assert (code, out) == (1, "")
    assert "nothing replayed: no raw landing for 2018-01-04, 2018-01-05 " in err
    code, out, err = schoolnet("replay", first.isoformat(), "--url", empty_url)
    assert code == 0, err
    assert "re-validated and merged from the raw landing" in out


def warehouse_rows(engine: Engine) -> dict[str, list[Any]]:
    """Every row of every warehouse table, to see that a command changed nothing."""
    with engine.connect() as conn:
        return {
            name: sorted(map(repr, conn.execute(select(table))))
            for name, table in Base.metadata.tables.items()
        }


@pytest.mark.usefixtures("registry")
def test_quarantine_accept_takes_only_a_sheet_its_run_quarantined(
    sheets: Sheets, empty_url: str, warehouse_engine: Engine
) -> None:
    first, second = sheets.manifest.days
    esa = sheets.esas[0]
    run_day(sheets, first, warehouse_engine)
    # A clerk deletes every row of the sheet but the first: the next run quarantines it.
    sheet_file = sheets.state / "spreadsheets" / f"{esa.spreadsheet_id}.json"
    kept = sheet_file.read_bytes()
    reader = SheetsReader(EmulatorSession(sheets.emulator.base_url), EMULATOR_RETRIES)
    try:
        reader.client.http_client.values_clear(esa.spreadsheet_id, "'โรงเรียน'!A3:ZZ")
        run_day(sheets, second, warehouse_engine)
    finally:
        sheet_file.write_bytes(kept)  # the other tests' sheet as it was
    with warehouse_engine.connect() as conn:
        outcome = conn.execute(
            select(PullRow.outcome).where(
                PullRow.esa_code == esa.esa_code, PullRow.report_date == second
            )
        ).scalar_one()
    assert outcome == "quarantined"

    before = warehouse_rows(warehouse_engine)
    day = second.isoformat()
    refused = [
        ("999999", day, "ESA code 999999 is not in the ESA registry of 2018-01-04 ("),
        (sheets.esas[2].esa_code, day, f"ESA code {sheets.esas[2].esa_code} is not in the"),
        (sheets.esas[1].esa_code, day, "was not quarantined on 2018-01-04 (its outcome that "
         "day: accepted)"),
        (esa.esa_code, first.isoformat(), "was not quarantined on 2018-01-03"),
        (esa.esa_code, "2030-01-04", "2030-01-04 is in the future (today in Bangkok is "),
        (esa.esa_code, "2018-01-09", "no run of 2018-01-09 is merged yet (the latest merged "
         "date is 2018-01-04)"),
    ]  # fmt: skip
    for code, when, english in refused:
        status, out, err = schoolnet(
            "quarantine", "accept", code, "--date", when, "--url", empty_url
        )
        assert (status, out) == (1, ""), (code, when)
        line = one_error_line(err, "quarantine")
        assert english in line and " / " in line and "nothing" in line  # Thai, then English
        assert warehouse_rows(warehouse_engine) == before  # nothing written
    status, out, err = schoolnet(
        "quarantine", "accept", esa.esa_code, "--date", day, "--by", "operator", "--url", empty_url
    )
    assert status == 0, err
    assert f"ESA {esa.esa_code}: its sheet of {day} will be accepted" in out
    with warehouse_engine.connect() as conn:
        released = conn.execute(
            select(QuarantineReleaseRow.esa_code, QuarantineReleaseRow.report_date)
        ).all()
    assert released == [(esa.esa_code, second)]
    # The rerun merges it; accepting it again then is allowed and changes nothing more.
    run_day(sheets, second, warehouse_engine)
    status, _out, err = schoolnet(
        "quarantine", "accept", esa.esa_code, "--date", day, "--url", empty_url
    )
    assert status == 0, err


@pytest.mark.usefixtures("registry")
def test_warehouse_commands_of_the_runbook(
    sheets: Sheets, empty_url: str, warehouse_engine: Engine, tmp_path: Path
) -> None:
    run_day(sheets, sheets.manifest.days[0], warehouse_engine)
    code, out, err = schoolnet("db", "upgrade", "--url", empty_url)
    assert code == 0, err
    assert "already at revision" in out
    target = tmp_path / "day.csv"
    code, out, err = schoolnet(
        "export", "2018-01-03", "--format", "csv", "--out", str(target), "--url", empty_url
    )
    assert code == 0, err
    assert target.exists() and "schools written to" in out


def test_sheets_provision_of_the_runbook(sheets: Sheets, tmp_path: Path) -> None:
    state = tmp_path / "emulator"
    shutil.copytree(sheets.state, state)  # the other tests' sheets stay as they are
    with Emulator(state, read_quota_per_minute=0, write_quota_per_minute=0) as emulator:
        code, out, err = schoolnet(
            "sheets", "provision", sheets.esas[0].esa_code, "--registry-dir", str(sheets.demo),
            "--emulator-url", emulator.base_url,
        )  # fmt: skip
    assert code == 0, err
    assert sheets.esas[0].esa_code in out


# --- a checkout: schoolnet env and demo-servers --------------------------------------------------


def checkout_home(root: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """``root`` as a checkout before ``make demo``: the project's folders (links to them, read
    only), named by ``SCHOOLNET_HOME`` for this process and the commands it starts."""
    for name in ("config", "dags", "plugins", "sql", "templates"):
        (root / name).symlink_to(ROOT / name)
    monkeypatch.setenv("SCHOOLNET_HOME", str(root))
    return root


def exported(exports: str) -> dict[str, str]:
    """The environment a POSIX shell has once it evaluated ``exports``."""
    completed = subprocess.run(
        ["bash", "-c", 'eval "$EXPORTS" && env -0'],
        env={"PATH": "/usr/bin:/bin", "EXPORTS": exports},
        capture_output=True,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr.decode()
    pairs = (item.split("=", 1) for item in completed.stdout.decode().split("\0") if item)
    return {pair[0]: pair[1] for pair in pairs if len(pair) == 2}


def test_env_prints_the_exports_of_the_checkouts_demo(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    checkout_home(tmp_path, monkeypatch)
    code, out, err = schoolnet("env")
    assert code == 0
    # Before make demo: said on standard error, which the shell's eval does not read.
    assert "no out/warehouse.db and no .airflow/airflow.db" in err
    assert "run `make demo` first" in err and len(err.splitlines()) == 1
    environment = exported(out)
    for name, value in checkout_airflow().variables().items():
        assert environment[name] == value, name  # JSON values arrive whole
    out_dir = tmp_path / "out"
    assert environment["AIRFLOW_HOME"] == str(tmp_path / ".airflow")
    assert environment["SCHOOLNET_CONFIG"] == str(out_dir / "demo-settings.toml")
    assert load_settings(Path(environment["SCHOOLNET_CONFIG"])).registry.esas == (
        out_dir / "demo-data" / "esas.csv"
    )
    connection = json.loads(environment["AIRFLOW_CONN_SCHOOLNET_WAREHOUSE"])
    assert connection["extra"]["sqlalchemy_url"] == f"sqlite:///{out_dir / 'warehouse.db'}"
    google = json.loads(environment["AIRFLOW_CONN_SCHOOLNET_GOOGLE"])
    assert google["extra"]["emulator_url"] == f"http://127.0.0.1:{EMULATOR_PORT}"
    smtp = json.loads(environment["AIRFLOW_CONN_SMTP_DEFAULT"])
    assert (smtp["host"], smtp["port"]) == ("127.0.0.1", SMTP_PORT)
    assert environment["PATH"] == f"{BIN}:/usr/bin:/bin"
    # After make demo: nothing to say.
    (out_dir / "warehouse.db").touch()
    (tmp_path / ".airflow").mkdir()
    (tmp_path / ".airflow" / "airflow.db").touch()
    code, again, err = schoolnet("env")
    assert (code, again, err) == (0, out, "")


def test_demo_servers_serve_the_checkouts_sheets_and_keep_its_mail(
    tmp_path: Path, sheets: Sheets, monkeypatch: pytest.MonkeyPatch
) -> None:
    checkout_home(tmp_path, monkeypatch)
    code, _out, err = schoolnet("demo-servers")  # before make demo
    assert code == 1 and "run `make demo` first" in one_error_line(err, "demo-servers")
    out = tmp_path / "out"
    shutil.copytree(sheets.state, out / "emulator")
    env = dict(os.environ)
    with holding_ports(EMULATOR_PORT, SMTP_PORT), schoolnet_in(env, "demo-servers") as process:
        assert process.stdout is not None
        said = [process.stdout.readline() for _ in range(3)]
        assert said[-1].startswith("until Ctrl-C"), said
        session = EmulatorSession(f"http://127.0.0.1:{EMULATOR_PORT}")
        reader = SheetsReader(session, EMULATOR_RETRIES)
        read = reader.read_data_tab(sheets.esas[0].spreadsheet_id, "โรงเรียน")
        assert read.values
        message = EmailMessage()
        message["From"], message["To"], message["Subject"] = "a@obec.go.th", "b@obec.go.th", "x"
        message.set_content("ทดสอบ")
        with smtplib.SMTP("127.0.0.1", SMTP_PORT) as client:
            client.send_message(message)
        # A second one finds the ports taken and says so in one line.
        with schoolnet_in(env, "demo-servers") as second:
            output, _ = second.communicate(timeout=120)
        assert second.returncode == 1
        assert f"cannot listen on 127.0.0.1:{EMULATOR_PORT}" in one_error_line(
            output, "demo-servers"
        )
    assert process.returncode == 0  # SIGTERM stops both servers
    assert len(list((out / "mail").glob("*.eml"))) == 1


@pytest.fixture(autouse=True)
def _no_airflow_context(monkeypatch: pytest.MonkeyPatch) -> None:
    """No run id leaks in from the process running the tests."""
    for name in ("AIRFLOW_CTX_DAG_RUN_ID", "AIRFLOW_CTX_TRY_NUMBER"):
        monkeypatch.delenv(name, raising=False)
