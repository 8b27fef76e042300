"""The Drive changes event trigger, run as Airflow's triggerer runs it (its ``run()`` async
generator, rebuilt from ``serialize()``), against the emulator over HTTP with the real client,
on SQLite and PostgreSQL warehouses: it fires once per clerk's edit, after marking the sheet
waiting, never for our own writes, costs one Drive call per quiet look, and survives restarts,
quota refusals and a refused key."""

from __future__ import annotations

import asyncio
import dataclasses
import importlib
import json
import logging
import os
from collections.abc import Callable
from contextlib import suppress
from datetime import datetime, time
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import delete, select, update

from schoolnet.core.config import load_settings
from schoolnet.core.paths import project_root
from schoolnet.devtools.emulator import set_fault, set_quota
from schoolnet.devtools.emulator.state import DRIVE_CHANGES
from schoolnet.devtools.mailsink import MailSink
from schoolnet.orchestration.live import CURSOR, check, load_token
from schoolnet.orchestration.live_trigger import CLASSPATH, DriveChangesTrigger, in_hours
from schoolnet.orchestration.registries import load_school_registry
from schoolnet.warehouse.models import LiveCursorRow, LiveSheetRow
from tests.keys import private_key_pem
from tests.unit.orchestration.live_world import BANGKOK, Live

POLL = 0.05  # seconds between looks, for the tests
BACKOFF = 0.2  # the longest wait after a fault, for the tests
LOGGER = "schoolnet.orchestration.live_trigger"
Payloads = list[dict[str, Any]]


@pytest.fixture
def connections(live: Live, empty_url: str, monkeypatch: pytest.MonkeyPatch) -> Live:
    """The Airflow connections the settings name, as environment variables: Google is the
    emulator, the warehouse the test's (what the trigger looks up at run time)."""
    names = live.settings.connections
    monkeypatch.setenv(f"AIRFLOW_CONN_{names.google.upper()}", emulator_connection(live))
    warehouse = {"conn_type": "generic", "extra": {"sqlalchemy_url": empty_url}}
    monkeypatch.setenv(f"AIRFLOW_CONN_{names.warehouse.upper()}", json.dumps(warehouse))
    return live


def emulator_connection(live: Live) -> str:
    return json.dumps({"conn_type": "generic", "extra": {"emulator_url": live.emulator.base_url}})


def trigger(live: Live, settings: Path | None = None, any_time: bool = True) -> DriveChangesTrigger:
    return DriveChangesTrigger(
        settings_path=str(settings or live.settings.source),
        poll_seconds=POLL,
        any_time=any_time,
        max_backoff_seconds=BACKOFF,
    )


def watch(
    made: DriveChangesTrigger, enough: Callable[[Payloads], bool], timeout: float = 60.0
) -> Payloads:
    """Run the trigger's generator as the triggerer does, collecting the events' payloads,
    until ``enough`` says so (asked between looks); then cancel it. ``asyncio.run`` returns
    only once the worker thread of a look in progress has ended."""

    async def main() -> Payloads:
        events: Payloads = []

        async def consume() -> None:
            async for event in made.run():
                events.append(event.payload)

        task = asyncio.create_task(consume())
        try:
            async with asyncio.timeout(timeout):
                while not enough(events):
                    if task.done():
                        task.result()
                        raise AssertionError("the trigger ended")
                    await asyncio.sleep(0.01)
        finally:
            task.cancel()
            with suppress(asyncio.CancelledError):
                await task
        return events

    return asyncio.run(main())


def calls(live: Live) -> dict[str, int]:
    by_endpoint: dict[str, int] = live.emulator.stats()["by_endpoint"]
    return by_endpoint


def without_looks(found: dict[str, int]) -> dict[str, int]:
    """The calls besides the looks at the changes feed."""
    return {endpoint: n for endpoint, n in found.items() if endpoint != "drive.changes.list"}


def looks(live: Live) -> int:
    return calls(live).get("drive.changes.list", 0)


