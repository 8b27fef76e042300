"""End to end: the real schoolnet_daily DAG (``airflow dags test``) against the Sheets emulator
over HTTP, a real SMTP server on loopback and a SQLite warehouse; assertions on what arrived."""

from __future__ import annotations

import csv
import email
import json
import re
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date
from email.message import EmailMessage
from email.policy import default as default_policy
from pathlib import Path
from typing import Any

import pytest

from schoolnet.core.registry import Esa, read_esas
from schoolnet.core.thai import thai_date
from schoolnet.devtools.demo import DemoManifest, generate
from schoolnet.devtools.devenv import LocalAirflow
from schoolnet.devtools.emulator import Emulator, edit_cell, load_day, set_fault
from schoolnet.devtools.mailsink import MailSink
from schoolnet.devtools.rundemo import run_dag_with_progress
from schoolnet.warehouse import create_warehouse_engine
from tests.checksum import warehouse_checksum
from tests.e2e.demo_airflow import demo_airflow

ESA_COUNT = 6
REPORT_SUBJECT = "รายงานการเชื่อมต่ออินเทอร์เน็ตโรงเรียน สพฐ."
FEEDBACK_SUBJECT = "ผลตรวจสอบข้อมูลอินเทอร์เน็ตโรงเรียน"


@dataclass
class World:
    root: Path
    demo: Path
    manifest: DemoManifest
    state: Path
    emulator: Emulator
    sink: MailSink
    airflow: LocalAirflow
    warehouse_url: str
    days_run: list[date] = field(default_factory=list)  # in the order they were run

    def run(self, report_date: date) -> None:
        self.days_run.append(report_date)
        run_dag_with_progress(
            self.airflow,
            report_date,
            self.root / "data" / "validated" / report_date.isoformat(),
            ESA_COUNT,
            self.root / "logs" / f"{report_date.isoformat()}.log",
        )

    def messages(self) -> list[EmailMessage]:
        return [
            email.message_from_bytes(path.read_bytes(), policy=default_policy)
            for path in self.sink.messages()
        ]

    def reports(self) -> list[EmailMessage]:
        """The ministry's report emails, oldest first."""
        return [m for m in self.messages() if m["Subject"].startswith(REPORT_SUBJECT)]

    def feedback_to(self, address: str) -> list[EmailMessage]:
        """Feedback emails one ESA's contact received, oldest first."""
        return [
            m
            for m in self.messages()
            if m["To"] == address and m["Subject"].startswith(FEEDBACK_SUBJECT)
        ]

    def data_rows(self, esa: Esa) -> list[list[Any]]:
        doc = json.loads((self.state / "spreadsheets" / f"{esa.spreadsheet_id}.json").read_text())
        rows: list[list[Any]] = doc["sheets"][0]["rows"]
        return rows

    def students_cell(self, esa: Esa) -> str:
        """The A1 address of the student count in the third row of the ESA's data tab."""
        header = self.data_rows(esa)[0]
        return f"{'ABCDEFGHIJKLMNOPQRSTUVWXYZ'[header.index('จำนวนนักเรียน')]}3"

    def third_row_school(self, esa: Esa) -> str:
        rows = self.data_rows(esa)
        return str(rows[2][rows[0].index("รหัสโรงเรียน")])

    def feedback_tab(self, spreadsheet_id: str) -> list[list[Any]]:
        doc = json.loads((self.state / "spreadsheets" / f"{spreadsheet_id}.json").read_text())
        tabs: dict[str, list[list[Any]]] = {
            sheet["title"]: sheet["rows"] for sheet in doc["sheets"]
        }
        return tabs.get("ผลตรวจสอบ", [])


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    root = tmp_path_factory.mktemp("e2e")
    demo = root / "demo-data"
    manifest = generate(demo, esa_limit=ESA_COUNT, days=3)
    with demo_airflow(root, demo, manifest.days[0], cc=["director@obec.go.th"]) as parts:
        yield World(
            root,
            demo,
            manifest,
            parts.state,
            parts.emulator,
            parts.sink,
            parts.airflow,
            parts.warehouse_url,
        )


