"""The emulator's state: spreadsheets on disk, A1 ranges, and how Sheets renders cell values.

Everything here is plain data and functions so the HTTP server, the CLI and tests share one
implementation of Google's semantics (ragged values, render options, USER_ENTERED parsing).
"""

from __future__ import annotations

import copy
import json
import math
import os
import re
import secrets
import shutil
import sys
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, timezone
from datetime import time as dt_time
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any

from schoolnet.core.files import replacing, write_atomically
from schoolnet.validation.findings import column_letters

Doc = dict[str, Any]
Sheet = dict[str, Any]

SPREADSHEET_MIME = "application/vnd.google-apps.spreadsheet"
DEFAULT_ROWS = 1000
DEFAULT_COLUMNS = 26
DEFAULT_QUOTA = 60
FAULT_MODES = ("403", "404", "500", "hang")
# The fault id of Drive's folder listing (files.list) as a whole: a Drive outage.
DRIVE_LISTING = "drive:files.list"
# The fault id of Drive's changes feed (changes.list and changes/startPageToken): a Drive outage,
# or a 403 for a service account Drive refuses.
DRIVE_CHANGES = "drive:changes"
DEFAULT_HANG_SECONDS = 3600.0
SERIAL_EPOCH = date(1899, 12, 30)
VALUE_RENDER_OPTIONS = ("FORMATTED_VALUE", "UNFORMATTED_VALUE", "FORMULA")
DATETIME_RENDER_OPTIONS = ("SERIAL_NUMBER", "FORMATTED_STRING")
MAJOR_DIMENSIONS = ("ROWS", "COLUMNS")


# Who changed a spreadsheet last, as Drive's ``lastModifyingUser`` says: a change through the API
# is the caller's (the service account: ``me``); a file edited on disk, by ``edit_cell`` or loaded
# from the demo data set is a clerk's.
SERVICE_ACCOUNT_USER: dict[str, Any] = {
    "kind": "drive#user",
    "displayName": "schoolnet",
    "emailAddress": "schoolnet@schoolnet-demo.iam.gserviceaccount.com",
    "me": True,
}
CLERK_USER: dict[str, Any] = {
    "kind": "drive#user",
    "displayName": "เจ้าหน้าที่เขตพื้นที่",
    "emailAddress": "clerk@esa.obec.go.th",
    "me": False,
}


class EmulatorError(Exception):
    """A mistake by the caller (unknown id, bad range, bad data set) reported in one line."""


