"""The operator's alert when a task of the pipeline fails for good (its retries spent).

Airflow's ``SmtpNotifier`` sends it through the SMTP connection; recipients, sender and the
connection id come from the settings when the alert fires, so building the DAG reads nothing.
When the settings file is broken (the very failure to report), what can still be read of it and
``$SCHOOLNET_OPERATORS`` route the alert instead (``core.config.alert_route``).
The body is rendered from ``templates/operator_alert.html.j2`` with autoescape on: exception
text can hold anything a sheet held, and secrets Airflow knows of are masked first.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from airflow.providers.smtp.notifications.smtp import SmtpNotifier

from schoolnet.report.texts import report_text

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class AlertText:
    subject: str
    html: str


def _masked(value: str) -> str:
    """The text with every secret Airflow registered (connection passwords, keys) masked."""
    try:
        # The task SDK imports redact into airflow.sdk.log without listing it in __all__.
        from airflow.sdk.log import redact  # type: ignore[attr-defined]  # not in the module's __all__
    except ImportError:  # pragma: no cover - older task SDKs
        return value
    return str(redact(value))


def alert_text(context: Any) -> AlertText:
    """Subject and HTML body for a failed task instance's context."""
    from schoolnet.report.daily import template_environment

    ti = context.get("ti") or context.get("task_instance")
    dag_run = context.get("dag_run")
    task_id = getattr(ti, "task_id", "?")
    label = getattr(ti, "rendered_map_index", None)
    map_index = getattr(ti, "map_index", -1)
    exception = context.get("exception")
    details = {
        "dag_id": getattr(ti, "dag_id", "?"),
        "task_id": task_id,
        "label": label or (str(map_index) if map_index not in (None, -1) else ""),
        "run_id": getattr(dag_run, "run_id", None) or context.get("run_id", "?"),
        "logical_date": context.get("logical_date"),
        "try_number": getattr(ti, "try_number", None),
        "max_tries": getattr(ti, "max_tries", None),
        "error": _masked(f"{type(exception).__name__}: {exception}") if exception else "",
        "log_url": getattr(ti, "log_url", None),
    }
    subject = report_text("operator_alert_subject", task_id=task_id, run_id=details["run_id"])
    html = template_environment().get_template("operator_alert.html.j2").render(alert=details)
    return AlertText(subject=subject, html=html)


class OperatorAlert(SmtpNotifier):
    """``on_failure_callback`` of every task: one email to the operators per failed task."""

    def __init__(self) -> None:
        # Placeholders: the real values are set in notify(), from the settings.
        super().__init__(to=[], from_email=None, subject=None, html_content=None)

    def notify(self, context: Any) -> None:
        from schoolnet.core.config import OPERATORS_VARIABLE, alert_route

        route = alert_route()
        if route.settings_error:
            log.error(
                "settings not usable for the alert (%s); routed without them", route.settings_error
            )
        if not route.recipients:
            log.error(
                "no operator to alert: the settings name none that can be read; set %s",
                OPERATORS_VARIABLE,
            )
            return
        text = alert_text(context)
        self.smtp_conn_id = route.smtp
        self.__dict__.pop("hook", None)  # built for the placeholder connection, if at all
        self.to = list(route.recipients)
        self.from_email = route.mail_from
        self.subject = text.subject
        self.html_content = text.html
        super().notify(context)
        log.info("operator alerted (%s): %s", ", ".join(self.to), text.subject)


@dataclass(frozen=True)
class WatchFault:
    """A fault of the Drive watch that needs an operator: what happened and what to do (Thai
    for the mail, English for the log and the mail's footer), and the error itself."""

    kind: str  # one alert per kind until the watch works again
    cause: str
    action: str
    action_en: str
    error: str


def send_watch_alert(
    fault: WatchFault, retry_seconds: float, settings_path: Path | None = None
) -> bool:
    """Email the operators that the Drive watch needs them (the route of the task alerts:
    ``alert_route``), through the SMTP connection; whether it went. Called from the triggerer,
    in a worker thread; a mail that cannot go is logged, never raised."""
    from datetime import UTC, datetime
    from email.message import EmailMessage
    from email.utils import formatdate, make_msgid

    from schoolnet.core.config import OPERATORS_VARIABLE, alert_route
    from schoolnet.delivery.mail import SmtpSession
    from schoolnet.report.daily import template_environment

    route = alert_route(settings_path)
    if not route.recipients:
        log.error("no operator to alert of the Drive watch: set %s", OPERATORS_VARIABLE)
        return False
    subject = report_text("watch_alert_subject", cause=fault.cause)
    details = {
        "subject": subject,
        "cause": fault.cause,
        "action": fault.action,
        "action_en": fault.action_en,
        "error": _masked(fault.error),
        "at": datetime.now(UTC).isoformat(timespec="seconds"),
        "retry_seconds": f"{retry_seconds:g}",
    }
    html = template_environment().get_template("watch_alert.html.j2").render(alert=details)
    message = EmailMessage()
    message["Subject"] = subject
    message["From"] = route.mail_from or "schoolnet@localhost"
    message["To"] = ", ".join(route.recipients)
    message["Date"] = formatdate(localtime=False)
    message["Message-ID"] = make_msgid(domain="schoolnet.local")
    message.set_content(
        f"{fault.cause}\n{fault.action}\n{details['error']}\n{fault.action_en}\n",
        charset="utf-8",
    )
    message.add_alternative(html, subtype="html", charset="utf-8")
    try:
        with SmtpSession(route.smtp) as session:
            session.send(message)
    except Exception as error:  # noqa: BLE001 - the watch goes on; the log says it
        log.error(
            "the operators could not be alerted of the Drive watch (%s): %s", route.smtp, error
        )
        return False
    log.info("operators alerted of the Drive watch (%s): %s", ", ".join(route.recipients), subject)
    return True
