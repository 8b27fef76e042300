"""Figures that stay true on every date: staleness counts only the ESA's own data changes, never
our writes of the feedback tab, never goes negative when a past date is run after the sheet
changed; an identical copy of a row is one row plus a warning in every count.

The daily run's steps against the emulator over HTTP (no Airflow: ``Setup.run``) and a SQLite
warehouse; the warehouse side of staleness on SQLite and PostgreSQL.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

import pytest
from alembic import command
from sqlalchemy import Engine, select, text

from schoolnet.cli.validate import summary_line
from schoolnet.core import thai
from schoolnet.core.registry import Esa, School
from schoolnet.devtools.emulator import edit_cell, set_clock
from schoolnet.report.daily import build_report
from schoolnet.validation.feedback import EsaFeedback
from schoolnet.validation.result import read_result
from schoolnet.warehouse import EsaDay, create_warehouse_engine, merge_day
from schoolnet.warehouse.migrate import alembic_config, upgrade_warehouse
from schoolnet.warehouse.models import PullRow
from schoolnet.warehouse.queries import fetch_all
from tests.unit.orchestration import test_pipeline
from tests.unit.orchestration.test_pipeline import Setup
from tests.unit.validation.test_validator import record, sheet, validate

setup = test_pipeline.setup  # the fixture: the daily steps against the emulator, no Airflow

CLERK = {"me": False, "emailAddress": "clerk@esa.obec.go.th"}


def ages(engine: Engine, day: date) -> dict[str, int | None]:
    """Every ESA's days since its data last changed, as the report reads them."""
    with engine.connect() as conn:
        rows = fetch_all(conn, "stale_esas", report_date=day, days=0)
    return {row["esa_code"]: row["days_since_update"] for row in rows}


def flags(engine: Engine, day: date) -> dict[str, str]:
    with engine.connect() as conn:
        report = build_report(conn, day, stale_after_days=2)
    return {line.esa_code: line.flag_reason for line in report.esas}


def last_edited(setup: Setup, esa: Esa, moment: str) -> None:
    """Make the ESA's sheet look last edited by its clerk at ``moment`` (UTC)."""
    doc = setup.sheet(esa)
    doc["modifiedTime"] = moment
    doc["lastModifyingUser"] = CLERK
    setup.save(esa, doc)


# --- staleness ---------------------------------------------------------------------------------


def test_our_feedback_tab_write_is_not_an_update(setup: Setup) -> None:
    first = setup.days[0]
    esa = setup.esas[0]
    # The clerk last typed ten days before the first morning (Bangkok date first - 10).
    last_edited(setup, esa, f"{(first - timedelta(days=10)).isoformat()}T03:00:00.000Z")
    setup.run(first)
    tab_written = setup.sheet(esa)["modifiedTime"]
    assert tab_written.startswith((first - timedelta(days=1)).isoformat() + "T23:")  # 06:00 BKK

    # The next mornings see the sheet "modified" by our tab write, with the same data.
    for later in (first + timedelta(days=1), first + timedelta(days=3)):
        results = setup.run(later)
        assert results[esa.esa_code].outcome == "accepted"
        assert ages(setup.engine, later)[esa.esa_code] == (later - first).days + 10
        assert flags(setup.engine, later)[esa.esa_code] == (
            f"ชีตไม่ได้ปรับปรุงมา {(later - first).days + 10} วัน"
        )


def test_a_clerks_edit_is_an_update_dated_in_bangkok(setup: Setup) -> None:
    first, second = setup.days[0], setup.days[0] + timedelta(days=2)
    esa = setup.esas[1]
    last_edited(setup, esa, f"{(first - timedelta(days=10)).isoformat()}T03:00:00.000Z")
    setup.run(first)
    # The evening before the second report, 19:00 in Bangkok, the clerk fixes a count.
    set_clock(
        setup.root / "state", datetime.fromisoformat(f"{second - timedelta(days=1)}T19:00+07:00")
    )
    header = setup.sheet(esa)["sheets"][0]["rows"][0]
    column = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"[header.index("จำนวนนักเรียน")]
    edit_cell(setup.root / "state", esa.spreadsheet_id, f"'โรงเรียน'!{column}3", "321")
    setup.run(second)
    assert ages(setup.engine, second)[esa.esa_code] == 1
    assert flags(setup.engine, second)[esa.esa_code] == ""