class ApiError(EmulatorError):
    """An error the HTTP layer answers with Google's JSON error body."""

    def __init__(
        self,
        code: int,
        message: str,
        status: str,
        extra: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.status = status
        self.extra = extra or {}

    def body(self) -> dict[str, Any]:
        error: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.status:
            error["status"] = self.status
        error.update(self.extra)
        return {"error": error}


def invalid_argument(message: str) -> ApiError:
    return ApiError(400, message, "INVALID_ARGUMENT")


def not_found() -> ApiError:
    return ApiError(404, "Requested entity was not found.", "NOT_FOUND")


def drive_error(code: int, message: str, reason: str, location: str | None = None) -> ApiError:
    """Drive v3 errors carry an ``errors`` list rather than a status."""
    item: dict[str, Any] = {"message": message, "domain": "global", "reason": reason}
    if location:
        item.update({"locationType": "parameter", "location": location})
    return ApiError(code, message, "", {"errors": [item]})


def now_rfc3339(control: Mapping[str, Any] | None = None) -> str:
    """Google's timestamp style: UTC, milliseconds, trailing Z; the emulator's clock if
    ``control`` (control.json) sets one, else the wall clock."""
    return to_rfc3339(emulator_now(control))


def to_rfc3339(moment: datetime) -> str:
    moment = moment.astimezone(UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def emulator_now(control: Mapping[str, Any] | None = None) -> datetime:
    """The emulator's time: control.json's ``clock`` (a moment, and the wall-clock second it
    was set at) moved on by the real time since, so stamps keep their order; else now.

    A demo data set lives in January 2018: with its clock set to that morning, what the
    emulator stamps (API writes, a clerk's edit) falls on that day, as it would at Google.
    """
    clock = (control or {}).get("clock")
    if isinstance(clock, dict) and isinstance(clock.get("at"), str):
        try:
            start = parse_rfc3339(clock["at"])
            elapsed = max(0.0, time.time() - float(clock.get("set_at", time.time())))
        except (TypeError, ValueError):
            return datetime.now(UTC)
        return start + timedelta(seconds=elapsed)
    return datetime.now(UTC)


def set_clock(state_dir: Path, at: datetime | None) -> None:
    """Run the emulator's clock from ``at`` on (None: back to the wall clock)."""
    control = read_control(state_dir)
    if at is None:
        control.pop("clock", None)
    else:
        if at.tzinfo is None:
            raise EmulatorError("the clock needs a time zone (e.g. 2018-01-16T06:00:00+07:00)")
        control["clock"] = {"at": to_rfc3339(at), "set_at": time.time()}
    atomic_write_json(control_path(state_dir), control)


# The daily run's hour in Bangkok: load_day sets the clock to this time of the day it loads.
MORNING_RUN = dt_time(6, 0)
BANGKOK = timezone(timedelta(hours=7), "Asia/Bangkok")


def morning_of(day: date) -> datetime:
    return datetime.combine(day, MORNING_RUN, tzinfo=BANGKOK)


def parse_rfc3339(text: str) -> datetime:
    """Parse a Drive timestamp; a missing offset means UTC, as Drive assumes."""
    value = datetime.fromisoformat(text.strip().replace("Z", "+00:00").replace("z", "+00:00"))
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value


def new_spreadsheet_id() -> str:
    """A 44-character id shaped like Google's."""
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    return "1" + "".join(secrets.choice(alphabet) for _ in range(43))


# --------------------------------------------------------------------------------------------
# A1 notation


_CELL_PART = re.compile(r"^\$?([A-Za-z]{0,3})\$?([0-9]*)$")
_SIMPLE_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_LOOKS_LIKE_CELL = re.compile(r"^[A-Za-z]{1,3}[0-9]+$|^R[0-9]*C[0-9]*$", re.IGNORECASE)


def column_index(letters: str) -> int:
    """A → 0, Z → 25, AA → 26."""
    value = 0
    for char in letters.upper():
        value = value * 26 + (ord(char) - ord("A") + 1)
    return value - 1


def quote_sheet_name(title: str) -> str:
    """Quote a sheet name the way Google does in the ranges it returns."""
    if _SIMPLE_NAME.match(title) and not _LOOKS_LIKE_CELL.match(title):
        return title
    return "'" + title.replace("'", "''") + "'"


def split_sheet_name(text: str) -> tuple[str | None, str | None, bool]:
    """Split ``'Sheet name'!A1:B2`` into (sheet, cells, quoted). Raises ValueError if malformed."""
    if text.startswith("'"):
        name_chars: list[str] = []
        i = 1
        while i < len(text):
            char = text[i]
            if char == "'":
                if i + 1 < len(text) and text[i + 1] == "'":
                    name_chars.append("'")
                    i += 2
                    continue
                break
            name_chars.append(char)
            i += 1
        else:
            raise ValueError("unterminated quote")
        rest = text[i + 1 :]
        if rest == "":
            return "".join(name_chars), None, True
        if not rest.startswith("!") or rest == "!":
            raise ValueError("expected ! after the sheet name")
        return "".join(name_chars), rest[1:], True
    if "!" in text:
        name, _, cells = text.rpartition("!")
        if not name or not cells:
            raise ValueError("empty sheet name or range")
        return name, cells, False
    return None, text, False


@dataclass(frozen=True)
class Bounds:
    """A 0-based grid rectangle; end_row/end_col are exclusive and None means unbounded."""

    start_row: int
    start_col: int
    end_row: int | None
    end_col: int | None


def parse_cells(text: str) -> Bounds | None:
    """Parse ``A1``, ``A1:B2``, ``A:O``, ``A2:O``, ``2:5``; None if it is not a cell range."""
    parts = text.split(":")
    if len(parts) > 2:
        return None
    matches = [_CELL_PART.match(part) for part in parts]
    if any(m is None for m in matches):
        return None
    cols = [m.group(1) if m else "" for m in matches]
    rows = [m.group(2) if m else "" for m in matches]
    if any(r and int(r) < 1 for r in rows):
        return None
    if len(parts) == 1:
        if not cols[0] or not rows[0]:
            return None
        row, col = int(rows[0]) - 1, column_index(cols[0])
        return Bounds(row, col, row + 1, col + 1)
    if not (cols[0] or rows[0]) or not (cols[1] or rows[1]):
        return None
    start_col = column_index(cols[0]) if cols[0] else 0
    start_row = int(rows[0]) - 1 if rows[0] else 0
    end_col: int | None = column_index(cols[1]) + 1 if cols[1] else None
    end_row: int | None = int(rows[1]) if rows[1] else None
    if end_col is not None and end_col <= start_col:
        start_col, end_col = end_col - 1, start_col + 1
    if end_row is not None and end_row <= start_row:
        start_row, end_row = end_row - 1, start_row + 1
    return Bounds(start_row, start_col, end_row, end_col)


@dataclass(frozen=True)
class ResolvedRange:
    """A range resolved against one spreadsheet."""

    sheet_index: int
    bounds: Bounds


def resolve_range(doc: Doc, text: str) -> ResolvedRange:
    """Resolve an A1 range against a spreadsheet; unknown sheets fail like Google's."""
    error = invalid_argument(f"Unable to parse range: {text}")
    try:
        name, cells, _quoted = split_sheet_name(text.strip())
    except ValueError:
        raise error from None
    titles = [sheet["title"] for sheet in doc["sheets"]]
    whole = Bounds(0, 0, None, None)
    if name is None:
        assert cells is not None
        if cells in titles:
            return ResolvedRange(titles.index(cells), whole)
        bounds = parse_cells(cells)
        if bounds is None or not titles:
            raise error
        return ResolvedRange(0, bounds)
    if name not in titles:
        raise error
    index = titles.index(name)
    if cells is None:
        return ResolvedRange(index, whole)
    bounds = parse_cells(cells)
    if bounds is None:
        raise error
    return ResolvedRange(index, bounds)


def grid_size(sheet: Sheet) -> tuple[int, int]:
    """Rows and columns of a sheet's grid: its stored size, at least what its data needs."""
    rows: list[list[Any]] = sheet.get("rows") or []
    grid = sheet.get("gridProperties") or {}
    row_count = max(int(grid.get("rowCount", DEFAULT_ROWS)), len(rows))
    col_count = max(
        int(grid.get("columnCount", DEFAULT_COLUMNS)), max((len(r) for r in rows), default=0)
    )
    return row_count, col_count


def a1_text(title: str, start_row: int, start_col: int, end_row: int, end_col: int) -> str:
    """The normalized range Google echoes back, e.g. ``'โรงเรียน'!A1:O1000``."""
    start = f"{column_letters(start_col)}{start_row + 1}"
    if end_row - start_row == 1 and end_col - start_col == 1:
        return f"{quote_sheet_name(title)}!{start}"
    return f"{quote_sheet_name(title)}!{start}:{column_letters(end_col - 1)}{end_row}"


def concrete(sheet: Sheet, bounds: Bounds) -> tuple[int, int, int, int]:
    """Close an open-ended range at the grid's edge."""
    rows, cols = grid_size(sheet)
    end_row = bounds.end_row if bounds.end_row is not None else max(rows, bounds.start_row + 1)
    end_col = bounds.end_col if bounds.end_col is not None else max(cols, bounds.start_col + 1)
    return bounds.start_row, bounds.start_col, end_row, end_col


def check_within_grid(sheet: Sheet, bounds: Bounds) -> None:
    """Reads outside the grid fail in Google; so do they here."""
    rows, cols = grid_size(sheet)
    start_row, start_col, end_row, end_col = concrete(sheet, bounds)
    if end_row > rows or end_col > cols:
        shown = a1_text(sheet["title"], start_row, start_col, end_row, end_col)
        raise invalid_argument(
            f"Range ({shown}) exceeds grid limits. Max rows: {rows}, max columns: {cols}"
        )


# --------------------------------------------------------------------------------------------
# Rendering cells


_MONTHS = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
]
_DAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]
_DATE_TOKEN = re.compile(
    r'"[^"]*"|\\.|yyyy|yy|mmmm|mmm|mm|m|dddd|ddd|dd|d|hh|h|ss|s|am/pm|.', re.IGNORECASE
)
# The date tokens that read the moment alone; m and mm (month, or minute after an hour) and
# the hour, which decides that, stay in format_date.
_DATE_FIELDS: dict[str, Callable[[datetime], str]] = {
    "yyyy": lambda moment: f"{moment.year:04d}",
    "yy": lambda moment: f"{moment.year % 100:02d}",
    "mmmm": lambda moment: _MONTHS[moment.month - 1],
    "mmm": lambda moment: _MONTHS[moment.month - 1][:3],
    "dddd": lambda moment: _DAYS[moment.weekday()],
    "ddd": lambda moment: _DAYS[moment.weekday()][:3],
    "dd": lambda moment: f"{moment.day:02d}",
    "d": lambda moment: str(moment.day),
    "ss": lambda moment: f"{moment.second:02d}",
    "s": lambda moment: str(moment.second),
    "am/pm": lambda moment: "AM" if moment.hour < 12 else "PM",
}


