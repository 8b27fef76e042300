"""SMTP faults through the real path: ``deliver_report`` with the sender built from Airflow's SMTP
connection, against the project's SMTP sink refusing or dropping the first attempts. A failed
send raises (so Airflow retries the task), records nothing, and the retry delivers exactly once.
"""

from __future__ import annotations

import email
import json
import os
import signal
import smtplib
import socket
import subprocess
import sys
from collections.abc import Iterator
from datetime import date
from email.policy import default as default_policy
from pathlib import Path

import pytest
from sqlalchemy import Engine, select

from schoolnet.core.message import RenderedEmail
from schoolnet.delivery.mail import deliver_report, send_with_airflow_connection
from schoolnet.devtools.mailsink import MailSink
from schoolnet.warehouse.models import DeliveryRow

DAY = date(2018, 1, 4)
LOGIN = ("schoolnet-mailer", "smtp-Pa55-word-for-tests")
RENDERED = RenderedEmail(
    subject="รายงานการเชื่อมต่ออินเทอร์เน็ตโรงเรียน สพฐ. ทดสอบ",
    html="<p>เชื่อมต่อแล้ว 1 จาก 2 โรงเรียน</p>",
    text="เชื่อมต่อแล้ว 1 จาก 2 โรงเรียน",
)


@pytest.fixture
def sink(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[MailSink]:
    """The SMTP sink with a login, and Airflow's connection ``smtp_reliability`` pointing at it."""
    with MailSink(tmp_path / "mail", credentials=LOGIN) as running:
        monkeypatch.setenv(
            "AIRFLOW_CONN_SMTP_RELIABILITY",
            json.dumps(
                {
                    "conn_type": "smtp",
                    "host": "127.0.0.1",
                    "port": running.port,
                    "login": LOGIN[0],
                    "password": LOGIN[1],
                    "extra": {
                        "disable_ssl": True,
                        "disable_tls": True,
                        "from_email": "schoolnet@obec.go.th",
                        "timeout": 10,
                        "retry_limit": 1,
                    },
                }
            ),
        )
        yield running


def deliveries(engine: Engine) -> list[tuple[str, int]]:
    with engine.connect() as conn:
        rows = conn.execute(select(DeliveryRow.kind, DeliveryRow.sent_count))
        return [(row.kind, row.sent_count) for row in rows]


def deliver(engine: Engine) -> bool:
    result = deliver_report(
        engine,
        DAY,
        RENDERED,
        mail_from="schoolnet@obec.go.th",
        to=["ict-report@obec.go.th"],
        cc=["director@obec.go.th"],
        send=send_with_airflow_connection("smtp_reliability"),
    )
    return result.sent


@pytest.mark.parametrize(
    ("fault", "raised"),
    [
        ("451 at MAIL", smtplib.SMTPSenderRefused),
        ("421 at DATA", smtplib.SMTPDataError),
        ("451 at DATA", smtplib.SMTPDataError),
        ("connection dropped after DATA", smtplib.SMTPServerDisconnected),
    ],
)
def test_a_refused_or_dropped_send_raises_records_nothing_and_the_retry_delivers_once(
    warehouse_engine: Engine, sink: MailSink, fault: str, raised: type[Exception]
) -> None:
    if fault.startswith("connection"):
        sink.drop(2)
    else:
        code, _, command = fault.split()
        sink.refuse(2, int(code), command)

    for _ in range(2):  # the task fails, and its first retry fails too
        with pytest.raises(raised):
            deliver(warehouse_engine)
        assert deliveries(warehouse_engine) == []  # nothing recorded as sent
    assert sink.faults_spent == 2 and sink.messages() == []

    assert deliver(warehouse_engine) is True  # the next retry delivers
    assert deliver(warehouse_engine) is False  # a retry after success sends nothing
    assert deliveries(warehouse_engine) == [("report", 1)]
    (path,) = sink.messages()  # exactly one email arrived
    message = email.message_from_bytes(path.read_bytes(), policy=default_policy)
    assert message["Subject"] == RENDERED.subject
    assert sink.logins and all(login.endswith(LOGIN[0]) for login in sink.logins)


def test_a_wrong_password_fails_the_send_and_records_nothing(
    warehouse_engine: Engine, sink: MailSink, monkeypatch: pytest.MonkeyPatch
) -> None:
    connection = json.loads(os.environ["AIRFLOW_CONN_SMTP_RELIABILITY"])
    monkeypatch.setenv(
        "AIRFLOW_CONN_SMTP_RELIABILITY", json.dumps({**connection, "password": "wrong"})
    )
    with pytest.raises(smtplib.SMTPAuthenticationError):
        deliver(warehouse_engine)
    assert deliveries(warehouse_engine) == [] and sink.messages() == []


SENDER = """
import signal, sys
from datetime import date
from schoolnet.core.message import RenderedEmail
from schoolnet.delivery.mail import deliver_report, send_with_airflow_connection
from schoolnet.warehouse import create_warehouse_engine

# What Airflow's task runner does on SIGTERM for a TaskFlow task: call on_kill, which is a no-op.
signal.signal(signal.SIGTERM, lambda signum, frame: None)
deliver_report(
    create_warehouse_engine(sys.argv[1]), date(2018, 1, 4),
    RenderedEmail(subject="s", html="<p>h</p>", text="t"), mail_from="schoolnet@obec.go.th",
    to=["ict-report@obec.go.th"], cc=[], send=send_with_airflow_connection("smtp_silent"),
)
"""


def test_a_send_to_a_mail_server_that_never_answers_stops_on_sigterm(
    warehouse_engine: Engine, empty_url: str
) -> None:
    """The server takes the connection and says nothing (a hung or half-down server): the
    send waits, and SIGTERM (Airflow stopping the task) must end it, recording nothing."""
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen()
        environment = {
            **os.environ,
            "AIRFLOW_CONN_SMTP_SILENT": json.dumps(
                {
                    "conn_type": "smtp",
                    "host": "127.0.0.1",
                    "port": silent.getsockname()[1],
                    "extra": {"disable_ssl": True, "disable_tls": True, "timeout": 3600},
                }
            ),
        }
        sender = subprocess.Popen(
            [sys.executable, "-c", SENDER, empty_url],
            env=environment,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        try:
            connection, _ = silent.accept()  # the sender is now waiting for the greeting
            with connection:
                sender.send_signal(signal.SIGTERM)
                _out, err = sender.communicate(timeout=120)
        finally:
            if sender.poll() is None:
                sender.kill()
                sender.wait()
    assert sender.returncode != 0
    assert "stopped by SIGTERM while sending email" in err
    assert deliveries(warehouse_engine) == []


def test_a_report_no_recipient_can_receive_raises_and_one_refused_recipient_is_named(
    warehouse_engine: Engine, sink: MailSink, caplog: pytest.LogCaptureFixture
) -> None:
    # Every recipient refused (a mailbox the server does not have): the send raises, so the
    # task fails and is retried, and nothing is recorded as sent.
    sink.refuse_recipient("ict-report@obec.go.th")
    sink.refuse_recipient("director@obec.go.th")
    with pytest.raises(smtplib.SMTPRecipientsRefused):
        deliver(warehouse_engine)
    assert deliveries(warehouse_engine) == [] and sink.messages() == []
    # One refused: the other got it, it counts as sent, and the log names whom it missed.
    sink.refuse_recipient("ict-report@obec.go.th", refused=False)
    with caplog.at_level("WARNING", logger="schoolnet.delivery.mail"):
        assert deliver(warehouse_engine) is True
    assert deliveries(warehouse_engine) == [("report", 1)] and len(sink.messages()) == 1
    assert "refused director@obec.go.th (550" in caplog.text
