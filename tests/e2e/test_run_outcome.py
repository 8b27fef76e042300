"""A run that did not deliver its report is never green.

Airflow calls a DAG run successful when its last tasks succeeded or were skipped. The daily
DAG's last task runs whatever happened before it, so each way a run could skip its report used
to end "success": the first task failing (a broken settings file), the render failing, the send
failing. Each is run here through the real DAG (``airflow dags test``) against the emulator and a
mail sink on loopback, and its state read from Airflow; a clean run beside them stays green.
"""

from __future__ import annotations

import contextlib
import email
import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime
from email.message import EmailMessage
from email.policy import default as default_policy
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from schoolnet.devtools.demo import DemoManifest, generate
from schoolnet.devtools.emulator import load_day
from schoolnet.orchestration.airflow_glue import TIMEZONE
from schoolnet.orchestration.tasks import DAG_ID
from tests.e2e.demo_airflow import DemoAirflow, demo_airflow

OPERATOR = "ops@obec.go.th"  # in the settings file
ON_DUTY = "duty@obec.go.th"  # in SCHOOLNET_OPERATORS, for when the file cannot be used
REPORT_TO = "ict-report@obec.go.th"  # the report's recipient in the test settings


@dataclass
class World:
    parts: DemoAirflow
    demo: Path
    manifest: DemoManifest
    root: Path

    def run(self, day: date) -> tuple[str, list[EmailMessage]]:
        """Load ``day``'s sheets (the emulator's clock says that morning), run the DAG for it;
        the run's state and the emails it caused."""
        load_day(self.parts.state, self.demo, day)
        seen = len(self.parts.sink.messages())
        logical = datetime(day.year, day.month, day.day, 6, tzinfo=ZoneInfo(TIMEZONE))
        log = self.root / "logs" / f"{day.isoformat()}.log"
        with contextlib.suppress(RuntimeError):  # a failed run is an outcome: read below
            self.parts.airflow.airflow("dags", "test", DAG_ID, logical.isoformat(), log=log)
        listing = self.parts.airflow.airflow("dags", "list-runs", DAG_ID, "-o", "json").stdout
        (runs,) = [json.loads(line) for line in listing.splitlines() if line.startswith("[")]
        utc = logical.astimezone(ZoneInfo("UTC")).strftime("%Y-%m-%dT%H:%M")
        (state,) = [run["state"] for run in runs if run["logical_date"].startswith(utc)]
        new = [
            email.message_from_bytes(path.read_bytes(), policy=default_policy)
            for path in self.parts.sink.messages()[seen:]
        ]
        return state, new


def html(message: EmailMessage) -> str:
    body = message.get_body(preferencelist=("html",))
    assert body is not None
    return str(body.get_content())


def alerts(messages: list[EmailMessage]) -> dict[str, EmailMessage]:
    """The operators' alerts by the task they name."""
    return {
        str(m["Subject"]).split()[2]: m
        for m in messages
        if str(m["Subject"]).startswith("[schoolnet]")
    }


def reports(messages: list[EmailMessage]) -> list[EmailMessage]:
    return [m for m in messages if str(m["Subject"]).startswith("รายงานการเชื่อมต่อ")]


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    root = tmp_path_factory.mktemp("outcome")
    demo = root / "demo-data"
    manifest = generate(demo, esa_limit=1, days=4)
    with demo_airflow(root, demo, manifest.days[0], operators=[OPERATOR]) as parts:
        yield World(parts, demo, manifest, root)


@pytest.fixture
def quick_retries(monkeypatch: pytest.MonkeyPatch) -> None:
    # Retries come in seconds here; in production they wait [core] default_task_retry_delay.
    monkeypatch.setenv("AIRFLOW__CORE__DEFAULT_TASK_RETRY_DELAY", "1")
    monkeypatch.setenv("SCHOOLNET_OPERATORS", ON_DUTY)


@pytest.mark.usefixtures("quick_retries")
def test_a_broken_settings_file_fails_the_run_at_once_and_still_alerts(world: World) -> None:
    config = world.parts.config
    sound = config.read_text(encoding="utf-8")
    config.write_text(sound.replace("stale_after_days", "stale_after_dayz"), encoding="utf-8")
    try:
        state, messages = world.run(world.manifest.days[0])
    finally:
        config.write_text(sound, encoding="utf-8")
    assert state == "failed"
    # One alert, on the first try (a retry would read the same file), to the operators named
    # in the broken file and to those of the environment, in Thai and in English.
    assert not reports(messages)
    found = alerts(messages)
    assert set(found) == {"load_registry", "confirm_run"}
    first = found["load_registry"]
    assert set(str(first["To"]).replace(" ", "").split(",")) == {OPERATOR, ON_DUTY}
    body = html(first)
    assert "ไฟล์ตั้งค่าของ schoolnet ไม่ถูกต้อง" in body and "the settings file is broken" in body
    assert "stale_after_dayz" in body
    assert "หลังลอง 1 ครั้ง" in body  # no retry
    assert not (world.root / "data" / "raw").exists()  # nothing was read


@pytest.mark.usefixtures("quick_retries")
def test_a_report_the_mail_server_refuses_fails_the_run(world: World) -> None:
    # The mail server has no mailbox for the report's recipient: every try of the report's send
    # is refused (550). The ESA's own email and the alerts go through.
    sink = world.parts.sink
    sink.refuse_recipient(REPORT_TO)
    try:
        state, messages = world.run(world.manifest.days[1])
    finally:
        sink.refuse_recipient(REPORT_TO, refused=False)
    assert state == "failed"
    assert not reports(messages)
    assert any(str(m["Subject"]).startswith("ผลตรวจสอบ") for m in messages)  # the ESA's
    found = alerts(messages)
    assert set(found) == {"send_report", "confirm_run"}
    final = html(found["confirm_run"])
    assert "send_report" in final and "was not sent" in final


@pytest.mark.usefixtures("quick_retries")
def test_a_report_that_cannot_be_rendered_fails_the_run(world: World) -> None:
    folder = world.root / "report"
    moved = world.root / "report.kept"
    if folder.exists():
        folder.rename(moved)
    folder.write_text("not a folder", encoding="utf-8")  # the render cannot write there
    try:
        state, messages = world.run(world.manifest.days[2])
    finally:
        folder.unlink()
        if moved.exists():
            moved.rename(folder)
    assert state == "failed"
    assert not reports(messages)
    found = alerts(messages)
    assert set(found) == {"render_report", "confirm_run"}
    final = html(found["confirm_run"])
    assert "render_report" in final and "send_report" in final and "was not sent" in final


def test_a_run_that_delivered_its_report_is_green(world: World) -> None:
    day = world.manifest.days[3]
    state, messages = world.run(day)
    assert state == "success"
    assert len(reports(messages)) == 1
    assert not alerts(messages)
