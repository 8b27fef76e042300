"""Provisioning an ESA's district sheet from the contract: set it up, or repair it safely.

Everything a clerk sees is generated from the contract (``district_sheet.yaml``): the data tab's
Thai header row, its dropdowns and number formats, and the instructions tab. The school rows are
pre-filled from the school registry.

Rules (docs/operations.md tells the operator the same):

- Clerks' cells are never overwritten, moved or deleted. Only these cells are ever written in
  the data tab: header cells in row 1 that are blank or spell their own column differently
  (restored to the exact Thai header), and new rows below the last row for registry schools the
  sheet lacks (school code and name only).
- The data tab's layout is found with the contract's own header rules (:func:`inspect_layout`):
  - the template's (header in row 1, contract order; blank or respelled header cells are
    restored, a header cell holding other text is left as typed and reported);
  - another layout the contract accepts (title rows above the header, columns in another
    order): kept exactly as it is; missing schools still get rows, in the sheet's own code and
    name columns, and the instructions name the sheet's own columns; no formatting is sent, as
    dropdowns, formats and protection follow the template's layout;
  - no header row the contract can find while row 1 is not blank (or no data tab while the
    first tab, which the pipeline then reads, holds data): nothing at all is written, and the
    report says what a person must fix.
- The instructions tab belongs to provisioning and is rewritten whenever it differs from the
  contract. On a template sheet its last line is a fingerprint of the contract and of the
  formatting requests: the formatting (frozen row, dropdowns, number formats, header
  protection) is sent again only when that line is missing or stale, when the data tab was just
  made, or when asked (``reformat``). So a second run reads the sheet twice and writes nothing.
- No spreadsheet (no id in the registry, or Google answers 404) is an error telling the operator
  what to do, unless ``create`` is given: then the spreadsheet an earlier ``create`` made for
  the ESA (found in Drive by its title) is used, or a new one is made through the Sheets API,
  and its id is reported for the operator to put in ``esas.csv``.

Reads go through the reader's client (read-only scopes in production), writes through its
writer (the spreadsheets scope). At most four requests per ESA: the metadata, one
``values:batchGet``, one ``batchUpdate`` (tabs, grid size, formatting) and one
``values:batchUpdate`` (header, rows, instructions; RAW, so a school code keeps its leading
digits and nothing typed is ever evaluated).
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

import requests
from gspread import Client
from gspread.exceptions import APIError
from gspread.urls import SPREADSHEETS_API_V4_BASE_URL

from schoolnet.contract import Column, Contract, load_contract
from schoolnet.core.registry import Esa, School
from schoolnet.core.schedule import TIMEZONE
from schoolnet.ingestion.ingest import VALUE_PARAMS, SheetsReader, quote_sheet_name
from schoolnet.validation.findings import column_letters
from schoolnet.validation.normalize import (
    SHEET_DATE_FORMAT,
    NormalizeError,
    cell_text,
    fold,
    is_blank,
    normalize_school_code,
)

log = logging.getLogger(__name__)

# The instructions tab's words, the new sheet's title and the header's protection note are the
# contract's `instruction_texts`; the per-column text all comes from the contract's columns.
INSTRUCTIONS_TAB = load_contract().instruction_text("tab")
HEADER_PROTECTION_DESCRIPTION = load_contract().instruction_text("header_protection")
SPREADSHEET_TITLE = load_contract().instruction_texts["spreadsheet_title"]  # {esa_name} to fill
DEFAULT_ROWS = 1000
DEFAULT_COLUMNS = 26

# Number format of each contract column type; types not listed keep Sheets' automatic format.
NUMBER_FORMATS: dict[str, tuple[str, str]] = {
    "school_code": ("TEXT", "@"),  # typed codes stay text, leading digits kept
    "integer": ("NUMBER", "0"),
    "number": ("NUMBER", "#,##0.00"),
    "date": ("DATE", SHEET_DATE_FORMAT),
}

# The instructions table's columns, by their names in the contract's `instruction_texts`.
_TABLE_COLUMNS = ("table_column", "table_header", "table_required", "table_how", "table_values")


class ProvisionError(RuntimeError):
    """The sheet could not be provisioned; ``code`` is stable, the message says what to do."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code

    @property
    def permanent(self) -> bool:
        """Whether trying again without a person acting first is pointless."""
        return self.code != "google_error"


# ---------------------------------------------------------------------------------------------
# Pure builders: what the sheet should hold, from the contract


def _letter(position: int) -> str:
    return column_letters(position)


def _status_column(contract: Contract) -> Column | None:
    try:
        return contract.column("status")
    except KeyError:
        return None


