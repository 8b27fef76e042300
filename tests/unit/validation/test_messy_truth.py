"""The validator against the demo's ground truth: every injected mistake found at its cell, no
finding the truth does not explain, and every accepted row equal to what the clerk meant (or,
for an implausible edit, what the clerk typed: a warning never rejects).

The sheets are read as the daily pull reads them (the emulator's rendering with
UNFORMATTED_VALUE + SERIAL_NUMBER), day by day, with the Drive folder as that morning's run sees it,
and each row compared with its school's last accepted values, carried from day to day as the
warehouse's snapshot carries them.
"""

from __future__ import annotations

import csv
import json
from collections import Counter
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from schoolnet.contract import load_contract
from schoolnet.core.previous import PreviousValues
from schoolnet.core.registry import read_esas, read_schools, schools_by_code
from schoolnet.devtools.demo import generate
from schoolnet.devtools.demo.generate import IMPLAUSIBLE_EDITS
from schoolnet.devtools.emulator.state import Bounds, read_values
from schoolnet.validation import SheetValidation, validate_sheet

ESAS = 12  # both levels, several provinces, other-ESA codes from neighbours
DAYS = 3
RATE = 0.08
IMPLAUSIBLE_RATE = 0.5  # of the ESAs editing on a day after the first
WHOLE_SHEET = Bounds(0, 0, None, None)


@dataclass(frozen=True)
class Checked:
    """One ESA's sheet on one day: what the validator made of it and what the truth says."""

    day: date
    esa_code: str
    validation: SheetValidation
    truth: list[dict[str, Any]]


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("messy-truth")
    generate(out, days=DAYS, esa_limit=ESAS, messy_rate=RATE, implausible_rate=IMPLAUSIBLE_RATE)
    return out


def _sheet_on(out: Path, spreadsheet_id: str, day: date) -> dict[str, Any]:
    """The spreadsheet the morning run of ``day`` sees: its latest file dated on or before it."""
    chosen = None
    for folder in sorted((out / "days").iterdir()):
        path = folder / f"{spreadsheet_id}.json"
        if date.fromisoformat(folder.name) <= day and path.exists():
            chosen = path
    assert chosen is not None, (spreadsheet_id, day)
    doc: dict[str, Any] = json.loads(chosen.read_text(encoding="utf-8"))
    return doc


@pytest.fixture(scope="module")
def checked(demo: Path) -> list[Checked]:
    manifest = json.loads((demo / "manifest.json").read_text(encoding="utf-8"))
    esas = read_esas(demo / "esas.csv")
    schools = schools_by_code(read_schools(demo / "schools.csv"))
    results = []
    previous: dict[str, PreviousValues] = {}  # the last accepted values, as the snapshot has them
    for text in manifest["days"]:
        day = date.fromisoformat(text)
        truth = json.loads((demo / "truth" / f"{text}.json").read_text(encoding="utf-8"))
        for esa in esas:
            sheet = _sheet_on(demo, esa.spreadsheet_id, day)["sheets"][0]
            values = read_values(sheet, WHOLE_SHEET, "UNFORMATTED_VALUE", "SERIAL_NUMBER")
            validation = validate_sheet(
                values,
                esa_code=esa.esa_code,
                schools=schools,
                today=day,
                tab_title=sheet["title"],
                previous=previous,
            )
            entries = [e for e in truth if e["esa_code"] == esa.esa_code]
            results.append(Checked(day, esa.esa_code, validation, entries))
        for item in results[-len(esas) :]:
            for row in item.validation.accepted_rows:
                assert row.school_code is not None
                previous[row.school_code] = PreviousValues(day, row.values)
    return results


def _state(demo: Path, day: date) -> dict[str, dict[str, str]]:
    with (demo / "state" / f"{day.isoformat()}.csv").open(encoding="utf-8", newline="") as handle:
        return {row["school_code"]: row for row in csv.DictReader(handle)}


