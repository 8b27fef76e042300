"""Cell notes and background colours in the emulator, as the feedback's marks on a data tab
will use them: written by ``updateCells`` under a field mask, read back by
``spreadsheets.get`` with grid data, through gspread and through Google's discovery-built
Sheets client (google-api-python-client), over HTTP."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import gspread
import httplib2
import pytest
from googleapiclient.discovery import build
from googleapiclient.errors import HttpError

from schoolnet.devtools.emulator import Emulator
from schoolnet.devtools.emulator import state as st
from schoolnet.ingestion.google import EmulatorSession
from tests.unit.devtools.test_emulator import DISTRICT_ROWS, SID, TAB, make_doc, write_doc

MARKS = "note,userEnteredFormat.backgroundColor"
PINK = {"red": 1, "green": 0.8, "blue": 0.8}
GRID_FIELDS = (
    "sheets(properties(sheetId,title),"
    "data(startRow,startColumn,rowData(values(note,userEnteredFormat.backgroundColor))))"
)


@pytest.fixture
def state_dir(tmp_path: Path) -> Path:
    write_doc(tmp_path, make_doc(SID, DISTRICT_ROWS))
    return tmp_path


@pytest.fixture
def emulator(state_dir: Path) -> Iterator[Emulator]:
    with Emulator(state_dir, read_quota_per_minute=0, write_quota_per_minute=0) as emu:
        yield emu


@pytest.fixture
def client(emulator: Emulator) -> gspread.Client:
    return gspread.Client(None, session=EmulatorSession(emulator.base_url))  # type: ignore[arg-type]  # gspread types auth as Credentials; the session given already authorises (the emulator needs none)


@pytest.fixture
def sheets(emulator: Emulator) -> Iterator[Any]:
    """Google's Sheets v4 client, built from its bundled discovery document, aimed at us."""
    http = httplib2.Http(timeout=10)
    yield build(
        "sheets",
        "v4",
        http=http,
        client_options={"api_endpoint": f"{emulator.base_url}/"},
        static_discovery=True,
    )
    http.close()  # its kept-alive sockets, before the emulator stops


def mark(row: int, column: int, cell: dict[str, Any], fields: str = MARKS) -> dict[str, Any]:
    """One ``updateCells`` of one cell of the data tab (sheet id 0), from ``start``."""
    start = {"sheetId": 0, "rowIndex": row, "columnIndex": column}
    return {"updateCells": {"start": start, "rows": [{"values": [cell]}], "fields": fields}}


def cell_at(spreadsheet: dict[str, Any], row: int, column: int) -> dict[str, Any]:
    """The CellData at (row, column) of the first sheet's first GridData ({} if absent)."""
    data = spreadsheet["sheets"][0]["data"][0]
    rows = data.get("rowData") or []
    r, c = row - data.get("startRow", 0), column - data.get("startColumn", 0)
    values = (rows[r].get("values") or []) if 0 <= r < len(rows) else []
    found: dict[str, Any] = values[c] if 0 <= c < len(values) else {}
    return found


def values_of(client: gspread.Client) -> list[list[Any]]:
    return client.open_by_key(SID).worksheet(TAB).get_all_values()


def grid(client: gspread.Client, ranges: list[str], fields: str = GRID_FIELDS) -> Any:
    """gspread's raw spreadsheets.get (one read request) with grid data."""
    return client.http_client.fetch_sheet_metadata(
        SID, params={"includeGridData": True, "ranges": ranges, "fields": fields}
    )


