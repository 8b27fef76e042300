"""The report's questions (``sql/*.sql``), figures worked out by hand, on SQLite and PostgreSQL.

The world: two provinces, four ESAs (a primary and a secondary in each), ten schools, three
report dates with a missed weekend (Friday 5 to Sunday 7 January) before the third.

| school | ESA (level) | province | 3 Jan | 4 Jan | 8 Jan |
|---|---|---|---|---|---|
| L1 | 105201 (p) | ลำปาง | connected fiber TOT 1200/30 | same | same |
| L2 | 105201 (p) | ลำปาง | procuring | same | same |
| L3 | 105201 (p) | ลำปาง | – | – | connected fiber TOT 1500/50, asks 500 |
| L4 | 105290 (s) | ลำปาง | connected satellite True 1800/60 | ESA failed | ESA failed |
| L5 | 105290 (s) | เชียงใหม่ | – | ESA failed | ESA failed |
| C1 | 105001 (p) | เชียงใหม่ | no_provider | same | sheet rejected |
| C2 | 105001 (p) | เชียงใหม่ | not_connected | connected mobile AIS 400/5 | sheet rejected |
| C3 | 105001 (p) | เชียงใหม่ | – | connected fiber AIS 990/30 | sheet rejected |
| C4 | 105034 (s) | เชียงใหม่ | connected mobile AIS 600/10 | same | same |
| C5 | 105034 (s) | เชียงใหม่ | – | procuring | not_connected |

("–": never reported; L5 is a school of a Lampang secondary ESA sited in Chiang Mai.)
"""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from sqlalchemy import Engine

from schoolnet.core.registry import Esa, School
from schoolnet.warehouse import EsaDay, merge_day
from schoolnet.warehouse.analysis import (
    OBEC_SIZE_THRESHOLDS,
    connection_pace,
    full_coverage_date,
)
from schoolnet.warehouse.queries import fetch_all

D1, D2, D3 = date(2018, 1, 3), date(2018, 1, 4), date(2018, 1, 8)
LAMPANG, CHIANG_MAI = "ลำปาง", "เชียงใหม่"

ESAS = [
    Esa("105201", "สพป.ลำปาง เขต 1", "primary", LAMPANG, "sheet-1", "a@example.org"),
    Esa("105290", "สพม.ลำปาง ลำพูน", "secondary", LAMPANG, "sheet-2", "b@example.org"),
    Esa("105001", "สพป.เชียงใหม่ เขต 1", "primary", CHIANG_MAI, "sheet-3", "c@example.org"),
    Esa("105034", "สพม.เชียงใหม่", "secondary", CHIANG_MAI, "sheet-4", "d@example.org"),
]
L1, L2, L3 = "1052010001", "1052010002", "1052010003"
L4, L5 = "1052900001", "1052900002"
C1, C2, C3 = "1050010001", "1050010002", "1050010003"
C4, C5 = "1050340001", "1050340002"
SCHOOLS = [
    School(L1, "บ้านแม่ทะ", "105201", LAMPANG, 80),
    School(L2, "วัดป่าตาล", "105201", LAMPANG, 240),
    School(L3, "บ้านหัวเสือ", "105201", LAMPANG, 45),
    School(L4, "ลำปางพิทยาคม", "105290", LAMPANG, 900),
    School(L5, "ดอยสะเก็ดวิทยา", "105290", CHIANG_MAI, 1600),
    School(C1, "บ้านห้วยน้ำริน", "105001", CHIANG_MAI, 30),
    School(C2, "บ้านสันทราย", "105001", CHIANG_MAI, 130),
    School(C3, "วัดเจดีย์หลวง", "105001", CHIANG_MAI, 60),
    School(C4, "ยุพราชวิทยาลัย", "105034", CHIANG_MAI, 2100),
    School(C5, "สันป่าตองวิทยาคม", "105034", CHIANG_MAI, 700),
]