def _as_state(value: Any) -> str:
    """A validated value written the way ``state/<day>.csv`` writes what the clerk meant."""
    if value is None:
        return ""
    if isinstance(value, list):
        return ",".join(value)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def test_the_data_set_exercises_every_kind_of_mistake(checked: list[Checked]) -> None:
    kinds = Counter(entry["kind"] for item in checked for entry in item.truth)
    assert set(kinds) == {
        "thai_digits", "be_date", "thai_provider", "title_row", "blank_required",
        "duplicate_identical", "duplicate_conflict", "negative_count", "other_esa_code",
        *IMPLAUSIBLE_EDITS,
    }, kinds  # fmt: skip
    assert sum(kinds.values()) > 100
    # An implausible edit is warned about the morning it was typed, and stands accepted after.
    slips = Counter(
        entry["expected_code"]
        for item in checked
        for entry in item.truth
        if entry["kind"] in IMPLAUSIBLE_EDITS
    )
    assert slips["implausible_change"] and slips["speed_beyond_link_type"] and slips[None], slips
    assert all(item.validation.outcome == "accepted" for item in checked)


def test_recall_every_mistake_is_found_at_its_cell(checked: list[Checked]) -> None:
    for item in checked:
        found = {(f.row, f.cell, f.code): f for f in item.validation.findings}
        by_cell: dict[str, list[str]] = {}
        for finding in item.validation.findings:
            if finding.cell is not None:
                by_cell.setdefault(finding.cell, []).append(finding.code)
        for entry in item.truth:
            where = (item.day, item.esa_code, entry)
            if entry["kind"] == "title_row":
                continue  # nothing to find: the header is read below it (outcome accepted)
            if entry["expected_code"] is None:
                assert entry["cell"] not in by_cell, (where, by_cell.get(entry["cell"]))
                continue
            match = found.get((entry["row"], entry["cell"], entry["expected_code"]))
            assert match is not None, (where, by_cell.get(entry["cell"]))
            assert match.severity == entry["expected_severity"], where
            assert (match.value or "") == entry["value"], where


def test_precision_every_finding_is_explained_by_the_truth(checked: list[Checked]) -> None:
    # Each demo sheet has its data tab and a row for every school of its ESA (a mistake never
    # removes one), so sheet-level findings (data tab, header, columns, not reported) would all
    # be false alarms here: none is allowed.
    codes: Counter[str] = Counter()
    for item in checked:
        expected = {
            (entry["row"], entry["cell"], entry["expected_code"])
            for entry in item.truth
            if entry["expected_code"] is not None
        }
        for finding in item.validation.findings:
            codes[finding.code] += 1
            key = (finding.row, finding.cell, finding.code)
            assert key in expected, (item.day, item.esa_code, finding.to_dict())
        assert item.validation.not_reported == ()
    assert codes["missing_value"] and codes["duplicate_conflict"], codes


def test_accepted_rows_hold_what_the_clerk_meant(demo: Path, checked: list[Checked]) -> None:
    contract = load_contract()
    states = {item.day: _state(demo, item.day) for item in checked}
    accepted_total = schools_total = 0
    for item in checked:
        state = states[item.day]
        where = (item.day, item.esa_code)
        error_rows = {e["row"] for e in item.truth if e["expected_severity"] == "error"}
        accepted = {}
        for row in item.validation.rows:
            if not row.accepted:
                continue
            assert row.row not in error_rows, (where, row.row)
            assert row.school_code is not None
            assert row.school_code not in accepted, (where, row.row)
            accepted[row.school_code] = row
            meant = dict(state[row.school_code])
            for entry in item.truth:  # an implausible edit is accepted as typed, with a warning
                if entry["kind"] in IMPLAUSIBLE_EDITS and entry["row"] == row.row:
                    meant[entry["column"]] = entry["value"]
            got = {key: _as_state(row.values[key]) for key in contract.keys}
            assert got == {key: meant[key] for key in contract.keys}, (where, row.row)
        # Every school of the ESA is in, except those whose row (or a copy of it) has an error.
        mine = {code for code in state if code[:6] == item.esa_code}
        held_back = {row.school_code for row in item.validation.rows if row.row in error_rows}
        assert set(accepted) == mine - held_back, where
        accepted_total += len(accepted)
        schools_total += len(mine)
    assert accepted_total > 0.85 * schools_total