def test_gspread_sets_note_and_colour_and_reads_them_back_without_touching_values(
    client: gspread.Client, emulator: Emulator, state_dir: Path
) -> None:
    spreadsheet = client.open_by_key(SID)
    before_values = values_of(client)
    before = st.load_spreadsheet(state_dir, SID)
    emulator.reset()
    note = "จำนวนนักเรียนต้องเป็นจำนวนเต็ม"
    spreadsheet.batch_update(
        {"requests": [mark(1, 2, {"note": note, "userEnteredFormat": {"backgroundColor": PINK}})]}
    )
    assert emulator.stats()["writes"] == 1  # one batchUpdate, one write request
    answer = grid(client, [f"'{TAB}'!C2"])
    assert answer["sheets"][0]["properties"] == {"sheetId": 0, "title": TAB}
    assert answer["sheets"][0]["data"][0]["startRow"] == 1
    assert answer["sheets"][0]["data"][0]["startColumn"] == 2
    assert cell_at(answer, 1, 2) == {
        "note": note,
        "userEnteredFormat": {"backgroundColor": PINK},
    }
    assert emulator.stats()["reads"] == 1
    # The values (what the pipeline digests) are as they were; Drive sees an edit by us.
    assert values_of(client) == before_values
    after = st.load_spreadsheet(state_dir, SID)
    st.tidy(before["sheets"][0])  # as every write leaves the stored rows
    assert after["sheets"][0]["rows"] == before["sheets"][0]["rows"]
    assert after["modifiedTime"] > before["modifiedTime"]
    assert int(after["version"]) == int(before.get("version") or 1) + 1
    assert after["lastModifyingUser"]["me"] is True


def test_a_mask_naming_only_the_note_leaves_the_colour(client: gspread.Client) -> None:
    spreadsheet = client.open_by_key(SID)
    spreadsheet.batch_update(
        {"requests": [mark(3, 2, {"note": "ก", "userEnteredFormat": {"backgroundColor": PINK}})]}
    )
    spreadsheet.batch_update({"requests": [mark(3, 2, {"note": "ข"}, fields="note")]})
    assert cell_at(grid(client, [f"'{TAB}'!C4"]), 3, 2) == {
        "note": "ข",
        "userEnteredFormat": {"backgroundColor": PINK},
    }
    # And a colour-only mask leaves the note.
    yellow = {"red": 1, "green": 1, "blue": 0.6}
    spreadsheet.batch_update(
        {
            "requests": [
                mark(
                    3,
                    2,
                    {"note": "ignored", "userEnteredFormat": {"backgroundColor": yellow}},
                    fields="userEnteredFormat.backgroundColor",
                )
            ]
        }
    )
    assert cell_at(grid(client, [f"'{TAB}'!C4"]), 3, 2) == {
        "note": "ข",
        "userEnteredFormat": {"backgroundColor": yellow},
    }


def test_a_masked_field_the_cell_leaves_out_is_cleared(client: gspread.Client) -> None:
    spreadsheet = client.open_by_key(SID)
    spreadsheet.batch_update(
        {"requests": [mark(1, 0, {"note": "ก", "userEnteredFormat": {"backgroundColor": PINK}})]}
    )
    spreadsheet.batch_update({"requests": [mark(1, 0, {"note": "ข"})]})  # the colour goes
    assert cell_at(grid(client, [f"'{TAB}'!A2"]), 1, 0) == {"note": "ข"}
    spreadsheet.batch_update({"requests": [mark(1, 0, {})]})  # and then the note
    assert cell_at(grid(client, [f"'{TAB}'!A2"]), 1, 0) == {}
    assert values_of(client)[1][0] == "0123"


def test_a_range_clears_what_its_rows_leave_out(client: gspread.Client) -> None:
    spreadsheet = client.open_by_key(SID)
    for column in range(3):
        spreadsheet.batch_update({"requests": [mark(5, column, {"note": f"n{column}"})]})
    area = {"sheetId": 0, "startRowIndex": 5, "endRowIndex": 6, "startColumnIndex": 0}
    area["endColumnIndex"] = 3
    request = {"range": area, "rows": [{"values": [{"note": "only"}]}], "fields": "note"}
    spreadsheet.batch_update({"requests": [{"updateCells": request}]})
    answer = grid(client, [f"'{TAB}'!A6:C6"])
    assert [cell_at(answer, 5, c) for c in range(3)] == [{"note": "only"}, {}, {}]


