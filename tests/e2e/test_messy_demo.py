"""End to end: the demo's own kind of day, with clerk mistakes and three sheets that cannot be
used, through the real schoolnet_daily DAG (``airflow dags test``), the Sheets emulator over
HTTP and a real SMTP server. The morning email, each ESA's email and each sheet's ``ผลตรวจสอบ``
tab must say what the data set's truth says happened: the totals of rejected rows and findings
recomputed from ``truth/<day>.json``, the three ESAs flagged with their Thai reasons, the clerk
of each told what to do.
"""

from __future__ import annotations

import email
import json
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from email.message import EmailMessage
from email.policy import default as default_policy
from pathlib import Path
from typing import Any

import lxml.html
import pytest

from schoolnet.core.registry import Esa, read_esas
from schoolnet.core.thai import thai_date
from schoolnet.devtools.demo import generate
from schoolnet.devtools.demo.generate import DEMO_MESSY_RATE, DemoManifest
from schoolnet.devtools.emulator import load_day
from schoolnet.devtools.rundemo import run_dag_with_progress
from schoolnet.validation.feedback import TAB_HEADER
from tests.e2e.demo_airflow import DemoAirflow, demo_airflow

ESA_COUNT = 8
DAYS = 2
SHARE_WITH = "ระบบเปิดชีตของเขตไม่ได้ เพราะชีตยังไม่ได้แชร์ให้บัญชีของระบบ"


@dataclass
class Day:
    """The last day of the data set, run after the first, and what it left."""

    manifest: DemoManifest
    demo: Path
    parts: DemoAirflow
    esas: dict[str, Esa]

    def faulty(self, kind: str) -> Esa:
        return self.esas[next(f.esa_code for f in self.manifest.sheet_faults if f.kind == kind)]

    def truth(self) -> list[dict[str, Any]]:
        text = (self.demo / "truth" / f"{self.manifest.days[-1].isoformat()}.json").read_text()
        entries: list[dict[str, Any]] = json.loads(text)
        return entries

    def messages(self, subject_start: str) -> list[EmailMessage]:
        day = thai_date(self.manifest.days[-1])
        found = []
        for path in self.parts.sink.messages():
            message = email.message_from_bytes(path.read_bytes(), policy=default_policy)
            subject = str(message["Subject"])
            if subject.startswith(subject_start) and subject.endswith(day):
                found.append(message)
        return found

    def feedback_text(self, esa: Esa) -> str:
        sent = [m for m in self.messages("ผลตรวจสอบ") if m["To"] == esa.contact_email]
        assert len(sent) == 1, esa.esa_code
        part = sent[0].get_body(preferencelist=("plain",))
        assert part is not None
        return " ".join(str(part.get_content()).split())

    def tab(self, esa: Esa) -> list[list[Any]]:
        path = self.parts.state / "spreadsheets" / f"{esa.spreadsheet_id}.json"
        doc = json.loads(path.read_text(encoding="utf-8"))
        return next((s["rows"] for s in doc["sheets"] if s["title"] == "ผลตรวจสอบ"), [])


@pytest.fixture(scope="module")
def day(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Day]:
    root = tmp_path_factory.mktemp("messy-demo")
    demo = root / "demo-data"
    manifest = generate(
        demo, days=DAYS, esa_limit=ESA_COUNT, messy_rate=DEMO_MESSY_RATE, sheet_faults=True
    )
    with demo_airflow(root, demo, manifest.days[0]) as parts:
        for index, report_date in enumerate(manifest.days):
            if index:
                load_day(parts.state, demo, report_date)
            run_dag_with_progress(
                parts.airflow,
                report_date,
                root / "data" / "validated" / report_date.isoformat(),
                ESA_COUNT,
                root / "logs" / f"{report_date.isoformat()}.log",
            )
        esas = {esa.esa_code: esa for esa in read_esas(demo / "esas.csv")}
        yield Day(manifest, demo, parts, esas)


def _text(element: Any) -> str:
    return " ".join(element.text_content().split())


def _report(day: Day) -> Any:
    reports = day.messages("รายงานการเชื่อมต่ออินเทอร์เน็ตโรงเรียน")
    assert len(reports) == 1
    part = reports[0].get_body(preferencelist=("html",))
    assert part is not None
    return lxml.html.fromstring(part.get_content())


