"""The HTTP face of the emulator: Google's Sheets v4 and Drive v3 paths, quota and faults.

Stdlib only (``http.server``), so it runs anywhere the pipeline runs, including inside tests.
"""

from __future__ import annotations

import base64
import collections
import contextlib
import json
import random
import re
import signal
import socket
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import FrameType
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from schoolnet.devtools.emulator import changes, state
from schoolnet.devtools.emulator.state import (
    ApiError,
    Doc,
    Sheet,
    drive_error,
    invalid_argument,
    not_found,
)

HANG_STEP_SECONDS = 0.05  # how often a held request looks whether the emulator is stopping
JSON_TYPE = "application/json; charset=UTF-8"
DRIVE_FILE_FIELDS = (
    "kind",
    "id",
    "name",
    "mimeType",
    "modifiedTime",
    "createdTime",
    "parents",
    "lastModifyingUser",
    "version",
)
DRIVE_DEFAULT_FILE_FIELDS = ("kind", "id", "name", "mimeType")
RECORDED_REQUESTS = (
    "setDataValidation",
    "addProtectedRange",
    "autoResizeDimensions",
    "updateBorders",
    "mergeCells",
    "unmergeCells",
    "addConditionalFormatRule",
    "setBasicFilter",
    "clearBasicFilter",
)
# What a sheet keeps of cell formats and dimensions, as Google does; a ``repeatCell`` that sets
# only these is kept in the sheet's ``formats`` (a later one over the same cells wins), any
# other valid one is recorded as before. Unknown field names are a 400, as in Sheets.
CELL_FIELDS = frozenset(
    {
        "userEnteredValue",
        "userEnteredFormat",
        "note",
        "textFormatRuns",
        "dataValidation",
        "pivotTable",
        "dataSourceTable",
        "dataSourceFormula",
        "chipRuns",
    }
)
CELL_FORMAT_FIELDS = frozenset(
    {
        "numberFormat",
        "backgroundColor",
        "backgroundColorStyle",
        "borders",
        "padding",
        "horizontalAlignment",
        "verticalAlignment",
        "wrapStrategy",
        "textDirection",
        "textFormat",
        "hyperlinkDisplayType",
        "textRotation",
    }
)
WRAP_STRATEGIES = ("OVERFLOW_CELL", "LEGACY_WRAP", "CLIP", "WRAP")
# A kept format field and its value once cleared (in the mask, absent from the cell); None:
# a cleared field is absent, as a cell with no background colour has none.
KEPT_FORMATS: dict[tuple[str, ...], Any] = {
    ("wrapStrategy",): "OVERFLOW_CELL",
    ("textFormat", "bold"): False,
    ("backgroundColor",): None,
}
COLOR_COMPONENTS = ("red", "green", "blue", "alpha")
DIMENSION_FIELDS = frozenset(
    {
        "hiddenByFilter",
        "hiddenByUser",
        "pixelSize",
        "developerMetadata",
        "dataSourceColumnReference",
    }
)
DEFAULT_PIXELS = {"COLUMNS": 100, "ROWS": 21}  # a new sheet's column width and row height
METADATA_KEY = {"COLUMNS": "columnMetadata", "ROWS": "rowMetadata"}
GRID_RANGE_KEYS = ("startRowIndex", "endRowIndex", "startColumnIndex", "endColumnIndex")
FAULT_BODIES = {
    "403": (403, "The caller does not have permission", "PERMISSION_DENIED"),
    "404": (404, "Requested entity was not found.", "NOT_FOUND"),
    "500": (500, "Internal error encountered.", "INTERNAL"),
    "502": (502, "Bad Gateway", "UNAVAILABLE"),
    "503": (503, "The service is currently unavailable.", "UNAVAILABLE"),
}


def quota_error(kind: str) -> ApiError:
    """Google's 429 body for the read or write per-minute quota."""
    label = "Read" if kind == "read" else "Write"
    return ApiError(
        429,
        f"Quota exceeded for quota metric '{label} requests' and limit '{label} requests per "
        f"minute per user' of service 'sheets.googleapis.com' for consumer 'project_number:0'.",
        "RESOURCE_EXHAUSTED",
        {
            "details": [
                {
                    "@type": "type.googleapis.com/google.rpc.ErrorInfo",
                    "reason": "RATE_LIMIT_EXCEEDED",
                    "domain": "googleapis.com",
                    "metadata": {
                        "quota_metric": f"sheets.googleapis.com/{kind}_requests",
                        "quota_limit": f"{label}RequestsPerMinutePerUser",
                        "service": "sheets.googleapis.com",
                    },
                }
            ]
        },
    )


# --------------------------------------------------------------------------------------------
# Quota and statistics


class RateWindow:
    """A rolling window of granted requests: Google's minute, or a shorter one in tests."""

    def __init__(self, seconds: float = 60.0) -> None:
        self.seconds = seconds
        self._times: collections.deque[float] = collections.deque()

    def try_acquire(self, limit: int, now: float) -> bool:
        while self._times and self._times[0] <= now - self.seconds:
            self._times.popleft()
        if limit > 0 and len(self._times) >= limit:
            return False
        self._times.append(now)
        return True

    def clear(self) -> None:
        self._times.clear()


@dataclass(frozen=True)
class LoggedRequest:
    """One API request as the emulator met it: when (epoch seconds), which quota, which call,
    and whether the quota let it through."""

    at: float
    kind: str
    endpoint: str
    granted: bool
    spreadsheet_id: str | None = None  # the spreadsheet a Sheets call was for


class Stats:
    """Counters behind GET /_emulator/stats, and the log of every API request."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.reset()

    def reset(self) -> None:
        self.reads = 0
        self.writes = 0
        self.throttled = 0
        self.faulted = 0
        self.by_endpoint: dict[str, int] = {}
        self.requests: list[LoggedRequest] = []

    def snapshot(self) -> dict[str, Any]:
        with self.lock:
            return {
                "reads": self.reads,
                "writes": self.writes,
                "throttled": self.throttled,
                "faulted": self.faulted,
                "by_endpoint": dict(sorted(self.by_endpoint.items())),
            }


# --------------------------------------------------------------------------------------------
# Routing


@dataclass(frozen=True)
class Route:
    endpoint: str
    kind: str  # "read", "write" or "admin"
    spreadsheet_id: str | None = None
    range: str | None = None


_ID = r"([A-Za-z0-9_-]+)"


def route(method: str, path: str) -> Route | None:
    """Map a method and raw (still percent-encoded) path to an endpoint."""
    kind = "read" if method == "GET" else "write"
    if path == "/_emulator/stats" and method == "GET":
        return Route("admin.stats", "admin")
    if path == "/_emulator/reset" and method == "POST":
        return Route("admin.reset", "admin")
    if path == "/_emulator/clock" and method == "GET":
        return Route("admin.clock", "admin")
    if path.startswith("/v4/spreadsheets"):
        return _sheets_route(method, path[len("/v4/spreadsheets") :], kind)
    return _drive_route(method, path, kind)


def _sheets_route(method: str, rest: str, kind: str) -> Route | None:
    """A Sheets API endpoint, from the path after ``/v4/spreadsheets``."""
    if rest in ("", "/"):
        return Route("spreadsheets.create", kind) if method == "POST" else None
    found = re.match(r"^/" + _ID, rest)
    if not found:
        return None
    sid = found.group(1)
    after = rest[found.end() :]
    simple = {
        ("GET", ""): "spreadsheets.get",
        ("POST", ":batchUpdate"): "spreadsheets.batchUpdate",
        ("GET", "/values:batchGet"): "values.batchGet",
        ("POST", "/values:batchUpdate"): "values.batchUpdate",
        ("POST", "/values:batchClear"): "values.batchClear",
    }
    if (method, after) in simple:
        return Route(simple[(method, after)], kind, sid)
    if after.startswith("/values/") and len(after) > len("/values/"):
        raw = after[len("/values/") :]
        for suffix, endpoint in ((":append", "values.append"), (":clear", "values.clear")):
            if method == "POST" and raw.endswith(suffix):
                return Route(endpoint, kind, sid, unquote(raw[: -len(suffix)]))
        if method == "GET":
            return Route("values.get", kind, sid, unquote(raw))
        if method == "PUT":
            return Route("values.update", kind, sid, unquote(raw))
    return None


def _drive_route(method: str, path: str, kind: str) -> Route | None:
    """A Drive API endpoint (files and the changes feed)."""
    if path == "/drive/v3/changes/startPageToken" and method == "GET":
        return Route("drive.changes.getStartPageToken", kind)
    if path in ("/drive/v3/changes", "/drive/v3/changes/") and method == "GET":
        return Route("drive.changes.list", kind)
    if path in ("/drive/v3/files", "/drive/v3/files/"):
        if method == "GET":
            return Route("drive.files.list", kind)
        if method == "POST":
            return Route("drive.files.create", kind)
        return None
    found = re.match(r"^/drive/v3/files/" + _ID + "$", path)
    if found:
        if method == "GET":
            return Route("drive.files.get", kind, found.group(1))
        if method == "DELETE":
            return Route("drive.files.delete", kind, found.group(1))
    return None


class Query:
    """Query-string access with Google's parameter conventions."""

    def __init__(self, raw: str) -> None:
        self.params = parse_qs(raw, keep_blank_values=True)

    def get(self, name: str, default: str | None = None) -> str | None:
        values = self.params.get(name)
        return values[-1] if values else default

    def all(self, name: str) -> list[str]:
        return self.params.get(name, [])

    def flag(self, name: str) -> bool:
        return (self.get(name) or "").lower() == "true"

    def choice(self, name: str, options: tuple[str, ...], default: str) -> str:
        value = self.get(name) or default
        if value not in options:
            raise invalid_argument(f"Invalid value at '{_snake(name)}', \"{value}\"")
        return value