def requirement_text(column: Column, contract: Contract) -> str:
    """When the column must be filled, in Thai."""
    text = contract.instruction_text
    requirement = column.required
    if requirement.always:
        return text("always")
    if requirement.when_status:
        status = _status_column(contract)
        if status is not None and status.enum is not None:
            labels = text("when_status_or").join(
                f'"{contract.enum_label(status.enum, key)}"' for key in requirement.when_status
            )
            return text("when_status", header=status.header, labels=labels)
        return text(
            "when_status", header=text("status_header"), labels=", ".join(requirement.when_status)
        )
    if requirement.when_positive:
        other = contract.column(requirement.when_positive)
        return text("when_positive", header=other.header)
    return text("never")


def enum_labels(column: Column, contract: Contract) -> list[str]:
    if column.enum is None:
        return []
    return [value.label for value in contract.enums[column.enum]]


def input_hint(column: Column, contract: Contract) -> str:
    """What to type: the column's hint, else the contract's enum hint, else free text."""
    hint = column.rule("hint")
    if hint:
        return str(hint)
    labels = ", ".join(enum_labels(column, contract))
    if column.type == "enum":
        return contract.message_template("enum_hint").format(labels=labels)
    if column.type == "enum_list":
        return contract.message_template("enum_list_hint").format(labels=labels)
    return contract.instruction_text("free_text")


def validation_requests(sheet_id: int, contract: Contract) -> list[dict[str, Any]]:
    """A dropdown of the Thai labels under every enum column (not under list columns).

    ``strict`` is false: a value typed by hand (an alias, a key) is kept and reaches the
    validator, which knows the aliases; the dropdown only offers the labels.
    """
    out: list[dict[str, Any]] = []
    for position, column in enumerate(contract.columns):
        if column.type != "enum":
            continue
        out.append(
            {
                "setDataValidation": {
                    "range": {
                        "sheetId": sheet_id,
                        "startRowIndex": 1,
                        "startColumnIndex": position,
                        "endColumnIndex": position + 1,
                    },
                    "rule": {
                        "condition": {
                            "type": "ONE_OF_LIST",
                            "values": [
                                {"userEnteredValue": label}
                                for label in enum_labels(column, contract)
                            ],
                        },
                        "inputMessage": input_hint(column, contract),
                        "strict": False,
                        "showCustomUi": True,
                    },
                }
            }
        )
    return out


def number_format_requests(sheet_id: int, contract: Contract) -> list[dict[str, Any]]:
    """Number formats of the data rows (row 2 down): codes as text, counts, amounts, dates."""
    out: list[dict[str, Any]] = []
    for position, column in enumerate(contract.columns):
        chosen = NUMBER_FORMATS.get(column.type)
        if chosen is None:
            continue
        kind, pattern = chosen
        out.append(
            {
                "repeatCell": {
                    "range": {
                        "sheetId": sheet_id,
                        "startRowIndex": 1,
                        "startColumnIndex": position,
                        "endColumnIndex": position + 1,
                    },
                    "cell": {
                        "userEnteredFormat": {"numberFormat": {"type": kind, "pattern": pattern}}
                    },
                    "fields": "userEnteredFormat.numberFormat",
                }
            }
        )
    return out


def freeze_request(sheet_id: int) -> dict[str, Any]:
    return {
        "updateSheetProperties": {
            "properties": {"sheetId": sheet_id, "gridProperties": {"frozenRowCount": 1}},
            "fields": "gridProperties.frozenRowCount",
        }
    }


def protection_request(sheet_id: int, contract: Contract) -> dict[str, Any]:
    """Protect the header row with a warning (clerks are warned, never locked out)."""
    return {
        "addProtectedRange": {
            "protectedRange": {
                "range": {
                    "sheetId": sheet_id,
                    "startRowIndex": 0,
                    "endRowIndex": 1,
                    "startColumnIndex": 0,
                    "endColumnIndex": len(contract.columns),
                },
                "description": HEADER_PROTECTION_DESCRIPTION,
                "warningOnly": True,
            }
        }
    }


def format_requests(sheet_id: int, contract: Contract) -> list[dict[str, Any]]:
    """Every formatting request of the data tab, in the order they are sent."""
    return [
        freeze_request(sheet_id),
        *validation_requests(sheet_id, contract),
        *number_format_requests(sheet_id, contract),
        protection_request(sheet_id, contract),
    ]


def instruction_lines(
    contract: Contract, header_row: int = 0, positions: Mapping[int, int] | None = None
) -> list[list[str]]:
    """The instructions tab without its fingerprint line: one line per column, in Thai.

    ``positions`` (contract order -> sheet column) and ``header_row`` (0-based) describe a sheet
    laid out otherwise than the template, so that the column letters are the sheet's own.
    """
    text = contract.instruction_text
    rows: list[list[str]] = [
        [text("heading", data_tab=contract.data_tab)],
        [text("intro", data_tab=contract.data_tab, row=header_row + 1)],
        [text("generated")],
        [],
        [text(name) for name in _TABLE_COLUMNS],
    ]
    for order, column in enumerate(contract.columns):
        if positions is None:
            letter = _letter(order)
        else:
            letter = _letter(positions[order]) if order in positions else text("not_in_sheet")
        rows.append(
            [
                letter,
                column.header,
                requirement_text(column, contract),
                input_hint(column, contract),
                ", ".join(enum_labels(column, contract)),
            ]
        )
    return rows


