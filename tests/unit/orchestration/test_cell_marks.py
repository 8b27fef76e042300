"""Each finding marked on its own cell of the data tab (a note and a colour) in the tab's one
write; the marks follow the findings, keep to their cells when a clerk inserts or deletes rows,
never touch a clerk's own notes and colours, come back when a clerk deletes them or the tab,
and never make the near-live loop chase its own writes. Against the emulator over HTTP with the
real gspread client, on SQLite and PostgreSQL warehouses."""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import delete

from schoolnet.contract import load_contract
from schoolnet.core.registry import Esa
from schoolnet.devtools.emulator import edit_cell
from schoolnet.devtools.emulator.server import cell_format
from schoolnet.devtools.emulator.state import (
    as_clerk,
    delete_rows,
    get_note,
    insert_rows,
    set_background,
    set_note,
    tab_of,
)
from schoolnet.ingestion.ingest import rgb_hex
from schoolnet.orchestration.registries import load_school_registry
from schoolnet.orchestration.validate import raw_sheet, sheet_result, write_feedback_tab
from schoolnet.validation.result import ResultFinding
from schoolnet.warehouse.marks import recorded_marks
from schoolnet.warehouse.models import CellMarkRow
from tests.unit.orchestration.live_world import TAB, Live

DATA = load_contract().data_tab
RED = load_contract().finding_cell_colors["error"]
CLERK_GREEN = (0.85, 0.92, 0.83)
FOOTER = load_contract().sheet_text("mark_footer")


def students_column(live: Live, esa: Esa) -> int:
    header = tab_of(live.doc(esa), DATA)["rows"][0]
    column: int = header.index("จำนวนนักเรียน")
    return column


def mark_at(live: Live, esa: Esa, row: int, column: int) -> tuple[str | None, str | None]:
    """The note and colour (#rrggbb) of a 0-based cell of the data tab, as the sheet holds them."""
    sheet = tab_of(live.doc(esa), DATA)
    fill = cell_format(sheet, row, column).get("backgroundColor")
    color = None if fill is None else rgb_hex((fill["red"], fill["green"], fill["blue"]))
    return get_note(sheet, row, column), color


def marked_cells(live: Live, esa: Esa) -> dict[tuple[int, int], tuple[str | None, str | None]]:
    """Every cell of the data tab holding a note or a colour."""
    sheet = tab_of(live.doc(esa), DATA)
    rows = len(sheet.get("rows") or []) + 5
    width = max(len(row or []) for row in sheet["rows"]) + 2
    found = {}
    for row in range(rows):
        for column in range(width):
            mark = mark_at(live, esa, row, column)
            if mark != (None, None):
                found[(row, column)] = mark
    return found


def digest_of(live: Live, esa: Esa) -> str | None:
    """The data digest of the sheet as it is now (what "last updated" follows)."""
    read = live.reader.read_data_tab(esa.spreadsheet_id, DATA)
    return raw_sheet(esa, read, date(2018, 1, 16), None).data_digest


def data_values(live: Live, esa: Esa) -> Any:
    return tab_of(live.doc(esa), DATA)["rows"]


def test_a_finding_is_marked_on_its_cell_in_the_tabs_one_write(live: Live) -> None:
    esa = live.esas[1]
    column = students_column(live, esa)
    before = marked_cells(live, esa)
    live.type_students(esa, 5, "-3")
    values = data_values(live, esa)
    _, results, calls = live.run()
    assert calls == {"drive.changes.list": 1, "spreadsheets.get": 1, "spreadsheets.batchUpdate": 1}
    assert results[0].feedback_tab == "written"
    note, color = mark_at(live, esa, 4, column)  # row 5, 0-based 4
    assert note is not None and color == RED
    (line,) = [row for row in live.tab(esa) if row[:1] == ["5"] and "negative_value" in row]
    assert f"{load_contract().severity_labels['error']}: {line[4]}" in note
    assert note.endswith(FOOTER)
    assert set(marked_cells(live, esa)) - set(before) == {(4, column)}
    assert data_values(live, esa) == values  # the marks change no value of the data tab
    recorded = {
        (m.row, m.column): (m.note, m.color) for m in recorded_marks(live.engine, esa.esa_code)
    }
    assert recorded[(4, column)] == (note, RED)


def test_the_marks_never_change_the_sheets_data_digest(live: Live) -> None:
    esa = live.esas[1]
    first = digest_of(live, esa)
    live.type_students(esa, 5, "-3")
    typed = digest_of(live, esa)
    live.run()  # writes the tab and the mark
    assert typed != first
    assert digest_of(live, esa) == typed
    assert live.reader.read_data_tab(esa.spreadsheet_id, DATA).marks


def test_a_fixed_cell_loses_its_note_and_colour(live: Live) -> None:
    esa = live.esas[1]
    column = students_column(live, esa)
    live.type_students(esa, 5, "-3")
    live.run()
    assert mark_at(live, esa, 4, column)[0] is not None
    live.type_students(esa, 5, "120")
    _, _, calls = live.run()
    assert calls["spreadsheets.batchUpdate"] == 1
    assert mark_at(live, esa, 4, column) == (None, None)
    assert (4, column) not in {(m.row, m.column) for m in recorded_marks(live.engine, esa.esa_code)}