def _snake(name: str) -> str:
    return re.sub(r"([A-Z])", lambda m: "_" + m.group(1).lower(), name)


# --------------------------------------------------------------------------------------------
# Drive query language (the subset the pipeline and gspread use)


_TERM_PATTERNS = (
    ("in_parents", re.compile(r"^(?P<q>['\"])(?P<v>(?:\\.|(?!(?P=q)).)*)(?P=q)\s+in\s+parents$")),
    ("parents_in", re.compile(r"^parents\s+in\s+(?P<q>['\"])(?P<v>(?:\\.|(?!(?P=q)).)*)(?P=q)$")),
    (
        "compare",
        re.compile(
            r"^(?P<f>mimeType|name|modifiedTime|createdTime)\s*(?P<op>!=|>=|<=|=|>|<|\s+contains\s+)"
            r"\s*(?P<q>['\"])(?P<v>(?:\\.|(?!(?P=q)).)*)(?P=q)$"
        ),
    ),
    ("trashed", re.compile(r"^trashed\s*(?P<op>!=|=)\s*(?P<v>true|false)$", re.IGNORECASE)),
)


def _split_and(query: str) -> list[str]:
    """Split on ``and`` outside quotes; refuse ``or``, ``not`` and parentheses."""
    terms: list[str] = []
    current: list[str] = []
    quote: str | None = None
    i = 0
    while i < len(query):
        char = query[i]
        if quote:
            current.append(char)
            if char == "\\" and i + 1 < len(query):
                current.append(query[i + 1])
                i += 2
                continue
            if char == quote:
                quote = None
        elif char in "'\"":
            quote = char
            current.append(char)
        elif char in "()":
            raise drive_error(400, "Invalid Value", "invalid", "q")
        else:
            word = re.match(r"\s+(and|or|not)\s+", query[i:], re.IGNORECASE)
            if word and word.group(1).lower() != "and":
                raise drive_error(400, "Invalid Value", "invalid", "q")
            if word:
                terms.append("".join(current).strip())
                current = []
                i += word.end()
                continue
            current.append(char)
        i += 1
    if quote:
        raise drive_error(400, "Invalid Value", "invalid", "q")
    terms.append("".join(current).strip())
    return [t for t in terms if t]


def _unescape(text: str) -> str:
    return re.sub(r"\\(.)", r"\1", text)


def drive_filter(query: str) -> Callable[[dict[str, Any]], bool]:
    """Compile a Drive ``q`` string into a predicate on file resources."""
    checks: list[Callable[[dict[str, Any]], bool]] = []
    for term in _split_and(query):
        for name, pattern in _TERM_PATTERNS:
            found = pattern.match(term)
            if found:
                checks.append(_term_check(name, found))
                break
        else:
            raise drive_error(400, "Invalid Value", "invalid", "q")
    return lambda file: all(check(file) for check in checks)


def _term_check(name: str, found: re.Match[str]) -> Callable[[dict[str, Any]], bool]:
    if name in ("in_parents", "parents_in"):
        folder = _unescape(found.group("v"))
        return lambda f: folder in f["parents"]
    if name == "trashed":
        wanted = found.group("v").lower() == "true"
        negate = found.group("op") == "!="
        return lambda _f: (wanted is False) != negate
    field, op, value = found.group("f"), found.group("op").strip(), _unescape(found.group("v"))
    if field in ("modifiedTime", "createdTime"):
        if op == "contains":
            raise drive_error(400, "Invalid Value", "invalid", "q")
        try:
            limit = state.parse_rfc3339(value)
        except ValueError:
            raise drive_error(400, "Invalid Value", "invalid", "q") from None
        return lambda f: _compare(state.parse_rfc3339(f[field]), op, limit)
    if op == "contains":
        if field != "name":
            raise drive_error(400, "Invalid Value", "invalid", "q")
        needle = value.lower()
        return lambda f: needle in f["name"].lower()
    if op not in ("=", "!="):
        raise drive_error(400, "Invalid Value", "invalid", "q")
    return lambda f: (f[field] == value) != (op == "!=")


def _compare(left: datetime | str, op: str, right: datetime | str) -> bool:
    ops: dict[str, Callable[[Any, Any], bool]] = {
        "=": lambda a, b: a == b,
        "!=": lambda a, b: a != b,
        ">": lambda a, b: a > b,
        ">=": lambda a, b: a >= b,
        "<": lambda a, b: a < b,
        "<=": lambda a, b: a <= b,
    }
    return ops[op](left, right)


def parse_fields(fields: str) -> dict[str, Any]:
    """``kind,nextPageToken,files(id,name)`` → {"kind": {}, "nextPageToken": {}, "files": {...}}."""
    tree: dict[str, Any] = {}
    depth, start = 0, 0
    items: list[str] = []
    for i, char in enumerate(fields):
        if char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
        elif char == "," and depth == 0:
            items.append(fields[start:i])
            start = i + 1
    items.append(fields[start:])
    for raw in items:
        item = raw.strip()
        if not item:
            continue
        if "(" in item and item.endswith(")") and "/" not in item.partition("(")[0]:
            name, _, inner = item[:-1].partition("(")
            _merge_fields(tree.setdefault(name.strip(), {}), parse_fields(inner))
        elif "/" in item:
            name, _, inner = item.partition("/")
            _merge_fields(tree.setdefault(name.strip(), {}), parse_fields(inner))
        else:
            tree.setdefault(item, {})
    return tree


def _merge_fields(tree: dict[str, Any], more: dict[str, Any]) -> None:
    """Add ``more``'s paths to ``tree``: ``a/b,a/c`` selects both under ``a``."""
    for name, sub in more.items():
        _merge_fields(tree.setdefault(name, {}), sub)


def field_paths(tree: dict[str, Any], prefix: tuple[str, ...] = ()) -> list[list[str]]:
    """Flatten a parsed field mask into paths: {"a": {"b": {}}} → [["a", "b"]]."""
    paths: list[list[str]] = []
    for name, sub in tree.items():
        if sub:
            paths.extend(field_paths(sub, (*prefix, name)))
        else:
            paths.append([*prefix, name])
    return paths


def select(resource: dict[str, Any], tree: dict[str, Any]) -> dict[str, Any]:
    """Keep only the selected fields (an empty subtree keeps the whole value)."""
    if "*" in tree:
        return resource
    out: dict[str, Any] = {}
    for name, sub in tree.items():
        if name not in resource:
            continue
        value = resource[name]
        if sub and isinstance(value, list):
            out[name] = [select(v, sub) if isinstance(v, dict) else v for v in value]
        elif sub and isinstance(value, dict):
            out[name] = select(value, sub)
        else:
            out[name] = value
    return out


def _default_file_tree() -> dict[str, Any]:
    """What Drive v3 returns for a file when no ``fields`` are asked for."""
    return {key: {} for key in DRIVE_DEFAULT_FILE_FIELDS}


def drive_file(doc: Doc) -> dict[str, Any]:
    return {
        "kind": "drive#file",
        "id": doc["spreadsheetId"],
        "name": doc["title"],
        "mimeType": state.SPREADSHEET_MIME,
        "modifiedTime": doc["modifiedTime"],
        "createdTime": doc["createdTime"],
        "parents": list(doc.get("parents") or []),
        "lastModifyingUser": doc.get("lastModifyingUser") or state.CLERK_USER,
        "version": str(doc.get("version") or 1),
    }


def encode_page_token(offset: int) -> str:
    return base64.urlsafe_b64encode(json.dumps({"o": offset}).encode()).decode().rstrip("=")


def decode_page_token(token: str) -> int:
    try:
        padded = token + "=" * (-len(token) % 4)
        offset = json.loads(base64.urlsafe_b64decode(padded.encode()))["o"]
        if not isinstance(offset, int) or offset < 0:
            raise ValueError(token)
        return offset
    except (ValueError, KeyError, TypeError):
        raise drive_error(400, "Invalid Value", "invalid", "pageToken") from None


_ORDER_KEYS: dict[str, Callable[[dict[str, Any]], Any]] = {
    "name": lambda f: f["name"],
    "name_natural": lambda f: f["name"],
    "modifiedTime": lambda f: state.parse_rfc3339(f["modifiedTime"]),
    "recency": lambda f: state.parse_rfc3339(f["modifiedTime"]),
    "createdTime": lambda f: state.parse_rfc3339(f["createdTime"]),
    "folder": lambda _f: 0,
}


def sort_files(files: list[dict[str, Any]], order_by: str | None) -> list[dict[str, Any]]:
    """Stable order: by id, then by each orderBy key from the last to the first."""
    ordered = sorted(files, key=lambda f: f["id"])
    if not order_by:
        return ordered
    keys = [part.strip().split() for part in order_by.split(",") if part.strip()]
    for parts in reversed(keys):
        if parts[0] not in _ORDER_KEYS or (len(parts) > 1 and parts[1].lower() != "desc"):
            raise drive_error(400, "Invalid Value", "invalid", "orderBy")
        ordered.sort(key=_ORDER_KEYS[parts[0]], reverse=len(parts) > 1)
    return ordered