@dataclass
class Observed:
    """What one run left, kept when it ran: later runs add mail and rewrite the tabs."""

    day: date
    reports: list[EmailMessage]
    stats: dict[str, Any]
    feedback: dict[str, list[EmailMessage]]  # by the ESA contact's address
    tabs: dict[str, list[list[Any]]]  # by spreadsheet id


@pytest.fixture(scope="module")
def first_day(world: World) -> Observed:
    """The data set's first day, run once for every test of the module, whatever their order."""
    day = world.manifest.days[0]
    world.run(day)
    esas = read_esas(world.demo / "esas.csv")
    return Observed(
        day,
        world.reports(),
        world.emulator.stats(),
        {esa.contact_email: world.feedback_to(esa.contact_email) for esa in esas},
        {esa.spreadsheet_id: world.feedback_tab(esa.spreadsheet_id) for esa in esas},
    )


@pytest.fixture(scope="module")
def second_day(world: World, first_day: Observed) -> date:  # noqa: ARG001 - after the first day
    """The second day after the first: one ESA's sheet unshared, another's with a typo."""
    second = world.manifest.days[1]
    load_day(world.state, world.demo, second)
    esas = read_esas(world.demo / "esas.csv")
    broken, typo = esas[0], esas[1]
    set_fault(world.state, broken.spreadsheet_id, "403")
    # A clerk of another ESA types a negative student count in the sheet's third row.
    edit_cell(world.state, typo.spreadsheet_id, f"'โรงเรียน'!{world.students_cell(typo)}", "-12")
    try:
        world.run(second)
    finally:
        set_fault(world.state, broken.spreadsheet_id, None)
    return second


def truth(demo: Path, day: date) -> dict[str, str]:
    """Each school's true status on ``day``, from the demo data set."""
    with (demo / "state" / f"{day.isoformat()}.csv").open(encoding="utf-8") as handle:
        return {row["school_code"]: row["status"] for row in csv.DictReader(handle)}


def figure(html: str, key: str) -> int:
    # The CSS is inlined: the cell's style attribute may follow its data-key.
    match = re.search(rf'data-key="{key}"[^>]*>([\d,]+)<', html)
    assert match, f"no {key} figure in the report"
    return int(match.group(1).replace(",", ""))


def checksum_of(url: str) -> str:
    engine = create_warehouse_engine(url)
    try:
        return warehouse_checksum(engine)
    finally:
        engine.dispose()


def test_daily_run_emails_the_national_counts_of_the_data_set(
    world: World, first_day: Observed
) -> None:
    day = first_day.day
    messages = first_day.reports
    assert len(messages) == 1
    message = messages[0]
    assert message["Subject"] == (f"รายงานการเชื่อมต่ออินเทอร์เน็ตโรงเรียน สพฐ. ประจำวันที่ {thai_date(day)}")
    assert message["To"] == "ict-report@obec.go.th"
    assert message["Cc"] == "director@obec.go.th"
    html_part = message.get_body(preferencelist=("html",))
    text_part = message.get_body(preferencelist=("plain",))
    assert html_part is not None and text_part is not None
    html = html_part.get_content()

    expected = Counter(truth(world.demo, day).values())
    schools = sum(expected.values())
    assert schools == world.manifest.school_count
    assert figure(html, "schools") == schools
    for status in ("connected", "procuring", "not_connected", "no_provider"):
        assert figure(html, status) == expected[status], status
    assert figure(html, "never_reported") == 0
    connected_line = f"เชื่อมต่อแล้ว {expected['connected']:,} จาก {schools:,} โรงเรียน"
    assert connected_line in text_part.get_content()

    # One Drive listing, then one Sheets read per ESA sheet (none was read before), nothing
    # else; one write per ESA's new feedback tab (adding the tab and writing it in one call).
    stats = first_day.stats
    assert stats["reads"] == 1 + ESA_COUNT
    assert stats["by_endpoint"]["drive.files.list"] == 1
    assert stats["writes"] == ESA_COUNT

    # Every ESA hears back: a clean sheet gets an "all accepted" line, in its mail and its tab.
    for esa in read_esas(world.demo / "esas.csv"):
        (feedback,) = first_day.feedback[esa.contact_email]
        assert thai_date(day) in feedback["Subject"] and esa.esa_name in feedback["Subject"]
        body = feedback.get_body(preferencelist=("plain",))
        assert body is not None and "ผ่านการตรวจสอบ ไม่มีช่องที่ต้องแก้ไข" in body.get_content()
        tab = first_day.tabs[esa.spreadsheet_id]
        assert "ไม่มีช่องที่ต้องแก้ไข" in tab[2][0]
    assert (world.root / "report" / day.isoformat() / "report.html").exists()
    assert len(list((world.root / "data" / "raw" / day.isoformat()).glob("*.json"))) == ESA_COUNT