def test_a_clerks_own_notes_and_colours_are_never_touched(live: Live) -> None:
    esa = live.esas[0]
    column = students_column(live, esa)
    with as_clerk(live.state, esa.spreadsheet_id) as doc:
        sheet = tab_of(doc, DATA)
        set_note(sheet, 2, column, "ครูใหญ่ยืนยันตัวเลขแล้ว")  # row 3: the clerk's note
        set_background(sheet, 3, column, CLERK_GREEN)  # row 4: the clerk's colour
        set_note(sheet, 6, 1, "โทรถามแล้ว")  # row 7, another cell: both the clerk's
        set_background(sheet, 6, 1, CLERK_GREEN)
    green = rgb_hex(CLERK_GREEN)
    live.run()
    live.type_students(esa, 3, "-1")
    live.type_students(esa, 4, "-2")
    live.run()
    note3, color3 = mark_at(live, esa, 2, column)
    note4, color4 = mark_at(live, esa, 3, column)
    assert note3 == "ครูใหญ่ยืนยันตัวเลขแล้ว" and color3 == RED  # our colour beside its note
    assert note4 is not None and note4.endswith(FOOTER) and color4 == green  # our note only
    assert mark_at(live, esa, 6, 1) == ("โทรถามแล้ว", green)
    # Fixed: only what was ours goes.
    live.type_students(esa, 3, "100")
    live.type_students(esa, 4, "100")
    live.run()
    assert mark_at(live, esa, 2, column) == ("ครูใหญ่ยืนยันตัวเลขแล้ว", None)
    assert mark_at(live, esa, 3, column) == (None, green)
    assert mark_at(live, esa, 6, 1) == ("โทรถามแล้ว", green)
    assert recorded_marks(live.engine, esa.esa_code) == [] or all(
        (m.row, m.column) not in {(2, column), (3, column), (6, 1)}
        for m in recorded_marks(live.engine, esa.esa_code)
    )


def test_a_clerk_who_colours_a_marked_cell_keeps_that_colour(live: Live) -> None:
    esa = live.esas[2]
    column = students_column(live, esa)
    live.type_students(esa, 6, "-4")
    live.run()
    note, color = mark_at(live, esa, 5, column)
    assert note is not None and color == RED
    with as_clerk(live.state, esa.spreadsheet_id) as doc:
        set_background(tab_of(doc, DATA), 5, column, CLERK_GREEN)
    live.type_students(esa, 7, "-5")  # another mistake: the tab is written again
    live.run()
    assert mark_at(live, esa, 5, column) == (note, rgb_hex(CLERK_GREEN))
    assert mark_at(live, esa, 6, column)[1] == RED
    live.type_students(esa, 6, "90")
    live.run()
    assert mark_at(live, esa, 5, column) == (None, rgb_hex(CLERK_GREEN))  # the note was ours


def test_rows_inserted_or_deleted_above_a_mark_keep_it_on_its_school(live: Live) -> None:
    esa = live.esas[1]
    column = students_column(live, esa)
    live.type_students(esa, 8, "-3")
    live.run()
    mark = mark_at(live, esa, 7, column)
    assert mark[0] is not None
    code = data_values(live, esa)[7][0]
    with as_clerk(live.state, esa.spreadsheet_id) as doc:
        insert_rows(tab_of(doc, DATA), 3, 2)  # two rows inserted above: the school is row 10
    live.run()
    assert data_values(live, esa)[9][0] == code
    assert mark_at(live, esa, 9, column) == mark
    assert any(
        row[:2] == ["10", f"{'ABCDEFGHIJKLMNOPQRSTUVWXYZ'[column]}10"] for row in live.tab(esa)
    )
    assert [cell for cell in marked_cells(live, esa) if cell[1] == column] == [(9, column)]
    with as_clerk(live.state, esa.spreadsheet_id) as doc:
        delete_rows(tab_of(doc, DATA), 3, 3)  # the two blank rows and one school above it
    live.run()
    assert data_values(live, esa)[6][0] == code
    assert mark_at(live, esa, 6, column) == mark
    assert [cell for cell in marked_cells(live, esa) if cell[1] == column] == [(6, column)]
    recorded = [(m.row, m.column) for m in recorded_marks(live.engine, esa.esa_code)]
    assert (6, column) in recorded and (9, column) not in recorded