def waiting(live: Live) -> set[str]:
    """The ESAs whose sheet waits for a check."""
    with live.engine.connect() as conn:
        found = conn.execute(select(LiveSheetRow.esa_code).where(LiveSheetRow.pending.is_(True)))
        return {code for (code,) in found}


def marked(live: Live, esa_code: str) -> int:
    """How many edits were marked on the ESA's sheet so far."""
    with live.engine.connect() as conn:
        count = conn.execute(
            select(LiveSheetRow.marked).where(LiveSheetRow.esa_code == esa_code)
        ).scalar_one()
        return int(count)


def token(live: Live) -> int:
    saved = load_token(live.engine)
    assert saved is not None
    return int(saved)


def test_a_clerks_edit_fires_once_naming_its_esa_after_marking_it_waiting(
    connections: Live,
) -> None:
    live = connections
    esa = live.esas[1]
    before = token(live)
    live.emulator.reset()
    live.type_students(esa, 5, "-3")
    events = watch(trigger(live), lambda found: len(found) >= 1 and looks(live) >= 4)
    assert len(events) == 1  # the edit, once; three quiet looks after it
    assert events[0]["esa_codes"] == [esa.esa_code] and events[0]["waiting"] == [esa.esa_code]
    assert events[0]["source"] == "changes"
    assert waiting(live) == {esa.esa_code}  # the run the event starts will check it
    assert token(live) > before
    assert set(calls(live)) == {"drive.changes.list"}  # no Sheets call: the run reads it


def test_our_own_writes_fire_nothing_and_a_quiet_look_costs_one_drive_call(
    connections: Live,
) -> None:
    live = connections
    made = trigger(live)
    live.emulator.reset()
    # The first run's own tab writes (the fixture's) are in the feed: not a clerk's.
    assert watch(made, lambda _: looks(live) >= 2) == []
    before = token(live)
    esa = live.esas[0]
    live.reader.write_tab(esa.spreadsheet_id, "บันทึกของระบบ", [["เขียนโดยระบบ"]])
    live.emulator.reset()
    assert watch(made, lambda _: looks(live) >= 4) == []
    assert set(calls(live)) == {"drive.changes.list"}  # one call a look, no Sheets call
    assert token(live) > before  # our write moved the position on
    assert waiting(live) == set()


def test_a_trigger_rebuilt_from_serialize_resumes_and_loses_no_edit_made_while_down(
    connections: Live,
) -> None:
    from airflow.serialization.decoders import smart_decode_trigger_kwargs
    from airflow.serialization.encoders import encode_trigger
    from airflow.triggers.base import BaseEventTrigger

    live = connections
    first_esa, second_esa = live.esas[0], live.esas[2]
    made = trigger(live)
    live.type_students(first_esa, 4, "-1")
    events = watch(made, lambda found: len(found) >= 1)
    assert [event["esa_codes"] for event in events] == [[first_esa.esa_code]]
    # The DAG run the event started checks the sheet, as the feedback DAG's check does.
    schools = load_school_registry(live.settings)
    done = check(first_esa, live.settings, live.reader, schools, live.engine, datetime.now(BANGKOK))
    assert done.feedback_tab == "written" and waiting(live) == set()

    # The trigger is down (a triggerer restart) while a clerk edits another sheet.
    live.type_students(second_esa, 4, "-2")
    classpath, kwargs = made.serialize()
    assert classpath == CLASSPATH and json.loads(json.dumps(kwargs)) == kwargs  # plain JSON
    same = trigger(live).serialize()
    assert BaseEventTrigger.hash(classpath, kwargs) == BaseEventTrigger.hash(*same)
    stored = encode_trigger(made)["kwargs"]  # as Airflow keeps it, and builds it again
    decoded = {
        key: smart_decode_trigger_kwargs(value)  # type: ignore[no-untyped-call]  # Airflow: unannotated
        for key, value in stored.items()
    }
    module, _, name = classpath.rpartition(".")
    again = getattr(importlib.import_module(module), name)(**decoded)  # the class by its path
    assert isinstance(again, DriveChangesTrigger) and again.serialize() == (classpath, kwargs)
    live.emulator.reset()
    events = watch(again, lambda found: len(found) >= 1 and looks(live) >= 3)
    assert [event["esa_codes"] for event in events] == [[second_esa.esa_code]]
    assert events[0]["source"] == "changes"
    assert set(calls(live)) == {"drive.changes.list"}  # from the saved token, no new start
    assert waiting(live) == {second_esa.esa_code}