def connected(
    isp: str, link: str, fee: float, mbps: float, support: float | None = None
) -> dict[str, Any]:
    return {
        "students": 100,
        "status": "connected",
        "isp": isp,
        "link_type": link,
        "download_mbps": mbps,
        "upload_mbps": mbps / 2,
        "monthly_fee_thb": fee,
        "funding_source": "per_student_subsidy",
        "support_requested_thb": support,
        "support_reason": "เงินรายหัวไม่พอ" if support else None,
    }


def other(status: str, isp: str | None = None) -> dict[str, Any]:
    return {"students": 100, "status": status, "isp": isp}


def accepted(esa: str, rows: dict[str, dict[str, Any]], modified: str | None = None) -> EsaDay:
    return EsaDay(esa, "accepted", rows_read=len(rows), accepted=rows, sheet_modified_time=modified)


def build_world(engine: Engine) -> None:
    merge_day(
        engine,
        D1,
        ESAS,
        SCHOOLS,
        [
            accepted(
                "105201",
                {L1: connected("TOT", "fiber", 1200, 30), L2: other("procuring", "3BB")},
            ),
            accepted("105290", {L4: connected("True", "satellite", 1800, 60)}),
            accepted("105001", {C1: other("no_provider"), C2: other("not_connected")}),
            accepted("105034", {C4: connected("AIS", "mobile", 600, 10)}),
        ],
    )
    merge_day(
        engine,
        D2,
        ESAS,
        SCHOOLS,
        [
            accepted(
                "105201",
                {L1: connected("TOT", "fiber", 1200, 30), L2: other("procuring", "3BB")},
            ),
            EsaDay("105290", "failed", error_code="not_shared", reason="ยังไม่ได้แชร์ชีต"),
            accepted(
                "105001",
                {
                    C1: other("no_provider"),
                    C2: connected("AIS", "mobile", 400, 5),
                    C3: connected("AIS", "fiber", 990, 30),
                },
            ),
            accepted(
                "105034",
                {C4: connected("AIS", "mobile", 600, 10), C5: other("procuring", "CAT")},
            ),
        ],
    )
    merge_day(
        engine,
        D3,
        ESAS,
        SCHOOLS,
        [
            # 18:30 UTC on the 7th is 01:30 on the 8th in Bangkok: updated today.
            accepted(
                "105201",
                {
                    L1: connected("TOT", "fiber", 1200, 30),
                    L2: other("procuring", "3BB"),
                    L3: connected("TOT", "fiber", 1500, 50, support=500),
                },
                modified="2018-01-07T18:30:00.000Z",
            ),
            # No Drive time: its last good date (3 January) stands in.
            EsaDay("105290", "failed", error_code="not_shared", reason="ยังไม่ได้แชร์ชีต"),
            # 16:59 UTC on the 7th is 23:59 on the 7th in Bangkok: one day.
            EsaDay(
                "105001",
                "rejected",
                error_code="header_not_found",
                reason="หาหัวตารางไม่พบ",
                sheet_modified_time="2018-01-07T16:59:00.000Z",
            ),
            # Unchanged since 03:00 on 1 January in Bangkok (31 December in UTC): seven days.
            accepted(
                "105034",
                {C4: connected("AIS", "mobile", 600, 10), C5: other("not_connected")},
                modified="2017-12-31T20:00:00.000Z",
            ),
        ],
    )


@pytest.fixture
def world(warehouse_engine: Engine) -> Engine:
    build_world(warehouse_engine)
    return warehouse_engine


def run(engine: Engine, name: str, **params: Any) -> list[dict[str, Any]]:
    with engine.connect() as conn:
        return fetch_all(conn, name, **params)


STATUS_COLUMNS = ("connected", "procuring", "not_connected", "no_provider", "never_reported")


def counts(row: dict[str, Any]) -> tuple[int, ...]:
    return tuple(int(row[key]) for key in ("schools", *STATUS_COLUMNS))


