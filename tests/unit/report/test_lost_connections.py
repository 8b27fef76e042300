"""Schools that lost their connection (``sql/lost_connections.sql``) on SQLite and PostgreSQL:
the query, the report's headline and lists, the workbook's sheet and an ESA's standing.

The world: three primary ESAs, five report dates (Friday 29 December, Monday 1, Thursday 4,
Friday 5 and Monday 8 January). On 8 January the previous report is 5 January and the last
7 days are the reports of 4, 5 and 8 January (each against the report before it).

| school | 29 Dec | 1 Jan | 4 Jan | 5 Jan | 8 Jan |
|---|---|---|---|---|---|
| A1 | TOT fiber | same | same | same | not_connected "สัญญาหมด" |
| A2 | CAT satellite | same | not_connected "จานเสีย" | same | connected again "ซ่อมแล้ว" |
| A3 | True dsl | same | procuring | same | not_connected "ยังไม่มีงบ" |
| A4 | 3BB fiber | same | same | same | same |
| A5 | TOT dsl | same | same | same | (left the registry) |
| A6 | not_connected | same | same | same | AIS mobile |
| A7 | – | TOT fiber | not_connected | AIS mobile | not_connected "เปลี่ยนผู้ให้บริการ" |
| X1 | TOT fiber | not_connected | same | same | same |
| B1 | (ESA B) TOT fiber | same | same | same | ESA B's sheet failed |
| C1 | (ESA C) UIH fiber | same | same | same | ESA C's sheet rejected |
| N1 | (joins the registry on 8 January) | | | | TOT fiber |
"""

from __future__ import annotations

import io
from datetime import date
from typing import Any

import openpyxl
import pytest
from sqlalchemy import Engine

from schoolnet.core.config import SpeedTarget
from schoolnet.core.registry import Esa, School
from schoolnet.report.daily import (
    LostSchool,
    build_report,
    lost_connections,
    render_report,
    template_environment,
)
from schoolnet.report.files import pdf_html
from schoolnet.report.standing import esa_standings
from schoolnet.report.workbook import LOST_SHEET, build_report_workbook
from schoolnet.validation.feedback import EsaFeedback, sheet_url
from schoolnet.validation.result import SheetResult
from schoolnet.warehouse import EsaDay, merge_day

D0, D1, D2, D3, D4 = (
    date(2017, 12, 29),
    date(2018, 1, 1),
    date(2018, 1, 4),
    date(2018, 1, 5),
    date(2018, 1, 8),
)
ESAS = [
    Esa("105201", "สพป.ลำปาง เขต 1", "primary", "ลำปาง", "sheet-a", "a@example.org"),
    Esa("105202", "สพป.ลำปาง เขต 2", "primary", "ลำปาง", "sheet-b", "b@example.org"),
    Esa("105203", "สพป.ลำปาง เขต 3", "primary", "ลำปาง", "sheet-c", "c@example.org"),
]
A1, A2, A3, A4, A5, A6, A7 = (f"105201000{n}" for n in range(1, 8))
X1, B1, C1, N1 = "1052010009", "1052020001", "1052030001", "1052010010"
NAMES = {
    A1: "บ้านแม่ทะ", A2: "บ้านดอยแก้ว", A3: "วัดป่าตาล", A4: "บ้านหัวเสือ", A5: "บ้านนาแก",
    A6: "บ้านสบตุ๋ย", A7: "บ้านทุ่งฝาย", X1: "บ้านปงแสนทอง", B1: "บ้านแจ้ซ้อน",
    C1: "บ้านเมาะหลวง", N1: "บ้านใหม่พัฒนา",
}  # fmt: skip


def school(code: str) -> School:
    return School(code, NAMES[code], code[:6], "ลำปาง", 100)


REGISTRY = [school(code) for code in (A1, A2, A3, A4, A5, A6, A7, X1, B1, C1)]
LATER_REGISTRY = [s for s in REGISTRY if s.school_code != A5] + [school(N1)]