def test_a_start_sends_again_what_waits_so_an_event_lost_in_a_restart_is_not_lost(
    connections: Live,
) -> None:
    live = connections
    esa = live.esas[1]
    live.type_students(esa, 3, "-9")
    # A look saved the mark, then the trigger stopped before its event was sent.
    found = watch(trigger(live), lambda found: len(found) >= 1)
    assert found[0]["esa_codes"] == [esa.esa_code]
    events = watch(trigger(live), lambda found: len(found) >= 1 and looks(live) >= 3)
    assert len(events) == 1
    assert events[0]["esa_codes"] == [] and events[0]["waiting"] == [esa.esa_code]


def test_our_write_to_a_sheet_still_waiting_keeps_it_waiting_and_no_loop_follows(
    connections: Live,
) -> None:
    """The trigger looks while the DAG checks: a write of ours to a sheet still waiting may be
    its check's (with a clerk's edit folded in): marked again, so the check cannot clear it."""
    live = connections
    esa = live.esas[0]
    live.emulator.reset()
    assert watch(trigger(live), lambda _: looks(live) >= 2) == []  # the first run's writes seen
    live.type_students(esa, 3, "-4")
    before = marked(live, esa.esa_code)
    wrote: list[bool] = []

    def write_once_fired(found: Payloads) -> bool:
        if len(found) == 1 and not wrote:
            live.reader.write_tab(esa.spreadsheet_id, "บันทึกของระบบ", [["เขียนโดยระบบ"]])
            wrote.append(True)
        return len(found) >= 2

    events = watch(trigger(live), write_once_fired)
    assert [event["esa_codes"] for event in events] == [[esa.esa_code], [esa.esa_code]]
    assert waiting(live) == {esa.esa_code} and marked(live, esa.esa_code) == before + 2
    schools = load_school_registry(live.settings)
    done = check(esa, live.settings, live.reader, schools, live.engine, datetime.now(BANGKOK))
    assert done.feedback_tab == "written" and waiting(live) == set()
    # The check's own write is accounted for: nothing more fires.
    assert watch(trigger(live), lambda _: looks(live) >= 4) == []


def test_a_lost_or_refused_token_falls_back_to_one_listing(connections: Live) -> None:
    live = connections
    esa = live.esas[2]
    live.type_students(esa, 3, "-7")
    with live.engine.begin() as conn:
        conn.execute(delete(LiveCursorRow).where(LiveCursorRow.name == CURSOR))
    live.emulator.reset()
    events = watch(trigger(live), lambda found: len(found) >= 1)
    assert events[0]["source"] == "listing" and events[0]["esa_codes"] == [esa.esa_code]
    assert without_looks(calls(live)) == {
        "drive.changes.getStartPageToken": 1,
        "drive.files.list": 1,
    }
    assert load_token(live.engine) is not None

    live.type_students(esa, 3, "70")
    with live.engine.begin() as conn:
        conn.execute(update(LiveCursorRow).values(page_token="999999"))  # Drive refuses it
    live.emulator.reset()
    events = watch(trigger(live), lambda found: len(found) >= 1 and looks(live) >= 3)
    assert [event["esa_codes"] for event in events] == [[esa.esa_code]]
    assert events[0]["source"] == "listing"
    assert calls(live)["drive.changes.getStartPageToken"] == 1
    assert calls(live)["drive.files.list"] == 1  # once: the looks after it use the new token


