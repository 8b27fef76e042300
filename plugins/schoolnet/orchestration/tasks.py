"""Task bodies of the ``schoolnet_daily`` DAG: Airflow context and connections in, library out.

Everything here runs inside a task; importing this module does no work and looks nothing up.
"""

from __future__ import annotations

import logging
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from schoolnet.core import schedule
from schoolnet.core.config import Settings, load_settings
from schoolnet.orchestration.airflow_glue import (
    TIMEZONE,
    checked_settings,
    current_context,
    esa_task_context,
    feedback_reader,
    google_reader,
    task_engine,
)
from schoolnet.orchestration.handoffs import (
    FeedbackDelivery,
    MergedDay,
    PullPlan,
    PullSummary,
    RegistryEntry,
    RenderedReport,
    ReportDelivery,
    RunDay,
)

if TYPE_CHECKING:
    from schoolnet.warehouse.merge import MergeSummary

log = logging.getLogger(__name__)

DAG_ID = "schoolnet_daily"
SCHEDULE_CRON = schedule.DAILY_SCHEDULE
DRIVE_LISTING_FAILURE = "drive_listing_failure"  # plan_pulls' XCom key when the listing failed
RUN_DAY = "run_day"  # load_registry's XCom key: the report date against today (RunDay)

# How long a run and each task may take before Airflow stops it, sized from the measured
# durations (docs/benchmarks.md, docs/deployment.md) with a wide margin: a national full pull at
# Google's 60 reads a minute takes about 5 minutes, a report 10 s, a send seconds. A hung run
# ends failed long before the next 06:00, so max_active_runs=1 never holds the next morning.
DAGRUN_TIMEOUT = timedelta(hours=6)
TASK_TIMEOUTS = {
    "load_registry": timedelta(minutes=10),  # a registry read and a migration check: seconds
    "plan_pulls": timedelta(minutes=10),  # one Drive call per 1,000 sheets
    "pull_sheet": timedelta(minutes=20),  # one paced read + tab write; Google may hold a call
    "merge_day": timedelta(minutes=20),  # 1-2 s nationally
    "render_report": timedelta(minutes=20),  # 9 s nationally (PDF and XLSX)
    "send_report": timedelta(minutes=10),  # one message; SMTP timeout 30 s
    "send_esa_feedback": timedelta(minutes=30),  # 245 messages
    "confirm_run": timedelta(minutes=5),
}


def report_date_of(context: Any) -> date:
    """The report date is the run's date in Bangkok (the manual-run date when it has none)."""
    moment: datetime | None = context.get("logical_date")
    if moment is None:
        moment = context["dag_run"].run_after
    assert moment is not None
    return moment.astimezone(ZoneInfo(TIMEZONE)).date()


def run_day(context: Any) -> RunDay:
    """The run's report date against today, as the run's first task fixed it."""
    fixed = context["ti"].xcom_pull(task_ids="load_registry", key=RUN_DAY)
    if isinstance(fixed, RunDay):
        return fixed
    if isinstance(fixed, dict):
        return RunDay.model_validate(fixed)
    raise RuntimeError(
        "load_registry left no run day (the report date against today): clear the whole run"
    )


def _today(settings: Settings) -> date:
    """The day the pipeline lives in: the Bangkok date of the Google service's clock (the
    machine's in production, the emulator's for the demo and the tests)."""
    from schoolnet.operations.connections import google_now

    return google_now(settings.connections.google).astimezone(ZoneInfo(TIMEZONE)).date()


def load_registry() -> list[RegistryEntry]:
    """The ESAs to pull; also makes sure the warehouse tables exist and can be written before
    the pulls use them. A warehouse that refuses writes fails the run here, without retries,
    with that one reason (retrying would not make it writable)."""
    from airflow.sdk.exceptions import AirflowFailException

    from schoolnet.orchestration.registries import past_registry, snapshot_registry
    from schoolnet.report.texts import report_text
    from schoolnet.warehouse import WarehouseNotWritable, ensure_schema, ensure_writable

    settings = checked_settings()
    engine = task_engine(settings)
    ensure_schema(engine)
    try:
        ensure_writable(engine)
    except WarehouseNotWritable as error:
        raise AirflowFailException(str(error)) from None
    context = current_context()
    day = RunDay(report_date=report_date_of(context), today=_today(settings))
    if day.report_date > day.today:
        raise AirflowFailException(
            report_text("run_date_in_future", date=day.report_date, today=day.today)
        )
    context["ti"].xcom_push(key=RUN_DAY, value=day)
    if day.live:
        registry = snapshot_registry(settings, day.report_date, google_reader(settings))
    else:
        log.warning(report_text("run_past_date", date=day.report_date, today=day.today))
        registry = past_registry(settings, day.report_date)
    esas = [RegistryEntry(esa=esa) for esa in registry]
    log.info("registry: %d ESAs", len(esas))
    return esas


