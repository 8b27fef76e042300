"""Pure normalizers of one district-sheet cell: Thai digits, units, codes, numbers, dates, enums.

Each takes a cell as the Sheets API returns it (str, int, float, bool or None; a date/datetime
when the cell came from an .xlsx export) and returns the normalized value or raises
:class:`NormalizeError` carrying a stable finding code. The validator turns that code into a Thai
message; nothing here knows about rows, columns or the registry, so each piece is testable alone.

Python's ``int()``, ``float()`` and the regex ``\\d`` all accept Thai digits, but inconsistently
with what a clerk means (and ``str.isdigit`` lets them through too), so every normalizer
translates Thai digits explicitly first and then matches ASCII-only patterns.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterable, Sequence
from datetime import date, datetime
from functools import lru_cache
from typing import Any

from schoolnet.contract import EnumValue
from schoolnet.core.text import FULLWIDTH_DIGITS as FULLWIDTH_DIGITS
from schoolnet.core.text import SPACES as _SPACES
from schoolnet.core.text import TABLE as _TABLE
from schoolnet.core.text import THAI_DIGITS as THAI_DIGITS
from schoolnet.core.text import canonical as canonical
from schoolnet.core.text import fold as fold

_LOOSE_DROP = re.compile(r"[\s.\-_]+")

# A cell holding only a dash says "nothing here": it reads as an empty cell (docs/contract.md).
EMPTY_MARKS = frozenset({"-", "--", "---", "\u2013", "\u2014", "\u2212", "\uff0d"})
# What a spreadsheet shows in a formula cell whose formula failed (Excel and Google Sheets).
FORMULA_ERRORS = frozenset(
    {"#N/A", "#REF!", "#VALUE!", "#DIV/0!", "#NAME?", "#NUM!", "#NULL!", "#ERROR!", "#SPILL!"}
    | {"#CALC!", "#GETTING_DATA", "#FIELD!", "#BLOCKED!", "#CONNECT!", "#BUSY!", "#UNKNOWN!"}
)

BE_OFFSET = 543
BE_YEAR_ABOVE = 2400  # a year over this is Buddhist Era
MIN_YEAR = 1900  # after conversion to CE; anything earlier is a typing mistake
SHEETS_EPOCH = date(1899, 12, 30).toordinal()
# The number format provisioning gives the contract's date columns: what a clerk sees in them.
SHEET_DATE_FORMAT = "d/m/yyyy"
_MIN_SERIAL = 10_000  # 1927-05-18: a smaller number is a year or a count, not a date
_MAX_SERIAL = date(2799, 12, 31).toordinal() - SHEETS_EPOCH


class NormalizeError(ValueError):
    """A cell that cannot be read; ``code`` is the finding code, ``params`` fill its message."""

    def __init__(self, code: str, variant: str | None = None, **params: str) -> None:
        super().__init__(code if variant is None else f"{code}.{variant}")
        self.code = code
        self.variant = variant
        self.params = params


# ---------------------------------------------------------------------------------------------
# Text


def is_blank(value: Any) -> bool:
    """An empty cell: None, "" or only (possibly invisible) whitespace, or only a dash.

    A lone ``-`` is how clerks write "nothing to report": it reads as an empty cell, so in an
    optional column it is simply empty and in a required one it is a missing value.
    """
    if value is None or value == "":
        return True
    if type(value) is not str:
        return False
    stripped = value.strip()
    if not stripped or stripped in EMPTY_MARKS:
        return True
    # Fast path: zero-width characters are not printable, so a printable cell has content.
    if stripped.isprintable():
        return False
    plain = stripped.translate(_TABLE).strip()
    return not plain or plain in EMPTY_MARKS


class DateSerial(int):
    """A date cell of an exported file as the serial number the Sheets API would give, which
    remembers how the cell showed the date (``shown``), for "the value as typed"."""

    shown: str

    def __new__(cls, serial: int, shown: str) -> DateSerial:
        value = super().__new__(cls, serial)
        value.shown = shown
        return value

    def __str__(self) -> str:
        return self.shown


class DateTimeSerial(float):
    """:class:`DateSerial` of a date cell with a time of day (a fractional serial)."""

    shown: str

    def __new__(cls, serial: float, shown: str) -> DateTimeSerial:
        value = super().__new__(cls, serial)
        value.shown = shown
        return value

    def __str__(self) -> str:
        return self.shown


def cell_text(value: Any) -> str:
    """The cell as the clerk typed it, for messages and the finding's ``value``."""
    if type(value) is str:
        return value
    if value is None:
        return ""
    if isinstance(value, DateSerial | DateTimeSerial):
        return value.shown
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, datetime):
        return value.isoformat(sep=" ")
    return str(value)