def fingerprint(sheet_id: int, contract: Contract) -> str:
    """Contract version + a digest of the formatting requests and the instruction lines."""
    payload = json.dumps(
        {"format": format_requests(sheet_id, contract), "lines": instruction_lines(contract)},
        ensure_ascii=False,
        sort_keys=True,
    )
    return f"v{contract.version}-{hashlib.sha256(payload.encode('utf-8')).hexdigest()[:12]}"


def instruction_rows(sheet_id: int, contract: Contract) -> list[list[str]]:
    """The whole instructions tab, its fingerprint line last."""
    label = contract.instruction_text("fingerprint_label")
    return [*instruction_lines(contract), [], [label, fingerprint(sheet_id, contract)]]


# ---------------------------------------------------------------------------------------------
# Reading what is there


@dataclass(frozen=True)
class Tab:
    sheet_id: int
    title: str
    index: int
    row_count: int
    column_count: int
    frozen_rows: int
    protected_ranges: tuple[Mapping[str, Any], ...] = ()


def tabs_of(metadata: Mapping[str, Any]) -> list[Tab]:
    tabs = []
    for position, sheet in enumerate(metadata.get("sheets") or []):
        props = sheet.get("properties") or {}
        grid = props.get("gridProperties") or {}
        tabs.append(
            Tab(
                sheet_id=int(props.get("sheetId", 0)),
                title=str(props.get("title", "")),
                index=int(props.get("index", position)),
                row_count=int(grid.get("rowCount", DEFAULT_ROWS)),
                column_count=int(grid.get("columnCount", DEFAULT_COLUMNS)),
                frozen_rows=int(grid.get("frozenRowCount", 0)),
                protected_ranges=tuple(sheet.get("protectedRanges") or ()),
            )
        )
    return sorted(tabs, key=lambda tab: tab.index)


def _header_protected(tab: Tab) -> bool:
    """Whether Google reports a protection of the header row (the emulator reports none)."""
    for protected in tab.protected_ranges:
        if protected.get("description") == HEADER_PROTECTION_DESCRIPTION:
            return True
        area = protected.get("range") or {}
        if area.get("startRowIndex", 0) == 0 and area.get("endRowIndex") == 1:
            return True
    return False


LayoutKind = Literal["template", "other", "unreadable"]


@dataclass(frozen=True)
class Layout:
    """How the data tab is laid out, and what provisioning may write to it.

    - ``template``: the header is (or may safely become) the template's row 1; ``writes`` are
      the header cells to restore.
    - ``other``: a header row the contract accepts (title rows above it, or columns in another
      order): it is left exactly as it is.
    - ``unreadable``: no header row the contract accepts, and row 1 is not blank: hands off.
    """

    kind: LayoutKind
    header_row: int = 0  # 0-based
    positions: Mapping[int, int] = field(default_factory=dict)  # contract order -> column
    writes: Mapping[int, str] = field(default_factory=dict)  # column -> Thai header to write
    problems: tuple[str, ...] = ()  # a person must act
    notes: tuple[str, ...] = ()  # worth knowing, nothing to do


def _shown(value: Any) -> str:
    text = cell_text(value).strip()
    return text if len(text) <= 40 else text[:39] + "…"


