"""The production path without Docker: scheduler, DAG processor and API server as processes
(tests/deploy/stack.py), prepared by docker/airflow-init.sh, on throwaway PostgreSQL databases.

The executor is the LocalExecutor here; test_celery_workers.py runs the compose deployment's
CeleryExecutor with two workers.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import text

from schoolnet.core.registry import read_esas
from schoolnet.core.thai import thai_date
from schoolnet.orchestration.airflow_glue import GOOGLE_POOL, TIMEZONE
from schoolnet.orchestration.tasks import DAG_ID, SCHEDULE_CRON
from schoolnet.report.daily import SUBJECT_PREFIX
from schoolnet.warehouse import create_warehouse_engine
from tests.deploy.stack import (
    RETRY_DELAY_SECONDS,
    STEP_TIMEOUT_SECONDS,
    Processes,
    Stack,
    one_day_stack,
    wait_for,
)

# The first test also starts the stack (Airflow's migration, three services, the DAG's parse).
pytestmark = [pytest.mark.e2e, pytest.mark.postgres, pytest.mark.timeout(2400)]

ESA_COUNT = 10
POOL_SLOTS = 3
RUN_TIMEOUT_SECONDS = 8 * 60


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    def services(processes: Processes) -> None:
        processes.start("dag-processor", "dag-processor")
        processes.start("scheduler", "scheduler")

    # ESA feedback off in the default settings: the report is the one email this test counts.
    with one_day_stack(
        tmp_path_factory.mktemp("scheduler-path"),
        esa_count=ESA_COUNT,
        pool_slots=POOL_SLOTS,
        services=services,
    ) as running:
        yield running


def bangkok(moment: str) -> datetime:
    return datetime.fromisoformat(moment).astimezone(ZoneInfo(TIMEZONE))


def latest_daily_fire(moment: datetime) -> datetime:
    """The latest time the DAG's daily cron fired at or before ``moment``, in Bangkok."""
    minute, hour, *every_day = SCHEDULE_CRON.split()
    assert every_day == ["*", "*", "*"], f"not a daily cron: {SCHEDULE_CRON}"
    local = moment.astimezone(ZoneInfo(TIMEZONE))
    fired = local.replace(hour=int(hour), minute=int(minute), second=0, microsecond=0)
    return fired if fired <= local else fired - timedelta(days=1)


def overlaps(intervals: list[tuple[datetime, datetime]]) -> int:
    """The most intervals open at one moment (an end before a start at the same instant)."""
    events = sorted([(start, 1) for start, _ in intervals] + [(end, -1) for _, end in intervals])
    most = current = 0
    for _, step in events:
        current += step
        most = max(most, current)
    return most