def normalize_text(value: Any) -> str | None:
    """Free text in its :func:`canonical` spelling: trimmed, whitespace runs collapsed to one
    space; blank is None. A spreadsheet's error value (``#N/A``) is not text anyone typed."""
    text = _SPACES.sub(" ", canonical(cell_text(value))).strip()
    if text in FORMULA_ERRORS:
        raise NormalizeError("missing_value", "formula")
    return text or None


def loose_fold(text: str) -> str:
    """``fold`` that also ignores dots, dashes and underscores (``บมจ ทีโอที`` = ``บมจ.ทีโอที``)."""
    return _LOOSE_DROP.sub("", fold(text))


@lru_cache(maxsize=16)
def _prefix_keys(prefixes: tuple[str, ...]) -> tuple[str, ...]:
    variants = {fold(p) for p in prefixes} | {loose_fold(p) for p in prefixes}
    return tuple(sorted((v for v in variants if v), key=len, reverse=True))


def name_key(name: str, prefixes: Sequence[str] = ("โรงเรียน", "รร.")) -> str:
    """Comparable form of a school name: one leading ``โรงเรียน``/``รร.`` and all spaces dropped."""
    return _name_key(name, tuple(prefixes))


@lru_cache(maxsize=65_536)  # a national day compares ~29,000 typed names with registry names
def _name_key(name: str, prefixes: tuple[str, ...]) -> str:
    key = fold(name)
    for prefix in _prefix_keys(prefixes):
        if key.startswith(prefix) and len(key) > len(prefix):
            return key[len(prefix) :]
    return key


# ---------------------------------------------------------------------------------------------
# School code

_CODE_DROP = re.compile(r"[\s\-.']+")
# A code a spreadsheet turned into a number and printed back: ``1052010001.0`` or
# ``1.052010001E9`` / ``1.05201E+09`` (scientific notation, maybe with digits lost).
_CODE_AS_FLOAT = re.compile(r"([0-9]+)\.0+", re.ASCII)
_CODE_SCIENTIFIC = re.compile(r"([0-9])(?:\.([0-9]*))?[eE]\+?([0-9]{1,2})", re.ASCII)


def normalize_school_code(value: Any, digits: int = 10) -> str:
    """A school code as ``digits`` ASCII digits; Thai digits, spaces and dashes are dropped.

    A code a spreadsheet made into a number comes back whole (``1052010001.0``,
    ``1.052010001E9``); scientific notation that lost digits (``1.05201E+09``) cannot be
    trusted to name the right school and is an error of its own.
    """
    if isinstance(value, bool):
        raise NormalizeError("invalid_school_code")
    if isinstance(value, int):
        text = str(value)
    elif isinstance(value, float):
        if not value.is_integer():
            raise NormalizeError("invalid_school_code")
        text = str(int(value))
    else:
        raw = str(value).translate(_TABLE).strip()
        whole = _CODE_AS_FLOAT.fullmatch(raw)
        if whole is not None:
            text = whole.group(1)
        elif (scientific := _CODE_SCIENTIFIC.fullmatch(raw)) is not None:
            first, fraction, exponent = scientific.groups()
            text = _code_from_scientific(first, fraction, exponent, digits)
        else:
            text = _CODE_DROP.sub("", raw)
    if len(text) != digits or not text.isascii() or not text.isdigit():
        raise NormalizeError("invalid_school_code")
    return text