def inspect_layout(values: Sequence[Sequence[Any]], contract: Contract) -> Layout:
    """Find the header row with the contract's own rules and compare it with the template."""
    columns = contract.columns
    lookup: dict[str, int] = {}
    for order, column in enumerate(columns):
        lookup[fold(column.header)] = order
        lookup.setdefault(fold(column.key), order)
        for alias in column.header_aliases:  # as the validator reads headers
            lookup.setdefault(fold(alias), order)

    def match(cell: Any) -> int | None:
        return None if is_blank(cell) else lookup.get(fold(cell_text(cell)))

    threshold = contract.header_min_match_share * len(columns)
    found = False
    for index, row in enumerate(values[: contract.header_search_rows]):
        positions: dict[int, int] = {}
        for position, cell in enumerate(row):
            matched = match(cell)
            if matched is not None and matched not in positions:
                positions[matched] = position
        if positions and len(positions) >= threshold:
            if index == 0 and all(key == place for key, place in positions.items()):
                found = True  # the template's header, perhaps with cells to restore
                break
            return _other_layout(index, positions, contract)
    row1 = list(values[0]) if values else []
    # Without a header row, row 1 is filled in only if all it holds are template headers in place.
    stray = [
        p
        for p, cell in enumerate(row1)
        if not is_blank(cell) and p < len(columns) and match(cell) != p
    ]
    if stray and not found:
        cells = [f'{_letter(p)}1 "{_shown(c)}"' for p, c in enumerate(row1) if not is_blank(c)]
        return Layout(
            "unreadable",
            problems=(
                f"no header row in the first {contract.header_search_rows} rows, and row 1 is "
                f"not blank ({', '.join(cells[:4])}): put the template's header in row 1 by hand",
            ),
        )
    writes: dict[int, str] = {}
    problems: list[str] = []
    for order, column in enumerate(columns):
        cell = row1[order] if order < len(row1) else None
        if cell_text(cell) == column.header:
            continue
        if is_blank(cell) or match(cell) == order:
            writes[order] = column.header
        else:
            problems.append(
                f'{_letter(order)}1 holds "{_shown(cell)}" where the template has '
                f'"{column.header}"; left as typed'
            )
    identity = {order: order for order in range(len(columns))}
    return Layout("template", 0, identity, writes, tuple(problems))


def _other_layout(index: int, positions: dict[int, int], contract: Contract) -> Layout:
    columns = contract.columns
    notes = []
    if index > 0:
        notes.append(f"the header is row {index + 1}, below {index} title row(s)")
    moved = [
        f"{columns[order].header} in {_letter(place)}"
        for order, place in sorted(positions.items())
        if order != place
    ]
    if moved:
        shown = ", ".join(moved[:4]) + (", …" if len(moved) > 4 else "")
        notes.append(f"columns in another order than the template ({shown})")
    notes.append(
        "the contract accepts this layout, so it is left as it is: no dropdowns, number "
        "formats or header protection, which follow the template's layout"
    )
    problems = []
    absent = [column for order, column in enumerate(columns) if order not in positions]
    for column in absent:
        if column.required.always:
            problems.append(
                f'the column "{column.header}" is missing, so the pipeline rejects the whole '
                "sheet: add it to the header row by hand"
            )
    others = [column.header for column in absent if not column.required.always]
    if others:
        notes.append("columns not in the sheet: " + ", ".join(others))
    return Layout("other", index, dict(positions), {}, tuple(problems), tuple(notes))


def _code_of(value: Any, digits: int) -> str:
    try:
        return normalize_school_code(value, digits)
    except NormalizeError:
        return cell_text(value).strip()


def _trimmed(rows: Sequence[Sequence[Any]]) -> list[list[Any]]:
    """Rows as Google returns them: trailing blank cells and rows dropped."""
    out = [list(row) for row in rows]
    for row in out:
        while row and (row[-1] is None or row[-1] == ""):
            row.pop()
    while out and not out[-1]:
        out.pop()
    return out


# ---------------------------------------------------------------------------------------------
# The plan: every request of one provisioning, decided from what was read


