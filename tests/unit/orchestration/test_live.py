"""Near-live feedback without Airflow: Drive's changes feed, one read and at most one write per
edited sheet, and the faults (429 storm, unshared, deleted, an edit while reading), against the
emulator over HTTP with real gspread, on SQLite and PostgreSQL warehouses."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import delete, func, select, update

from schoolnet.core.registry import Esa
from schoolnet.devtools.emulator import (
    edit_cell,
    set_clock,
    set_fault,
    set_flaky,
    set_quota,
)
from schoolnet.ingestion.ingest import SheetReadError
from schoolnet.orchestration.live import CURSOR, poll
from schoolnet.warehouse.models import LiveCursorRow, LiveSheetRow, PullRow, SnapshotRow
from tests.unit.orchestration.live_world import BANGKOK, CHECKED_AT, Live


def test_nothing_changed_costs_exactly_one_call(live: Live) -> None:
    for _ in range(2):  # our own tab writes of the first run are not mistaken for edits
        found, results, calls = live.run()
        assert found.source == "changes" and found.pending == [] and results == []
        assert calls == {"drive.changes.list": 1}


def test_a_clerks_mistake_reaches_the_tab_with_one_read_and_one_write(live: Live) -> None:
    esa = live.esas[1]
    live.type_students(esa, 5, "-3")
    set_clock(live.state, CHECKED_AT)  # Google's clock, as its answers give it, not ours
    found, results, calls = live.run()
    assert [e.esa_code for e in found.pending] == [esa.esa_code]
    assert calls == {
        "drive.changes.list": 1,
        "spreadsheets.get": 1,
        "spreadsheets.batchUpdate": 1,
    }
    assert results[0].feedback_tab == "written" and results[0].errors >= 1
    tab = live.tab(esa)
    assert any(row[:1] == ["5"] and "negative_value" in row for row in tab)
    assert tab[1][0].startswith("ตรวจเมื่อ 16 มกราคม 2561 เวลา 10:20 น.")
    assert "ภายในประมาณ 1 นาที" in tab[2][0]
    # The fix: the finding goes, again with one read and one write.
    live.type_students(esa, 5, "120")
    _, results, calls = live.run()
    assert calls["spreadsheets.get"] == 1 and calls["spreadsheets.batchUpdate"] == 1
    assert not any("negative_value" in row for row in live.tab(esa))
    # The daily record is not touched: no pull, no snapshot.
    with live.engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(PullRow)).scalar() == 0
        assert conn.execute(select(func.count()).select_from(SnapshotRow)).scalar() == 0


def test_an_edit_that_changes_no_finding_is_read_but_not_written(live: Live) -> None:
    esa = live.esas[0]
    header = live.doc(esa)["sheets"][0]["rows"][0]
    note = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"[header.index("หมายเหตุ")]
    edit_cell(live.state, esa.spreadsheet_id, f"'โรงเรียน'!{note}3", "โทรยืนยันแล้ว")
    _, results, calls = live.run()
    assert results[0].feedback_tab == "unchanged"
    assert calls == {"drive.changes.list": 1, "spreadsheets.get": 1}


def test_a_restart_after_the_poll_checks_what_waited_without_reading_the_rest(
    live: Live,
) -> None:
    esa = live.esas[2]
    live.type_students(esa, 4, "-1")
    first = poll(live.esas, live.settings, live.reader, live.engine)  # then the run dies
    assert [e.esa_code for e in first.pending] == [esa.esa_code]
    found, results, calls = live.run()  # the next run: nothing new, the waiting sheet checked
    assert found.marked == 0 and [e.esa_code for e in found.pending] == [esa.esa_code]
    assert results[0].feedback_tab == "written"
    assert calls["spreadsheets.get"] == 1


def test_a_lost_or_refused_token_falls_back_to_one_listing(live: Live) -> None:
    esa = live.esas[0]
    live.type_students(esa, 3, "-7")
    with live.engine.begin() as conn:
        conn.execute(delete(LiveCursorRow).where(LiveCursorRow.name == CURSOR))
    found, _, calls = live.run()
    assert found.source == "listing"
    assert [e.esa_code for e in found.pending] == [esa.esa_code]  # only the edited sheet
    assert calls == {
        "drive.changes.getStartPageToken": 1,
        "drive.files.list": 1,
        "spreadsheets.get": 1,
        "spreadsheets.batchUpdate": 1,
    }
    live.type_students(esa, 3, "70")
    with live.engine.begin() as conn:
        conn.execute(update(LiveCursorRow).values(page_token="999999"))  # Drive refuses it
    found, _, _ = live.run()
    assert found.source == "listing" and [e.esa_code for e in found.pending] == [esa.esa_code]
    assert live.run()[2] == {"drive.changes.list": 1}


def test_a_429_storm_loses_nothing_and_the_next_run_catches_up(live: Live) -> None:
    esa = live.esas[1]
    live.type_students(esa, 6, "-2")
    set_flaky(live.state, 1.0, (429,))  # every Sheets request refused
    _, results, _ = live.run()
    assert results[0].outcome == "failed" and results[0].error_code == "quota"
    assert not any("negative_value" in row for row in live.tab(esa))
    # The changes call itself refused too: the poll fails, the saved position stands.
    set_flaky(live.state, 0)
    set_quota(live.state, read=1)
    live.emulator.reset()
    live.reader.read_data_tab(live.esas[0].spreadsheet_id, "โรงเรียน")  # uses up the minute
    with pytest.raises(SheetReadError) as refused:
        poll(live.esas, live.settings, live.reader, live.engine)
    assert refused.value.code == "quota"
    set_quota(live.state, read=0)
    found, results, _ = live.run()
    assert [e.esa_code for e in found.pending] == [esa.esa_code]
    assert results[0].feedback_tab == "written"
    assert any(row[:1] == ["6"] and "negative_value" in row for row in live.tab(esa))


def test_an_unshared_sheet_is_reported_and_checked_again_once_shared(live: Live) -> None:
    esa = live.esas[0]
    set_fault(live.state, esa.spreadsheet_id, "403")
    found, results, _ = live.run()
    assert [e.esa_code for e in found.pending] == [esa.esa_code]
    assert results[0].outcome == "failed" and results[0].error_code == "not_shared"
    assert live.run()[0].pending == []  # not read again every ten minutes
    live.type_students(esa, 3, "-4")  # edited while unshared
    set_fault(live.state, esa.spreadsheet_id, None)
    found, results, _ = live.run()
    assert [e.esa_code for e in found.pending] == [esa.esa_code]
    assert results[0].feedback_tab == "written"
    assert any(row[:1] == ["3"] and "negative_value" in row for row in live.tab(esa))


def test_a_deleted_sheet_is_reported_and_checked_again_once_restored(live: Live) -> None:
    esa = live.esas[2]
    path = live.state / "spreadsheets" / f"{esa.spreadsheet_id}.json"
    kept = path.read_bytes()
    path.unlink()
    found, results, _ = live.run()
    assert results[0].outcome == "failed" and results[0].error_code == "not_found"
    with live.engine.connect() as conn:
        row = conn.execute(select(LiveSheetRow).where(LiveSheetRow.esa_code == esa.esa_code)).one()
    assert row.pending is False and row.outcome == "failed"
    path.write_bytes(kept)  # restored from the bin, as it was
    found, results, _ = live.run()
    assert [e.esa_code for e in found.pending] == [esa.esa_code]
    assert results[0].outcome != "failed"


class ClerkTypesBeforeTheWrite:
    """A write pacer (the reader's documented seam for pacing) at whose first slot a clerk
    types into the sheet: after the check read it, before it writes the tab."""

    def __init__(self, live: Live, esa: Esa) -> None:
        self.live, self.esa, self.done = live, esa, False

    def before_request(self) -> None:
        if not self.done:
            self.done = True
            self.live.type_students(self.esa, 7, "-9")

    def penalize(self, seconds: float) -> None:
        pass


def test_an_edit_made_while_the_run_reads_the_sheet_is_checked_by_the_next_run(
    live: Live,
) -> None:
    esa = live.esas[1]
    live.type_students(esa, 5, "-3")
    live.reader.write_pacer = ClerkTypesBeforeTheWrite(live, esa)
    _, results, _ = live.run()
    assert results[0].feedback_tab == "written"
    tab = live.tab(esa)
    assert any(row[:1] == ["5"] and "negative_value" in row for row in tab)
    assert not any(row[:1] == ["7"] for row in tab)  # typed after the read
    # Drive now names us as the last to modify the sheet; its version tells otherwise.
    found, results, _ = live.run()
    assert [e.esa_code for e in found.pending] == [esa.esa_code]
    assert any(row[:1] == ["7"] and "negative_value" in row for row in live.tab(esa))
    assert live.run()[2] == {"drive.changes.list": 1}  # and then quiet again


def test_the_check_is_stamped_with_googles_clock_the_emulators_in_the_demo(live: Live) -> None:
    esa = live.esas[0]
    reader = live.reader
    # Every answer's Date header is the emulator's clock; SheetRead keeps it.
    set_clock(live.state, CHECKED_AT)
    served = reader.read_data_tab(esa.spreadsheet_id, "โรงเรียน").served_at
    assert served is not None
    assert timedelta(0) <= served - CHECKED_AT < timedelta(minutes=1)
    set_clock(live.state, None)  # the wall clock, as Google's is ours
    served = reader.read_data_tab(esa.spreadsheet_id, "โรงเรียน").served_at
    assert served is not None and abs(served - datetime.now(BANGKOK)) < timedelta(minutes=1)
    # A check run on a machine whose clock is years ahead stamps the emulator's day and time,
    # validates for that day, and records that time.
    set_clock(live.state, CHECKED_AT)
    live.type_students(esa, 4, "-1")
    _, results, _ = live.run()
    assert results[0].feedback_tab == "written"
    assert live.tab(esa)[1][0].startswith("ตรวจเมื่อ 16 มกราคม 2561 เวลา 10:20 น.")
    with live.engine.connect() as conn:
        checked = conn.execute(
            select(LiveSheetRow.checked_at).where(LiveSheetRow.esa_code == esa.esa_code)
        ).scalar_one()
    assert checked is not None
    checked = checked if checked.tzinfo else checked.replace(tzinfo=UTC)  # SQLite: naive UTC
    assert timedelta(0) <= checked - CHECKED_AT < timedelta(minutes=1)


def test_a_date_cell_is_quoted_in_the_tab_as_the_sheet_shows_it(live: Live) -> None:
    """Through the emulator with gspread: a date cell comes back as its serial number (43120),
    and the tab quotes it as the clerk sees it in the sheet."""
    esa = live.esas[2]
    header = live.doc(esa)["sheets"][0]["rows"][0]
    column = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"[header.index("วันที่เริ่มใช้บริการ")]
    serial = date(2018, 1, 20).toordinal() - date(1899, 12, 30).toordinal()
    edit_cell(live.state, esa.spreadsheet_id, f"'โรงเรียน'!{column}6", str(serial))
    set_clock(live.state, CHECKED_AT)  # the sheet is checked on 16 January 2018
    live.run()
    (line,) = [row for row in live.tab(esa) if row[1:2] == [f"{column}6"]]
    assert "future_date" in line and "วันที่ 20 ม.ค. 2561 ยังมาไม่ถึง" in line[4]
    assert line[5] == "20/1/2018"  # the value as typed, not 43120
