"""
### schoolnet_daily

Every morning at 06:00 (Asia/Bangkok): read the ESA registry, list which sheets changed (one
Drive call per 1,000 sheets), pull every changed ESA sheet (one mapped task per ESA, in the
`google_sheets` pool; an unchanged sheet's last read is validated anew without a call), validate
it against the district sheet contract and write the findings to the sheet's own `ผลตรวจสอบ`
tab, merge the day into the warehouse, render the Thai report and email it once; email each ESA
its own findings.

One ESA failing never stops the others: its schools keep their last accepted values and the
report names it with the reason. All logic lives in the `schoolnet` package; this file only wires.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pendulum
from airflow.sdk import CronTriggerTimetable, Param, dag, task

from schoolnet import tasks


@dag(
    dag_id=tasks.DAG_ID,
    schedule=CronTriggerTimetable(tasks.SCHEDULE_CRON, timezone=tasks.TIMEZONE),
    start_date=pendulum.datetime(2018, 1, 3, tz=tasks.TIMEZONE),
    catchup=False,
    max_active_runs=1,
    default_args={"retries": 2, "retry_delay": timedelta(minutes=2)},
    params={
        "full_pull": Param(
            False,
            type="boolean",
            description="Read every sheet, even those Drive says did not change.",
        ),
        "force_resend": Param(
            False,
            type="boolean",
            description="Send the report again even if it was already sent for this date.",
        ),
    },
    tags=["schoolnet"],
    doc_md=__doc__,
)
def schoolnet_daily() -> None:
    @task
    def load_registry() -> list[dict[str, str]]:
        return tasks.load_registry()

    @task(pool=tasks.GOOGLE_POOL)
    def plan_pulls(esas: list[dict[str, str]]) -> list[dict[str, Any]]:
        return tasks.plan_pulls(esas)

    @task(pool=tasks.GOOGLE_POOL, map_index_template="{{ esa_label }}")
    def pull_sheet(entry: dict[str, Any]) -> dict[str, Any]:
        return tasks.pull_sheet(entry)

    # Runs when every pull has ended, even if one crashed: that ESA is reported as not read
    # and its schools keep their last accepted values; the others still reach the ministry.
    @task(trigger_rule="all_done")
    def merge_day() -> dict[str, Any]:
        return tasks.merge_results()

    @task
    def render_report(merged: dict[str, Any]) -> dict[str, str]:
        return tasks.render_report(merged)

    @task(retries=3, retry_delay=timedelta(minutes=5))
    def send_report(rendered: dict[str, str]) -> dict[str, Any]:
        return tasks.send_report(rendered)

    @task(retries=3, retry_delay=timedelta(minutes=5))
    def send_esa_feedback(merged: dict[str, Any]) -> dict[str, int]:
        return tasks.send_esa_feedback(merged)

    # TaskFlow calls take the upstream tasks' XComArgs in place of their values.
    merged = merge_day()
    pull_sheet.expand(entry=plan_pulls(load_registry())) >> merged  # type: ignore[arg-type]
    send_report(render_report(merged))  # type: ignore[arg-type]
    send_esa_feedback(merged)  # type: ignore[arg-type]


schoolnet_daily()