# --------------------------------------------------------------------------------------------
# Sheets API operations


def spreadsheet_resource(
    doc: Doc, ranges: list[str] | None = None, grid: bool = False
) -> dict[str, Any]:
    """The Spreadsheet resource: with ``ranges``, only the sheets they fall in; with ``grid``,
    each sheet's ``data`` (one GridData per range, or the whole sheet)."""
    wanted: dict[int, list[state.Bounds]] = {}
    for text in ranges or []:
        resolved = state.resolve_range(doc, text)
        wanted.setdefault(resolved.sheet_index, []).append(resolved.bounds)
    sheets: list[dict[str, Any]] = []
    for index, sheet in enumerate(doc["sheets"]):
        if ranges and index not in wanted:
            continue
        entry: dict[str, Any] = {"properties": sheet_properties(sheet, index)}
        if grid:
            whole = [state.Bounds(0, 0, None, None)]
            entry["data"] = [grid_data(sheet, bounds) for bounds in wanted.get(index, whole)]
        sheets.append(entry)
    return {
        "spreadsheetId": doc["spreadsheetId"],
        "properties": {
            "title": doc["title"],
            "locale": doc.get("locale", "en_US"),
            "autoRecalc": "ON_CHANGE",
            "timeZone": doc.get("timeZone", "Etc/GMT"),
        },
        "sheets": sheets,
        "spreadsheetUrl": f"https://docs.google.com/spreadsheets/d/{doc['spreadsheetId']}/edit",
    }


def sheet_properties(sheet: Sheet, index: int) -> dict[str, Any]:
    rows, cols = state.grid_size(sheet)
    grid: dict[str, Any] = dict(sheet.get("gridProperties") or {})
    grid.update({"rowCount": rows, "columnCount": cols})
    props: dict[str, Any] = {
        "sheetId": sheet["sheetId"],
        "title": sheet["title"],
        "index": index,
        "sheetType": "GRID",
        "gridProperties": grid,
    }
    props.update(sheet.get("extraProperties") or {})
    return props


def wants_grid(tree: dict[str, Any]) -> bool:
    """Whether a ``fields`` mask of spreadsheets.get selects the sheets' grid data."""
    sheets = tree.get("sheets")
    return "*" in tree or (sheets is not None and (not sheets or "*" in sheets or "data" in sheets))


def grid_data(sheet: Sheet, bounds: state.Bounds) -> dict[str, Any]:
    """One GridData as spreadsheets.get returns it: ``rowData`` up to the last row holding
    anything (each row's ``values`` up to its last such cell, an empty cell as ``{}``), and
    the metadata of every row and column of the range (clipped to the grid)."""
    rows, cols = state.grid_size(sheet)
    top, left, bottom, right = state.concrete(sheet, bounds)
    bottom, right = min(bottom, rows), min(right, cols)
    last = min(bottom, _content_end(sheet))
    row_data: list[dict[str, Any]] = []
    for r in range(top, last):
        values = [cell_data(sheet, r, c) for c in range(left, right)]
        while values and not values[-1]:
            values.pop()
        row_data.append({"values": values} if values else {})
    while row_data and not row_data[-1]:
        row_data.pop()
    out: dict[str, Any] = {}
    if top:
        out["startRow"] = top
    if left:
        out["startColumn"] = left
    if row_data:
        out["rowData"] = row_data
    out["rowMetadata"] = _dimension_metadata(sheet, "ROWS", top, bottom)
    out["columnMetadata"] = _dimension_metadata(sheet, "COLUMNS", left, right)
    return out


def _content_end(sheet: Sheet) -> int:
    """The row after the last one a value, a note or a kept format may be in."""
    rows, _cols = state.grid_size(sheet)
    end = len(sheet.get("rows") or [])
    for key in sheet.get("notes") or {}:
        found = state.parse_cells(key)
        if found is not None:
            end = max(end, found.start_row + 1)
    for entry in sheet.get("formats") or []:
        end = max(end, entry["range"].get("endRowIndex", rows))
    return end


def _dimension_metadata(sheet: Sheet, dimension: str, start: int, end: int) -> list[Any]:
    kept: list[dict[str, Any]] = sheet.get(METADATA_KEY[dimension]) or []
    default = {"pixelSize": DEFAULT_PIXELS[dimension]}
    return [dict(kept[i]) if i < len(kept) else dict(default) for i in range(start, end)]


def cell_data(sheet: Sheet, row: int, column: int) -> dict[str, Any]:
    """One CellData: the entered and effective value, the formatted text, the note and the
    kept formats (a background colour also as ``backgroundColorStyle``, as Sheets answers)."""
    out: dict[str, Any] = {}
    stored = state.get_cell(sheet, row, column)
    if not state.is_empty(stored):
        entered = _extended_value(stored)
        if entered:
            out["userEnteredValue"] = entered
        effective = _extended_value(stored.get("value") if _is_formula(stored) else stored)
        if effective:
            out["effectiveValue"] = effective
        shown = state.render_cell(stored, "FORMATTED_VALUE", "SERIAL_NUMBER")
        if shown is not None:
            out["formattedValue"] = str(shown)
    look = cell_format(sheet, row, column)
    if look:
        if "backgroundColor" in look:
            look["backgroundColorStyle"] = {"rgbColor": dict(look["backgroundColor"])}
        out["userEnteredFormat"] = look
    note = state.get_note(sheet, row, column)
    if note:
        out["note"] = note
    return out


def _is_formula(stored: Any) -> bool:
    return isinstance(stored, dict) and "formula" in stored


ERROR_TYPES = {
    "#N/A": "N_A",
    "#REF!": "REF",
    "#VALUE!": "VALUE",
    "#DIV/0!": "DIVIDE_BY_ZERO",
    "#NAME?": "NAME",
    "#NUM!": "NUM",
    "#NULL!": "NULL_VALUE",
}


def _extended_value(stored: Any) -> dict[str, Any]:
    """A stored cell as an ExtendedValue (a formula as ``formulaValue``); {} when empty."""
    if state.is_empty(stored):
        return {}
    if isinstance(stored, bool):
        return {"boolValue": stored}
    if isinstance(stored, int | float):
        return {"numberValue": state.plain_number(stored)}
    if isinstance(stored, str):
        return {"stringValue": stored}
    if not isinstance(stored, dict):
        return {"stringValue": str(stored)}
    if "formula" in stored:
        return {"formulaValue": stored["formula"]}
    if "error" in stored:
        text = str(stored["error"])
        return {"errorValue": {"type": ERROR_TYPES.get(text, "ERROR"), "message": text}}
    for key in ("serial", "number"):
        if key in stored:
            return {"numberValue": state.plain_number(stored[key])}
    return {}


def value_range(doc: Doc, text: str, query: Query) -> dict[str, Any]:
    """One ValueRange as values.get and values.batchGet return it."""
    value_render = query.choice("valueRenderOption", state.VALUE_RENDER_OPTIONS, "FORMATTED_VALUE")
    datetime_render = query.choice(
        "dateTimeRenderOption", state.DATETIME_RENDER_OPTIONS, "SERIAL_NUMBER"
    )
    major = query.choice("majorDimension", state.MAJOR_DIMENSIONS, "ROWS")
    resolved = state.resolve_range(doc, text)
    sheet = doc["sheets"][resolved.sheet_index]
    state.check_within_grid(sheet, resolved.bounds)
    out: dict[str, Any] = {
        "range": state.a1_text(sheet["title"], *state.concrete(sheet, resolved.bounds)),
        "majorDimension": major,
    }
    values = state.read_values(sheet, resolved.bounds, value_render, datetime_render, major)
    if values:
        out["values"] = values
    return out


def apply_write(
    doc: Doc, text: str, values: Any, input_option: str, major: str = "ROWS"
) -> dict[str, Any]:
    """Write one range into ``doc`` (already a private copy); returns an UpdateValuesResponse."""
    if input_option not in ("RAW", "USER_ENTERED"):
        raise invalid_argument(f"Invalid valueInputOption: {input_option}")
    if major not in state.MAJOR_DIMENSIONS:
        raise invalid_argument(f"Invalid majorDimension: {major}")
    resolved = state.resolve_range(doc, text)
    sheet = doc["sheets"][resolved.sheet_index]
    row, col, height, width, _ = state.write_values(
        sheet, resolved.bounds, values if values is not None else [], input_option, major
    )
    response: dict[str, Any] = {"spreadsheetId": doc["spreadsheetId"]}
    if height and width:
        response.update(
            {
                "updatedRange": state.a1_text(sheet["title"], row, col, row + height, col + width),
                "updatedRows": height,
                "updatedColumns": width,
                "updatedCells": height * width,
            }
        )
    else:
        response["updatedRange"] = state.a1_text(sheet["title"], row, col, row + 1, col + 1)
    return response


def updated_data(doc: Doc, response: dict[str, Any], query: Query) -> dict[str, Any]:
    """The includeValuesInResponse part, rendered with the response* options."""
    render = Query("")
    render.params = {
        "valueRenderOption": [query.get("responseValueRenderOption") or "FORMATTED_VALUE"],
        "dateTimeRenderOption": [query.get("responseDateTimeRenderOption") or "SERIAL_NUMBER"],
    }
    return value_range(doc, response["updatedRange"], render)


