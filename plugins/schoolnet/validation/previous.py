"""The school's last accepted values from a ``schoolnet export`` CSV, for ``schoolnet validate
--previous``: the offline check compares each row with them as the daily run compares it with
the warehouse's latest snapshot.

The export is UTF-8 with a byte-order mark, one row per school, the contract's values normalized
(enum keys, plain numbers, ISO dates, providers joined with ``, ``) and ``accepted_on``, the
date they were accepted (empty: never reported). Anything else is refused with one Thai line
(:class:`PreviousFileError`) saying what to use instead.
"""

from __future__ import annotations

import csv
from collections import Counter
from datetime import date
from pathlib import Path
from typing import Any

from schoolnet.contract import Column, load_contract
from schoolnet.core.cellsafety import QUOTE, is_formula_like
from schoolnet.core.previous import PreviousValues

IDENTITY = ("report_date", "school_code", "esa_code", "accepted_on")
"""The export's columns besides the contract's values that make a file an export."""
_OTHER_ESAS_NAMED = 3


class PreviousFileError(Exception):
    """The file is not an export of this ESA's schools; the message is one Thai line."""


def _text(key: str, /, **values: object) -> str:
    return load_contract().file_text(key, **values)


def _unquoted(text: str) -> str:
    """A text cell as it was before the export made a formula-like one inert with ``'``."""
    if text.startswith(QUOTE) and is_formula_like(text[1:]):
        return text[1:]
    return text


def _value(column: Column, text: str) -> Any:
    """One exported cell as the validator normalizes it; raises ValueError if it is not one."""
    if text == "":
        return None
    if column.type == "integer":
        number = float(text)
        if not number.is_integer():
            raise ValueError(text)
        return int(number)
    if column.type == "number":
        return float(text)
    if column.type == "date":
        return date.fromisoformat(text)
    if column.type == "enum_list":
        return [item.strip() for item in text.split(",") if item.strip()]
    return _unquoted(text)


def read_previous_export(path: Path, esa_code: str) -> dict[str, PreviousValues]:
    """Each school of ``esa_code`` in the export at ``path`` that was ever accepted, with its
    values and their date. Refuses (:class:`PreviousFileError`) a missing file, one that is not
    an export, or an export that holds no school of this ESA but those of others."""
    name = Path(path).name
    if not Path(path).is_file():
        raise PreviousFileError(_text("previous_not_found", path=path))
    contract = load_contract()
    try:
        with Path(path).open(encoding="utf-8-sig", newline="") as handle:
            reader = csv.DictReader(handle)
            header = list(reader.fieldnames or ())
            missing = [key for key in (*IDENTITY, *contract.keys) if key not in header]
            if missing:
                raise PreviousFileError(
                    _text("previous_not_export", name=name, missing=", ".join(missing[:4]))
                )
            rows = list(reader)
    except UnicodeDecodeError:
        raise PreviousFileError(_text("previous_not_utf8", name=name)) from None
    except csv.Error as error:
        raise PreviousFileError(
            _text("previous_not_export", name=name, missing=str(error))
        ) from None
    mine = [row for row in rows if (row.get("esa_code") or "").strip() == esa_code]
    if rows and not mine:
        others = Counter((row.get("esa_code") or "").strip() for row in rows).most_common()
        named = ", ".join(code for code, _ in others[:_OTHER_ESAS_NAMED] if code)
        raise PreviousFileError(
            _text("previous_other_esa", name=name, esa_code=esa_code, other_esas=named or "-")
        )
    previous: dict[str, PreviousValues] = {}
    for number, row in enumerate(rows, start=2):  # row 1 is the header
        if (row.get("esa_code") or "").strip() != esa_code or not row["accepted_on"].strip():
            continue
        try:
            accepted_on = date.fromisoformat(row["accepted_on"].strip())
            values = {
                column.key: _value(column, (row[column.key] or "").strip())
                for column in contract.columns
                if column.key != "school_code"
            }
        except ValueError:
            column_name, cell = _first_bad(row, contract.columns)
            raise PreviousFileError(
                _text("previous_bad_value", name=name, row=number, column=column_name, value=cell)
            ) from None
        previous[row["school_code"].strip()] = PreviousValues(accepted_on, values)
    return previous


def _first_bad(row: dict[str, str], columns: tuple[Column, ...]) -> tuple[str, str]:
    """The first cell of a row that does not read as its column's type (for the refusal)."""
    try:
        date.fromisoformat(row["accepted_on"].strip())
    except ValueError:
        return "accepted_on", row["accepted_on"]
    for column in columns:
        try:
            _value(column, (row[column.key] or "").strip())
        except ValueError:
            return column.key, row[column.key]
    return "", ""


__all__ = ["PreviousFileError", "read_previous_export"]
