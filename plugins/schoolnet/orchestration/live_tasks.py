"""Task bodies of the ``schoolnet_feedback`` DAG: Airflow context and connections in, library out.

Importing this module does no work and looks nothing up; everything happens inside a task.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from schoolnet.core.config import load_settings
from schoolnet.orchestration.airflow_glue import (
    TIMEZONE,
    current_context,
    esa_task_context,
    feedback_reader,
    google_reader,
    task_engine,
)
from schoolnet.orchestration.handoffs import LiveCheck, RegistryEntry
from schoolnet.orchestration.tasks import DAG_ID as DAILY_DAG_ID
from schoolnet.orchestration.tasks import SCHEDULE_CRON as DAILY_CRON

log = logging.getLogger(__name__)

DAG_ID = "schoolnet_feedback"
DRIVE_CHANGES_URI = "schoolnet://google-drive/changes"  # updated when a clerk edits a sheet
ACTIVE_STATES = ["queued", "running"]
# A feedback run is one changes call and a read and a write per edited sheet (50 sheets: about a
# minute at Google's quota, docs/benchmarks.md); a hung one must end before it holds the next.
DAGRUN_TIMEOUT = timedelta(minutes=30)
TASK_TIMEOUTS = {
    "gate": timedelta(minutes=2),
    "poll_changes": timedelta(minutes=10),
    "check_sheet": timedelta(minutes=10),
}


def drive_changes() -> Any:
    """The asset a clerk's edit updates: the triggerer runs its watcher, the
    :class:`~schoolnet.orchestration.live_trigger.DriveChangesTrigger`, which looks at Drive's
    changes feed every 30 seconds in the working hours and fires (after marking the edited
    sheets waiting in the warehouse) when a clerk changed one. Made while the DAG file is
    parsed: the trigger is only its keyword arguments then; nothing is looked up."""
    from airflow.sdk import Asset, AssetWatcher

    from schoolnet.orchestration.live_trigger import DriveChangesTrigger

    watcher = AssetWatcher(name="drive_changes_watcher", trigger=DriveChangesTrigger())
    return Asset(name="drive_changes", uri=DRIVE_CHANGES_URI, watchers=[watcher])


def daily_at() -> tuple[int, int]:
    """The morning run's hour and minute, from its cron expression."""
    minute, hour = DAILY_CRON.split()[:2]
    return int(hour), int(minute)


def daily_active() -> bool:
    """Whether a ``schoolnet_daily`` run is queued or running (asked of Airflow's API)."""
    from airflow.sdk.execution_time.task_runner import RuntimeTaskInstance

    return RuntimeTaskInstance.get_dr_count(dag_id=DAILY_DAG_ID, states=ACTIVE_STATES) > 0


def gate() -> bool:
    """Run only in working hours, and never beside the morning run (it has priority)."""
    from schoolnet.orchestration.live import daily_due_soon

    settings = load_settings()
    now = datetime.now(ZoneInfo(TIMEZONE))
    any_time = bool(current_context()["params"].get("any_time", False))
    if not any_time and not settings.live.covers(now):
        log.info("outside the working hours in the settings ([live]); nothing to do")
        return False
    pause = settings.live.pause_before_morning_minutes
    if daily_due_soon(now, daily_at(), pause):
        log.info("the morning run starts within %d minutes; skipped", pause)
        return False
    if daily_active():
        log.info("the morning run is on; skipped (the next run catches up)")
        return False
    return True


def poll_changes() -> list[RegistryEntry]:
    """One look at Drive's changes feed; the ESAs whose sheets wait for a check."""
    from schoolnet.orchestration.live import current_esas, poll
    from schoolnet.warehouse import ensure_schema

    settings = load_settings()
    engine = task_engine(settings)
    ensure_schema(engine)  # the warehouse may be new, or older than this version
    found = poll(current_esas(settings), settings, google_reader(settings), engine)
    return [RegistryEntry(esa=esa) for esa in found.pending]


def check_sheet(entry: RegistryEntry) -> LiveCheck:
    """Read, validate and give feedback on one edited sheet."""
    from schoolnet.orchestration.live import check
    from schoolnet.orchestration.registries import load_school_registry

    esa = entry.esa
    esa_task_context(esa)
    settings = load_settings()
    result = check(
        esa,
        settings,
        feedback_reader(settings),
        load_school_registry(settings),
        task_engine(settings),
        datetime.now(ZoneInfo(TIMEZONE)),
        daily_active=daily_active,
    )
    log.info("ESA %s: %s", esa.esa_code, result)
    return result