class BatchUpdate:
    """spreadsheets.batchUpdate on a private copy: all requests apply, or none."""

    def __init__(self, doc: Doc) -> None:
        self.doc = doc

    def run(self, requests: list[Any]) -> list[dict[str, Any]]:
        replies = []
        for number, request in enumerate(requests):
            if not isinstance(request, dict) or len(request) != 1:
                raise invalid_argument(
                    f"Invalid requests[{number}]: exactly one request kind must be set."
                )
            ((kind, body),) = request.items()
            handler = getattr(self, "_" + kind, None)
            if handler is None and kind in RECORDED_REQUESTS:
                self.doc.setdefault("recordedRequests", []).append(request)
                replies.append(self._recorded_reply(kind, body))
                continue
            if handler is None:
                raise invalid_argument(
                    f'Invalid JSON payload received. Unknown name "{kind}" at '
                    f"'requests[{number}]': Cannot find field."
                )
            replies.append(handler(number, body or {}))
        return replies

    def _recorded_reply(self, kind: str, body: Any) -> dict[str, Any]:
        if kind == "addProtectedRange":
            protected = dict((body or {}).get("protectedRange") or {})
            protected.setdefault("protectedRangeId", len(self.doc["recordedRequests"]))
            return {"addProtectedRange": {"protectedRange": protected}}
        return {}

    def _sheet_at(self, number: int, kind: str, sheet_id: Any) -> int:
        for index, sheet in enumerate(self.doc["sheets"]):
            if sheet["sheetId"] == sheet_id:
                return index
        raise invalid_argument(f"Invalid requests[{number}].{kind}: No grid with id: {sheet_id}")

    def _check_title(self, number: int, kind: str, title: Any, skip: int | None = None) -> None:
        if not isinstance(title, str) or not title.strip():
            raise invalid_argument(f"Invalid requests[{number}].{kind}: the sheet name is empty.")
        for index, sheet in enumerate(self.doc["sheets"]):
            if index != skip and sheet["title"].lower() == title.lower():
                raise invalid_argument(
                    f'Invalid requests[{number}].{kind}: A sheet with the name "{title}" '
                    "already exists. Please enter another name."
                )

    def _addSheet(self, number: int, body: dict[str, Any]) -> dict[str, Any]:
        props = dict(body.get("properties") or {})
        sheets: list[Sheet] = self.doc["sheets"]
        title = props.get("title")
        if title is None:
            n = len(sheets) + 1
            while any(s["title"] == f"Sheet{n}" for s in sheets):
                n += 1
            title = f"Sheet{n}"
        self._check_title(number, "addSheet", title)
        used = {s["sheetId"] for s in sheets}
        sheet_id = props.get("sheetId")
        if sheet_id is None:
            sheet_id = max(used) + 1 if used else 0
        elif sheet_id in used:
            raise invalid_argument(
                f"Invalid requests[{number}].addSheet: A sheet with the id {sheet_id} "
                "already exists."
            )
        sheet: Sheet = {"sheetId": sheet_id, "title": title, "rows": []}
        grid = props.get("gridProperties")
        if grid:
            sheet["gridProperties"] = dict(grid)
        extra = {
            k: v
            for k, v in props.items()
            if k not in ("sheetId", "title", "index", "gridProperties", "sheetType")
        }
        if extra:
            sheet["extraProperties"] = extra
        index = props.get("index")
        position = len(sheets) if index is None else max(0, min(int(index), len(sheets)))
        sheets.insert(position, sheet)
        return {"addSheet": {"properties": sheet_properties(sheet, position)}}

    def _deleteSheet(self, number: int, body: dict[str, Any]) -> dict[str, Any]:
        index = self._sheet_at(number, "deleteSheet", body.get("sheetId"))
        if len(self.doc["sheets"]) == 1:
            raise invalid_argument(
                f"Invalid requests[{number}].deleteSheet: You can't remove all the sheets in "
                "a document."
            )
        del self.doc["sheets"][index]
        return {}

    def _updateSheetProperties(self, number: int, body: dict[str, Any]) -> dict[str, Any]:
        kind = "updateSheetProperties"
        given = dict(body.get("properties") or {})
        fields = body.get("fields")
        if not fields:
            raise invalid_argument(f"Invalid requests[{number}].{kind}: You must specify fields")
        index = self._sheet_at(number, kind, given.get("sheetId", 0))
        sheets: list[Sheet] = self.doc["sheets"]
        sheet = sheets[index]
        current = sheet_properties(sheet, index)
        paths = (
            [[key] for key in given if key != "sheetId"]
            if fields.strip() == "*"
            else field_paths(parse_fields(fields.replace(".", "/")))
        )
        for path in paths:
            source: Any = given
            for key in path:
                source = source.get(key) if isinstance(source, dict) else None
            target = current
            for key in path[:-1]:
                target = target.setdefault(key, {})
            if source is None:
                target.pop(path[-1], None)
            else:
                target[path[-1]] = source
        if current.get("title") != sheet["title"]:
            self._check_title(number, kind, current.get("title"), skip=index)
            sheet["title"] = current["title"]
        grid = dict(current.get("gridProperties") or {})
        resized = {p[1] for p in paths if p[0] == "gridProperties" and len(p) > 1}
        if paths and any(p == ["gridProperties"] for p in paths):
            resized = {"rowCount", "columnCount"}
        if "rowCount" in resized and grid.get("rowCount") is not None:
            del sheet["rows"][int(grid["rowCount"]) :]
        if "columnCount" in resized and grid.get("columnCount") is not None:
            for line in sheet["rows"]:
                del line[int(grid["columnCount"]) :]
        sheet["gridProperties"] = grid
        extra = {
            k: v
            for k, v in current.items()
            if k not in ("sheetId", "title", "index", "gridProperties", "sheetType")
        }
        if extra:
            sheet["extraProperties"] = extra
        else:
            sheet.pop("extraProperties", None)
        new_index = current.get("index", index)
        if new_index != index:
            sheets.insert(max(0, min(int(new_index), len(sheets) - 1)), sheets.pop(index))
        return {}

    def _updateCells(self, number: int, body: dict[str, Any]) -> dict[str, Any]:
        """Write cells from ``start``, or into ``range`` (whose cells the rows leave out are
        cleared of the masked fields), as Sheets does: a field the mask names is set from the
        cell, or cleared when the cell leaves it out; a field it does not name is untouched.
        Values, notes and the kept formats are applied; a valid mask naming anything else
        is accepted and the request recorded."""
        kind = "updateCells"
        fields = str(body.get("fields") or "")
        if not fields.strip():
            raise invalid_argument(f"Invalid requests[{number}].{kind}: You must specify fields")
        start, area = body.get("start"), body.get("range")
        if start is not None and area is not None:
            raise invalid_argument(
                f"Invalid value at 'requests[{number}].update_cells' (oneof), oneof field "
                "'area' is already set. Cannot set 'range'"
            )
        anchor = start if start is not None else area
        if not isinstance(anchor, dict):
            raise invalid_argument(f"Invalid requests[{number}].{kind}: start or range is required")
        sheet = self.doc["sheets"][self._sheet_at(number, kind, anchor.get("sheetId", 0))]
        mask = cell_mask(number, kind, fields)
        if start is not None:
            top = int(anchor.get("rowIndex") or 0)
            left = int(anchor.get("columnIndex") or 0)
        else:
            top = int(anchor.get("startRowIndex") or 0)
            left = int(anchor.get("startColumnIndex") or 0)
            bounds = {
                key: int(anchor[key]) for key in GRID_RANGE_KEYS if anchor.get(key) is not None
            }
            _clear_cells(sheet, bounds, mask)
        rows = body.get("rows") or []
        for r, row in enumerate(rows if isinstance(rows, list) else []):
            cells = (row or {}).get("values") or []
            for c, cell in enumerate(cells if isinstance(cells, list) else []):
                where = f"requests[{number}].update_cells.rows[{r}].values[{c}]"
                _write_cell(sheet, top + r, left + c, cell or {}, mask, where)
        state.tidy(sheet)
        if mask.other:
            self._record(kind, body)
        return {}

    def _record(self, kind: str, body: dict[str, Any]) -> dict[str, Any]:
        self.doc.setdefault("recordedRequests", []).append({kind: body})
        return {}

    def _updateDimensionProperties(self, number: int, body: dict[str, Any]) -> dict[str, Any]:
        """Column widths and row heights (``pixelSize``) and ``hiddenByUser`` are kept in the
        sheet's ``columnMetadata`` / ``rowMetadata``, one entry per column or row from the
        first up to the last one ever set; other valid fields are recorded."""
        kind = "updateDimensionProperties"
        fields = str(body.get("fields") or "")
        if not fields:
            raise invalid_argument(f"Invalid requests[{number}].{kind}: You must specify fields")
        area = body.get("range")
        if not isinstance(area, dict):
            raise invalid_argument(f"Invalid requests[{number}].{kind}: range is required")
        dimension = area.get("dimension")
        if dimension not in DEFAULT_PIXELS:
            raise invalid_argument(
                f"Invalid requests[{number}].{kind}: dimension must be ROWS or COLUMNS"
            )
        names = (
            sorted(DIMENSION_FIELDS)
            if fields.strip() == "*"
            else [name.strip() for name in fields.split(",") if name.strip()]
        )
        unknown = [name for name in names if name not in DIMENSION_FIELDS]
        if unknown:
            raise invalid_argument(
                f"Invalid requests[{number}].{kind}: Invalid field mask: {unknown[0]}"
            )
        sheet = self.doc["sheets"][self._sheet_at(number, kind, area.get("sheetId", 0))]
        rows, cols = state.grid_size(sheet)
        limit = cols if dimension == "COLUMNS" else rows
        start = int(area.get("startIndex") or 0)
        end = limit if area.get("endIndex") is None else int(area["endIndex"])
        if not 0 <= start < end <= limit:
            raise invalid_argument(
                f"Invalid requests[{number}].{kind}: Invalid dimension range "
                f"[{start}, {end}) on a grid of {limit} {dimension.lower()}"
            )
        given = dict(body.get("properties") or {})
        pixels = given.get("pixelSize")
        if (
            "pixelSize" in names
            and pixels is not None
            and (isinstance(pixels, bool) or not isinstance(pixels, int) or pixels < 0)
        ):
            raise invalid_argument(
                f"Invalid value at 'requests[{number}].update_dimension_properties.properties."
                f"pixel_size' (TYPE_INT32), {pixels!r}"
            )
        kept = [name for name in names if name in ("pixelSize", "hiddenByUser")]
        metadata: list[dict[str, Any]] = sheet.setdefault(METADATA_KEY[dimension], [])
        if kept:
            while len(metadata) < end:
                metadata.append({"pixelSize": DEFAULT_PIXELS[dimension]})
        for entry in metadata[start:end] if kept else []:
            for name in kept:
                value = given.get(name)
                if name == "pixelSize":
                    entry[name] = DEFAULT_PIXELS[dimension] if value is None else value
                elif value:
                    entry[name] = True
                else:
                    entry.pop(name, None)
        if len(kept) < len(names):
            self._record(kind, body)
        return {}

    def _repeatCell(self, number: int, body: dict[str, Any]) -> dict[str, Any]:
        """Formats the emulator keeps (``KEPT_FORMATS``: wrap, bold, background colour) go into
        the sheet's ``formats``, a list of ``{"range", "userEnteredFormat"}`` read in order (a
        later entry wins), and a note into every cell of the range; a request setting anything
        else is recorded whole."""
        kind = "repeatCell"
        fields = str(body.get("fields") or "")
        if not fields.strip():
            raise invalid_argument(f"Invalid requests[{number}].{kind}: You must specify fields")
        area = body.get("range") or {}
        sheet = self.doc["sheets"][self._sheet_at(number, kind, area.get("sheetId", 0))]
        if fields.strip() == "*":
            return self._record(kind, body)
        mask = cell_mask(number, kind, fields)
        if mask.other or mask.values:
            return self._record(kind, body)
        bounds = {key: int(area[key]) for key in GRID_RANGE_KEYS if area.get(key) is not None}
        rows, cols = state.grid_size(sheet)
        if bounds.get("endRowIndex", 0) > rows or bounds.get("endColumnIndex", 0) > cols:
            raise invalid_argument(
                f"Invalid requests[{number}].{kind}: Range ({sheet['title']}) exceeds grid limits. "
                f"Max rows: {rows}, max columns: {cols}"
            )
        cell = body.get("cell") or {}
        where = f"requests[{number}].repeat_cell.cell"
        if mask.formats:
            given = dict(cell.get("userEnteredFormat") or {})
            _keep_format(sheet, bounds, _kept_values(mask.formats, given, where))
        if mask.note:
            note = _note_of(cell, where)
            top, left, bottom, right = _grid_bounds(sheet, bounds)
            for r in range(top, bottom):
                for c in range(left, right):
                    state.set_note(sheet, r, c, note)
        return {}

    def _updateSpreadsheetProperties(self, _number: int, body: dict[str, Any]) -> dict[str, Any]:
        given = dict(body.get("properties") or {})
        fields = body.get("fields") or ""
        names = list(given) if fields.strip() == "*" else [f.strip() for f in fields.split(",")]
        for name in names:
            if name in ("title", "locale", "timeZone") and name in given:
                self.doc[name] = given[name]
        return {}