def test_what_a_clerk_deletes_comes_back_at_the_next_check(live: Live) -> None:
    esa = live.esas[0]
    column = students_column(live, esa)
    live.type_students(esa, 5, "-3")
    live.run()
    tab, mark = live.tab(esa), mark_at(live, esa, 4, column)
    # The tab deleted.
    with as_clerk(live.state, esa.spreadsheet_id) as doc:
        doc["sheets"].remove(tab_of(doc, TAB))
    _, results, _ = live.run()
    assert results[0].feedback_tab == "written" and live.tab(esa)[4:] == tab[4:]
    # The tab emptied.
    with as_clerk(live.state, esa.spreadsheet_id) as doc:
        tab_of(doc, TAB)["rows"] = []
    live.run()
    assert live.tab(esa)[4:] == tab[4:]
    # Our note and colour cleared.
    with as_clerk(live.state, esa.spreadsheet_id) as doc:
        set_note(tab_of(doc, DATA), 4, column, None)
        set_background(tab_of(doc, DATA), 4, column, None)
    live.run()
    assert mark_at(live, esa, 4, column) == mark
    # The tab renamed: the renamed one is the clerk's now, and ours is written again.
    with as_clerk(live.state, esa.spreadsheet_id) as doc:
        tab_of(doc, TAB)["title"] = "ผลตรวจสอบ (เก่า)"
    live.run()
    titles = [sheet["title"] for sheet in live.doc(esa)["sheets"]]
    assert TAB in titles and "ผลตรวจสอบ (เก่า)" in titles
    assert live.tab(esa)[4:] == tab[4:]


def test_our_own_writes_never_start_a_loop(live: Live) -> None:
    """Over several polls after a clerk's edit: the edit is read and written once; our write
    seen in the changes feed is at most re-checked once, finds nothing to write, and the
    polls after it cost the changes call alone."""
    esa = live.esas[2]
    live.type_students(esa, 5, "-9")
    totals: dict[str, int] = {}
    per_poll = []
    for _ in range(5):
        _, _, calls = live.run()
        per_poll.append(calls)
        for name, count in calls.items():
            totals[name] = totals.get(name, 0) + count
    assert per_poll[0] == {
        "drive.changes.list": 1,
        "spreadsheets.get": 1,
        "spreadsheets.batchUpdate": 1,
    }
    assert totals["spreadsheets.batchUpdate"] == 1
    assert totals.get("spreadsheets.get", 0) <= 2
    assert per_poll[-2:] == [{"drive.changes.list": 1}] * 2


def test_a_quiet_recheck_with_marks_in_place_writes_nothing(live: Live) -> None:
    """A clerk's edit that changes no finding, on a sheet we marked: read, nothing written."""
    esa = live.esas[1]
    live.type_students(esa, 5, "-3")
    live.run()
    header = tab_of(live.doc(esa), DATA)["rows"][0]
    remark = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"[header.index("หมายเหตุ")]
    edit_cell(live.state, esa.spreadsheet_id, f"'{DATA}'!{remark}9", "โทรยืนยันแล้ว")
    _, results, calls = live.run()
    assert results[0].feedback_tab == "unchanged"
    assert calls == {"drive.changes.list": 1, "spreadsheets.get": 1}


def test_findings_changed_on_an_unread_sheet_are_marked_after_one_read(live: Live) -> None:
    """The morning run reuses a sheet Drive says is unchanged; when its findings change all the
    same (the registry or the school's history moved), the sheet is read before marks are
    written (one call), so the clerk's note on the newly marked cell is kept."""
    esa = live.esas[0]
    column = students_column(live, esa)
    with as_clerk(live.state, esa.spreadsheet_id) as doc:
        set_note(tab_of(doc, DATA), 4, column, "ตัวเลขจากครูใหญ่")
    read = live.reader.read_data_tab(esa.spreadsheet_id, DATA)
    schools = load_school_registry(live.settings)
    day = date(2018, 1, 16)
    result = sheet_result(esa, day, raw_sheet(esa, read, day, None), schools, live.engine)
    unchanged = write_feedback_tab(esa, result, live.reader, live.engine, read=None)
    assert unchanged == "unchanged"  # same findings, sheet not read: the record stands
    moved = ResultFinding(
        esa=esa.esa_code,
        row=5,
        column="students",
        header="จำนวนนักเรียน",
        cell=f"{'ABCDEFGHIJKLMNOPQRSTUVWXYZ'[column]}5",
        severity="warning",
        code="implausible_change",
        message="จำนวนนักเรียนเปลี่ยนจากเดิมมากผิดปกติ",
        value="999",
    )
    changed = result.model_copy(update={"findings": (*result.findings, moved)})
    live.emulator.reset()
    assert write_feedback_tab(esa, changed, live.reader, live.engine, read=None) == "written"
    assert live.emulator.stats()["by_endpoint"] == {
        "spreadsheets.get": 1,
        "spreadsheets.batchUpdate": 1,
    }
    warning = load_contract().finding_cell_colors["warning"]
    assert mark_at(live, esa, 4, column) == ("ตัวเลขจากครูใหญ่", warning)


def test_a_note_of_ours_whose_record_was_lost_is_still_ours(live: Live) -> None:
    """The write went out but its record did not (the warehouse failed just after): the note
    ends with our signature line, so it is ours, and goes when its finding goes."""
    esa = live.esas[1]
    column = students_column(live, esa)
    live.type_students(esa, 5, "-3")
    live.run()
    with live.engine.begin() as conn:
        conn.execute(delete(CellMarkRow).where(CellMarkRow.esa_code == esa.esa_code))
    live.type_students(esa, 5, "120")
    live.run()
    assert mark_at(live, esa, 4, column) == (None, None)
