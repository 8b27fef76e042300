"""A run of a date other than today, by any Airflow path, never rewrites history.

The real ``schoolnet_daily`` DAG (``airflow dags test``, which a cleared run, a backfill and a
catch-up run the same tasks as) against the Sheets emulator, whose clock is "today", a mail sink
on loopback, and a warehouse on SQLite and on PostgreSQL. Three mornings are run as they come;
then, with the sheets moved on to a later morning, past dates are run again and the warehouse,
the mail, the clerks' tabs and the Google calls are compared before and after.
"""

from __future__ import annotations

import contextlib
import email
import json
import shutil
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from email.message import EmailMessage
from email.policy import default as default_policy
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import text

from schoolnet.core.thai import thai_date
from schoolnet.devtools.demo import DemoManifest, generate
from schoolnet.devtools.emulator import load_day
from schoolnet.orchestration.airflow_glue import TIMEZONE
from schoolnet.orchestration.tasks import DAG_ID
from schoolnet.warehouse import create_warehouse_engine
from tests.checksum import table_checksums
from tests.conftest import postgres_url
from tests.e2e.demo_airflow import DemoAirflow, demo_airflow

ESA_COUNT = 2
REPORT_SUBJECT = "รายงานการเชื่อมต่ออินเทอร์เน็ตโรงเรียน สพฐ."


@dataclass
class History:
    """Morning 1 of the data set ran on its day; morning 2 was missed; the emulator now holds
    morning 3's sheets and its clock says morning 3, before that morning's run: the hour at
    which a scheduler back from an outage starts the missed run."""

    parts: DemoAirflow
    manifest: DemoManifest
    root: Path
    engine: str

    @property
    def days(self) -> list[date]:
        return list(self.manifest.days)

    def run(self, day: date, conf: dict[str, Any] | None = None) -> tuple[str, str]:
        """Run the DAG for ``day`` with ``airflow dags test``; the run's state and its log."""
        logical = datetime(day.year, day.month, day.day, 6, tzinfo=ZoneInfo(TIMEZONE))
        args = ["dags", "test", DAG_ID, logical.isoformat()]
        if conf:
            args += ["--conf", json.dumps(conf)]
        log = self.root / "logs" / f"{day.isoformat()}-{uuid.uuid4().hex[:6]}.log"
        with contextlib.suppress(RuntimeError):  # a failed run is an outcome: read below
            self.parts.airflow.airflow(*args, log=log)
        listing = self.parts.airflow.airflow("dags", "list-runs", DAG_ID, "-o", "json").stdout
        (runs,) = [json.loads(line) for line in listing.splitlines() if line.startswith("[")]
        (state,) = [
            run["state"] for run in runs if run["logical_date"].startswith(logical_iso(day))
        ]
        return state, log.read_text(encoding="utf-8")

    def warehouse(self) -> dict[str, str]:
        engine = create_warehouse_engine(self.parts.warehouse_url)
        try:
            return table_checksums(engine)
        finally:
            engine.dispose()

    def mail(self) -> list[str]:
        """The report and feedback emails received (operator alerts aside)."""
        return [
            path.name
            for path in self.parts.sink.messages()
            if ".report." in path.name or ".esa-" in path.name
        ]

    def alerts(self) -> list[EmailMessage]:
        messages = [
            email.message_from_bytes(path.read_bytes(), policy=default_policy)
            for path in self.parts.sink.messages()
        ]
        return [m for m in messages if str(m["Subject"]).startswith("[schoolnet]")]

    def sheets(self) -> dict[str, str]:
        """Every sheet as the emulator holds it (data and feedback tab)."""
        folder = self.parts.state / "spreadsheets"
        return {path.name: path.read_text(encoding="utf-8") for path in folder.glob("*.json")}


def logical_iso(day: date) -> str:
    """The logical date's UTC form as ``list-runs`` prints it (06:00 Bangkok is 23:00 UTC)."""
    moment = datetime(day.year, day.month, day.day, 6, tzinfo=ZoneInfo(TIMEZONE))
    return moment.astimezone(ZoneInfo("UTC")).strftime("%Y-%m-%dT%H:%M")


