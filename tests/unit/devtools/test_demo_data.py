"""The national demo data set: shape, determinism, day-by-day evolution and the messy truth."""

from __future__ import annotations

import argparse
import csv
import json
import re
import statistics
from collections import Counter
from datetime import UTC, date, datetime, timedelta
from itertools import pairwise
from pathlib import Path
from typing import Any

import pytest

from schoolnet.cli.demo_data import register
from schoolnet.contract import Column, load_contract
from schoolnet.core.registry import read_esas, read_schools
from schoolnet.devtools.demo.generate import DemoManifest, expected_counts, generate, read_manifest
from schoolnet.devtools.demo.state import LOSSES, RECONNECTED_NOTE

LOSS_NOTES = {note for _, _, note in LOSSES}

SMALL = 6  # Bangkok's primary and two secondary offices, then สมุทรปราการ: both levels
DAYS = 4
SERIAL_EPOCH = date(1899, 12, 30)
THAI_DIGIT = re.compile("[๐-๙]")
# What each mistake kind must produce (docs/demo-data.md), restated here as the test oracle.
EXPECTED = {
    "thai_digits": (None, None),
    "be_date": (None, None),
    "thai_provider": (None, None),
    "title_row": (None, None),
    "blank_required": ("missing_value", "error"),
    "duplicate_identical": ("duplicate_identical", "warning"),
    "duplicate_conflict": ("duplicate_conflict", "error"),
    "negative_count": ("negative_value", "error"),
    "other_esa_code": ("school_of_other_esa", "error"),
}


