"""Validation of one district sheet against the contract (``district_sheet.yaml``).

Hand-written on purpose. Frictionless and pandera were both tried: Frictionless reads
``15/01/2561`` as the year 2561 CE and speaks only English; pandera reports 0-based index
positions and piles follow-up failures onto a failed coercion. Clerks need Thai messages that
name the A1 cell they typed, BE dates and Thai digits read the way they meant them, and ~29,000
rows a day checked in about a second: a plain loop over column parsers compiled once per
contract gives all three.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from functools import partial
from typing import Any, Literal

from schoolnet.contract import Column, Contract, load_contract
from schoolnet.core.previous import PreviousBySchool, PreviousValues
from schoolnet.core.registry import School
from schoolnet.core.text import SPACES, canonical
from schoolnet.validation.findings import (
    Finding,
    MessageBook,
    a1,
    format_number,
    thai_date,
)
from schoolnet.validation.normalize import (
    EMPTY_MARKS,
    FORMULA_ERRORS,
    EnumLookup,
    NormalizeError,
    cell_text,
    fold,
    is_blank,
    name_key,
    normalize_date,
    normalize_school_code,
    normalize_text,
    number_parser,
    shown_serial,
)
from schoolnet.validation.suggest import suggest_school

# accepted: rows without errors are merged; rejected: nothing is read (header or an always-required
# column missing); quarantined: readable, but held back whole until an operator accepts it
# (see :func:`schoolnet.validation.quarantine.apply_quarantine`).
Outcome = Literal["accepted", "rejected", "quarantined"]
_ABSENT = 10_000  # sort position of a finding about a column the sheet does not have


@dataclass(frozen=True)
class RowResult:
    """One non-blank data row: its sheet row number, school, verdict and normalized values."""

    row: int
    school_code: str | None
    accepted: bool
    values: dict[str, Any]
    # An identical copy of an earlier row: the contract counts the pair as one row (that
    # earlier one) plus a warning, so a copy is neither accepted nor rejected on its own.
    duplicate_of: int | None = None

    def to_json_dict(self) -> dict[str, Any]:
        shape: dict[str, Any] = {
            "row": self.row,
            "school_code": self.school_code,
            "accepted": self.accepted,
            "values": {key: _json_value(value) for key, value in self.values.items()},
        }
        if self.duplicate_of is not None:
            shape["duplicate_of"] = self.duplicate_of
        return shape


@dataclass(frozen=True)
class SheetValidation:
    """The verdict on one ESA's sheet: usable or not, each row, each finding, who is missing.

    A quarantined sheet keeps each row's own verdict (``accepted`` per row, for the feedback),
    but none of its rows may be merged.
    """

    esa_code: str
    outcome: Outcome
    rows: tuple[RowResult, ...]
    findings: tuple[Finding, ...]
    not_reported: tuple[str, ...]

    @property
    def accepted_rows(self) -> tuple[RowResult, ...]:
        return tuple(row for row in self.rows if row.accepted)

    @property
    def rejected_rows(self) -> tuple[RowResult, ...]:
        """Rows an error rejected; an identical copy is not one (its first row carries it)."""
        return tuple(row for row in self.rows if not row.accepted and row.duplicate_of is None)

    @property
    def duplicate_copies(self) -> tuple[RowResult, ...]:
        return tuple(row for row in self.rows if row.duplicate_of is not None)

    def to_json_dict(self) -> dict[str, Any]:
        """The ``schoolnet validate --json`` shape of the contract (dates ISO, lists arrays)."""
        return {
            "esa": self.esa_code,
            "outcome": self.outcome,
            "rows": [row.to_json_dict() for row in self.rows],
            "findings": [
                {k: v for k, v in finding.to_dict().items() if k != "esa"}
                for finding in self.findings
            ],
        }


def _json_value(value: Any) -> Any:
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, list):
        return list(value)
    return value


# ---------------------------------------------------------------------------------------------
# The contract, compiled once


class _Plan:
    """How to read and check one contract column."""

    __slots__ = (
        "change_at_least",
        "change_factor",
        "change_unless",
        "column",
        "date",
        "error_above",
        "future_error",
        "header",
        "hint",
        "key",
        "link_maxima",
        "min_exclusive",
        "minimum",
        "numeric",
        "order",
        "parse",
        "warn_above",
        "warn_below",
        "warn_column",
        "warn_column_code",
    )

    def __init__(self, column: Column, order: int, contract: Contract, book: MessageBook) -> None:
        self.column = column
        self.key = column.key
        self.header = column.header
        self.order = order
        self.numeric = column.type in ("integer", "number")
        self.minimum = column.rule("min")
        self.min_exclusive = column.rule("min_exclusive")
        self.error_above = column.rule("error_above")
        self.warn_above = column.rule("warn_above")
        self.warn_below = column.rule("warn_below")
        self.warn_column: str | None = column.rule("warn_above_column")
        self.warn_column_code: str = column.rule("warn_above_column_code", "unusually_large")
        self.future_error = column.rule("future") == "error"
        # The school's own history: a change from its last accepted value by this factor or
        # more (and by at least this much) is implausible, unless the named cells changed too.
        self.change_factor: float | None = column.rule("change_factor")
        self.change_at_least: float = column.rule("change_at_least", 0)
        self.change_unless: tuple[str, ...] = tuple(column.rule("change_unless_changed", ()))
        # What each link type can carry (a speed beyond it is implausible for that link).
        self.link_maxima: dict[str, float] = dict(column.rule("max_by_link_type") or {})
        self.date = column.type == "date"
        hint = column.rule("hint")
        self.parse: Callable[[Any], Any]
        if column.type == "school_code":
            self.parse = partial(normalize_school_code, digits=int(column.rule("digits", 10)))
        elif column.type == "text":
            self.parse = normalize_text
        elif column.type in ("integer", "number"):
            self.parse = number_parser(column.type, column.rule("units", ()))
        elif column.type == "date":
            self.parse = normalize_date
        elif column.type in ("enum", "enum_list"):
            if column.enum is None or column.enum not in contract.enums:
                raise ValueError(f"column {column.key}: unknown enum {column.enum!r}")
            lookup = EnumLookup(contract.enums[column.enum])
            labels = ", ".join(lookup.labels)
            if column.type == "enum":
                self.parse = lookup.normalize
                hint = hint or book.text("enum_hint", labels=labels)
            else:
                self.parse = lookup.normalize_list
                hint = hint or book.text("enum_list_hint", labels=labels)
        else:
            raise ValueError(f"column {column.key}: unknown type {column.type!r}")
        self.hint: str = hint or ""


class _Compiled:
    """Everything about a contract that does not change between sheets."""

    def __init__(self, contract: Contract) -> None:
        self.contract = contract
        self.book = MessageBook(contract)
        self.plans = tuple(
            _Plan(column, order, contract, self.book)
            for order, column in enumerate(contract.columns)
        )
        self.by_key = {plan.key: plan for plan in self.plans}
        self.header_lookup: dict[str, int] = {}
        for plan in self.plans:
            for spelling in (plan.header, plan.key, *plan.column.header_aliases):
                self.header_lookup[fold(spelling)] = plan.order
        self.min_match = contract.header_min_match_share * len(self.plans)
        self.code_key = next(p.key for p in self.plans if p.column.type == "school_code")
        name_plans = [p for p in self.plans if p.column.rule("strip_prefixes") is not None]
        self.name_key = name_plans[0].key if name_plans else None
        self.name_prefixes: tuple[str, ...] = (
            tuple(name_plans[0].column.rule("strip_prefixes")) if name_plans else ()
        )
        self.name_prefix_keys = tuple(fold(prefix) for prefix in self.name_prefixes)
        self.status_labels: dict[str, str] = {}
        status = self.by_key.get("status")
        if status is not None and status.column.enum is not None:
            self.status_labels = {v.key: v.label for v in contract.enums[status.column.enum]}
        self.checked = tuple(
            p for p in self.plans if p.column.required.always or p.column.required.conditional
        )
        self.cross = tuple(p for p in self.plans if p.warn_column is not None)
        self.history = tuple(p for p in self.plans if p.change_factor is not None)
        self.link_checked = tuple(p for p in self.plans if p.link_maxima)
        self.link_labels: dict[str, str] = {}
        link = self.by_key.get("link_type")
        if link is not None and link.column.enum is not None:
            self.link_labels = {v.key: v.label for v in contract.enums[link.column.enum]}
        shapes = contract.clerk_shapes
        self.sequence_headers = frozenset(fold(header) for header in shapes.sequence_headers)
        labels = sorted((_label_form(label) for label in shapes.total_labels), key=len)
        # A label alone, or followed by a space, ":" or "(" (`รวม 150 โรงเรียน`): `รวมมิตร`,
        # a name that merely starts with a label, is not one.
        self.total_label = re.compile(
            "(?:" + "|".join(re.escape(label) for label in reversed(labels)) + r")(?:$|[\s:(])"
            if labels
            else r"(?!)"
        )


_COMPILED: dict[int, _Compiled] = {}


def _compile(contract: Contract) -> _Compiled:
    compiled = _COMPILED.get(id(contract))
    if compiled is None or compiled.contract is not contract:
        if len(_COMPILED) > 8:
            _COMPILED.clear()
        compiled = _COMPILED[id(contract)] = _Compiled(contract)
    return compiled


# ---------------------------------------------------------------------------------------------
# One sheet


class _Row:
    """A data row while it is being checked."""

    __slots__ = (
        "code",
        "code_error",
        "duplicate_of",
        "failed",
        "findings",
        "number",
        "raws",
        "rejected",
        "values",
    )

    def __init__(self, number: int, raws: list[Any]) -> None:
        self.number = number
        self.raws = raws
        self.values: dict[str, Any] = {}
        self.failed: set[str] = set()  # keys of cells unreadable or beyond their error limits
        self.code: str | None = None
        # The code cell's reading error (code, variant, params), told with the school it means.
        self.code_error: tuple[str, str | None, dict[str, str]] | None = None
        self.findings: list[tuple[int, Finding]] = []
        self.rejected = False
        self.duplicate_of: int | None = None


class _Header:
    """The header row: where each contract column is, the cells it does not know, and the
    sequence columns (``ลำดับ``) that are read as nothing."""

    __slots__ = ("index", "matched", "sequence", "unknown")

    def __init__(self, index: int, row: Sequence[Any], compiled: _Compiled) -> None:
        self.index = index
        self.matched: dict[int, int] = {}  # contract order -> sheet column
        self.unknown: list[tuple[int, str, int | None]] = []
        self.sequence: set[int] = set()
        for position, cell in enumerate(row):
            if is_blank(cell):
                continue
            folded = fold(cell_text(cell))
            order = compiled.header_lookup.get(folded)
            if order is None:
                if folded in compiled.sequence_headers:
                    self.sequence.add(position)
                else:
                    self.unknown.append((position, cell_text(cell).strip(), None))
            elif order in self.matched:
                self.unknown.append((position, cell_text(cell).strip(), self.matched[order]))
            else:
                self.matched[order] = position

    def found(self, compiled: _Compiled) -> bool:
        return bool(self.matched) and len(self.matched) >= compiled.min_match


def _find_header(values: Sequence[Sequence[Any]], compiled: _Compiled) -> _Header | None:
    """The header row: the first of the contract's search rows matching enough headers."""
    for index, row in enumerate(values[: compiled.contract.header_search_rows]):
        header = _Header(index, row, compiled)
        if header.found(compiled):
            return header
    return None


