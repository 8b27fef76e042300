"""Turning school states into the cells of an ESA's sheet, with or without clerk mistakes.

A careful clerk types codes as text, counts and money as numbers, enums as their Thai label (a
few offices use the English keys), lists joined with ", " and dates as date cells. Mistakes are
attached to one school each and rendered on top of that clean row, so the true state (what the
clerk meant) never changes; the truth entries say exactly which cell holds each mistake.
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass, field
from datetime import date
from typing import Any, NamedTuple

from schoolnet.contract import Column, Contract
from schoolnet.devtools.demo.state import SchoolState
from schoolnet.validation.findings import column_letters

Cell = Any  # str | int | float | bool | None | dict: the emulator's cell format
Row = list[Cell]

SERIAL_EPOCH = date(1899, 12, 30)
BE_OFFSET = 543
THAI_DIGITS = str.maketrans("0123456789", "๐๑๒๓๔๕๖๗๘๙")
THAI_MONTHS_SHORT = (
    "ม.ค.", "ก.พ.", "มี.ค.", "เม.ย.", "พ.ค.", "มิ.ย.",
    "ก.ค.", "ส.ค.", "ก.ย.", "ต.ค.", "พ.ย.", "ธ.ค.",
)  # fmt: skip
THAI_MONTHS_LONG = (
    "มกราคม", "กุมภาพันธ์", "มีนาคม", "เมษายน", "พฤษภาคม", "มิถุนายน",
    "กรกฎาคม", "สิงหาคม", "กันยายน", "ตุลาคม", "พฤศจิกายน", "ธันวาคม",
)  # fmt: skip
_THAI_LETTER = re.compile("[\u0e01-\u0e4f]")

# Mistake kinds: (expected finding code, severity); None where the pipeline must accept the cell.
EXPECTED: dict[str, tuple[str | None, str | None]] = {
    "thai_digits": (None, None),
    "be_date": (None, None),
    "thai_provider": (None, None),
    "title_row": (None, None),
    "blank_required": ("missing_value", "error"),
    "duplicate_identical": ("duplicate_identical", "warning"),
    "duplicate_conflict": ("duplicate_conflict", "error"),
    "negative_count": ("negative_value", "error"),
    "other_esa_code": ("school_of_other_esa", "error"),
}
# How often each row-level kind is drawn (among those that fit the row).
KIND_WEIGHTS: dict[str, float] = {
    "thai_digits": 18,
    "be_date": 12,
    "thai_provider": 12,
    "blank_required": 14,
    "duplicate_identical": 8,
    "duplicate_conflict": 7,
    "negative_count": 10,
    "other_esa_code": 7,
}


@dataclass(frozen=True)
class SheetStyle:
    """How one ESA's clerk lays out and types the sheet (all valid under the contract)."""

    columns: tuple[Column, ...]  # header order
    enum_keys: bool  # English enum keys instead of Thai labels
    date_format: str


@dataclass(frozen=True)
class Mistake:
    """One clerk mistake on one school's row (or an extra row that school's row brings)."""

    kind: str
    column: str | None = None  # contract key of the cell that holds the mistake
    variant: int = 0  # which spelling, position or changed value
    other: SchoolState | None = None  # other_esa_code: the foreign school's row, frozen


@dataclass
class Marked:
    """A sheet row with the mistakes it carries: (kind, column key, value as typed)."""

    cells: Row
    marks: list[tuple[str, str, str]] = field(default_factory=list)


class Mark(NamedTuple):
    """Where one mistake sits in a rendered sheet; row, column and cell are None for a title."""

    row: int | None
    column: str | None
    cell: str | None
    kind: str
    value: str


def choose_style(rng: random.Random, contract: Contract) -> SheetStyle:
    columns = list(contract.columns)
    roll = rng.random()
    if roll < 0.04:  # name before code
        columns[0], columns[1] = columns[1], columns[0]
    elif roll < 0.08:  # status before the student count
        columns[2], columns[3] = columns[3], columns[2]
    elif roll < 0.11:  # note moved up next to the name
        columns.insert(2, columns.pop())
    return SheetStyle(
        columns=tuple(columns),
        enum_keys=rng.random() < 0.12,
        date_format="d/m/yyyy" if rng.random() < 0.8 else "dd/mm/yyyy",
    )