def _code_from_scientific(first: str, fraction: str | None, exponent: str, digits: int) -> str:
    """The digits of ``1.052010001E9``; an error if the notation dropped any of them."""
    fraction = fraction or ""
    places = int(exponent)
    if places + 1 != digits:
        raise NormalizeError("invalid_school_code")
    if len(fraction) < places:  # shown rounded: the missing digits are unknown
        raise NormalizeError("invalid_school_code", "scientific")
    if len(fraction) > places and fraction[places:].strip("0"):
        raise NormalizeError("invalid_school_code")
    return first + fraction[:places]


# ---------------------------------------------------------------------------------------------
# Numbers

_PLAIN_INT = re.compile(r"[0-9]+", re.ASCII)
_NUMBER = re.compile(
    r"([+-]?)((?:[0-9]{1,3}(?:,[0-9]{3})+|[0-9]+)(?:\.[0-9]*)?|\.[0-9]+)", re.ASCII
)


def _sorted_units(units: Iterable[str]) -> tuple[str, ...]:
    return tuple(sorted({u.casefold() for u in units if u}, key=len, reverse=True))


def _strip_unit(text: str, units: Sequence[str]) -> str:
    """Drop one unit written before or after the number (``฿1290``, ``30 Mbps``, ``30M``)."""
    lowered = text.casefold()
    for unit in units:
        if lowered.endswith(unit):
            return text[: len(text) - len(unit)].rstrip()
        if lowered.startswith(unit):
            return text[len(unit) :].lstrip()
    return text


# ``1.290``: one thousand two hundred ninety with a dot between thousands (as many European
# and some Thai programs write it), or one point two nine? Neither reading can be assumed.
_AMBIGUOUS = re.compile(r"[1-9][0-9]{0,2}\.[0-9]{3}", re.ASCII)


def _numeric_text(value: str, units: Sequence[str], code: str) -> tuple[str, str] | None:
    """(sign, digits[.fraction]) of a number typed as text, or None if it is not one; ``code``
    names the error of a number that reads two ways."""
    text = value.translate(_TABLE).strip()
    if units:
        text = _strip_unit(text, units)
    if text.endswith(".-"):  # ``1,290.-``: Thai for "and no satang", before or after the unit
        text = text[:-2].rstrip()
        if units:
            text = _strip_unit(text, units)
    text = text.replace(" ", "") if text[:1] in "+-" else text
    match = _NUMBER.fullmatch(text)
    if match is None:
        return None
    number = match.group(2)
    if _AMBIGUOUS.fullmatch(number):
        whole, fraction = number.split(".")
        decimal = f"{whole}.{fraction.rstrip('0')}".rstrip(".")
        raise NormalizeError(
            code,
            "ambiguous",
            thousands=f"{whole},{fraction}",
            plain=whole + fraction,
            decimal=decimal,
        )
    return match.group(1), number.replace(",", "")


def normalize_integer(value: Any, units: Iterable[str] = ()) -> int:
    """A whole number: ``245``, ``๒๔๕``, ``1,234``, ``245.0``; a fraction is an error.

    A negative number is returned as is: the contract's ``min`` rule reports it, with its own code.
    """
    return _integer(value, _sorted_units(units))


def _integer(value: Any, units: Sequence[str]) -> int:
    if isinstance(value, bool | DateSerial | DateTimeSerial):  # a date cell is not a count
        raise NormalizeError("invalid_integer")
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        if not math.isfinite(value):
            raise NormalizeError("invalid_integer")
        if not value.is_integer():
            raise NormalizeError("invalid_integer", "fraction")
        return int(value)
    text = str(value)
    if _PLAIN_INT.fullmatch(text):
        return int(text)
    parsed = _numeric_text(text, units, "invalid_integer")
    if parsed is None:
        raise NormalizeError("invalid_integer")
    sign, number = parsed
    whole, _, fraction = number.partition(".")
    if fraction.strip("0"):
        raise NormalizeError("invalid_integer", "fraction")
    result = int(whole or "0")
    return -result if sign == "-" else result


def normalize_number(value: Any, units: Iterable[str] = ()) -> float:
    """A number: ``30``, ``30.5``, ``1,290``, ``฿1290``, ``1290 บาท``, ``30 Mbps``, Thai digits."""
    return _number(value, _sorted_units(units))


