"""The compose deployment's executor, proven: CeleryExecutor with two workers, for a week.

The real scheduler, DAG processor, API server and two ``airflow celery worker`` processes run
as local processes (tests/deploy/stack.py), with Redis as the broker (a database number of this
test's own) and PostgreSQL as the metadata database and Celery's result backend, prepared by the
compose file's own init script. Five consecutive demo mornings are triggered one after the
other and run by the scheduler: the first with one worker killed by SIGKILL while it runs a pull,
one with the weekly full pull, one with a Google outage on some sheets, and, at the end, a past
morning cleared and run again. The same mornings are also run one by one with
``airflow dags test`` on a warehouse of their own (beside the scheduler's run of the same
morning, sharing nothing with it); both warehouses must be equal after every morning.

One module fixture plays the week and records what happened; each test checks one property of
it, so the tests hold in any order.
"""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from schoolnet.core.config import load_settings
from schoolnet.core.registry import Esa, read_esas
from schoolnet.core.thai import thai_date
from schoolnet.devtools.demo import generate
from schoolnet.devtools.devenv import LocalAirflow
from schoolnet.devtools.emulator import Emulator, load_day, set_fault
from schoolnet.devtools.emulator.server import LoggedRequest
from schoolnet.devtools.mailsink import MailSink
from schoolnet.devtools.rundemo import run_dag_with_progress
from schoolnet.orchestration.airflow_glue import TIMEZONE
from schoolnet.orchestration.tasks import DAG_ID
from schoolnet.report.daily import SUBJECT_PREFIX
from schoolnet.warehouse import create_warehouse_engine
from tests.checksum import MOMENTS, table_checksums
from tests.deploy.stack import (
    Processes,
    Stack,
    airflow_stack,
    celery_environment,
    database_url,
    pg_admin_url,
    redis_database,
    settings_file,
    start_worker,
    throwaway_databases,
    wait_for,
)

# The first test also plays the week (the module fixture): five mornings on both sides.
pytestmark = [pytest.mark.e2e, pytest.mark.postgres, pytest.mark.timeout(3600)]

# Six ESAs over five mornings (3 to 7 January 2018): enough for both workers to pull side by
# side, for the weekly full pull (the 7th) to fall after the first morning, and for an outage,
# a rerun and a backfill of their own mornings.
ESA_COUNT = 6
DAYS = 5
POOL_SLOTS = 4
WORKER_CONCURRENCY = 2
# The pacer's quota (settings) and the emulator's (Google's side): one read or write every
# 2 s, far below what six pulls at once over two workers would send unpaced. Low enough that
# the week's six first-morning tab writes are more than six seconds may hold at that pace, so a
# burst of them would show (test_the_google_call_rate_stayed_under_the_quota_across_workers).
REQUESTS_PER_MINUTE = 30
OUTAGE_DAY_INDEX = 2  # the third morning: two sheets answer 500 all morning
RERUN_DAY_INDEX = 3  # cleared and run again after the last morning
RUN_TIMEOUT_SECONDS = 8 * 60


@dataclass
class Week:
    """What the scheduler's week did, and what the one-by-one reference did."""

    esas: list[Esa]
    days: tuple[date, ...]
    stack: Stack
    killed_worker: str = ""
    killed_map_index: int = -1
    pull_hosts: dict[date, Counter[str]] = field(default_factory=dict)
    kill_tries: list[dict[str, Any]] = field(default_factory=list)
    states: dict[date, str] = field(default_factory=dict)
    reference_states: dict[date, str] = field(default_factory=dict)
    checksums: dict[date, tuple[dict[str, str], dict[str, str]]] = field(default_factory=dict)
    sheet_reads: dict[date, int] = field(default_factory=dict)
    requests: list[LoggedRequest] = field(default_factory=list)
    before_rerun: dict[str, str] = field(default_factory=dict)
    after_rerun: dict[str, str] = field(default_factory=dict)
    rerun_state: str = ""
    mails_before_rerun: int = 0
    google_calls_in_rerun: int = -1
    backfill_states: list[str] = field(default_factory=list)
    after_backfill: dict[str, str] = field(default_factory=dict)
    google_calls_in_backfill: int = -1
    sheets_after_backfill: dict[str, str] = field(default_factory=dict)
    mails_after_backfill: int = -1
    sheets_before_rerun: dict[str, str] = field(default_factory=dict)
    sheets_after_rerun: dict[str, str] = field(default_factory=dict)
    full_pull_days: set[date] = field(default_factory=set)


