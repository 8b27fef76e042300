"""The morning email as a recipient gets it: rendered from a real warehouse, sent through
Airflow's SMTP connection to a real SMTP server on loopback, and taken apart again: the HTML and
text parts, the inline charts, the PDF (its Thai text layer) and the XLSX."""

from __future__ import annotations

import email
import io
import json
import re
from collections.abc import Iterator
from datetime import date
from email.message import EmailMessage
from email.policy import default as default_policy
from pathlib import Path
from typing import TypedDict

import openpyxl
import pytest
from sqlalchemy import Engine, func, select

from schoolnet.delivery.mail import deliver_report, send_with_airflow_connection
from schoolnet.devtools.mailsink import MailSink
from schoolnet.report.daily import build_report
from schoolnet.report.files import load_email, render_files, save_files
from schoolnet.report.pdf import pdf_text
from schoolnet.warehouse.models import FindingRow, SnapshotRow
from tests.unit.report.test_report_and_mail import D2, load_two_days

CONN_ID = "smtp_report_test"


class Recipients(TypedDict):
    """deliver_report's addressing keywords, typed so that the dict unpacks into them."""

    mail_from: str
    to: list[str]
    cc: list[str]


RECIPIENTS: Recipients = {"mail_from": "schoolnet@obec.go.th", "to": ["ict@obec.go.th"], "cc": []}


@pytest.fixture
def sink(tmp_path: Path) -> Iterator[MailSink]:
    with MailSink(tmp_path / "mail") as server:
        yield server


@pytest.fixture
def smtp_connection(sink: MailSink, monkeypatch: pytest.MonkeyPatch) -> str:
    """Airflow's SMTP connection to the sink, as the production connection would be defined."""
    monkeypatch.setenv(
        f"AIRFLOW_CONN_{CONN_ID.upper()}",
        json.dumps(
            {
                "conn_type": "smtp",
                "host": "127.0.0.1",
                "port": sink.port,
                "extra": {"disable_ssl": True, "disable_tls": True, "timeout": 10},
            }
        ),
    )
    return CONN_ID


def received(sink: MailSink) -> list[EmailMessage]:
    return [
        email.message_from_bytes(path.read_bytes(), policy=default_policy)
        for path in sink.messages()
    ]


@pytest.fixture
def mailed(
    warehouse_engine: Engine, sink: MailSink, smtp_connection: str, tmp_path: Path
) -> EmailMessage:
    """Render the report of D2, keep its files, send them once, and return what arrived."""
    load_two_days(warehouse_engine)
    with warehouse_engine.connect() as conn:
        report = build_report(conn, D2, stale_after_days=2)
        files = render_files(conn, report, list_limit=20)
    save_files(files, tmp_path / "report")
    result = deliver_report(
        warehouse_engine,
        D2,
        load_email(tmp_path / "report"),
        send=send_with_airflow_connection(smtp_connection),
        **RECIPIENTS,
    )
    assert result.sent
    (message,) = received(sink)
    return message


def parts(message: EmailMessage) -> list[EmailMessage]:
    return list(message.walk())


def test_mime_tree_has_text_html_inline_charts_and_two_attachments(mailed: EmailMessage) -> None:
    assert mailed["Subject"] == ("รายงานการเชื่อมต่ออินเทอร์เน็ตโรงเรียน สพฐ. ประจำวันที่ 4 มกราคม 2561")
    assert mailed.get_content_type() == "multipart/mixed"
    types = [part.get_content_type() for part in parts(mailed)]
    assert types == [
        "multipart/mixed",
        "multipart/alternative",
        "text/plain",
        "multipart/related",
        "text/html",
        "image/png",
        "image/png",
        "image/png",
        "application/pdf",
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    ]
    text = mailed.get_body(preferencelist=("plain",))
    assert text is not None
    assert "เชื่อมต่อแล้ว 2 จาก 3 โรงเรียน (66.7%)" in text.get_content()
    attachments = {part.get_filename(): part for part in mailed.iter_attachments()}
    assert set(attachments) == {"schoolnet-report-2018-01-04.pdf", "schoolnet-2018-01-04.xlsx"}


def test_html_shows_every_chart_by_cid_and_loads_nothing_remote(mailed: EmailMessage) -> None:
    html_part = mailed.get_body(preferencelist=("html",))
    assert html_part is not None
    html = html_part.get_content()
    image_ids = {
        part["Content-ID"].strip("<>")
        for part in parts(mailed)
        if part.get_content_type() == "image/png"
    }
    assert set(re.findall(r'src="cid:([^"]+)"', html)) == image_ids
    assert len(image_ids) == 3  # progress, ESA gap, province map
    for part in parts(mailed):
        if part.get_content_type() == "image/png":
            assert part.get_content().startswith(b"\x89PNG\r\n\x1a\n")
    # Nothing for a mail client to fetch: no remote src/href/url(), no <link>, no <style> left.
    assert not re.search(r"""(src|href)=["']?(https?:)?//""", html)
    assert "url(" not in html and "<link" not in html and "<style" not in html
    # The CSS is inlined into attributes, as Gmail and Outlook need.
    assert re.search(r'<h1 style="[^"]*font-size: ?19px', html)
    assert 'name="viewport"' in html  # phones lay it out at their own width
    assert "เชื่อมต่อแล้ว" in html and ">2</span>" in html


