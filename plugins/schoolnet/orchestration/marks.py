"""Which notes and colours to write on the data tab so that it shows today's findings, changing
only what schoolnet itself put there.

Sheets keeps one note and one colour per cell, whoever set them. What the sheet holds now (the
data read's marks) is compared with what schoolnet recorded writing (``cell_mark``): a note or
colour found as recorded is ours, and may be changed or removed; anything else is the clerk's
and is never touched, even on a cell we also mark (then we write only the other of the two, or
nothing, and the finding stays in the feedback tab). A note found where it was recorded is ours
there; a note that moved with its row (a clerk inserted or deleted rows above it) is ours where
it is now, the nearest cell of its column holding exactly that text.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from schoolnet.ingestion.ingest import CellMark, hex_rgb
from schoolnet.validation.marks import CellNote
from schoolnet.warehouse.marks import RecordedMark

Cell = tuple[int, int]


@dataclass(frozen=True)
class MarkPlan:
    """The writes that bring the data tab's marks to today's findings (none: nothing to do),
    and what of the tab's marks is ours once they are written (the new record)."""

    writes: tuple[CellMark, ...]
    owned: tuple[RecordedMark, ...]


def plan_marks(
    wanted: Mapping[Cell, CellNote],
    present: Mapping[Cell, CellMark],
    recorded: Sequence[RecordedMark],
    sheet_id: int,
    signature: str | None = None,
    palette: frozenset[str] = frozenset(),
) -> MarkPlan:
    """The plan for the data tab ``sheet_id``: ``wanted`` (each finding's cell and its note),
    ``present`` (every note and colour on the tab now), ``recorded`` (what we wrote before).
    A note ending with ``signature`` (the line every note of ours ends with) is ours too,
    recorded or not: a write whose record was lost, or a note a clerk copied with its cell;
    and so is a colour of ours (``palette``) on such a cell."""
    ours_note, ours_color = _ours(present, [m for m in recorded if m.sheet_id == sheet_id])
    if signature:
        signed = {cell for cell, mark in present.items() if (mark.note or "").endswith(signature)}
        ours_note |= signed
        ours_color |= {cell for cell in signed if present[cell].hex_color in palette}
    writes: list[CellMark] = []
    owned: list[RecordedMark] = []
    for cell in sorted(set(wanted) | set(ours_note) | set(ours_color)):
        now = present.get(cell)
        note_now = now.note if now is not None else None
        color_now = now.hex_color if now is not None else None
        want = wanted.get(cell)
        note_free = note_now is None or cell in ours_note
        color_free = color_now is None or cell in ours_color
        note = want.note if want is not None and note_free else None
        color = want.color if want is not None and color_free else None
        sets_note = note_free and note != note_now
        sets_color = color_free and color != color_now
        row, column = cell
        if sets_note or sets_color:
            writes.append(
                CellMark(
                    sheet_id,
                    row,
                    column,
                    note=note if sets_note else None,
                    color=hex_rgb(color) if sets_color and color is not None else None,
                    sets_note=sets_note,
                    sets_color=sets_color,
                )
            )
        if note is not None or color is not None:
            owned.append(RecordedMark(row, column, sheet_id, note, color))
    return MarkPlan(tuple(writes), tuple(owned))


def _ours(
    present: Mapping[Cell, CellMark], recorded: Sequence[RecordedMark]
) -> tuple[set[Cell], set[Cell]]:
    """The cells whose note, and those whose colour, are ours now."""
    notes = {cell: mark.note for cell, mark in present.items() if mark.note}
    ours_note: dict[Cell, RecordedMark] = {}
    moved: list[RecordedMark] = []
    for mark in recorded:
        if mark.note is None:
            continue
        if notes.get((mark.row, mark.column)) == mark.note:
            ours_note[(mark.row, mark.column)] = mark
        else:
            moved.append(mark)
    for mark in moved:
        same = [
            cell
            for cell, note in notes.items()
            if cell[1] == mark.column and note == mark.note and cell not in ours_note
        ]
        if same:
            ours_note[min(same, key=lambda cell: (abs(cell[0] - mark.row), cell[0]))] = mark
    located = {id(mark) for mark in ours_note.values()}
    ours_color: set[Cell] = set()

    def colour_is(cell: Cell, color: str) -> bool:
        return cell in present and present[cell].hex_color == color

    for cell, mark in ours_note.items():
        if mark.color is not None and colour_is(cell, mark.color):
            ours_color.add(cell)
    for mark in recorded:
        cell = (mark.row, mark.column)
        if mark.color is not None and id(mark) not in located and colour_is(cell, mark.color):
            ours_color.add(cell)
    return set(ours_note), ours_color