def test_province_summary_groups_by_the_schools_own_province(world: Engine) -> None:
    rows = run(world, "province_summary", report_date=D3)
    by_province = {row["province"]: counts(row) for row in rows}
    #                          schools conn proc notc nopr never
    assert by_province == {
        LAMPANG: (4, 3, 1, 0, 0, 0),  # L1 L3 L4 connected, L2 procuring
        CHIANG_MAI: (6, 3, 0, 1, 1, 1),  # C2 C3 C4; C5; C1; L5 never reported
    }


def test_province_summary_keeps_schools_that_left_the_registry(world: Engine) -> None:
    # A later run without C5 in the registry: the 8 January figures still add up, under NULL.
    merge_day(world, date(2018, 1, 9), ESAS, [s for s in SCHOOLS if s.school_code != C5], [])
    rows = run(world, "province_summary", report_date=D3)
    assert [(row["province"], counts(row)) for row in rows][-1] == (None, (1, 0, 0, 1, 0, 0))
    assert sum(row["schools"] for row in rows) == 10


def test_level_summary(world: Engine) -> None:
    rows = run(world, "level_summary", report_date=D3)
    assert [(row["level"], counts(row)) for row in rows] == [
        ("primary", (6, 4, 1, 0, 1, 0)),  # L1 L3 C2 C3; L2; C1
        ("secondary", (4, 2, 0, 1, 0, 1)),  # L4 C4; C5; L5 never reported
    ]


def test_level_summary_of_the_first_day(world: Engine) -> None:
    rows = run(world, "level_summary", report_date=D1)
    assert [(row["level"], counts(row)) for row in rows] == [
        ("primary", (6, 1, 1, 1, 1, 2)),  # L1; L2; C2; C1; L3 C3
        ("secondary", (4, 2, 0, 0, 0, 2)),  # L4 C4; L5 C5
    ]


def changes(rows: list[dict[str, Any]]) -> list[tuple[str, int, int, int]]:
    return [
        (row["status"], int(row["schools"]), int(row["schools_since"]), int(row["change"]))
        for row in rows
    ]


def test_change_since_yesterday(world: Engine) -> None:
    rows = run(world, "change_since", report_date=D2, since_date=D1)
    assert {row["since_snapshot_date"] for row in rows} == {D1}
    assert changes(rows) == [
        ("connected", 5, 3, 2),
        ("procuring", 2, 1, 1),
        ("not_connected", 0, 1, -1),
        ("no_provider", 1, 1, 0),
        ("never_reported", 2, 4, -2),
    ]


def test_change_since_yesterday_after_a_missed_weekend_uses_the_last_run(world: Engine) -> None:
    rows = run(world, "change_since", report_date=D3, since_date=date(2018, 1, 7))
    assert {row["since_snapshot_date"] for row in rows} == {D2}
    assert changes(rows) == [
        ("connected", 6, 5, 1),
        ("procuring", 1, 2, -1),
        ("not_connected", 1, 0, 1),
        ("no_provider", 1, 1, 0),
        ("never_reported", 1, 2, -1),
    ]


def test_change_since_moenet_closed_uses_the_first_snapshot(world: Engine) -> None:
    rows = run(world, "change_since", report_date=D3, since_date=date(2018, 1, 1))
    assert {row["since_snapshot_date"] for row in rows} == {D1}
    assert changes(rows) == [
        ("connected", 6, 3, 3),
        ("procuring", 1, 1, 0),
        ("not_connected", 1, 1, 0),
        ("no_provider", 1, 1, 0),
        ("never_reported", 1, 4, -3),
    ]


def test_change_since_ignores_snapshots_after_the_report_date(world: Engine) -> None:
    # Reporting 3 January again, once later days exist: nothing after it is a baseline.
    rows = run(world, "change_since", report_date=D1, since_date=date(2018, 1, 1))
    assert {row["since_snapshot_date"] for row in rows} == {D1}
    assert all(row["change"] == 0 for row in rows)