def linked(isp: str, link: str, note: str | None = None) -> dict[str, Any]:
    return {
        "students": 100,
        "status": "connected",
        "isp": isp,
        "link_type": link,
        "download_mbps": 30.0,
        "monthly_fee_thb": 990.0,
        "funding_source": "per_student_subsidy",
        "note": note,
    }


def unlinked(status: str = "not_connected", note: str | None = None) -> dict[str, Any]:
    isp = "TOT" if status == "procuring" else None
    return {"students": 100, "status": status, "isp": isp, "note": note}


def accepted(esa: str, rows: dict[str, dict[str, Any]]) -> EsaDay:
    return EsaDay(esa, "accepted", rows_read=len(rows), accepted=rows)


def others_as_before() -> list[EsaDay]:
    return [
        accepted("105202", {B1: linked("TOT", "fiber")}),
        accepted("105203", {C1: linked("UIH", "fiber")}),
    ]


def build_world(engine: Engine) -> None:
    steady = {A4: linked("3BB", "fiber"), A5: linked("TOT", "dsl")}
    merge_day(
        engine,
        D0,
        ESAS,
        REGISTRY,
        [
            accepted(
                "105201",
                {
                    A1: linked("TOT", "fiber"),
                    A2: linked("CAT", "satellite"),
                    A3: linked("True", "dsl"),
                    A6: unlinked(),
                    X1: linked("TOT", "fiber"),
                    **steady,
                },
            ),
            *others_as_before(),
        ],
    )
    merge_day(
        engine,
        D1,
        ESAS,
        REGISTRY,
        [
            accepted(
                "105201",
                {
                    A1: linked("TOT", "fiber"),
                    A2: linked("CAT", "satellite"),
                    A3: linked("True", "dsl"),
                    A6: unlinked(),
                    A7: linked("TOT", "fiber"),
                    X1: unlinked(note="หมดสัญญา"),
                    **steady,
                },
            ),
            *others_as_before(),
        ],
    )
    for day, a7 in ((D2, unlinked()), (D3, linked("AIS", "mobile"))):
        merge_day(
            engine,
            day,
            ESAS,
            REGISTRY,
            [
                accepted(
                    "105201",
                    {
                        A1: linked("TOT", "fiber"),
                        A2: unlinked(note="จานเสีย"),
                        A3: unlinked("procuring", note="รอต่อสัญญา"),
                        A6: unlinked(),
                        A7: a7,
                        X1: unlinked(),
                        **steady,
                    },
                ),
                *others_as_before(),
            ],
        )
    merge_day(
        engine,
        D4,
        ESAS,
        LATER_REGISTRY,
        [
            accepted(
                "105201",
                {
                    A1: unlinked(note="สัญญาหมด"),
                    A2: linked("CAT", "satellite", note="ซ่อมแล้ว"),
                    A3: unlinked(note="ยังไม่มีงบ"),
                    A4: linked("3BB", "fiber"),
                    A6: linked("AIS", "mobile"),
                    A7: unlinked(note="เปลี่ยนผู้ให้บริการ"),
                    X1: unlinked(),
                    N1: linked("TOT", "fiber"),
                },
            ),
            EsaDay("105202", "failed", error_code="not_shared", reason="ยังไม่ได้แชร์ชีต"),
            EsaDay("105203", "rejected", error_code="header_not_found", reason="หาหัวตารางไม่พบ"),
        ],
    )


@pytest.fixture
def world(warehouse_engine: Engine) -> Engine:
    build_world(warehouse_engine)
    return warehouse_engine


def lost(engine: Engine, report_date: date, since_date: date) -> list[LostSchool]:
    with engine.connect() as conn:
        return lost_connections(conn, report_date, since_date)


def brief(schools: list[LostSchool]) -> list[tuple[Any, ...]]:
    return [
        (s.school_code, s.lost_on, s.previous_isp, s.previous_link_type, s.status, s.reconnected)
        for s in schools
    ]