def is_empty(cell: Any) -> bool:
    return cell is None or cell == ""


def format_general(value: float | int) -> str:
    """Sheets' automatic number format: integers plainly, fractions to 10 significant digits."""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, int):
        return str(value)
    if math.isfinite(value) and value == int(value) and abs(value) < 1e15:
        return str(int(value))
    text = f"{value:.10g}"
    if "e" in text:
        mantissa, _, exponent = text.partition("e")
        return f"{mantissa}E{'+' if not exponent.startswith('-') else '-'}{exponent.lstrip('+-')}"
    return text


def format_number(value: float | int, fmt: str) -> str:
    """Render a number with a Sheets number format such as ``#,##0``, ``0.00`` or ``0%``."""
    found = re.search(r"[#0][#0,]*(\.[#0]*)?", fmt)
    if not found:
        return format_general(value)
    prefix = fmt[: found.start()].replace('"', "").replace("\\", "")
    suffix = fmt[found.end() :].replace('"', "").replace("\\", "")
    core = found.group(0)
    integer_part = core.split(".")[0]
    decimals = len(found.group(1)) - 1 if found.group(1) else 0
    scaled = Decimal(str(value)) * (100 if "%" in suffix or "%" in prefix else 1)
    rounded = scaled.quantize(Decimal(1).scaleb(-decimals), rounding=ROUND_HALF_UP)
    grouping = "," if "," in integer_part else ""
    digits = f"{abs(rounded):{grouping}.{decimals}f}"
    min_int = integer_part.count("0")
    whole, dot, frac = digits.partition(".")
    if len(whole.replace(",", "")) < min_int:
        whole = whole.zfill(min_int)
    if min_int == 0 and whole == "0" and frac:
        whole = ""
    sign = "-" if rounded < 0 else ""
    return f"{sign}{prefix}{whole}{dot}{frac}{suffix}"


def serial_to_datetime(serial: float) -> datetime:
    days = math.floor(serial)
    seconds = round((serial - days) * 86400)
    # A serial is a wall-clock date and time in the spreadsheet, with no zone: naive on purpose.
    start = datetime(SERIAL_EPOCH.year, SERIAL_EPOCH.month, SERIAL_EPOCH.day)  # noqa: DTZ001
    return start + timedelta(days=days, seconds=seconds)


def format_date(serial: float, fmt: str) -> str:
    """Render a date serial with tokens d dd m mm yy yyyy (and names, times) plus literals."""
    moment = serial_to_datetime(serial)
    tokens = _DATE_TOKEN.findall(fmt or "d/m/yyyy")
    out: list[str] = []
    after_hour = False
    for token in tokens:
        low = token.lower()
        if low.startswith('"'):
            out.append(token[1:-1])
        elif token.startswith("\\"):
            out.append(token[1:])
        elif low in _DATE_FIELDS:
            out.append(_DATE_FIELDS[low](moment))
        elif low in ("mm", "m"):
            number = moment.minute if after_hour else moment.month
            out.append(f"{number:02d}" if low == "mm" else str(number))
            after_hour = False
        elif low in ("hh", "h"):
            out.append(f"{moment.hour:02d}" if low == "hh" else str(moment.hour))
            after_hour = True
            continue
        else:
            out.append(token)
            if token == ":":
                continue
        after_hour = after_hour and low == ":"
    return "".join(out)