def test_rerun_of_the_same_date_sends_nothing_and_changes_nothing(
    world: World, first_day: Observed
) -> None:
    day = world.days_run[-1]  # the first day, or the second if its tests ran already
    if day != first_day.day:
        world.run(day)  # its unshared sheet was shared again since: this rerun reads it
    before = checksum_of(world.warehouse_url)
    mails = len(world.sink.messages())
    writes = world.emulator.stats()["writes"]
    world.run(day)
    assert len(world.sink.messages()) == mails  # no report, no feedback sent twice
    assert world.emulator.stats()["writes"] == writes  # unchanged findings are not rewritten
    assert checksum_of(world.warehouse_url) == before


def test_a_failing_esa_is_named_and_keeps_its_last_accepted_values(
    world: World, first_day: Observed, second_day: date
) -> None:
    first, second = first_day.day, second_day
    esas = read_esas(world.demo / "esas.csv")
    broken, typo = esas[0], esas[1]

    messages = world.reports()  # reruns send none: the first day's and the second's
    assert len(messages) == 2
    html_part = messages[1].get_body(preferencelist=("html",))
    assert html_part is not None
    html = html_part.get_content()
    assert thai_date(second) in messages[1]["Subject"]
    flagged = html.split('id="flagged"', 1)[1].split("</table>", 1)[0]
    assert broken.esa_name in flagged
    assert "แชร์ชีตให้" in flagged  # tells the ESA what to do

    yesterday, today = truth(world.demo, first), truth(world.demo, second)
    rejected_row = world.third_row_school(typo)
    expected = Counter(
        (yesterday if code.startswith(broken.esa_code) or code == rejected_row else today)[code]
        for code in today
    )
    for status in ("connected", "procuring", "not_connected", "no_provider"):
        assert figure(html, status) == expected[status], status
    # The unread ESA's schools, and the one row rejected for its typo, keep earlier values.
    carried = sum(1 for code in today if code.startswith(broken.esa_code)) + 1
    assert f"{carried:,} โรงเรียนแสดงข้อมูลล่าสุด" in html


def test_each_esa_is_told_which_cell_to_fix(world: World, second_day: date) -> None:
    """The second day: the ESA with the typo sees it in its tab and its mailbox."""
    second = second_day
    esas = read_esas(world.demo / "esas.csv")
    broken, typo = esas[0], esas[1]

    tab = world.feedback_tab(typo.spreadsheet_id)
    cell = world.students_cell(typo)
    lines = [row for row in tab if len(row) > 1 and row[1] == cell]
    assert len(lines) == 1
    row, _, header, severity, message, value, code = lines[0]
    assert (row, header, severity, value, code) == (
        "3",
        "จำนวนนักเรียน",
        "ไม่รับแถวนี้",
        "-12",
        "negative_value",
    )
    assert "ติดลบไม่ได้" in message

    (_, latest) = world.feedback_to(typo.contact_email)
    text = latest.get_body(preferencelist=("plain",))
    assert text is not None
    content = text.get_content()
    assert thai_date(second) in latest["Subject"]
    assert f"แถว 3 ช่อง {cell} (จำนวนนักเรียน): ไม่รับแถวนี้" in content
    assert "ไม่รับ 1 แถว" in content
    # It opens with the ESA's standing, before the cells to fix.
    standing = content.index("สถานะของเขตวันนี้")
    assert standing < content.index("อันดับที่") < content.index(f"แถว 3 ช่อง {cell}")

    # The ESA whose sheet could not be read is told why and what to do, by mail only.
    (_, unread) = world.feedback_to(broken.contact_email)
    unread_text = unread.get_body(preferencelist=("plain",))
    assert unread_text is not None and "แชร์ชีตให้" in unread_text.get_content()