def test_a_past_date_run_after_the_sheet_changed_is_fresh_not_never_read(setup: Setup) -> None:
    """A catch-up run of an earlier date reads a sheet edited after that date: 0 days old."""
    first = setup.days[0]
    past, later = first + timedelta(days=1), first + timedelta(days=5)
    setup.run(first)
    set_clock(setup.root / "state", datetime.fromisoformat(f"{later}T10:00+07:00"))
    for esa in setup.esas:
        header = setup.sheet(esa)["sheets"][0]["rows"][0]
        column = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"[header.index("จำนวนนักเรียน")]
        edit_cell(setup.root / "state", esa.spreadsheet_id, f"'โรงเรียน'!{column}2", "77")
    setup.run(later)
    setup.run(past)  # the catch-up, after a later date is in the warehouse
    assert ages(setup.engine, past) == dict.fromkeys((e.esa_code for e in setup.esas), 0)
    assert set(flags(setup.engine, past).values()) == {""}
    assert ages(setup.engine, later) == dict.fromkeys((e.esa_code for e in setup.esas), 0)


def test_a_past_date_run_reads_a_sheet_we_wrote_to_after_a_clerks_edit(setup: Setup) -> None:
    """Our feedback tab, written after the clerk's edit, must not hide that edit from a run of
    an earlier date: "last modified by us" holds only against the latest read of all."""
    first = setup.days[0]
    past, later = first + timedelta(days=2), first + timedelta(days=4)
    esa = setup.esas[0]
    setup.run(first, full_pull=False)
    set_clock(setup.root / "state", datetime.fromisoformat(f"{past}T10:00+07:00"))
    header = setup.sheet(esa)["sheets"][0]["rows"][0]
    column = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"[header.index("จำนวนนักเรียน")]
    edit_cell(setup.root / "state", esa.spreadsheet_id, f"'โรงเรียน'!{column}3", "-3")
    set_clock(setup.root / "state", datetime.fromisoformat(f"{later}T06:00+07:00"))
    assert setup.run(later, full_pull=False)[esa.esa_code].errors == 1  # tab rewritten
    assert setup.sheet(esa)["lastModifyingUser"]["me"] is True

    caught_up = setup.run(past, full_pull=False)[esa.esa_code]
    assert (caught_up.api_calls, caught_up.errors) == (1, 1)


D1, D2, D3 = date(2018, 1, 3), date(2018, 1, 4), date(2018, 1, 5)
ESAS = [Esa("105201", "สพป.ลำปาง เขต 1", "primary", "ลำปาง", "sheet-1", "a@example.org")]


def read(
    outcome: str = "accepted", digest: str | None = "a", modified: str | None = None
) -> list[EsaDay]:
    return [EsaDay("105201", outcome, data_digest=digest, sheet_modified_time=modified)]