def test_change_since_with_no_snapshot_at_all(warehouse_engine: Engine) -> None:
    rows = run(warehouse_engine, "change_since", report_date=D1, since_date=date(2018, 1, 1))
    assert [row["status"] for row in rows] == [
        "connected",
        "procuring",
        "not_connected",
        "no_provider",
        "never_reported",
    ]
    assert {row["since_snapshot_date"] for row in rows} == {None}
    assert sum(row["schools"] + row["schools_since"] for row in rows) == 0


def stale(engine: Engine, days: int) -> list[tuple[str, str | None, int | None, date | None]]:
    rows = run(engine, "stale_esas", report_date=D3, days=days)
    return [
        (row["esa_code"], row["outcome"], row["days_since_update"], row["last_good_date"])
        for row in rows
    ]


def test_stale_esas_lists_unreadable_sheets_and_old_ones_longest_first(world: Engine) -> None:
    assert stale(world, 7) == [
        ("105034", "accepted", 7, D3),  # Bangkok 1 Jan -> 8 Jan, across the new year
        ("105290", "failed", 5, D1),  # no Drive time: last good 3 Jan
        ("105001", "rejected", 1, D2),  # rejected: listed however fresh
    ]
    assert stale(world, 8) == [("105290", "failed", 5, D1), ("105001", "rejected", 1, D2)]


def test_stale_esas_counts_days_in_bangkok_time(world: Engine) -> None:
    # 105201's sheet changed at 01:30 on the 8th in Bangkok (the 7th in UTC): 0 days, not 1.
    assert [code for code, *_ in stale(world, 1)] == ["105034", "105290", "105001"]
    assert [code for code, *_ in stale(world, 0)][-1] == "105201"
    row = next(
        r for r in run(world, "stale_esas", report_date=D3, days=7) if r["esa_code"] == "105290"
    )
    assert row["reason"] == "ยังไม่ได้แชร์ชีต"
    assert row["esa_name"] == "สพม.ลำปาง ลำพูน"


def test_stale_esas_puts_a_never_read_sheet_first(warehouse_engine: Engine) -> None:
    merge_day(warehouse_engine, D1, ESAS[:2], SCHOOLS[:5], [accepted("105201", {})])
    rows = run(warehouse_engine, "stale_esas", report_date=D1, days=30)
    # 105290 was not pulled at all: no Drive time, no good day ever.
    assert [(r["esa_code"], r["outcome"], r["days_since_update"]) for r in rows] == [
        ("105290", "failed", None)
    ]
    assert rows[0]["last_good_date"] is None


def costs(rows: list[dict[str, Any]], key: str) -> list[tuple[str, int, float, float, float]]:
    return [
        (
            row[key],
            int(row["connected"]),
            float(row["monthly_fee_total_thb"]),
            float(row["median_monthly_fee_thb"]),
            float(row["median_fee_per_mbps_thb"]),
        )
        for row in rows
    ]


def test_cost_by_link_type_with_odd_and_even_medians(world: Engine) -> None:
    rows = run(world, "cost_by_link_type", report_date=D3)
    assert costs(rows, "link_type") == [
        # fees 990 1200 1500 -> 1200; per Mbps 990/30=33 1200/30=40 1500/50=30 -> 33
        ("fiber", 3, 3690.0, 1200.0, 33.0),
        # fees 400 600 -> 500; per Mbps 400/5=80 600/10=60 -> 70
        ("mobile", 2, 1000.0, 500.0, 70.0),
        ("satellite", 1, 1800.0, 1800.0, 30.0),
    ]


def test_cost_by_provider_leaves_out_schools_not_connected(world: Engine) -> None:
    rows = run(world, "cost_by_provider", report_date=D3)
    # L2 (3BB) is still procuring: no 3BB line.
    assert costs(rows, "isp") == [
        # fees 400 600 990 -> 600; per Mbps 80 60 33 -> 60
        ("AIS", 3, 1990.0, 600.0, 60.0),
        # fees 1200 1500 -> 1350; per Mbps 40 30 -> 35
        ("TOT", 2, 2700.0, 1350.0, 35.0),
        ("True", 1, 1800.0, 1800.0, 30.0),
    ]


