"""A task that fails for good emails the operators, once, through Airflow's SmtpNotifier and the
SMTP connection: the real DAG under ``airflow dags test``, a real SMTP server on loopback."""

from __future__ import annotations

import email
from datetime import date
from email.message import EmailMessage
from email.policy import default as default_policy
from pathlib import Path

import pytest

from schoolnet.devtools.demo import generate
from schoolnet.devtools.devenv import LocalAirflow
from schoolnet.devtools.mailsink import MailSink
from schoolnet.devtools.rundemo import run_dag_with_progress
from schoolnet.warehouse import create_warehouse_engine, ensure_schema
from tests.settings import write_test_settings

DAY = date(2018, 1, 5)


def failed_run(
    tmp_path: Path, esas: Path, schools: Path, warehouse_url: str, emulator_url: str
) -> tuple[list[EmailMessage], str]:
    """Run the DAG for DAY, expecting it to fail: what the operators were emailed, and the
    run's log."""
    config = write_test_settings(
        tmp_path / "schoolnet.toml",
        esas=esas,
        schools=schools,
        root=tmp_path,
        operators=["ops@obec.go.th"],
        request_timeout_seconds=5,
        max_attempts=1,
    )
    log = tmp_path / "logs" / "run.log"
    with MailSink(tmp_path / "mail") as sink:
        airflow = LocalAirflow(
            home=tmp_path / "airflow",
            config_file=config,
            emulator_url=emulator_url,
            smtp_port=sink.port,
            warehouse_url=warehouse_url,
        )
        airflow.prepare()
        with pytest.raises(RuntimeError, match="the DAG run failed"):
            run_dag_with_progress(airflow, DAY, tmp_path / "validated", 1, log)
        messages: list[EmailMessage] = [
            email.message_from_bytes(path.read_bytes(), policy=default_policy)
            for path in sink.messages()
        ]
    return messages, log.read_text(encoding="utf-8")


def html_of(message: EmailMessage) -> str:
    body = message.get_body(preferencelist=("html",))
    assert body is not None
    return str(body.get_content())


def test_a_task_failing_after_its_retries_alerts_the_operators_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    missing = tmp_path / "registry" / "esas<missing>.csv"  # markup in the error text, too
    # Retries come quickly here; in production they wait [core] default_task_retry_delay.
    monkeypatch.setenv("AIRFLOW__CORE__DEFAULT_TASK_RETRY_DELAY", "1")
    messages, _log = failed_run(
        tmp_path,
        missing,
        tmp_path / "schools.csv",
        f"sqlite:///{tmp_path / 'warehouse.db'}",
        "http://127.0.0.1:9",  # never reached: the run fails before
    )
    alerts = [m for m in messages if "load_registry" in m["Subject"]]
    assert len(alerts) == 1, [m["Subject"] for m in messages]  # the retries did not alert
    (alert,) = alerts
    assert alert["To"] == "ops@obec.go.th"
    assert alert["Subject"].startswith("[schoolnet] งาน load_registry ล้มเหลว")
    html = html_of(alert)
    assert "esas&lt;missing&gt;.csv" in html  # the error, escaped
    assert "<missing>" not in html
    assert "docs/operations.md" in html
    # Nothing else went out: no report for a run that read nothing.
    assert not [m for m in messages if "รายงานการเชื่อมต่อ" in m["Subject"]]


def test_a_read_only_warehouse_fails_the_first_task_at_once_with_one_reason(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AIRFLOW__CORE__DEFAULT_TASK_RETRY_DELAY", "1")  # were any retried
    demo = tmp_path / "demo"
    generate(demo, esa_limit=2, days=1)
    path = tmp_path / "warehouse.db"
    engine = create_warehouse_engine(f"sqlite:///{path}")
    ensure_schema(engine)  # migrated, then only readable (as a file, disk or role can be)
    engine.dispose()
    messages, log = failed_run(
        tmp_path,
        demo / "esas.csv",
        demo / "schools.csv",
        f"sqlite:///file:{path}?mode=ro&uri=true",
        "http://127.0.0.1:9",  # never reached: nothing is pulled
    )
    # One alert for the first task, on its first try, saying why in one line; then the run's
    # last task says the run did not do its job (it is red, not green).
    subjects = [m["Subject"].split("ล้มเหลว")[0] for m in messages]
    assert subjects == ["[schoolnet] งาน load_registry ", "[schoolnet] งาน confirm_run "]
    assert "cannot be written (attempt to write a readonly database)" in html_of(messages[0])
    assert "load_registry" in html_of(messages[1])
    assert "load_registry" in log and "up_for_retry" not in log.lower()
    assert not (tmp_path / "data" / "raw").exists()  # no sheet was read