def test_a_429_from_drive_keeps_the_token_and_the_edit_arrives_once_it_heals(
    connections: Live, caplog: pytest.LogCaptureFixture
) -> None:
    live = connections
    esa = live.esas[1]
    live.type_students(esa, 6, "-2")
    before = token(live)
    set_quota(live.state, read=1)
    live.emulator.reset()
    live.reader.read_data_tab(live.esas[0].spreadsheet_id, "โรงเรียน")  # uses up the minute
    during: dict[str, Any] = {}

    def heal_after_three_refusals(found: Payloads) -> bool:
        if not during and live.emulator.stats()["throttled"] >= 3:
            during.update(events=len(found), token=token(live), waiting=waiting(live))
            set_quota(live.state, read=0)
        return len(found) >= 1

    with caplog.at_level(logging.WARNING, logger=LOGGER):
        events = watch(trigger(live), heal_after_three_refusals)
    assert during == {"events": 0, "token": before, "waiting": set()}  # nothing moved meanwhile
    assert [event["esa_codes"] for event in events] == [[esa.esa_code]]
    refused = [r.getMessage() for r in caplog.records if r.name == LOGGER]
    assert len(refused) >= 3
    assert all("quota" in line and "page token is kept" in line for line in refused)
    assert calls(live)["spreadsheets.get"] == 1  # the test's own read, none of the trigger's


@pytest.mark.parametrize(
    ("mode", "told"),
    [
        ("500", "Drive's changes feed refused or failed (google_error"),
        ("403", "Drive refused the service account"),
    ],
    ids=["5xx", "403"],
)
def test_a_failing_or_refusing_drive_keeps_the_token_and_the_edit_arrives_once_it_heals(
    connections: Live, caplog: pytest.LogCaptureFixture, mode: str, told: str
) -> None:
    live = connections
    esa = live.esas[0]
    live.type_students(esa, 4, "-8")
    before = token(live)
    set_fault(live.state, DRIVE_CHANGES, mode)
    live.emulator.reset()
    during: dict[str, Any] = {}

    def heal_after_three_faults(found: Payloads) -> bool:
        if not during and live.emulator.stats()["faulted"] >= 3:
            during.update(events=len(found), token=token(live), waiting=waiting(live))
            set_fault(live.state, DRIVE_CHANGES, None)
        return len(found) >= 1

    with caplog.at_level(logging.WARNING, logger=LOGGER):
        events = watch(trigger(live), heal_after_three_faults)
    assert during == {"events": 0, "token": before, "waiting": set()}
    assert [event["esa_codes"] for event in events] == [[esa.esa_code]]
    lines = [r.getMessage() for r in caplog.records if r.name == LOGGER]
    assert len(lines) >= 3 and all(line.startswith(told) for line in lines)
    if mode == "403":  # what the operator must do, and where
        conn_id = live.settings.connections.google
        assert all(repr(conn_id) in line and "put a valid key" in line for line in lines)
    assert set(calls(live)) == {"drive.changes.list"}