def test_cost_median_of_four_and_a_blank_fee(warehouse_engine: Engine) -> None:
    schools = [School(f"10520100{n:02d}", f"โรงเรียน {n}", "105201", LAMPANG, 50) for n in range(5)]
    fees = [(100.0, 10.0), (400.0, 10.0), (200.0, 40.0), (900.0, 30.0)]
    rows_today = {
        s.school_code: connected("TOT", "fiber", fee, mbps)
        for s, (fee, mbps) in zip(schools, fees, strict=False)
    }
    rows_today[schools[4].school_code] = {
        **connected("TOT", "fiber", 0, 10),
        "monthly_fee_thb": None,
    }
    merge_day(warehouse_engine, D1, ESAS[:1], schools, [accepted("105201", rows_today)])
    rows = run(warehouse_engine, "cost_by_provider", report_date=D1)
    # fees 100 200 400 900 -> (200+400)/2; per Mbps 10 40 5 30 -> 5 10 30 40 -> (10+30)/2
    assert costs(rows, "isp") == [("TOT", 5, 1600.0, 300.0, 20.0)]


def test_trend_and_the_date_every_school_is_connected(world: Engine) -> None:
    rows = run(world, "trend", from_date=D1, report_date=D3)
    points = [(row["report_date"], int(row["schools"]), int(row["connected"])) for row in rows]
    assert points == [(D1, 10, 3), (D2, 10, 5), (D3, 10, 6)]
    later = run(world, "trend", from_date=D2, report_date=D2)
    assert [row["report_date"] for row in later] == [D2]
    # Least squares over days 0, 1, 5 and connected 3, 5, 6: 0.5 a day; 4 left -> 8 days.
    assert connection_pace(rows) == 0.5
    assert full_coverage_date(rows) == date(2018, 1, 16)


SIZE_ESAS = ESAS[:2]  # 105201 primary, 105290 secondary
SIZES: list[tuple[str, str, int, float | None]] = [
    # school, ESA, students, support requested (baht a month)
    ("1052010001", "105201", 1, 100),
    ("1052010002", "105201", 120, 200),
    ("1052010003", "105201", 121, 400),
    ("1052010004", "105201", 600, 800),
    ("1052010005", "105201", 601, 1600),
    ("1052010006", "105201", 1500, 0),
    ("1052010007", "105201", 1501, 3200),
    ("1052900001", "105290", 499, 10),
    ("1052900002", "105290", 500, 20),
    ("1052900003", "105290", 1499, 40),
    ("1052900004", "105290", 1500, 80),
    ("1052900005", "105290", 2499, None),
    ("1052900006", "105290", 2500, 160),
]


def build_sizes(engine: Engine) -> None:
    schools = [School(code, "โรงเรียน", esa, LAMPANG, 1) for code, esa, _, _ in SIZES]
    # Never reported: classed by the registry's 90 students.
    schools.append(School("1052010008", "บ้านนา", "105201", LAMPANG, 90))
    rows = {
        code: {**other("not_connected"), "students": students, "support_requested_thb": support}
        for code, _, students, support in SIZES
    }
    merge_day(
        engine,
        D1,
        SIZE_ESAS,
        schools,
        [
            accepted("105201", {k: v for k, v in rows.items() if k.startswith("105201")}),
            accepted("105290", {k: v for k, v in rows.items() if k.startswith("105290")}),
        ],
    )


def size_classes(engine: Engine, **thresholds: int) -> list[tuple[Any, ...]]:
    rows = run(engine, "support_by_size_class", report_date=D1, **thresholds)
    return [
        (
            row["level"],
            row["size_class"],
            row["students_from"],
            row["students_to"],
            int(row["schools"]),
            int(row["requesting"]),
            float(row["support_requested_thb"]),
        )
        for row in rows
    ]