@pytest.fixture(
    scope="module", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
)
def history(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[History]:
    root = tmp_path_factory.mktemp(f"past-{request.param}")
    demo = root / "demo-data"
    manifest = generate(demo, esa_limit=ESA_COUNT, days=3)
    schema = None
    url = None
    if request.param == "postgres":
        server = postgres_url()
        if server is None:
            pytest.skip("no PostgreSQL server (set SCHOOLNET_TEST_PG_URL)")
        schema = f"t_{uuid.uuid4().hex[:12]}"
        admin = create_warehouse_engine(server)
        with admin.begin() as conn:
            conn.execute(text(f'CREATE SCHEMA "{schema}"'))
        separator = "&" if "?" in server else "?"
        url = f"{server}{separator}options=-csearch_path%3D{schema}"
    try:
        with demo_airflow(
            root, demo, manifest.days[0], warehouse_url=url, operators=["ops@obec.go.th"]
        ) as parts:
            world = History(parts, manifest, root, request.param)
            first, _missed, third = world.days
            state, log = world.run(first)
            assert state == "success", log[-3000:]
            load_day(parts.state, demo, third)  # the sheets move on; "today" is morning 3
            yield world
    finally:
        if schema is not None and server is not None:
            with admin.begin() as conn:
                conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
            admin.dispose()


def test_a_past_date_is_replayed_from_its_landing_and_changes_nothing(history: History) -> None:
    """Today's sheets stand for morning 3; morning 1 runs again. Its ESAs landed that day are
    validated and merged again from the landing, one whose landing is gone keeps what the
    warehouse holds: the warehouse, the mail and the sheets are as they were, and Google is
    not called once."""
    first = history.days[0]
    raw = history.parts.config.parent / "data" / "raw" / first.isoformat()
    landed = sorted(raw.glob("*.json"))
    assert len(landed) == ESA_COUNT
    kept = landed[0]
    parked = history.root / "parked.json"
    shutil.move(kept, parked)
    try:
        before = (history.warehouse(), history.mail(), history.sheets())
        history.parts.emulator.reset()
        state, log = history.run(first)
        # Its report was sent on its own morning, so the run did its job: green, and silent.
        assert state == "success", log[-3000:]
        assert (history.warehouse(), history.mail(), history.sheets()) == before
        stats = history.parts.emulator.stats()
        assert (stats["reads"], stats["writes"]) == (0, 0)
        assert f"{ESA_COUNT - 1} of {ESA_COUNT} ESAs replayed from that date's landing" in log
        # The log names the ESA that kept its rows, and why.
        assert f"keep what the warehouse holds: {kept.stem}" in log
        assert "not sent: a run of a past date sends no email unless asked" in log
    finally:
        shutil.move(parked, kept)


def test_a_missed_morning_run_later_reads_nothing_and_is_red(history: History) -> None:
    """The catch-up of a morning the scheduler missed: the sheets now hold a later day, so it
    reads nothing, writes nothing, sends the clerks and the ministry nothing, and ends failed,
    the operators told why."""
    missed = history.days[1]
    before = (history.warehouse(), history.mail(), history.sheets())
    alerts = len(history.alerts())
    history.parts.emulator.reset()
    state, log = history.run(missed)
    assert state == "failed"
    assert (history.warehouse(), history.mail(), history.sheets()) == before
    assert history.parts.emulator.stats()["reads"] == 0
    assert not (history.parts.config.parent / "data" / "raw" / missed.isoformat()).exists()
    reason = f"nothing was landed on {missed.isoformat()} and the warehouse holds nothing for it"
    assert reason in log
    new = history.alerts()[alerts:]
    assert {str(m["Subject"]).split()[2] for m in new} == {"merge_day", "confirm_run"}
    (final,) = [m for m in new if "confirm_run" in str(m["Subject"])]
    body = final.get_body(preferencelist=("html",))
    assert body is not None and "was never sent" in str(body.get_content())


def test_a_future_date_is_refused_before_anything_is_read(history: History) -> None:
    if history.engine != "sqlite":
        pytest.skip("the refusal comes before the warehouse is touched: one engine shows it")
    future = history.days[-1] + timedelta(days=1)
    before = (history.warehouse(), history.mail(), history.sheets())
    history.parts.emulator.reset()
    state, log = history.run(future)
    assert state == "failed"
    assert f"the report date {future.isoformat()} is after today ({history.days[-1]})" in log
    assert (history.warehouse(), history.mail(), history.sheets()) == before
    assert history.parts.emulator.stats()["reads"] == 0


def test_a_resend_of_a_past_date_sends_its_report_again_and_only_that(history: History) -> None:
    if history.engine != "sqlite":
        pytest.skip("the send path is the same on both engines; the warehouse is compared above")
    first = history.days[0]
    before = history.warehouse()
    sheets = history.sheets()
    mail = history.mail()
    state, log = history.run(first, conf={"force_resend": True})
    assert state == "success", log[-3000:]
    new = sorted(set(history.mail()) - set(mail))
    reports = [name for name in new if ".report." in name]
    assert len(reports) == 1 and len(new) == 1 + ESA_COUNT  # the report and each ESA's email
    after = history.warehouse()
    # Only the delivery log moved (the send count); the day's figures and the tabs did not.
    assert {name for name in before if before[name] != after[name]} == {"delivery"}
    assert history.sheets() == sheets
    folder = history.root / "mail"
    message = email.message_from_bytes((folder / reports[0]).read_bytes(), policy=default_policy)
    assert message["Subject"] == f"{REPORT_SUBJECT} ประจำวันที่ {thai_date(first)}"
