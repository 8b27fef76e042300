"""Each ESA's standing (``schoolnet.report.standing``) on the world of ``test_queries``, on SQLite
and
PostgreSQL, and how it opens the ESA's feedback email.

On 4 January: 105201 has L1 of 3 connected, 105001 C2 and C3 of 3; among the secondary ESAs
105290 (L4, carried) and 105034 (C4) each have 1 of 2. On 8 January 105201 adds L3 (2 of 3).
Every school has 100 students, so the target is 20 Mbps: L1 (30), L3 (50), C3 (30), L4 (60)
meet it, C2 (5) and C4 (10) do not.
"""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import Engine

from schoolnet.core.config import SpeedTarget
from schoolnet.report.daily import template_environment
from schoolnet.report.standing import EsaStanding, esa_standings
from schoolnet.validation.feedback import EsaFeedback, sheet_url
from schoolnet.validation.result import ResultFinding, SheetResult
from tests.unit.warehouse.test_queries import D1, D2, D3, ESAS, build_world

GIGA = SpeedTarget()


@pytest.fixture
def world(warehouse_engine: Engine) -> Engine:
    build_world(warehouse_engine)
    return warehouse_engine


def standings(engine: Engine, day: date) -> dict[str, EsaStanding]:
    with engine.connect() as conn:
        return esa_standings(conn, day, GIGA)


def test_rank_within_the_level_by_share_connected(world: Engine) -> None:
    day = standings(world, D2)
    assert {code: (s.level, s.rank, s.ranked) for code, s in day.items()} == {
        "105001": ("primary", 1, 2),  # 2 of 3
        "105201": ("primary", 2, 2),  # 1 of 3
        "105034": ("secondary", 1, 2),  # 1 of 2: a tie shares the rank
        "105290": ("secondary", 1, 2),
    }


def test_connected_and_change_since_the_last_report(world: Engine) -> None:
    day = standings(world, D3)  # the last report before 8 January is 4 January
    lampang = day["105201"]
    assert (lampang.schools, lampang.connected, lampang.change) == (3, 2, 1)
    assert lampang.previous_date == D2
    assert day["105001"].change == 0  # rejected today: its accepted values of 4 January stand
    assert (day["105001"].no_provider, day["105201"].no_provider) == (1, 0)
    assert {s.rank for s in day.values()} == {1}  # 2 of 3 each, and 1 of 2 each


def test_the_first_report_has_no_change(world: Engine) -> None:
    first = standings(world, D1)["105201"]
    assert first.previous_date is None and first.change is None


def test_share_meeting_the_speed_target(world: Engine) -> None:
    day = standings(world, D3)
    speeds = {code: (s.speed.measured, s.speed.meeting) for code, s in day.items() if s.speed}
    assert speeds == {"105201": (2, 2), "105001": (2, 1), "105290": (1, 1), "105034": (1, 0)}


def render(standing: EsaStanding | None) -> tuple[str, str]:
    esa = ESAS[2]
    feedback = EsaFeedback.from_result(
        esa,
        SheetResult(
            esa_code=esa.esa_code,
            spreadsheet_id=esa.spreadsheet_id,
            report_date=D3,
            api_calls=1,
            outcome="accepted",
            rows_read=2,
            rows_rejected=1,
            accepted={"1050010001": {}},
            findings=(
                ResultFinding(
                    esa=esa.esa_code,
                    row=4,
                    column="students",
                    header="จำนวนนักเรียน",
                    cell="C4",
                    severity="error",
                    code="negative_value",
                    message="จำนวนนักเรียนติดลบไม่ได้",
                    value="-3",
                ),
            ),
        ),
    )
    context = {"feedback": feedback, "sheet_url": sheet_url("sheet-3"), "standing": standing}
    environment = template_environment()
    return (
        environment.get_template("esa_feedback.html.j2").render(context),
        environment.get_template("esa_feedback.txt.j2").render(context),
    )


def test_the_feedback_email_opens_with_the_standing(world: Engine) -> None:
    html, text = render(standings(world, D2)["105001"])
    standing_lines = [
        "เชื่อมต่อแล้ว 2 จาก 3 โรงเรียน (66.7%), +2 จากรายงาน 3 ม.ค. 61",
        "อันดับที่ 1 จาก 2 เขต สพป. (ตามสัดส่วนโรงเรียนที่เชื่อมต่อแล้ว)",
        "ไม่มีผู้ให้บริการในพื้นที่ 1 โรงเรียน",
        "ความเร็วพอสำหรับการเรียนการสอน 1 จาก 2 โรงเรียนที่กรอกความเร็ว "
        "(50.0%; เกณฑ์ 20 Mbps หรือ 50 kbps ต่อนักเรียนเมื่อเกิน 400 คน)",
    ]
    for line in standing_lines:
        assert f"- {line}\n" in text
    # Before the cells to fix, and short enough for a phone: a heading and four lines.
    assert text.index("สถานะของเขตวันนี้") < text.index("แถว 4 ช่อง C4")
    block = text[text.index("สถานะของเขตวันนี้") : text.index(standing_lines[-1])]
    assert block.count("\n") == 4
    assert html.index('id="standing"') < html.index('id="summary"') < html.index('id="findings"')
    assert 'id="standing-change">+2 จาก</span>รายงาน 3 ม.ค. 61' in html
    unchanged, _ = render(standings(world, D3)["105001"])
    assert 'id="standing-change">เท่ากับ</span>รายงาน 4 ม.ค. 61' in unchanged


@pytest.mark.usefixtures("world")
def test_the_feedback_email_without_a_standing() -> None:
    html, text = render(None)
    assert "สถานะของเขตวันนี้" not in text and 'id="standing"' not in html