def _label_form(text: str) -> str:
    """A cell's text as total labels are compared: look-alikes as one, spaces single, no case."""
    return SPACES.sub(" ", canonical(text)).strip().casefold()


def _without_nul(values: Sequence[Sequence[Any]]) -> Sequence[Sequence[Any]]:
    """The cells with every NUL character removed: PostgreSQL text cannot hold one (a single
    NUL pasted into a cell would fail the whole day's merge), and no clerk means one."""

    def has_nul(row: Sequence[Any]) -> bool:
        return any(isinstance(cell, str) and "\x00" in cell for cell in row)

    if not any(has_nul(row) for row in values):
        return values
    return [
        [cell.replace("\x00", "") if isinstance(cell, str) else cell for cell in row]
        if has_nul(row)
        else row
        for row in values
    ]


def validate_sheet(
    values: Sequence[Sequence[Any]],
    *,
    esa_code: str,
    schools: Mapping[str, School],
    today: date,
    contract: Contract | None = None,
    tab_title: str | None = None,
    previous: PreviousBySchool | None = None,
) -> SheetValidation:
    """Check one ESA's data tab (cells as the Sheets API returns them) against the contract.

    ``values[i]`` is sheet row ``i + 1``. ``tab_title``, when given and not the contract's data
    tab, adds a ``data_tab_missing`` warning (the puller fell back to the first tab).
    ``previous`` holds each school's last accepted values: every accepted row is compared with
    them, and an implausible change is a warning on its cell (the row is still accepted).
    """
    compiled = _compile(contract if contract is not None else load_contract())
    book = compiled.book
    sheet: list[tuple[int, int, Finding]] = []  # (row sort, column sort, finding)
    values = _without_nul(values)

    if tab_title is not None and fold(tab_title) != fold(compiled.contract.data_tab):
        sheet.append(
            (
                -1,
                -1,
                book.finding(
                    "data_tab_missing",
                    esa_code=esa_code,
                    value=tab_title,
                    tab=tab_title,
                    data_tab=compiled.contract.data_tab,
                ),
            )
        )

    header = _find_header(values, compiled)
    if header is None:
        sheet.append(
            (
                -1,
                -1,
                book.finding(
                    "header_not_found",
                    esa_code=esa_code,
                    search_rows=str(compiled.contract.header_search_rows),
                ),
            )
        )
        return _result(esa_code, "rejected", [], sheet, ())
    header_index, matched = header.index, header.matched
    header_row = header_index + 1
    for position, text, first in header.unknown:
        sheet.append(
            (
                header_row,
                position,
                book.finding(
                    "unknown_column",
                    esa_code=esa_code,
                    row=header_row,
                    cell=a1(position, header_row),
                    header=text,
                    value=text,
                    variant=None if first is None else "duplicate",
                    first_cell=a1(first, header_row) if first is not None else "",
                ),
            )
        )
    missing = [p for p in compiled.plans if p.column.required.always and p.order not in matched]
    for plan in missing:
        sheet.append(
            (
                -1,
                _ABSENT + plan.order,
                book.finding(
                    "missing_column",
                    esa_code=esa_code,
                    column=plan.key,
                    header=plan.header,
                ),
            )
        )
    if missing:
        return _result(esa_code, "rejected", [], sheet, ())

    checker = _RowChecker(matched, compiled, esa_code, schools, today, previous or {})
    checker.sequence = header.sequence
    rows = _check_rows(values, header_index, checker)
    if checker.headings:
        numbers = [number for number, _ in checker.headings]
        sheet.append(
            (
                -1,
                -1,
                book.finding(
                    "heading_rows_skipped",
                    esa_code=esa_code,
                    row=numbers[0],
                    value=checker.headings[0][1],
                    rows=_row_list(numbers),
                ),
            )
        )
    _check_duplicates(rows, matched, compiled, esa_code)
    if previous:
        for row in rows:
            if not row.rejected and row.duplicate_of is None:
                checker.check_history(row)

    seen = {row.code for row in rows if row.code is not None}
    not_reported = tuple(code for code in _codes_of_esa(schools, esa_code) if code not in seen)
    code_plan = compiled.by_key[compiled.code_key]
    for code in not_reported:
        sheet.append(
            (
                -1,
                _ABSENT,
                book.finding(
                    "not_reported",
                    esa_code=esa_code,
                    column=code_plan.key,
                    header=code_plan.header,
                    value=code,
                    school_code=code,
                    school_name=schools[code].school_name,
                ),
            )
        )
    return _result(esa_code, "accepted", rows, sheet, not_reported)


