"""The report rendered from the warehouse, and its delivery to a real SMTP server on loopback."""

from __future__ import annotations

import email
from collections.abc import Callable, Iterator
from datetime import date
from email.message import EmailMessage
from email.policy import default as default_policy
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine

from schoolnet.core.registry import Esa, School
from schoolnet.core.thai import thai_date
from schoolnet.delivery.mail import deliver_report
from schoolnet.devtools.mailsink import MailSink
from schoolnet.report.daily import build_report, render_report
from schoolnet.warehouse import EsaDay, merge_day

D1, D2 = date(2018, 1, 3), date(2018, 1, 4)
ESAS = [
    Esa("105201", "สพป.ลำปาง เขต 1", "primary", "ลำปาง", "s1", "a@example.org"),
    Esa("105202", "สพป.<script>alert(1)</script> เขต 2", "primary", "ลำปาง", "s2", "b@example.org"),
]
SCHOOLS = [
    School("1052010001", "บ้านแม่ทะ", "105201", "ลำปาง", 80),
    School("1052010002", "วัดป่าตาล", "105201", "ลำปาง", 240),
    School("1052020001", "บ้าน<b>ดอย</b>", "105202", "ลำปาง", 35),
]
CONNECTED = {
    "status": "connected",
    "isp": "TOT",
    "link_type": "fiber",
    "students": 80,
    "download_mbps": 30.0,
    "monthly_fee_thb": 1290.0,
    "funding_source": "per_student_subsidy",
}


def load_two_days(engine: Engine) -> None:
    merge_day(
        engine,
        D1,
        ESAS,
        SCHOOLS,
        [
            EsaDay("105201", "accepted", accepted={"1052010001": CONNECTED}),
            EsaDay(
                "105202",
                "accepted",
                accepted={
                    "1052020001": {
                        "status": "no_provider",
                        "students": 35,
                        "providers_contacted": ["TOT", "CAT"],
                    }
                },
            ),
        ],
    )
    merge_day(
        engine,
        D2,
        ESAS,
        SCHOOLS,
        [
            EsaDay(
                "105201", "accepted", accepted={"1052010001": CONNECTED, "1052010002": CONNECTED}
            ),
            EsaDay(
                "105202",
                "failed",
                error_code="not_shared",
                reason="กรุณาแชร์ชีตให้ schoolnet@example.iam.gserviceaccount.com",
            ),
        ],
    )


def test_report_figures_and_thai_text(warehouse_engine: Engine) -> None:
    load_two_days(warehouse_engine)
    with warehouse_engine.connect() as conn:
        report = build_report(conn, D2, stale_after_days=2)
    assert report.national.connected == 2
    assert report.national.schools == 3
    assert report.connected_change == 1
    assert report.previous_date == D1
    assert report.days_since_moenet == 3
    assert [line.esa_code for line in report.flagged_esas] == ["105202"]
    assert report.esas[0].esa_code == "105202"  # highest share unconnected first
    rendered = render_report(report)
    assert rendered.subject == "รายงานการเชื่อมต่ออินเทอร์เน็ตโรงเรียน สพฐ. ประจำวันที่ 4 มกราคม 2561"
    assert (
        'เชื่อมต่อแล้ว <span id="connected">2</span> จาก <span id="schools">3</span>' in rendered.html
    )
    assert "กรุณาแชร์ชีตให้ schoolnet@example.iam.gserviceaccount.com" in rendered.html
    assert "ทีโอที, กสท/แคท" in rendered.html  # providers contacted, by their Thai labels
    assert "เชื่อมต่อแล้ว 2 จาก 3 โรงเรียน (66.7%)" in rendered.text
    # The whole line: "+1" alone is also found in "+10" or "+1,000".
    assert "เปลี่ยนแปลงจากวันที่ 3 มกราคม 2561: +1 โรงเรียน" in rendered.text.splitlines()


def test_names_with_markup_are_escaped_in_html(warehouse_engine: Engine) -> None:
    load_two_days(warehouse_engine)
    with warehouse_engine.connect() as conn:
        rendered = render_report(build_report(conn, D2, stale_after_days=2))
    assert "<script>" not in rendered.html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in rendered.html
    assert "บ้าน&lt;b&gt;ดอย&lt;/b&gt;" in rendered.html


def test_thai_date() -> None:
    assert thai_date(date(2018, 1, 3)) == "3 มกราคม 2561"
    assert thai_date(date(2026, 12, 31)) == "31 ธันวาคม 2569"


@pytest.fixture
def mail_sink(tmp_path: Path) -> Iterator[MailSink]:
    with MailSink(tmp_path / "mail") as sink:
        yield sink


def smtp_sender(port: int) -> Callable[[EmailMessage], None]:
    import smtplib

    def send(message: EmailMessage) -> None:
        with smtplib.SMTP("127.0.0.1", port, timeout=10) as client:
            client.send_message(message)

    return send


def test_report_is_mailed_once_per_date_unless_forced(
    warehouse_engine: Engine, mail_sink: MailSink
) -> None:
    load_two_days(warehouse_engine)
    with warehouse_engine.connect() as conn:
        rendered = render_report(build_report(conn, D2, stale_after_days=2))
    send = smtp_sender(mail_sink.port)
    kwargs: dict[str, Any] = {
        "mail_from": "schoolnet@obec.go.th",
        "to": ["ict@obec.go.th"],
        "cc": ["dir@obec.go.th"],
    }
    first = deliver_report(warehouse_engine, D2, rendered, send=send, **kwargs)
    again = deliver_report(warehouse_engine, D2, rendered, send=send, **kwargs)
    assert first.sent and not again.sent
    assert again.message_id == first.message_id
    assert len(mail_sink.messages()) == 1
    forced = deliver_report(warehouse_engine, D2, rendered, send=send, force=True, **kwargs)
    assert forced.sent and forced.message_id != first.message_id
    assert len(mail_sink.messages()) == 2

    message = email.message_from_bytes(mail_sink.messages()[0].read_bytes(), policy=default_policy)
    assert message["Subject"] == rendered.subject
    assert message["To"] == "ict@obec.go.th" and message["Cc"] == "dir@obec.go.th"
    assert message.get_content_type() == "multipart/alternative"
    text = message.get_body(preferencelist=("plain",))
    html = message.get_body(preferencelist=("html",))
    assert text is not None and html is not None
    assert "เชื่อมต่อแล้ว 2 จาก 3 โรงเรียน" in text.get_content()
    assert '<span id="connected">2</span>' in html.get_content()
