"""A task that fails for good emails the operators, once, through Airflow's SmtpNotifier and the
SMTP connection: the real DAG under ``airflow dags test``, a real SMTP server on loopback."""

from __future__ import annotations

import email
from datetime import date
from email.message import EmailMessage
from email.policy import default as default_policy
from pathlib import Path

import pytest

from schoolnet.devenv import LocalAirflow
from schoolnet.mailsink import MailSink
from schoolnet.rundemo import run_dag_with_progress
from tests.settings import write_test_settings

pytestmark = pytest.mark.e2e

DAY = date(2018, 1, 5)


def test_a_task_failing_after_its_retries_alerts_the_operators_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    missing = tmp_path / "registry" / "esas<missing>.csv"  # markup in the error text, too
    config = write_test_settings(
        tmp_path / "schoolnet.toml",
        esas=missing,
        schools=tmp_path / "schools.csv",
        root=tmp_path,
        operators=["ops@obec.go.th"],
        request_timeout_seconds=5,
        max_attempts=1,
    )
    # Retries come quickly here; in production they wait [core] default_task_retry_delay.
    monkeypatch.setenv("AIRFLOW__CORE__DEFAULT_TASK_RETRY_DELAY", "1")
    with MailSink(tmp_path / "mail") as sink:
        airflow = LocalAirflow(
            home=tmp_path / "airflow",
            config_file=config,
            emulator_url="http://127.0.0.1:9",  # never reached: the run fails before
            smtp_port=sink.port,
            warehouse_url=f"sqlite:///{tmp_path / 'warehouse.db'}",
        )
        airflow.prepare()
        with pytest.raises(RuntimeError, match="the DAG run failed"):
            run_dag_with_progress(
                airflow, DAY, tmp_path / "validated", 1, tmp_path / "logs" / "run.log"
            )
        messages: list[EmailMessage] = [
            email.message_from_bytes(path.read_bytes(), policy=default_policy)
            for path in sink.messages()
        ]
    alerts = [m for m in messages if "load_registry" in m["Subject"]]
    assert len(alerts) == 1, [m["Subject"] for m in messages]  # the retries did not alert
    (alert,) = alerts
    assert alert["To"] == "ops@obec.go.th"
    assert alert["Subject"].startswith("[schoolnet] งาน load_registry ล้มเหลว")
    body = alert.get_body(preferencelist=("html",))
    assert body is not None
    html = body.get_content()
    assert "esas&lt;missing&gt;.csv" in html  # the error, escaped
    assert "<missing>" not in html
    assert "docs/operations.md" in html
    # Nothing else went out: no report for a run that read nothing.
    assert not [m for m in messages if "รายงานการเชื่อมต่อ" in m["Subject"]]
