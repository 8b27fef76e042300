"""Reading one ESA's data tab with the real gspread client, at one API call per sheet.

A single ``spreadsheets.get`` with grid data reads the whole data tab: each cell's effective
value (what the values API gives unformatted: codes stay text, dates stay serial numbers), and
in the same answer the cell's note and background colour (the marks we and the clerk leave) and
the feedback tab's cells as the sheet holds them now, so whether our tab and marks are still
there is judged from the sheet, at no extra call. Only when a tab asked for is missing do we
read the spreadsheet's metadata (to fall back to its first tab, as the contract says, or to
learn that the feedback tab is gone). Transient faults
(429, 5xx, timeouts, dropped connections) are retried with bounded exponential backoff and
jitter; permanent ones (403, 404) are not, and each outcome carries a Thai sentence saying what
the ESA should do.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from email.utils import parsedate_to_datetime
from typing import Any

import requests
from google.auth.exceptions import GoogleAuthError, TransportError
from gspread import Client
from gspread.exceptions import APIError
from gspread.urls import SPREADSHEET_URL

from schoolnet.core.config import GoogleSettings
from schoolnet.core.text import fold
from schoolnet.ingestion.quota import RequestPacer

log = logging.getLogger(__name__)

VALUE_PARAMS: dict[str, Any] = {
    "valueRenderOption": "UNFORMATTED_VALUE",
    "dateTimeRenderOption": "SERIAL_NUMBER",
    "majorDimension": "ROWS",
}
TRANSIENT_STATUS = frozenset({429, 500, 502, 503, 504})
FAILURE_BY_STATUS = {400: "bad_request", 403: "not_shared", 404: "not_found", 429: "quota"}
SPREADSHEET_MIME = "application/vnd.google-apps.spreadsheet"
DRIVE_FILES_URL = "https://www.googleapis.com/drive/v3/files"
DRIVE_CHANGES_URL = "https://www.googleapis.com/drive/v3/changes"
FEEDBACK_SHEET_ID = 2018_0101  # the feedback tab's own id, so one call can add and fill it
DEFAULT_GRID_ROWS = 1000  # a tab Sheets adds has 1,000 rows unless told otherwise
# The data read: the same, with each cell's effective value (the values API's unformatted one).
GRID_READ_FIELDS = (
    "sheets(properties(sheetId,title),data(startRow,startColumn,"
    "rowData(values(effectiveValue,note,userEnteredFormat.backgroundColor))))"
)
# An error cell's effective value names its type; the values API gives the error's text.
ERROR_TEXTS = {
    "N_A": "#N/A",
    "REF": "#REF!",
    "VALUE": "#VALUE!",
    "DIVIDE_BY_ZERO": "#DIV/0!",
    "NAME": "#NAME?",
    "NUM": "#NUM!",
    "NULL_VALUE": "#NULL!",
}
WHITE = (1.0, 1.0, 1.0)  # an explicit white fill looks like none, and is read as none


@dataclass(frozen=True)
class TabLayout:
    """How a written tab reads when a clerk opens it: each column's width in pixels, the
    columns whose text wraps (the row grows) rather than being cut by the next column, the
    heading row (bold, and frozen with the rows above it while it has lines under it)."""

    widths: tuple[int, ...]
    wrapped: tuple[int, ...]
    heading_row: int
    frozen: bool


@dataclass(frozen=True)
class TabRegion:
    """The cells of a tab we write that are ours: its first ``rows`` rows, first ``columns``
    columns (what a clerk adds beside or below them is not ours, and is not compared)."""

    title: str
    rows: int
    columns: int

    def a1(self) -> str:
        return f"{quote_sheet_name(self.title)}!A1:{_a1(max(self.rows, 1) - 1, self.columns - 1)}"


@dataclass(frozen=True)
class TabCells:
    """A tab we write, as the sheet holds it now: its id (None: the tab is not there, deleted
    or renamed) and its cells' text within the region asked for, ragged like values."""

    sheet_id: int | None
    cells: tuple[tuple[str, ...], ...] = ()