_BY_ESA: list[tuple[Mapping[str, School], int, dict[str, list[str]]]] = []
_NAMES: list[tuple[Mapping[str, School], int, tuple[str, ...], frozenset[str]]] = []


def _registry_names(schools: Mapping[str, School], prefixes: tuple[str, ...]) -> frozenset[str]:
    """Every registry school's name as names compare, built once per registry (only a row
    that looks like a heading asks)."""
    entry = _NAMES[0] if _NAMES else None
    if entry is None or entry[0] is not schools or entry[1] != len(schools) or entry[2] != prefixes:
        names = frozenset(name_key(school.school_name, prefixes) for school in schools.values())
        entry = (schools, len(schools), prefixes, names)
        _NAMES[:] = [entry]
    return entry[3]


def _has_letter(text: str) -> bool:
    """Text with a letter (Thai or Latin): a label or a heading, not a number, a mark or a
    formula an exported file kept no value for (``=SUM(...)``)."""
    return not text.startswith("=") and any(char.isalpha() for char in text)


def _codes_of_esa(schools: Mapping[str, School], esa_code: str) -> list[str]:
    """The registry's school codes of one ESA, sorted. The registry is grouped by ESA once per
    registry (a morning validates 245 sheets against one), not scanned whole for every sheet;
    a registry is read whole for the day and never changed while sheets are checked."""
    entry = _BY_ESA[0] if _BY_ESA else None
    if entry is None or entry[0] is not schools or entry[1] != len(schools):
        grouped: dict[str, list[str]] = {}
        for school in schools.values():
            grouped.setdefault(school.esa_code, []).append(school.school_code)
        for codes in grouped.values():
            codes.sort()
        entry = (schools, len(schools), grouped)
        _BY_ESA[:] = [entry]
    return entry[2].get(esa_code, [])