def _plain_number(value: Any) -> Any:
    """JSON has one number type; Google writes integral doubles as integers."""
    if isinstance(value, float) and math.isfinite(value) and value == int(value):
        return int(value)
    return value


def plain_number(value: Any) -> Any:
    """A number as Google writes it in JSON (integral doubles as integers)."""
    return _plain_number(value)


def render_cell(cell: Any, value_render: str, datetime_render: str) -> Any:
    """A stored cell as Sheets' values API returns it; None means empty."""
    if is_empty(cell):
        return None
    formatted = value_render == "FORMATTED_VALUE"
    if isinstance(cell, bool):
        return ("TRUE" if cell else "FALSE") if formatted else cell
    if isinstance(cell, int | float):
        return format_general(cell) if formatted else _plain_number(cell)
    if isinstance(cell, str):
        return cell
    if not isinstance(cell, dict):
        return str(cell)
    if "formula" in cell:
        if value_render == "FORMULA":
            return cell["formula"]
        return render_cell(cell.get("value"), value_render, datetime_render)
    if "error" in cell:
        return cell["error"]
    if "serial" in cell:
        fmt = cell.get("format") or "d/m/yyyy"
        if formatted or datetime_render == "FORMATTED_STRING":
            return format_date(float(cell["serial"]), fmt)
        return _plain_number(cell["serial"])
    if "number" in cell:
        if formatted:
            return format_number(cell["number"], cell.get("format") or "")
        return _plain_number(cell["number"])
    return None


def read_values(
    sheet: Sheet,
    bounds: Bounds,
    value_render: str = "FORMATTED_VALUE",
    datetime_render: str = "SERIAL_NUMBER",
    major: str = "ROWS",
) -> list[list[Any]]:
    """Rendered values of a range, trimmed ragged like Google's (trailing empties dropped)."""
    rows: list[list[Any]] = sheet.get("rows") or []
    start_row, start_col, end_row, end_col = concrete(sheet, bounds)
    grid: list[list[Any]] = []
    for r in range(start_row, min(end_row, len(rows))):
        source = rows[r] or []
        grid.append(
            [
                render_cell(source[c], value_render, datetime_render)
                for c in range(start_col, min(end_col, len(source)))
            ]
        )
    if major == "COLUMNS":
        width = max((len(row) for row in grid), default=0)
        grid = [[row[c] if c < len(row) else None for row in grid] for c in range(width)]
    out: list[list[Any]] = []
    for row in grid:
        while row and row[-1] is None:
            row.pop()
        out.append(["" if value is None else value for value in row])
    while out and not out[-1]:
        out.pop()
    return out


# --------------------------------------------------------------------------------------------
# Writing cells


_INT = re.compile(r"^[+-]?[0-9]+$")
_FLOAT = re.compile(r"^[+-]?(?:[0-9]+\.[0-9]*|\.[0-9]+|[0-9]+(?:\.[0-9]*)?[eE][+-]?[0-9]+)$")
_GROUPED = re.compile(r"^[+-]?[0-9]{1,3}(?:,[0-9]{3})+(\.[0-9]+)?$")
_PERCENT = re.compile(r"^[+-]?[0-9]+(\.[0-9]+)?%$")


def parse_user_entered(text: str) -> Any:
    """What Sheets stores when a person types ``text`` (valueInputOption=USER_ENTERED)."""
    if text == "":
        return None
    if text.startswith("'"):
        return text[1:] or None
    if text.startswith("=") and len(text) > 1:
        return {"formula": text, "value": None}
    stripped = text.strip()
    if stripped.upper() in ("TRUE", "FALSE"):
        return stripped.upper() == "TRUE"
    if _INT.match(stripped):
        return int(stripped)
    if _FLOAT.match(stripped):
        return _plain_number(float(stripped))
    grouped = _GROUPED.match(stripped)
    if grouped:
        number = _plain_number(float(stripped.replace(",", "")))
        fmt = "#,##0" + ("." + "0" * (len(grouped.group(1)) - 1) if grouped.group(1) else "")
        return {"number": number, "format": fmt}
    percent = _PERCENT.match(stripped)
    if percent:
        decimals = len(percent.group(1)) - 1 if percent.group(1) else 0
        value = float(Decimal(stripped[:-1]) / 100)
        return {"number": value, "format": "0" + ("." + "0" * decimals if decimals else "") + "%"}
    return text


def input_to_cell(value: Any, input_option: str, old: Any) -> Any:
    """Turn one value of a write request into a stored cell, keeping a number format in place."""
    if isinstance(value, str):
        cell = parse_user_entered(value) if input_option == "USER_ENTERED" else (value or None)
    elif isinstance(value, bool) or value is None:
        cell = value
    elif isinstance(value, int | float):
        cell = _plain_number(value)
    else:
        raise invalid_argument(f"Invalid values: {json.dumps(value, ensure_ascii=False)}")
    if (
        isinstance(cell, int | float)
        and not isinstance(cell, bool)
        and isinstance(old, dict)
        and old.get("format")
    ):
        if "serial" in old:
            return {"serial": cell, "format": old["format"]}
        if "number" in old:
            return {"number": cell, "format": old["format"]}
    return cell