@dataclass(frozen=True)
class CellMask:
    """What a ``fields`` mask over CellData names, as the emulator applies it: values, the
    note, the kept formats, and whether it names anything else (accepted, not kept)."""

    values: bool
    note: bool
    formats: tuple[tuple[str, ...], ...]
    other: bool


def cell_mask(number: int, kind: str, fields: str) -> CellMask:
    """Parse a CellData field mask (``*`` is every field); a name Sheets lacks is a 400."""
    if fields.strip() == "*":
        return CellMask(True, True, tuple(KEPT_FORMATS), True)
    values = note = other = False
    formats: list[tuple[str, ...]] = []
    for path in field_paths(parse_fields(fields.replace(".", "/"))):
        if path[0] not in CELL_FIELDS or (
            path[0] == "userEnteredFormat" and len(path) > 1 and path[1] not in CELL_FORMAT_FIELDS
        ):
            raise invalid_argument(
                f"Invalid requests[{number}].{kind}: Invalid field mask: {'.'.join(path)}"
            )
        if path[0] == "userEnteredValue":
            values = True
        elif path == ["note"]:
            note = True
        elif path == ["userEnteredFormat"]:
            formats.extend(KEPT_FORMATS)
            other = True  # the formats the emulator does not keep are cleared too
        elif path[0] == "userEnteredFormat" and tuple(path[1:]) in KEPT_FORMATS:
            formats.append(tuple(path[1:]))
        else:
            other = True
    return CellMask(values, note, tuple(dict.fromkeys(formats)), other)


def _grid_bounds(sheet: Sheet, bounds: dict[str, int]) -> tuple[int, int, int, int]:
    """A GridRange (open ends run to the grid's edge) as rows and columns inside the grid."""
    rows, cols = state.grid_size(sheet)
    return (
        bounds.get("startRowIndex", 0),
        bounds.get("startColumnIndex", 0),
        min(bounds.get("endRowIndex", rows), rows),
        min(bounds.get("endColumnIndex", cols), cols),
    )


def _clear_cells(sheet: Sheet, bounds: dict[str, int], mask: CellMask) -> None:
    """Clear the masked fields of every cell of a range (``updateCells`` with a ``range``)."""
    top, left, bottom, right = _grid_bounds(sheet, bounds)
    if top >= bottom or left >= right:
        return
    area = state.Bounds(top, left, bottom, right)
    if mask.values:
        state.clear_values(sheet, area)
    if mask.note:
        state.clear_notes(sheet, area)
    if mask.formats:
        _keep_format(sheet, bounds, {path: KEPT_FORMATS[path] for path in mask.formats})


def _write_cell(sheet: Sheet, row: int, column: int, cell: Any, mask: CellMask, where: str) -> None:
    """Apply one CellData of ``updateCells``: each masked field set from it, or cleared."""
    if not isinstance(cell, dict):
        raise invalid_argument(
            f"Invalid value at '{where}' (type.googleapis.com/"
            f"google.apps.sheets.v4.CellData), {json.dumps(cell)}"
        )
    if mask.values:
        state.set_cell(sheet, row, column, _entered_cell(cell.get("userEnteredValue") or {}))
    if mask.note:
        state.set_note(sheet, row, column, _note_of(cell, where))
    if mask.formats:
        given = cell.get("userEnteredFormat") or {}
        one = {
            "startRowIndex": row,
            "endRowIndex": row + 1,
            "startColumnIndex": column,
            "endColumnIndex": column + 1,
        }
        _keep_format(sheet, one, _kept_values(mask.formats, given, where))


def _note_of(cell: dict[str, Any], where: str) -> str | None:
    note = cell.get("note")
    if note is not None and not isinstance(note, str):
        raise invalid_argument(f"Invalid value at '{where}.note' (TYPE_STRING), {json.dumps(note)}")
    return note or None


def _kept_values(
    kept: tuple[tuple[str, ...], ...], given: Any, where: str
) -> dict[tuple[str, ...], Any]:
    """The value each kept field takes (its cleared value when the cell leaves it out);
    ``where`` names the CellData in Google's error messages."""
    chosen: dict[tuple[str, ...], Any] = {}
    for path in kept:
        value: Any = given
        for key in path:
            value = value.get(key) if isinstance(value, dict) else None
        if value is None:
            value = KEPT_FORMATS[path]
        if path == ("wrapStrategy",) and value not in WRAP_STRATEGIES:
            raise invalid_argument(
                f"Invalid value at '{where}.user_entered_format.wrap_strategy' "
                f'(type.googleapis.com/google.apps.sheets.v4.WrapStrategy), "{value}"'
            )
        if path == ("textFormat", "bold") and not isinstance(value, bool):
            raise invalid_argument(
                f"Invalid value at '{where}.user_entered_format.text_format.bold' "
                f"(TYPE_BOOL), {value!r}"
            )
        if path == ("backgroundColor",) and value is not None:
            value = _color(value, f"{where}.user_entered_format.background_color")
        chosen[path] = value
    return chosen


def _color(value: Any, where: str) -> dict[str, Any] | None:
    """A Color as Sheets keeps it: components 0..1, a component left out is 0 (and left out
    of what Sheets returns); an empty colour is no colour. A component outside 0..1 is a
    400 here, though Google takes it and paints some other colour: it is always a bug."""
    if not isinstance(value, dict):
        raise invalid_argument(
            f"Invalid value at '{where}' (type.googleapis.com/google.type.Color), "
            f"{json.dumps(value, ensure_ascii=False)}"
        )
    color: dict[str, Any] = {}
    for name, component in value.items():
        if name not in COLOR_COMPONENTS:
            raise invalid_argument(
                f"Invalid JSON payload received. Unknown name \"{name}\" at '{where}': "
                "Cannot find field."
            )
        if isinstance(component, bool) or not isinstance(component, int | float):
            raise invalid_argument(
                f"Invalid value at '{where}.{name}' (TYPE_FLOAT), "
                f"{json.dumps(component, ensure_ascii=False)}"
            )
        if not 0 <= component <= 1:
            raise invalid_argument(
                f"Invalid value at '{where}.{name}': {component} is outside [0, 1]; "
                "colour components are fractions (255 is 1)"
            )
        if component or name == "alpha":
            color[name] = state.plain_number(component)
    return color or None