def test_full_grid_data_keeps_values_and_a_clerks_own_colour(
    client: gspread.Client, state_dir: Path
) -> None:
    doc = st.load_spreadsheet(state_dir, SID)
    clerk_green = {"red": 0.8, "green": 1, "blue": 0.8}
    doc["sheets"][0]["formats"] = [
        {
            "range": {"startRowIndex": 0, "endRowIndex": 1},
            "userEnteredFormat": {"backgroundColor": clerk_green},
        }
    ]
    doc["sheets"][0]["notes"] = {"B1": "หัวตาราง: ห้ามแก้"}
    write_doc(state_dir, doc)
    spreadsheet = client.open_by_key(SID)
    spreadsheet.batch_update(
        {"requests": [mark(1, 2, {"note": "ผิด", "userEnteredFormat": {"backgroundColor": PINK}})]}
    )
    whole = spreadsheet.fetch_sheet_metadata(params={"includeGridData": "true"})
    data = whole["sheets"][0]["data"][0]
    assert "startRow" not in data and len(data["rowMetadata"]) == 1000
    assert len(data["columnMetadata"]) == 26
    header = data["rowData"][0]["values"]
    assert header[1] == {
        "userEnteredValue": {"stringValue": "ชื่อโรงเรียน"},
        "effectiveValue": {"stringValue": "ชื่อโรงเรียน"},
        "formattedValue": "ชื่อโรงเรียน",
        "note": "หัวตาราง: ห้ามแก้",
        "userEnteredFormat": {
            "backgroundColor": clerk_green,
            "backgroundColorStyle": {"rgbColor": clerk_green},
        },
    }
    row = data["rowData"][1]["values"]
    assert row[2] == {
        "userEnteredValue": {"numberValue": 245},
        "effectiveValue": {"numberValue": 245},
        "formattedValue": "245",
        "note": "ผิด",
        "userEnteredFormat": {"backgroundColor": PINK, "backgroundColorStyle": {"rgbColor": PINK}},
    }
    assert row[5]["userEnteredValue"] == {"formulaValue": "=C2*2"}
    assert row[5]["effectiveValue"] == {"numberValue": 490}
    assert row[6]["effectiveValue"]["errorValue"]["type"] == "REF"
    assert row[4]["formattedValue"] == "1,290"
    # Without includeGridData (and no mask asking for data), no grid data, as before.
    assert "data" not in spreadsheet.fetch_sheet_metadata()["sheets"][0]


def test_ranges_limit_the_sheets_and_a_dotted_mask_selects(
    client: gspread.Client,
) -> None:
    spreadsheet = client.open_by_key(SID)
    spreadsheet.add_worksheet("อื่น", rows=10, cols=5)
    spreadsheet.batch_update({"requests": [mark(2, 1, {"note": "ก"}, fields="note")]})
    dotted = "sheets.data.rowData.values.note"
    answer = grid(client, [f"'{TAB}'!A1:C3"], fields=dotted)
    assert list(answer) == ["sheets"] and len(answer["sheets"]) == 1  # not the other tab
    (data,) = answer["sheets"][0]["data"]
    assert list(data) == ["rowData"]
    assert [row.get("values") for row in data["rowData"]] == [
        [{}, {}, {}],  # cells with values, none with a note
        [{}, {}, {}],
        [{}, {"note": "ก"}],
    ]


def test_discovery_client_sets_and_reads_marks(sheets: Any, client: gspread.Client) -> None:
    before = values_of(client)
    body = {
        "requests": [
            mark(1, 1, {"note": "ชื่อซ้ำ", "userEnteredFormat": {"backgroundColor": PINK}}),
            mark(3, 2, {"userEnteredFormat": {"backgroundColor": {"red": 1, "green": 0.9}}}),
        ]
    }
    answer = sheets.spreadsheets().batchUpdate(spreadsheetId=SID, body=body).execute()
    assert answer == {"spreadsheetId": SID, "replies": [{}, {}]}
    got = (
        sheets.spreadsheets()
        .get(spreadsheetId=SID, includeGridData=True, ranges=[f"'{TAB}'!A2:C4"], fields=GRID_FIELDS)
        .execute()
    )
    assert cell_at(got, 1, 1) == {"note": "ชื่อซ้ำ", "userEnteredFormat": {"backgroundColor": PINK}}
    assert cell_at(got, 3, 2) == {
        "userEnteredFormat": {"backgroundColor": {"red": 1, "green": 0.9}}
    }
    assert cell_at(got, 2, 0) == {}
    # Only the note, by the discovery client's own mask.
    only_note = {"requests": [mark(1, 1, {}, fields="note")]}
    sheets.spreadsheets().batchUpdate(spreadsheetId=SID, body=only_note).execute()
    got = sheets.spreadsheets().get(spreadsheetId=SID, ranges=[f"'{TAB}'!B2"], fields=GRID_FIELDS)
    assert cell_at(got.execute(), 1, 1) == {"userEnteredFormat": {"backgroundColor": PINK}}
    assert values_of(client) == before