@pytest.mark.parametrize(
    ("days", "expected"),
    [
        # the first read dates from the sheet's modifiedTime in Bangkok (17:00 UTC is next day)
        ([(D1, read(modified="2018-01-01T17:00:00Z"))], {D1: 1}),
        # a sheet modified after the report date (a past date run late): 0 days, not negative
        ([(D1, read(modified="2018-01-09T03:00:00Z"))], {D1: 0}),
        # the same values later, whatever Drive says (our tab write): the first date stands
        (
            [(D1, read(modified="2018-01-02T03:00:00Z")), (D3, read(modified="2018-01-05T00:00Z"))],
            {D1: 1, D3: 3},
        ),
        # other values: changed at the new modifiedTime
        ([(D1, read()), (D3, read(digest="b", modified="2018-01-04T03:00:00Z"))], {D1: 0, D3: 1}),
        # a failed read keeps the date of the last read; never read at all: None
        ([(D1, read(modified="2018-01-02T03:00:00Z")), (D2, read("failed", None))], {D2: 2}),
        ([(D2, read("failed", None))], {D2: None}),
        # a rerun of an earlier date compares with the pulls before it only
        (
            [(D1, read()), (D3, read(digest="b")), (D2, read(modified="2018-01-09T00:00:00Z"))],
            {D1: 0, D2: 1, D3: 0},
        ),
    ],
    ids=[
        "first-read-in-bangkok",
        "modified-after-the-report-date",
        "same-values-after-our-write",
        "changed-values",
        "failed-keeps-last-read",
        "never-read",
        "rerun-of-an-earlier-date",
    ],
)
def test_days_since_the_data_changed(
    warehouse_engine: Engine, days: list[tuple[date, list[EsaDay]]], expected: dict[date, Any]
) -> None:
    for day, pulls in days:
        merge_day(warehouse_engine, day, ESAS, [], pulls)
    assert {day: ages(warehouse_engine, day)["105201"] for day in expected} == expected


# --- duplicates --------------------------------------------------------------------------------


def test_an_identical_copy_of_a_row_is_one_row_and_a_warning_everywhere(setup: Setup) -> None:
    first = setup.days[0]
    esa = setup.esas[0]
    doc = setup.sheet(esa)
    rows = doc["sheets"][0]["rows"]
    schools = len([row for row in rows[1:] if any(cell not in ("", None) for cell in row)])
    rows.append(list(rows[3]))  # the clerk pastes row 4 again at the end
    setup.save(esa, doc)

    summary = setup.run(first)[esa.esa_code]
    assert (summary.rows_accepted, summary.rows_rejected) == (schools, 0)
    assert (summary.errors, summary.warnings) == (0, 1)
    with setup.engine.connect() as conn:
        pull = conn.execute(
            select(PullRow.rows_read, PullRow.rows_accepted, PullRow.rows_rejected).where(
                PullRow.report_date == first, PullRow.esa_code == esa.esa_code
            )
        ).one()
        report = build_report(conn, first, stale_after_days=2)
    assert tuple(pull) == (schools + 1, schools, 0)
    line = next(line for line in report.esas if line.esa_code == esa.esa_code)
    assert (line.rows_rejected, line.errors, line.warnings) == (0, 0, 1)
    assert report.rows_rejected == 0

    result = read_result(setup.settings, first, esa.esa_code)
    assert result is not None
    feedback = EsaFeedback.from_result(esa, result)
    assert f"ระบบรับข้อมูล {schools} แถว ไม่รับ 0 แถว (ต้องแก้ 0 ช่อง ควรตรวจสอบ 1 ช่อง)" in (
        feedback.summary
    )
    tab = next(s for s in setup.sheet(esa)["sheets"] if s["title"] == "ผลตรวจสอบ")["rows"]
    assert [feedback.summary] in tab
    assert [row[-1] for row in tab if row and row[-1] == "duplicate_identical"] == [
        "duplicate_identical"
    ]


# --- the rules of docs/report.md: rounding and tie order --------------------------------------


def test_figures_round_half_up() -> None:
    assert thai.percent(49, 400) == "12.3%"  # 12.25: half-even would show 12.2%
    assert thai.percent(1, 400) == "0.3%"  # 0.25
    assert thai.percent(1, 3) == "33.3%" and thai.percent(2, 3) == "66.7%"
    assert thai.percent(0, 0) == "–"
    assert thai.number(1290.5) == "1,291"  # a median of two fees: half-even would show 1,290
    assert thai.number(2.5) == "3" and thai.number(0.1 + 0.2, 1) == "0.3"
    assert thai.number(43.349999999999994, 1) == "43.4"  # 43.35 as a database gives it back


