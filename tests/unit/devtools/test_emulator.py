"""The Sheets/Drive emulator, driven by the real gspread client over HTTP."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import gspread
import pytest
import requests
from gspread.urls import DRIVE_FILES_API_V3_URL
from gspread.utils import ValueInputOption, ValueRenderOption

from schoolnet.devtools.emulator import Emulator, edit_cell, load_day, set_fault, set_quota
from schoolnet.devtools.emulator import state as st
from schoolnet.ingestion.google import EmulatorSession

SID = "1DistrictSheetLampang1xxxxxxxxxxxxxxxxxxxxx"
FOLDER = "folderESA"
TAB = "โรงเรียน"
USER_ENTERED = ValueInputOption.user_entered
UNFORMATTED = {"valueRenderOption": "UNFORMATTED_VALUE", "dateTimeRenderOption": "SERIAL_NUMBER"}


def make_doc(
    spreadsheet_id: str,
    rows: list[list[Any]] | None = None,
    *,
    title: str = "ข้อมูลอินเทอร์เน็ตโรงเรียน สพป.ลำปาง เขต 1",
    parents: list[str] | None = None,
    modified: str = "2018-01-02T08:15:00.000Z",
    tab: str = TAB,
) -> dict[str, Any]:
    return {
        "spreadsheetId": spreadsheet_id,
        "title": title,
        "parents": [FOLDER] if parents is None else parents,
        "createdTime": "2017-12-28T03:00:00.000Z",
        "modifiedTime": modified,
        "locale": "th_TH",
        "timeZone": "Asia/Bangkok",
        "sheets": [{"sheetId": 0, "title": tab, "rows": rows or [["a"]]}],
    }


def write_doc(state_dir: Path, doc: dict[str, Any]) -> Path:
    path = state_dir / "spreadsheets" / f"{doc['spreadsheetId']}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")
    return path


DISTRICT_ROWS: list[list[Any]] = [
    ["รหัสโรงเรียน", "ชื่อโรงเรียน", "จำนวนนักเรียน", "วันที่เริ่มใช้บริการ", "ค่าบริการ", "สูตร", "ผิด", "ธง"],
    [
        "0123",
        "บ้านทุ่ง",
        245,
        {"serial": 43103, "format": "d/m/yyyy"},
        {"number": 1290, "format": "#,##0"},
        {"formula": "=C2*2", "value": 490},
        {"error": "#REF!"},
        True,
        "",
        None,
    ],
    [],
    ["1052010002", "บ้านดอย", 30.5, None, "", None],
    [None, ""],
]


@pytest.fixture
def state_dir(tmp_path: Path) -> Path:
    write_doc(tmp_path, make_doc(SID, DISTRICT_ROWS))
    return tmp_path


@pytest.fixture
def emulator(state_dir: Path) -> Iterator[Emulator]:
    emu = Emulator(state_dir, read_quota_per_minute=0, write_quota_per_minute=0)
    emu.start()
    yield emu
    emu.stop()


@pytest.fixture
def client(emulator: Emulator) -> gspread.Client:
    return gspread.Client(None, session=EmulatorSession(emulator.base_url))  # type: ignore[arg-type]  # gspread types auth as Credentials; the session given already authorises (the emulator needs none)


def api_error(call: Any) -> gspread.exceptions.APIError:
    with pytest.raises(gspread.exceptions.APIError) as caught:
        call()
    return caught.value


# ---------------------------------------------------------------------------------- reading


def test_open_by_key_worksheet_and_get_all_values(client: gspread.Client) -> None:
    sheet = client.open_by_key(SID)
    assert sheet.title.startswith("ข้อมูลอินเทอร์เน็ตโรงเรียน")
    assert sheet.locale == "th_TH"
    values = sheet.worksheet(TAB).get_all_values()
    assert values[0][0] == "รหัสโรงเรียน"
    assert values[1] == ["0123", "บ้านทุ่ง", "245", "3/1/2018", "1,290", "490", "#REF!", "TRUE"]
    assert len(values) == 4  # trailing empty row dropped, padded to a rectangle by gspread


def test_batch_get_unformatted_is_typed_and_ragged(client: gspread.Client) -> None:
    reply = client.http_client.values_batch_get(SID, [f"'{TAB}'!A1:O"], params=dict(UNFORMATTED))
    assert reply["spreadsheetId"] == SID
    (value_range,) = reply["valueRanges"]
    assert value_range["range"] == f"'{TAB}'!A1:O1000"
    assert value_range["majorDimension"] == "ROWS"
    rows = value_range["values"]
    assert rows[1] == ["0123", "บ้านทุ่ง", 245, 43103, 1290, 490, "#REF!", True]
    assert isinstance(rows[1][2], int) and isinstance(rows[1][3], int)
    assert rows[2] == []  # an empty row inside the data stays, as []
    assert rows[3] == ["1052010002", "บ้านดอย", 30.5]  # trailing empty cells omitted
    assert len(rows) == 4  # trailing empty rows omitted


def test_render_options_formatted_formula_and_date_string(client: gspread.Client) -> None:
    http = client.http_client
    formatted = http.values_get(SID, f"'{TAB}'!A2:H2")
    assert formatted["values"] == [
        ["0123", "บ้านทุ่ง", "245", "3/1/2018", "1,290", "490", "#REF!", "TRUE"]
    ]
    formula = http.values_get(SID, f"'{TAB}'!F2", params={"valueRenderOption": "FORMULA"})
    assert formula == {"range": f"'{TAB}'!F2", "majorDimension": "ROWS", "values": [["=C2*2"]]}
    as_string = http.values_get(
        SID,
        f"{TAB}!D2",
        params={
            "valueRenderOption": "UNFORMATTED_VALUE",
            "dateTimeRenderOption": "FORMATTED_STRING",
        },
    )
    assert as_string["values"] == [["3/1/2018"]]
    columns = http.values_get(SID, "A1:B2", params={"majorDimension": "COLUMNS"})
    assert columns["values"] == [["รหัสโรงเรียน", "0123"], ["ชื่อโรงเรียน", "บ้านทุ่ง"]]
    empty = http.values_get(SID, f"'{TAB}'!X10:Y20")
    assert "values" not in empty and empty["range"] == f"'{TAB}'!X10:Y20"


def test_unknown_sheet_and_out_of_grid_ranges_fail_like_google(client: gspread.Client) -> None:
    error = api_error(lambda: client.http_client.values_get(SID, "'ไม่มี'!A1:B2"))
    assert error.code == 400
    assert error.error["status"] == "INVALID_ARGUMENT"
    assert error.error["message"] == "Unable to parse range: 'ไม่มี'!A1:B2"
    assert error.response.headers["Content-Type"] == "application/json; charset=UTF-8"
    error = api_error(lambda: client.http_client.values_get(SID, "A1:AB2"))
    assert "exceeds grid limits" in error.error["message"]


def test_unknown_spreadsheet_is_spreadsheet_not_found(client: gspread.Client) -> None:
    with pytest.raises(gspread.exceptions.SpreadsheetNotFound):
        client.open_by_key("1NoSuchSheet")


def test_metadata_shape(client: gspread.Client) -> None:
    meta = client.http_client.fetch_sheet_metadata(SID)
    assert meta["spreadsheetId"] == SID
    assert meta["properties"]["timeZone"] == "Asia/Bangkok"
    (props,) = [s["properties"] for s in meta["sheets"]]
    assert props["title"] == TAB and props["sheetId"] == 0 and props["index"] == 0
    assert props["sheetType"] == "GRID"
    assert props["gridProperties"] == {"rowCount": 1000, "columnCount": 26}


# ---------------------------------------------------------------------------------- writing


def test_update_reads_back_and_persists_across_restart(
    client: gspread.Client, emulator: Emulator, state_dir: Path
) -> None:
    worksheet = client.open_by_key(SID).worksheet(TAB)
    reply = worksheet.update([["1052010003", "ใหม่", "12"]], "A6:C6")
    assert reply["updatedRange"] == f"'{TAB}'!A6:C6" and reply["updatedCells"] == 3
    worksheet.update([["=C6*2", "30.5", "'0123", "1,290"]], "D6", value_input_option=USER_ENTERED)
    worksheet.update_acell("E2", 1300)  # a number written into a "#,##0" cell keeps its format
    raw = client.http_client.values_get(SID, f"'{TAB}'!A6:G6", params=dict(UNFORMATTED))
    assert raw["values"] == [["1052010003", "ใหม่", "12", "", 30.5, "0123", 1290]]
    assert worksheet.acell("G6").value == "1,290"
    assert worksheet.acell("D6", value_render_option=ValueRenderOption.formula).value == "=C6*2"

    on_disk = json.loads((state_dir / "spreadsheets" / f"{SID}.json").read_text("utf-8"))
    assert on_disk["sheets"][0]["rows"][5][:3] == ["1052010003", "ใหม่", "12"]
    assert on_disk["modifiedTime"] > "2018-01-02T08:15:00.000Z"
    assert on_disk["modifiedTime"].endswith("Z") and len(on_disk["modifiedTime"]) == 24

    emulator.stop()
    with Emulator(state_dir, read_quota_per_minute=0) as again:
        fresh = gspread.Client(None, session=EmulatorSession(again.base_url))  # type: ignore[arg-type]  # gspread types auth as Credentials; the session given already authorises (the emulator needs none)
        values = fresh.open_by_key(SID).worksheet(TAB).get_all_values()
    assert values[5][:3] == ["1052010003", "ใหม่", "12"]
    assert values[1][4] == "1,300"


def test_write_beyond_a_bounded_range_is_rejected(client: gspread.Client) -> None:
    worksheet = client.open_by_key(SID).sheet1
    error = api_error(lambda: worksheet.update([["a", "b", "c"]], "A10:B10"))
    assert error.code == 400 and "tried writing to column [C]" in error.error["message"]


def test_add_worksheet_append_clear_and_sheet_properties(
    client: gspread.Client, state_dir: Path
) -> None:
    spreadsheet = client.open_by_key(SID)
    feedback = spreadsheet.add_worksheet("ผลตรวจสอบ", rows=50, cols=8)
    assert feedback.id != 0
    assert [w.title for w in spreadsheet.worksheets()] == [TAB, "ผลตรวจสอบ"]
    feedback.append_row(["แถว", "ปัญหา"])
    feedback.append_row(["7", "จำนวนนักเรียนติดลบ"])
    assert feedback.get_all_values() == [["แถว", "ปัญหา"], ["7", "จำนวนนักเรียนติดลบ"]]
    feedback.freeze(rows=1)
    feedback.update_title("ผลตรวจสอบ 2561")
    feedback.format("A1:B1", {"textFormat": {"bold": True}})  # repeatCell: accepted, recorded
    feedback.batch_clear(["A2:B2"])
    assert feedback.get_all_values() == [["แถว", "ปัญหา"]]

    meta = client.http_client.fetch_sheet_metadata(SID)
    props = meta["sheets"][1]["properties"]
    assert props["title"] == "ผลตรวจสอบ 2561"
    assert props["gridProperties"]["frozenRowCount"] == 1
    assert props["gridProperties"]["rowCount"] == 50

    error = api_error(lambda: spreadsheet.add_worksheet(TAB, rows=5, cols=5))
    assert error.code == 400 and "already exists" in error.error["message"]
    error = api_error(lambda: spreadsheet.batch_update({"requests": [{"frobnicate": {}}]}))
    assert error.code == 400 and "frobnicate" in error.error["message"]
    reply = spreadsheet.batch_update(
        {
            "requests": [
                {"setDataValidation": {"range": {"sheetId": 0}, "rule": {}}},
                {"deleteSheet": {"sheetId": feedback.id}},
            ]
        }
    )
    assert reply == {"spreadsheetId": SID, "replies": [{}, {}]}
    assert [w.title for w in spreadsheet.worksheets()] == [TAB]
    on_disk = json.loads((state_dir / "spreadsheets" / f"{SID}.json").read_text("utf-8"))
    kinds = [next(iter(r)) for r in on_disk["recordedRequests"]]
    assert kinds == ["repeatCell", "setDataValidation"]


def test_create_spreadsheet(client: gspread.Client) -> None:
    created = client.http_client.request(
        "post", "https://sheets.googleapis.com/v4/spreadsheets", json={"properties": {"title": "t"}}
    ).json()
    assert len(created["spreadsheetId"]) == 44
    assert [s["properties"]["title"] for s in created["sheets"]] == ["Sheet1"]
    assert client.open_by_key(created["spreadsheetId"]).title == "t"


# ---------------------------------------------------------------------------------- drive


def test_drive_listing_by_folder_and_modified_time_pages_over_1000(
    client: gspread.Client, state_dir: Path
) -> None:
    for n in range(1005):
        day = 1 + n % 3  # 2018-01-01, -02, -03
        doc = make_doc(f"1file{n:05d}", modified=f"2018-01-0{day}T10:00:00.000Z")
        write_doc(state_dir, doc)
    write_doc(state_dir, make_doc("1elsewhere", parents=["otherFolder"]))
    query = f"'{FOLDER}' in parents and mimeType = '{st.SPREADSHEET_MIME}' and trashed = false"

    def listing(q: str, token: str | None = None) -> dict[str, Any]:
        params: dict[str, Any] = {
            "q": q,
            "pageSize": 1000,
            "fields": "nextPageToken,files(id,name,modifiedTime)",
        }
        if token:
            params["pageToken"] = token
        listing: dict[str, Any] = client.http_client.request(
            "get", DRIVE_FILES_API_V3_URL, params=params
        ).json()
        return listing

    first = listing(query)
    assert len(first["files"]) == 1000 and set(first["files"][0]) == {"id", "name", "modifiedTime"}
    second = listing(query, first["nextPageToken"])
    assert "nextPageToken" not in second
    ids = [f["id"] for f in first["files"] + second["files"]]
    assert len(ids) == 1006 and len(set(ids)) == 1006 and "1elsewhere" not in ids
    assert ids == sorted(ids)

    recent = listing(query + " and modifiedTime > '2018-01-02T00:00:00Z'")
    assert len(recent["files"]) == 671  # days 2 and 3 of the 1,005, plus the fixture sheet
    assert all(f["modifiedTime"] > "2018-01-02" for f in recent["files"])
    assert len(listing(query + " and modifiedTime >= '2018-01-03T10:00:00Z'")["files"]) == 335
    assert len(listing(query + " and name contains 'ลำปาง'")["files"]) == 1000

    by_gspread = client.list_spreadsheet_files(folder_id="otherFolder")
    assert [f["id"] for f in by_gspread] == ["1elsewhere"]
    single = client.http_client.request("get", f"{DRIVE_FILES_API_V3_URL}/{SID}").json()
    assert single == {
        "kind": "drive#file",
        "id": SID,
        "name": make_doc(SID)["title"],
        "mimeType": st.SPREADSHEET_MIME,
    }
    error = api_error(lambda: listing("name = 'x' or name = 'y'"))
    assert error.code == 400


# ---------------------------------------------------------------------------------- quota


def test_quota_429_body_and_window(state_dir: Path) -> None:
    with Emulator(state_dir, read_quota_per_minute=3, write_quota_per_minute=1) as emu:
        http = gspread.Client(None, session=EmulatorSession(emu.base_url)).http_client  # type: ignore[arg-type]  # gspread types auth as Credentials; the session given already authorises (the emulator needs none)
        for _ in range(3):
            http.values_get(SID, "A1")
        error = api_error(lambda: http.values_get(SID, "A1"))
        assert error.code == 429
        assert error.response.headers["Content-Type"] == "application/json; charset=UTF-8"
        body = error.response.json()["error"]
        assert body["status"] == "RESOURCE_EXHAUSTED"
        assert body["message"].startswith(
            "Quota exceeded for quota metric 'Read requests' and "
            "limit 'Read requests per minute per user'"
        )
        (detail,) = body["details"]
        assert detail["reason"] == "RATE_LIMIT_EXCEEDED"
        assert detail["metadata"]["quota_limit"] == "ReadRequestsPerMinutePerUser"
        api_error(lambda: http.request("get", DRIVE_FILES_API_V3_URL))  # Drive reads share it

        http.values_update(SID, "Z1", params={"valueInputOption": "RAW"}, body={"values": [[1]]})
        write_error = api_error(lambda: http.values_clear(SID, "Z1"))
        assert write_error.code == 429
        assert write_error.error["details"][0]["metadata"]["quota_metric"] == (
            "sheets.googleapis.com/write_requests"
        )
        stats = emu.stats()
        assert (stats["reads"], stats["writes"], stats["throttled"]) == (3, 1, 3)

        requests.post(emu.base_url + "/_emulator/reset", timeout=5)
        http.values_get(SID, "A1")  # a fresh window
        assert emu.stats()["reads"] == 1


def test_quota_from_control_json_is_reread(state_dir: Path) -> None:
    set_quota(state_dir, read=1)
    with Emulator(state_dir) as emu:
        http = gspread.Client(None, session=EmulatorSession(emu.base_url)).http_client  # type: ignore[arg-type]  # gspread types auth as Credentials; the session given already authorises (the emulator needs none)
        http.values_get(SID, "A1")
        assert api_error(lambda: http.values_get(SID, "A1")).code == 429
        set_quota(state_dir, read=0)  # unlimited, picked up while running
        for _ in range(5):
            http.values_get(SID, "A1")


# ---------------------------------------------------------------------------------- faults


@pytest.mark.parametrize(
    ("mode", "code", "status"),
    [("403", 403, "PERMISSION_DENIED"), ("404", 404, "NOT_FOUND"), ("500", 500, "INTERNAL")],
)
def test_faults(
    client: gspread.Client, emulator: Emulator, state_dir: Path, mode: str, code: int, status: str
) -> None:
    write_doc(state_dir, make_doc("1healthy"))
    set_fault(state_dir, SID, mode)
    http = client.http_client
    for call in (
        lambda: http.values_batch_get(SID, ["A1:B2"]),
        lambda: http.fetch_sheet_metadata(SID),
        lambda: http.values_update(
            SID, "A1", params={"valueInputOption": "RAW"}, body={"values": [["x"]]}
        ),
        lambda: http.get_file_drive_metadata(SID),
    ):
        error = api_error(call)
        assert (error.code, error.error["status"]) == (code, status)
    listed = {f["id"] for f in client.list_spreadsheet_files(folder_id=FOLDER)}
    assert "1healthy" in listed
    assert (SID in listed) == (mode == "500")
    assert emulator.stats()["faulted"] == 4
    set_fault(state_dir, SID, None)
    assert http.values_get(SID, "A1")["values"] == [["รหัสโรงเรียน"]]


HOUR = 3600.0


def test_hang_fault_times_out_client_and_stop_is_prompt(
    client: gspread.Client, emulator: Emulator, state_dir: Path
) -> None:
    set_fault(state_dir, SID, "hang", seconds=HOUR)  # longer than any test may take
    client.http_client.set_timeout(0.3)
    serving = set(threading.enumerate())
    with pytest.raises(requests.exceptions.ReadTimeout):
        client.http_client.values_batch_get(SID, ["A1:B2"])
    held = [thread for thread in threading.enumerate() if thread not in serving]
    assert held, "no server thread holds the hung request"
    # Stopping must drop the held request rather than wait the hour out. The bound only tells
    # "did not wait for the hang" from "did", however slow the machine.
    stopping = threading.Thread(target=emulator.stop)
    stopping.start()
    for thread in (stopping, *held):
        thread.join(timeout=HOUR / 60)
    assert not stopping.is_alive(), "stop() waited for the hung request"
    assert not any(thread.is_alive() for thread in held), "the hung request outlived stop()"


def test_short_hang_answers_normally(client: gspread.Client, state_dir: Path) -> None:
    set_fault(state_dir, SID, "hang", seconds=0.2)
    started = time.monotonic()
    assert client.http_client.values_get(SID, "A1")["values"] == [["รหัสโรงเรียน"]]
    assert time.monotonic() - started >= 0.2


# ---------------------------------------------------------------------------------- state


def test_edit_cell_while_serving(client: gspread.Client, state_dir: Path) -> None:
    before = client.http_client.get_file_drive_metadata(SID)["modifiedTime"]
    edit_cell(state_dir, SID, f"'{TAB}'!C4", "๒๔๕")
    edit_cell(state_dir, SID, "C2", "245")
    edit_cell(state_dir, SID, "B4", "")
    edit_cell(state_dir, SID, "I2", "=C2*3")
    values = client.http_client.values_get(SID, f"{TAB}!A2:I4", params=dict(UNFORMATTED))["values"]
    assert values[0][2] == 245 and values[0][8:] == [] and values[2] == ["1052010002", "", "๒๔๕"]
    formula = client.http_client.values_get(SID, "I2", params={"valueRenderOption": "FORMULA"})
    assert formula["values"] == [["=C2*3"]]
    after = client.http_client.get_file_drive_metadata(SID)["modifiedTime"]
    assert after > before
    with pytest.raises(st.EmulatorError, match="unknown spreadsheet"):
        edit_cell(state_dir, "1nope", "A1", "x")
    with pytest.raises(st.EmulatorError, match="Unable to parse range"):
        edit_cell(state_dir, SID, "'ไม่มี'!A1", "x")


def test_load_day_picks_latest_file_on_or_before_day(tmp_path: Path) -> None:
    demo = tmp_path / "demo"
    for day, sid, value in [
        ("2018-01-03", "1a", "first"),
        ("2018-01-03", "1b", "first"),
        ("2018-01-04", "1a", "second"),
        ("2018-01-06", "1a", "third"),
        ("2018-01-06", "1c", "new"),
    ]:
        folder = demo / "days" / day
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"{sid}.json").write_text(json.dumps(make_doc(sid, [[value]])), "utf-8")
    target = tmp_path / "state"
    write_doc(target, make_doc("1stray"))

    def cell(sid: str) -> Any:
        return json.loads((target / "spreadsheets" / f"{sid}.json").read_text())["sheets"][0][
            "rows"
        ][0][0]

    assert load_day(target, demo, date(2018, 1, 5)) == 2
    assert (cell("1a"), cell("1b")) == ("second", "first")
    assert sorted(p.stem for p in (target / "spreadsheets").glob("*.json")) == ["1a", "1b"]
    assert load_day(target, demo, date(2018, 1, 6)) == 3
    assert (cell("1a"), cell("1c")) == ("third", "new")
    with pytest.raises(st.EmulatorError, match="no day on or before"):
        load_day(target, demo, date(2018, 1, 2))


def test_stats_count_by_endpoint(client: gspread.Client, emulator: Emulator) -> None:
    client.http_client.values_batch_get(SID, ["A1"])
    client.http_client.values_batch_get(SID, ["A1"])
    client.list_spreadsheet_files()
    over_http = requests.get(emulator.base_url + "/_emulator/stats", timeout=5).json()
    assert over_http == emulator.stats()
    assert over_http["by_endpoint"] == {"drive.files.list": 1, "values.batchGet": 2}
    assert (over_http["reads"], over_http["writes"], over_http["faulted"]) == (3, 0, 0)


# ---------------------------------------------------------------------------------- helpers


@pytest.mark.parametrize(
    ("text", "sheet", "bounds"),
    [
        (TAB, 0, (0, 0, None, None)),
        (f"'{TAB}'!A1:O", 0, (0, 0, None, 15)),
        (f"{TAB}!A:O", 0, (0, 0, None, 15)),
        ("Sheet 2!A2:C5", 1, (1, 0, 5, 3)),
        ("'It''s'!B3", 2, (2, 1, 3, 2)),
        ("A1:B2", 0, (0, 0, 2, 2)),
        ("'Sheet 2'!2:4", 1, (1, 0, 4, None)),
        ("'Sheet 2'", 1, (0, 0, None, None)),
    ],
)
def test_resolve_range(text: str, sheet: int, bounds: tuple[Any, ...]) -> None:
    doc = make_doc("1x")
    doc["sheets"] += [
        {"sheetId": 5, "title": "Sheet 2", "rows": []},
        {"sheetId": 6, "title": "It's", "rows": []},
    ]
    resolved = st.resolve_range(doc, text)
    found = resolved.bounds
    assert resolved.sheet_index == sheet
    assert (found.start_row, found.start_col, found.end_row, found.end_col) == bounds


def test_quoting_and_value_parsing() -> None:
    assert st.quote_sheet_name("Sheet1") == "Sheet1"
    assert st.quote_sheet_name("It's") == "'It''s'"
    assert st.quote_sheet_name(TAB) == f"'{TAB}'"
    assert st.parse_user_entered("245") == 245
    assert st.parse_user_entered("30.5") == 30.5
    assert st.parse_user_entered("=A1") == {"formula": "=A1", "value": None}
    assert st.parse_user_entered("") is None
    assert st.parse_user_entered("3/1/2561") == "3/1/2561"
    assert st.parse_user_entered("'0123") == "0123"
    assert st.format_number(1290, "#,##0") == "1,290"
    assert st.format_number(0.125, "0.00%") == "12.50%"
    assert st.format_date(43103, "dd/mm/yyyy") == "03/01/2018"
    assert st.format_date(43103, "yyyy-mm-dd") == "2018-01-03"


def test_flaky_mode_answers_a_share_of_requests_with_429_or_5xx(tmp_path: Path) -> None:
    from schoolnet.devtools.emulator import set_flaky

    state = tmp_path / "state"
    folder = state / "spreadsheets"
    folder.mkdir(parents=True)
    doc = {
        "spreadsheetId": "f" * 44,
        "title": "t",
        "sheets": [{"title": "โรงเรียน", "rows": [["a"]]}],
    }
    (folder / f"{'f' * 44}.json").write_text(json.dumps(doc, ensure_ascii=False), "utf-8")
    set_flaky(state, 0.5, (429, 503))
    with Emulator(state, read_quota_per_minute=0) as emu:
        session = EmulatorSession(emu.base_url)
        url = f"https://sheets.googleapis.com/v4/spreadsheets/{'f' * 44}/values/A1"
        codes = [session.get(url, timeout=5).status_code for _ in range(200)]
    assert set(codes) == {200, 429, 503}
    assert 60 <= codes.count(200) <= 140  # about half
    set_flaky(state, 0)
    with Emulator(state, read_quota_per_minute=0) as emu:
        session = EmulatorSession(emu.base_url)
        url = f"https://sheets.googleapis.com/v4/spreadsheets/{'f' * 44}/values/A1"
        assert {session.get(url, timeout=5).status_code for _ in range(20)} == {200}
