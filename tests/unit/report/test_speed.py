"""Fast enough to teach with: ``sql/speed_target.sql`` and ``sql/speed_shortfall.sql``, figures
worked out by hand, on SQLite and PostgreSQL, and the ``[speed_target]`` settings.

The world (one report date; Giga 2030 target: 20 Mbps, 50 kbps a student above 400 students):

| school | ESA | province | link | Mbps | students (sheet / registry) | target | meets |
|---|---|---|---|---|---|---|---|
| L1 | 105201 | ลำปาง | fiber | 20 | 100 | 20 | yes (exactly) |
| L2 | 105201 | ลำปาง | fiber | 19.9 | 100 | 20 | no (0.995) |
| L3 | 105201 | ลำปาง | mobile | 25 | 600 | 30 | no (0.833) |
| L4 | 105290 | ลำปาง | satellite | 50 | 1000 | 50 | yes (exactly) |
| L5 | 105290 | เชียงใหม่ | fiber | 40 | – / 1600 | 80 | no (0.5) |
| C1 | 105001 | เชียงใหม่ | no provider | | | | |
| C2 | 105001 | เชียงใหม่ | mobile | 4 | 130 | 20 | no (0.2) |
| C3 | 105001 | เชียงใหม่ | dsl | 19 | 400 (not above 400) | 20 | no (0.95) |
| C4 | 105034 | เชียงใหม่ | mobile | 100 | 2100 | 105 | no (0.952) |
| C5 | 105034 | เชียงใหม่ | fiber | – | 700 | 35 | not measured |
"""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine

from schoolnet.core.config import ConfigError, SpeedTarget, load_settings
from schoolnet.report.speed import SpeedReport, speed_report
from schoolnet.warehouse import merge_day
from tests.settings import write_test_settings
from tests.unit.warehouse.test_queries import (
    C1,
    C2,
    C3,
    C4,
    C5,
    CHIANG_MAI,
    ESAS,
    L1,
    L2,
    L3,
    L4,
    L5,
    LAMPANG,
    SCHOOLS,
    accepted,
    connected,
    other,
)

DAY = date(2018, 1, 8)
GIGA = SpeedTarget()


def school(link: str, mbps: float | None, students: int | None) -> dict[str, Any]:
    row = connected("TOT", link, 900, 1.0)
    row.update(download_mbps=mbps, upload_mbps=None, students=students)
    return row


@pytest.fixture
def speeds(warehouse_engine: Engine) -> Engine:
    merge_day(
        warehouse_engine,
        DAY,
        ESAS,
        SCHOOLS,
        [
            accepted(
                "105201",
                {
                    L1: school("fiber", 20, 100),
                    L2: school("fiber", 19.9, 100),
                    L3: school("mobile", 25, 600),
                },
            ),
            accepted("105290", {L4: school("satellite", 50, 1000), L5: school("fiber", 40, None)}),
            accepted(
                "105001",
                {
                    C1: other("no_provider"),
                    C2: school("mobile", 4, 130),
                    C3: school("dsl", 19, 400),
                },
            ),
            accepted("105034", {C4: school("mobile", 100, 2100), C5: school("fiber", None, 700)}),
        ],
    )
    return warehouse_engine


def report_of(engine: Engine, target: SpeedTarget = GIGA, rows: int = 100) -> SpeedReport:
    with engine.connect() as conn:
        return speed_report(conn, DAY, target, shortfall_rows=rows)


def figures(lines: Any) -> list[tuple[str | None, int, int, int]]:
    return [(line.name, line.connected, line.measured, line.meeting) for line in lines]


def test_national_counts_only_measured_connected_schools(speeds: Engine) -> None:
    national = report_of(speeds).national
    assert (national.connected, national.measured, national.meeting) == (9, 8, 2)  # L1 L4
    assert national.below == 6


def test_by_province_worst_share_first(speeds: Engine) -> None:
    assert figures(report_of(speeds).provinces) == [
        (CHIANG_MAI, 5, 4, 0),  # L5 C2 C3 C4 below, C5 without a speed
        (LAMPANG, 4, 4, 2),  # L1 L4 meet, L2 L3 do not
    ]