def plan_pulls(esas: list[RegistryEntry]) -> list[PullPlan]:
    """Which sheets changed since their last read (one Drive listing for all of them); for
    a past date, which ESAs have a landing to replay (no Google call)."""
    from schoolnet.orchestration.pull import plan_pulls as plan
    from schoolnet.orchestration.replay import plan_replay

    context = current_context()
    settings = load_settings()
    day = run_day(context)
    if not day.live:
        return plan_replay([entry.esa for entry in esas], day.report_date, settings)
    plan_entries, listing = plan(
        [entry.esa for entry in esas],
        day.report_date,
        settings,
        google_reader(settings),
        task_engine(settings),
        full_pull=bool(context["params"].get("full_pull", False)),
    )
    if listing.failure is not None:
        # Every sheet is read instead and the report still goes out; confirm_run fails the
        # run at its end so that the operator sees it.
        context["ti"].xcom_push(key=DRIVE_LISTING_FAILURE, value=listing.failure)
    return plan_entries


FAILED_STATES = ("failed", "upstream_failed")


def _failed_tasks(context: Any) -> list[str]:
    """The run's task instances that ended failed or never ran for an upstream failure."""
    ti = context["ti"]
    states = ti.get_task_states(dag_id=ti.dag_id, run_ids=[ti.run_id]).get(ti.run_id, {})
    return sorted(name for name, state in states.items() if state in FAILED_STATES)


def confirm_run() -> None:
    """Run last, whatever happened before: fail the run (without retries) unless it did its
    job. A run is green only when every task succeeded or was skipped by design, the day's
    report is delivered (sent now, or sent earlier for this date) and the Drive listing
    worked. Airflow would otherwise call a run green whose last task succeeded, even when the
    registry, the merge, the render or the send had failed and no report went out."""
    from airflow.sdk.exceptions import AirflowFailException

    from schoolnet.report.texts import report_text
    from schoolnet.warehouse.history import delivered_at

    context = current_context()
    reasons = []
    failed = _failed_tasks(context)
    if failed:
        reasons.append(report_text("run_tasks_failed", tasks=", ".join(failed)))
    failure = context["ti"].xcom_pull(task_ids="plan_pulls", key=DRIVE_LISTING_FAILURE)
    if failure:
        reasons.append(report_text("drive_listing_failed", failure=failure))
    if "load_registry" not in failed:
        settings = load_settings()
        day = run_day(context)
        if delivered_at(task_engine(settings), day.report_date) is None:
            reasons.append(
                report_text("run_report_not_sent", date=day.report_date)
                if day.live
                else report_text("run_past_report_never_sent", date=day.report_date)
            )
    if reasons:
        raise AirflowFailException(" | ".join(reasons))
    log.info("run complete: every task done and the report delivered")


def pull_sheet(entry: PullPlan) -> PullSummary:
    """Read (or reuse the unchanged read of) one ESA's sheet, validate it, write its feedback."""
    from schoolnet.orchestration.pull import pull_and_validate
    from schoolnet.orchestration.registries import load_school_registry
    from schoolnet.orchestration.replay import replay_pull

    esa = entry.esa
    context = esa_task_context(esa)
    settings = load_settings()
    day = run_day(context)
    if entry.action == "keep" or (not day.live and entry.action == "read"):
        log.info(
            "ESA %s: no sheet landed on %s, a past date: it keeps what the warehouse holds",
            esa.esa_code,
            day.report_date,
        )
        return PullSummary(
            esa_code=esa.esa_code,
            outcome="kept",
            error_code=None,
            api_calls=0,
            rows_read=0,
            rows_accepted=0,
            rows_rejected=0,
            feedback_tab=None,
            errors=0,
            warnings=0,
        )
    if entry.action == "replay":
        result = replay_pull(
            esa, day.report_date, settings, load_school_registry(settings), task_engine(settings)
        )
        log.info(
            "ESA %s replayed from its landing of %s: %s", esa.esa_code, day.report_date, result
        )
        return result
    result = pull_and_validate(
        esa,
        day.report_date,
        settings,
        feedback_reader(settings),
        load_school_registry(settings),
        task_engine(settings),
        modified_time=entry.modified_time,
        reuse_from=entry.reuse_from,
    )
    log.info("ESA %s: %s", esa.esa_code, result)
    return result


def merge_results() -> MergedDay:
    """Merge what every pull left on disk; an ESA whose pull crashed counts as not read."""
    from airflow.sdk.exceptions import AirflowSkipException

    from schoolnet.orchestration.merge import merge

    context = current_context()
    if context["ti"].xcom_pull(task_ids="load_registry") is None:
        # The run stopped at its first task (whose error says why): no pull ran, so merging
        # would only record every ESA as not read. confirm_run ends the run failed.
        raise AirflowSkipException("load_registry did not succeed: nothing to merge")
    settings = load_settings()
    day = run_day(context)
    if not day.live:
        return _merge_past(day, settings)
    totals = merged_day(merge(day.report_date, settings, task_engine(settings)))
    log.info("merged: %s", totals)
    return totals


