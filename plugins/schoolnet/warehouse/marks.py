"""The record of the marks schoolnet left on an ESA's data tab (``cell_mark``).

Sheets keeps one note and one background colour per cell, whoever set them. This record is how
schoolnet knows which of them are its own: only a note or colour found on the sheet as it was
recorded here is changed or removed; everything else is the clerk's.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import Engine, delete, insert, select

from schoolnet.warehouse.models import CellMarkRow


@dataclass(frozen=True, order=True)
class RecordedMark:
    """One cell's note and/or colour as schoolnet wrote it (0-based row and column of the
    data tab ``sheet_id``); None where the note or the colour is not ours."""

    row: int
    column: int
    sheet_id: int
    note: str | None = None
    color: str | None = None  # #rrggbb


def recorded_marks(engine: Engine, esa_code: str) -> list[RecordedMark]:
    """The marks last written on the ESA's data tab, by row and column."""
    query = (
        select(CellMarkRow)
        .where(CellMarkRow.esa_code == esa_code)
        .order_by(CellMarkRow.row_index, CellMarkRow.column_index)
    )
    with engine.connect() as conn:
        return [
            RecordedMark(row.row_index, row.column_index, row.sheet_id, row.note, row.color)
            for row in conn.execute(query)
        ]


def record_marks(engine: Engine, esa_code: str, marks: Iterable[RecordedMark]) -> None:
    """Replace the ESA's record with ``marks`` (what its data tab holds of ours after a write)."""
    now = datetime.now(UTC)
    rows = [
        {
            "esa_code": esa_code,
            "row_index": mark.row,
            "column_index": mark.column,
            "sheet_id": mark.sheet_id,
            "note": mark.note,
            "color": mark.color,
            "marked_at": now,
        }
        for mark in marks
        if mark.note is not None or mark.color is not None
    ]
    with engine.begin() as conn:
        conn.execute(delete(CellMarkRow).where(CellMarkRow.esa_code == esa_code))
        if rows:
            conn.execute(insert(CellMarkRow), rows)