def serial(day: date) -> int:
    return (day - SERIAL_EPOCH).days


def thai_date(day: date, variant: int) -> str:
    """A date as a Thai clerk types it in text: Buddhist Era year, Thai month names."""
    year = day.year + BE_OFFSET
    if variant % 3 == 0:
        return f"{day.day}/{day.month}/{year}"
    if variant % 3 == 1:
        return f"{day.day} {THAI_MONTHS_SHORT[day.month - 1]} {year % 100:02d}"
    return f"{day.day} {THAI_MONTHS_LONG[day.month - 1]} {year}"


def title_text(day: date) -> str:
    return f"ข้อมูลการเชื่อมต่ออินเทอร์เน็ต ณ วันที่ {thai_date(day, 1)}"


def clean_cell(contract: Contract, style: SheetStyle, column: Column, value: Any) -> Cell:
    """The cell a careful clerk types for one normalized value."""
    if value is None or value == ():
        return None
    if column.type == "enum":
        assert column.enum is not None
        return value if style.enum_keys else contract.enum_label(column.enum, value)
    if column.type == "enum_list":
        assert column.enum is not None
        enum = column.enum
        items = value if style.enum_keys else [contract.enum_label(enum, k) for k in value]
        return ", ".join(items)
    if column.type == "date":
        return {"serial": serial(value), "format": style.date_format}
    return value


def clean_row(contract: Contract, style: SheetStyle, state: SchoolState) -> Row:
    return [clean_cell(contract, style, c, getattr(state, c.key)) for c in style.columns]


def normalized(column: Column, value: Any) -> str:
    """A value as `state/<day>.csv` writes it: keys, plain numbers, ISO dates, lists with ","."""
    if value is None or value == ():
        return ""
    if column.type == "enum_list":
        return ",".join(value)
    if column.type == "date":
        return str(value.isoformat())
    return str(value)


def required_keys(contract: Contract, state: SchoolState) -> list[str]:
    """Columns that must hold a value for this row (the school code aside: its own finding)."""
    keys = []
    for column in contract.columns:
        need = column.required
        positive = need.when_positive is not None and (getattr(state, need.when_positive) or 0) > 0
        if need.always or state.status in need.when_status or positive:
            keys.append(column.key)
    return [key for key in keys if key != "school_code"]


def provider_spellings(contract: Contract, style: SheetStyle, isp: str) -> list[str]:
    """Thai ways to type a provider that differ from what this sheet normally shows."""
    value = next(v for v in contract.enums["isp"] if v.key == isp)
    usual = clean_cell(contract, style, contract.column("isp"), isp)
    options = [s for s in (value.label, *value.aliases) if s != usual]
    thai = [s for s in options if _THAI_LETTER.search(s)]
    return thai or options


def applies(contract: Contract, style: SheetStyle, mistake: Mistake, state: SchoolState) -> bool:
    """Whether a mistake still makes sense for the school's current state."""
    if mistake.kind == "be_date":
        return state.service_start is not None
    if mistake.kind == "thai_provider":
        return state.isp is not None and bool(provider_spellings(contract, style, state.isp))
    if mistake.kind == "blank_required":
        return mistake.column in required_keys(contract, state)
    if mistake.kind == "negative_count":
        return state.students > 0
    return True