@pytest.fixture(scope="module")
def clean(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("clean")
    generate(out, days=DAYS, esa_limit=SMALL)
    return out


@pytest.fixture(scope="module")
def messy(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("messy")
    generate(out, days=DAYS, esa_limit=SMALL, messy_rate=0.2)
    return out


def _files(root: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()
    }


def _state(out: Path, day: date) -> dict[str, dict[str, str]]:
    path = out / "state" / f"{day.isoformat()}.csv"
    with path.open(encoding="utf-8", newline="") as handle:
        return {row["school_code"]: row for row in csv.DictReader(handle)}


def _sheet_at(out: Path, spreadsheet_id: str, day: date) -> dict[str, Any]:
    """The spreadsheet as the Drive folder holds it on `day`: its latest file dated <= day."""
    found = None
    for folder in sorted((out / "days").iterdir()):
        if date.fromisoformat(folder.name) <= day and (folder / f"{spreadsheet_id}.json").exists():
            found = folder / f"{spreadsheet_id}.json"
    assert found is not None
    data: dict[str, Any] = json.loads(found.read_text(encoding="utf-8"))
    return data


def _enum_lookup() -> dict[str, dict[str, str]]:
    """Enum key or Thai label (what a careful clerk types) to the key."""
    contract = load_contract()
    return {
        name: {s.casefold(): v.key for v in values for s in (v.key, v.label)}
        for name, values in contract.enums.items()
    }


def _normalize(column: Column, cell: Any, enums: dict[str, dict[str, str]]) -> str:
    """Read one clean cell back to the value `state/<day>.csv` holds."""
    if cell is None or cell == "":
        return ""
    if column.type == "date":
        assert set(cell) == {"serial", "format"}
        return (SERIAL_EPOCH + timedelta(days=cell["serial"])).isoformat()
    if column.type in ("integer", "number"):
        assert isinstance(cell, int) and not isinstance(cell, bool)
        return str(cell)
    assert isinstance(cell, str)
    if column.type == "enum":
        assert column.enum is not None
        return enums[column.enum][cell.casefold()]
    if column.type == "enum_list":
        assert column.enum is not None
        return ",".join(enums[column.enum][part.casefold()] for part in cell.split(", "))
    return cell


def _records(sheet: dict[str, Any]) -> list[dict[str, str]]:
    """A clean sheet's data rows as normalized records (header in the first row)."""
    contract = load_contract()
    enums = _enum_lookup()
    rows = sheet["sheets"][0]["rows"]
    by_header = {column.header: column for column in contract.columns}
    columns = [by_header[header] for header in rows[0]]
    records = []
    for row in rows[1:]:
        cells = row + [None] * (len(columns) - len(row))
        records.append(
            {c.key: _normalize(c, cell, enums) for c, cell in zip(columns, cells, strict=True)}
        )
    return records


def _cell(rows: list[list[Any]], address: str) -> Any:
    match = re.fullmatch(r"([A-Z]+)(\d+)", address)
    assert match is not None
    index = 0
    for letter in match.group(1):
        index = index * 26 + ord(letter) - 64
    row = rows[int(match.group(2)) - 1]
    return row[index - 1] if index - 1 < len(row) else None


def test_same_seed_gives_identical_files(tmp_path: Path) -> None:
    first, second, other = tmp_path / "a", tmp_path / "b", tmp_path / "c"
    generate(first, days=3, esa_limit=3, messy_rate=0.3)
    generate(second, days=3, esa_limit=3, messy_rate=0.3)
    generate(other, seed=7, days=3, esa_limit=3, messy_rate=0.3)
    assert _files(first) == _files(second)
    assert _files(first)["esas.csv"] != _files(other)["esas.csv"]


def test_layout_and_manifest(clean: Path) -> None:
    manifest = read_manifest(clean)
    assert manifest == DemoManifest(
        seed=2018,
        start=date(2018, 1, 3),
        days=tuple(date(2018, 1, 3) + timedelta(days=i) for i in range(DAYS)),
        folder_id=manifest.folder_id,
        messy_rate=0.0,
        esa_count=SMALL,
        school_count=len(read_schools(clean / "schools.csv")),
    )
    assert re.fullmatch(r"1[A-Za-z0-9_-]{20,}", manifest.folder_id)
    assert sorted(p.name for p in (clean / "days").iterdir()) == [
        d.isoformat() for d in manifest.days
    ]
    assert sorted(p.name for p in (clean / "state").iterdir()) == [
        f"{d.isoformat()}.csv" for d in manifest.days
    ]
    assert not (clean / "truth").exists()
    esas = read_esas(clean / "esas.csv")
    first_day = clean / "days" / manifest.days[0].isoformat()
    assert sorted(p.name for p in first_day.iterdir()) == sorted(
        f"{e.spreadsheet_id}.json" for e in esas
    )
    raw = (first_day / f"{esas[0].spreadsheet_id}.json").read_text(encoding="utf-8")
    assert ", " not in raw.split('"rows"')[0] and "\\u0e" not in raw  # compact, Thai as is


def test_registries_are_in_the_contracts_shape(clean: Path) -> None:
    contract = load_contract()
    with (clean / "esas.csv").open(encoding="utf-8") as handle:
        assert tuple(next(csv.reader(handle))) == contract.esa_registry_columns
    with (clean / "schools.csv").open(encoding="utf-8") as handle:
        assert tuple(next(csv.reader(handle))) == contract.school_registry_columns
    esas = read_esas(clean / "esas.csv")
    assert {e.level for e in esas} == {"primary", "secondary"}
    assert [e.esa_name for e in esas[:3]] == [
        "สพป.กรุงเทพมหานคร",
        "สพม.กรุงเทพมหานคร เขต 1",
        "สพม.กรุงเทพมหานคร เขต 2",
    ]
    for esa in esas:
        assert re.fullmatch(r"10\d{4}", esa.esa_code)
        zone = int(esa.esa_code[4:])
        assert 1 <= zone <= 9 if esa.level == "primary" else 90 <= zone <= 99
        assert re.fullmatch(r"1[A-Za-z0-9_-]{43}", esa.spreadsheet_id)
        assert re.fullmatch(r"it@[a-z0-9-]+\.obec\.go\.th", esa.contact_email)
    assert esas[3].esa_code == "101101" and esas[3].esa_name == "สพป.สมุทรปราการ เขต 1"
    schools = read_schools(clean / "schools.csv")
    codes = [s.school_code for s in schools]
    assert len(codes) == len(set(codes))
    for school in schools:
        assert re.fullmatch(r"10\d{8}", school.school_code)
        assert school.school_code.startswith(school.esa_code)
        assert school.students > 0
    for esa in esas:
        mine = [s for s in schools if s.esa_code == esa.esa_code]
        low, high = (100, 200) if esa.level == "primary" else (30, 60)
        assert low <= len(mine) <= high
        assert len({s.school_name for s in mine}) == len(mine)


def test_first_day_sheets_hold_the_true_state(clean: Path) -> None:
    contract = load_contract()
    manifest = read_manifest(clean)
    state = _state(clean, manifest.start)
    schools = read_schools(clean / "schools.csv")
    assert list(next(iter(state.values()))) == list(contract.keys)
    for esa in read_esas(clean / "esas.csv"):
        sheet = _sheet_at(clean, esa.spreadsheet_id, manifest.start)
        assert sheet["spreadsheetId"] == esa.spreadsheet_id
        assert sheet["title"] == f"ข้อมูลอินเทอร์เน็ตโรงเรียน {esa.esa_name}"
        assert sheet["parents"] == [manifest.folder_id]
        assert sheet["sheets"][0]["title"] == contract.data_tab
        header = sheet["sheets"][0]["rows"][0]
        assert sorted(header) == sorted(contract.headers)
        for row in sheet["sheets"][0]["rows"][1:]:
            assert isinstance(row[[c.key for c in contract.columns].index("school_code")], str)
        records = _records(sheet)
        mine = [s.school_code for s in schools if s.esa_code == esa.esa_code]
        assert [r["school_code"] for r in records] == mine
        assert records == [state[code] for code in mine]


def test_connected_grows_day_by_day(clean: Path) -> None:
    manifest = read_manifest(clean)
    counts = [expected_counts(clean, day) for day in manifest.days]
    assert {c["schools"] for c in counts} == {manifest.school_count}
    connected = [c["connected"] for c in counts]
    assert connected == sorted(connected) and connected[-1] > connected[0]
    previous = _state(clean, manifest.days[0])
    order = ["no_provider", "not_connected", "procuring", "connected"]
    for day in manifest.days[1:]:
        today = _state(clean, day)
        for code, row in today.items():  # at most one step forward a day, or a lost connection
            if previous[code]["status"] == "connected" and row["status"] != "connected":
                assert row["note"] in LOSS_NOTES, (code, day, row)
                continue
            step = order.index(row["status"]) - order.index(previous[code]["status"])
            assert (
                step in (0, 1)
                or (step == 2 and previous[code]["status"] == "no_provider")
                or (step == 2 and row["note"] == RECONNECTED_NOTE)
            ), (code, day, row)
            if row["service_start"]:
                assert date.fromisoformat(row["service_start"]) < day
        previous = today


@pytest.fixture(scope="module")
def weeks(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Enough schools and days for connections to be lost and regained."""
    out = tmp_path_factory.mktemp("demo-weeks")
    generate(out, days=10, esa_limit=40)
    return out


def test_some_connected_schools_lose_their_connection_with_a_note(weeks: Path) -> None:
    manifest = read_manifest(weeks)
    esas = {esa.esa_code: esa for esa in read_esas(weeks / "esas.csv")}
    connection = ("link_type", "download_mbps", "monthly_fee_thb", "funding_source")
    lost: dict[str, str] = {}  # school code -> the provider it lost
    losses = regained = 0
    for before, day in pairwise(manifest.days):
        old, new = _state(weeks, before), _state(weeks, day)
        for code, row in new.items():
            if old[code]["status"] == "connected" and row["status"] != "connected":
                losses += 1
                lost[code] = old[code]["isp"]
                assert row["note"] in LOSS_NOTES
                assert not any(row[key] for key in connection)
                # Renewing a contract is procuring from the same provider; otherwise none.
                assert (row["status"], row["isp"]) in (
                    ("procuring", lost[code]),
                    ("not_connected", ""),
                )
                # The clerk typed it: the sheet of that morning says so.
                sheet = _sheet_at(weeks, esas[code[:6]].spreadsheet_id, day)
                typed = next(r for r in _records(sheet) if r["school_code"] == code)
                assert typed == row
            elif code in lost and row["status"] == "connected":
                regained += 1
                assert row["note"] == RECONNECTED_NOTE and row["isp"] == lost.pop(code)
                assert date.fromisoformat(row["service_start"]) < day
    # About 0.12% of connected schools a day: a few dozen here, and some get it back.
    assert 10 <= losses <= 120 and regained >= 1, (losses, regained)
    connected = [expected_counts(weeks, day)["connected"] for day in manifest.days]
    assert connected[-1] > connected[0]  # the losses never hide the progress


def test_later_days_hold_only_changed_sheets(clean: Path) -> None:
    manifest = read_manifest(clean)
    esas = read_esas(clean / "esas.csv")
    later = 0
    for before, day in pairwise(manifest.days):
        old, new = _state(clean, before), _state(clean, day)
        folder = clean / "days" / day.isoformat()
        present = {p.stem for p in folder.iterdir()}
        for esa in esas:
            changed = any(new[code] != old[code] for code in new if code.startswith(esa.esa_code))
            assert (esa.spreadsheet_id in present) == changed, (day, esa.esa_code)
            if changed:
                sheet = _sheet_at(clean, esa.spreadsheet_id, day)
                assert sheet != _sheet_at(clean, esa.spreadsheet_id, before)
                modified = datetime.strptime(sheet["modifiedTime"], "%Y-%m-%dT%H:%M:%S.000%z")
                edit_day = datetime.combine(day - timedelta(days=1), datetime.min.time(), UTC)
                # Bangkok office hours of the day before (UTC+7): 01:30-09:30 UTC.
                assert edit_day + timedelta(hours=1.5) <= modified
                assert modified < edit_day + timedelta(hours=9.5)
        later += len(present)
    assert 0 < later < len(esas) * (len(manifest.days) - 1)


def test_messy_truth_points_at_the_injected_cells(messy: Path, clean: Path) -> None:
    manifest = read_manifest(messy)
    assert manifest.messy_rate == 0.2
    schools = {s.school_code: s for s in read_schools(messy / "schools.csv")}
    seen: Counter[str] = Counter()
    for day in manifest.days:
        # The true state is what the clerk meant: mistakes never change it.
        assert (messy / "state" / f"{day}.csv").read_bytes() == (
            clean / "state" / f"{day}.csv"
        ).read_bytes()
        truth = json.loads((messy / "truth" / f"{day}.json").read_text(encoding="utf-8"))
        assert truth
        for entry in truth:
            seen[entry["kind"]] += 1
            assert (entry["expected_code"], entry["expected_severity"]) == EXPECTED[entry["kind"]]
            rows = _sheet_at(messy, entry["spreadsheet_id"], day)["sheets"][0]["rows"]
            if entry["kind"] == "title_row":
                assert entry["row"] is None and entry["cell"] is None
                assert rows[0] == [entry["value"]]
                assert sorted(rows[1]) == sorted(load_contract().headers)
                continue
            cell = _cell(rows, entry["cell"])
            assert entry["cell"].endswith(str(entry["row"]))
            assert ("" if cell is None else str(cell)) == entry["value"], entry
            value = entry["value"]
            if entry["kind"] == "thai_digits":
                assert THAI_DIGIT.search(value)
            elif entry["kind"] == "be_date":
                assert re.search(r"25\d\d$|\s6\d$", value)
            elif entry["kind"] == "negative_count":
                assert int(value) < 0
            elif entry["kind"] == "blank_required":
                assert value == ""
            elif entry["kind"] == "other_esa_code":
                assert schools[value].esa_code != entry["esa_code"]
            elif entry["kind"].startswith("duplicate"):
                assert schools[value].esa_code == entry["esa_code"]
                copies = [r for r in rows if value in r]
                assert len(copies) >= 2
                if entry["kind"] == "duplicate_identical":
                    assert rows[entry["row"] - 1] in rows[: entry["row"] - 1]
    assert set(seen) == set(EXPECTED), seen


def test_messy_mistakes_come_and_go(messy: Path) -> None:
    manifest = read_manifest(messy)

    def spots(day: date) -> set[tuple[str, str, str]]:
        truth = json.loads((messy / "truth" / f"{day}.json").read_text(encoding="utf-8"))
        return {(e["spreadsheet_id"], e["kind"], e["value"]) for e in truth}

    first, last = spots(manifest.days[0]), spots(manifest.days[-1])
    assert first - last and last - first


def test_expected_counts(clean: Path) -> None:
    manifest = read_manifest(clean)
    day = manifest.days[1]
    statuses = Counter(row["status"] for row in _state(clean, day).values())
    counts = expected_counts(clean, day)
    assert counts == {
        "schools": manifest.school_count,
        "connected": statuses["connected"],
        "procuring": statuses["procuring"],
        "not_connected": statuses["not_connected"],
        "no_provider": statuses["no_provider"],
    }


def test_cli_writes_and_replaces(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    parser = argparse.ArgumentParser()
    register(parser.add_subparsers())
    out = tmp_path / "demo"
    args = parser.parse_args(["demo-data", "--out", str(out), "--esas", "2", "--days", "3"])
    assert args.handler(args) == 0
    line = capsys.readouterr().out
    assert line.count("\n") == 1 and "2 ESAs" in line
    args = parser.parse_args(
        ["demo-data", "--out", str(out), "--esas", "3", "--days", "2", "--messy", "0.1",
         "--start", "2018-01-08", "--seed", "5"]
    )  # fmt: skip
    assert args.handler(args) == 0
    manifest = read_manifest(out)
    assert (manifest.seed, manifest.esa_count, manifest.messy_rate) == (5, 3, 0.1)
    assert sorted(p.name for p in (out / "days").iterdir()) == ["2018-01-08", "2018-01-09"]
    assert len(list((out / "state").iterdir())) == 2
    with pytest.raises(SystemExit):
        parser.parse_args(["demo-data", "--out", str(out), "--messy", "1.5"])


def test_national_shape(tmp_path: Path) -> None:
    manifest = generate(tmp_path, days=1)
    esas = read_esas(tmp_path / "esas.csv")
    schools = read_schools(tmp_path / "schools.csv")
    assert 240 <= manifest.esa_count == len(esas) <= 250
    assert 27_000 <= manifest.school_count == len(schools) <= 31_000
    assert len({s.province for s in schools}) == 77
    level = {e.esa_code: e.level for e in esas}
    assert 55 <= sum(lv == "secondary" for lv in level.values()) <= 70
    primary = [s.students for s in schools if level[s.esa_code] == "primary"]
    secondary = [s.students for s in schools if level[s.esa_code] == "secondary"]
    assert 0.35 <= sum(n < 120 for n in primary) / len(primary) <= 0.65
    assert 0 < sum(n > 1500 for n in primary) < 0.01 * len(primary)
    assert 350 <= statistics.median(secondary) <= 700
    assert "สพม.ลำปาง ลำพูน" in {e.esa_name for e in esas}
    assert {"105201", "105202", "105290"} <= set(level)
    counts = expected_counts(tmp_path, manifest.start)
    shares = {k: v / counts["schools"] for k, v in counts.items() if k != "schools"}
    assert 0.50 <= shares["connected"] <= 0.60 and 0.02 <= shares["no_provider"] <= 0.08
    state = _state(tmp_path, manifest.start)
    isps = Counter(row["isp"] for row in state.values() if row["isp"])
    assert isps.most_common(1)[0][0] == "TOT"


def test_implausible_edits_are_in_the_truth_and_leave_the_true_state(
    tmp_path: Path, messy: Path
) -> None:
    out = tmp_path / "slips"
    manifest = generate(out, days=DAYS, esa_limit=SMALL, messy_rate=0.2, implausible_rate=1.0)
    assert read_manifest(out).implausible_rate == 1.0
    # What the clerk meant is the same: a slip is only what was typed.
    for day in manifest.days:
        name = f"{day.isoformat()}.csv"
        assert (out / "state" / name).read_bytes() == (messy / "state" / name).read_bytes()
    kinds = {"students_times_ten", "students_dropped_digit", "fee_times_ten", "dsl_kbps"}
    slips = [
        (day, entry)
        for day in manifest.days
        for entry in json.loads((out / "truth" / f"{day.isoformat()}.json").read_text())
        if entry["kind"] in kinds
    ]
    assert not [entry for day, entry in slips if day == manifest.days[0]]  # days after the first
    assert {entry["kind"] for _, entry in slips} == kinds
    for _, entry in slips:
        assert entry["row"] and entry["cell"] and entry["value"]
        assert entry["expected_code"] in (None, "implausible_change", "speed_beyond_link_type")
        if entry["kind"] == "dsl_kbps":
            assert entry["value"] == "512"