def set_cell(sheet: Sheet, row: int, col: int, cell: Any) -> None:
    rows: list[list[Any]] = sheet.setdefault("rows", [])
    if is_empty(cell) and (row >= len(rows) or col >= len(rows[row] or [])):
        return
    while len(rows) <= row:
        rows.append([])
    if rows[row] is None:
        rows[row] = []
    line = rows[row]
    while len(line) <= col:
        line.append(None)
    line[col] = None if is_empty(cell) else cell


def get_cell(sheet: Sheet, row: int, col: int) -> Any:
    rows: list[list[Any]] = sheet.get("rows") or []
    if row < len(rows) and rows[row] and col < len(rows[row]):
        return rows[row][col]
    return None


def note_key(row: int, col: int) -> str:
    """A note's key in a sheet's ``notes``: the cell's A1 name, so a state file reads plainly."""
    return f"{column_letters(col)}{row + 1}"


def get_note(sheet: Sheet, row: int, col: int) -> str | None:
    notes: dict[str, str] = sheet.get("notes") or {}
    return notes.get(note_key(row, col))


def set_note(sheet: Sheet, row: int, col: int, text: str | None) -> None:
    """Set one cell's note; None or "" removes it (Sheets keeps no empty notes)."""
    notes: dict[str, str] = sheet.setdefault("notes", {})
    if text:
        notes[note_key(row, col)] = text
    else:
        notes.pop(note_key(row, col), None)
    if not notes:
        sheet.pop("notes", None)


def clear_notes(sheet: Sheet, bounds: Bounds) -> None:
    """Remove the notes of every cell in ``bounds`` (open ends run to the grid's edge)."""
    notes: dict[str, str] = sheet.get("notes") or {}
    start_row, start_col, end_row, end_col = concrete(sheet, bounds)
    for key in list(notes):
        found = parse_cells(key)
        if found is None:
            continue
        if start_row <= found.start_row < end_row and start_col <= found.start_col < end_col:
            del notes[key]
    if not notes:
        sheet.pop("notes", None)


def tidy(sheet: Sheet) -> None:
    """Drop trailing empty cells and rows so files stay small."""
    rows: list[list[Any]] = sheet.get("rows") or []
    for line in rows:
        while line and is_empty(line[-1]):
            line.pop()
    while rows and not rows[-1]:
        rows.pop()
    sheet["rows"] = rows


def write_values(
    sheet: Sheet,
    bounds: Bounds,
    values: list[list[Any]],
    input_option: str,
    major: str = "ROWS",
) -> tuple[int, int, int, int, int]:
    """Write values at a range's top-left; returns (start_row, start_col, rows, cols, cells)."""
    if not isinstance(values, list) or any(not isinstance(row, list) for row in values):
        raise invalid_argument("Invalid values: expected a list of lists")
    if major == "COLUMNS":
        height = max((len(col) for col in values), default=0)
        values = [[col[r] if r < len(col) else None for col in values] for r in range(height)]
    height = len(values)
    width = max((len(row) for row in values), default=0)
    start_row, start_col = bounds.start_row, bounds.start_col
    if bounds.end_row == start_row + 1 and bounds.end_col == start_col + 1:
        bounds = Bounds(start_row, start_col, None, None)  # one cell is only an anchor
    if bounds.end_row is not None and start_row + height > bounds.end_row:
        shown = _bounds_text(sheet, bounds)
        raise invalid_argument(
            f"Requested writing within range [{shown}], but tried writing to row "
            f"[{start_row + height}]"
        )
    if bounds.end_col is not None and start_col + width > bounds.end_col:
        shown = _bounds_text(sheet, bounds)
        raise invalid_argument(
            f"Requested writing within range [{shown}], but tried writing to column "
            f"[{column_letters(start_col + width - 1)}]"
        )
    cells = 0
    for r, row in enumerate(values):
        for c, value in enumerate(row):
            if value is None:
                continue
            old = get_cell(sheet, start_row + r, start_col + c)
            set_cell(sheet, start_row + r, start_col + c, input_to_cell(value, input_option, old))
            cells += 1
    tidy(sheet)
    return start_row, start_col, height, width, cells


def clear_values(sheet: Sheet, bounds: Bounds) -> None:
    rows: list[list[Any]] = sheet.get("rows") or []
    start_row, start_col, end_row, end_col = concrete(sheet, bounds)
    for r in range(start_row, min(end_row, len(rows))):
        line = rows[r] or []
        for c in range(start_col, min(end_col, len(line))):
            line[c] = None
    tidy(sheet)


def last_data_row(sheet: Sheet, start_col: int, end_col: int | None) -> int:
    """Index after the last row holding data in the given columns (0 if none)."""
    rows: list[list[Any]] = sheet.get("rows") or []
    for r in range(len(rows) - 1, -1, -1):
        line = rows[r] or []
        stop = len(line) if end_col is None else min(end_col, len(line))
        if any(not is_empty(line[c]) for c in range(start_col, stop)):
            return r + 1
    return 0


def _bounds_text(sheet: Sheet, bounds: Bounds) -> str:
    return a1_text(sheet["title"], *concrete(sheet, bounds))


# --------------------------------------------------------------------------------------------
# Files on disk


def spreadsheets_dir(state_dir: Path) -> Path:
    return Path(state_dir) / "spreadsheets"


def spreadsheet_path(state_dir: Path, spreadsheet_id: str) -> Path:
    if not re.fullmatch(r"[A-Za-z0-9_-]+", spreadsheet_id):
        raise EmulatorError(f"not a spreadsheet id: {spreadsheet_id!r}")
    return spreadsheets_dir(state_dir) / f"{spreadsheet_id}.json"


def control_path(state_dir: Path) -> Path:
    return Path(state_dir) / "control.json"