@dataclass(frozen=True)
class SheetRead:
    """The data tab's cells as Google returned them, what reading them cost, and when Google
    served them by its own clock (the answer's HTTP ``Date``; None if it had none).

    The same answer gives the data tab's id (``sheet_id``, where marks are written), the notes
    and colours on its cells (``marks``, by 0-based (row, column): the clerk's and ours alike)
    and, when asked for, the feedback tab as it is now (``feedback``; None: not asked)."""

    values: list[list[Any]]
    tab: str
    used_first_tab: bool
    api_calls: int
    served_at: datetime | None = None
    sheet_id: int | None = None
    marks: Mapping[tuple[int, int], CellMark] = field(default_factory=dict)
    feedback: TabCells | None = None


def served_at(response: requests.Response) -> datetime | None:
    """The time of an HTTP answer by the server's clock (its ``Date`` header, RFC 9110), aware;
    None when it has none or it does not parse."""
    header = response.headers.get("Date")
    if not header:
        return None
    try:
        moment = parsedate_to_datetime(header)
    except (TypeError, ValueError):
        return None
    return moment if moment.tzinfo is not None else None


@dataclass(frozen=True)
class SheetVersion:
    """What Drive says of a spreadsheet: when it last changed, and whether we changed it."""

    modified_time: str
    modified_by_us: bool
    version: str | None = None  # Drive's version: one more for every change, whoever made it


@dataclass(frozen=True)
class TabWrite:
    """Where the feedback tab was written (its sheet id) and what writing it cost."""

    sheet_id: int
    api_calls: int


@dataclass(frozen=True)
class CellMark:
    """A cell's note and background colour, by the cell's 0-based row and column in the tab
    ``sheet_id`` (Sheets' GridCoordinate). Written, None clears the note or the colour, so a
    mark whose finding went is removed by a mark of None and None; read, None is none there.
    ``color`` is (red, green, blue), each 0 to 1 as Sheets takes them (255 is 1).

    ``sets_note`` and ``sets_color`` say which of the two a write touches: a cell whose note
    is the clerk's gets only our colour, and the other way round."""

    sheet_id: int
    row: int
    column: int
    note: str | None = None
    color: tuple[float, float, float] | None = None
    sets_note: bool = True
    sets_color: bool = True

    def __post_init__(self) -> None:
        if self.row < 0 or self.column < 0:
            raise ValueError(f"a cell's row and column start at 0, not {self.row}, {self.column}")
        if self.color is not None and not all(0 <= part <= 1 for part in self.color):
            raise ValueError(f"colour components run from 0 to 1 (255 is 1): {self.color}")
        if not (self.sets_note or self.sets_color):
            raise ValueError("a mark that sets neither the note nor the colour writes nothing")

    @property
    def hex_color(self) -> str | None:
        """The colour as ``#rrggbb`` (what the record keeps; Sheets' floats compare exactly
        only after this rounding), None for none."""
        return None if self.color is None else rgb_hex(self.color)

    def request(self) -> dict[str, Any]:
        """This mark as one ``updateCells`` request, setting the note and/or the colour only:
        the cell's value and its other formats are left as they are."""
        cell: dict[str, Any] = {}
        fields = []
        if self.sets_note:
            fields.append("note")
            if self.note:
                cell["note"] = self.note
        if self.sets_color:
            fields.append("userEnteredFormat.backgroundColor")
            if self.color is not None:
                red, green, blue = self.color
                color = {"red": red, "green": green, "blue": blue}
                cell["userEnteredFormat"] = {"backgroundColor": color}
        start = {"sheetId": self.sheet_id, "rowIndex": self.row, "columnIndex": self.column}
        return {
            "updateCells": {
                "start": start,
                "rows": [{"values": [cell]}],
                "fields": ",".join(fields),
            }
        }


def rgb_hex(color: tuple[float, float, float]) -> str:
    """(red, green, blue) from 0 to 1 as ``#rrggbb``."""
    return "#" + "".join(f"{round(part * 255):02x}" for part in color)


def hex_rgb(text: str) -> tuple[float, float, float]:
    """``#rrggbb`` as (red, green, blue) from 0 to 1, as Sheets takes a colour."""
    digits = text.removeprefix("#")
    if len(digits) != 6:
        raise ValueError(f"a colour is #rrggbb, not {text!r}")
    red, green, blue = (int(digits[i : i + 2], 16) / 255 for i in (0, 2, 4))
    return (red, green, blue)


@dataclass(frozen=True)
class ChangeFeed:
    """What Drive's changes feed said since a page token, and where to continue next time."""

    changed: dict[str, SheetVersion | None]  # by file id; None: removed or no longer shared
    new_start_page_token: str
    api_calls: int


