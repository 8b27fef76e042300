"""Sheet provisioning with the real gspread client against the local Sheets emulator."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import gspread
import pytest

from schoolnet.cli.main import main
from schoolnet.contract import load_contract
from schoolnet.core.config import GoogleSettings
from schoolnet.core.registry import Esa, School, write_csv
from schoolnet.devtools.emulator import Emulator
from schoolnet.ingestion.google import EmulatorSession
from schoolnet.ingestion.ingest import VALUE_PARAMS, SheetsReader
from schoolnet.operations.provision import (
    HEADER_PROTECTION_DESCRIPTION,
    INSTRUCTIONS_TAB,
    ProvisionError,
    input_hint,
    provision_sheet,
)
from schoolnet.orchestration.handoffs import RegistryEntry
from schoolnet.orchestration.provision_tasks import requested_codes, select_esas

CONTRACT = load_contract()
TAB = CONTRACT.data_tab
HEADERS = list(CONTRACT.headers)
SID = "1" + "p" * 43
ESA = Esa("105201", "สพป.ลำปาง เขต 1", "primary", "ลำปาง", SID, "it@lampang1.obec.go.th")
SCHOOLS = [
    School("1052010001", "บ้านหนองบัว", "105201", "ลำปาง", 245),
    School("1052010002", "วัดศรีดอนชัย", "105201", "ลำปาง", 120),
    School("1052010003", "บ้านแม่ทะ", "105201", "ลำปาง", 80),
    School("1052010004", "บ้านทุ่งฝาย", "105201", "ลำปาง", 61),
    School("1050010001", "อนุบาลเมืองน่าน", "105001", "น่าน", 300),  # another ESA
]
OURS = [s for s in SCHOOLS if s.esa_code == ESA.esa_code]


def write_doc(state: Path, sheets: list[dict[str, Any]], sid: str = SID) -> Path:
    path = state / "spreadsheets" / f"{sid}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    doc = {
        "spreadsheetId": sid,
        "title": "ข้อมูลอินเทอร์เน็ตโรงเรียน สพป.ลำปาง เขต 1",
        "parents": ["folder"],
        "createdTime": "2017-12-28T03:00:00.000Z",
        "modifiedTime": "2018-01-02T08:15:00.000Z",
        "sheets": sheets,
    }
    path.write_text(json.dumps(doc, ensure_ascii=False), "utf-8")
    return path


def on_disk(state: Path, sid: str = SID) -> dict[str, Any]:
    doc: dict[str, Any] = json.loads((state / "spreadsheets" / f"{sid}.json").read_text("utf-8"))
    return doc


@pytest.fixture
def state(tmp_path: Path) -> Path:
    return tmp_path / "state"


@pytest.fixture
def emulator(state: Path) -> Iterator[Emulator]:
    state.mkdir(parents=True, exist_ok=True)
    with Emulator(state, read_quota_per_minute=0, write_quota_per_minute=0) as running:
        yield running


@pytest.fixture
def reader(emulator: Emulator) -> SheetsReader:
    settings = GoogleSettings(
        request_timeout_seconds=5.0,
        max_attempts=2,
        backoff_base_seconds=0.01,
        backoff_max_seconds=0.02,
    )
    return SheetsReader(EmulatorSession(emulator.base_url), settings, service_account="sa@x.iam")


def values_of(reader: SheetsReader, tab: str, sid: str = SID) -> list[list[Any]]:
    response = reader.client.http_client.values_batch_get(
        sid, ["'" + tab + "'"], params=dict(VALUE_PARAMS)
    )
    values: list[list[Any]] = response["valueRanges"][0].get("values", [])
    return values


def tab_titles(reader: SheetsReader, sid: str = SID) -> list[str]:
    meta = reader.client.http_client.fetch_sheet_metadata(sid)
    return [sheet["properties"]["title"] for sheet in meta["sheets"]]


def recorded(state: Path, kind: str, sid: str = SID) -> list[dict[str, Any]]:
    return [r[kind] for r in on_disk(state, sid).get("recordedRequests", []) if kind in r]


def position(key: str) -> int:
    return CONTRACT.keys.index(key)


# ------------------------------------------------------------------------------- a new sheet


def test_an_empty_spreadsheet_gets_the_whole_template_and_its_schools(
    state: Path, reader: SheetsReader
) -> None:
    write_doc(state, [{"sheetId": 0, "title": "Sheet1", "rows": []}])

    report = provision_sheet(reader, ESA, SCHOOLS, CONTRACT)

    assert tab_titles(reader) == [TAB, INSTRUCTIONS_TAB]
    assert report.tab_renamed == "Sheet1" and report.tabs_added == (INSTRUCTIONS_TAB,)
    # Header in contract order, then one row per registry school of this ESA only, codes as text.
    assert values_of(reader, TAB) == [HEADERS, *[[s.school_code, s.school_name] for s in OURS]]
    assert report.schools_added == tuple(s.school_code for s in OURS)
    meta = reader.client.http_client.fetch_sheet_metadata(SID)
    assert meta["sheets"][0]["properties"]["gridProperties"]["frozenRowCount"] == 1

    # A dropdown of the Thai labels under every enum column, never strict, not under the list.
    dropdowns = {v["range"]["startColumnIndex"]: v for v in recorded(state, "setDataValidation")}
    enum_columns = [c for c in CONTRACT.columns if c.type == "enum"]
    assert sorted(dropdowns) == [position(c.key) for c in enum_columns]
    assert position("providers_contacted") not in dropdowns
    for column in enum_columns:
        rule = dropdowns[position(column.key)]["rule"]
        assert rule["condition"]["type"] == "ONE_OF_LIST"
        labels = [v["userEnteredValue"] for v in rule["condition"]["values"]]
        assert labels == [v.label for v in CONTRACT.enums[column.enum or ""]]
        assert rule["strict"] is False
        assert dropdowns[position(column.key)]["range"]["startRowIndex"] == 1

    formats = {
        r["range"]["startColumnIndex"]: r["cell"]["userEnteredFormat"]["numberFormat"]
        for r in recorded(state, "repeatCell")
    }
    assert formats[position("school_code")]["type"] == "TEXT"
    assert formats[position("students")] == {"type": "NUMBER", "pattern": "0"}
    assert formats[position("monthly_fee_thb")]["pattern"] == "#,##0.00"
    assert formats[position("download_mbps")]["type"] == "NUMBER"
    assert formats[position("service_start")] == {"type": "DATE", "pattern": "d/m/yyyy"}

    (protected,) = recorded(state, "addProtectedRange")
    assert protected["protectedRange"]["warningOnly"] is True
    assert protected["protectedRange"]["description"] == HEADER_PROTECTION_DESCRIPTION
    area = protected["protectedRange"]["range"]
    assert (area["sheetId"], area["startRowIndex"], area["endRowIndex"]) == (0, 0, 1)
    assert area["endColumnIndex"] == len(HEADERS)


def test_the_instructions_tab_has_one_thai_line_per_column_from_the_contract(
    state: Path, emulator: Emulator, reader: SheetsReader
) -> None:
    write_doc(state, [{"sheetId": 0, "title": TAB, "rows": []}])
    bare = gspread.Client(None, session=EmulatorSession(emulator.base_url))  # type: ignore[arg-type]  # gspread types auth as Credentials; the session given already authorises (the emulator needs none)
    assert provision_sheet(bare, ESA, SCHOOLS, CONTRACT).instructions_written  # no retries

    lines = {row[1]: row for row in values_of(reader, INSTRUCTIONS_TAB) if len(row) > 1}
    for column in CONTRACT.columns:
        line = lines[column.header]
        assert line[3] == input_hint(column, CONTRACT)
        if column.rule("hint"):
            assert line[3] == column.rule("hint")
        if column.enum:
            assert line[4] == ", ".join(v.label for v in CONTRACT.enums[column.enum])
    # Required-or-when, worded with the Thai labels a clerk sees, not the keys.
    assert lines["ผู้ให้บริการ"][2] != lines["หมายเหตุ"][2] != lines["รหัสโรงเรียน"][2]
    assert "เชื่อมต่อแล้ว" in lines["ผู้ให้บริการ"][2] and "connected" not in lines["ผู้ให้บริการ"][2]
    assert "งบที่ขอสนับสนุน" in lines["เหตุผลความจำเป็น"][2]


def test_provisioning_twice_changes_nothing_the_second_time(
    state: Path, emulator: Emulator, reader: SheetsReader
) -> None:
    write_doc(state, [{"sheetId": 0, "title": "Sheet1", "rows": []}])
    assert provision_sheet(reader, ESA, SCHOOLS, CONTRACT).changed
    before = (state / "spreadsheets" / f"{SID}.json").read_bytes()
    emulator.reset()

    again = provision_sheet(reader, ESA, SCHOOLS, CONTRACT)

    assert not again.changed and not again.needs_attention
    assert "nothing changed" in again.summary()
    assert emulator.stats()["writes"] == 0 and emulator.stats()["reads"] == 2
    assert (state / "spreadsheets" / f"{SID}.json").read_bytes() == before


# ------------------------------------------------------------------------------ a repair


TYPED_ROWS: list[list[Any]] = [
    [*HEADERS, "ผู้ประสานงาน"],  # a column of the ESA's own after the template's
    [1052010001, "โรงเรียนบ้านหนองบัว", 245, "เชื่อมต่อแล้ว", "ทรู", "fiber", 30, None,
     {"number": 1290, "format": "#,##0"}, "รายหัว", 0, None, None,
     {"serial": 43103, "format": "d/m/yyyy"}, "=A2", "ครูสมชาย"],
    [],
    ["๑๐๕๒๐๑๐๐๐๒", "วัดศรีดอนชัย", "๑๒๐", "ยังไม่เชื่อมต่อ"],
    ["9999999999", "โรงเรียนที่ไม่มีในทะเบียน", 10],
    [None, None, 33, "online"],  # data without a school code
]  # fmt: skip


def test_a_repair_keeps_every_typed_cell_and_appends_only_missing_schools(
    state: Path, emulator: Emulator, reader: SheetsReader
) -> None:
    grid = {"rowCount": len(TYPED_ROWS), "columnCount": 20}  # no room for more rows
    write_doc(state, [{"sheetId": 0, "title": TAB, "rows": TYPED_ROWS, "gridProperties": grid}])
    typed_before = values_of(reader, TAB)

    report = provision_sheet(reader, ESA, SCHOOLS, CONTRACT)

    after = values_of(reader, TAB)
    assert after[: len(TYPED_ROWS)] == typed_before  # every typed cell as it was
    stored = on_disk(state)["sheets"][0]["rows"]
    assert stored[: len(TYPED_ROWS)] == [row or [] for row in TYPED_ROWS]  # formats too
    # Only the two registry schools the sheet lacks, appended below its last row.
    assert after[len(TYPED_ROWS) :] == [
        ["1052010003", "บ้านแม่ทะ"],
        ["1052010004", "บ้านทุ่งฝาย"],
    ]
    assert report.schools_added == ("1052010003", "1052010004")
    assert report.header_cells == () and report.formatted and not report.needs_attention
    assert tab_titles(reader) == [TAB, INSTRUCTIONS_TAB]
    meta = reader.client.http_client.fetch_sheet_metadata(SID)
    assert meta["sheets"][0]["properties"]["gridProperties"]["rowCount"] == len(after)

    emulator.reset()
    again = provision_sheet(reader, ESA, SCHOOLS, CONTRACT)
    assert not again.changed and emulator.stats()["writes"] == 0
    assert len(values_of(reader, TAB)) == len(TYPED_ROWS) + 2


def test_a_broken_header_in_row_1_is_restored_and_unknown_text_reported(
    state: Path, reader: SheetsReader
) -> None:
    header: list[Any] = list(HEADERS)
    header[position("students")] = None  # deleted by a clerk
    header[position("status")] = "status"  # the English key
    header[position("isp")] = "  ผู้ให้บริการ "
    header[position("upload_mbps")] = "ความเร็วอัพโหลด"  # unknown text: not ours to judge
    rows = [header, ["1052010001", "บ้านหนองบัว", 245, "เชื่อมต่อแล้ว", "ทรู"]]
    write_doc(state, [{"sheetId": 0, "title": TAB, "rows": rows}])

    report = provision_sheet(reader, ESA, SCHOOLS[:1], CONTRACT)

    after = values_of(reader, TAB)
    expected = list(HEADERS)
    expected[position("upload_mbps")] = "ความเร็วอัพโหลด"
    assert after[0] == expected
    assert after[1:] == [rows[1]]
    assert report.header_cells == ("C1", "D1", "E1")
    assert not report.blocked and report.needs_attention
    assert "H1" in report.summary() and "ความเร็วอัพโหลด" in report.summary()


def test_a_layout_the_contract_accepts_is_left_as_it_is_and_still_gets_missing_schools(
    state: Path, emulator: Emulator, reader: SheetsReader
) -> None:
    # A title row, then the header with code and name swapped: the pipeline reads it fine.
    header = [HEADERS[1], HEADERS[0], *HEADERS[2:]]
    rows: list[list[Any]] = [
        ["ข้อมูลอินเทอร์เน็ตโรงเรียน สพป.ลำปาง เขต 1"],
        header,
        ["บ้านหนองบัว", "1052010001", 245, "เชื่อมต่อแล้ว"],
        ["วัดศรีดอนชัย", "1052010002", 120],
    ]
    write_doc(state, [{"sheetId": 0, "title": TAB, "rows": rows}])

    report = provision_sheet(reader, ESA, SCHOOLS, CONTRACT)

    stored = on_disk(state)["sheets"][0]["rows"]
    assert stored[: len(rows)] == rows  # not one typed cell moved or changed
    assert values_of(reader, TAB)[len(rows) :] == [
        ["บ้านแม่ทะ", "1052010003"],  # in the sheet's own name and code columns
        ["บ้านทุ่งฝาย", "1052010004"],
    ]
    assert not report.needs_attention and not report.formatted and not report.header_cells
    assert "row 2" in report.summary() and "another order" in report.summary()
    assert recorded(state, "setDataValidation") == [] == recorded(state, "addProtectedRange")
    # The instructions name the sheet's own columns and header row.
    lines = values_of(reader, INSTRUCTIONS_TAB)
    assert "แถวที่ 2" in lines[1][0]
    by_header = {row[1]: row[0] for row in lines if len(row) > 1}
    assert by_header[HEADERS[0]] == "B" and by_header[HEADERS[1]] == "A"

    emulator.reset()
    assert not provision_sheet(reader, ESA, SCHOOLS, CONTRACT).changed
    assert emulator.stats()["writes"] == 0


@pytest.mark.parametrize(
    ("sheets", "words"),
    [
        (  # data in row 1, no header anywhere
            [{"sheetId": 0, "title": TAB, "rows": [["1052010001", "บ้านหนองบัว", 245]]}],
            "no header row",
        ),
        (  # a header in row 1 that is mostly gone, over data
            [{"sheetId": 0, "title": TAB, "rows": [[*HEADERS[:3], "ยอด"], ["1052010001"]]}],
            'D1 "ยอด"',
        ),
        (  # no data tab, and the first tab (which the pipeline reads) holds data
            [{"sheetId": 0, "title": "แผ่นงาน1", "rows": [HEADERS, ["1052010001"]]}],
            "rename it",
        ),
    ],
)
def test_a_sheet_without_a_readable_header_is_reported_and_left_untouched(
    state: Path,
    emulator: Emulator,
    reader: SheetsReader,
    sheets: list[dict[str, Any]],
    words: str,
) -> None:
    path = write_doc(state, sheets)
    before = path.read_bytes()

    report = provision_sheet(reader, ESA, SCHOOLS, CONTRACT)

    assert report.blocked and report.needs_attention and not report.changed
    assert words in report.summary() and "nothing written" in report.summary()
    assert emulator.stats()["writes"] == 0
    assert path.read_bytes() == before


def test_a_deleted_data_tab_is_added_back_before_the_instructions(
    state: Path, reader: SheetsReader
) -> None:
    write_doc(state, [{"sheetId": 0, "title": "Sheet1", "rows": []}])
    provision_sheet(reader, ESA, SCHOOLS, CONTRACT)
    meta = reader.client.http_client.fetch_sheet_metadata(SID)
    data_id = meta["sheets"][0]["properties"]["sheetId"]
    reader.client.http_client.batch_update(
        SID, {"requests": [{"deleteSheet": {"sheetId": data_id}}]}
    )

    report = provision_sheet(reader, ESA, SCHOOLS, CONTRACT)

    assert tab_titles(reader) == [TAB, INSTRUCTIONS_TAB]
    assert report.tabs_added == (TAB,) and report.formatted
    assert len(values_of(reader, TAB)) == 1 + len(OURS)


class ReadOnlySession(EmulatorSession):
    """Stands in for the read-only scopes: any write through it fails the test."""

    def request(self, method: str | bytes, url: str | bytes, *args: Any, **kwargs: Any) -> Any:
        assert str(method).upper() == "GET", f"write through the read-only session: {url!r}"
        return super().request(method, url, *args, **kwargs)


def test_writes_go_through_the_write_session_only(state: Path, emulator: Emulator) -> None:
    write_doc(state, [{"sheetId": 0, "title": "Sheet1", "rows": []}])
    settings = GoogleSettings(5.0, 1, 0.01, 0.02)
    reader = SheetsReader(
        ReadOnlySession(emulator.base_url),
        settings,
        write_session=EmulatorSession(emulator.base_url),
    )
    assert provision_sheet(reader, ESA, SCHOOLS, CONTRACT).schools_added
    missing = Esa("105202", "สพป.ลำปาง เขต 2", "primary", "ลำปาง", "1" + "z" * 43, "a@b.go.th")
    assert provision_sheet(reader, missing, [], CONTRACT, create=True).created_spreadsheet


# ------------------------------------------------------------------- no spreadsheet at all


def test_a_missing_spreadsheet_is_an_error_unless_asked_to_create_one(
    state: Path, emulator: Emulator, reader: SheetsReader
) -> None:
    with pytest.raises(ProvisionError) as caught:
        provision_sheet(reader, ESA, SCHOOLS, CONTRACT)
    assert caught.value.code == "not_found" and caught.value.permanent
    assert "esas.csv" in str(caught.value) and "--create" in str(caught.value)
    assert emulator.stats()["writes"] == 0

    report = provision_sheet(reader, ESA, SCHOOLS, CONTRACT, create=True)

    assert report.created_spreadsheet and report.spreadsheet_id != SID
    new_id = report.spreadsheet_id
    assert new_id in report.summary() and "esas.csv" in report.summary()
    assert tab_titles(reader, new_id) == [TAB, INSTRUCTIONS_TAB]
    assert ESA.esa_name in on_disk(state, new_id)["title"]
    assert values_of(reader, TAB, new_id)[0] == HEADERS
    assert values_of(reader, TAB, new_id)[1:] == [[s.school_code, s.school_name] for s in OURS]

    # Asked again before esas.csv has the new id: the earlier one is used, not a second one.
    again = provision_sheet(reader, ESA, SCHOOLS, CONTRACT, create=True)
    assert again.found_spreadsheet and again.spreadsheet_id == new_id
    assert not again.changed and new_id in again.summary()
    assert len(list((state / "spreadsheets").glob("*.json"))) == 1
    moved = Esa(**{**ESA.__dict__, "spreadsheet_id": new_id})
    assert not provision_sheet(reader, moved, SCHOOLS, CONTRACT, create=True).changed


# --------------------------------------------------------------------------------- the CLI


def test_the_cli_provisions_end_to_end_and_exits_by_outcome(
    tmp_path: Path, state: Path, emulator: Emulator, capsys: pytest.CaptureFixture[str]
) -> None:
    write_doc(state, [{"sheetId": 0, "title": "Sheet1", "rows": []}])
    gone = Esa("105202", "สพป.ลำปาง เขต 2", "primary", "ลำปาง", "1" + "x" * 43, "it@x.go.th")
    registry = tmp_path / "registry"
    write_csv(registry / "esas.csv", [ESA, gone])
    write_csv(registry / "schools.csv", SCHOOLS)
    base = ["sheets", "provision", "--registry-dir", str(registry)]
    base += ["--emulator-url", emulator.base_url]

    assert main([*base, ESA.esa_code]) == 0
    out = capsys.readouterr().out.strip()
    assert out.count("\n") == 0 and f"added {len(OURS)} school row(s)" in out

    assert main([*base, ESA.esa_code]) == 0
    assert "nothing changed" in capsys.readouterr().out

    assert main([*base, gone.esa_code]) == 1
    err = capsys.readouterr().err
    assert "404" in err and "--create" in err

    assert main([*base, gone.esa_code, "--create"]) == 0
    out = capsys.readouterr().out
    created = [
        p.stem
        for p in (state / "spreadsheets").glob("*.json")
        if p.stem not in (SID, gone.spreadsheet_id)
    ]
    assert len(created) == 1 and created[0] in out

    assert main([*base, "999999"]) == 1
    assert "999999" in capsys.readouterr().err


def test_the_cli_exits_2_when_a_person_must_fix_the_sheet(
    tmp_path: Path, state: Path, emulator: Emulator, capsys: pytest.CaptureFixture[str]
) -> None:
    # Columns in another order, and the always-required student count missing.
    header = [h for h in HEADERS if h != "จำนวนนักเรียน"]
    write_doc(state, [{"sheetId": 0, "title": TAB, "rows": [header[::-1]]}])
    esas, schools = tmp_path / "e.csv", tmp_path / "s.csv"
    write_csv(esas, [ESA])
    write_csv(schools, SCHOOLS)
    code = main(
        [
            "sheets",
            "provision",
            ESA.esa_code,
            "--esas",
            str(esas),
            "--schools",
            str(schools),
            "--emulator-url",
            emulator.base_url,
        ]
    )
    assert code == 2
    out = capsys.readouterr().out
    assert "NEEDS ATTENTION" in out and '"จำนวนนักเรียน" is missing' in out
    assert f"added {len(OURS)} school row(s)" in out


# --------------------------------------------------------------------------------- the DAG


def test_the_dags_esa_selection() -> None:
    esas = [ESA, Esa("105202", "สพป.ลำปาง เขต 2", "primary", "ลำปาง", "id2", "a@b.go.th")]
    assert requested_codes([]) == [] and requested_codes(None) == []
    assert requested_codes(["105202, 105201", " 105201 "]) == ["105202", "105201"]
    assert select_esas(esas, []) == esas
    assert select_esas(esas, ["105202"]) == esas[1:]
    with pytest.raises(ValueError, match="999"):
        select_esas(esas, ["999"])


def test_the_dag_task_labels_the_esa_returns_the_report_and_fails_when_a_person_must_act(
    tmp_path: Path,
    state: Path,
    reader: SheetsReader,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from types import SimpleNamespace

    from airflow.sdk.exceptions import AirflowFailException

    import schoolnet.core.config
    from schoolnet.orchestration import airflow_glue, provision_tasks

    write_csv(tmp_path / "schools.csv", SCHOOLS)
    settings = SimpleNamespace(registry=SimpleNamespace(schools=tmp_path / "schools.csv"))
    context: dict[str, Any] = {"params": {"esa_codes": [], "reformat": False}}
    monkeypatch.setattr(schoolnet.core.config, "load_settings", lambda: settings)
    monkeypatch.setattr(provision_tasks, "writing_reader", lambda _settings: reader)
    monkeypatch.setattr(airflow_glue, "current_context", lambda: context)
    write_doc(state, [{"sheetId": 0, "title": TAB, "rows": []}])

    result = provision_tasks.provision_esa(RegistryEntry(esa=ESA))

    assert context["esa_label"] == "105201 สพป.ลำปาง เขต 1"
    assert result["schools_added"] == [s.school_code for s in OURS] and result["changed"]
    json.dumps(result)  # an XCom
    write_doc(state, [{"sheetId": 0, "title": TAB, "rows": [["1052010001", "บ้านหนองบัว"]]}])
    with pytest.raises(AirflowFailException, match="NEEDS ATTENTION"):
        provision_tasks.provision_esa(RegistryEntry(esa=ESA))
    gone = RegistryEntry(esa=replace(ESA, spreadsheet_id="1" + "x" * 43))
    with pytest.raises(AirflowFailException, match="404"):
        provision_tasks.provision_esa(gone)


def test_the_provisioning_dag_is_manual_mapped_per_esa_and_pooled() -> None:
    from airflow.dag_processing.dagbag import DagBag

    from schoolnet.core.paths import dags_dir

    bag = DagBag(
        dag_folder=str(dags_dir() / "schoolnet_provision_sheets.py"),
        known_pools={"default_pool", "google_sheets"},
    )
    assert bag.import_errors == {}
    dag = bag.dags["schoolnet_provision_sheets"]
    assert type(dag.timetable).__name__ == "NullTimetable"  # schedule=None: run by hand only
    assert dag.params["esa_codes"] == []
    task = dag.get_task("provision_sheet")
    assert task.pool == "google_sheets"
    assert task.map_index_template == "{{ esa_label }}"
    assert all((t.retries or 0) >= 1 for t in dag.tasks)
    assert dag.doc_md and "schoolnet_provision_sheets" in dag.doc_md