def atomic_write_json(path: Path, data: Any) -> None:
    """Write JSON so a reader sees the old file or the new one, never half of one."""
    write_atomically(path, json.dumps(data, ensure_ascii=False))


def _read_json(path: Path) -> Any:
    """Read JSON, retrying briefly in case another program is rewriting it in place."""
    for attempt in range(5):
        try:
            return json.loads(path.read_text(encoding="utf-8"))
        except json.JSONDecodeError:
            if attempt == 4:
                raise
            time.sleep(0.02)
    raise AssertionError("unreachable")


def normalize_doc(doc: Any, spreadsheet_id: str) -> Doc:
    """Fill in what a hand-written or generated file may leave out."""
    if not isinstance(doc, dict) or not isinstance(doc.get("sheets", []), list):
        raise EmulatorError(f"spreadsheet {spreadsheet_id}: not in the emulator's format")
    doc["spreadsheetId"] = spreadsheet_id
    doc.setdefault("title", spreadsheet_id)
    doc.setdefault("parents", [])
    doc.setdefault("locale", "en_US")
    doc.setdefault("timeZone", "Etc/GMT")
    stamp = doc.get("modifiedTime") or doc.get("createdTime") or now_rfc3339()
    doc.setdefault("createdTime", stamp)
    doc.setdefault("modifiedTime", stamp)
    sheets: list[Sheet] = doc.setdefault("sheets", [])
    used = {s.get("sheetId") for s in sheets if isinstance(s, dict)}
    for number, sheet in enumerate(sheets):
        if not isinstance(sheet, dict):
            raise EmulatorError(f"spreadsheet {spreadsheet_id}: a sheet is not an object")
        if sheet.get("sheetId") is None:
            candidate = number
            while candidate in used:
                candidate += 1
            sheet["sheetId"] = candidate
            used.add(candidate)
        sheet.setdefault("title", f"Sheet{number + 1}")
        if not isinstance(sheet.get("rows"), list):
            sheet["rows"] = []
        sheet["rows"] = [row if isinstance(row, list) else [] for row in sheet["rows"]]
    return doc


class Store:
    """Spreadsheets held in memory, reloaded when their file changes on disk."""

    def __init__(self, state_dir: Path) -> None:
        self.state_dir = Path(state_dir)
        self.lock = threading.RLock()
        self._docs: dict[str, tuple[tuple[int, int, int], Doc]] = {}
        self._control: tuple[tuple[int, int, int] | None, dict[str, Any]] = (None, {})
        self._warned: set[str] = set()
        spreadsheets_dir(self.state_dir).mkdir(parents=True, exist_ok=True)

    @staticmethod
    def _signature(stat: os.stat_result) -> tuple[int, int, int]:
        return (stat.st_mtime_ns, stat.st_size, stat.st_ino)

    def get(self, spreadsheet_id: str) -> Doc | None:
        """The current spreadsheet (shared; copy before changing), or None if absent."""
        try:
            path = spreadsheet_path(self.state_dir, spreadsheet_id)
        except EmulatorError:
            return None
        with self.lock:
            try:
                stat = path.stat()
            except FileNotFoundError:
                self._docs.pop(spreadsheet_id, None)
                return None
            signature = self._signature(stat)
            cached = self._docs.get(spreadsheet_id)
            if cached and cached[0] == signature:
                return cached[1]
            try:
                doc = normalize_doc(_read_json(path), spreadsheet_id)
            except FileNotFoundError:
                self._docs.pop(spreadsheet_id, None)
                return None
            except ValueError as exc:
                raise EmulatorError(
                    f"spreadsheet {spreadsheet_id}: not valid JSON: {exc}"
                ) from None
            self._docs[spreadsheet_id] = (signature, doc)
            return doc

    def ids(self) -> list[str]:
        folder = spreadsheets_dir(self.state_dir)
        with os.scandir(folder) as entries:
            return sorted(
                entry.name[:-5]
                for entry in entries
                if entry.name.endswith(".json") and not entry.name.startswith(".")
            )

    def all(self) -> Iterator[Doc]:
        """Every readable spreadsheet; a broken file is skipped (and named once on stderr)."""
        for spreadsheet_id in self.ids():
            try:
                doc = self.get(spreadsheet_id)
            except EmulatorError as exc:
                if str(exc) not in self._warned:
                    self._warned.add(str(exc))
                    print(f"emulator: skipping {exc}", file=sys.stderr)
                continue
            if doc is not None:
                yield doc

    def save(self, doc: Doc, touch: bool = True) -> None:
        """Persist a change made through the API: stamp its modifiedTime, made by the caller."""
        if touch:
            doc["modifiedTime"] = now_rfc3339(self.control())
            doc["lastModifyingUser"] = SERVICE_ACCOUNT_USER
        path = spreadsheet_path(self.state_dir, doc["spreadsheetId"])
        with self.lock:
            atomic_write_json(path, doc)
            self._docs[doc["spreadsheetId"]] = (self._signature(path.stat()), doc)

    def delete(self, spreadsheet_id: str) -> bool:
        with self.lock:
            self._docs.pop(spreadsheet_id, None)
            try:
                spreadsheet_path(self.state_dir, spreadsheet_id).unlink()
            except FileNotFoundError:
                return False
            return True

    def control(self) -> dict[str, Any]:
        """control.json, re-read when it changes; defaults when absent or unreadable."""
        path = control_path(self.state_dir)
        with self.lock:
            try:
                signature: tuple[int, int, int] | None = self._signature(path.stat())
            except FileNotFoundError:
                signature = None
            if signature == self._control[0] and self._control[1]:
                return self._control[1]
            data: dict[str, Any] = {}
            if signature is not None:
                try:
                    loaded = _read_json(path)
                    data = loaded if isinstance(loaded, dict) else {}
                except (OSError, json.JSONDecodeError):
                    data = dict(self._control[1])
            self._control = (signature, _control_defaults(data))
            return self._control[1]


