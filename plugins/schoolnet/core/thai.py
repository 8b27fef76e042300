"""Thai dates and numbers as the central office writes them."""

from __future__ import annotations

from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction

MONTHS = (
    "มกราคม",
    "กุมภาพันธ์",
    "มีนาคม",
    "เมษายน",
    "พฤษภาคม",
    "มิถุนายน",
    "กรกฎาคม",
    "สิงหาคม",
    "กันยายน",
    "ตุลาคม",
    "พฤศจิกายน",
    "ธันวาคม",
)
MONTHS_SHORT = (
    "ม.ค.",
    "ก.พ.",
    "มี.ค.",
    "เม.ย.",
    "พ.ค.",
    "มิ.ย.",
    "ก.ค.",
    "ส.ค.",
    "ก.ย.",
    "ต.ค.",
    "พ.ย.",
    "ธ.ค.",
)
# Monday first, as ``date.weekday()`` counts.
WEEKDAYS = ("จันทร์", "อังคาร", "พุธ", "พฤหัสบดี", "ศุกร์", "เสาร์", "อาทิตย์")
BE_OFFSET = 543


def thai_date(day: date) -> str:
    """``3 มกราคม 2561``: day, full month name, Buddhist-Era year."""
    return f"{day.day} {MONTHS[day.month - 1]} {day.year + BE_OFFSET}"


def thai_date_short(day: date) -> str:
    """``3 ม.ค. 61``: the short form clerks type."""
    return f"{day.day} {MONTHS_SHORT[day.month - 1]} {(day.year + BE_OFFSET) % 100:02d}"


# Figures are rounded half away from zero ("half-up"), as people round by hand: a median fee
# of 1,290.50 baht shows as 1,291 and 12.25% as 12.3% (Python's own formatting would round
# half to even, on the binary value: 1,290 and 12.2%). See docs/report.md.
_SETTLE = Decimal("1e-9")  # below any figure's precision: undoes binary noise such as 0.1 + 0.2


def rounded(value: float | int | Decimal | Fraction, decimals: int = 0) -> Decimal:
    """``value`` rounded half-up to ``decimals`` places; a fraction exactly, a float after it
    is settled to nine places (so 43.35 read back from a database as 43.349999... is 43.4)."""
    if isinstance(value, Fraction):
        exact = Decimal(value.numerator) / Decimal(value.denominator)
    else:
        exact = Decimal(value).quantize(_SETTLE, rounding=ROUND_HALF_UP)
    return exact.quantize(Decimal(1).scaleb(-decimals), rounding=ROUND_HALF_UP)


def number(value: float | int | Decimal | Fraction | None, decimals: int = 0) -> str:
    """Thousands separated, as in ``29,118``, rounded half-up; a dash for no value."""
    if value is None:
        return "–"
    return f"{rounded(value, decimals):,.{decimals}f}"


def percent(part: int, whole: int, decimals: int = 1) -> str:
    """``part`` of ``whole`` in percent, rounded half-up from the exact ratio; a dash for none."""
    if whole == 0:
        return "–"
    return f"{rounded(Fraction(100 * part, whole), decimals):.{decimals}f}%"


def signed(value: int | None) -> str:
    """A change with its sign: ``+120``, ``-3``, ``0``."""
    if value is None:
        return "–"
    return f"{value:+,d}" if value else "0"