def draw_mistake(
    rng: random.Random,
    contract: Contract,
    style: SheetStyle,
    state: SchoolState,
    foreign: SchoolState | None,
) -> Mistake:
    """One mistake that fits this row; `foreign` is a school of another ESA, if any."""
    weights = dict(KIND_WEIGHTS)
    if foreign is None:
        del weights["other_esa_code"]
    for kind in ("be_date", "thai_provider", "negative_count"):
        if not applies(contract, style, Mistake(kind), state):
            del weights[kind]
    kind = rng.choices(list(weights), weights=list(weights.values()))[0]
    variant = rng.randrange(1000)
    if kind == "thai_digits":
        return Mistake(kind, rng.choice(("students", "students", "school_code")), variant)
    if kind == "be_date":
        return Mistake(kind, "service_start", variant)
    if kind == "thai_provider":
        return Mistake(kind, "isp", variant)
    if kind == "blank_required":
        return Mistake(kind, rng.choice(required_keys(contract, state)), variant)
    if kind == "negative_count":
        return Mistake(kind, "students", variant)
    if kind == "duplicate_conflict":
        delta = rng.randint(1, 30) * rng.choice((-1, 1))
        if state.students + delta <= 0:
            delta = abs(delta)
        return Mistake(kind, "school_code", delta)
    return Mistake(kind, "school_code", variant, other=foreign)


def _index(style: SheetStyle, key: str) -> int:
    return next(i for i, c in enumerate(style.columns) if c.key == key)


def _typed(cell: Cell) -> str:
    if cell is None:
        return ""
    return str(cell)


def _apply_cell(
    contract: Contract, style: SheetStyle, mistake: Mistake, state: SchoolState, cells: Row
) -> str:
    """Put a cell-level mistake into `cells`; return the value as typed."""
    assert mistake.column is not None
    at = _index(style, mistake.column)
    if mistake.kind == "thai_digits":
        cells[at] = str(getattr(state, mistake.column)).translate(THAI_DIGITS)
    elif mistake.kind == "be_date":
        assert state.service_start is not None
        cells[at] = thai_date(state.service_start, mistake.variant)
    elif mistake.kind == "thai_provider":
        assert state.isp is not None
        options = provider_spellings(contract, style, state.isp)
        cells[at] = options[mistake.variant % len(options)]
    elif mistake.kind == "blank_required":
        cells[at] = None
    elif mistake.kind == "negative_count":
        cells[at] = -state.students
    return _typed(cells[at])


def render(
    contract: Contract,
    style: SheetStyle,
    states: list[SchoolState],
    mistakes: dict[str, Mistake],
    title: str | None,
) -> tuple[list[Row], list[Mark]]:
    """The sheet's rows, and where each mistake sits (row numbers as Sheets shows them)."""
    body: list[Marked] = []
    tail: list[Marked] = []
    code_at = _index(style, "school_code")
    for state in states:
        cells = clean_row(contract, style, state)
        mistake = mistakes.get(state.school_code)
        if mistake is None:
            body.append(Marked(cells))
            continue
        code = state.school_code
        if mistake.kind == "duplicate_identical":
            body.append(Marked(cells))
            copy = Marked(list(cells), [(mistake.kind, "school_code", code)])
            (tail if mistake.variant % 2 else body).append(copy)
        elif mistake.kind == "duplicate_conflict":
            body.append(Marked(cells, [(mistake.kind, "school_code", code)]))
            changed = list(cells)
            changed[_index(style, "students")] = state.students + mistake.variant
            body.append(Marked(changed, [(mistake.kind, "school_code", code)]))
        elif mistake.kind == "other_esa_code":
            assert mistake.other is not None
            body.append(Marked(cells))
            foreign = clean_row(contract, style, mistake.other)
            tail.append(Marked(foreign, [(mistake.kind, "school_code", foreign[code_at])]))
        else:
            value = _apply_cell(contract, style, mistake, state, cells)
            body.append(Marked(cells, [(mistake.kind, str(mistake.column), value)]))
    rows: list[Row] = []
    marks: list[Mark] = []
    if title is not None:
        rows.append([title])
        marks.append(Mark(None, None, None, "title_row", title))
    rows.append([c.header for c in style.columns])
    for marked in body + tail:
        rows.append(_trim(marked.cells))
        for kind, key, value in marked.marks:
            cell = f"{column_letters(_index(style, key))}{len(rows)}"
            marks.append(Mark(len(rows), key, cell, kind, value))
    return rows, marks


def _trim(cells: Row) -> Row:
    """Drop trailing empty cells, as the Sheets API does."""
    end = len(cells)
    while end and cells[end - 1] in (None, ""):
        end -= 1
    return cells[:end]