def _result(
    esa_code: str,
    outcome: Outcome,
    rows: list[_Row],
    sheet: list[tuple[int, int, Finding]],
    not_reported: tuple[str, ...],
) -> SheetValidation:
    ordered = sorted(sheet, key=lambda item: (item[0], item[1]))  # stable: insertion order kept
    findings = [finding for _, _, finding in ordered]
    results = []
    for row in rows:
        row.findings.sort(key=lambda item: item[0])
        findings.extend(finding for _, finding in row.findings)
        results.append(
            RowResult(
                row=row.number,
                school_code=row.code,
                accepted=not row.rejected and row.duplicate_of is None,
                values=row.values,
                duplicate_of=row.duplicate_of,
            )
        )
    return SheetValidation(
        esa_code=esa_code,
        outcome=outcome,
        rows=tuple(results),
        findings=tuple(findings),
        not_reported=not_reported,
    )


def _row_list(numbers: list[int]) -> str:
    """Row numbers as a clerk reads them: ``3, 30 และ 61``."""
    shown = [str(number) for number in numbers]
    return shown[0] if len(shown) == 1 else ", ".join(shown[:-1]) + " และ " + shown[-1]


def _check_rows(
    values: Sequence[Sequence[Any]], header_index: int, checker: _RowChecker
) -> list[_Row]:
    """Read and check every non-blank row below the header, one cell at a time. A row with no
    school code that is the clerk's shape (the header again, a totals row, a group heading) is
    not a school row: it is skipped before any check, so it is neither read nor rejected."""
    rows: list[_Row] = []
    code_key = checker.compiled.code_key
    for index in range(header_index + 1, len(values)):
        cells = values[index]
        if not cells:
            continue
        row = checker.read_cells(index + 1, cells)
        if row is None:
            # Blank in the contract's columns: skipped, but a heading typed (or merged) into
            # the sequence column is still named in the headings' warning.
            checker.clerk_shape(index + 1, cells)
            continue
        if row.values.get(code_key) is None and checker.clerk_shape(row.number, cells):
            continue
        rows.append(row)
        checker.check_school(row)
        checker.check_required(row)
        checker.check_cross(row)
    return rows


