"""
### schoolnet_daily: the ministry's morning report on school internet

Every morning at 06:00 (Asia/Bangkok) this run answers, for OBEC's ~29,000 schools: which are
online, which are not, which no provider reaches, and what it costs. It emails the Thai report
(with a PDF and an Excel file) to the central office, and tells every ESA what to fix in its
own sheet.

The tasks, and what happens when one fails:

- `load_registry`: checks the whole settings file (a broken one fails the run at once, in Thai
  and English, and the operators are alerted without it), reads the ESA registry (fixed for the
  whole run), makes sure the warehouse is migrated, and fixes whether the run is of today or of a
  past date. Nothing was read yet: clear it once the settings, registry or warehouse is fixed.
- `plan_pulls`: one Drive listing per 1,000 sheets, to see which sheets changed since their last
  read. Retried; the pulls wait for it. For a past date: which ESAs have that date's landing.
- `pull_sheet`, one per ESA, labelled "code name": reads a changed sheet (`google_sheets` pool,
  paced under Google's quota), lands it raw, validates it against the district sheet contract
  and writes the findings into the sheet's `ผลตรวจสอบ` tab. If it fails, that ESA alone is
  reported as not read, with the reason; its schools keep their last accepted values.
- `merge_day`: merges every ESA's accepted rows into the warehouse in one transaction; it runs
  even if some pulls failed. If it fails nothing of the day is written: clear it to rerun.
- `render_report`: the report's figures from the warehouse, rendered as email HTML and text,
  charts, PDF and XLSX into the report folder. If it fails nothing was sent: clear it.
- `send_report`: emails the report once per date and recipient list (`force_resend` to send
  again). Retried from the rendered files, without reading Google again.
- `send_esa_feedback`: emails each ESA its own findings, once per date. Retried; ESAs already
  mailed are not mailed again.
- `confirm_run`: runs last, whatever happened before it, and fails the run unless it did its
  job: a task failed, the day's report was never delivered, or `plan_pulls`' Drive listing
  failed for good (every sheet was then read instead). Airflow would otherwise call the run
  green because its last task passed. The operator is alerted with the reasons.

A run of a date before today (`airflow dags test` of an old date, a cleared or backfilled run, a
catch-up after a missed morning) never reads the live sheets, writes no clerk's tab and sends no
email unless `force_resend` is set: each ESA landed that date is validated and merged again from
its landing, the others keep what the warehouse holds (docs/operations.md, "Running a date
again").

Every task has an `execution_timeout` and the run a `dagrun_timeout`
(`schoolnet.orchestration.tasks`), so a
hung run ends failed well before the next morning's.

Params: `full_pull` reads every sheet even if Drive says it did not change; `force_resend` sends
the emails again for a date that was already sent, and sends them for a past date. A task that
fails after its retries emails the operators (`[report] operators` in the settings, or
`SCHOOLNET_OPERATORS` when the settings cannot be read). Runbook: `docs/operations.md`. All logic
lives in the `schoolnet` package; this file only wires the tasks.
"""

from __future__ import annotations

import pendulum
from airflow.sdk import CronTriggerTimetable, Param, dag, task

from schoolnet.delivery.alerts import OperatorAlert
from schoolnet.orchestration import handoffs, tasks
from schoolnet.orchestration.airflow_glue import GOOGLE_POOL, TIMEZONE
from schoolnet.orchestration.handoffs import (
    FeedbackDelivery,
    MergedDay,
    PullPlan,
    PullSummary,
    RegistryEntry,
    RenderedReport,
    ReportDelivery,
)

handoffs.allow_in_xcom()


@dag(
    dag_id=tasks.DAG_ID,
    schedule=CronTriggerTimetable(tasks.SCHEDULE_CRON, timezone=TIMEZONE),
    start_date=pendulum.datetime(2018, 1, 3, tz=TIMEZONE),
    catchup=False,
    max_active_runs=1,
    dagrun_timeout=tasks.DAGRUN_TIMEOUT,
    # No retry_delay here: every task waits Airflow's [core] default_task_retry_delay
    # (120 s in production, seconds in the scheduler-path test; docs/deployment.md).
    default_args={"retries": 2, "on_failure_callback": OperatorAlert()},
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
    @task(execution_timeout=tasks.TASK_TIMEOUTS["load_registry"])
    def load_registry() -> list[RegistryEntry]:
        return tasks.load_registry()

    @task(pool=GOOGLE_POOL, execution_timeout=tasks.TASK_TIMEOUTS["plan_pulls"])
    def plan_pulls(esas: list[RegistryEntry]) -> list[PullPlan]:
        return tasks.plan_pulls(esas)

    @task(
        pool=GOOGLE_POOL,
        map_index_template="{{ esa_label }}",
        execution_timeout=tasks.TASK_TIMEOUTS["pull_sheet"],
    )
    def pull_sheet(entry: PullPlan) -> PullSummary:
        return tasks.pull_sheet(entry)

    # Runs when every pull has ended, even if one crashed: that ESA is reported as not read
    # and its schools keep their last accepted values; the others still reach the ministry.
    @task(trigger_rule="all_done", execution_timeout=tasks.TASK_TIMEOUTS["merge_day"])
    def merge_day() -> MergedDay:
        return tasks.merge_results()

    @task(execution_timeout=tasks.TASK_TIMEOUTS["render_report"])
    def render_report(merged: MergedDay) -> RenderedReport:
        return tasks.render_report(merged)

    # Mail servers recover slowly: each wait doubles from the configured delay
    # (about 2-4, 4-8, 8-16 minutes with 120 s).
    @task(
        retries=3,
        retry_exponential_backoff=2.0,
        execution_timeout=tasks.TASK_TIMEOUTS["send_report"],
    )
    def send_report(rendered: RenderedReport) -> ReportDelivery:
        return tasks.send_report(rendered)

    @task(
        retries=3,
        retry_exponential_backoff=2.0,
        execution_timeout=tasks.TASK_TIMEOUTS["send_esa_feedback"],
    )
    def send_esa_feedback(merged: MergedDay) -> FeedbackDelivery:
        return tasks.send_esa_feedback(merged)

    # Last, whatever happened before it: the run ends failed unless it did its job.
    @task(trigger_rule="all_done", execution_timeout=tasks.TASK_TIMEOUTS["confirm_run"])
    def confirm_run() -> None:
        tasks.confirm_run()

    # TaskFlow calls take the upstream tasks' XComArgs in place of their values.
    merged = merge_day()
    pull_sheet.expand(entry=plan_pulls(load_registry())) >> merged  # type: ignore[arg-type]  # an XComArg stands for the list
    sends = [send_report(render_report(merged)), send_esa_feedback(merged)]  # type: ignore[arg-type]  # XComArgs for the values
    sends >> confirm_run()


schoolnet_daily()
