"""The daily run compares every accepted row with its school's last accepted values in the
warehouse: through real gspread, the emulator over HTTP and a warehouse on SQLite and
PostgreSQL, a clerk's tenfold student count reaches the findings (the warehouse's, the feedback
tab's) with the previous value and its date, the row is still accepted, and the warning is gone
the next morning once the value stood."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any

from sqlalchemy import select

from schoolnet.validation.findings import thai_date
from schoolnet.warehouse.models import FindingRow, SnapshotRow
from tests.unit.orchestration.test_pipeline import Setup, replay_world, setup

__all__ = ["replay_world", "setup"]  # the fixtures, used by name


def history_findings(world: Setup, day: date, esa_code: str) -> Sequence[Any]:
    """The day's ``implausible_change`` findings of the ESA, as the warehouse holds them."""
    with world.engine.connect() as conn:
        return conn.execute(
            select(FindingRow).where(
                FindingRow.report_date == day,
                FindingRow.esa_code == esa_code,
                FindingRow.code == "implausible_change",
            )
        ).all()


def students_on(world: Setup, day: date, school_code: str) -> tuple[int, date]:
    with world.engine.connect() as conn:
        row = conn.execute(
            select(SnapshotRow.students, SnapshotRow.accepted_on).where(
                SnapshotRow.report_date == day, SnapshotRow.school_code == school_code
            )
        ).one()
    return row.students, row.accepted_on


def test_a_tenfold_student_count_is_a_warning_with_the_previous_value_and_date(
    replay_world: Setup,
) -> None:
    world = replay_world
    first, second, third = world.days
    world.run(first)
    esa = world.esas[0]
    doc = world.sheet(esa)
    rows = doc["sheets"][0]["rows"]
    header = rows[0]
    students_at, code_at = header.index("จำนวนนักเรียน"), header.index("รหัสโรงเรียน")
    number, row = next((n, r) for n, r in enumerate(rows[1:], 2) if int(r[students_at]) >= 10)
    school, before = str(row[code_at]), int(row[students_at])
    row[students_at] = before * 10  # the clerk typed a zero too many
    world.save(esa, doc)

    results = world.run(second)
    assert results[esa.esa_code].outcome == "accepted"
    assert results[esa.esa_code].rows_rejected == 0
    (finding,) = history_findings(world, second, esa.esa_code)
    assert (finding.row, finding.column_key, finding.severity) == (number, "students", "warning")
    assert finding.value == str(before * 10)
    assert f"{before:,}" in finding.message and thai_date(first) in finding.message
    # The row is accepted as typed: nothing is lost, the clerk decides.
    assert students_on(world, second, school) == (before * 10, second)
    # The clerk reads it in the feedback tab, at its row.
    tab = next(s for s in world.sheet(esa)["sheets"] if s["title"] == "ผลตรวจสอบ")["rows"]
    assert any(line[:1] == [str(number)] and "implausible_change" in line for line in tab)

    # Left as it is, the value is the school's last accepted one: no warning the next morning.
    world.run(third)
    assert history_findings(world, third, esa.esa_code) == []
    assert students_on(world, third, school) == (before * 10, third)