def test_lost_since_the_previous_report(world: Engine) -> None:
    found = lost(world, D4, D3)
    # A7 was on AIS mobile on 5 January (not its TOT fiber of 1 January); B1 and C1 keep their
    # last accepted values (their sheets failed or were rejected); A5 left the registry.
    assert brief(found) == [
        (A1, D4, "TOT", "fiber", "not_connected", False),
        (A7, D4, "AIS", "mobile", "not_connected", False),
    ]
    assert [(s.note, s.before_date, s.esa_name) for s in found] == [
        ("สัญญาหมด", D3, "สพป.ลำปาง เขต 1"),
        ("เปลี่ยนผู้ให้บริการ", D3, "สพป.ลำปาง เขต 1"),
    ]
    assert found[0].school_name == NAMES[A1]


def test_lost_over_the_last_seven_days_once_each_with_the_day(world: Engine) -> None:
    found = lost(world, D4, date(2018, 1, 1))
    # X1, lost on 1 January, is 7 days back: outside. A7 lost twice: listed once, on 8 January.
    # A2 is connected again: listed, marked; A3 lost on 4 January (procuring), the note of today.
    assert brief(found) == [
        (A1, D4, "TOT", "fiber", "not_connected", False),
        (A2, D2, "CAT", "satellite", "connected", True),
        (A3, D2, "True", "dsl", "not_connected", False),
        (A7, D4, "AIS", "mobile", "not_connected", False),
    ]
    assert found[2].note == "ยังไม่มีงบ"


def test_a_loss_on_the_window_s_first_day_counts_in_an_earlier_week(world: Engine) -> None:
    assert [s.school_code for s in lost(world, D2, date(2017, 12, 28))] == [A2, A3, A7, X1]
    assert [s.lost_on for s in lost(world, D2, date(2017, 12, 28))][-1] == D1


def test_the_first_report_loses_nothing(world: Engine) -> None:
    assert lost(world, D0, date(2017, 12, 1)) == []


def test_headline_and_lists_of_the_report(world: Engine) -> None:
    with world.connect() as conn:
        report = build_report(conn, D4, stale_after_days=2)
    assert report.previous_date == D3
    # Gained since 5 January: A2 (back), A6, N1 (new to the registry); lost: A1, A7.
    assert report.gained == 3
    assert [s.school_code for s in report.lost] == [A1, A7]
    assert [s.school_code for s in report.lost_recently] == [A1, A2, A3, A7]
    assert [s.school_code for s in report.reconnected] == [A2]
    assert report.connected_change == 3 - 2 - 1  # A5, connected, left the registry

    email = render_report(report, list_limit=1)
    assert "เชื่อมต่อใหม่ · ขาดการเชื่อมต่อ" in email.html
    assert '<span id="gained">+3</span> · <span id="lost-count">-2</span> โรงเรียน' in email.html
    assert "<h2>โรงเรียนที่ขาดการเชื่อมต่อ (2)</h2>" in email.html
    assert NAMES[A1] in email.html and NAMES[A7] not in email.html  # top 1, by ESA and code
    assert "แสดง 1 จาก 2 โรงเรียน" in email.html
    assert "ทีโอที · ใยแก้วนำแสง/FTTx" in email.html and "สัญญาหมด" in email.html
    assert "ในรอบ 7 วัน ขาดการเชื่อมต่อ 4 โรงเรียน กลับมาเชื่อมต่อแล้ว 1 โรงเรียน" in email.html
    assert "เชื่อมต่อใหม่ +3 · ขาดการเชื่อมต่อ -2 โรงเรียน" in email.text
    assert f"- {NAMES[A1]} ({A1}), สพป.ลำปาง เขต 1: เดิมใช้ ทีโอที" in email.text

    everything = render_report(report, list_limit=20)
    assert NAMES[A7] in everything.html and "เปลี่ยนผู้ให้บริการ" in everything.html


def test_the_pdf_lists_both_in_full(world: Engine) -> None:
    with world.connect() as conn:
        report = build_report(conn, D4, stale_after_days=2)
    html = pdf_html(report, {})
    assert 'id="lost"' in html and 'id="lost-week"' in html
    assert "กลับมาเชื่อมต่อแล้ว" in html and NAMES[A3] in html and "จานเสีย" not in html