LAMPANG_ESA = Esa("105201", "สพป.ลำปาง เขต 1", "primary", "ลำปาง", "s-1", "a@example.org")
CHIANG_MAI_ESA = Esa("105001", "สพป.เชียงใหม่ เขต 1", "primary", "เชียงใหม่", "s-2", "b@example.org")


def test_ties_and_the_escalation_list_are_ordered_by_code(warehouse_engine: Engine) -> None:
    schools = [
        School("1052010001", "บ้านแม่ทะ", "105201", "ลำปาง", 80),
        School("1052010002", "วัดป่าตาล", "105201", "ลำปาง", 0),
        School("1050010002", "บ้านสันทราย", "105001", "เชียงใหม่", 130),
        School("1050010001", "บ้านห้วยน้ำริน", "105001", "เชียงใหม่", 30),
    ]
    far = {"students": 10, "status": "no_provider", "providers_contacted": ["TOT"]}
    near = {"students": 10, "status": "connected", "isp": "TOT", "link_type": "fiber"}
    merge_day(
        warehouse_engine,
        D1,
        [LAMPANG_ESA, CHIANG_MAI_ESA],
        schools,
        [
            EsaDay("105201", "accepted", accepted={"1052010001": far, "1052010002": near}),
            EsaDay("105001", "accepted", accepted={"1050010002": far, "1050010001": near}),
        ],
    )
    with warehouse_engine.connect() as conn:
        report = build_report(conn, D1, stale_after_days=2)
    # Half of each ESA's schools unconnected: a tie, broken by the ESA code.
    assert [line.esa_code for line in report.esas] == ["105001", "105201"]
    # By ESA code then school code, not by Thai names (ลำปาง sorts before เชียงใหม่ by text).
    assert [school["school_code"] for school in report.escalations] == [
        "1050010002",
        "1052010001",
    ]


def test_revision_0005_dates_the_pulls_merged_before_it(empty_url: str) -> None:
    """Pulls merged before digests were kept get the date the report used until then, in
    Bangkok and never after their report date."""
    engine = create_warehouse_engine(empty_url)
    try:
        with engine.begin() as conn:
            command.upgrade(alembic_config(conn), "0004")
            conn.execute(
                text(
                    "INSERT INTO pull (report_date, esa_code, outcome, api_calls, rows_read, "
                    "rows_accepted, rows_rejected, sheet_modified_time, last_good_date) "
                    "VALUES (:day, :code, 'accepted', 1, 1, 1, 0, :modified, :good)"
                ),
                [
                    {"day": D3, "code": "a", "modified": "2018-01-04T18:00:00.000Z", "good": D3},
                    {"day": D1, "code": "b", "modified": "2018-01-09T03:00:00.000Z", "good": D1},
                    {"day": D2, "code": "c", "modified": None, "good": D1},
                    {"day": D2, "code": "d", "modified": None, "good": None},
                ],
            )
        upgrade_warehouse(engine)
        with engine.connect() as conn:
            dated = dict(conn.execute(select(PullRow.esa_code, PullRow.data_changed_on)).all())
    finally:
        engine.dispose()
    assert dated == {"a": D3, "b": D1, "c": D1, "d": None}


def test_an_identical_copy_is_neither_accepted_nor_rejected_on_its_own() -> None:
    values = sheet([record(1), record(2, students=-3), record(3)])
    values += [list(values[1]), list(values[2])]  # rows 5 and 6 repeat rows 2 and 3
    result = validate(values, registered=3)
    assert [r.row for r in result.accepted_rows] == [2, 4]
    assert [r.row for r in result.rejected_rows] == [3]  # its copy, row 6, is not counted
    assert [(r.row, r.duplicate_of) for r in result.duplicate_copies] == [(5, 2), (6, 3)]
    assert result.to_json_dict()["rows"][3]["duplicate_of"] == 2
    assert "5 แถว: ผ่าน 2 ไม่ผ่าน 1 แถวซ้ำ 2" in summary_line(result)
