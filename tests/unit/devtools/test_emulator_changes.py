"""Drive's changes feed in the emulator, through Google's own discovery-built client
(google-api-python-client) and through gspread, over HTTP."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import gspread
import httplib2
import pytest
from googleapiclient.discovery import build
from googleapiclient.errors import HttpError

from schoolnet.devtools.emulator import Emulator, edit_cell, set_fault
from schoolnet.devtools.emulator.state import DRIVE_CHANGES
from schoolnet.ingestion.google import EmulatorSession
from tests.unit.devtools.test_emulator import make_doc, write_doc

CHANGES_URL = "https://www.googleapis.com/drive/v3/changes"
WATCHED = (
    "nextPageToken,newStartPageToken,changes(fileId,removed,file(modifiedTime,lastModifyingUser))"
)


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    for n in range(5):
        write_doc(tmp_path, make_doc(f"1sheet{n}"))
    return tmp_path


@pytest.fixture
def emulator(folder: Path) -> Iterator[Emulator]:
    with Emulator(folder, read_quota_per_minute=0, write_quota_per_minute=0) as emu:
        yield emu


@pytest.fixture
def drive(emulator: Emulator) -> Any:
    """Google's Drive v3 client, built from its bundled discovery document, aimed at us."""
    return build(
        "drive",
        "v3",
        http=httplib2.Http(timeout=10),
        client_options={"api_endpoint": f"{emulator.base_url}/drive/v3/"},
        static_discovery=True,
    )


@pytest.fixture
def client(emulator: Emulator) -> gspread.Client:
    return gspread.Client(None, session=EmulatorSession(emulator.base_url))  # type: ignore[arg-type]  # gspread types auth as Credentials; the session given already authorises (the emulator needs none)


def all_changes(drive: Any, token: str, page_size: int = 1000) -> tuple[list[dict[str, Any]], str]:
    """Follow nextPageToken to the end; returns the changes and the newStartPageToken."""
    found: list[dict[str, Any]] = []
    while True:
        page = drive.changes().list(pageToken=token, pageSize=page_size, fields=WATCHED).execute()
        found += page["changes"]
        if "newStartPageToken" in page:
            assert "nextPageToken" not in page
            return found, page["newStartPageToken"]
        token = page["nextPageToken"]


def test_clerk_pipeline_and_removal_changes_with_field_selection(
    drive: Any, client: gspread.Client, folder: Path
) -> None:
    start = drive.changes().getStartPageToken().execute()
    assert start["kind"] == "drive#startPageToken"
    token = start["startPageToken"]
    nothing, same = all_changes(drive, token)
    assert nothing == [] and same == token

    edit_cell(folder, "1sheet1", "A2", "245")  # a clerk types into the sheet
    client.open_by_key("1sheet2").sheet1.update_acell("B1", "ok")  # the pipeline writes
    (folder / "spreadsheets" / "1sheet3.json").unlink()  # the sheet is deleted

    changes, new_token = all_changes(drive, token)
    by_id = {change["fileId"]: change for change in changes}
    assert set(by_id) == {"1sheet1", "1sheet2", "1sheet3"}
    clerk, ours, gone = by_id["1sheet1"], by_id["1sheet2"], by_id["1sheet3"]
    assert clerk["removed"] is False and clerk["file"]["lastModifyingUser"]["me"] is False
    assert set(clerk) == {"fileId", "removed", "file"}  # only the selected fields
    assert set(clerk["file"]) == {"modifiedTime", "lastModifyingUser"}
    assert ours["file"]["lastModifyingUser"]["me"] is True
    assert gone == {"fileId": "1sheet3", "removed": True}
    assert int(new_token) > int(token)

    # Nothing new since: the new token gives an empty last page; the old one still works.
    assert all_changes(drive, new_token) == ([], new_token)
    assert len(all_changes(drive, token)[0]) == 3
    # includeRemoved=false leaves the deletion out.
    kept = drive.changes().list(pageToken=token, includeRemoved=False).execute()["changes"]
    assert {c["fileId"] for c in kept} == {"1sheet1", "1sheet2"}
    # A file edited twice appears once, with its latest state.
    edit_cell(folder, "1sheet1", "A3", "1")
    edit_cell(folder, "1sheet1", "A4", "2")
    again, _ = all_changes(drive, new_token)
    assert [c["fileId"] for c in again] == ["1sheet1"]