def test_a_refused_key_is_told_to_the_operator_and_a_new_key_is_used_at_once(
    connections: Live,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    live = connections
    esa = live.esas[2]
    live.type_students(esa, 5, "-6")
    conn_id = live.settings.connections.google
    variable = f"AIRFLOW_CONN_{conn_id.upper()}"
    # A key Google's sign-in refuses (the emulator answers its token address with an error).
    revoked = {"conn_type": "generic", "extra": {"keyfile_dict": revoked_key(live)}}
    monkeypatch.setenv(variable, json.dumps(revoked))

    def rotate_after_two_refusals(found: Payloads) -> bool:
        told = [r for r in caplog.records if r.name == LOGGER and r.levelno >= logging.ERROR]
        if len(told) >= 2:
            monkeypatch.setenv(variable, emulator_connection(live))  # the operator's new key
        return len(found) >= 1

    with MailSink(live.root / "alerts") as sink:
        monkeypatch.setenv(f"AIRFLOW_CONN_{live.settings.connections.smtp.upper()}", smtp(sink))
        with caplog.at_level(logging.WARNING, logger=LOGGER):
            events = watch(trigger(live), rotate_after_two_refusals)
        alerts = sink.messages()
    assert [event["esa_codes"] for event in events] == [[esa.esa_code]]
    told = [r.getMessage() for r in caplog.records if r.name == LOGGER]
    assert len(told) >= 2
    assert all("Google sign-in failed" in line and repr(conn_id) in line for line in told)
    assert all("put a valid key in the connection" in line for line in told)
    # The operators are told once by email, not at every refusal, in Thai, with what to do.
    (path,) = alerts
    alert = BytesParser(policy=policy.default).parsebytes(path.read_bytes())
    assert isinstance(alert, EmailMessage)
    assert alert["To"] == ", ".join(live.settings.report.alert_recipients)
    assert "การตรวจชีตแบบใกล้เวลาจริงหยุดทำงาน" in str(alert["Subject"])
    html = alert.get_body(preferencelist=("html",))
    assert html is not None and conn_id in html.get_content()


def smtp(sink: MailSink) -> str:
    """An Airflow SMTP connection to the test's mail sink, plain (loopback)."""
    return json.dumps(
        {
            "conn_type": "smtp",
            "host": "127.0.0.1",
            "port": sink.port,
            "extra": {"disable_ssl": True, "disable_tls": True},
        }
    )


def revoked_key(live: Live) -> dict[str, str]:
    """A service account key, as Google Cloud's console gives it, whose sign-in fails."""
    pem = private_key_pem()
    return {
        "type": "service_account",
        "project_id": "obec-schoolnet",
        "private_key_id": "0" * 40,
        "private_key": pem,
        "client_email": "schoolnet@obec-schoolnet.iam.gserviceaccount.com",
        "client_id": "1",
        "token_uri": f"{live.emulator.base_url}/token",
    }


@pytest.mark.parametrize("broken", ["settings", "connection"])
def test_a_broken_settings_file_or_a_missing_connection_is_told_and_waited_out(
    connections: Live,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    broken: str,
) -> None:
    live = connections
    esa = live.esas[1]
    live.type_students(esa, 7, "-1")
    settings = tmp_path / "settings.toml"
    good = live.settings.source.read_text(encoding="utf-8")
    variable = f"AIRFLOW_CONN_{live.settings.connections.warehouse.upper()}"
    defined = os.environ[variable]
    if broken == "settings":
        settings.write_text(good.replace("[live]", "[live\n"), encoding="utf-8")
    else:
        settings.write_text(good, encoding="utf-8")
        monkeypatch.delenv(variable)  # the warehouse connection is not defined
    expected = "settings file cannot be used" if broken == "settings" else "isn't defined"

    def mend_after_two(found: Payloads) -> bool:
        told = [r for r in caplog.records if r.name == LOGGER and expected in r.getMessage()]
        if len(told) >= 2 and broken == "settings":
            mended = settings.with_suffix(".new")  # replaced whole: never read half written
            mended.write_text(good, encoding="utf-8")
            mended.replace(settings)
        elif len(told) >= 2:
            monkeypatch.setenv(variable, defined)
        return len(found) >= 1

    live.emulator.reset()
    with caplog.at_level(logging.WARNING, logger=LOGGER):
        events = watch(trigger(live, settings), mend_after_two)
    assert [event["esa_codes"] for event in events] == [[esa.esa_code]]
    lines = [r.getMessage() for r in caplog.records if r.name == LOGGER]
    assert len(lines) >= 2 and all(expected in line for line in lines)
    assert set(calls(live)) == {"drive.changes.list"}


def test_outside_the_working_hours_drive_is_not_asked(
    connections: Live, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    live = connections
    settings = tmp_path / "off.toml"
    text = live.settings.source.read_text(encoding="utf-8")
    assert text.count("enabled = true") == 1
    settings.write_text(text.replace("enabled = true", "enabled = false"), encoding="utf-8")
    live.type_students(live.esas[0], 3, "-5")
    live.emulator.reset()

    def idle_looks() -> int:
        return sum("not asked" in r.getMessage() for r in caplog.records if r.name == LOGGER)

    with caplog.at_level(logging.DEBUG, logger=LOGGER):
        events = watch(trigger(live, settings, any_time=False), lambda _: idle_looks() >= 5)
    assert events == [] and calls(live) == {}  # no Google call at all
    assert waiting(live) == set()


def test_drive_is_not_watched_in_the_pause_before_the_morning_run() -> None:
    """The trigger keeps the gate's pause before the 06:00 run (it has the quota then); a
    pause of 0 with all-day hours watches at every moment of every day."""
    shipped = load_settings(project_root() / "config" / "schoolnet.toml")
    monday = datetime(2026, 12, 7, 10, 0, tzinfo=BANGKOK)
    all_day = dataclasses.replace(
        shipped,
        live=dataclasses.replace(
            shipped.live,
            start=time(0, 0),
            end=time.max,
            days=tuple(range(7)),
            pause_before_morning_minutes=0,
        ),
    )
    paused = dataclasses.replace(
        all_day, live=dataclasses.replace(all_day.live, pause_before_morning_minutes=10)
    )
    assert in_hours(shipped, monday) and not in_hours(shipped, monday.replace(hour=17))
    for hour, minute in ((5, 50), (5, 59), (6, 0), (23, 59), (0, 0)):
        assert in_hours(all_day, monday.replace(hour=hour, minute=minute))
    assert not in_hours(paused, monday.replace(hour=5, minute=51))
    assert not in_hours(paused, monday.replace(hour=5, minute=59, second=59))
    assert in_hours(paused, monday.replace(hour=5, minute=50))
    assert in_hours(paused, monday.replace(hour=6, minute=1))


def test_the_keyword_arguments_are_checked_when_the_trigger_is_made() -> None:
    with pytest.raises(ValueError, match="at most 30"):
        DriveChangesTrigger(poll_seconds=60)
    with pytest.raises(ValueError, match="at least poll_seconds"):
        DriveChangesTrigger(poll_seconds=10, max_backoff_seconds=5)
    assert DriveChangesTrigger().serialize() == (
        CLASSPATH,
        {
            "settings_path": None,
            "poll_seconds": 30.0,
            "any_time": False,
            "max_backoff_seconds": 300.0,
            "refire_seconds": 60.0,
        },
    )
    with pytest.raises(ValueError, match="refire_seconds"):
        DriveChangesTrigger(poll_seconds=10, refire_seconds=5)


def test_while_a_sheet_waits_the_event_is_sent_again_until_it_is_checked(
    connections: Live,
) -> None:
    """Airflow may set an event aside while a run is in progress (max_active_runs=1,
    apache/airflow#56050): while the sheet still waits, the event comes again, so the next run
    starts; once checked, nothing more fires."""
    live = connections
    esa = live.esas[2]
    live.type_students(esa, 4, "-6")
    made = DriveChangesTrigger(
        settings_path=str(live.settings.source),
        poll_seconds=POLL,
        any_time=True,
        max_backoff_seconds=BACKOFF,
        refire_seconds=0.3,
    )
    events = watch(made, lambda found: len(found) >= 3)
    assert events[0]["esa_codes"] == [esa.esa_code]
    assert all(e["esa_codes"] == [] and e["waiting"] == [esa.esa_code] for e in events[1:])
    schools = load_school_registry(live.settings)
    check(esa, live.settings, live.reader, schools, live.engine, datetime.now(BANGKOK))
    live.emulator.reset()
    quiet = watch(made, lambda _: looks(live) >= 12)  # several refire periods of looks
    assert quiet == [] and waiting(live) == set()