def _keep_format(sheet: Sheet, bounds: dict[str, int], chosen: dict[tuple[str, ...], Any]) -> None:
    """Add a format entry; what it sets over an earlier entry's cells, it replaces there, so
    the same request sent again leaves the sheet as it was. A field cleared to absence
    (None) is stored only where an earlier entry still sets it."""
    formats: list[dict[str, Any]] = sheet.setdefault("formats", [])
    for entry in formats:
        if _covers(bounds, entry["range"]):
            for path in chosen:
                _drop_path(entry["userEnteredFormat"], path)
    formats[:] = [entry for entry in formats if entry["userEnteredFormat"]]
    entry_format: dict[str, Any] = {}
    for path, value in chosen.items():
        if value is None and not any(
            _overlaps(bounds, entry["range"]) and _has_path(entry["userEnteredFormat"], path)
            for entry in formats
        ):
            continue
        target = entry_format
        for key in path[:-1]:
            target = target.setdefault(key, {})
        target[path[-1]] = value
    if entry_format:
        formats.append({"range": bounds, "userEnteredFormat": entry_format})
    if not formats:
        sheet.pop("formats", None)


def _overlaps(one: dict[str, int], other: dict[str, int]) -> bool:
    """Whether two grid ranges (a missing bound is open) share a cell."""
    for start, end in (("startRowIndex", "endRowIndex"), ("startColumnIndex", "endColumnIndex")):
        if end in one and other.get(start, 0) >= one[end]:
            return False
        if end in other and one.get(start, 0) >= other[end]:
            return False
    return True


def _has_path(tree: dict[str, Any], path: tuple[str, ...]) -> bool:
    value: Any = tree
    for key in path:
        if not isinstance(value, dict) or key not in value:
            return False
        value = value[key]
    return True


def _covers(outer: dict[str, int], inner: dict[str, int]) -> bool:
    """Whether grid range ``outer`` holds every cell of ``inner`` (a missing bound is open)."""
    for start, end in (("startRowIndex", "endRowIndex"), ("startColumnIndex", "endColumnIndex")):
        if outer.get(start, 0) > inner.get(start, 0):
            return False
        if end in outer and (end not in inner or inner[end] > outer[end]):
            return False
    return True


def _drop_path(tree: dict[str, Any], path: tuple[str, ...]) -> None:
    """Remove ``path`` from a nested dict, and the dicts it leaves empty."""
    if len(path) == 1:
        tree.pop(path[0], None)
        return
    sub = tree.get(path[0])
    if isinstance(sub, dict):
        _drop_path(sub, path[1:])
        if not sub:
            tree.pop(path[0])


def cell_format(sheet: Sheet, row: int, column: int) -> dict[str, Any]:
    """The kept format of one cell (``wrapStrategy``, ``textFormat.bold``, ``backgroundColor``)
    from the sheet's ``formats``, later entries over earlier ones; what a picture of the tab
    draws."""
    found: dict[str, Any] = {}
    for entry in sheet.get("formats") or []:
        bounds = entry["range"]
        if not (
            bounds.get("startRowIndex", 0) <= row < bounds.get("endRowIndex", row + 1)
            and bounds.get("startColumnIndex", 0)
            <= column
            < bounds.get("endColumnIndex", column + 1)
        ):
            continue
        for key, value in entry["userEnteredFormat"].items():
            if key == "textFormat":
                found[key] = {**found.get(key, {}), **value}
            else:
                found[key] = value
    return {key: value for key, value in found.items() if value is not None}


def _entered_cell(entered: dict[str, Any]) -> Any:
    """A stored cell from an ExtendedValue (stringValue, numberValue, boolValue, formulaValue)."""
    if "formulaValue" in entered:
        return {"formula": str(entered["formulaValue"]), "value": None}
    if "boolValue" in entered:
        return bool(entered["boolValue"])
    if "numberValue" in entered:
        return state.input_to_cell(entered["numberValue"], "RAW", None)
    return entered.get("stringValue") or None


