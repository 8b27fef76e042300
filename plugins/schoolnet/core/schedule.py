"""When schoolnet runs: the one timezone and the morning schedule, read by the DAGs and tasks.

Constants rather than settings: the DAG files need them when Airflow parses them, before any
settings file is read, and every report date, working hour and Bangkok time shown to a clerk
must agree with the schedule.
"""

from __future__ import annotations

from datetime import time

TIMEZONE = "Asia/Bangkok"  # every ESA and the ministry are in it; no daylight saving
DAILY_SCHEDULE = "0 6 * * *"  # the morning run, 06:00 in TIMEZONE
# A clerk's edit starts the near-live check (schoolnet_feedback): the triggerer looks at Drive's
# changes every 30 seconds, and the run takes seconds (35 s from edit to finding at p95 under
# the scheduler, docs/benchmarks.md). The clerk is told a fix is checked within about this many
# minutes.
LIVE_CHECK_MINUTES = 1


def daily_time() -> time:
    """The morning run's local time, from its cron expression (what a clerk is told)."""
    minute, hour = DAILY_SCHEDULE.split()[:2]
    return time(int(hour), int(minute))
