"""Sending the report: one email per report date and recipient list, recorded in the warehouse.

The delivery ledger is checked before sending and written after the server accepted the message,
so a rerun of the same date (or an Airflow retry of the send task) never mails the report twice,
unless the operator forces a resend.
"""

from __future__ import annotations

import hashlib
import logging
import signal
import threading
import unicodedata
from collections.abc import Callable, Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime
from email.message import EmailMessage
from email.utils import formatdate
from typing import Any

from sqlalchemy import Engine, insert, select, update

from schoolnet.core.message import RenderedEmail
from schoolnet.warehouse.models import DeliveryRow

Sender = Callable[[EmailMessage], None]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class DeliveryResult:
    report_date: date
    recipients: tuple[str, ...]
    sent: bool
    message_id: str
    previously_sent_at: datetime | None = None


def recipients_key(to: Sequence[str], cc: Sequence[str]) -> str:
    return ",".join(sorted({address.strip().lower() for address in (*to, *cc)}))


def message_id(report_date: date, kind: str, key: str, attempt: int, domain: str) -> str:
    digest = hashlib.sha256(f"{kind}|{key}".encode()).hexdigest()[:12]
    suffix = f".{attempt}" if attempt > 1 else ""
    label = kind.replace(":", "-")
    return f"<schoolnet.{label}.{report_date.isoformat()}.{digest}{suffix}@{domain}>"


def header_text(value: str) -> str:
    """Text from sheets or the registry made safe for one header line: control characters
    (line breaks above all, which would start new headers) become spaces. The email library
    then encodes the Thai as RFC 2047 words."""
    cleaned = "".join(" " if unicodedata.category(ch).startswith("C") else ch for ch in value)
    return " ".join(cleaned.split())


def build_message(
    rendered: RenderedEmail,
    *,
    mail_from: str,
    to: Sequence[str],
    cc: Sequence[str],
    message_id: str,
) -> EmailMessage:
    """Plain text and HTML as alternatives; the HTML's pictures related to it; files attached.

    The MIME tree: multipart/mixed [multipart/alternative [text/plain, multipart/related
    [text/html, image/png...]], application/pdf, ...], each level only when needed.
    """
    message = EmailMessage()
    message["Subject"] = header_text(rendered.subject)
    message["From"] = mail_from
    message["To"] = ", ".join(to)
    if cc:
        message["Cc"] = ", ".join(cc)
    message["Date"] = formatdate(localtime=False)
    message["Message-ID"] = message_id
    message.set_content(rendered.text, subtype="plain", charset="utf-8")
    message.add_alternative(rendered.html, subtype="html", charset="utf-8")
    if rendered.images:
        html_part = message.get_body(preferencelist=("html",))
        assert isinstance(html_part, EmailMessage)
        for image in rendered.images:
            html_part.add_related(
                image.content,
                maintype="image",
                subtype=image.subtype,
                cid=f"<{image.cid}>",
                filename=image.filename,
                disposition="inline",
            )
    for attachment in rendered.attachments:
        message.add_attachment(
            attachment.content,
            maintype=attachment.maintype,
            subtype=attachment.subtype,
            filename=attachment.filename,
        )
    return message


class MailStopped(BaseException):
    """SIGTERM arrived while talking to the mail server: stop now (a BaseException, so that no
    ``except Exception`` on the way, smtplib's or the hook's retries, carries on)."""


@contextmanager
def stop_on_sigterm() -> Iterator[None]:
    """Make SIGTERM stop a send at once.

    Airflow's task runner answers SIGTERM by calling the operator's ``on_kill``, which does
    nothing for a TaskFlow task: a send waiting on a mail server that accepts connections but
    never answers (the hook retries each connect) would ignore the stop and run on. While this
    is open, SIGTERM raises :class:`MailStopped` in the sending thread, after the previous
    handler ran. Nothing is recorded as sent, so the next run or retry sends it.
    """
    if threading.current_thread() is not threading.main_thread():
        yield  # signal handlers belong to the main thread; Airflow runs tasks there
        return
    previous = signal.getsignal(signal.SIGTERM)

    def stop(signum: int, frame: Any) -> None:
        if callable(previous):
            previous(signum, frame)
        raise MailStopped("stopped by SIGTERM while sending email; nothing recorded as sent")

    signal.signal(signal.SIGTERM, stop)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