def test_pdf_attachment_holds_the_thai_report(mailed: EmailMessage) -> None:
    pdf = next(p for p in parts(mailed) if p.get_content_type() == "application/pdf")
    pages = pdf_text(pdf.get_content())
    text = "\n".join(pages)
    assert "รายงานการเชื่อมต่ออินเทอร์เน็ตโรงเรียน สพฐ." in text
    assert "4 มกราคม 2561" in text
    assert "สำนักงานเขตพื้นที่การศึกษา" in text  # ำ comes back from the text layer
    assert re.search(r"เชื่อมต่อแล้ว\s*2\s*จาก\s*3\s*โรงเรียน", text)
    assert f"หน้า 1 จาก {len(pages)}" in pages[0]
    # A name holding markup is printed as the characters typed, never run as markup.
    assert "<script>alert(1)</script>" in text.replace("\n", "")


def test_xlsx_attachment_holds_the_days_rows(
    mailed: EmailMessage, warehouse_engine: Engine
) -> None:
    xlsx = next(p for p in parts(mailed) if p.get_filename() == "schoolnet-2018-01-04.xlsx")
    book = openpyxl.load_workbook(io.BytesIO(xlsx.get_content()))
    with warehouse_engine.connect() as conn:
        schools = conn.scalar(
            select(func.count()).select_from(SnapshotRow).where(SnapshotRow.report_date == D2)
        )
        no_provider = conn.scalar(
            select(func.count())
            .select_from(SnapshotRow)
            .where(SnapshotRow.report_date == D2, SnapshotRow.status == "no_provider")
        )
        findings = conn.scalar(
            select(func.count()).select_from(FindingRow).where(FindingRow.report_date == D2)
        )
    counts = [sheet.max_row - 1 for sheet in book.worksheets]  # less the header row
    assert counts[:3] == [schools, no_provider, findings]  # the lost schools' sheet apart
    names = [cell.value for cell in book.worksheets[0]["A"]] + [
        cell.value for row in book.worksheets[0].iter_rows() for cell in row
    ]
    assert any(isinstance(v, str) and "บ้าน<b>ดอย</b>" in v for v in names)


def test_a_refused_send_is_retried_and_delivered_exactly_once(
    warehouse_engine: Engine, sink: MailSink, smtp_connection: str, tmp_path: Path
) -> None:
    load_two_days(warehouse_engine)
    with warehouse_engine.connect() as conn:
        files = render_files(conn, build_report(conn, D2, stale_after_days=2))
    save_files(files, tmp_path / "report")
    rendered = load_email(tmp_path / "report")
    send = send_with_airflow_connection(smtp_connection)
    sink.refuse(1, code=451)  # the server says "try again later": the send raises, so
    with pytest.raises(OSError):  # Airflow retries the task, and nothing is recorded as sent
        deliver_report(warehouse_engine, D2, rendered, send=send, **RECIPIENTS)
    assert sink.messages() == []
    first = deliver_report(warehouse_engine, D2, rendered, send=send, **RECIPIENTS)
    again = deliver_report(warehouse_engine, D2, rendered, send=send, **RECIPIENTS)
    assert first.sent and not again.sent
    assert len(sink.messages()) == 1


def test_the_report_date_is_rendered_in_the_buddhist_era_in_every_part(
    warehouse_engine: Engine,
) -> None:
    load_two_days(warehouse_engine)
    with warehouse_engine.connect() as conn:
        files = render_files(conn, build_report(conn, date(2018, 1, 4), stale_after_days=2))
    assert "2561" in files.subject and "2018" not in files.subject
    assert "4 มกราคม 2561" in files.text


def test_user_text_cannot_start_a_header_of_its_own(sink: MailSink) -> None:
    """An ESA name typed with a line break and a header after it stays one Subject line."""
    import smtplib

    from schoolnet.core.message import RenderedEmail
    from schoolnet.delivery.mail import build_message

    rendered = RenderedEmail(
        subject="ผลตรวจสอบ สพป.ลำปาง\r\nBcc: attacker@example.org\nX-Evil: 1",
        html="<p>x</p>",
        text="x",
    )
    message = build_message(
        rendered,
        mail_from="schoolnet@obec.go.th",
        to=["a@obec.go.th"],
        cc=[],
        message_id="<t@obec.go.th>",
    )
    with smtplib.SMTP("127.0.0.1", sink.port, timeout=10) as client:
        client.send_message(message)
    (arrived,) = received(sink)
    assert arrived["Bcc"] is None and arrived["X-Evil"] is None
    assert arrived["Subject"] == "ผลตรวจสอบ สพป.ลำปาง Bcc: attacker@example.org X-Evil: 1"


def test_an_esa_whose_sheet_was_not_updated_for_two_days_is_flagged(
    warehouse_engine: Engine,
) -> None:
    """Readable but stale: flagged with the days since its sheet changed, and that date."""
    from schoolnet.warehouse import EsaDay, merge_day
    from tests.unit.report.test_report_and_mail import CONNECTED, ESAS, SCHOOLS

    day = date(2018, 1, 8)
    merge_day(
        warehouse_engine,
        day,
        ESAS,
        SCHOOLS,
        [
            EsaDay(
                "105201",
                "accepted",
                sheet_modified_time="2018-01-05T03:00:00Z",  # 10:00 in Bangkok, 3 days ago
                accepted={"1052010001": CONNECTED},
            ),
            EsaDay(
                "105202",
                "accepted",
                sheet_modified_time="2018-01-06T18:00:00Z",  # 01:00 on the 7th in Bangkok
                accepted={"1052020001": {"status": "not_connected", "students": 35}},
            ),
        ],
    )
    with warehouse_engine.connect() as conn:
        report = build_report(conn, day, stale_after_days=2)
    (flagged,) = report.flagged_esas
    assert flagged.esa_code == "105201"
    assert flagged.flag_reason == "ชีตไม่ได้ปรับปรุงมา 3 วัน"
    assert flagged.last_update == date(2018, 1, 5)
    fresh = next(line for line in report.esas if line.esa_code == "105202")
    assert fresh.days_since_update == 1 and not fresh.flagged
