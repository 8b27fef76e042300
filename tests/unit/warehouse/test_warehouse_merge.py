"""Merging days into the warehouse, on SQLite and on PostgreSQL."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, select, text

from schoolnet.core.registry import Esa, School
from schoolnet.warehouse import EsaDay, merge_day
from schoolnet.warehouse.merge import MERGED_MODELS
from schoolnet.warehouse.models import PullRow, SnapshotRow
from schoolnet.warehouse.queries import fetch_all, fetch_one
from tests.checksum import warehouse_checksum

D1, D2, D3 = date(2018, 1, 3), date(2018, 1, 4), date(2018, 1, 5)

ESAS = [
    Esa("105201", "สพป.ลำปาง เขต 1", "primary", "ลำปาง", "sheet-a", "a@example.org"),
    Esa("105290", "สพม.ลำปาง ลำพูน", "secondary", "ลำปาง", "sheet-b", "b@example.org"),
]
SCHOOLS = [
    School("1052010001", "บ้านแม่ทะ", "105201", "ลำปาง", 80),
    School("1052010002", "วัดป่าตาล", "105201", "ลำปาง", 240),
    School("1052900001", "ลำปางพิทยาคม", "105290", "ลำปาง", 900),
]


def connected(fee: float = 1290.0) -> dict[str, Any]:
    return {
        "students": 80,
        "status": "connected",
        "isp": "TOT",
        "link_type": "fiber",
        "download_mbps": 30.0,
        "upload_mbps": 10.0,
        "monthly_fee_thb": fee,
        "funding_source": "per_student_subsidy",
        "service_start": date(2018, 1, 2),
    }


def no_provider() -> dict[str, Any]:
    return {"students": 900, "status": "no_provider", "providers_contacted": ["TOT", "AIS"]}


def snapshot(engine: Engine, day: date) -> dict[str, dict[str, Any]]:
    with engine.connect() as conn:
        rows = conn.execute(select(SnapshotRow.__table__).where(SnapshotRow.report_date == day))
        return {row.school_code: dict(row._mapping) for row in rows}


def first_day(engine: Engine) -> None:
    merge_day(
        engine,
        D1,
        ESAS,
        SCHOOLS,
        [
            EsaDay(
                "105201", "accepted", api_calls=1, rows_read=1, accepted={"1052010001": connected()}
            ),
            EsaDay(
                "105290",
                "accepted",
                api_calls=1,
                rows_read=1,
                accepted={"1052900001": no_provider()},
            ),
        ],
    )


def test_first_day_snapshot_holds_every_registry_school(warehouse_engine: Engine) -> None:
    first_day(warehouse_engine)
    rows = snapshot(warehouse_engine, D1)
    assert set(rows) == {s.school_code for s in SCHOOLS}
    assert rows["1052010001"]["status"] == "connected"
    assert rows["1052010001"]["accepted_on"] == D1
    assert rows["1052010001"]["service_start"] == date(2018, 1, 2)
    assert rows["1052900001"]["providers_contacted"] == ["TOT", "AIS"]
    assert rows["1052010002"]["accepted_on"] is None  # never reported
    with warehouse_engine.connect() as conn:
        national = fetch_one(conn, "national_summary", report_date=D1)
    assert national == {
        "schools": 3,
        "connected": 1,
        "procuring": 0,
        "not_connected": 0,
        "no_provider": 1,
        "never_reported": 1,
        "carried_forward": 0,
    }


def test_failed_esa_keeps_last_accepted_values_with_their_date(warehouse_engine: Engine) -> None:
    first_day(warehouse_engine)
    summary = merge_day(
        warehouse_engine,
        D2,
        ESAS,
        SCHOOLS,
        [
            EsaDay("105201", "failed", api_calls=1, error_code="not_shared", reason="แชร์ชีต"),
            EsaDay(
                "105290",
                "accepted",
                api_calls=1,
                accepted={
                    "1052900001": {
                        **no_provider(),
                        "status": "procuring",
                        "isp": "AIS",
                        "providers_contacted": None,
                    }
                },
            ),
        ],
    )
    rows = snapshot(warehouse_engine, D2)
    assert rows["1052010001"]["status"] == "connected"
    assert rows["1052010001"]["accepted_on"] == D1
    assert rows["1052900001"]["status"] == "procuring"
    assert rows["1052900001"]["accepted_on"] == D2
    assert summary.failed_esas == ("105201",)
    assert summary.carried_forward == 1
    with warehouse_engine.connect() as conn:
        pulls = {
            p.esa_code: p
            for p in conn.execute(select(PullRow.__table__).where(PullRow.report_date == D2))
        }
        esa_lines = {r["esa_code"]: r for r in fetch_all(conn, "esa_summary", report_date=D2)}
    assert pulls["105201"].outcome == "failed"
    assert pulls["105201"].last_good_date == D1
    assert pulls["105290"].last_good_date == D2
    assert esa_lines["105201"]["last_good_date"] == D1
    assert esa_lines["105201"]["reason"] == "แชร์ชีต"


def test_rejected_row_keeps_previous_values(warehouse_engine: Engine) -> None:
    first_day(warehouse_engine)
    merge_day(
        warehouse_engine,
        D2,
        ESAS,
        SCHOOLS,
        [
            EsaDay(
                "105201",
                "accepted",
                rows_read=1,
                rows_rejected=1,
                accepted={},
                findings=[
                    {
                        "row": 2,
                        "column": "students",
                        "header": "จำนวนนักเรียน",
                        "cell": "C2",
                        "severity": "error",
                        "code": "negative_value",
                        "message": "พิมพ์จำนวนนักเรียนเป็นตัวเลขจำนวนเต็ม",
                        "value": "-3",
                    }
                ],
            ),
            EsaDay("105290", "accepted", accepted={"1052900001": no_provider()}),
        ],
    )
    rows = snapshot(warehouse_engine, D2)
    assert rows["1052010001"]["accepted_on"] == D1
    assert rows["1052010001"]["monthly_fee_thb"] == 1290.0
    with warehouse_engine.connect() as conn:
        line = {r["esa_code"]: r for r in fetch_all(conn, "esa_summary", report_date=D2)}
    assert line["105201"]["errors"] == 1
    assert line["105201"]["rows_rejected"] == 1


def test_rerun_of_a_date_leaves_the_warehouse_identical(warehouse_engine: Engine) -> None:
    first_day(warehouse_engine)
    day_two = [
        EsaDay(
            "105201",
            "accepted",
            accepted={"1052010002": connected(fee=990.0)},
            findings=[
                {
                    "row": None,
                    "column": None,
                    "header": None,
                    "cell": None,
                    "severity": "warning",
                    "code": "not_reported",
                    "message": "ไม่มี",
                    "value": "1052010001",
                }
            ],
        ),
        EsaDay("105290", "failed", error_code="timeout", reason="ช้า"),
    ]
    merge_day(warehouse_engine, D2, ESAS, SCHOOLS, day_two)
    once = warehouse_checksum(warehouse_engine)
    merge_day(warehouse_engine, D2, ESAS, SCHOOLS, day_two)
    assert warehouse_checksum(warehouse_engine) == once
    merge_day(warehouse_engine, D3, ESAS, SCHOOLS, day_two)
    assert warehouse_checksum(warehouse_engine) != once


def test_previous_report_date_query(warehouse_engine: Engine) -> None:
    first_day(warehouse_engine)
    merge_day(warehouse_engine, D3, ESAS, SCHOOLS, [])
    with warehouse_engine.connect() as conn:
        assert fetch_one(conn, "previous_report_date", report_date=D3)["previous_date"] == D1
        assert fetch_one(conn, "previous_report_date", report_date=D1)["previous_date"] is None
        escalations = fetch_all(conn, "no_provider_schools", report_date=D3)
    assert [e["school_code"] for e in escalations] == ["1052900001"]
    assert escalations[0]["providers_contacted"] == ["TOT", "AIS"]
    assert escalations[0]["accepted_on"] == D1


def test_a_warehouse_of_another_version_is_refused_with_what_to_do(tmp_path: Path) -> None:
    import pytest
    from sqlalchemy import text

    from schoolnet.warehouse import create_warehouse_engine, ensure_schema
    from schoolnet.warehouse.errors import SchemaMismatch

    engine = create_warehouse_engine(f"sqlite:///{tmp_path / 'old.db'}")
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE delivery (report_date DATE, recipients TEXT)"))
    with pytest.raises(SchemaMismatch, match=r"delivery lacks .*kind.*make clean"):
        ensure_schema(engine)
    engine.dispose()


def test_backfill_of_a_past_date_gives_the_original_day_and_leaves_later_days(
    warehouse_engine: Engine,
) -> None:
    first_day(warehouse_engine)
    day_two = [
        EsaDay("105201", "accepted", accepted={"1052010002": connected(fee=990.0)}),
        EsaDay("105290", "failed", error_code="timeout", reason="ช้า"),
    ]
    merge_day(warehouse_engine, D2, ESAS, SCHOOLS, day_two)
    merge_day(warehouse_engine, D3, ESAS, SCHOOLS, [])
    before = {day: snapshot(warehouse_engine, day) for day in (D1, D2, D3)}
    everything = warehouse_checksum(warehouse_engine)
    merge_day(warehouse_engine, D2, ESAS, SCHOOLS, day_two)  # the past date, merged again
    assert {day: snapshot(warehouse_engine, day) for day in (D1, D2, D3)} == before
    assert warehouse_checksum(warehouse_engine) == everything


def test_a_merge_leaves_the_planner_the_statistics_of_what_it_wrote(
    warehouse_engine: Engine,
) -> None:
    """On PostgreSQL a new warehouse has no statistics until autovacuum comes by, and the
    planner guesses row counts (a fresh national warehouse took minutes for the report).
    After its first merges, every table the report reads is analyzed and the planner's
    estimate of each is its true row count."""
    first_day(warehouse_engine)
    merge_day(warehouse_engine, D2, ESAS, SCHOOLS, [EsaDay("105201", "failed")])
    if warehouse_engine.dialect.name != "postgresql":
        return  # SQLite's planner keeps no statistics unless asked
    with warehouse_engine.connect() as conn:
        for model in MERGED_MODELS:
            table = model.__tablename__
            analyzed = conn.execute(
                text(
                    "SELECT last_analyze FROM pg_stat_user_tables "
                    "WHERE relid = CAST(:table AS regclass)"
                ),
                {"table": table},
            ).scalar_one()
            assert analyzed is not None, table
            rows = conn.execute(text(f'SELECT count(*) FROM "{table}"')).scalar_one()
            plan = conn.execute(text(f'EXPLAIN (FORMAT JSON) SELECT * FROM "{table}"')).scalar_one()
            assert plan[0]["Plan"]["Plan Rows"] == max(rows, 1), table