# The scheduler notices a killed worker quickly here (300 s and 600 s in production).
RECOVERY_SETTINGS = {
    # A killed worker's task stops heartbeating: the scheduler fails it after this long and its
    # retry runs on a live worker.
    "AIRFLOW__SCHEDULER__TASK_INSTANCE_HEARTBEAT_TIMEOUT": "20",
    "AIRFLOW__SCHEDULER__TASK_INSTANCE_HEARTBEAT_TIMEOUT_DETECTION_INTERVAL": "5",
    # A task the killed worker had taken from the queue but not started is queued again.
    "AIRFLOW__SCHEDULER__TASK_QUEUED_TIMEOUT": "60",
    "AIRFLOW__SCHEDULER__TASK_QUEUED_TIMEOUT_CHECK_INTERVAL": "10",
}


def google(side: Path) -> Emulator:
    """The emulator of one side, refusing (429) what Google would refuse at the quota."""
    return Emulator(
        side / "emulator",
        read_quota_per_minute=REQUESTS_PER_MINUTE,
        write_quota_per_minute=REQUESTS_PER_MINUTE,
    )


def contents(url: str) -> dict[str, str]:
    """Each table's digest, leaving out when things happened (tests/checksum.py)."""
    engine = create_warehouse_engine(url)
    try:
        return table_checksums(engine, left_out=MOMENTS)
    finally:
        engine.dispose()


def sheet_files(state: Path) -> dict[str, str]:
    """Every sheet the emulator holds (data and feedback tabs), as stored."""
    return {
        path.name: path.read_text(encoding="utf-8")
        for path in sorted((state / "spreadsheets").glob("*.json"))
    }


def outage(state: Path, esas: list[Esa], mode: str | None) -> None:
    for esa in esas[1:ESA_COUNT:4]:
        set_fault(state, esa.spreadsheet_id, mode)


def hosts(stack: Stack, run_id: str) -> Counter[str]:
    """How many pull tries each worker ran (every try, the killed one too)."""
    return Counter(
        str(t["hostname"])
        for ti in stack.mapped_pulls(run_id)
        for t in stack.tries(run_id, ti["map_index"])
        if t["hostname"]
    )


def run_first_morning_killing_a_worker(week: Week, day: date, processes: Processes) -> str:
    """Trigger the morning; SIGKILL worker-a once it runs a pull and worker-b has run one."""
    stack = week.stack
    run_id = stack.trigger(day)

    def kill_when_both_worked() -> None:
        if week.killed_worker:
            return
        pulls = stack.mapped_pulls(run_id)
        on_a = [ti for ti in pulls if ti["hostname"] == "worker-a" and ti["state"] == "running"]
        on_b = [ti for ti in pulls if ti["hostname"] == "worker-b"]
        if on_a and on_b:
            processes.kill("worker-a")
            week.killed_worker = "worker-a"
            week.killed_map_index = int(on_a[0]["map_index"])

    state = stack.wait_finished(run_id, RUN_TIMEOUT_SECONDS, kill_when_both_worked)
    assert week.killed_worker, "worker-a was never seen running a pull beside worker-b"
    week.kill_tries = stack.tries(run_id, week.killed_map_index)
    # The machine comes back, as a container restarts: two workers for the rest of the week.
    start_worker(processes, "worker-c")
    return state