@dataclass(frozen=True)
class ProvisionReport:
    """What provisioning did to one ESA's sheet (or, when blocked, why it did nothing)."""

    esa_code: str
    esa_name: str
    spreadsheet_id: str
    created_spreadsheet: bool = False
    found_spreadsheet: bool = False  # the one an earlier --create made, not yet in esas.csv
    tabs_added: tuple[str, ...] = ()
    tab_renamed: str | None = None  # the empty first tab renamed to the data tab
    header_cells: tuple[str, ...] = ()  # A1 addresses of header cells written
    schools_added: tuple[str, ...] = ()  # school codes of the rows added
    instructions_written: bool = False
    formatted: bool = False  # dropdowns, number formats, frozen row and protection sent
    frozen_row_fixed: bool = False
    problems: tuple[str, ...] = ()  # a person must act
    notes: tuple[str, ...] = ()  # the sheet differs from the template in a way the contract allows
    blocked: bool = False
    api_calls: int = 0

    @property
    def changed(self) -> bool:
        return bool(
            self.created_spreadsheet
            or self.tabs_added
            or self.tab_renamed
            or self.header_cells
            or self.schools_added
            or self.instructions_written
            or self.formatted
            or self.frozen_row_fixed
        )

    @property
    def needs_attention(self) -> bool:
        return bool(self.problems)

    def summary(self) -> str:
        """One line for the operator."""
        done: list[str] = []
        if self.created_spreadsheet or self.found_spreadsheet:
            done.append(
                ("created a new" if self.created_spreadsheet else "used the earlier created")
                + " spreadsheet: put this id in esas.csv as the ESA's spreadsheet_id and share "
                "the sheet with the ESA's contact as editor"
            )
        if self.tab_renamed:
            done.append(f"renamed the empty tab {self.tab_renamed}")
        if self.tabs_added:
            done.append("added tab(s) " + ", ".join(self.tabs_added))
        if self.header_cells:
            done.append(f"wrote {len(self.header_cells)} header cell(s)")
        if self.schools_added:
            done.append(f"added {len(self.schools_added)} school row(s)")
        if self.instructions_written:
            done.append("wrote the instructions tab")
        if self.formatted:
            done.append("applied dropdowns, number formats and header protection")
        elif self.frozen_row_fixed:
            done.append("froze the header row")
        head = f"ESA {self.esa_code} {self.esa_name} (sheet {self.spreadsheet_id}): "
        if self.blocked:
            return head + "NEEDS ATTENTION, nothing written: " + "; ".join(self.problems)
        text = "; ".join(done) if done else "already up to date, nothing changed"
        if self.problems:
            text += "; NEEDS ATTENTION: " + "; ".join(self.problems)
        if self.notes:
            text += "; note: " + "; ".join(self.notes)
        return head + text

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON types (an XCom)."""
        out = {k: list(v) if isinstance(v, tuple) else v for k, v in asdict(self).items()}
        out["changed"] = self.changed
        out["needs_attention"] = self.needs_attention
        out["summary"] = self.summary()
        return out


@dataclass
class Plan:
    """The requests one provisioning sends, and the report they add up to."""

    structure: list[dict[str, Any]] = field(default_factory=list)  # spreadsheets.batchUpdate
    values: list[dict[str, Any]] = field(default_factory=list)  # values.batchUpdate data
    tabs_added: list[str] = field(default_factory=list)
    tab_renamed: str | None = None
    header_cells: list[str] = field(default_factory=list)
    schools_added: list[str] = field(default_factory=list)
    instructions_written: bool = False
    formatted: bool = False
    frozen_row_fixed: bool = False
    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    blocked: bool = False


def registry_schools(esa: Esa, schools: Iterable[School]) -> list[School]:
    """The ESA's registry schools, in registry order, each code once."""
    seen: set[str] = set()
    out = []
    for school in schools:
        if school.esa_code == esa.esa_code and school.school_code not in seen:
            seen.add(school.school_code)
            out.append(school)
    return out


def pipeline_tab(tabs: Sequence[Tab], contract: Contract) -> Tab:
    """The tab the pipeline reads: the data tab, else the first tab (as the contract says)."""
    for tab in tabs:
        if tab.title == contract.data_tab:
            return tab
    return tabs[0]


def plan_provision(
    metadata: Mapping[str, Any],
    data_values: Sequence[Sequence[Any]],
    instruction_values: Sequence[Sequence[Any]] | None,
    esa: Esa,
    schools: Iterable[School],
    contract: Contract,
    *,
    reformat: bool = False,
) -> Plan:
    """Decide every request from the metadata and the values read.

    ``data_values`` are those of :func:`pipeline_tab` (empty when that tab is one of ours);
    ``instruction_values`` are None when there is no instructions tab. The requests come in
    the order they are sent: the data tab, its header, missing schools, its size, the
    instructions, then the template's formatting.
    """
    plan = Plan()
    tabs = tabs_of(metadata)
    if not tabs:
        raise ProvisionError("bad_spreadsheet", "the spreadsheet has no tabs")
    next_id = max(tab.sheet_id for tab in tabs) + 1
    chosen = _plan_data_tab(plan, tabs, data_values, contract, next_id)
    if chosen is None:
        return plan
    data, fresh = chosen
    if fresh:
        data_values = []
    next_id = max(next_id, data.sheet_id + 1)  # past a data tab just added

    layout = inspect_layout(data_values, contract)
    plan.problems.extend(layout.problems)
    plan.notes.extend(layout.notes)
    if layout.kind == "unreadable":
        plan.blocked = True
        plan.structure.clear()
        plan.tabs_added.clear()
        plan.tab_renamed = None
        return plan

    tab_range = quote_sheet_name(data.title)
    _plan_header(plan, layout, tab_range)
    needed_rows = _add_missing_schools(plan, data_values, layout, tab_range, esa, schools, contract)
    _plan_grid(plan, data, needed_rows, layout, len(contract.columns))
    instructions_now = _plan_instructions(
        plan, tabs, data, layout, instruction_values, contract, next_id
    )
    if layout.kind == "template":
        _plan_formatting(plan, data, instructions_now, contract, refresh=reformat or fresh)
    return plan


