"""Thai dates and numbers as the central office writes them."""

from __future__ import annotations

from datetime import date

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
BE_OFFSET = 543


def thai_date(day: date) -> str:
    """``3 มกราคม 2561``: day, full month name, Buddhist-Era year."""
    return f"{day.day} {MONTHS[day.month - 1]} {day.year + BE_OFFSET}"


def thai_date_short(day: date) -> str:
    """``3 ม.ค. 61``: the short form clerks type."""
    return f"{day.day} {MONTHS_SHORT[day.month - 1]} {(day.year + BE_OFFSET) % 100:02d}"


def number(value: float | int | None, decimals: int = 0) -> str:
    """Thousands separated, as in ``29,118``; a dash for no value."""
    if value is None:
        return "–"
    return f"{value:,.{decimals}f}"


def percent(part: int, whole: int, decimals: int = 1) -> str:
    if whole == 0:
        return "–"
    return f"{100 * part / whole:.{decimals}f}%"


def signed(value: int | None) -> str:
    """A change with its sign: ``+120``, ``-3``, ``0``."""
    if value is None:
        return "–"
    return f"{value:+,d}" if value else "0"