class SheetReadError(Exception):
    """The sheet could not be read; ``code`` is stable, ``reason`` is Thai for the ESA."""

    def __init__(self, code: str, reason: str, detail: str, api_calls: int) -> None:
        super().__init__(detail)
        self.code = code
        self.reason = reason
        self.detail = detail
        self.api_calls = api_calls


def quote_sheet_name(title: str) -> str:
    return "'" + title.replace("'", "''") + "'"


def _reason(code: str, account: str) -> str:
    """The Thai reason a sheet could not be read, as the clerk and the report show it."""
    from schoolnet.contract import load_contract

    return load_contract().sheet_text(f"read_{code}", account=account)


class SheetsReader:
    """Reads data tabs through gspread, retrying only what can succeed on a retry."""

    def __init__(
        self,
        session: requests.Session,
        settings: GoogleSettings,
        service_account: str | None = None,
        sleep: Callable[[float], None] = time.sleep,
        write_session: requests.Session | None = None,
        read_pacer: RequestPacer | None = None,
        write_pacer: RequestPacer | None = None,
    ) -> None:
        # Reads go through ``session`` (read-only scopes in production); only the feedback tab
        # is written, through ``write_session`` (the spreadsheets scope), when one is given.
        self.client = Client(None, session=session)  # type: ignore[arg-type]  # auth: the session's own
        self.client.set_timeout(settings.request_timeout_seconds)
        self.writer = Client(None, session=write_session or session)  # type: ignore[arg-type]  # auth: the session's own
        self.writer.set_timeout(settings.request_timeout_seconds)
        self.settings = settings
        self.read_pacer = read_pacer  # Sheets reads, shared by every worker (Drive has its own)
        self.write_pacer = write_pacer
        if service_account is None:  # the address unknown: the contract's words for it
            from schoolnet.contract import load_contract

            service_account = load_contract().sheet_text("service_account")
        self.service_account = service_account
        self.sleep = sleep

    def _backoff(self, attempt: int) -> float:
        """Truncated exponential backoff with jitter, as Google asks."""
        ceiling = min(
            self.settings.backoff_max_seconds,
            self.settings.backoff_base_seconds * 2 ** (attempt - 1),
        )
        return random.uniform(ceiling / 2, ceiling)

    def _call(
        self,
        make_request: Callable[[], Any],
        calls: list[int],
        pacer: RequestPacer | None = None,
    ) -> Any:
        """One API request with bounded retries; ``calls`` counts requests actually sent.

        Every attempt first waits for its slot in the shared quota (``pacer``); a 429 pushes
        every worker's next slot back, so the whole run slows down, not just this request.
        """
        attempts = self.settings.max_attempts
        for attempt in range(1, attempts + 1):
            if pacer is not None:
                pacer.before_request()
            calls[0] += 1
            try:
                return make_request()
            except APIError as error:
                status = error.response.status_code
                if status not in TRANSIENT_STATUS:
                    raise
                retry_after = error.response.headers.get("Retry-After")
                delay = (
                    float(retry_after)
                    if retry_after and retry_after.isdigit()
                    else self._backoff(attempt)
                )
                if status == 429 and pacer is not None:
                    pacer.penalize(delay)
                if attempt == attempts:
                    raise
            except (requests.Timeout, requests.ConnectionError, TransportError):
                # TransportError: Google's token endpoint did not answer (the first request of
                # a service account session signs in there).
                if attempt == attempts:
                    raise
                delay = self._backoff(attempt)
            log.info("transient Google error; retry %d of %d in %.1fs", attempt, attempts, delay)
            self.sleep(delay)
        raise AssertionError("unreachable")

    def call(self, make_request: Callable[[], Any], write: bool = True) -> Any:
        """One request of another Google task (sheet provisioning), paced and retried alike."""
        return self._call(make_request, [0], self.write_pacer if write else self.read_pacer)

    def _grid_get(
        self, spreadsheet_id: str, ranges: list[str], calls: list[int]
    ) -> tuple[dict[str, Any], datetime | None]:
        """The grid data of ``ranges`` (values, notes, colours: ``GRID_READ_FIELDS``) in one
        ``spreadsheets.get``, and the time Google served it."""
        params: dict[str, Any] = {
            "ranges": ranges,
            "includeGridData": True,
            "fields": GRID_READ_FIELDS,
        }
        response = self._call(
            lambda: self.client.http_client.request(
                "get", SPREADSHEET_URL % spreadsheet_id, params=params
            ),
            calls,
            self.read_pacer,
        )
        answer: dict[str, Any] = response.json()
        return answer, served_at(response)

    def read_data_tab(
        self, spreadsheet_id: str, tab: str, feedback: TabRegion | None = None
    ) -> SheetRead:
        """The data tab ``tab`` (or the tab named like it, or the first tab), with its marks,
        and ``feedback`` (our tab's region) as the sheet holds it now, in one call while both
        tabs are there."""
        calls = [0]
        also = [feedback.a1()] if feedback is not None else []
        try:
            try:
                answer, served = self._grid_get(
                    spreadsheet_id, [quote_sheet_name(tab), *also], calls
                )
                return _sheet_read(answer, served, tab, False, feedback, calls[0])
            except APIError as error:
                if error.response.status_code != 400 or "parse range" not in str(error):
                    raise
            metadata = self._call(
                lambda: self.client.http_client.fetch_sheet_metadata(spreadsheet_id),
                calls,
                self.read_pacer,
            )
            sheets = metadata.get("sheets") or []
            if not sheets:
                raise self._failure("bad_request", "spreadsheet has no tabs", calls)
            titles = [sheet["properties"]["title"] for sheet in sheets]
            # A tab named like the data tab but for spaces or a look-alike character (what a
            # clerk cannot see) is the data tab, as the contract's headers are.
            wanted = fold(tab)
            found = tab if tab in titles else None
            if found is None:
                found = next((title for title in titles if fold(title) == wanted), None)
            used_first = found is None
            data_title = titles[0] if found is None else found
            if feedback is not None and feedback.title not in titles:
                also = []  # the feedback tab is gone: the answer says so by leaving it out
            answer, served = self._grid_get(
                spreadsheet_id, [quote_sheet_name(data_title), *also], calls
            )
            return _sheet_read(answer, served, data_title, used_first, feedback, calls[0])
        except APIError as error:
            raise self._api_failure(error, calls) from error
        except requests.Timeout as error:
            detail = f"no answer within {self.settings.request_timeout_seconds:g}s"
            raise self._failure("timeout", detail, calls) from error
        except (requests.ConnectionError, TransportError) as error:
            raise self._failure("google_error", f"connection failed: {error}", calls) from error
        except GoogleAuthError as error:  # the key was refused (revoked, deleted account)
            raise self._failure("google_error", f"Google sign-in failed: {error}", calls) from error

    def list_spreadsheets(
        self, folder_id: str | None = None
    ) -> tuple[dict[str, SheetVersion], int]:
        """Every spreadsheet the account can see (or those in ``folder_id``), with one Drive
        ``files.list`` call per 1,000 files. Returns the versions by id and the calls made."""
        query = f"mimeType = '{SPREADSHEET_MIME}' and trashed = false"
        if folder_id:
            query = f"'{folder_id}' in parents and {query}"
        params: dict[str, Any] = {
            "q": query,
            "pageSize": 1000,
            "fields": "nextPageToken,files(id,modifiedTime,version,lastModifyingUser(me))",
            "supportsAllDrives": True,
            "includeItemsFromAllDrives": True,
        }
        http = self.client.http_client
        versions: dict[str, SheetVersion] = {}
        calls = [0]
        try:
            while True:
                page = self._call(
                    lambda: http.request("get", DRIVE_FILES_URL, params=dict(params)).json(),
                    calls,
                )
                for item in page.get("files", []):
                    versions[item["id"]] = SheetVersion(
                        modified_time=item.get("modifiedTime", ""),
                        modified_by_us=bool((item.get("lastModifyingUser") or {}).get("me")),
                        version=item.get("version"),
                    )
                token = page.get("nextPageToken")
                if not token:
                    return versions, calls[0]
                params["pageToken"] = token
        except APIError as error:
            raise self._api_failure(error, calls, "Drive") from error
        except (requests.RequestException, GoogleAuthError) as error:
            raise self._failure("google_error", f"Drive listing failed: {error}", calls) from error

    def write_tab(
        self,
        spreadsheet_id: str,
        tab: str,
        rows: list[list[str]],
        *,
        sheet_id: int | None = None,
        layout: TabLayout | None = None,
        marks: Sequence[CellMark] = (),
    ) -> TabWrite:
        """Overwrite ``rows`` at the top of ``tab`` in one ``batchUpdate``, adding the tab in the
        same call when it is not there yet.

        ``sheet_id`` is the tab's id from the last write (None if never written): the cells go
        to that tab. Without one, the tab is added with ``FEEDBACK_SHEET_ID`` in the same call.
        Only when the tab turns out to be missing (a clerk deleted it) or already there under
        another id (written before ids were kept) does it cost more: one metadata read to find
        the tab, and the write again. Values are written as text (``stringValue``), so
        nothing a clerk typed (even ``=...``) is ever evaluated. ``layout`` (widths, wrap, the
        frozen bold heading) goes in the same call on every write: the requests are idempotent,
        so a tab written before them, or a width a clerk dragged, is set right on the next write.
        ``marks`` (notes and colours on other cells, e.g. the data tab's) go in the same call
        too, after the tab's requests: the call stays one request, and a refused call sets none
        of them.
        """
        http = self.writer.http_client
        calls = [0]

        def send(requests_: list[dict[str, Any]]) -> None:
            if layout is not None:
                requests_ = [*requests_, *_layout_requests(requests_[-1], layout)]
            body = {"requests": [*requests_, *(mark.request() for mark in marks)]}
            self._call(lambda: http.batch_update(spreadsheet_id, body), calls, self.write_pacer)

        try:
            try:
                if sheet_id is None:
                    sheet_id = FEEDBACK_SHEET_ID
                    send([_add_tab(tab, sheet_id, len(rows)), _update_cells(sheet_id, rows)])
                else:
                    send([*_grow(sheet_id, len(rows)), _update_cells(sheet_id, rows)])
                return TabWrite(sheet_id, calls[0])
            except APIError as error:
                text = str(error)
                # Only the feedback tab's own id missing means the tab is gone; a mark's
                # unknown sheet is a mistake of the caller's, and fails below.
                if error.response.status_code != 400 or not (
                    "already exists" in text or f"No grid with id: {sheet_id}" in text
                ):
                    raise
            metadata = self._call(
                lambda: http.fetch_sheet_metadata(spreadsheet_id), calls, self.read_pacer
            )
            found = [
                sheet["properties"]["sheetId"]
                for sheet in metadata.get("sheets") or []
                if sheet["properties"]["title"] == tab
            ]
            if found:
                sheet_id = int(found[0])
                send([*_grow(sheet_id, len(rows)), _update_cells(sheet_id, rows)])
            else:
                used = {sheet["properties"]["sheetId"] for sheet in metadata.get("sheets") or []}
                sheet_id = FEEDBACK_SHEET_ID if FEEDBACK_SHEET_ID not in used else max(used) + 1
                send([_add_tab(tab, sheet_id, len(rows)), _update_cells(sheet_id, rows)])
            return TabWrite(sheet_id, calls[0])
        except APIError as error:
            raise self._api_failure(error, calls) from error
        except (requests.RequestException, GoogleAuthError) as error:
            raise self._failure("google_error", f"write failed: {error}", calls) from error

    def start_page_token(self) -> tuple[str, int]:
        """Drive's current changes position (one call): changes after it will be listed."""
        calls = [0]
        url = f"{DRIVE_CHANGES_URL}/startPageToken"
        try:
            page = self._call(
                lambda: self.client.http_client.request(
                    "get", url, params={"supportsAllDrives": True}
                ).json(),
                calls,
            )
        except APIError as error:
            raise self._api_failure(error, calls, "Drive") from error
        except requests.RequestException as error:
            raise self._failure("google_error", f"Drive failed: {error}", calls) from error
        return str(page["startPageToken"]), calls[0]

    def list_changes(self, page_token: str) -> ChangeFeed:
        """Every spreadsheet that changed since ``page_token``: one ``changes.list`` call per
        1,000 changes. A file removed or no longer shared is listed with version None."""
        params: dict[str, Any] = {
            "pageToken": page_token,
            "pageSize": 1000,
            "spaces": "drive",
            "includeRemoved": True,
            "supportsAllDrives": True,
            "includeItemsFromAllDrives": True,
            "fields": "nextPageToken,newStartPageToken,"
            "changes(fileId,removed,file(mimeType,modifiedTime,version,lastModifyingUser(me)))",
        }
        http = self.client.http_client
        changed: dict[str, SheetVersion | None] = {}
        calls = [0]
        try:
            while True:
                page = self._call(
                    lambda: http.request("get", DRIVE_CHANGES_URL, params=dict(params)).json(),
                    calls,
                )
                for item in page.get("changes", []):
                    file = item.get("file") or {}
                    if item.get("removed") or not file:
                        changed[item["fileId"]] = None
                    elif file.get("mimeType", SPREADSHEET_MIME) == SPREADSHEET_MIME:
                        changed[item["fileId"]] = SheetVersion(
                            modified_time=file.get("modifiedTime", ""),
                            modified_by_us=bool((file.get("lastModifyingUser") or {}).get("me")),
                            version=file.get("version"),
                        )
                if "newStartPageToken" in page:
                    return ChangeFeed(changed, str(page["newStartPageToken"]), calls[0])
                params["pageToken"] = page["nextPageToken"]
        except APIError as error:
            raise self._api_failure(error, calls, "Drive") from error
        except requests.RequestException as error:
            raise self._failure("google_error", f"Drive failed: {error}", calls) from error

    def _api_failure(
        self, error: APIError, calls: list[int], source: str = "Google"
    ) -> SheetReadError:
        status = error.response.status_code
        code = FAILURE_BY_STATUS.get(status, "google_error")
        return self._failure(code, f"{source} answered {status}: {error}", calls)

    def _failure(self, code: str, detail: str, calls: list[int]) -> SheetReadError:
        return SheetReadError(code, _reason(code, self.service_account), detail, calls[0])