def test_a_triggered_run_goes_through_scheduler_pool_retries_warehouse_and_mail(
    stack: Stack,
) -> None:
    esas = read_esas(stack.root / "demo-data" / "esas.csv")
    day = stack.manifest.days[0]
    flaky = esas[2]
    # The first try of one ESA's pull cannot write its validation result (a directory is in
    # the way of the file, as a full or broken disk would do); the retry after the delay can.
    # (A Google error would not do: an unreadable sheet is an outcome, not a task failure.)
    blocker = stack.root / "data" / "validated" / day.isoformat() / f"{flaky.esa_code}.json"
    blocker.mkdir(parents=True)

    stack.unpause()
    run_id = stack.trigger(day)

    def heal_once_the_retry_waits() -> None:
        if blocker.exists():
            # Only the flaky ESA can fail (its label is rendered once it succeeds).
            waiting = stack.get(
                f"/dags/{DAG_ID}/dagRuns/{run_id}/taskInstances/pull_sheet/listMapped",
                state="up_for_retry",
                limit=100,
            )
            if waiting["total_entries"]:
                blocker.rmdir()  # healed: the retry can write its result

    state = stack.wait_finished(run_id, RUN_TIMEOUT_SECONDS, heal_once_the_retry_waits)
    assert state == "success", f"run {run_id} ended {state}\n{stack.log_tail()}"

    # Mapped pulls: one per ESA, all succeeded, the flaky one on its second try.
    mapped = stack.mapped_pulls(run_id)
    assert len(mapped) == ESA_COUNT
    assert {ti["state"] for ti in mapped} == {"success"}
    by_esa = {str(ti["rendered_map_index"]).split()[0]: ti for ti in mapped}
    assert set(by_esa) == {esa.esa_code for esa in esas}
    assert by_esa[flaky.esa_code]["try_number"] == 2
    assert all(ti["try_number"] == 1 for code, ti in by_esa.items() if code != flaky.esa_code)
    tries = stack.tries(run_id, by_esa[flaky.esa_code]["map_index"])
    first, second = sorted(tries, key=lambda t: t["try_number"])
    assert first["state"] in ("failed", "up_for_retry") and second["state"] == "success"
    waited = datetime.fromisoformat(second["start_date"]) - datetime.fromisoformat(
        first["end_date"]
    )
    assert waited >= timedelta(seconds=RETRY_DELAY_SECONDS)  # Airflow's configured delay

    # The pool held the pulls to its 3 slots, and they did run side by side.
    intervals = [
        (datetime.fromisoformat(t["start_date"]), datetime.fromisoformat(t["end_date"]))
        for ti in mapped
        for t in stack.tries(run_id, ti["map_index"])
        if t["start_date"] and t["end_date"]
    ]
    assert len(intervals) == ESA_COUNT + 1
    assert all(ti["pool"] == GOOGLE_POOL for ti in mapped)
    assert 1 < overlaps(intervals) <= POOL_SLOTS
    assert stack.get(f"/pools/{GOOGLE_POOL}")["slots"] == POOL_SLOTS  # made by airflow-init.sh

    # The retry waited Airflow's configured delay: the DAG sets none of its own.
    task = stack.get(f"/dags/{DAG_ID}/tasks/pull_sheet")
    assert task["retry_delay"]["seconds"] == RETRY_DELAY_SECONDS and task["retries"] == 2
    send = stack.get(f"/dags/{DAG_ID}/tasks/send_report")
    assert send["retry_delay"]["seconds"] == RETRY_DELAY_SECONDS
    assert send["retry_exponential_backoff"] == 2.0  # each wait doubles the last

    # The warehouse holds the day's snapshot of every school of the data set.
    engine = create_warehouse_engine(stack.warehouse_url)
    try:
        with engine.connect() as conn:
            schools = conn.execute(
                text("SELECT count(*) FROM snapshot WHERE report_date = :day"), {"day": day}
            ).scalar_one()
    finally:
        engine.dispose()
    assert schools == stack.manifest.school_count

    # Exactly one mail reached the mail server: the report, for the run's date (ESA feedback is
    # off in these settings, and no operator alert, since no task failed for good).
    messages: list[EmailMessage] = stack.messages()
    reports = [m for m in messages if str(m["Subject"]).startswith(SUBJECT_PREFIX)]
    assert [m["Subject"] for m in reports] == [f"{SUBJECT_PREFIX} {thai_date(day)}"]
    assert len(messages) == 1, [m["Subject"] for m in messages]


def test_the_next_scheduled_run_is_at_six_in_the_morning_in_bangkok(stack: Stack) -> None:
    dag = wait_for(
        "the DAG's next run",
        lambda: stack.get(f"/dags/{DAG_ID}"),
        STEP_TIMEOUT_SECONDS,
        stack.processes,
    )
    parsed_by = datetime.now(UTC)
    # The DAG processor computes the next run from the timetable when it stores the DAG. With
    # catchup off and no scheduled run yet, it is the latest 06:00 in Bangkok at that moment:
    # today's after 06:00, yesterday's before (a run at 03:00 still has yesterday's to make).
    # That moment lies between the stack's start and now; 06:00 may have passed in between.
    expected = {latest_daily_fire(stack.started_at), latest_daily_fire(parsed_by)}
    assert dag["next_dagrun_run_after"] and dag["next_dagrun_logical_date"], dag
    for moment in (dag["next_dagrun_run_after"], dag["next_dagrun_logical_date"]):
        next_run = bangkok(moment)
        assert (next_run.hour, next_run.minute, next_run.second) == (6, 0, 0), moment
        assert next_run in expected, (moment, sorted(expected))
    assert dag["timetable_summary"] and "0 6 * * *" in dag["timetable_summary"]
