"""What each finding leaves on its own cell of the data tab: a note and a colour.

A clerk reading "C130" in the feedback tab has to find row 130 and count to column C; a note on
the cell itself (shown when the pointer rests on it) with the cell coloured by severity shows the
finding where the clerk already looks. Several findings on one cell share its note, one line
each, and the cell takes the colour of the worst of them. The words and colours come from the
contract (``findings.severity``, ``findings.cell_colors``, ``sheet_texts.mark_footer``).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from schoolnet.contract import load_contract
from schoolnet.validation.result import ResultFinding

SEVERITY_ORDER = ("error", "warning")  # worst first
_ADDRESS = re.compile(r"([A-Z]+)([0-9]+)")


@dataclass(frozen=True)
class CellNote:
    """The note and colour (#rrggbb) a cell should carry for its findings."""

    note: str
    color: str


def cell_of(address: str) -> tuple[int, int] | None:
    """An A1 address (``C130``) as the 0-based (row, column) Sheets' grid uses; None when the
    text is not one cell."""
    found = _ADDRESS.fullmatch(address.strip().upper())
    if found is None or int(found.group(2)) < 1:
        return None
    column = 0
    for letter in found.group(1):
        column = column * 26 + ord(letter) - ord("A") + 1
    return int(found.group(2)) - 1, column - 1


def cell_notes(findings: Iterable[ResultFinding]) -> dict[tuple[int, int], CellNote]:
    """Every cell named by a finding, with the note and colour it should carry."""
    contract = load_contract()
    by_cell: dict[tuple[int, int], list[ResultFinding]] = {}
    for finding in findings:
        where = cell_of(finding.cell) if finding.cell else None
        if where is not None:
            by_cell.setdefault(where, []).append(finding)
    notes: dict[tuple[int, int], CellNote] = {}
    for where, found in by_cell.items():
        found.sort(key=lambda f: (_rank(f.severity), f.code, f.message))
        lines = [
            f"{contract.severity_labels.get(f.severity, f.severity)}: {f.message}" for f in found
        ]
        lines.append(contract.sheet_text("mark_footer"))
        worst = found[0].severity
        color = contract.finding_cell_colors.get(worst) or contract.finding_cell_colors["warning"]
        notes[where] = CellNote("\n".join(lines), color)
    return notes


def _rank(severity: str) -> int:
    return SEVERITY_ORDER.index(severity) if severity in SEVERITY_ORDER else len(SEVERITY_ORDER)
