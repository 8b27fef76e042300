"""Reading ESA sheets with the real gspread client over HTTP, against the local emulator."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from schoolnet.core.config import GoogleSettings
from schoolnet.devtools.emulator import Emulator, set_fault
from schoolnet.ingestion.google import EmulatorSession
from schoolnet.ingestion.ingest import SheetReadError, SheetsReader

SHEET_ID = "1" + "a" * 43
HEADER = ["รหัสโรงเรียน", "ชื่อโรงเรียน", "จำนวนนักเรียน", "สถานะการเชื่อมต่อ"]


def write_sheet(state: Path, tab: str, rows: list[list[Any]], sheet_id: str = SHEET_ID) -> None:
    folder = state / "spreadsheets"
    folder.mkdir(parents=True, exist_ok=True)
    doc = {
        "spreadsheetId": sheet_id,
        "title": "ข้อมูลอินเทอร์เน็ตโรงเรียน สพป.ทดสอบ เขต 1",
        "parents": ["folder"],
        "createdTime": "2017-12-28T03:00:00.000Z",
        "modifiedTime": "2018-01-02T08:15:00.000Z",
        "sheets": [{"sheetId": 0, "title": tab, "rows": rows}],
    }
    (folder / f"{sheet_id}.json").write_text(json.dumps(doc, ensure_ascii=False), "utf-8")


@pytest.fixture
def emulator(tmp_path: Path) -> Iterator[Emulator]:
    with Emulator(tmp_path / "state", read_quota_per_minute=0) as running:
        yield running


def reader_for(emulator: Emulator, attempts: int = 3, timeout: float = 5.0) -> SheetsReader:
    settings = GoogleSettings(
        request_timeout_seconds=timeout,
        max_attempts=attempts,
        backoff_base_seconds=0.01,
        backoff_max_seconds=0.02,
    )
    return SheetsReader(EmulatorSession(emulator.base_url), settings, service_account="sa@x.iam")


def test_one_call_reads_the_data_tab_with_codes_as_text_and_dates_as_serials(
    tmp_path: Path, emulator: Emulator
) -> None:
    write_sheet(
        tmp_path / "state",
        "โรงเรียน",
        [
            HEADER,
            ["0123456789", "บ้านทดสอบ", 245, "เชื่อมต่อแล้ว", {"serial": 43103, "format": "d/m/yyyy"}],
        ],
    )
    read = reader_for(emulator).read_data_tab(SHEET_ID, "โรงเรียน")
    assert read.api_calls == 1
    assert emulator.stats()["reads"] == 1
    assert read.values[1] == ["0123456789", "บ้านทดสอบ", 245, "เชื่อมต่อแล้ว", 43103]
    assert not read.used_first_tab


def test_missing_data_tab_falls_back_to_the_first_tab(tmp_path: Path, emulator: Emulator) -> None:
    write_sheet(tmp_path / "state", "Sheet1", [HEADER])
    read = reader_for(emulator).read_data_tab(SHEET_ID, "โรงเรียน")
    assert read.used_first_tab and read.tab == "Sheet1"
    assert read.values == [HEADER]
    assert read.api_calls == 3  # failed batchGet, metadata, batchGet of the first tab


@pytest.mark.parametrize(
    ("mode", "code", "calls", "words"),
    [
        ("403", "not_shared", 1, "sa@x.iam"),
        ("404", "not_found", 1, "ไม่พบชีต"),
        ("500", "google_error", 3, "ขัดข้องชั่วคราว"),
    ],
)
def test_faults_become_reasons_and_only_transient_ones_are_retried(
    tmp_path: Path, emulator: Emulator, mode: str, code: str, calls: int, words: str
) -> None:
    write_sheet(tmp_path / "state", "โรงเรียน", [HEADER])
    set_fault(tmp_path / "state", SHEET_ID, mode)
    with pytest.raises(SheetReadError) as raised:
        reader_for(emulator, attempts=3).read_data_tab(SHEET_ID, "โรงเรียน")
    assert raised.value.code == code
    assert raised.value.api_calls == calls
    assert words in raised.value.reason


def test_a_hanging_sheet_times_out(tmp_path: Path, emulator: Emulator) -> None:
    write_sheet(tmp_path / "state", "โรงเรียน", [HEADER])
    set_fault(tmp_path / "state", SHEET_ID, "hang", seconds=30)
    with pytest.raises(SheetReadError) as raised:
        reader_for(emulator, attempts=2, timeout=0.3).read_data_tab(SHEET_ID, "โรงเรียน")
    assert raised.value.code == "timeout"
    assert raised.value.api_calls == 2


def test_quota_429_is_retried_and_then_reported(tmp_path: Path) -> None:
    write_sheet(tmp_path / "state", "โรงเรียน", [HEADER])
    with Emulator(tmp_path / "state", read_quota_per_minute=1) as limited:
        reader = reader_for(limited, attempts=2)
        assert reader.read_data_tab(SHEET_ID, "โรงเรียน").api_calls == 1
        with pytest.raises(SheetReadError) as raised:
            reader.read_data_tab(SHEET_ID, "โรงเรียน")
        assert raised.value.code == "quota"
        assert limited.stats()["throttled"] == 2


class CountingPacer:
    """Records how the reader uses the shared quota hook."""

    def __init__(self) -> None:
        self.slots = 0
        self.penalties: list[float] = []

    def before_request(self) -> None:
        self.slots += 1

    def penalize(self, seconds: float) -> None:
        self.penalties.append(seconds)


def test_every_attempt_waits_for_a_quota_slot_and_a_429_slows_every_worker(
    tmp_path: Path,
) -> None:
    write_sheet(tmp_path / "state", "โรงเรียน", [HEADER])
    with Emulator(tmp_path / "state", read_quota_per_minute=1) as limited:
        pacer = CountingPacer()
        settings = GoogleSettings(
            request_timeout_seconds=5,
            max_attempts=3,
            backoff_base_seconds=0.01,
            backoff_max_seconds=0.02,
        )
        reader = SheetsReader(EmulatorSession(limited.base_url), settings, read_pacer=pacer)
        reader.read_data_tab(SHEET_ID, "โรงเรียน")
        assert (pacer.slots, pacer.penalties) == (1, [])
        with pytest.raises(SheetReadError):
            reader.read_data_tab(SHEET_ID, "โรงเรียน")
        assert pacer.slots == 1 + 3  # each retry waited for its slot too
        assert len(pacer.penalties) == 3 and all(0 < p <= 0.02 for p in pacer.penalties)