class _RowChecker:
    """The checks of one row, in the order a clerk would fix them: each cell alone, the school
    it names, the cells its status or amounts make required, and numbers compared."""

    def __init__(
        self,
        matched: dict[int, int],
        compiled: _Compiled,
        esa_code: str,
        schools: Mapping[str, School],
        today: date,
        previous: PreviousBySchool,
    ) -> None:
        self.compiled = compiled
        self.book = compiled.book
        self.esa_code = esa_code
        self.schools = schools
        self.today = today
        self.previous = previous
        self.present = [
            (compiled.plans[order], position) for order, position in sorted(matched.items())
        ]
        self.positions = [position for _, position in self.present]
        self.where = {plan.key: position for plan, position in self.present}
        self.slot = {plan.key: index for index, (plan, _) in enumerate(self.present)}
        self.code_plan = compiled.by_key[compiled.code_key]
        self.sequence: set[int] = set()  # sheet columns of the header's sequence columns
        self.headings: list[tuple[int, str]] = []  # (row, text) of the group headings skipped

    def clerk_shape(self, number: int, cells: Sequence[Any]) -> bool:
        """Whether a row without a school code is the clerk's shape, not a school: the header
        typed again over a pasted block, a totals row, or a group heading (kept for the one
        warning). A school's name alone is not a heading: it is a school missing its code."""
        compiled = self.compiled
        if _Header(0, cells, compiled).found(compiled):
            return True
        texts = [
            (position, cell_text(cell).strip())
            for position, cell in enumerate(cells)
            if not is_blank(cell)
        ]
        first_text = next((text for _, text in texts if _has_letter(text)), None)
        if first_text is None:
            return False
        if compiled.total_label.match(_label_form(first_text)):
            return True  # its sums, typed or computed, are not read
        # A sequence column's number does not count; a heading merged over it does.
        filled = [
            text for position, text in texts if position not in self.sequence or _has_letter(text)
        ]
        if len(filled) != 1 or filled[0] != first_text or self.is_school_name(first_text):
            return False
        self.headings.append((number, first_text))
        return True

    def is_school_name(self, text: str) -> bool:
        """A school's name: the name column's prefix (``โรงเรียน``, ``รร.``) or a registry name."""
        if fold(text).startswith(self.compiled.name_prefix_keys):
            return True
        return name_key(text, self.compiled.name_prefixes) in _registry_names(
            self.schools, self.compiled.name_prefixes
        )

    def add(
        self,
        row: _Row,
        code: str,
        plan: _Plan,
        variant: str | None = None,
        **params: str,
    ) -> None:
        """One finding about ``plan``'s cell of ``row``; an error rejects the row."""
        position = self.where.get(plan.key)
        finding = self.book.finding(
            code,
            esa_code=self.esa_code,
            row=row.number,
            column=plan.key,
            header=plan.header,
            cell=None if position is None else a1(position, row.number),
            value=None if position is None else self.quoted(row, plan),
            variant=variant,
            hint=plan.hint,
            **params,
        )
        row.findings.append((_ABSENT + plan.order if position is None else position, finding))
        if finding.severity == "error":
            row.rejected = True

    def quoted(self, row: _Row, plan: _Plan) -> str:
        """The cell as the clerk sees it in the sheet. A date the Sheets API gave as its serial
        number (a plain int or float) in a date column, read as a date, is quoted as the sheet
        shows it (``4/1/2018``), not as ``43104``; an exported file's date cells know how they
        showed (``DateSerial``), and anything else is quoted as typed."""
        raw = row.raws[self.slot[plan.key]]
        if plan.date and type(raw) in (int, float) and plan.key not in row.failed:
            return shown_serial(raw)
        return cell_text(raw)

    def read_cells(self, number: int, cells: Sequence[Any]) -> _Row | None:
        """The row with each cell parsed and checked alone, or None if every cell is blank."""
        width = len(cells)
        raws = [cells[p] if p < width else None for p in self.positions]
        row = _Row(number, raws)
        row_values = row.values
        filled = False
        add = self.add
        for (plan, _), raw in zip(self.present, raws, strict=True):
            if raw is None or raw == "" or (type(raw) is str and is_blank(raw)):
                row_values[plan.key] = None
                continue
            filled = True
            try:
                value = plan.parse(raw)
            except NormalizeError as error:
                row_values[plan.key] = None
                row.failed.add(plan.key)
                variant = error.variant
                if type(raw) is str and raw.strip() in FORMULA_ERRORS:
                    variant = "formula"  # the cell shows a failed formula, not what was typed
                if plan.key == self.compiled.code_key:
                    # Told in check_school, once the row's name is read: it may name the school.
                    row.code_error = (error.code, variant, error.params)
                    continue
                add(row, error.code, plan, variant, **error.params)
                continue
            row_values[plan.key] = value
            if plan.numeric:
                _check_bounds(row, plan, value, add)
            elif plan.future_error and value > self.today:
                add(row, "future_date", plan, date=thai_date(value))
        return row if filled else None

    def check_school(self, row: _Row) -> None:
        """The school of the row: its code given, registered, of this ESA, and its name."""
        compiled = self.compiled
        code_plan = self.code_plan
        code = row.values.get(code_plan.key)
        if code is None:
            if row.code_error is not None:  # a code that is not 10 digits: the name may help
                error_code, variant, params = row.code_error
                suggestion = self.suggestion(row, None)
                self.add(row, error_code, code_plan, variant, **params, suggestion=suggestion)
            elif code_plan.key not in row.failed:
                suggestion = self.suggestion(row, None)
                self.add(row, "missing_school_code", code_plan, suggestion=suggestion)
            return
        row.code = code
        school = self.schools.get(code)
        if school is None:
            suggestion = self.suggestion(row, code)
            self.add(row, "unknown_school", code_plan, school_code=code, suggestion=suggestion)
        elif school.esa_code != self.esa_code:
            self.add(
                row,
                "school_of_other_esa",
                code_plan,
                school_code=code,
                school_name=school.school_name,
                other_esa=school.esa_code,
                suggestion=self.suggestion(row, code),
            )
        elif compiled.name_key is not None:
            name = row.values.get(compiled.name_key)
            prefixes = compiled.name_prefixes
            if name is not None and name_key(name, prefixes) != name_key(
                school.school_name, prefixes
            ):
                self.add(
                    row,
                    "name_mismatch",
                    compiled.by_key[compiled.name_key],
                    registry_name=school.school_name,
                )

    def suggestion(self, row: _Row, typed_code: str | None) -> str:
        """The message's hint at the school the row's name names (validation/suggest.py)."""
        compiled = self.compiled
        if compiled.name_key is None:
            return ""
        school = suggest_school(
            self.schools,
            self.esa_code,
            row.values.get(compiled.name_key),
            typed_code,
            compiled.name_prefixes,
        )
        if school is None:
            return ""
        return self.book.text(
            "school_suggestion", school_name=school.school_name, school_code=school.school_code
        )

    def check_required(self, row: _Row) -> None:
        """Cells required always, or under a condition on the row's status or an amount."""
        compiled = self.compiled
        row_values = row.values
        for plan in compiled.checked:
            if plan.key == compiled.code_key or plan.key in row.failed:
                continue
            if row_values.get(plan.key) is not None:
                continue
            required = plan.column.required
            absent = plan.key not in self.where
            if required.always:
                dash = not absent and _is_dash(row.raws[self.slot[plan.key]])
                self.add(row, "missing_value", plan, variant="dash" if dash else None)
                continue
            status = row_values.get("status")
            if status is not None and status in required.when_status:
                self.add(
                    row,
                    "missing_value",
                    plan,
                    variant="status_no_column" if absent else "status",
                    status_label=compiled.status_labels.get(status, status),
                )
                continue
            if required.when_positive is not None:
                amount = row_values.get(required.when_positive)
                if isinstance(amount, int | float) and amount > 0:
                    self.add(
                        row,
                        "missing_value",
                        plan,
                        variant="positive_no_column" if absent else "positive",
                        amount=format_number(amount),
                    )

    def check_cross(self, row: _Row) -> None:
        """One number above another it should not exceed (upload above download)."""
        for plan in self.compiled.cross:
            assert plan.warn_column is not None
            if plan.key in row.failed or plan.warn_column in row.failed:
                continue
            value = row.values.get(plan.key)
            other = row.values.get(plan.warn_column)
            if value is not None and other is not None and value > other:
                other_raw = row.raws[self.slot[plan.warn_column]]
                self.add(
                    row,
                    plan.warn_column_code,
                    plan,
                    other=cell_text(other_raw).strip(),
                    other_header=self.compiled.by_key[plan.warn_column].header,
                )
        for plan in self.compiled.link_checked:
            self.check_link_capacity(row, plan)

    def check_link_capacity(self, row: _Row, plan: _Plan) -> None:
        """A speed beyond what the row's link type can carry (a DSL line at 512 Mbps: kbps
        typed). Confirmed, and silent, once the same speed and link were accepted before."""
        if plan.key in row.failed:
            return
        value = row.values.get(plan.key)
        if value is None:
            return
        link = row.values.get("link_type")
        limit = plan.link_maxima.get(link) if isinstance(link, str) else None
        if limit is None or value <= limit:
            return
        assert isinstance(link, str)
        before = self.previous.get(row.code) if row.code is not None else None
        if (
            before is not None
            and before.values.get("link_type") == link
            and before.values.get(plan.key) == value
        ):
            return
        self.add(
            row,
            "speed_beyond_link_type",
            plan,
            limit=format_number(limit),
            link_type=self.compiled.link_labels.get(link, link),
        )

    def check_history(self, row: _Row) -> None:
        """Each number against the school's last accepted value: a change by the contract's
        factor or more is a warning quoting that value and its date. A cell that already has
        a finding gets no second one; an emptied cell (a connection ended) is no change."""
        assert row.code is not None
        before = self.previous.get(row.code)
        if before is None:
            return
        values, earlier = row.values, before.values
        for plan in self.compiled.history:
            value = values.get(plan.key)
            old = earlier.get(plan.key)
            if value == old or value is None or old is None:
                continue  # the common case: unchanged, or nothing to compare
            if plan.key in row.failed or any(f.column == plan.key for _, f in row.findings):
                continue
            if not isinstance(value, int | float) or not isinstance(old, int | float):
                continue
            if plan.change_unless and any(
                values.get(key) != earlier.get(key) for key in plan.change_unless
            ):
                continue
            assert plan.change_factor is not None
            if implausible_change(old, value, plan.change_factor, plan.change_at_least):
                self.add(
                    row,
                    "implausible_change",
                    plan,
                    previous=format_number(old),
                    previous_date=thai_date(before.accepted_on),
                    limit=format_number(plan.change_factor),
                )


