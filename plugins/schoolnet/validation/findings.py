"""Findings: one problem in a district sheet, addressed like a clerk sees it, worded in Thai.

The codes and their severities are stable (the feedback tab, the report and the demo's truth
files all name them); the Thai wording lives in the contract's ``messages:`` section so that
it is edited in one place with the rest of the contract.
"""

from __future__ import annotations

import string
from dataclasses import dataclass
from datetime import date
from typing import Any, Literal

from schoolnet.contract import Contract
from schoolnet.validation.normalize import BE_OFFSET, THAI_MONTHS

Severity = Literal["error", "warning"]

# Every finding code and its severity; the codes are stable (ESAs and tests rely on them).
ROW_CODES: dict[str, Severity] = {
    "missing_school_code": "error",
    "invalid_school_code": "error",
    "unknown_school": "error",
    "school_of_other_esa": "error",
    "name_mismatch": "warning",
    "missing_value": "error",
    "invalid_integer": "error",
    "invalid_number": "error",
    "negative_value": "error",
    "value_too_large": "error",
    "unusually_large": "warning",
    "unusually_small": "warning",
    "upload_above_download": "warning",
    "support_above_fee": "warning",
    "speed_beyond_link_type": "warning",
    "implausible_change": "warning",
    "unknown_enum_value": "error",
    "invalid_date": "error",
    "future_date": "error",
    "duplicate_identical": "warning",
    "duplicate_conflict": "error",
}
SHEET_CODES: dict[str, Severity] = {
    "header_not_found": "error",
    "missing_column": "error",
    "unknown_column": "warning",
    "data_tab_missing": "warning",
    "heading_rows_skipped": "warning",
    "not_reported": "warning",
    "quarantined": "error",
}
SEVERITY: dict[str, Severity] = {**ROW_CODES, **SHEET_CODES}

_MAX_SHOWN = 60  # characters of a typed value quoted inside a message


@dataclass(frozen=True)
class Finding:
    """One problem: where (ESA, sheet row, column, A1 cell), how bad, what, and what was typed."""

    esa_code: str
    row: int | None
    column: str | None
    header: str | None
    cell: str | None
    severity: Severity
    code: str
    message: str
    value: str | None

    def to_dict(self) -> dict[str, Any]:
        return {
            "esa": self.esa_code,
            "row": self.row,
            "column": self.column,
            "header": self.header,
            "cell": self.cell,
            "severity": self.severity,
            "code": self.code,
            "message": self.message,
            "value": self.value,
        }


def column_letters(index: int) -> str:
    """Sheet column letters of a 0-based column index: 0 -> A, 25 -> Z, 26 -> AA."""
    letters = ""
    number = index + 1
    while number:
        number, remainder = divmod(number - 1, 26)
        letters = chr(65 + remainder) + letters
    return letters


def a1(column_index: int, row: int) -> str:
    """A1 address of a 0-based column index and a 1-based row number."""
    return f"{column_letters(column_index)}{row}"


def format_number(value: float | int) -> str:
    """A number as a Thai clerk reads it: thousands separated, no needless ``.0``."""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, int):
        return f"{value:,}"
    return f"{value:,.2f}".rstrip("0").rstrip(".")


def thai_date(day: date) -> str:
    """``3 ม.ค. 2561``: the date as a Thai clerk writes it (BE year)."""
    return f"{day.day} {THAI_MONTHS[day.month - 1][1]} {day.year + BE_OFFSET}"


def shown(text: str) -> str:
    """A typed value short enough to quote in a message."""
    text = " ".join(text.split())
    return text if len(text) <= _MAX_SHOWN else text[: _MAX_SHOWN - 1] + "…"


class _Blank(dict[str, str]):
    def __missing__(self, key: str) -> str:
        return ""


class MessageBook:
    """Thai messages of the finding codes, from the contract's templates."""

    def __init__(self, contract: Contract) -> None:
        self.contract = contract
        missing = [code for code in SEVERITY if code not in contract.messages]
        if missing:
            raise ValueError(f"contract has no message for: {', '.join(missing)}")
        formatter = string.Formatter()
        self._templates: dict[str, str] = {}
        for name, template in contract.messages.items():
            list(formatter.parse(template))  # fail at load time on a malformed template
            self._templates[name] = template

    def text(self, code: str, variant: str | None = None, **params: str) -> str:
        """The message of a code (its variant's if the contract has one), placeholders filled."""
        template = self.contract.message_template(code, variant)
        return template.format_map(_Blank(params)).strip()

    def finding(
        self,
        code: str,
        *,
        esa_code: str,
        row: int | None = None,
        column: str | None = None,
        header: str | None = None,
        cell: str | None = None,
        value: str | None = None,
        variant: str | None = None,
        **params: str,
    ) -> Finding:
        """A finding with its severity and its Thai message."""
        if header is not None:
            params.setdefault("header", header)
        if value is not None:
            params.setdefault("value", shown(value))
        return Finding(
            esa_code=esa_code,
            row=row,
            column=column,
            header=header,
            cell=cell,
            severity=SEVERITY[code],
            code=code,
            message=self.text(code, variant, **params),
            value=value,
        )
