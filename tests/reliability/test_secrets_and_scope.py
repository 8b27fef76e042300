"""Secrets stay out of every log, and the run reads only the sheets it is meant to.

One real ``airflow dags test`` run of ``schoolnet_daily``: the Google connection carries a
service account key (a freshly generated RSA key, so it is recognizable and never real), the
SMTP connection a login and password that the SMTP sink requires. Every file the run wrote
(Airflow's home with its task logs, the data and report folders, the mail received) and the
command's captured output are scanned for the key, each line of its PEM body and the password.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import pytest

from schoolnet.core.registry import read_esas
from schoolnet.devtools.demo import generate
from schoolnet.devtools.devenv import LocalAirflow
from schoolnet.devtools.emulator import Emulator, load_day, set_fault
from schoolnet.devtools.mailsink import MailSink
from schoolnet.devtools.rundemo import run_dag_with_progress
from tests.keys import private_key_pem
from tests.settings import write_test_settings

pytestmark = pytest.mark.e2e

ESA_COUNT = 3
SMTP_LOGIN = ("schoolnet-relay", "Smtp-Relay-Pa55word-7f3a9c")
UNREGISTERED_ID = "1" + "u" * 43


def fake_service_account() -> dict[str, str]:
    """A service account key of Google's shape, with a private key made for this test."""
    pem = private_key_pem()
    return {
        "type": "service_account",
        "project_id": "schoolnet-reliability",
        "private_key_id": "9f2c4e6a8b0d1f3e5a7c9e1b3d5f7a9c1e3b5d7f",
        "private_key": pem,
        "client_email": "schoolnet@schoolnet-reliability.iam.gserviceaccount.com",
        "client_id": "118273645091827364509",
        "token_uri": "https://oauth2.googleapis.com/token",
    }


@dataclass(frozen=True)
class SecretAirflow(LocalAirflow):
    """The project's local Airflow, with secrets in its Google and SMTP connections."""

    keyfile: str = ""

    def variables(self) -> dict[str, str]:
        variables = super().variables()
        google = json.loads(variables["AIRFLOW_CONN_SCHOOLNET_GOOGLE"])
        google["extra"]["keyfile_dict"] = self.keyfile
        variables["AIRFLOW_CONN_SCHOOLNET_GOOGLE"] = json.dumps(google)
        smtp = json.loads(variables["AIRFLOW_CONN_SMTP_DEFAULT"])
        smtp.update(login=SMTP_LOGIN[0], password=SMTP_LOGIN[1])
        variables["AIRFLOW_CONN_SMTP_DEFAULT"] = json.dumps(smtp)
        variables["AIRFLOW__CORE__DEFAULT_TASK_RETRY_DELAY"] = "1"  # a failure shows up fast
        return variables


@dataclass
class Run:
    root: Path
    key: dict[str, str]
    output: str
    emulator_stats: dict[str, object]
    logins: list[str]
    esa_ids: set[str]


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Run]:
    root = tmp_path_factory.mktemp("secrets")
    demo = root / "demo-data"
    manifest = generate(demo, esa_limit=ESA_COUNT, days=1)
    config = write_test_settings(
        root / "schoolnet.toml",
        esas=demo / "esas.csv",
        schools=demo / "schools.csv",
        root=root,
        requests_per_minute=6000,
        cc=["director@obec.go.th"],
    )
    state = root / "emulator"
    day: date = manifest.days[0]
    load_day(state, demo, day)
    esas = read_esas(demo / "esas.csv")
    # A sheet in the same Drive folder that is not in the registry. Its "hang" of 0 seconds
    # answers normally but counts in the emulator's `faulted`: any request for it shows up.
    folder = state / "spreadsheets"
    extra = json.loads((folder / f"{esas[0].spreadsheet_id}.json").read_text(encoding="utf-8"))
    extra.update(spreadsheetId=UNREGISTERED_ID, title="ชีตที่ไม่ได้ลงทะเบียน")
    (folder / f"{UNREGISTERED_ID}.json").write_text(json.dumps(extra, ensure_ascii=False))
    set_fault(state, UNREGISTERED_ID, "hang", seconds=0)

    key = fake_service_account()
    with (
        Emulator(state, read_quota_per_minute=0) as emulator,
        MailSink(root / "mail", credentials=SMTP_LOGIN) as sink,
    ):
        airflow = SecretAirflow(
            home=root / "airflow",
            config_file=config,
            emulator_url=emulator.base_url,
            smtp_port=sink.port,
            warehouse_url=f"sqlite:///{root / 'warehouse.db'}",
            keyfile=json.dumps(key),
        )
        airflow.prepare()
        log = root / "captured" / "dags-test.log"
        run_dag_with_progress(
            airflow, day, root / "data" / "validated" / day.isoformat(), ESA_COUNT, log
        )
        yield Run(
            root,
            key,
            log.read_text(encoding="utf-8"),
            emulator.stats(),
            list(sink.logins),
            {esa.spreadsheet_id for esa in esas},
        )
    shutil.rmtree(root, ignore_errors=True)


def needles(key: dict[str, str]) -> dict[str, str]:
    """What must never be written: the password, the key, each line of its PEM body."""
    found = {"smtp password": SMTP_LOGIN[1], "private key id": key["private_key_id"]}
    found["private key"] = key["private_key"]
    lines = [line for line in key["private_key"].splitlines() if line and "-----" not in line]
    found.update({f"PEM line {number}": line for number, line in enumerate(lines, 1)})
    # The key as it sits JSON-escaped inside the connection's extra.
    found["escaped private key"] = json.dumps(key["private_key"])[1:40]
    return found


def test_no_secret_appears_in_any_log_or_file_the_run_wrote(run: Run) -> None:
    files = [path for path in run.root.rglob("*") if path.is_file()]
    logs = [path for path in files if "logs" in path.parts and path.suffix == ".log"]
    # The scan means something: the run happened, logged its tasks and used the password.
    assert "merged:" in run.output or any("merged:" in p.read_text(errors="replace") for p in logs)
    assert run.logins, "the SMTP password was not used"
    leaks = []
    for name, secret in needles(run.key).items():
        if secret in run.output:
            leaks.append(f"{name} in the command's output")
        raw = secret.encode()
        for path in files:
            if path.name.endswith(".toml") or path.parent.name == "demo-data":
                continue
            if raw in path.read_bytes():
                leaks.append(f"{name} in {path.relative_to(run.root)}")
    assert leaks == []


def test_only_sheets_in_the_registry_are_read(run: Run) -> None:
    stats = run.emulator_stats
    assert stats["faulted"] == 0, "the unregistered sheet was requested"
    by_endpoint = stats["by_endpoint"]
    assert isinstance(by_endpoint, dict)
    assert by_endpoint["spreadsheets.get"] == len(run.esa_ids)
    assert by_endpoint["drive.files.list"] == 1  # the listing saw it, and that is all