def run_reference_morning(airflow: LocalAirflow, root: Path, day: date) -> str:
    """The same morning with ``airflow dags test``; its end state."""
    try:
        run_dag_with_progress(
            airflow,
            day,
            root / "data" / "validated" / day.isoformat(),
            ESA_COUNT,
            root / "logs" / f"{day.isoformat()}.log",
        )
    except RuntimeError as error:
        return f"failed: {error}"
    return "success"


def backfill(stack: Stack, first: date, last: date) -> list[str]:
    """Backfill ``first`` to ``last`` through the scheduler, running again dates that ran
    (``airflow backfill create --reprocess-behavior completed``); each date's run state."""

    def morning(day: date) -> str:
        return datetime(day.year, day.month, day.day, 6, tzinfo=ZoneInfo(TIMEZONE)).isoformat()

    made = stack.post(
        "/backfills",
        {
            "dag_id": DAG_ID,
            "from_date": morning(first),
            "to_date": morning(last),
            "reprocess_behavior": "completed",
            "max_active_runs": 1,
        },
    )
    wait_for(
        "the backfill to complete",
        lambda: stack.get(f"/backfills/{made['id']}")["completed_at"],
        2 * RUN_TIMEOUT_SECONDS,
        stack.processes,
    )
    runs = stack.get(f"/dags/{DAG_ID}/dagRuns", limit=100)["dag_runs"]
    chosen = {morning(day) for day in (first, last)}
    return sorted(
        str(run["state"])
        for run in runs
        if datetime.fromisoformat(run["logical_date"]).astimezone(ZoneInfo(TIMEZONE)).isoformat()
        in chosen
    )


def rerun_by_clearing(stack: Stack, day: date) -> str:
    run_id = stack.run_ids[day]
    runs = f"/dags/{DAG_ID}/dagRuns/{run_id}"
    ended = stack.get(runs)["end_date"]
    stack.post(
        f"/dags/{DAG_ID}/clearTaskInstances",
        {"dag_run_id": run_id, "dry_run": False, "only_failed": False, "reset_dag_runs": True},
    )
    wait_for(
        "the cleared run to end again",
        lambda: (
            (run := stack.get(runs))["state"] in ("success", "failed") and run["end_date"] != ended
        ),
        RUN_TIMEOUT_SECONDS,
        stack.processes,
    )
    return stack.run_state(run_id)


