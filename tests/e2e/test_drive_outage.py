"""When Drive's listing fails for good, the morning still reads every sheet and sends its report,
and the run ends failed in Airflow so that the operator sees red (and gets the alert).

The real DAG under ``airflow dags test``, the emulator with a fault on Drive's listing, a real
SMTP server on loopback.
"""

from __future__ import annotations

import email
from email.message import EmailMessage
from email.policy import default as default_policy
from pathlib import Path

import pytest
from sqlalchemy import text

from schoolnet.core.thai import thai_date
from schoolnet.devtools.demo import generate
from schoolnet.devtools.emulator import set_fault
from schoolnet.devtools.emulator.state import DRIVE_LISTING
from schoolnet.devtools.rundemo import run_dag_with_progress
from schoolnet.report.daily import SUBJECT_PREFIX
from schoolnet.warehouse import create_warehouse_engine
from tests.e2e.demo_airflow import demo_airflow

ESA_COUNT = 3


def test_a_drive_outage_ends_the_run_failed_after_the_report_went_out(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    demo = tmp_path / "demo-data"
    manifest = generate(demo, esa_limit=ESA_COUNT, days=1)
    day = manifest.days[0]
    monkeypatch.setenv("AIRFLOW__CORE__DEFAULT_TASK_RETRY_DELAY", "1")
    with demo_airflow(tmp_path, demo, day, operators=["ops@obec.go.th"], email_esas=False) as parts:
        set_fault(parts.state, DRIVE_LISTING, "500")
        with pytest.raises(RuntimeError, match="the DAG run failed") as failed:
            run_dag_with_progress(
                parts.airflow,
                day,
                tmp_path / "data" / "validated" / day.isoformat(),
                ESA_COUNT,
                tmp_path / "logs" / "run.log",
            )
        stats = parts.emulator.stats()
        messages: list[EmailMessage] = [
            email.message_from_bytes(path.read_bytes(), policy=default_policy)
            for path in parts.sink.messages()
        ]
    warehouse_url = parts.warehouse_url
    log = (tmp_path / "logs" / "run.log").read_text(encoding="utf-8")
    assert "confirm_run" in str(failed.value) or "confirm_run" in log
    # The listing was tried (and its retries), then every sheet was read instead.
    assert stats["by_endpoint"]["drive.files.list"] >= 1
    assert stats["by_endpoint"]["spreadsheets.get"] == ESA_COUNT
    engine = create_warehouse_engine(warehouse_url)
    try:
        with engine.connect() as conn:
            schools = conn.execute(
                text("SELECT count(*) FROM snapshot WHERE report_date = :day"), {"day": day}
            ).scalar_one()
    finally:
        engine.dispose()
    assert schools == manifest.school_count
    subjects = [str(m["Subject"]) for m in messages]
    assert subjects.count(f"{SUBJECT_PREFIX} {thai_date(day)}") == 1, subjects  # sent, once
    # The operator hears of it once, from the task that turned the run red.
    alerts = [m for m in messages if "confirm_run" in str(m["Subject"])]
    assert len(alerts) == 1, subjects
    assert not [
        s for s in subjects if s.startswith("[schoolnet]") and s not in alerts[0]["Subject"]
    ]
    body = alerts[0].get_body(preferencelist=("html",))
    assert body is not None and "Google Drive" in body.get_content()
