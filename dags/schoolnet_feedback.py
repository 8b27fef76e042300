"""
### schoolnet_feedback: a clerk sees what is wrong with an edit within minutes

A clerk's edit starts this run: the triggerer watches Google Drive's changes feed every 30
seconds in the ESAs' working hours (`[live]` in the settings, Asia/Bangkok) and updates the asset
`drive_changes` when a clerk changed a sheet (docs/live.md, "Event-driven start"); a quiet hour
starts no run. The run asks Google Drive, in one call, which ESA sheets changed since it last
looked. Each sheet a
clerk edited is read once, validated against the district sheet contract, and its `ผลตรวจสอบ`
tab rewritten in one call when the findings changed. It sends no email and does not touch the
warehouse's daily snapshot: the morning `schoolnet_daily` run stays the record of the day.

The tasks, and what happens when one fails:

- `gate`: skips the run outside working hours, in the minutes before the morning run
  (`pause_before_morning_minutes`, 10), and while it is on (it has priority for the Google quota).
- `poll_changes`: one Drive changes call (more only past 1,000 changes); saves the new position
  and the edited sheets together. Retried; if it fails nothing was saved and the next run sees
  the same edits.
- `check_sheet`, one per edited ESA, labelled "code name" (`google_sheets` pool, paced with
  the morning run under Google's quota): one read, validation, the tab. A sheet that could not
  be read for a passing reason waits for the next run; an unshared or deleted one is checked
  again when Drive says it changed.

Param `any_time` runs the checks outside working hours (for a demonstration). Runbook:
`docs/operations.md`. All logic lives in the `schoolnet` package; this file only wires the tasks.
"""

from __future__ import annotations

import pendulum
from airflow.sdk import Param, dag, task

from schoolnet.delivery.alerts import OperatorAlert
from schoolnet.orchestration import handoffs, live_tasks
from schoolnet.orchestration.airflow_glue import GOOGLE_POOL, TIMEZONE
from schoolnet.orchestration.handoffs import LiveCheck, RegistryEntry

handoffs.allow_in_xcom()


@dag(
    dag_id=live_tasks.DAG_ID,
    schedule=live_tasks.drive_changes(),
    start_date=pendulum.datetime(2018, 1, 3, tz=TIMEZONE),
    catchup=False,
    max_active_runs=1,
    dagrun_timeout=live_tasks.DAGRUN_TIMEOUT,
    default_args={"retries": 1, "on_failure_callback": OperatorAlert()},
    params={
        "any_time": Param(
            False,
            type="boolean",
            description="Check edited sheets even outside the working hours in the settings.",
        ),
    },
    tags=["schoolnet"],
    doc_md=__doc__,
)
def schoolnet_feedback() -> None:
    @task.short_circuit(execution_timeout=live_tasks.TASK_TIMEOUTS["gate"])
    def gate() -> bool:
        return live_tasks.gate()

    @task(pool=GOOGLE_POOL, execution_timeout=live_tasks.TASK_TIMEOUTS["poll_changes"])
    def poll_changes() -> list[RegistryEntry]:
        return live_tasks.poll_changes()

    @task(
        pool=GOOGLE_POOL,
        map_index_template="{{ esa_label }}",
        execution_timeout=live_tasks.TASK_TIMEOUTS["check_sheet"],
    )
    def check_sheet(entry: RegistryEntry) -> LiveCheck:
        return live_tasks.check_sheet(entry)

    polled = poll_changes()
    gate() >> polled
    check_sheet.expand(entry=polled)


schoolnet_feedback()
