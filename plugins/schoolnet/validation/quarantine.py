"""Quarantine: a sheet whose accepted rows collapse is held back whole, never merged.

The contract: "A sheet whose accepted rows fall by more than half against its last accepted pull
is held back whole (quarantined) until an operator accepts it: an emptied or truncated sheet never
wipes data." The share is the contract's ``quarantine_drop_share``. This module only decides and
words the verdict; remembering the last accepted count and an operator's release is the caller's.
"""

from __future__ import annotations

from dataclasses import replace
from fractions import Fraction

from schoolnet.contract import Contract, load_contract
from schoolnet.validation.findings import MessageBook, format_number
from schoolnet.validation.validator import SheetValidation


def drops_too_far(accepted: int, previous_accepted: int | None, drop_share: float) -> bool:
    """Whether ``accepted`` rows are more than ``drop_share`` below ``previous_accepted``.

    Exact arithmetic: with a share of 0.5, 10 -> 5 is not quarantined and 10 -> 4 is; with 0.3,
    10 -> 7 is not (a float ``10 * 0.7`` would be 7.000000000000001 and say it is).
    """
    if previous_accepted is None or previous_accepted <= 0:
        return False
    keep = 1 - Fraction(str(drop_share))
    return accepted < previous_accepted * keep


def apply_quarantine(
    validation: SheetValidation,
    previous_accepted: int | None,
    *,
    contract: Contract | None = None,
) -> SheetValidation:
    """The validation quarantined if its accepted rows fell too far, else unchanged.

    ``previous_accepted`` is the number of rows accepted at the ESA's last accepted pull (None or
    0 when there is none: nothing to compare with, never quarantined). Only an accepted sheet can
    be quarantined: a rejected one is already held back and keeps its own findings. The copy
    keeps every row's own verdict and finding, so the clerk still sees what to fix, and gains one
    sheet-level error ``quarantined`` first among the findings.
    """
    if validation.outcome != "accepted":
        return validation
    contract = contract if contract is not None else load_contract()
    accepted = len(validation.accepted_rows)
    if not drops_too_far(accepted, previous_accepted, contract.quarantine_drop_share):
        return validation
    assert previous_accepted is not None
    finding = MessageBook(contract).finding(
        "quarantined",
        esa_code=validation.esa_code,
        value=str(accepted),
        accepted=format_number(accepted),
        previous=format_number(previous_accepted),
        limit=format_number(round(contract.quarantine_drop_share * 100, 2)),
    )
    return replace(validation, outcome="quarantined", findings=(finding, *validation.findings))


__all__ = ["apply_quarantine", "drops_too_far"]