def _sheet_read(
    answer: dict[str, Any],
    served: datetime | None,
    tab: str,
    used_first_tab: bool,
    feedback: TabRegion | None,
    api_calls: int,
) -> SheetRead:
    """A grid answer as the data tab's values (as the values API gives them unformatted:
    ragged, empty cells in a row as ``""``), its marks, and the feedback tab's cells."""
    by_title = {sheet["properties"]["title"]: sheet for sheet in answer.get("sheets") or []}
    data = by_title.get(tab)
    if data is None:
        raise ValueError(f"the answer holds no tab {tab!r}")
    sheet_id = int(data["properties"]["sheetId"])
    values = _values(_cells(data))
    marks: dict[tuple[int, int], CellMark] = {}
    for row, column, cell in _cells(data):
        note = cell.get("note") or None
        color = _color_of((cell.get("userEnteredFormat") or {}).get("backgroundColor"))
        if color == WHITE:
            color = None
        if note is not None or color is not None:
            marks[(row, column)] = CellMark(sheet_id, row, column, note=note, color=color)
    tab_cells: TabCells | None = None
    if feedback is not None:
        ours = by_title.get(feedback.title)
        if ours is None:
            tab_cells = TabCells(None)
        else:
            inside = (
                (row, column, cell)
                for row, column, cell in _cells(ours)
                if row < feedback.rows and column < feedback.columns
            )
            grid = tuple(tuple(str(value) for value in line) for line in _values(inside))
            tab_cells = TabCells(int(ours["properties"]["sheetId"]), grid)
    return SheetRead(values, tab, used_first_tab, api_calls, served, sheet_id, marks, tab_cells)