def merged_day(outcome: MergeSummary, **past: Any) -> MergedDay:
    """The merge's hand-off; ``past``: a past date's ``live``, ``esas_replayed``, ``esas_kept``."""
    return MergedDay(
        report_date=outcome.report_date,
        esas_not_accepted=len(outcome.failed_esas),
        schools=outcome.schools,
        accepted_today=outcome.accepted_today,
        carried_forward=outcome.carried_forward,
        never_reported=outcome.never_reported,
        **past,
    )


def _merge_past(day: RunDay, settings: Settings) -> MergedDay:
    """A past date: the ESAs landed that date are merged again from their landing, the others
    keep what the warehouse holds; with nothing landed, nothing is written."""
    from airflow.sdk.exceptions import AirflowFailException

    from schoolnet.orchestration.merge import merge
    from schoolnet.orchestration.registries import run_esas
    from schoolnet.orchestration.replay import replay_keep
    from schoolnet.report.texts import report_text
    from schoolnet.warehouse.history import merged_counts

    engine = task_engine(settings)
    keep = replay_keep(settings, day.report_date)
    esas = len(run_esas(settings, day.report_date))
    if keep is None:
        held = merged_counts(engine, day.report_date)
        if held is None:
            raise AirflowFailException(report_text("run_nothing_to_replay", date=day.report_date))
        log.warning(report_text("run_past_kept", date=day.report_date, kept=esas))
        return MergedDay(
            report_date=day.report_date,
            esas_not_accepted=held.esas_not_accepted,
            schools=held.schools,
            accepted_today=held.accepted_on_the_day,
            carried_forward=held.schools - held.accepted_on_the_day - held.never_reported,
            never_reported=held.never_reported,
            live=False,
            esas_kept=esas,
        )
    totals = merged_day(
        merge(day.report_date, settings, engine, keep=keep),
        live=False,
        esas_replayed=esas - len(keep),
        esas_kept=len(keep),
    )
    if keep:
        log.warning(
            report_text("run_past_partly_kept", date=day.report_date, kept=", ".join(sorted(keep)))
        )
    log.info("merged again from the landing (a past date): %s", totals)
    return totals


def send_esa_feedback(merged: MergedDay) -> FeedbackDelivery:
    """Email every ESA's contact its own findings (or an all-accepted line), once per date:
    the merged day's date, and only unasked when the run is of today."""
    from schoolnet.orchestration.send import send_esa_feedback as send_all

    context = current_context()
    settings = load_settings()
    if not settings.feedback.email_esas:
        log.info("ESA feedback emails are turned off in the settings")
        return FeedbackDelivery()
    report_date = merged.report_date
    force = bool(context["params"].get("force_resend", False))
    if not merged.live and not force:
        log.info(
            "ESA feedback for %s not sent: a run of a past date sends no email unless asked "
            "(force_resend)",
            report_date,
        )
        return FeedbackDelivery()
    counts = send_all(report_date, settings, task_engine(settings), force=force)
    log.info("ESA feedback for %s: %s", report_date, counts)
    return FeedbackDelivery(**counts)


def render_report(merged: MergedDay) -> RenderedReport:
    """Render the merged day's report from the warehouse into its report folder."""
    from schoolnet.orchestration.render import render

    settings = load_settings()
    return render(merged.report_date, settings, task_engine(settings))


def send_report(rendered: RenderedReport) -> ReportDelivery:
    """Send the report rendered into ``rendered.folder``, once per date and recipients."""
    from schoolnet.delivery.mail import send_with_airflow_connection
    from schoolnet.orchestration.send import send
    from schoolnet.warehouse.history import delivered_at

    context = current_context()
    settings = load_settings()
    day = run_day(context)
    report_date = day.report_date
    force = bool(context["params"].get("force_resend", False))
    if not day.live and not force:
        sent_at = delivered_at(task_engine(settings), report_date)
        log.info(
            "report for %s not sent: a run of a past date sends no email unless asked "
            "(force_resend); %s",
            report_date,
            f"it was sent at {sent_at.isoformat()}" if sent_at else "it was never sent",
        )
        return ReportDelivery(sent=False, message_id="")
    result = send(
        report_date,
        Path(rendered.folder),
        settings,
        task_engine(settings),
        send_with_airflow_connection(settings.connections.smtp),
        force=force,
    )
    if result.sent:
        log.info("report for %s sent to %s", report_date, ", ".join(result.recipients))
    else:
        log.info(
            "report for %s was already sent at %s; not sent again (set force_resend to resend)",
            report_date,
            result.previously_sent_at,
        )
    return ReportDelivery(sent=result.sent, message_id=result.message_id)
