"""The day's report, rendered from the warehouse into the report folder."""

from __future__ import annotations

from datetime import date

from sqlalchemy import Engine

from schoolnet.core.config import Settings
from schoolnet.orchestration.handoffs import RenderedReport
from schoolnet.report.daily import build_report


def render(report_date: date, settings: Settings, engine: Engine) -> RenderedReport:
    """Render the report (email, charts, PDF, XLSX) from the warehouse into the report folder."""
    from schoolnet.report.files import render_files, save_files
    from schoolnet.report.policy import load_policy

    policy = load_policy(settings.report.support_policy)
    folder = settings.storage.report_folder(report_date.isoformat())
    with engine.connect() as conn:
        report = build_report(
            conn,
            report_date,
            settings.report.stale_after_days,
            policy=policy,
            pace_window_days=settings.report.pace_window_days,
            speed_target=settings.report.speed_target,
        )
        email = render_files(conn, report, list_limit=settings.report.email_list_limit)
    save_files(email, folder)
    return RenderedReport(folder=str(folder), subject=email.subject)