def test_support_by_size_class_at_every_boundary(warehouse_engine: Engine) -> None:
    build_sizes(warehouse_engine)
    assert size_classes(warehouse_engine, **OBEC_SIZE_THRESHOLDS) == [
        ("primary", "small", 1, 120, 3, 2, 300.0),  # 1, 120, never reported (90)
        ("primary", "medium", 121, 600, 2, 2, 1200.0),  # 121, 600
        ("primary", "large", 601, 1500, 2, 1, 1600.0),  # 601, 1500 (asks 0)
        ("primary", "extra_large", 1501, None, 1, 1, 3200.0),
        ("secondary", "small", 1, 499, 1, 1, 10.0),
        ("secondary", "medium", 500, 1499, 2, 2, 60.0),  # 500, 1499
        ("secondary", "large", 1500, 2499, 2, 1, 80.0),  # 1500, 2499 (blank)
        ("secondary", "extra_large", 2500, None, 1, 1, 160.0),
    ]


def test_support_by_size_class_takes_other_thresholds(warehouse_engine: Engine) -> None:
    build_sizes(warehouse_engine)
    thresholds = {**OBEC_SIZE_THRESHOLDS, "primary_extra_min": 1500}
    primary = size_classes(warehouse_engine, **thresholds)[:4]
    assert [(name, to, schools, asked) for _, name, _, to, schools, _, asked in primary] == [
        ("small", 120, 3, 300.0),
        ("medium", 600, 2, 1200.0),
        ("large", 1499, 1, 1600.0),
        ("extra_large", None, 2, 3200.0),
    ]


def test_size_class_of_a_day_without_schools_is_all_zero(warehouse_engine: Engine) -> None:
    rows = size_classes(warehouse_engine, **OBEC_SIZE_THRESHOLDS)
    assert len(rows) == 8
    assert {(schools, requesting, asked) for *_, schools, requesting, asked in rows} == {
        (0, 0, 0.0)
    }


def trend_rows(*points: tuple[date, int]) -> list[dict[str, Any]]:
    return [{"report_date": day, "schools": 100, "connected": n} for day, n in points]


def test_full_coverage_date_uses_only_the_window() -> None:
    rows = trend_rows(
        (date(2018, 1, 1), 0),  # before the window: a slow start that no longer counts
        (date(2018, 2, 1), 40),
        (date(2018, 2, 6), 50),
        (date(2018, 2, 11), 60),
    )
    # 10 schools every 5 days: 2 a day; 40 left -> 20 days after 11 February.
    assert connection_pace(rows, window_days=10) == 2
    assert full_coverage_date(rows, window_days=10) == date(2018, 3, 3)


def test_full_coverage_date_rounds_a_part_day_up() -> None:
    rows = trend_rows((date(2018, 2, 1), 40), (date(2018, 2, 4), 47))  # 7 in 3 days
    # 53 left at 7/3 a day: 22.7 days, so 23 days after 4 February.
    assert full_coverage_date(rows) == date(2018, 2, 27)


def test_full_coverage_date_without_progress() -> None:
    flat = trend_rows((date(2018, 2, 1), 40), (date(2018, 2, 2), 40))
    falling = trend_rows((date(2018, 2, 1), 40), (date(2018, 2, 2), 39))
    assert full_coverage_date(flat) is None
    assert full_coverage_date(falling) is None
    assert full_coverage_date(trend_rows((date(2018, 2, 1), 40))) is None  # one day: no pace
    assert full_coverage_date([]) is None


def test_full_coverage_date_when_every_school_is_connected() -> None:
    rows = trend_rows((date(2018, 2, 1), 99), (date(2018, 2, 2), 100))
    assert full_coverage_date(rows) == date(2018, 2, 2)