class SmtpSession:
    """One connection through Airflow's SMTP connection, for sending several messages; SIGTERM
    stops it at once (:func:`stop_on_sigterm`)."""

    def __init__(self, conn_id: str) -> None:
        self.conn_id = conn_id
        self._hook: Any = None
        self._stops = ExitStack()

    def __enter__(self) -> SmtpSession:
        from airflow.providers.smtp.hooks.smtp import SmtpHook

        self._stops.enter_context(stop_on_sigterm())
        # The hook connects, starts TLS and logs in as the connection says. It only sends
        # HTML-only messages itself, so prepared multipart messages go through its client.
        try:
            self._hook = SmtpHook(smtp_conn_id=self.conn_id).__enter__()
        except BaseException:
            self._stops.close()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        try:
            self._hook.__exit__(*exc)
        finally:
            self._stops.close()

    def send(self, message: EmailMessage) -> None:
        client = self._hook._smtp_client
        if client is None:  # pragma: no cover - the hook raises before this
            raise RuntimeError(f"SMTP connection {self.conn_id} did not open")
        # Every recipient refused raises (SMTPRecipientsRefused), and the task is retried; when
        # only some are, the others got it and it counts as sent: say whom it did not reach.
        refused = client.send_message(message)
        if refused:
            log.warning(
                "the mail server refused %s for %r (the other recipients got it): check the "
                "address in the settings",
                ", ".join(
                    f"{address} ({code} {reply!r})" for address, (code, reply) in refused.items()
                ),
                message["Subject"],
            )


def send_with_airflow_connection(conn_id: str) -> Sender:
    """A sender that opens Airflow's SMTP connection for each message."""

    def send(message: EmailMessage) -> None:
        with SmtpSession(conn_id) as session:
            session.send(message)

    return send


def deliver_once(
    engine: Engine,
    report_date: date,
    rendered: RenderedEmail,
    *,
    kind: str,
    mail_from: str,
    to: Sequence[str],
    cc: Sequence[str] = (),
    send: Sender,
    force: bool = False,
) -> DeliveryResult:
    """Send ``rendered`` unless this kind of email already went to these recipients that day."""
    key = recipients_key(to, cc)
    recipients = tuple(sorted({*to, *cc}))
    domain = mail_from.rsplit("@", 1)[-1]
    where = (
        DeliveryRow.report_date == report_date,
        DeliveryRow.kind == kind,
        DeliveryRow.recipients == key,
    )
    with engine.connect() as conn:
        previous = conn.execute(
            select(DeliveryRow.sent_count, DeliveryRow.sent_at, DeliveryRow.message_id).where(
                *where
            )
        ).first()
    if previous is not None and not force:
        return DeliveryResult(
            report_date=report_date,
            recipients=recipients,
            sent=False,
            message_id=previous.message_id,
            previously_sent_at=previous.sent_at,
        )
    attempt = 1 if previous is None else previous.sent_count + 1
    mid = message_id(report_date, kind, key, attempt, domain)
    send(build_message(rendered, mail_from=mail_from, to=to, cc=cc, message_id=mid))
    values = {
        "sent_count": attempt,
        "message_id": mid,
        "subject": rendered.subject,
        "sent_at": datetime.now(UTC),
    }
    with engine.begin() as conn:
        if previous is None:
            conn.execute(
                insert(DeliveryRow).values(
                    report_date=report_date, kind=kind, recipients=key, **values
                )
            )
        else:
            conn.execute(update(DeliveryRow).where(*where).values(**values))
    return DeliveryResult(report_date=report_date, recipients=recipients, sent=True, message_id=mid)


def deliver_report(
    engine: Engine,
    report_date: date,
    rendered: RenderedEmail,
    *,
    mail_from: str,
    to: Sequence[str],
    cc: Sequence[str],
    send: Sender,
    force: bool = False,
) -> DeliveryResult:
    """The ministry's report: once per report date and recipient list."""
    return deliver_once(
        engine,
        report_date,
        rendered,
        kind="report",
        mail_from=mail_from,
        to=to,
        cc=cc,
        send=send,
        force=force,
    )