def test_repeat_cell_colours_and_notes_a_range(client: gspread.Client) -> None:
    spreadsheet = client.open_by_key(SID)
    area = {"sheetId": 0, "startRowIndex": 1, "endRowIndex": 3, "startColumnIndex": 0}
    area["endColumnIndex"] = 2
    cell = {"note": "ทั้งแถว", "userEnteredFormat": {"backgroundColor": PINK}}
    spreadsheet.batch_update(
        {"requests": [{"repeatCell": {"range": area, "cell": cell, "fields": MARKS}}]}
    )
    answer = grid(client, [f"'{TAB}'!A2:B3"])
    assert all(cell_at(answer, r, c) == cell for r in (1, 2) for c in (0, 1))
    # A later single-cell clear wins over the range's colour on that cell only.
    spreadsheet.batch_update({"requests": [mark(2, 1, {"note": "ทั้งแถว"})]})
    answer = grid(client, [f"'{TAB}'!A2:B3"])
    assert cell_at(answer, 2, 1) == {"note": "ทั้งแถว"}
    assert cell_at(answer, 2, 0) == cell


# (what is wrong, the updateCells body, part of Google's message)
REFUSALS: list[tuple[str, dict[str, Any], str]] = [
    (
        "no fields",
        {"start": {"sheetId": 0}, "rows": [{"values": [{"note": "x"}]}]},
        "You must specify fields",
    ),
    (
        "start and range",
        {"start": {"sheetId": 0}, "range": {"sheetId": 0}, "rows": [], "fields": "note"},
        "oneof field 'area' is already set",
    ),
    ("neither start nor range", {"rows": [], "fields": "note"}, "start or range is required"),
    (
        "unknown sheet",
        {"start": {"sheetId": 77}, "rows": [], "fields": "note"},
        "No grid with id: 77",
    ),
    (
        "unknown field",
        {"start": {"sheetId": 0}, "rows": [], "fields": "note,userEnteredFormat.backgroundColour"},
        "Invalid field mask: userEnteredFormat.backgroundColour",
    ),
    (
        "colour out of range",
        {
            "start": {"sheetId": 0},
            "rows": [{"values": [{"userEnteredFormat": {"backgroundColor": {"red": 255}}}]}],
            "fields": MARKS,
        },
        "background_color.red': 255 is outside [0, 1]",
    ),
    (
        "colour not a number",
        {
            "start": {"sheetId": 0},
            "rows": [{"values": [{"userEnteredFormat": {"backgroundColor": {"red": "#ff0000"}}}]}],
            "fields": MARKS,
        },
        "(TYPE_FLOAT)",
    ),
]


@pytest.mark.parametrize(
    ("body", "message"), [r[1:] for r in REFUSALS], ids=[r[0] for r in REFUSALS]
)
def test_refusals_are_400_invalid_argument_with_nothing_applied(
    body: dict[str, Any],
    message: str,
    sheets: Any,
    client: gspread.Client,
    state_dir: Path,
) -> None:
    before = st.load_spreadsheet(state_dir, SID)
    # A good mark first in the same batch: a refused batch applies none of its requests.
    requests = [mark(1, 1, {"note": "ok"}), {"updateCells": body}]
    with pytest.raises(HttpError) as caught:
        sheets.spreadsheets().batchUpdate(spreadsheetId=SID, body={"requests": requests}).execute()
    assert caught.value.resp.status == 400
    error = json.loads(caught.value.content)["error"]
    assert error["status"] == "INVALID_ARGUMENT" and error["code"] == 400
    assert message in error["message"], error["message"]
    with pytest.raises(gspread.exceptions.APIError) as by_gspread:
        client.open_by_key(SID).batch_update({"requests": requests})
    assert by_gspread.value.response.status_code == 400
    assert st.load_spreadsheet(state_dir, SID) == before
