"""Task bodies of the ``schoolnet_daily`` DAG: Airflow context and connections in, library out.

Everything here runs inside a task; importing this module does no work and looks nothing up.
"""

from __future__ import annotations

import logging
from datetime import date, datetime, timedelta
from functools import cache
from typing import Any
from zoneinfo import ZoneInfo

from schoolnet.core import schedule
from schoolnet.core.config import Settings, load_settings
from schoolnet.orchestration.handoffs import (
    FeedbackDelivery,
    MergedDay,
    PullPlan,
    PullSummary,
    RegistryEntry,
    RenderedReport,
    ReportDelivery,
)

log = logging.getLogger(__name__)

DAG_ID = "schoolnet_daily"
GOOGLE_POOL = "google_sheets"
TIMEZONE = schedule.TIMEZONE
SCHEDULE_CRON = schedule.DAILY_SCHEDULE
DRIVE_LISTING_FAILURE = "drive_listing_failure"  # plan_pulls' XCom key when the listing failed

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
    "confirm_drive_listing": timedelta(minutes=5),
}


def _context() -> Any:
    from airflow.sdk import get_current_context

    return get_current_context()


def report_date_of(context: Any) -> date:
    """The report date is the run's date in Bangkok (the manual-run date when it has none)."""
    moment: datetime | None = context.get("logical_date")
    if moment is None:
        moment = context["dag_run"].run_after
    assert moment is not None
    return moment.astimezone(ZoneInfo(TIMEZONE)).date()


def _engine(settings: Settings) -> Any:
    from schoolnet.operations.connections import warehouse_url

    return _engine_for(warehouse_url(settings.connections.warehouse))


@cache
def _engine_for(url: str) -> Any:
    """One engine (and connection pool) per warehouse URL and process: a task asks for it several
    times, and under ``airflow dags test`` every task of the run shares one process."""
    from schoolnet.warehouse import create_warehouse_engine

    return create_warehouse_engine(url)


def load_registry() -> list[RegistryEntry]:
    """The ESAs to pull; also makes sure the warehouse tables exist and can be written before
    the pulls use them. A warehouse that refuses writes fails the run here, without retries,
    with that one reason (retrying would not make it writable)."""
    from airflow.sdk.exceptions import AirflowFailException

    from schoolnet.orchestration.pipeline import snapshot_registry
    from schoolnet.warehouse import WarehouseNotWritable, ensure_schema, ensure_writable

    settings = load_settings()
    engine = _engine(settings)
    ensure_schema(engine)
    try:
        ensure_writable(engine)
    except WarehouseNotWritable as error:
        raise AirflowFailException(str(error)) from None
    report_date = report_date_of(_context())
    esas = [
        RegistryEntry(esa=esa)
        for esa in snapshot_registry(settings, report_date, google_reader(settings))
    ]
    log.info("registry: %d ESAs to pull", len(esas))
    return esas


def plan_pulls(esas: list[RegistryEntry]) -> list[PullPlan]:
    """Which sheets changed since their last read (one Drive listing for all of them)."""
    from schoolnet.orchestration.pipeline import plan_pulls as plan

    context = _context()
    settings = load_settings()
    plan_entries, listing = plan(
        [entry.esa for entry in esas],
        report_date_of(context),
        settings,
        google_reader(settings),
        _engine(settings),
        full_pull=bool(context["params"].get("full_pull", False)),
    )
    if listing.failure is not None:
        # Every sheet is read instead and the report still goes out; confirm_drive_listing
        # fails the run at its end so that the operator sees it.
        context["ti"].xcom_push(key=DRIVE_LISTING_FAILURE, value=listing.failure)
    return plan_entries


def confirm_drive_listing() -> None:
    """Fail (without retries) if this run's Drive listing failed, once everything else ran."""
    from airflow.sdk.exceptions import AirflowFailException

    from schoolnet.report.texts import report_text

    failure = _context()["ti"].xcom_pull(task_ids="plan_pulls", key=DRIVE_LISTING_FAILURE)
    if failure:
        raise AirflowFailException(report_text("drive_listing_failed", failure=failure))