@pytest.fixture(scope="module")
def week(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Week]:
    admin_url = pg_admin_url()
    root = tmp_path_factory.mktemp("celery")
    demo = root / "demo-data"
    manifest = generate(demo, esa_limit=ESA_COUNT, days=DAYS)
    esas = read_esas(demo / "esas.csv")
    scheduled, reference = root / "scheduled", root / "reference"
    suffix = uuid.uuid4().hex[:10]
    metadata_db = f"schoolnet_airflow_{suffix}"
    warehouse_db, reference_db = f"schoolnet_wh_{suffix}", f"schoolnet_ref_{suffix}"
    for side in (scheduled, reference):
        load_day(side / "emulator", demo, manifest.days[0])
    with (
        redis_database() as redis_db,
        throwaway_databases(admin_url, metadata_db, warehouse_db, reference_db),
        google(scheduled) as emulator,
        google(reference) as reference_emulator,
        MailSink(scheduled / "mail") as sink,
        MailSink(reference / "mail") as reference_sink,
    ):
        settings = settings_file(
            scheduled, demo, requests_per_minute=REQUESTS_PER_MINUTE, email_esas=True
        )

        def services(processes: Processes) -> None:
            processes.start("dag-processor", "dag-processor")
            processes.start("scheduler", "scheduler")
            start_worker(processes, "worker-a")
            start_worker(processes, "worker-b")

        reference_airflow = LocalAirflow(
            home=reference / "airflow",
            config_file=settings_file(
                reference, demo, requests_per_minute=REQUESTS_PER_MINUTE, email_esas=True
            ),
            emulator_url=reference_emulator.base_url,
            smtp_port=reference_sink.port,
            warehouse_url=database_url(admin_url, reference_db),
            pool_slots=POOL_SLOTS,
        )
        reference_airflow.prepare()
        with airflow_stack(
            root=scheduled,
            manifest=manifest,
            emulator=emulator,
            sink=sink,
            admin_url=admin_url,
            metadata_db=metadata_db,
            warehouse_db=warehouse_db,
            settings=settings,
            pool_slots=POOL_SLOTS,
            services=services,
            executor="CeleryExecutor",
            extra_env={
                **celery_environment(admin_url, metadata_db, redis_db, WORKER_CONCURRENCY),
                **RECOVERY_SETTINGS,
            },
        ) as stack:
            week = Week(esas=esas, days=manifest.days, stack=stack)
            full_every = load_settings(settings).google.full_pull_every_days
            week.full_pull_days = {
                day for day in manifest.days if full_every and day.toordinal() % full_every == 0
            }
            stack.unpause()
            for index, day in enumerate(manifest.days):
                for side in (scheduled, reference):
                    load_day(side / "emulator", demo, day)
                    if index == OUTAGE_DAY_INDEX:
                        outage(side / "emulator", esas, "500")
                emulator.reset()
                # The reference morning runs beside the scheduler's: they share nothing.
                with ThreadPoolExecutor(max_workers=1) as beside:
                    reference_run = beside.submit(
                        run_reference_morning, reference_airflow, reference, day
                    )
                    if index == 0:
                        week.states[day] = run_first_morning_killing_a_worker(
                            week, day, stack.processes
                        )
                    else:
                        week.states[day] = stack.wait_finished(
                            stack.trigger(day), RUN_TIMEOUT_SECONDS
                        )
                    week.reference_states[day] = reference_run.result()
                logged = emulator.request_log()
                week.requests += logged
                # Sheets read: a sheet whose feedback tab the day's data set replaced costs
                # three calls (the read, the metadata, the read again), and is one sheet.
                week.sheet_reads[day] = len(
                    {r.spreadsheet_id for r in logged if r.endpoint == "spreadsheets.get"}
                )
                week.pull_hosts[day] = hosts(stack, stack.run_ids[day])
                for side in (scheduled, reference):
                    outage(side / "emulator", esas, None)
                week.checksums[day] = (
                    contents(stack.warehouse_url),
                    contents(reference_airflow.warehouse_url),
                )
            week.before_rerun = contents(stack.warehouse_url)
            week.mails_before_rerun = len(stack.sink.messages())
            week.sheets_before_rerun = sheet_files(scheduled / "emulator")
            emulator.reset()
            week.rerun_state = rerun_by_clearing(stack, manifest.days[RERUN_DAY_INDEX])
            week.after_rerun = contents(stack.warehouse_url)
            week.google_calls_in_rerun = emulator.stats()["reads"] + emulator.stats()["writes"]
            week.sheets_after_rerun = sheet_files(scheduled / "emulator")
            # Two earlier mornings backfilled through the scheduler: past dates too.
            emulator.reset()
            week.backfill_states = backfill(stack, manifest.days[1], manifest.days[2])
            week.after_backfill = contents(stack.warehouse_url)
            week.google_calls_in_backfill = emulator.stats()["reads"] + emulator.stats()["writes"]
            week.sheets_after_backfill = sheet_files(scheduled / "emulator")
            week.mails_after_backfill = len(stack.sink.messages())
            yield week


def test_every_morning_of_the_week_succeeds_under_the_scheduler(week: Week) -> None:
    assert week.states == dict.fromkeys(week.days, "success"), week.stack.log_tail()
    assert week.reference_states == dict.fromkeys(week.days, "success")


def test_the_mapped_pulls_ran_on_both_workers(week: Week) -> None:
    first = week.pull_hosts[week.days[0]]
    assert first["worker-a"] > 0 and first["worker-b"] > 0, first
    # After the restart the replacement worker took its share as well.
    later = sum((week.pull_hosts[day] for day in week.days[1:]), Counter[str]())
    assert later["worker-b"] > 0 and later["worker-c"] > 0, later
    assert set(later) <= {"worker-b", "worker-c"}, later


