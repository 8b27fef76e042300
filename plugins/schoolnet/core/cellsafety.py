"""Cells that stay data: text a spreadsheet program would run as a formula, made inert.

Excel, LibreOffice Calc and Google Sheets take a cell whose text begins with ``=``, ``+``, ``-``
or ``@`` for a formula (and ``=cmd|' /C calc'!A0`` for a DDE call), also after leading spaces,
and Japanese and Chinese keyboards type the full-width forms ``＝＋－＠`` that Excel accepts alike.
A leading tab, carriage return or NUL lets a cell slip past filters that only look at the first
printable character. Following OWASP's CSV injection guidance, such a cell is prefixed with a
single quote, which spreadsheets read as "this is text". Every spreadsheet file the project
writes (the CSV export, the report's workbook) passes its text cells through :func:`neutralize`.

Numbers, dates and empty cells are left as they are: a negative number is a number, and a
spreadsheet must still be able to add it up.
"""

from __future__ import annotations

from typing import Any, TypeVar, overload

QUOTE = "'"
"""The prefix that makes a spreadsheet keep a cell as text."""

FORMULA_CHARS = frozenset("=+-@\uff1d\uff0b\uff0d\uff20")
"""A cell whose first character past leading blanks is one of these is read as a formula:
``= + - @`` and their full-width forms ``＝ ＋ － ＠``."""

CONTROL_STARTS = frozenset("\t\r\x00")
"""A cell that starts with one of these is made inert too (tab, carriage return, NUL), even
though they count as blanks below: OWASP and ASVS name them as dangerous first characters."""

ZERO_WIDTH = frozenset("\u200b\u200c\u200d\u2060\ufeff")
"""Invisible characters skipped, like blanks, before the first character that counts."""

_T = TypeVar("_T")


def is_formula_like(text: str) -> bool:
    """Whether a spreadsheet could run ``text`` as a formula: it starts with a tab, carriage
    return or NUL, or its first character that is not a blank (any Unicode white space or a
    zero-width character) is one of :data:`FORMULA_CHARS`."""
    if not text:
        return False
    first = text[0]
    if first in FORMULA_CHARS or first in CONTROL_STARTS:
        return True
    if not (first.isspace() or first in ZERO_WIDTH):
        return False  # the common case: decided by the first character
    for char in text:
        if char.isspace() or char in ZERO_WIDTH:
            continue
        return char in FORMULA_CHARS
    return False  # only blanks


@overload
def neutralize(value: str) -> str: ...
@overload
def neutralize(value: _T) -> _T: ...
def neutralize(value: Any) -> Any:
    """``value`` as a spreadsheet should show it: formula-like text prefixed with ``'``;
    any other text, and every number, date or None, returned unchanged."""
    if isinstance(value, str) and is_formula_like(value):
        return QUOTE + value
    return value