def test_by_link_type_most_schools_first(speeds: Engine) -> None:
    assert figures(report_of(speeds).link_types) == [
        ("fiber", 4, 3, 1),  # L1; L2 L5 below; C5 not measured
        ("mobile", 3, 3, 0),
        ("dsl", 1, 1, 0),
        ("satellite", 1, 1, 1),
    ]


def test_by_esa(speeds: Engine) -> None:
    esas = report_of(speeds).esas
    assert {code: (s.connected, s.measured, s.meeting) for code, s in esas.items()} == {
        "105201": (3, 3, 1),
        "105290": (2, 2, 1),
        "105001": (2, 2, 0),
        "105034": (2, 1, 0),
    }


def test_farthest_below_by_share_of_their_own_target(speeds: Engine) -> None:
    below = report_of(speeds).farthest_below
    assert [(s.school_code, s.download_mbps, s.required_mbps) for s in below] == [
        (C2, 4.0, 20.0),
        (L5, 40.0, 80.0),  # no students in the sheet: the registry's 1,600
        (L3, 25.0, 30.0),
        (C3, 19.0, 20.0),  # 400 students is not above 400
        (C4, 100.0, 105.0),
        (L2, 19.9, 20.0),
    ]
    assert below[0].school_name == "บ้านสันทราย" and below[0].esa_name == "สพป.เชียงใหม่ เขต 1"
    assert len(report_of(speeds, rows=2).farthest_below) == 2


def test_the_sql_target_is_the_settings_target(speeds: Engine) -> None:
    for shortfall in report_of(speeds).farthest_below:
        students = shortfall.students if shortfall.school_code != L5 else 1600
        assert shortfall.required_mbps == pytest.approx(GIGA.required_mbps(students))


def test_another_target_from_the_settings(speeds: Engine) -> None:
    flat_ten = SpeedTarget(min_mbps=10, kbps_per_student=0, per_student_over=0)
    assert report_of(speeds, flat_ten).national.meeting == 7  # all measured but C2 (4 Mbps)
    per_student = SpeedTarget(min_mbps=1, kbps_per_student=100, per_student_over=0)
    # 100 kbps a student: L1 and L2 need 10 Mbps; every other school needs more than it has.
    assert report_of(speeds, per_student).national.meeting == 2  # L1 L2


def test_a_day_without_connected_schools(warehouse_engine: Engine) -> None:
    merge_day(warehouse_engine, DAY, ESAS, SCHOOLS, [])
    report = report_of(warehouse_engine)
    assert (report.national.connected, report.national.measured, report.national.share) == (
        0,
        0,
        None,
    )
    assert report.provinces == () and report.farthest_below == ()


def settings_with(tmp_path: Path, section: str) -> Path:
    path = write_test_settings(
        tmp_path / "settings.toml",
        esas=tmp_path / "esas.csv",
        schools=tmp_path / "schools.csv",
        root=tmp_path,
    )
    path.write_text(path.read_text(encoding="utf-8") + section, encoding="utf-8")
    return path


def test_settings_default_to_giga_2030(tmp_path: Path) -> None:
    target = load_settings(settings_with(tmp_path, "")).report.speed_target
    assert target == SpeedTarget(min_mbps=20.0, kbps_per_student=50.0, per_student_over=400)
    assert target.required_mbps(1000) == 50.0 and target.required_mbps(400) == 20.0


def test_settings_read_the_speed_target(tmp_path: Path) -> None:
    section = "[speed_target]\nmin_mbps = 10\nkbps_per_student = 100\nper_student_over = 200\n"
    target = load_settings(settings_with(tmp_path, section)).report.speed_target
    assert target == SpeedTarget(min_mbps=10.0, kbps_per_student=100.0, per_student_over=200)


@pytest.mark.parametrize(
    ("section", "message"),
    [
        ('min_mbps = "20 Mbps"', "min_mbps must be a float"),
        ("min_mbps = 0", "min_mbps must be above 0"),
        ("per_student_over = 400.5", "per_student_over must be a int"),
    ],
)
def test_a_bad_speed_target_names_the_setting(tmp_path: Path, section: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        load_settings(settings_with(tmp_path, f"[speed_target]\n{section}\n"))