def _values(cells: Iterable[tuple[int, int, dict[str, Any]]]) -> list[list[Any]]:
    """The effective values of ``cells`` (in row order) as the values API lays them out:
    ragged, an empty cell inside a row as ``""``, no trailing empty cells or rows."""
    values: list[list[Any]] = []
    for row, column, cell in cells:
        value = _effective(cell.get("effectiveValue"))
        if value is None:
            continue
        while len(values) <= row:
            values.append([])
        line = values[row]
        line.extend([""] * (column - len(line)))
        line.append(value)
    return values


def _cells(sheet: dict[str, Any]) -> Iterable[tuple[int, int, dict[str, Any]]]:
    """Every cell a sheet's grid data holds, by its 0-based row and column in the tab."""
    for data in sheet.get("data") or []:
        first_row, first_column = data.get("startRow", 0), data.get("startColumn", 0)
        for r, row in enumerate(data.get("rowData") or []):
            for c, cell in enumerate(row.get("values") or []):
                if cell:
                    yield first_row + r, first_column + c, cell


def _effective(value: Any) -> Any:
    """An ExtendedValue as the values API's UNFORMATTED_VALUE (dates as serial numbers) gives
    the same cell; None when empty."""
    if not isinstance(value, dict) or not value:
        return None
    if "stringValue" in value:
        return value["stringValue"] if value["stringValue"] != "" else None
    if "numberValue" in value:
        return value["numberValue"]
    if "boolValue" in value:
        return bool(value["boolValue"])
    if "errorValue" in value:
        kind = str((value["errorValue"] or {}).get("type", ""))
        return ERROR_TEXTS.get(kind, "#ERROR!")
    return None