def _control_defaults(data: dict[str, Any]) -> dict[str, Any]:
    out = dict(data)
    out.setdefault("read_quota_per_minute", DEFAULT_QUOTA)
    out.setdefault("write_quota_per_minute", DEFAULT_QUOTA)
    faults = out.get("faults")
    out["faults"] = faults if isinstance(faults, dict) else {}
    return out


def read_control(state_dir: Path) -> dict[str, Any]:
    """control.json with defaults filled in."""
    path = control_path(state_dir)
    if not path.exists():
        return _control_defaults({})
    try:
        data = _read_json(path)
    except json.JSONDecodeError as exc:
        raise EmulatorError(f"control.json is not valid JSON: {exc}") from None
    return _control_defaults(data if isinstance(data, dict) else {})


def set_fault(
    state_dir: Path, spreadsheet_id: str, mode: str | None, seconds: float | None = None
) -> None:
    """Make one spreadsheet fail ("403", "404", "500", "hang"), or heal it with None/"none"."""
    control = read_control(state_dir)
    faults: dict[str, Any] = dict(control["faults"])
    if mode is None or mode == "none":
        faults.pop(spreadsheet_id, None)
    else:
        if mode not in FAULT_MODES:
            raise EmulatorError(f"unknown fault mode {mode!r}; use one of {', '.join(FAULT_MODES)}")
        entry: dict[str, Any] = {"mode": mode}
        if seconds is not None:
            entry["seconds"] = seconds
        faults[spreadsheet_id] = entry
    control["faults"] = faults
    atomic_write_json(control_path(state_dir), control)


def set_flaky(state_dir: Path, rate: float, statuses: tuple[int, ...] = (429, 500, 503)) -> None:
    """Answer ``rate`` of all Sheets requests with one of ``statuses`` (0 turns it off)."""
    if not 0 <= rate <= 1:
        raise EmulatorError(f"flaky rate must be between 0 and 1, not {rate}")
    control = read_control(state_dir)
    if rate == 0:
        control.pop("flaky", None)
    else:
        control["flaky"] = {"rate": rate, "statuses": list(statuses)}
    atomic_write_json(control_path(state_dir), control)


def set_quota(state_dir: Path, read: int | None = None, write: int | None = None) -> None:
    """Change the per-minute quotas a running emulator applies (0 or less = unlimited)."""
    control = read_control(state_dir)
    if read is not None:
        control["read_quota_per_minute"] = read
    if write is not None:
        control["write_quota_per_minute"] = write
    atomic_write_json(control_path(state_dir), control)


def load_day(state_dir: Path, demo_dir: Path, day: date) -> int:
    """Make STATE hold the Drive folder as the morning run of ``day`` sees it."""
    days_dir = Path(demo_dir) / "days"
    if not days_dir.is_dir():
        raise EmulatorError(f"not a demo data set (no days/ folder): {demo_dir}")
    chosen: dict[str, Path] = {}
    for folder in sorted(days_dir.iterdir()):
        try:
            folder_day = date.fromisoformat(folder.name)
        except ValueError:
            continue
        if folder_day > day or not folder.is_dir():
            continue
        for path in folder.glob("*.json"):
            chosen[path.stem] = path
    if not chosen:
        raise EmulatorError(f"the demo data set has no day on or before {day.isoformat()}")
    target = spreadsheets_dir(state_dir)
    target.mkdir(parents=True, exist_ok=True)
    for spreadsheet_id, source in chosen.items():
        with replacing(target / f"{spreadsheet_id}.json") as temporary:
            shutil.copyfile(source, temporary)
    for existing in target.glob("*.json"):
        if existing.stem not in chosen:
            existing.unlink()
    _share_as_on(state_dir, Path(demo_dir), day)
    set_clock(state_dir, morning_of(day))
    return len(chosen)


def _share_as_on(state_dir: Path, demo_dir: Path, day: date) -> None:
    """Answer 403 for the sheets the demo data set says were not shared with us on ``day``
    (its manifest's ``unshared`` sheet faults), and lift the ones an earlier day set."""
    manifest = demo_dir / "manifest.json"
    faults = _read_json(manifest).get("sheet_faults", []) if manifest.exists() else []
    unshared = {
        str(f["spreadsheet_id"])
        for f in faults
        if f.get("kind") == "unshared" and f.get("day") == day.isoformat()
    }
    control = read_control(state_dir)
    kept = {k: v for k, v in control["faults"].items() if not _from_demo_data(v)}
    wanted = {**kept, **{sid: {"mode": "403", "demo_data": True} for sid in sorted(unshared)}}
    if wanted != control["faults"]:
        control["faults"] = wanted
        atomic_write_json(control_path(state_dir), control)


def _from_demo_data(fault: Any) -> bool:
    return isinstance(fault, dict) and bool(fault.get("demo_data"))


def load_spreadsheet(state_dir: Path, spreadsheet_id: str) -> Doc:
    path = spreadsheet_path(state_dir, spreadsheet_id)
    try:
        return normalize_doc(_read_json(path), spreadsheet_id)
    except FileNotFoundError:
        raise EmulatorError(f"unknown spreadsheet id: {spreadsheet_id}") from None


