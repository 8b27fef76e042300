"""The day's emails: the rendered report to the ministry, and each ESA its own findings."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from sqlalchemy import Engine

from schoolnet.core.config import Settings
from schoolnet.delivery.mail import (
    DeliveryResult,
    Sender,
    SmtpSession,
    deliver_once,
    deliver_report,
)
from schoolnet.orchestration.registries import run_esas
from schoolnet.validation.feedback import EsaFeedback, sheet_url
from schoolnet.validation.result import result_for


def send(
    report_date: date,
    folder: Path,
    settings: Settings,
    engine: Engine,
    sender: Sender,
    force: bool = False,
) -> DeliveryResult:
    """Email the report rendered into ``folder`` once per date and recipient list."""
    from schoolnet.report.files import load_email

    return deliver_report(
        engine,
        report_date,
        load_email(folder),
        mail_from=settings.report.mail_from,
        to=settings.report.to,
        cc=settings.report.cc,
        send=sender,
        force=force,
    )


def send_esa_feedback(
    report_date: date, settings: Settings, engine: Engine, force: bool = False
) -> dict[str, int]:
    """Email each ESA's contact its findings, sorted by row, once per report date; an ESA
    whose pull left no result hears that its sheet was not read."""
    from schoolnet.report.esa_email import render_esa_feedback_email
    from schoolnet.report.standing import esa_standings

    with engine.connect() as conn:
        standings = esa_standings(conn, report_date, settings.report.speed_target)
    counts = {"sent": 0, "already_sent": 0}
    with SmtpSession(settings.connections.smtp) as smtp:
        for esa in run_esas(settings, report_date):
            checked = result_for(settings, report_date, esa)
            feedback = EsaFeedback.from_result(esa, checked, settings.live)
            rendered = render_esa_feedback_email(
                feedback, sheet_url(esa.spreadsheet_id), standings.get(esa.esa_code)
            )
            result = deliver_once(
                engine,
                report_date,
                rendered,
                kind=f"esa:{esa.esa_code}",
                mail_from=settings.report.mail_from,
                to=[esa.contact_email],
                send=smtp.send,
                force=force,
            )
            counts["sent" if result.sent else "already_sent"] += 1
    return counts