def test_the_report_counts_the_rejected_rows_and_findings_of_the_truth(day: Day) -> None:
    # Per ESA: rows with an error finding are rejected (sheet-wide findings have no row),
    # every finding the truth expects is open; an unread sheet has neither.
    rejected_rows: set[tuple[str, int]] = set()
    findings: Counter[str] = Counter()
    for entry in day.truth():
        if entry["expected_severity"] is None:
            continue
        findings[entry["esa_code"]] += 1
        if entry["expected_severity"] == "error" and entry["row"] is not None:
            rejected_rows.add((entry["esa_code"], entry["row"]))
    assert len(rejected_rows) > 0 and len(findings) >= 3
    page = _report(day)
    assert _text(page.get_element_by_id("quality-total")) == (
        f"แถวที่ไม่ผ่านการตรวจสอบ {len(rejected_rows):,} แถว · "
        f"ข้อสังเกตที่ยังไม่แก้ {sum(findings.values()):,} รายการ ใน {len(findings):,} เขต"
    )


def test_the_report_flags_the_three_sheets_that_could_not_be_used(day: Day) -> None:
    page = _report(day)
    flagged = {
        cells[0]: cells[1]
        for cells in (
            tuple(_text(td) for td in row.xpath("./td"))
            for row in page.xpath('//table[@id="flagged"]/tbody/tr')
        )
    }
    rejected, emptied, unshared = (
        day.faulty(kind) for kind in ("broken_header", "emptied", "unshared")
    )
    assert flagged[rejected.esa_name].startswith("ข้อมูลทั้งชีตไม่ผ่านการตรวจสอบ: ")
    assert "รหัสโรงเรียน" in flagged[rejected.esa_name]
    assert flagged[emptied.esa_name].startswith("ระบบพักข้อมูลชีตนี้ไว้ก่อน: ")
    assert flagged[unshared.esa_name].startswith(SHARE_WITH)
    # The sheets that could not be used come first in the list.
    names = list(flagged)
    assert set(names[:3]) == {rejected.esa_name, emptied.esa_name, unshared.esa_name}


def test_each_clerk_is_told_what_to_do_in_the_email_and_the_tab(day: Day) -> None:
    rejected, emptied, unshared = (
        day.faulty(kind) for kind in ("broken_header", "emptied", "unshared")
    )
    text = day.feedback_text(rejected)
    assert "ระบบยังไม่รับข้อมูลของชีตนี้ทั้งชีต" in text and "รหัส รร. (10 หลัก)" in text
    tab = day.tab(rejected)
    assert any("missing_column" in row for row in tab)
    assert any("unknown_column" in row and "รหัส รร. (10 หลัก)" in row for row in tab)

    text = day.feedback_text(emptied)
    assert "ระบบพักข้อมูลชีตนี้ไว้ก่อน" in text
    tab = day.tab(emptied)
    not_reported = [row for row in tab if "not_reported" in row]
    schools = [e for e in day.truth() if e["esa_code"] == emptied.esa_code]
    assert len(not_reported) == sum(1 for e in schools if e["expected_code"] == "not_reported")
    assert any("quarantined" in row for row in tab)

    assert SHARE_WITH in day.feedback_text(unshared)
    # Nothing is written to a sheet we cannot open: no tab of this morning.
    assert not any(thai_date(day.manifest.days[-1]) in str(row) for row in day.tab(unshared))


def test_a_sound_sheet_with_mistakes_lists_each_of_them(day: Day) -> None:
    faulty = {f.esa_code for f in day.manifest.sheet_faults}
    counts = Counter(
        e["esa_code"]
        for e in day.truth()
        if e["expected_code"] is not None and e["esa_code"] not in faulty
    )
    assert counts, "the sound ESAs have mistakes too"
    for esa_code, count in counts.items():
        rows = day.tab(day.esas[esa_code])
        header = next(i for i, row in enumerate(rows) if list(TAB_HEADER) == row[:7])
        assert len([row for row in rows[header + 1 :] if any(row)]) == count, esa_code