def implausible_change(old: float, new: float, factor: float, at_least: float) -> bool:
    """Whether ``old`` -> ``new`` is a change by ``factor`` or more either way (a tenfold jump,
    a dropped digit) and by at least ``at_least``. Zero on either side compares nothing: a
    free connection or an empty school is not a typing slip of the other."""
    if old <= 0 or new <= 0 or abs(new - old) < at_least:
        return False
    return max(old, new) >= factor * min(old, new)


def _is_dash(raw: Any) -> bool:
    """A cell typed as a dash, which reads as empty: its message says so."""
    return type(raw) is str and raw.strip() in EMPTY_MARKS


def _check_bounds(row: _Row, plan: _Plan, value: float, add: Callable[..., None]) -> None:
    """The contract's limits of a number: errors below the minimum or over the maximum.

    A number out of its error limits counts as unreadable for the checks that compare it with
    another cell, so one typing mistake gives one finding.
    """
    if plan.min_exclusive is not None and value <= plan.min_exclusive:
        add(row, "negative_value", plan, "exclusive", limit=format_number(plan.min_exclusive))
        row.failed.add(plan.key)
    elif plan.minimum is not None and value < plan.minimum:
        variant = None if plan.minimum == 0 else "minimum"
        add(row, "negative_value", plan, variant, limit=format_number(plan.minimum))
        row.failed.add(plan.key)
    elif plan.error_above is not None and value > plan.error_above:
        add(row, "value_too_large", plan, limit=format_number(plan.error_above))
        row.failed.add(plan.key)
    elif plan.warn_above is not None and value > plan.warn_above:
        add(row, "unusually_large", plan, limit=format_number(plan.warn_above))
    elif plan.warn_below is not None and value < plan.warn_below:
        add(row, "unusually_small", plan, limit=format_number(plan.warn_below))