def edit_cell(state_dir: Path, spreadsheet_id: str, a1: str, typed: str) -> None:
    """Change one cell as a clerk typing ``typed`` would; "" clears it."""
    doc = load_spreadsheet(state_dir, spreadsheet_id)
    bump_version(doc)
    resolved = resolve_range(doc, a1)
    bounds = resolved.bounds
    if bounds.end_row != bounds.start_row + 1 or bounds.end_col != bounds.start_col + 1:
        raise EmulatorError(f"not a single cell: {a1}")
    sheet = doc["sheets"][resolved.sheet_index]
    old = get_cell(sheet, bounds.start_row, bounds.start_col)
    set_cell(sheet, bounds.start_row, bounds.start_col, input_to_cell(typed, "USER_ENTERED", old))
    tidy(sheet)
    doc["modifiedTime"] = now_rfc3339(read_control(state_dir))
    doc["lastModifyingUser"] = CLERK_USER
    atomic_write_json(spreadsheet_path(state_dir, spreadsheet_id), doc)


def bump_version(doc: Doc) -> None:
    """Drive's ``version``: one more for every change to the file, whoever made it."""
    doc["version"] = int(doc.get("version") or 1) + 1


def deep_copy(doc: Doc) -> Doc:
    return copy.deepcopy(doc)


# --------------------------------------------------------------------------------------------
# What a clerk does in the Sheets window (not through the API): the change is the clerk's, as
# Drive's lastModifyingUser and version say.


@contextmanager
def as_clerk(state_dir: Path, spreadsheet_id: str) -> Iterator[Doc]:
    """The spreadsheet, to change as a clerk would in the browser; saved on leaving, with
    Drive's version one higher and the clerk as its last modifying user."""
    doc = load_spreadsheet(state_dir, spreadsheet_id)
    yield doc
    bump_version(doc)
    doc["modifiedTime"] = now_rfc3339(read_control(state_dir))
    doc["lastModifyingUser"] = CLERK_USER
    atomic_write_json(spreadsheet_path(state_dir, spreadsheet_id), doc)


def tab_of(doc: Doc, title: str) -> Sheet:
    """The tab ``title`` of a spreadsheet."""
    for sheet in doc["sheets"]:
        if sheet["title"] == title:
            found: Sheet = sheet
            return found
    raise EmulatorError(f"no tab {title!r}")


def insert_rows(sheet: Sheet, at: int, count: int) -> None:
    """Insert ``count`` empty rows before 0-based row ``at``, as Sheets does: values, notes,
    formats and row sizes below move down with their rows."""
    _move_rows(sheet, lambda row: row + count if row >= at else row, at, count)


def delete_rows(sheet: Sheet, at: int, count: int) -> None:
    """Delete rows ``at`` to ``at + count - 1`` (0-based) with everything on them; the rows
    below move up."""
    end = at + count

    def moved(row: int) -> int:
        return row if row < at else (at if row < end else row - count)

    _move_rows(sheet, moved, at, -count, deleted=range(at, end))


def _move_rows(
    sheet: Sheet,
    moved: Callable[[int], int],
    at: int,
    count: int,
    deleted: range = range(0),
) -> None:
    rows: list[list[Any]] = sheet.get("rows") or []
    if count > 0 and at < len(rows):
        rows[at:at] = [[] for _ in range(count)]
    elif count < 0:
        del rows[deleted.start : deleted.stop]
    sheet["rows"] = rows
    notes: dict[str, str] = sheet.get("notes") or {}
    kept: dict[str, str] = {}
    for key, text in notes.items():
        cell = parse_cells(key)
        if cell is None or cell.start_row in deleted:
            continue
        kept[note_key(moved(cell.start_row), cell.start_col)] = text
    if kept:
        sheet["notes"] = kept
    else:
        sheet.pop("notes", None)
    formats: list[dict[str, Any]] = []
    for entry in sheet.get("formats") or []:
        bounds = dict(entry["range"])
        start, end = bounds.get("startRowIndex"), bounds.get("endRowIndex")
        if start is not None:
            bounds["startRowIndex"] = moved(start)
        if end is not None:  # an end is the row after the range's last one
            bounds["endRowIndex"] = moved(end - 1) + 1 if end - 1 not in deleted else moved(end)
        if bounds.get("endRowIndex", 1) <= bounds.get("startRowIndex", 0):
            continue  # every row of the range was deleted
        formats.append({**entry, "range": bounds})
    if formats:
        sheet["formats"] = formats
    else:
        sheet.pop("formats", None)
    metadata: list[Any] = sheet.get("rowMetadata") or []
    if count > 0 and at < len(metadata):
        metadata[at:at] = [{"pixelSize": 21} for _ in range(count)]
    elif count < 0:
        del metadata[deleted.start : deleted.stop]
    grid = sheet.get("gridProperties")
    if isinstance(grid, dict) and "rowCount" in grid:
        grid["rowCount"] = max(1, int(grid["rowCount"]) + count)
    tidy(sheet)


def set_background(
    sheet: Sheet, row: int, col: int, color: tuple[float, float, float] | None
) -> None:
    """Fill one cell with ``color`` (red, green, blue from 0 to 1), or take its fill away."""
    bounds = {
        "startRowIndex": row,
        "endRowIndex": row + 1,
        "startColumnIndex": col,
        "endColumnIndex": col + 1,
    }
    formats: list[dict[str, Any]] = sheet.setdefault("formats", [])
    value = None if color is None else dict(zip(("red", "green", "blue"), color, strict=True))
    formats.append({"range": bounds, "userEnteredFormat": {"backgroundColor": value}})