def google_reader(settings: Settings, write: bool = False) -> Any:
    from schoolnet.ingestion.ingest import SheetsReader
    from schoolnet.ingestion.quota import SHEETS_READ, SHEETS_WRITE, QuotaPacer
    from schoolnet.operations.connections import google_access

    access = google_access(settings.connections.google, write=write)
    engine = _engine(settings)
    google = settings.google
    return SheetsReader(
        access.session,
        google,
        service_account=access.account,
        write_session=access.write_session,
        read_pacer=QuotaPacer(engine, SHEETS_READ, google.read_requests_per_minute)
        if google.read_requests_per_minute > 0
        else None,
        write_pacer=QuotaPacer(engine, SHEETS_WRITE, google.write_requests_per_minute)
        if google.write_requests_per_minute > 0
        else None,
    )


def pull_sheet(entry: PullPlan) -> PullSummary:
    """Read (or reuse the unchanged read of) one ESA's sheet, validate it, write its feedback."""
    from schoolnet.orchestration.pipeline import load_school_registry, pull_and_validate

    esa = entry.esa
    context = _context()
    context["esa_label"] = f"{esa.esa_code} {esa.esa_name}"
    settings = load_settings()
    result = pull_and_validate(
        esa,
        report_date_of(context),
        settings,
        google_reader(settings, write=settings.feedback.write_tab),
        load_school_registry(settings),
        _engine(settings),
        modified_time=entry.modified_time,
        reuse_from=entry.reuse_from,
    )
    log.info("ESA %s: %s", esa.esa_code, result)
    return result


def merge_results() -> MergedDay:
    """Merge what every pull left on disk; an ESA whose pull crashed counts as not read."""
    from airflow.sdk.exceptions import AirflowSkipException

    from schoolnet.orchestration.pipeline import merge

    context = _context()
    if context["ti"].xcom_pull(task_ids="load_registry") is None:
        # The run stopped at its first task (whose error says why): no pull ran, so merging
        # would only record every ESA as not read.
        raise AirflowSkipException("load_registry did not succeed: nothing to merge")
    settings = load_settings()
    report_date = report_date_of(context)
    outcome = merge(report_date, settings, _engine(settings))
    totals = MergedDay(
        report_date=report_date,
        esas_not_accepted=len(outcome.failed_esas),
        schools=outcome.schools,
        accepted_today=outcome.accepted_today,
        carried_forward=outcome.carried_forward,
        never_reported=outcome.never_reported,
    )
    log.info("merged: %s", totals)
    return totals


def send_esa_feedback(_merged: MergedDay) -> FeedbackDelivery:
    """Email every ESA's contact its own findings (or an all-accepted line), once per date."""
    from schoolnet.orchestration.pipeline import send_esa_feedback as send_all

    context = _context()
    settings = load_settings()
    if not settings.feedback.email_esas:
        log.info("ESA feedback emails are turned off in the settings")
        return FeedbackDelivery()
    report_date = report_date_of(context)
    force = bool(context["params"].get("force_resend", False))
    counts = send_all(report_date, settings, _engine(settings), force=force)
    log.info("ESA feedback for %s: %s", report_date, counts)
    return FeedbackDelivery(**counts)


def render_report(_merged: MergedDay) -> RenderedReport:
    from schoolnet.orchestration.pipeline import render

    settings = load_settings()
    report_date = report_date_of(_context())
    return render(report_date, settings, _engine(settings))


def send_report(_rendered: RenderedReport) -> ReportDelivery:
    from schoolnet.delivery.mail import send_with_airflow_connection
    from schoolnet.orchestration.pipeline import send

    context = _context()
    settings = load_settings()
    report_date = report_date_of(context)
    force = bool(context["params"].get("force_resend", False))
    result = send(
        report_date,
        settings,
        _engine(settings),
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