def _check_duplicates(
    rows: list[_Row], matched: dict[int, int], compiled: _Compiled, esa_code: str
) -> None:
    """Same school twice: identical copies collapse into the first; differing copies all fail."""
    by_code: dict[str, list[_Row]] = {}
    for row in rows:
        if row.code is not None:
            by_code.setdefault(row.code, []).append(row)
    groups = [group for group in by_code.values() if len(group) > 1]
    if not groups:
        return
    book = compiled.book
    present = [(compiled.plans[order], position) for order, position in sorted(matched.items())]
    code_plan = compiled.by_key[compiled.code_key]
    code_position = matched[code_plan.order]
    code_slot = [plan for plan, _ in present].index(code_plan)

    def identity(row: _Row) -> list[Any]:
        return [
            ("!", cell_text(raw).strip()) if plan.key in row.failed else row.values[plan.key]
            for (plan, _), raw in zip(present, row.raws, strict=True)
        ]

    for group in groups:
        idents = [identity(row) for row in group]
        first = group[0]
        if all(ident == idents[0] for ident in idents[1:]):
            for row in group[1:]:
                # The copy adds nothing: its own findings would repeat the first copy's.
                row.findings = [
                    (
                        code_position,
                        book.finding(
                            "duplicate_identical",
                            esa_code=esa_code,
                            row=row.number,
                            column=code_plan.key,
                            header=code_plan.header,
                            cell=a1(code_position, row.number),
                            value=cell_text(row.raws[code_slot]),
                            first_row=str(first.number),
                        ),
                    )
                ]
                row.duplicate_of = first.number  # only a warning: the first copy carries it
            continue
        numbers = ", ".join(str(row.number) for row in group)
        # Sheet order of the columns whose cells differ between the copies, named in the message.
        differing = sorted(
            (position, plan.header)
            for slot, (plan, position) in enumerate(present)
            if any(ident[slot] != idents[0][slot] for ident in idents[1:])
        )
        columns = ", ".join(f'"{header}"' for _, header in differing)
        for row in group:
            row.findings.append(
                (
                    code_position,
                    book.finding(
                        "duplicate_conflict",
                        esa_code=esa_code,
                        row=row.number,
                        column=code_plan.key,
                        header=code_plan.header,
                        cell=a1(code_position, row.number),
                        value=cell_text(row.raws[code_slot]),
                        school_code=row.code or "",
                        rows=numbers,
                        columns=columns,
                    ),
                )
            )
            row.rejected = True


__all__ = [
    "Outcome",
    "PreviousValues",
    "RowResult",
    "SheetValidation",
    "implausible_change",
    "validate_sheet",
]