def _plan_data_tab(
    plan: Plan,
    tabs: Sequence[Tab],
    data_values: Sequence[Sequence[Any]],
    contract: Contract,
    new_id: int,
) -> tuple[Tab, bool] | None:
    """The tab the schools' data goes in, and whether it starts empty: the contract's data tab
    as it is; else the first tab renamed to it, or a new tab (``new_id``) in front when the
    first tab is one of ours. None, with the plan blocked, when the first tab holds data under
    another name (the pipeline reads it, so a person must say what it is)."""
    data = next((tab for tab in tabs if tab.title == contract.data_tab), None)
    if data is not None:
        return data, False
    first = tabs[0]
    ours = first.title in (INSTRUCTIONS_TAB, contract.feedback_tab)
    if not ours and _trimmed(data_values):
        plan.blocked = True
        plan.problems.append(
            f'there is no tab named "{contract.data_tab}", so the pipeline reads the first '
            f'tab "{first.title}", which holds data: if it is the schools\' data, rename it '
            f'to "{contract.data_tab}" and run again'
        )
        return None
    if ours:
        plan.structure.append(
            {
                "addSheet": {
                    "properties": {
                        "sheetId": new_id,
                        "title": contract.data_tab,
                        "index": 0,
                        "gridProperties": {
                            "rowCount": DEFAULT_ROWS,
                            "columnCount": max(DEFAULT_COLUMNS, len(contract.columns)),
                            "frozenRowCount": 1,
                        },
                    }
                }
            }
        )
        plan.tabs_added.append(contract.data_tab)
        return Tab(new_id, contract.data_tab, 0, DEFAULT_ROWS, DEFAULT_COLUMNS, 1), True
    plan.structure.append(
        {
            "updateSheetProperties": {
                "properties": {"sheetId": first.sheet_id, "title": contract.data_tab},
                "fields": "title",
            }
        }
    )
    plan.tab_renamed = first.title
    renamed = Tab(
        first.sheet_id,
        contract.data_tab,
        first.index,
        first.row_count,
        first.column_count,
        first.frozen_rows,
    )
    return renamed, True


def _plan_header(plan: Plan, layout: Layout, tab_range: str) -> None:
    """Write the header cells the layout found missing or wrong, in one range of row 1."""
    if not layout.writes:
        return
    last = max(layout.writes)
    plan.values.append(
        {
            "range": f"{tab_range}!A1:{_letter(last)}1",
            "majorDimension": "ROWS",
            "values": [[layout.writes.get(p) for p in range(last + 1)]],
        }
    )
    plan.header_cells = [f"{_letter(p)}1" for p in sorted(layout.writes)]


def _plan_grid(plan: Plan, data: Tab, needed_rows: int, layout: Layout, columns: int) -> None:
    """Grow the data tab to hold every row planned, and a template's every column."""
    grid: dict[str, int] = {}
    if needed_rows > data.row_count:
        grid["rowCount"] = needed_rows
    if layout.kind == "template" and columns > data.column_count:
        grid["columnCount"] = columns
    if grid:
        plan.structure.append(
            {
                "updateSheetProperties": {
                    "properties": {"sheetId": data.sheet_id, "gridProperties": grid},
                    "fields": ",".join(f"gridProperties.{name}" for name in grid),
                }
            }
        )


def _plan_instructions(
    plan: Plan,
    tabs: Sequence[Tab],
    data: Tab,
    layout: Layout,
    instruction_values: Sequence[Sequence[Any]] | None,
    contract: Contract,
    new_id: int,
) -> list[list[Any]]:
    """Add the instructions tab (``new_id``) if missing and rewrite it if it differs; with the
    fingerprint line only where the template's formatting applies. Returns what the tab held
    before (nothing when it is new)."""
    if layout.kind == "template":
        expected = instruction_rows(data.sheet_id, contract)
    else:
        expected = instruction_lines(contract, layout.header_row, layout.positions)
    instructions = next((tab for tab in tabs if tab.title == INSTRUCTIONS_TAB), None)
    existing = _trimmed(instruction_values or [])
    if instructions is None:
        plan.structure.append(
            {
                "addSheet": {
                    "properties": {
                        "sheetId": new_id,
                        "title": INSTRUCTIONS_TAB,
                        "index": data.index + 1,
                    }
                }
            }
        )
        plan.tabs_added.append(INSTRUCTIONS_TAB)
        existing = []
    if instructions is None or existing != _trimmed(expected):
        plan.values.append(_overwrite(INSTRUCTIONS_TAB, expected, existing))
        plan.instructions_written = True
    return existing


def _plan_formatting(
    plan: Plan, data: Tab, instructions_now: list[list[Any]], contract: Contract, refresh: bool
) -> None:
    """The template's dropdowns, number formats, frozen and protected header: sent when
    ``refresh`` is asked or the instructions lack this contract's fingerprint (the formatting
    is older), without what the tab already has; else only a lost frozen row is fixed."""
    mark = fingerprint(data.sheet_id, contract)
    stale = not any(cell == mark for row in instructions_now for cell in row)
    if refresh or stale:
        wanted = format_requests(data.sheet_id, contract)
        if data.frozen_rows >= 1:
            wanted = [r for r in wanted if "updateSheetProperties" not in r]
        if _header_protected(data):
            wanted = [r for r in wanted if "addProtectedRange" not in r]
        plan.structure.extend(wanted)
        plan.formatted = True
    elif data.frozen_rows < 1:
        plan.structure.append(freeze_request(data.sheet_id))
        plan.frozen_row_fixed = True


