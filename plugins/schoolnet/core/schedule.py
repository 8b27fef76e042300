"""When schoolnet runs: the one timezone and the morning schedule, read by the DAGs and tasks.

Constants rather than settings: the DAG files need them when Airflow parses them, before any
settings file is read, and every report date, working hour and Bangkok time shown to a clerk
must agree with the schedule.
"""

from __future__ import annotations

from datetime import time

TIMEZONE = "Asia/Bangkok"  # every ESA and the ministry are in it; no daylight saving
DAILY_SCHEDULE = "0 6 * * *"  # the morning run, 06:00 in TIMEZONE
# The near-live check (schoolnet_feedback) every this many minutes; its cron expression is built
# from it so the clerk's "within about N minutes" and the schedule cannot disagree.
LIVE_INTERVAL_MINUTES = 10
LIVE_SCHEDULE = f"*/{LIVE_INTERVAL_MINUTES} * * * *"  # the hours are the settings' ([live])


def daily_time() -> time:
    """The morning run's local time, from its cron expression (what a clerk is told)."""
    minute, hour = DAILY_SCHEDULE.split()[:2]
    return time(int(hour), int(minute))
