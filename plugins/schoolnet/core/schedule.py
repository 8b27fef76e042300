"""When schoolnet runs: the one timezone and the morning schedule, read by the DAGs and tasks.

Constants rather than settings: the DAG files need them when Airflow parses them, before any
settings file is read, and every report date, working hour and Bangkok time shown to a clerk
must agree with the schedule.
"""

from __future__ import annotations

TIMEZONE = "Asia/Bangkok"  # every ESA and the ministry are in it; no daylight saving
DAILY_SCHEDULE = "0 6 * * *"  # the morning run, 06:00 in TIMEZONE