def test_pages_next_token_on_full_pages_new_start_token_on_the_last(
    drive: Any, folder: Path
) -> None:
    token = drive.changes().getStartPageToken().execute()["startPageToken"]
    for n in range(5):
        edit_cell(folder, f"1sheet{n}", "A2", str(n))
    first = drive.changes().list(pageToken=token, pageSize=2).execute()
    assert len(first["changes"]) == 2 and "newStartPageToken" not in first
    second = drive.changes().list(pageToken=first["nextPageToken"], pageSize=2).execute()
    third = drive.changes().list(pageToken=second["nextPageToken"], pageSize=2).execute()
    assert len(third["changes"]) == 1 and "nextPageToken" not in third
    seen = [c["fileId"] for page in (first, second, third) for c in page["changes"]]
    assert sorted(seen) == [f"1sheet{n}" for n in range(5)]
    # Default fields: the change and Drive's default file fields.
    change = first["changes"][0]
    assert change["kind"] == "drive#change" and change["changeType"] == "file"
    assert set(change["file"]) == {"kind", "id", "name", "mimeType"}
    assert all_changes(drive, token, page_size=1000)[1] == third["newStartPageToken"]


def test_unshared_sheet_is_removed_and_comes_back_when_shared_again(
    drive: Any, folder: Path
) -> None:
    token = drive.changes().getStartPageToken().execute()["startPageToken"]
    set_fault(folder, "1sheet4", "403")
    lost, token = all_changes(drive, token)
    assert lost == [{"fileId": "1sheet4", "removed": True}]
    set_fault(folder, "1sheet4", None)
    back, _ = all_changes(drive, token)
    assert [(c["fileId"], c["removed"]) for c in back] == [("1sheet4", False)]


def test_bad_requests_fail_like_drive(drive: Any, client: gspread.Client) -> None:
    token = drive.changes().getStartPageToken().execute()["startPageToken"]
    for params in (
        {"pageToken": token, "pageSize": 1001},
        {"pageToken": token, "pageSize": 0},
        {"pageToken": token, "spaces": "nowhere"},
        {"pageToken": "not-a-token"},
        {"pageToken": str(int(token) + 5)},  # from the future
    ):
        with pytest.raises(HttpError) as caught:
            drive.changes().list(**params).execute()
        assert caught.value.resp.status == 400, params
    # pageToken is required (the discovery client checks it itself; gspread does not).
    with pytest.raises(gspread.exceptions.APIError) as missing:
        client.http_client.request("get", CHANGES_URL)
    assert missing.value.code == 400
    # Only appDataFolder: the spreadsheets are not there.
    assert drive.changes().list(pageToken="1", spaces="appDataFolder").execute()["changes"] == []


def test_gspread_reads_the_feed_and_the_token_survives_a_restart(
    folder: Path, emulator: Emulator, client: gspread.Client
) -> None:
    token = client.http_client.request("get", f"{CHANGES_URL}/startPageToken").json()
    edit_cell(folder, "1sheet0", "A2", "x")
    emulator.stop()
    with Emulator(folder, read_quota_per_minute=0) as again:
        session = gspread.Client(None, session=EmulatorSession(again.base_url))  # type: ignore[arg-type]  # gspread types auth as Credentials; the session given already authorises (the emulator needs none)
        params = {"pageToken": token["startPageToken"], "fields": WATCHED}
        page = session.http_client.request("get", CHANGES_URL, params=params).json()
        assert [c["fileId"] for c in page["changes"]] == ["1sheet0"]
        assert again.stats()["by_endpoint"] == {"drive.changes.list": 1}


def test_a_fault_on_the_changes_feed_answers_both_of_its_calls(
    drive: Any, folder: Path, emulator: Emulator
) -> None:
    token = drive.changes().getStartPageToken().execute()["startPageToken"]
    for mode, status in (("403", 403), ("500", 500)):
        set_fault(folder, DRIVE_CHANGES, mode)
        for call in (drive.changes().getStartPageToken(), drive.changes().list(pageToken=token)):
            with pytest.raises(HttpError) as caught:
                call.execute()
            assert caught.value.resp.status == status
        assert drive.files().list().execute()["files"]  # the listing is not the feed
    set_fault(folder, DRIVE_CHANGES, None)
    assert all_changes(drive, token) == ([], token)
    assert emulator.stats()["faulted"] == 4