def _a1(row: int, column: int) -> str:
    """A 0-based cell as A1 (0, 0 is A1)."""
    letters = ""
    number = column + 1
    while number:
        number, rest = divmod(number - 1, 26)
        letters = chr(ord("A") + rest) + letters
    return f"{letters}{row + 1}"


def _color_of(color: Any) -> tuple[float, float, float] | None:
    """A Color from Sheets as (red, green, blue); a component Sheets left out is 0."""
    if not isinstance(color, dict):
        return None
    return (
        float(color.get("red", 0)),
        float(color.get("green", 0)),
        float(color.get("blue", 0)),
    )


def _add_tab(tab: str, sheet_id: int, height: int) -> dict[str, Any]:
    grid = {"rowCount": max(height, DEFAULT_GRID_ROWS), "columnCount": 26}
    return {"addSheet": {"properties": {"sheetId": sheet_id, "title": tab, "gridProperties": grid}}}


def _grow(sheet_id: int, height: int) -> list[dict[str, Any]]:
    """A longer list than the default grid needs the tab to grow first (in the same call)."""
    if height <= DEFAULT_GRID_ROWS:
        return []
    properties = {"sheetId": sheet_id, "gridProperties": {"rowCount": height}}
    return [
        {"updateSheetProperties": {"properties": properties, "fields": "gridProperties.rowCount"}}
    ]


