"""Google faults in the middle of a run, against the emulator over HTTP and the real gspread
client: the ESA hit is named with a Thai reason, the others are untouched, and the schools of
the ESA hit keep their last accepted values (carried forward with the date they were accepted)."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

from schoolnet.devtools.emulator import load_day, set_fault, set_flaky
from schoolnet.warehouse.models import SNAPSHOT_VALUE_COLUMNS, PullRow
from tests.reliability.conftest import Day, snapshot


def pulls(day: Day, report_date: Any) -> dict[str, Any]:
    with day.engine.connect() as conn:
        rows = conn.execute(select(PullRow.__table__).where(PullRow.report_date == report_date))
        return {row.esa_code: row for row in rows}


@pytest.mark.parametrize(
    ("mode", "code", "words"),
    [
        ("403", "not_shared", "กรุณาแชร์ชีตให้ sa@x.iam"),
        ("404", "not_found", "ไม่พบชีตตามรหัสที่ลงทะเบียนไว้"),
        ("500", "google_error", "ระบบของ Google ขัดข้องชั่วคราว"),
        ("hang", "timeout", "อ่านชีตไม่ทันเวลาที่กำหนด"),
    ],
)
def test_a_sheet_failing_mid_run_is_named_and_its_schools_keep_their_last_values(
    day_any: Day, mode: str, code: str, words: str
) -> None:
    day = day_any
    first, second = day.days[:2]
    day.run(first)
    yesterday = snapshot(day.engine, first)

    load_day(day.state, day.demo, second)
    hit, *others = day.esas
    # Mid-run: the plan has listed the sheet, then it is unshared, deleted, broken or hangs.
    # A hang outlasts every attempt (the emulator's stop ends it); the timeout only has to be
    # longer than a sound answer on a loaded machine.
    reader = day.reader(request_timeout_seconds=2) if mode == "hang" else day.reader()
    set_fault(day.state, hit.spreadsheet_id, mode, seconds=3600 if mode == "hang" else None)
    results = day.run(second, reader)

    assert results[hit.esa_code].outcome == "failed"
    assert results[hit.esa_code].error_code == code
    assert all(results[esa.esa_code].outcome == "accepted" for esa in others)
    recorded = pulls(day, second)
    assert words in recorded[hit.esa_code].reason
    assert recorded[hit.esa_code].last_good_date == first
    assert all(recorded[esa.esa_code].outcome == "accepted" for esa in others)

    today = snapshot(day.engine, second)
    assert set(today) == set(yesterday)
    for school, row in today.items():
        if row["esa_code"] == hit.esa_code:
            assert row["accepted_on"] == first, school
            for name in SNAPSHOT_VALUE_COLUMNS:
                assert row[name] == yesterday[school][name], (school, name)
        else:
            assert row["accepted_on"] == second, school
    set_fault(day.state, hit.spreadsheet_id, None)


@pytest.mark.parametrize("statuses", [(429,), (500, 503)])
def test_a_passing_storm_of_429s_or_5xxs_is_absorbed_by_the_retries(
    day_sqlite: Day, statuses: tuple[int, ...]
) -> None:
    """Half of all Sheets requests refused (seeded, so the same every run): every sheet is
    still read, because each read is retried with backoff."""
    day = day_sqlite
    set_flaky(day.state, 0.5, statuses)
    results = day.run(day.days[0], day.reader(max_attempts=10))
    stats = day.emulator.stats()
    assert stats["faulted"] > 0
    assert all(result.outcome == "accepted" for result in results.values())
    # The storm did reach the reads: some took more than their one call.
    assert sum(result.api_calls for result in results.values()) > len(results), results


def test_a_429_storm_that_outlasts_the_retries_fails_every_sheet_and_keeps_the_data(
    day_sqlite: Day,
) -> None:
    day = day_sqlite
    first, second = day.days[:2]
    day.run(first)
    yesterday = snapshot(day.engine, first)
    load_day(day.state, day.demo, second)
    set_flaky(day.state, 1.0, (429,))
    results = day.run(second)
    assert {result.error_code for result in results.values()} == {"quota"}
    assert all(result.api_calls == day.settings.google.max_attempts for result in results.values())
    recorded = pulls(day, second)
    assert all("เกินโควตาการเรียกใช้ของ Google" in pull.reason for pull in recorded.values())
    today = snapshot(day.engine, second)
    assert {row["accepted_on"] for row in today.values()} == {first}
    assert {k: {n: r[n] for n in SNAPSHOT_VALUE_COLUMNS} for k, r in today.items()} == {
        k: {n: r[n] for n in SNAPSHOT_VALUE_COLUMNS} for k, r in yesterday.items()
    }