def test_a_killed_workers_pull_ran_again_on_another_worker(week: Week) -> None:
    tries = sorted(week.kill_tries, key=lambda t: t["try_number"])
    assert tries[0]["hostname"] == "worker-a", tries
    assert tries[0]["state"] != "success", tries
    assert tries[-1]["state"] == "success" and tries[-1]["hostname"] != "worker-a", tries


def test_the_google_call_rate_stayed_under_the_quota_across_workers(week: Week) -> None:
    # Google would have refused nothing: no 60-second window held more than the quota.
    assert not [r for r in week.requests if not r.granted]
    # And the calls were spread as the pacer grants them (one every 60/quota seconds, a little
    # late at times): no few seconds held more than their share, whichever worker sent them.
    window = 6.0
    allowed = int(window * REQUESTS_PER_MINUTE / 60) + 2
    for kind in ("read", "write"):
        times = sorted(r.at for r in week.requests if r.kind == kind)
        assert len(times) > allowed, f"too few {kind}s to tell a paced rate from a burst"
        busiest = max(
            sum(1 for other in times[i:] if other < start + window) for i, start in enumerate(times)
        )
        assert busiest <= allowed, f"{busiest} {kind}s within {window} s (at most {allowed})"


def test_the_weekly_full_pull_read_every_sheet_and_other_mornings_only_changed_ones(
    week: Week,
) -> None:
    assert len(week.full_pull_days) == 1, "the mornings hold exactly one full-pull day"
    assert week.days[0] not in week.full_pull_days, "the first morning reads every sheet anyway"
    for day in week.days[1:]:
        if day in week.full_pull_days:
            assert week.sheet_reads[day] == ESA_COUNT, (day, week.sheet_reads)
        else:
            assert week.sheet_reads[day] < ESA_COUNT, (day, week.sheet_reads)


def test_every_morning_the_warehouse_equals_a_dags_test_run_of_the_same_morning(
    week: Week,
) -> None:
    assert len(week.checksums) == DAYS
    for day, (scheduled, reference) in week.checksums.items():
        differ = sorted(name for name in scheduled if scheduled[name] != reference.get(name))
        assert differ == [], f"after the morning of {day} these tables differ: {differ}"
        assert set(scheduled) == set(reference)


def test_each_report_was_sent_exactly_once_and_no_email_twice(week: Week) -> None:
    messages = week.stack.messages()
    reports = sorted(
        str(m["Subject"]) for m in messages if str(m["Subject"]).startswith(SUBJECT_PREFIX)
    )
    assert reports == sorted(f"{SUBJECT_PREFIX} {thai_date(day)}" for day in week.days)
    addressed = Counter((str(m["To"]), str(m["Subject"])) for m in messages)
    assert [key for key, count in addressed.items() if count > 1] == []
    assert len(messages) > len(week.days)  # the ESAs' feedback emails were sent too


def test_a_morning_cleared_and_run_again_changes_nothing_and_sends_nothing(week: Week) -> None:
    """Cleared after the last morning, the fourth is a run of a past date: it is rebuilt
    from its own landing, with no Google call, no clerk's tab written and no email."""
    assert week.rerun_state == "success"
    assert week.after_rerun == week.before_rerun
    assert len(week.stack.sink.messages()) == week.mails_before_rerun
    assert week.google_calls_in_rerun == 0
    assert week.sheets_after_rerun == week.sheets_before_rerun


def test_a_backfill_of_earlier_mornings_changes_nothing_and_sends_nothing(week: Week) -> None:
    """Backfilled (reprocessing completed dates) after the week, the second and third mornings
    are runs of past dates: rebuilt from their landing, green, and silent."""
    assert week.backfill_states == ["success", "success"]
    assert week.after_backfill == week.before_rerun
    assert week.mails_after_backfill == week.mails_before_rerun
    assert week.google_calls_in_backfill == 0
    assert week.sheets_after_backfill == week.sheets_before_rerun