def _update_cells(sheet_id: int, rows: list[list[str]]) -> dict[str, Any]:
    """The cells as text from the tab's top-left; an empty string clears a cell."""
    return {
        "updateCells": {
            "start": {"sheetId": sheet_id, "rowIndex": 0, "columnIndex": 0},
            "rows": [
                {"values": [{"userEnteredValue": {"stringValue": v}} if v else {} for v in row]}
                for row in rows
            ],
            "fields": "userEnteredValue",
        }
    }


def _layout_requests(cells: dict[str, Any], layout: TabLayout) -> list[dict[str, Any]]:
    """The tab's widths, frozen heading, bold heading and wrapped columns, as Sheets API v4
    requests for the sheet ``cells`` (the call's ``updateCells``) writes to."""
    sheet_id = cells["updateCells"]["start"]["sheetId"]
    frozen = {"frozenRowCount": layout.heading_row + 1 if layout.frozen else 0}
    requests_: list[dict[str, Any]] = [
        {
            "updateSheetProperties": {
                "properties": {"sheetId": sheet_id, "gridProperties": frozen},
                "fields": "gridProperties.frozenRowCount",
            }
        }
    ]
    for column, pixels in enumerate(layout.widths):
        span = {"startIndex": column, "endIndex": column + 1}
        requests_.append(
            {
                "updateDimensionProperties": {
                    "range": {"sheetId": sheet_id, "dimension": "COLUMNS", **span},
                    "properties": {"pixelSize": pixels},
                    "fields": "pixelSize",
                }
            }
        )
    heading = {"startRowIndex": layout.heading_row, "endRowIndex": layout.heading_row + 1}
    requests_.append(
        {
            "repeatCell": {
                "range": {
                    "sheetId": sheet_id,
                    **heading,
                    "startColumnIndex": 0,
                    "endColumnIndex": len(layout.widths),
                },
                "cell": {"userEnteredFormat": {"textFormat": {"bold": True}}},
                "fields": "userEnteredFormat.textFormat.bold",
            }
        }
    )
    for column in layout.wrapped:
        requests_.append(
            {
                "repeatCell": {
                    "range": {
                        "sheetId": sheet_id,
                        "startRowIndex": layout.heading_row,
                        "startColumnIndex": column,
                        "endColumnIndex": column + 1,
                    },
                    "cell": {"userEnteredFormat": {"wrapStrategy": "WRAP"}},
                    "fields": "userEnteredFormat.wrapStrategy",
                }
            }
        )
    return requests_
