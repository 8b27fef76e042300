"""The demo's whole-sheet faults: on the last day one ESA's header is retyped (rejected), one
sheet is emptied (quarantined) and one is no longer shared (403). Each is recorded in the
manifest and the truth exactly as the pipeline must report it, and leaves everything else of the
data set as it was without faults.
"""

from __future__ import annotations

import argparse
import json
from collections import Counter
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from schoolnet.cli.demo_data import register
from schoolnet.core.config import GoogleSettings
from schoolnet.core.registry import read_esas, read_schools, schools_by_code
from schoolnet.devtools.demo import generate
from schoolnet.devtools.demo.generate import DEMO_MESSY_RATE, SHEET_FAULTS, read_manifest
from schoolnet.devtools.emulator import Emulator, load_day
from schoolnet.devtools.emulator.state import Bounds, read_control, read_values
from schoolnet.ingestion.google import EmulatorSession
from schoolnet.ingestion.ingest import SheetReadError, SheetsReader
from schoolnet.validation import SheetValidation, apply_quarantine, validate_sheet

ESAS = 8
DAYS = 3
RATE = 0.08
WHOLE_SHEET = Bounds(0, 0, None, None)


@pytest.fixture(scope="module")
def sets(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """The same data set with and without the whole-sheet faults."""
    faulty = tmp_path_factory.mktemp("faulty")
    plain = tmp_path_factory.mktemp("plain")
    generate(faulty, days=DAYS, esa_limit=ESAS, messy_rate=RATE, sheet_faults=True)
    generate(plain, days=DAYS, esa_limit=ESAS, messy_rate=RATE)
    return faulty, plain


def _sheet_on(out: Path, spreadsheet_id: str, day: date) -> dict[str, Any]:
    chosen = None
    for folder in sorted((out / "days").iterdir()):
        path = folder / f"{spreadsheet_id}.json"
        if date.fromisoformat(folder.name) <= day and path.exists():
            chosen = path
    assert chosen is not None
    doc: dict[str, Any] = json.loads(chosen.read_text(encoding="utf-8"))
    return doc


def _validate(out: Path, esa_code: str, day: date, previous: int | None) -> SheetValidation:
    """The sheet as the morning pull reads it, validated and put through the quarantine."""
    esa = next(e for e in read_esas(out / "esas.csv") if e.esa_code == esa_code)
    schools = schools_by_code(read_schools(out / "schools.csv"))
    sheet = _sheet_on(out, esa.spreadsheet_id, day)["sheets"][0]
    values = read_values(sheet, WHOLE_SHEET, "UNFORMATTED_VALUE", "SERIAL_NUMBER")
    validation = validate_sheet(values, esa_code=esa_code, schools=schools, today=day)
    return apply_quarantine(validation, previous)


def _truth(out: Path, day: date, esa_code: str) -> list[dict[str, Any]]:
    entries = json.loads((out / "truth" / f"{day.isoformat()}.json").read_text(encoding="utf-8"))
    return [e for e in entries if e["esa_code"] == esa_code]


def _key(row: Any, cell: Any, code: Any, severity: Any, value: Any) -> tuple[Any, ...]:
    return (row, cell, code, severity, value or "")


def test_each_fault_is_on_its_own_esa_on_the_last_day(sets: tuple[Path, Path]) -> None:
    faulty, plain = sets
    manifest = read_manifest(faulty)
    assert [f.kind for f in manifest.sheet_faults] == list(SHEET_FAULTS)
    assert {f.day for f in manifest.sheet_faults} == {manifest.days[-1]}
    assert len({f.esa_code for f in manifest.sheet_faults}) == len(SHEET_FAULTS)
    esas = {e.esa_code: e.spreadsheet_id for e in read_esas(faulty / "esas.csv")}
    assert all(esas[f.esa_code] == f.spreadsheet_id for f in manifest.sheet_faults)
    assert read_manifest(plain).sheet_faults == ()


def test_the_faults_are_seeded(sets: tuple[Path, Path], tmp_path: Path) -> None:
    faulty, _ = sets
    again = generate(tmp_path, days=DAYS, esa_limit=ESAS, messy_rate=RATE, sheet_faults=True)
    assert again.sheet_faults == read_manifest(faulty).sheet_faults
    for path in sorted(faulty.rglob("*.json")):
        assert path.read_bytes() == (tmp_path / path.relative_to(faulty)).read_bytes(), path


def test_faults_change_nothing_but_the_faulty_sheets_and_their_truth(
    sets: tuple[Path, Path],
) -> None:
    faulty, plain = sets
    manifest = read_manifest(faulty)
    last = manifest.days[-1].isoformat()
    touched = {f.spreadsheet_id for f in manifest.sheet_faults if f.kind != "unshared"}
    faulty_codes = {f.esa_code for f in manifest.sheet_faults}
    for path in sorted(plain.rglob("*")):
        if not path.is_file() or path.name == "manifest.json":
            continue
        other = faulty / path.relative_to(plain)
        relative = path.relative_to(plain).as_posix()
        if relative.startswith(f"days/{last}/") and path.stem in touched:
            continue
        if relative == f"truth/{last}.json":
            kept = [e for e in json.loads(path.read_text()) if e["esa_code"] not in faulty_codes]
            mine = [e for e in json.loads(other.read_text()) if e["esa_code"] not in faulty_codes]
            assert kept == mine
            continue
        assert other.read_bytes() == path.read_bytes(), relative
    for spreadsheet_id in touched:
        assert (faulty / "days" / last / f"{spreadsheet_id}.json").exists()


@pytest.mark.parametrize("kind", ["broken_header", "emptied"])
def test_the_validator_reports_exactly_what_the_truth_says(
    sets: tuple[Path, Path], kind: str
) -> None:
    faulty, _ = sets
    manifest = read_manifest(faulty)
    fault = next(f for f in manifest.sheet_faults if f.kind == kind)
    day, before = manifest.days[-1], manifest.days[-2]
    earlier = _validate(faulty, fault.esa_code, before, None)
    assert earlier.outcome == "accepted"
    validation = _validate(faulty, fault.esa_code, day, len(earlier.accepted_rows))
    assert validation.outcome == {"broken_header": "rejected", "emptied": "quarantined"}[kind]
    found = Counter(_key(f.row, f.cell, f.code, f.severity, f.value) for f in validation.findings)
    truth = [e for e in _truth(faulty, day, fault.esa_code) if e["expected_code"] is not None]
    assert {e["kind"] for e in truth} == {kind}
    expected = Counter(
        _key(e["row"], e["cell"], e["expected_code"], e["expected_severity"], e["value"])
        for e in truth
    )
    assert found == expected


def test_the_unshared_sheet_answers_403_on_that_day_only(
    sets: tuple[Path, Path], tmp_path: Path
) -> None:
    faulty, _ = sets
    manifest = read_manifest(faulty)
    fault = next(f for f in manifest.sheet_faults if f.kind == "unshared")
    assert _truth(faulty, fault.day, fault.esa_code) == [
        {
            "esa_code": fault.esa_code,
            "spreadsheet_id": fault.spreadsheet_id,
            "row": None,
            "column": None,
            "cell": None,
            "kind": "unshared",
            "value": "",
            "expected_code": "not_shared",
            "expected_severity": None,
        }
    ]
    settings = GoogleSettings(
        request_timeout_seconds=10, max_attempts=1, backoff_base_seconds=1, backoff_max_seconds=1
    )
    state = tmp_path / "state"
    load_day(state, faulty, fault.day)
    with Emulator(state, read_quota_per_minute=0) as emulator:
        reader = SheetsReader(EmulatorSession(emulator.base_url), settings)
        with pytest.raises(SheetReadError) as refused:
            reader.read_data_tab(fault.spreadsheet_id, "โรงเรียน")
        assert refused.value.code == "not_shared"
        others = [f.spreadsheet_id for f in manifest.sheet_faults if f.kind != "unshared"]
        assert all(reader.read_data_tab(sid, "โรงเรียน") for sid in others)
        load_day(state, faulty, manifest.days[0])  # shared again on an earlier morning
        assert reader.read_data_tab(fault.spreadsheet_id, "โรงเรียน")
    assert read_control(state)["faults"] == {}


def test_too_small_a_set_for_the_faults_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="sheet faults need"):
        generate(tmp_path, days=1, esa_limit=ESAS, sheet_faults=True)
    with pytest.raises(ValueError, match="sheet faults need"):
        generate(tmp_path, days=DAYS, esa_limit=len(SHEET_FAULTS), sheet_faults=True)


def test_the_demo_data_command_makes_the_demo_messy_unless_told(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    parser = argparse.ArgumentParser()
    register(parser.add_subparsers())
    out = tmp_path / "demo"
    args = parser.parse_args(["demo-data", "--out", str(out), "--esas", "5", "--days", "2"])
    assert args.handler(args) == 0
    manifest = read_manifest(out)
    assert manifest.messy_rate == DEMO_MESSY_RATE
    assert [f.kind for f in manifest.sheet_faults] == list(SHEET_FAULTS)
    printed = capsys.readouterr().out
    assert all(f"{f.kind} (ESA {f.esa_code})" in printed for f in manifest.sheet_faults)
    args = parser.parse_args(["demo-data", "--out", str(out), "--esas", "5", "--messy", "0"])
    assert args.handler(args) == 0
    manifest = read_manifest(out)
    assert (manifest.messy_rate, manifest.sheet_faults) == (0.0, ())
    assert not (out / "truth").exists()
    args = parser.parse_args(["demo-data", "--out", str(out), "--esas", "5", "--no-sheet-faults"])
    assert args.handler(args) == 0
    assert read_manifest(out).sheet_faults == ()