def _add_missing_schools(
    plan: Plan,
    data_values: Sequence[Sequence[Any]],
    layout: Layout,
    tab_range: str,
    esa: Esa,
    schools: Iterable[School],
    contract: Contract,
) -> int:
    """Plan rows (code and name only) below the last row for registry schools the sheet lacks.

    Returns the last row number the tab needs.
    """
    columns = contract.columns
    code_order = next(o for o, c in enumerate(columns) if c.type == "school_code")
    name_order = next((o for o, c in enumerate(columns) if c.key == "school_name"), None)
    last_used = max(len(data_values), layout.header_row + 1)
    code_column = layout.positions.get(code_order)
    if code_column is None:
        return last_used  # reported by the layout: the pipeline rejects such a sheet anyway
    name_column = layout.positions.get(name_order) if name_order is not None else None
    digits = int(columns[code_order].rule("digits", 10))
    present = {
        _code_of(row[code_column], digits)
        for row in data_values[layout.header_row + 1 :]
        if len(row) > code_column and not is_blank(row[code_column])
    }
    missing = [s for s in registry_schools(esa, schools) if s.school_code not in present]
    if not missing:
        return last_used
    width = max(code_column, name_column if name_column is not None else 0) + 1
    rows: list[list[str | None]] = []
    for school in missing:
        row: list[str | None] = [None] * width
        row[code_column] = school.school_code
        if name_column is not None:
            row[name_column] = school.school_name
        rows.append(row)
    first = last_used + 1  # 1-based: right below the last row with data
    last = first + len(missing) - 1
    plan.values.append(
        {
            "range": f"{tab_range}!A{first}:{_letter(width - 1)}{last}",
            "majorDimension": "ROWS",
            "values": rows,
        }
    )
    plan.schools_added = [school.school_code for school in missing]
    return last


def _overwrite(tab: str, rows: list[list[str]], existing: list[list[Any]]) -> dict[str, Any]:
    """Write ``rows`` at the top of ``tab``, blanking whatever else the old content covered."""
    height = max(len(rows), len(existing))
    width = max(len(row) for row in [*rows, *existing])
    padded = [
        [(rows[r][c] if r < len(rows) and c < len(rows[r]) else "") for c in range(width)]
        for r in range(height)
    ]
    return {
        "range": f"{quote_sheet_name(tab)}!A1:{_letter(width - 1)}{height}",
        "majorDimension": "ROWS",
        "values": padded,
    }


# ---------------------------------------------------------------------------------------------
# Talking to Google


class _Google:
    """The gspread clients (reads; writes need the spreadsheets scope), each request sent with
    the reader's retries when given a reader."""

    def __init__(self, target: Client | SheetsReader) -> None:
        self.reader = target if isinstance(target, SheetsReader) else None
        if isinstance(target, SheetsReader):
            self.client = target.client
            self.writer = target.writer
            self.account = target.service_account
        else:
            self.client = self.writer = target
            self.account = "the pipeline's service account"
        self.calls = 0

    def read(self, make_request: Callable[[], Any]) -> Any:
        return self._send(make_request, write=False)

    def write(self, make_request: Callable[[], Any]) -> Any:
        return self._send(make_request, write=True)

    def _send(self, make_request: Callable[[], Any], *, write: bool) -> Any:
        """Paced and retried like the daily pull's requests when given a reader."""
        self.calls += 1
        if self.reader is None:
            return make_request()
        return self.reader.call(make_request, write=write)

    def create(self, esa: Esa, contract: Contract) -> dict[str, Any]:
        """A new spreadsheet with the data tab; sent once, never retried (no duplicates)."""
        body = {
            "properties": {
                "title": SPREADSHEET_TITLE.format(esa_name=esa.esa_name),
                "locale": "th_TH",
                "timeZone": TIMEZONE,
            },
            "sheets": [{"properties": {"sheetId": 0, "title": contract.data_tab}}],
        }
        self.calls += 1
        response = self.writer.http_client.request("post", SPREADSHEETS_API_V4_BASE_URL, json=body)
        created: dict[str, Any] = response.json()
        return created