# --------------------------------------------------------------------------------------------
# The server


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128

    def __init__(self, address: tuple[str, int], emulator: Emulator) -> None:
        self.emulator = emulator
        self.connections: set[socket.socket] = set()
        self.connections_lock = threading.Lock()
        super().__init__(address, _Handler)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "schoolnet-emulator"
    sys_version = ""
    timeout = 120
    server: _Server

    def setup(self) -> None:
        super().setup()
        # Headers and body leave in separate writes; without this, a keep-alive client waits
        # for its delayed ACK (about 40 ms) on every request.
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        with self.server.connections_lock:
            self.server.connections.add(self.connection)

    def finish(self) -> None:
        with self.server.connections_lock:
            self.server.connections.discard(self.connection)
        with contextlib.suppress(OSError):
            super().finish()

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: tests and the demo read the stats endpoint instead of access logs."""

    def date_time_string(self, timestamp: float | None = None) -> str:
        """Every answer's ``Date`` header tells the emulator's clock, as Google's tell Google's
        (``emulator clock``; the demo runs on its data set's day): a client that takes the
        time of a read from its answer sees the day the emulator lives in."""
        if timestamp is None:
            timestamp = state.emulator_now(self.server.emulator.store.control()).timestamp()
        return super().date_time_string(timestamp)

    def do_GET(self) -> None:
        self._dispatch("GET")

    def do_POST(self) -> None:
        self._dispatch("POST")

    def do_PUT(self) -> None:
        self._dispatch("PUT")

    def do_DELETE(self) -> None:
        self._dispatch("DELETE")

    def do_PATCH(self) -> None:
        self._dispatch("PATCH")

    def _dispatch(self, method: str) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        raw_body = self.rfile.read(length) if length > 0 else b""
        parts = urlsplit(self.path)
        found = route(method, parts.path)
        emulator = self.server.emulator
        try:
            if found is None:
                raise ApiError(404, f"Method not found: {method} {parts.path}", "NOT_FOUND")
            status, payload = emulator.handle(found, Query(parts.query), raw_body)
        except ApiError as error:
            status, payload = error.code, error.body()
        except _Abandon:
            self.close_connection = True
            return
        # A bug in the emulator: logged, and answered with Google's 500, not a dropped socket.
        except Exception as exc:  # noqa: BLE001  # pragma: no cover
            print(f"emulator: internal error on {method} {parts.path}: {exc!r}", file=sys.stderr)
            status = 500
            payload = ApiError(500, "Internal error encountered.", "INTERNAL").body()
        body = b"" if status == 204 else json.dumps(payload, ensure_ascii=False).encode("utf-8")
        try:
            self.send_response(status)
            self.send_header("Content-Type", JSON_TYPE)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
        except OSError:
            self.close_connection = True


class _Abandon(Exception):
    """The emulator is stopping during a hang: drop the request without an answer."""


class Emulator:
    """A local Google Sheets + Drive API server over a state directory."""

    def __init__(
        self,
        state_dir: Path,
        host: str = "127.0.0.1",
        port: int = 0,
        read_quota_per_minute: int | None = None,
        write_quota_per_minute: int | None = None,
        quota_window_seconds: float = 60.0,
    ) -> None:
        """The quotas count requests per ``quota_window_seconds`` (Google's minute by default;
        a test scales it down to tell a paced client from an unpaced one in seconds)."""
        self.state_dir = Path(state_dir)
        self.host = host
        self.port = port
        self.read_quota_per_minute = read_quota_per_minute
        self.write_quota_per_minute = write_quota_per_minute
        self.store = state.Store(self.state_dir)
        self.base_url = ""
        self._stats = Stats()
        self._windows = {
            "read": RateWindow(quota_window_seconds),
            "write": RateWindow(quota_window_seconds),
        }
        self._quota_lock = threading.Lock()
        self._stopping = threading.Event()
        self._change_log = changes.ChangeLog(self.state_dir)
        self._flaky_random = random.Random(0)  # seeded: a benchmark's faults are repeatable
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    # lifecycle ----------------------------------------------------------------------------

    def start(self) -> str:
        """Serve in a background thread; returns the base URL."""
        if self._server is not None:
            return self.base_url
        self._stopping.clear()
        self._server = _Server((self.host, self.port), self)
        port = int(self._server.server_address[1])
        self.base_url = f"http://{self.host}:{port}"
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name=f"sheets-emulator-{port}",
            daemon=True,
        )
        self._thread.start()
        return self.base_url

    def stop(self) -> None:
        """Stop promptly: requests held by a hang fault are dropped, open connections closed."""
        server = self._server
        if server is None:
            return
        self._stopping.set()
        server.shutdown()
        server.server_close()
        with server.connections_lock:
            connections = list(server.connections)
        for connection in connections:
            with contextlib.suppress(OSError):
                connection.shutdown(socket.SHUT_RDWR)
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._server = None
        self._thread = None

    def __enter__(self) -> Emulator:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # admin --------------------------------------------------------------------------------

    def stats(self) -> dict[str, Any]:
        return self._stats.snapshot()

    def request_log(self) -> list[LoggedRequest]:
        """Every API request since the start or the last reset, in arrival order: what a test
        checks a rate against, whichever processes or machines sent the requests."""
        with self._stats.lock:
            return list(self._stats.requests)

    def reset(self) -> None:
        """Forget counters and quota windows (a fresh minute for the next test or demo day)."""
        with self._stats.lock:
            self._stats.reset()
        with self._quota_lock:
            for window in self._windows.values():
                window.clear()

    # request handling -----------------------------------------------------------------------

    def _limit(self, kind: str) -> int:
        explicit = self.read_quota_per_minute if kind == "read" else self.write_quota_per_minute
        if explicit is not None:
            return explicit
        value = self.store.control().get(f"{kind}_quota_per_minute", state.DEFAULT_QUOTA)
        try:
            return int(value)
        except (TypeError, ValueError):
            return state.DEFAULT_QUOTA

    def handle(self, found: Route, query: Query, raw_body: bytes) -> tuple[int, Any]:
        if found.kind == "admin":
            if found.endpoint == "admin.reset":
                self.reset()
                return 200, {"ok": True}
            if found.endpoint == "admin.clock":
                # The day the pipeline lives in, for the demo: the emulator's clock (set to the
                # loaded day's morning), as production's is the machine's.
                return 200, {"now": state.now_rfc3339(self.store.control())}
            return 200, self.stats()
        with self._stats.lock:
            counts = self._stats.by_endpoint
            counts[found.endpoint] = counts.get(found.endpoint, 0) + 1
        limit = self._limit(found.kind)
        with self._quota_lock:
            granted = self._windows[found.kind].try_acquire(limit, time.monotonic())
        with self._stats.lock:
            self._stats.requests.append(
                LoggedRequest(
                    time.time(), found.kind, found.endpoint, granted, found.spreadsheet_id
                )
            )
            if not granted:
                self._stats.throttled += 1
            elif found.kind == "read":
                self._stats.reads += 1
            else:
                self._stats.writes += 1
        if not granted:
            raise quota_error(found.kind)
        if found.spreadsheet_id:
            self._apply_fault(found.spreadsheet_id)
        elif found.endpoint == "drive.files.list":
            self._answer_fault(self._fault_of(state.DRIVE_LISTING))
        elif found.endpoint.startswith("drive.changes."):
            self._answer_fault(self._fault_of(state.DRIVE_CHANGES))
        body: Any = None
        if raw_body:
            try:
                body = json.loads(raw_body.decode("utf-8"))
            except (UnicodeDecodeError, json.JSONDecodeError):
                raise invalid_argument("Invalid JSON payload received.") from None
        operation = getattr(self, "_op_" + found.endpoint.replace(".", "_"))
        result: tuple[int, Any] = operation(found, query, body if body is not None else {})
        return result

    def _fault_of(self, spreadsheet_id: str) -> dict[str, Any] | None:
        fault = self.store.control()["faults"].get(spreadsheet_id)
        if isinstance(fault, str | int):  # shorthand: {"<id>": "403"}
            fault = {"mode": str(fault)}
        return fault if isinstance(fault, dict) and fault.get("mode") else None

    def _apply_flaky(self) -> None:
        """control.json ``flaky``: answer a share of all Sheets requests with 429 or 5xx."""
        flaky = self.store.control().get("flaky")
        if not isinstance(flaky, dict) or float(flaky.get("rate", 0)) <= 0:
            return
        with self._stats.lock:
            if self._flaky_random.random() >= float(flaky["rate"]):
                return
            status = str(self._flaky_random.choice(flaky.get("statuses") or [503]))
            self._stats.faulted += 1
        if status == "429":
            raise quota_error("read")
        raise ApiError(*FAULT_BODIES.get(status, FAULT_BODIES["503"]))

    def _apply_fault(self, spreadsheet_id: str) -> None:
        self._apply_flaky()
        self._answer_fault(self._fault_of(spreadsheet_id))

    def _answer_fault(self, fault: dict[str, Any] | None) -> None:
        if fault is None:
            return
        mode = str(fault["mode"])
        with self._stats.lock:
            self._stats.faulted += 1
        if mode in FAULT_BODIES:
            raise ApiError(*FAULT_BODIES[mode])
        if mode == "hang":
            self._hang(float(fault.get("seconds", state.DEFAULT_HANG_SECONDS)))

    def _hang(self, seconds: float) -> None:
        """Hold the request ``seconds``, or drop it as soon as the emulator stops. Short sleeps
        on the monotonic clock, not a timed wait on an event: a timed wait under a faked clock
        (libfaketime, used to run the tests at other hours) can block far longer."""
        deadline = time.monotonic() + seconds
        while not self._stopping.is_set():
            left = deadline - time.monotonic()
            if left <= 0:
                return
            time.sleep(min(left, HANG_STEP_SECONDS))
        raise _Abandon()

    def _doc(self, spreadsheet_id: str | None) -> Doc:
        doc = self.store.get(spreadsheet_id or "")
        if doc is None:
            raise not_found()
        return doc

    def _change(self, spreadsheet_id: str | None, change: Callable[[Doc], Any]) -> Any:
        """Apply a change to a private copy and persist it only if it succeeds."""
        with self.store.lock:
            doc = state.deep_copy(self._doc(spreadsheet_id))
            result = change(doc)
            state.bump_version(doc)
            self.store.save(doc)
            return result

    # Sheets: spreadsheets ------------------------------------------------------------------

    def _op_spreadsheets_get(self, found: Route, query: Query, _body: Any) -> tuple[int, Any]:
        """The spreadsheet; its grid data with ``includeGridData=true``, or when a ``fields``
        mask selects ``sheets.data`` (a mask overrides includeGridData, as in Sheets)."""
        doc = self._doc(found.spreadsheet_id)
        fields = query.get("fields")
        tree = parse_fields(fields.replace(".", "/")) if fields else None
        grid = wants_grid(tree) if tree is not None else query.flag("includeGridData")
        resource = spreadsheet_resource(doc, query.all("ranges"), grid)
        return 200, select(resource, tree) if tree else resource

    def _create(self, title: str, parents: list[str], sheets: list[Any], props: Any) -> Doc:
        stamp = state.now_rfc3339(self.store.control())
        doc: Doc = {
            "spreadsheetId": state.new_spreadsheet_id(),
            "title": title,
            "parents": parents,
            "createdTime": stamp,
            "modifiedTime": stamp,
            "lastModifyingUser": state.SERVICE_ACCOUNT_USER,
            "locale": props.get("locale") or "en_US",
            "timeZone": props.get("timeZone") or "Etc/GMT",
            "sheets": [],
        }
        batch = BatchUpdate(doc)
        for number, sheet in enumerate(sheets or [{}]):
            batch._addSheet(number, {"properties": (sheet or {}).get("properties") or {}})
        self.store.save(doc, touch=False)
        return doc

    def _op_spreadsheets_create(self, _found: Route, _query: Query, body: Any) -> tuple[int, Any]:
        props = body.get("properties") or {}
        doc = self._create(
            props.get("title") or "Untitled spreadsheet", [], body.get("sheets") or [], props
        )
        return 200, spreadsheet_resource(doc)

    def _op_spreadsheets_batchUpdate(
        self, found: Route, _query: Query, body: Any
    ) -> tuple[int, Any]:
        requests = body.get("requests")
        if not isinstance(requests, list) or not requests:
            raise invalid_argument("Must specify at least one request.")

        def change(doc: Doc) -> list[dict[str, Any]]:
            return BatchUpdate(doc).run(requests)

        replies = self._change(found.spreadsheet_id, change)
        response: dict[str, Any] = {"spreadsheetId": found.spreadsheet_id, "replies": replies}
        if body.get("includeSpreadsheetInResponse"):
            response["updatedSpreadsheet"] = spreadsheet_resource(self._doc(found.spreadsheet_id))
        return 200, response

    # Sheets: values --------------------------------------------------------------------------

    def _op_values_get(self, found: Route, query: Query, _body: Any) -> tuple[int, Any]:
        return 200, value_range(self._doc(found.spreadsheet_id), found.range or "", query)

    def _op_values_batchGet(self, found: Route, query: Query, _body: Any) -> tuple[int, Any]:
        doc = self._doc(found.spreadsheet_id)
        ranges = [value_range(doc, text, query) for text in query.all("ranges")]
        return 200, {"spreadsheetId": found.spreadsheet_id, "valueRanges": ranges}

    def _op_values_update(self, found: Route, query: Query, body: Any) -> tuple[int, Any]:
        option = query.get("valueInputOption")
        if not option:
            raise invalid_argument("'valueInputOption' is required but not specified")
        major = body.get("majorDimension") or "ROWS"
        text = found.range or ""

        def change(doc: Doc) -> dict[str, Any]:
            response = apply_write(doc, text, body.get("values"), option, major)
            if query.flag("includeValuesInResponse"):
                response["updatedData"] = updated_data(doc, response, query)
            return response

        return 200, self._change(found.spreadsheet_id, change)

    def _op_values_batchUpdate(self, found: Route, _query: Query, body: Any) -> tuple[int, Any]:
        option = body.get("valueInputOption")
        if not option:
            raise invalid_argument("'valueInputOption' is required but not specified")
        data = body.get("data") or []

        def change(doc: Doc) -> dict[str, Any]:
            responses = []
            for item in data:
                response = apply_write(
                    doc,
                    item.get("range", ""),
                    item.get("values"),
                    option,
                    item.get("majorDimension") or "ROWS",
                )
                if body.get("includeValuesInResponse"):
                    render = Query("")
                    render.params = {
                        "responseValueRenderOption": [
                            body.get("responseValueRenderOption") or "FORMATTED_VALUE"
                        ],
                        "responseDateTimeRenderOption": [
                            body.get("responseDateTimeRenderOption") or "SERIAL_NUMBER"
                        ],
                    }
                    response["updatedData"] = updated_data(doc, response, render)
                responses.append(response)
            sheets = {r["updatedRange"].rpartition("!")[0] for r in responses if "updatedRows" in r}
            return {
                "spreadsheetId": found.spreadsheet_id,
                "totalUpdatedRows": sum(r.get("updatedRows", 0) for r in responses),
                "totalUpdatedColumns": sum(r.get("updatedColumns", 0) for r in responses),
                "totalUpdatedCells": sum(r.get("updatedCells", 0) for r in responses),
                "totalUpdatedSheets": len(sheets),
                "responses": responses,
            }

        return 200, self._change(found.spreadsheet_id, change)

    def _clear(self, doc: Doc, text: str) -> str:
        resolved = state.resolve_range(doc, text)
        sheet = doc["sheets"][resolved.sheet_index]
        state.clear_values(sheet, resolved.bounds)
        return state.a1_text(sheet["title"], *state.concrete(sheet, resolved.bounds))

    def _op_values_clear(self, found: Route, _query: Query, _body: Any) -> tuple[int, Any]:
        text = found.range or ""
        cleared = self._change(found.spreadsheet_id, lambda doc: self._clear(doc, text))
        return 200, {"spreadsheetId": found.spreadsheet_id, "clearedRange": cleared}

    def _op_values_batchClear(self, found: Route, _query: Query, body: Any) -> tuple[int, Any]:
        ranges = body.get("ranges") or []
        cleared = self._change(
            found.spreadsheet_id, lambda doc: [self._clear(doc, text) for text in ranges]
        )
        return 200, {"spreadsheetId": found.spreadsheet_id, "clearedRanges": cleared}

    def _op_values_append(self, found: Route, query: Query, body: Any) -> tuple[int, Any]:
        option = query.get("valueInputOption")
        if not option:
            raise invalid_argument("'valueInputOption' is required but not specified")
        text = found.range or ""

        def change(doc: Doc) -> dict[str, Any]:
            resolved = state.resolve_range(doc, text)
            sheet = doc["sheets"][resolved.sheet_index]
            bounds = resolved.bounds
            table_end = state.last_data_row(sheet, bounds.start_col, bounds.end_col)
            start = max(table_end, bounds.start_row)
            table = None
            if table_end > bounds.start_row:
                _, _, _, end_col = state.concrete(sheet, bounds)
                table = state.a1_text(
                    sheet["title"], bounds.start_row, bounds.start_col, table_end, end_col
                )
            target = state.a1_text(
                sheet["title"], start, bounds.start_col, start + 1, bounds.start_col + 1
            )
            updates = apply_write(
                doc, target, body.get("values"), option, body.get("majorDimension") or "ROWS"
            )
            if query.flag("includeValuesInResponse"):
                updates["updatedData"] = updated_data(doc, updates, query)
            response: dict[str, Any] = {"spreadsheetId": found.spreadsheet_id, "updates": updates}
            if table:
                response["tableRange"] = table
            return response

        return 200, self._change(found.spreadsheet_id, change)

    # Drive --------------------------------------------------------------------------------

    def _visible(self, doc: Doc) -> bool:
        fault = self._fault_of(doc["spreadsheetId"])
        return fault is None or str(fault["mode"]) not in ("403", "404")

    def _op_drive_files_list(self, _found: Route, query: Query, _body: Any) -> tuple[int, Any]:
        size_text = query.get("pageSize") or "100"
        try:
            size = int(size_text)
        except ValueError:
            raise drive_error(400, "Invalid Value", "invalid", "pageSize") from None
        if size < 1 or size > 1000:
            raise drive_error(
                400,
                f"Invalid value '{size}'. Values must be within the range: [1, 1000]",
                "invalid",
                "pageSize",
            )
        wanted = drive_filter(query.get("q") or "")
        files = [drive_file(doc) for doc in self.store.all() if self._visible(doc)]
        files = sort_files([f for f in files if wanted(f)], query.get("orderBy"))
        offset = decode_page_token(query.get("pageToken") or "") if query.get("pageToken") else 0
        page = files[offset : offset + size]
        fields = query.get("fields")
        tree = parse_fields(fields) if fields else {}
        file_tree = tree.get("files") if fields else _default_file_tree()
        response: dict[str, Any] = {"kind": "drive#fileList", "incompleteSearch": False}
        if offset + size < len(files):
            response["nextPageToken"] = encode_page_token(offset + size)
        response["files"] = [select(f, file_tree) if file_tree else f for f in page]
        if fields:
            response = select(response, {k: {} for k in tree})
        return 200, response

    def _op_drive_files_get(self, found: Route, query: Query, _body: Any) -> tuple[int, Any]:
        doc = self.store.get(found.spreadsheet_id or "")
        if doc is None:
            message = f"File not found: {found.spreadsheet_id}."
            raise drive_error(404, message, "notFound", "fileId")
        fields = query.get("fields")
        tree = parse_fields(fields) if fields else _default_file_tree()
        return 200, select(drive_file(doc), tree)

    def _op_drive_files_create(self, _found: Route, query: Query, body: Any) -> tuple[int, Any]:
        if body.get("mimeType") != state.SPREADSHEET_MIME:
            raise drive_error(400, "Only spreadsheets can be created here.", "invalid")
        doc = self._create(
            body.get("name") or "Untitled spreadsheet", list(body.get("parents") or []), [], {}
        )
        fields = query.get("fields")
        tree = parse_fields(fields) if fields else _default_file_tree()
        return 200, select(drive_file(doc), tree)

    def _op_drive_files_delete(self, found: Route, _query: Query, _body: Any) -> tuple[int, Any]:
        if not self.store.delete(found.spreadsheet_id or ""):
            message = f"File not found: {found.spreadsheet_id}."
            raise drive_error(404, message, "notFound", "fileId")
        return 204, None

    # Drive: changes ---------------------------------------------------------------------------

    def _sync_changes(self) -> int:
        """Log what changed since the last changes call; returns the next change number."""
        with self.store.lock:
            return self._change_log.sync(doc for doc in self.store.all() if self._visible(doc))

    def _op_drive_changes_getStartPageToken(
        self, _found: Route, query: Query, _body: Any
    ) -> tuple[int, Any]:
        token = str(self._sync_changes())
        response = {"kind": "drive#startPageToken", "startPageToken": token}
        fields = query.get("fields")
        return 200, select(response, parse_fields(fields)) if fields else response

    def _op_drive_changes_list(self, _found: Route, query: Query, _body: Any) -> tuple[int, Any]:
        size_text = query.get("pageSize") or "100"
        if not size_text.isdigit() or not 1 <= int(size_text) <= 1000:
            raise drive_error(
                400,
                f"Invalid value '{size_text}'. Values must be within the range: [1, 1000]",
                "invalid",
                "pageSize",
            )
        in_drive = changes.check_spaces(query.get("spaces"))
        include_removed = (query.get("includeRemoved") or "true").lower() != "false"
        next_number = self._sync_changes()
        token = changes.parse_token(query.get("pageToken"), next_number)
        with self.store.lock:
            logged = self._change_log.since(token) if in_drive else []
        fields = query.get("fields")
        tree = parse_fields(fields) if fields else None
        file_tree = (
            ((tree.get("changes") or {}).get("file") or {"*": {}})
            if tree is not None
            else _default_file_tree()
        )

        def file_of(file_id: str) -> dict[str, Any] | None:
            doc = self.store.get(file_id)
            if doc is None or not self._visible(doc):
                return None
            return select(drive_file(doc), file_tree)

        response = changes.change_list(
            logged, next_number, int(size_text), include_removed, file_of
        )
        if tree is None:
            default: dict[str, Any] = {key: {} for key in changes.DEFAULT_CHANGE_FIELDS}
            response["changes"] = [select(c, default) for c in response["changes"]]
            return 200, response
        return 200, select(response, tree)


def serve_forever(
    state_dir: Path,
    host: str = "127.0.0.1",
    port: int = 8787,
    read_quota_per_minute: int | None = None,
    write_quota_per_minute: int | None = None,
    on_ready: Callable[[str], None] | None = None,
) -> None:
    """Run an emulator until Ctrl-C or SIGTERM."""
    emulator = Emulator(state_dir, host, port, read_quota_per_minute, write_quota_per_minute)
    done = threading.Event()

    def stop(_signum: int, _frame: FrameType | None) -> None:
        done.set()

    previous: dict[signal.Signals, Any] = {}
    if threading.current_thread() is threading.main_thread():
        for signum in (signal.SIGINT, signal.SIGTERM):
            previous[signum] = signal.signal(signum, stop)
    url = emulator.start()
    try:
        if on_ready is not None:
            on_ready(url)
        while not done.wait(0.5):
            pass
    except KeyboardInterrupt:
        pass
    finally:
        emulator.stop()
        for signum, handler in previous.items():
            signal.signal(signum, handler)