def _number(value: Any, units: Sequence[str]) -> float:
    if isinstance(value, bool | DateSerial | DateTimeSerial):  # a date cell is not an amount
        raise NormalizeError("invalid_number")
    if isinstance(value, int):
        return float(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise NormalizeError("invalid_number")
        return value
    text = str(value)
    if _PLAIN_INT.fullmatch(text):
        return float(text)
    parsed = _numeric_text(text, units, "invalid_number")
    if parsed is None:
        raise NormalizeError("invalid_number")
    sign, number = parsed
    return float(sign + number)


def number_parser(kind: str, units: Iterable[str] = ()) -> Callable[[Any], float | int]:
    """A one-argument parser for ``integer`` or ``number`` cells with units sorted once."""
    sorted_units = _sorted_units(units)

    def parse_integer(value: Any) -> int:
        if type(value) is int:
            return value
        return _integer(value, sorted_units)

    def parse_number(value: Any) -> float:
        if type(value) is float:
            if not math.isfinite(value):
                raise NormalizeError("invalid_number")
            return value
        return _number(value, sorted_units)

    return parse_integer if kind == "integer" else parse_number


# ---------------------------------------------------------------------------------------------
# Dates

THAI_MONTHS = (
    ("มกราคม", "ม.ค."),
    ("กุมภาพันธ์", "ก.พ."),
    ("มีนาคม", "มี.ค."),
    ("เมษายน", "เม.ย."),
    ("พฤษภาคม", "พ.ค."),
    ("มิถุนายน", "มิ.ย."),
    ("กรกฎาคม", "ก.ค."),
    ("สิงหาคม", "ส.ค."),
    ("กันยายน", "ก.ย."),
    ("ตุลาคม", "ต.ค."),
    ("พฤศจิกายน", "พ.ย."),
    ("ธันวาคม", "ธ.ค."),
)
# How months are said and often typed: the full name without its ``คม``/``ยน``/``พันธ์`` ending.
THAI_MONTHS_SPOKEN = (
    *("มกรา", "กุมภา", "มีนา", "เมษา", "พฤษภา", "มิถุนา"),
    *("กรกฎา", "สิงหา", "กันยา", "ตุลา", "พฤศจิกา", "ธันวา"),
)
_ENGLISH_MONTHS = (
    *("january", "february", "march", "april", "may", "june"),
    *("july", "august", "september", "october", "november", "december"),
)
_MONTHS: dict[str, int] = {}
for _month, (_full, _abbr) in enumerate(THAI_MONTHS, start=1):
    _MONTHS[loose_fold(_full)] = _month
    _MONTHS[loose_fold(_abbr)] = _month
for _month, _spoken in enumerate(THAI_MONTHS_SPOKEN, start=1):
    _MONTHS[loose_fold(_spoken)] = _month
for _month, _name in enumerate(_ENGLISH_MONTHS, start=1):
    _MONTHS[_name] = _month
    _MONTHS[_name[:3]] = _month
_MONTHS["กรกฏาคม"] = _MONTHS["กรกฏา"] = 7  # a common misspelling (ฏ for ฎ)
_MONTHS["sept"] = 9

_NUMERIC_DATE = re.compile(r"([0-9]{1,4})\s*([/.\-])\s*([0-9]{1,2})\s*\2\s*([0-9]{1,4})", re.ASCII)
_WORD_DATE = re.compile(r"([0-9]{1,2})\s*([^0-9]+?)\s*([0-9]{2}|[0-9]{4})")
_TIME_SUFFIX = re.compile(r"[ T]+[0-9]{1,2}:[0-9]{2}(?::[0-9]{2}(?:\.[0-9]+)?)?\s*$")
_SERIAL_TEXT = re.compile(r"[0-9]{5,6}(?:\.[0-9]+)?", re.ASCII)
_ERA_BE = ("พศ",)
_ERA_CE = ("คศ", "ad", "ce")


def _ce_date(year: int, month: int, day: int, *, two_digit: bool = False, ce: bool = False) -> date:
    """The CE date of a typed year: two-digit years are BE (61 = 2561), years over 2400 are BE."""
    if two_digit:
        year += 2000 if ce else 2500
    if year > BE_YEAR_ABOVE:
        year -= BE_OFFSET
    if year < MIN_YEAR:
        raise NormalizeError("invalid_date")
    try:
        return date(year, month, day)
    except ValueError:
        raise NormalizeError("invalid_date") from None


def date_from_serial(serial: float) -> date:
    """A Sheets serial number (days since 1899-12-30) as a CE date.

    A clerk in a Thai-locale sheet who types ``3/1/2561`` gets a date cell in the year 2561: a
    serial whose year is over 2400 is read as BE.
    """
    if not math.isfinite(serial) or not _MIN_SERIAL <= serial <= _MAX_SERIAL:
        raise NormalizeError("invalid_date")
    day = date.fromordinal(SHEETS_EPOCH + math.floor(serial))
    if day.year > BE_YEAR_ABOVE:
        return _ce_date(day.year, day.month, day.day)
    return day


_BE_FORMATS = ("bb", "b2", ",107]", "-th-th")  # Excel's Buddhist-era year codes


def shown_date(value: date, number_format: str) -> str:
    """A date cell as the clerk saw it, near enough: the format's order (ISO when the year
    comes first, else day/month/year), its month name, its BE or CE year, its time of day.

    ``value`` is the date the cell holds (a BE year, when typed so in a Thai-locale sheet, is
    kept: it is what the cell shows)."""
    fmt = number_format.lower()
    year = value.year + (543 if any(code in fmt for code in _BE_FORMATS) else 0)
    bare = fmt.split("]")[-1].removeprefix("b2").removeprefix("b1")  # locale, colour, calendar
    if bare.startswith(("y", "e", "bb")):
        text = f"{year:04d}-{value.month:02d}-{value.day:02d}"
    elif "mmm" in bare:
        full = "mmmm" in bare
        text = f"{value.day} {THAI_MONTHS[value.month - 1][0 if full else 1]} {year}"
    else:
        text = f"{value.day}/{value.month}/{year}"
    if isinstance(value, datetime) and (value.hour or value.minute) and "h" in bare:
        text += f" {value.hour:02d}:{value.minute:02d}"
    return text


def shown_serial(serial: float) -> str:
    """A date cell the Sheets API gave as its serial number, as the clerk sees it in the sheet:
    in the format provisioning gives the contract's date columns (``SHEET_DATE_FORMAT``), the
    year as the cell holds it, so ``3/1/2561`` typed in a Thai-locale sheet is quoted so."""
    return shown_date(date.fromordinal(SHEETS_EPOCH + math.floor(serial)), SHEET_DATE_FORMAT)


def _parse_date_text(text: str) -> date:
    text = _TIME_SUFFIX.sub("", text.translate(_TABLE).strip()).strip()
    if text.startswith("วันที่"):
        text = text[len("วันที่") :].lstrip()
    match = _NUMERIC_DATE.fullmatch(text)
    if match:
        first, _, month, last = match.groups()
        if len(first) == 4:  # ISO order: 2018-01-03 (or 2561-01-03)
            if len(last) > 2:
                raise NormalizeError("invalid_date")
            return _ce_date(int(first), int(month), int(last))
        if len(first) > 2 or len(last) not in (2, 4):
            raise NormalizeError("invalid_date")
        return _ce_date(int(last), int(month), int(first), two_digit=len(last) == 2)
    match = _WORD_DATE.fullmatch(text)
    if match:
        day, month_text, year = match.groups()
        word = loose_fold(month_text).replace(",", "").removeprefix("เดือน")
        ce = False
        for era in _ERA_BE + _ERA_CE:
            if word.endswith(era) and len(word) > len(era):
                ce = era in _ERA_CE
                word = word[: -len(era)]
                break
        month = _MONTHS.get(word)
        if month is None:
            raise NormalizeError("invalid_date")
        return _ce_date(int(year), month, int(day), two_digit=len(year) == 2, ce=ce)
    if _SERIAL_TEXT.fullmatch(text):
        return date_from_serial(float(text))
    raise NormalizeError("invalid_date")


def normalize_date(value: Any) -> date:
    """A date typed any way the contract allows, as a CE date.

    Accepted: ``3/1/2561``, ``03/01/2018``, ``3-1-61``, ``3 ม.ค. 61``, ``3 มกราคม 2561``,
    ``2018-01-03``, a Sheets serial number (number or text); day before month (Thai convention).
    """
    if isinstance(value, bool):
        raise NormalizeError("invalid_date")
    if isinstance(value, datetime):
        value = value.date()
    if isinstance(value, date):
        if value.year > BE_YEAR_ABOVE:
            return _ce_date(value.year, value.month, value.day)
        return value
    if isinstance(value, int | float):
        return date_from_serial(float(value))
    return _parse_date_text(str(value))


# ---------------------------------------------------------------------------------------------
# Enums

_HARD_SEPARATORS = re.compile(r"\s*(?:[,;\n、&+]|\sและ\s)\s*")
_SOFT_SEPARATORS = re.compile(r"(\s+|/)")
_MEMO_LIMIT = 4096


class EnumLookup:
    """Finds the key of an enum cell by key, Thai label or alias, ignoring case and spaces.

    Built once per contract; remembers the cells it has already read, since a sheet repeats the
    same few spellings thousands of times.
    """

    def __init__(self, values: Iterable[EnumValue]) -> None:
        self.values = tuple(values)
        self._exact: dict[str, str] = {}
        loose: dict[str, set[str]] = {}
        for item in self.values:
            for spelling in (item.key, item.label, *item.aliases):
                key = fold(spelling)
                if self._exact.setdefault(key, item.key) != item.key:
                    raise ValueError(f"enum spelling {spelling!r} names two values")
                loose.setdefault(loose_fold(spelling), set()).add(item.key)
        # A spelling that is only unique once dots and dashes are ignored is still accepted.
        self._loose = {k: next(iter(v)) for k, v in loose.items() if len(v) == 1}
        self._memo: dict[str, str] = {}
        self._list_memo: dict[str, tuple[str, ...]] = {}

    @property
    def labels(self) -> tuple[str, ...]:
        return tuple(item.label for item in self.values)

    def find(self, text: str) -> str | None:
        """The key of one spelling, or None."""
        folded = fold(text)
        found = self._exact.get(folded)
        if found is None:
            found = self._loose.get(_LOOSE_DROP.sub("", folded))
        return found

    def normalize(self, value: Any) -> str:
        """The key of one enum cell; ``unknown_enum_value`` if nothing matches."""
        if isinstance(value, str):
            found = self._memo.get(value)
            if found is not None:
                return found
        found = self.find(cell_text(value))
        if found is None:
            raise NormalizeError("unknown_enum_value")
        if isinstance(value, str):
            if len(self._memo) >= _MEMO_LIMIT:
                self._memo.clear()
            self._memo[value] = found
        return found

    def normalize_list(self, value: Any) -> list[str]:
        """Keys of a list cell separated by commas, ``/`` or spaces, in order, without repeats.

        Whole spellings are matched before splitting, so an alias with a space (``true online``)
        or a label with a ``/`` (``กสท/แคท``) stays one value: each comma-separated part is read
        left to right taking the longest run of words that is a known spelling.
        """
        text = cell_text(value)
        known = self._list_memo.get(text)
        if known is not None:
            return list(known)
        whole = self.find(text)
        keys: list[str] = []
        if whole is not None:
            keys.append(whole)
        else:
            for part in _HARD_SEPARATORS.split(text.translate(_TABLE)):
                for key in self._split_part(part):
                    if key not in keys:
                        keys.append(key)
        if not keys:
            raise NormalizeError("unknown_enum_value")
        if len(self._list_memo) >= _MEMO_LIMIT:
            self._list_memo.clear()
        self._list_memo[text] = tuple(keys)
        return keys

    def _split_part(self, part: str) -> list[str]:
        pieces = _SOFT_SEPARATORS.split(part)
        words = [i for i in range(0, len(pieces), 2) if pieces[i]]
        keys: list[str] = []
        start = 0
        while start < len(words):
            for end in range(len(words), start, -1):
                text = "".join(pieces[words[start] : words[end - 1] + 1])
                found = self.find(text)
                if found is not None:
                    keys.append(found)
                    start = end
                    break
            else:
                raise NormalizeError("unknown_enum_value", "item", item=pieces[words[start]])
        return keys