def _error(error: Exception, esa: Esa, spreadsheet_id: str, account: str) -> ProvisionError:
    where = f"spreadsheet {spreadsheet_id} of ESA {esa.esa_code}"
    if isinstance(error, APIError):
        status = error.response.status_code
        if status == 404:
            return ProvisionError(
                "not_found",
                f"{where} does not exist (Google answered 404): create the sheet, share it with "
                f"{account} as editor and put its id in esas.csv, or run with --create to have "
                "a new one made",
            )
        if status == 403:
            return ProvisionError(
                "not_shared",
                f"{where} is not shared with {account}: share it as editor and run again",
            )
        return ProvisionError("google_error", f"{where}: Google answered {status}: {error}")
    return ProvisionError("google_error", f"{where}: request failed: {error}")


def provision_sheet(
    client_or_reader: Client | SheetsReader,
    esa: Esa,
    schools: Iterable[School],
    contract: Contract | None = None,
    *,
    create: bool = False,
    reformat: bool = False,
) -> ProvisionReport:
    """Create or repair one ESA's sheet from the contract; see the module's rules.

    A :class:`SheetsReader` retries transient Google faults as the daily pull does; a bare
    gspread ``Client`` sends each request once. Raises :class:`ProvisionError`.
    """
    contract = contract or load_contract()
    google = _Google(client_or_reader)
    http = google.client.http_client
    http_write = google.writer.http_client
    spreadsheet_id = esa.spreadsheet_id.strip()
    created = found_earlier = False
    try:
        metadata: Mapping[str, Any] | None = None
        if spreadsheet_id:
            try:
                metadata = google.read(lambda: http.fetch_sheet_metadata(spreadsheet_id))
            except APIError as error:
                if not (create and error.response.status_code == 404):
                    raise
        elif not create:
            raise ProvisionError(
                "no_spreadsheet",
                f"ESA {esa.esa_code} has no spreadsheet_id in esas.csv: create the sheet, share "
                f"it with {google.account} as editor and put its id there, or run with --create",
            )
        if metadata is None:
            # One made by an earlier --create whose id is not in esas.csv yet: use it, so that
            # running --create twice never makes two spreadsheets.
            title = SPREADSHEET_TITLE.format(esa_name=esa.esa_name)
            earlier = google.read(lambda: google.client.list_spreadsheet_files(title=title))
            if earlier:
                spreadsheet_id = str(min(earlier, key=lambda f: f.get("createdTime", ""))["id"])
                metadata = google.read(lambda: http.fetch_sheet_metadata(spreadsheet_id))
                found_earlier = True
            else:
                metadata = google.create(esa, contract)
                spreadsheet_id = str(metadata["spreadsheetId"])
                created = True
                log.info("ESA %s: created spreadsheet %s", esa.esa_code, spreadsheet_id)
        sid = spreadsheet_id
        tabs = tabs_of(metadata)
        ours = (INSTRUCTIONS_TAB, contract.feedback_tab)
        read_data = bool(tabs) and pipeline_tab(tabs, contract).title not in ours
        has_instructions = any(tab.title == INSTRUCTIONS_TAB for tab in tabs)
        ranges = [quote_sheet_name(pipeline_tab(tabs, contract).title)] if read_data else []
        if has_instructions:
            ranges.append(quote_sheet_name(INSTRUCTIONS_TAB))
        found: list[list[list[Any]]] = [[] for _ in ranges]
        if ranges:
            response = google.read(
                lambda: http.values_batch_get(sid, ranges, params=dict(VALUE_PARAMS))
            )
            for number, item in enumerate((response.get("valueRanges") or [])[: len(ranges)]):
                found[number] = item.get("values", [])
        data_values = found[0] if read_data else []
        instruction_values = found[-1] if has_instructions else None
        plan = plan_provision(
            metadata, data_values, instruction_values, esa, schools, contract, reformat=reformat
        )
        if plan.structure:
            body = {"requests": plan.structure}
            google.write(lambda: http_write.batch_update(sid, body))
        if plan.values:
            values_body = {"valueInputOption": "RAW", "data": plan.values}
            google.write(lambda: http_write.values_batch_update(sid, values_body))
    except APIError as error:
        raise _error(error, esa, spreadsheet_id, google.account) from error
    except requests.RequestException as error:
        raise _error(error, esa, spreadsheet_id, google.account) from error
    report = ProvisionReport(
        esa_code=esa.esa_code,
        esa_name=esa.esa_name,
        spreadsheet_id=spreadsheet_id,
        created_spreadsheet=created,
        found_spreadsheet=found_earlier,
        tabs_added=tuple(plan.tabs_added),
        tab_renamed=plan.tab_renamed,
        header_cells=tuple(plan.header_cells),
        schools_added=tuple(plan.schools_added),
        instructions_written=plan.instructions_written,
        formatted=plan.formatted,
        frozen_row_fixed=plan.frozen_row_fixed,
        problems=tuple(plan.problems),
        notes=tuple(plan.notes),
        blocked=plan.blocked,
        api_calls=google.calls,
    )
    log.info("%s", report.summary())
    return report