def test_the_first_report_has_no_gains_or_losses(world: Engine) -> None:
    with world.connect() as conn:
        report = build_report(conn, D0, stale_after_days=2)
    assert report.gained is None and report.lost == () and report.lost_recently == ()
    email = render_report(report)
    assert 'id="gained-lost"' not in email.html
    assert "ยังไม่มีรายงานก่อนหน้าให้เทียบ" in email.html


def test_the_workbook_lists_the_last_seven_days(world: Engine) -> None:
    with world.connect() as conn:
        data = build_report_workbook(conn, D4)
    sheet = openpyxl.load_workbook(io.BytesIO(data))[LOST_SHEET]
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0][:4] == (
        "วันที่พบว่าขาดการเชื่อมต่อ",
        "รายงานก่อนหน้า (ยังเชื่อมต่อ)",
        "รหัสโรงเรียน",
        "ชื่อโรงเรียน",
    )
    keys = [str(cell) for cell in rows[0]]
    picked = [{key: row[keys.index(header)] for key, header in COLUMNS.items()} for row in rows[1:]]
    assert [(p["code"], p["lost_on"].date(), p["isp"], p["status"], p["back"]) for p in picked] == [
        (A1, D4, "ทีโอที", "ยังไม่เชื่อมต่อ", None),
        (A2, D2, "กสท/แคท", "เชื่อมต่อแล้ว", "ใช่"),
        (A3, D2, "ทรู", "ยังไม่เชื่อมต่อ", None),
        (A7, D4, "เอไอเอส", "ยังไม่เชื่อมต่อ", None),
    ]
    assert [p["note"] for p in picked] == ["สัญญาหมด", "ซ่อมแล้ว", "ยังไม่มีงบ", "เปลี่ยนผู้ให้บริการ"]


COLUMNS = {
    "code": "รหัสโรงเรียน",
    "lost_on": "วันที่พบว่าขาดการเชื่อมต่อ",
    "isp": "ผู้ให้บริการเดิม",
    "status": "สถานะวันนี้",
    "back": "กลับมาเชื่อมต่อแล้ว",
    "note": "หมายเหตุ",
}


def test_an_esa_s_standing_names_its_lost_schools(world: Engine) -> None:
    with world.connect() as conn:
        standings = esa_standings(conn, D4, SpeedTarget())
    mine = standings["105201"]
    assert [s.school_code for s in mine.lost] == [A1, A7]
    assert standings["105202"].lost == () and standings["105203"].lost == ()

    esa = ESAS[0]
    result = SheetResult(
        esa_code=esa.esa_code,
        spreadsheet_id=esa.spreadsheet_id,
        report_date=D4,
        api_calls=1,
        outcome="accepted",
        rows_read=7,
        rows_rejected=0,
    )
    context = {
        "feedback": EsaFeedback.from_result(esa, result),
        "sheet_url": sheet_url(esa.spreadsheet_id),
        "standing": mine,
    }
    environment = template_environment()
    html = environment.get_template("esa_feedback.html.j2").render(context)
    text = environment.get_template("esa_feedback.txt.j2").render(context)
    assert "ขาดการเชื่อมต่อตั้งแต่รายงาน 5 ม.ค. 61 <b>2</b> โรงเรียน" in html
    assert f"<li>{NAMES[A1]} ({A1}) เดิมใช้ ทีโอที ใยแก้วนำแสง/FTTx · หมายเหตุ: สัญญาหมด</li>" in html
    assert f"  - {NAMES[A7]} ({A7}) เดิมใช้ เอไอเอส" in text
    other = dict(context, standing=standings["105202"])
    quiet = environment.get_template("esa_feedback.txt.j2").render(other)
    assert "ไม่มีโรงเรียนที่ขาดการเชื่อมต่อตั้งแต่รายงาน 5 ม.ค. 61" in quiet
