"""Quarantine: a sheet whose accepted rows fall by more than the contract's share (half) against
the last accepted pull is held back whole, with one Thai sheet-level error saying what to do."""

from __future__ import annotations

import json
import re
from datetime import date
from typing import Any

import pytest
import yaml

from schoolnet.contract import CONTRACT_FILE, load_contract, parse_contract
from schoolnet.core.registry import School
from schoolnet.validation import SEVERITY, SheetValidation, apply_quarantine, validate_sheet

CONTRACT = load_contract()
ESA = "105201"
TODAY = date(2018, 1, 10)
THAI = re.compile("[\u0e00-\u0e7f]")
SCHOOLS = {
    f"{ESA}{n:04d}": School(f"{ESA}{n:04d}", f"บ้านหนองบัว{n}", ESA, "ลำปาง", 100)
    for n in range(1, 21)
}


def row(number: int, students: Any = 120) -> list[Any]:
    """A not-connected school's row in the contract's column order (trailing blanks dropped)."""
    return [f"{ESA}{number:04d}", f"บ้านหนองบัว{number}", students, "ยังไม่เชื่อมต่อ"]


def sheet(good: int, bad: int = 0) -> SheetValidation:
    """A sheet with ``good`` clean rows, then ``bad`` rows with a negative student count."""
    rows = [list(CONTRACT.headers)]
    rows += [row(n) for n in range(1, good + 1)]
    rows += [row(n, -5) for n in range(good + 1, good + bad + 1)]
    return validate_sheet(rows, esa_code=ESA, schools=SCHOOLS, today=TODAY)


def test_exactly_half_is_not_quarantined() -> None:
    validation = sheet(5)
    assert apply_quarantine(validation, 10) is validation


def test_falling_by_more_than_half_quarantines_the_whole_sheet() -> None:
    validation = sheet(4)
    result = apply_quarantine(validation, 10)
    assert result.outcome == "quarantined"
    first = result.findings[0]
    assert (first.code, first.severity) == ("quarantined", "error")
    assert SEVERITY["quarantined"] == "error"
    assert (first.row, first.column, first.header, first.cell) == (None, None, None, None)
    assert first.value == "4" and first.esa_code == ESA
    # The message gives both counts and what to do, in Thai.
    assert THAI.search(first.message)
    assert re.search(r"\b4 แถว", first.message) and re.search(r"\b10 แถว", first.message)
    assert "ผู้ดูแลระบบ" in first.message and "{" not in first.message
    # Everything else is kept: the other findings and each row's own verdict.
    assert result.findings[1:] == validation.findings
    assert result.rows == validation.rows and result.not_reported == validation.not_reported
    assert validation.outcome == "accepted"  # the input is not changed


def test_json_reports_the_quarantine() -> None:
    document = json.loads(json.dumps(apply_quarantine(sheet(2), 20).to_json_dict()))
    assert document["outcome"] == "quarantined"
    assert document["findings"][0]["code"] == "quarantined"
    assert document["findings"][0]["cell"] is None
    assert [r["accepted"] for r in document["rows"]] == [True, True]


@pytest.mark.parametrize("previous", [None, 0, -3])
def test_without_a_previous_accepted_pull_nothing_is_quarantined(previous: int | None) -> None:
    validation = sheet(0, bad=3)
    assert len(validation.accepted_rows) == 0
    assert apply_quarantine(validation, previous) is validation


@pytest.mark.parametrize(
    ("accepted", "previous", "quarantined"),
    [(5, 9, False), (4, 9, True), (1, 1, False), (0, 1, True), (1, 2, False), (10, 10, False)],
)
def test_boundaries_with_odd_and_small_counts(
    accepted: int, previous: int, quarantined: bool
) -> None:
    result = apply_quarantine(sheet(accepted), previous)
    assert (result.outcome == "quarantined") is quarantined


def test_rows_rejected_for_errors_count_as_lost() -> None:
    validation = sheet(4, bad=6)  # ten rows in the sheet, four accepted
    result = apply_quarantine(validation, 10)
    assert result.outcome == "quarantined"
    cells = [f.cell for f in result.findings if f.code == "negative_value"]
    assert cells == [f"C{n}" for n in range(6, 12)]  # the clerk still sees what to fix


def test_a_rejected_sheet_is_never_quarantined() -> None:
    rows: list[list[Any]] = [
        ["ชื่อโรงเรียน", "จำนวนนักเรียน", "สถานะการเชื่อมต่อ"],
        ["บ้านหนองบัว1", 10, "ยังไม่เชื่อมต่อ"],
    ]
    validation = validate_sheet(rows, esa_code=ESA, schools=SCHOOLS, today=TODAY)
    assert validation.outcome == "rejected"
    assert apply_quarantine(validation, 100) is validation


def test_quarantine_is_applied_once() -> None:
    once = apply_quarantine(sheet(1), 10)
    assert apply_quarantine(once, 10) is once
    assert [f.code for f in once.findings].count("quarantined") == 1


def test_the_share_comes_from_the_contract_and_is_compared_exactly() -> None:
    raw = yaml.safe_load(CONTRACT_FILE.read_text(encoding="utf-8"))
    raw["quarantine_drop_share"] = 0.3
    contract = parse_contract(raw)
    # 10 -> 7 is a fall of exactly 30% (a float 10 * 0.7 would be just above 7).
    assert apply_quarantine(sheet(7), 10, contract=contract).outcome == "accepted"
    result = apply_quarantine(sheet(6), 10, contract=contract)
    assert result.outcome == "quarantined"
    assert "ร้อยละ 30" in result.findings[0].message
    assert apply_quarantine(sheet(6), 10).outcome == "accepted"  # the default contract: half
