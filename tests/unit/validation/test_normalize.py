"""The cell normalizers: what clerks type (Thai digits, BE dates, units, Thai enum labels) reads
back as the value they meant, and anything else fails with the right finding code."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from schoolnet.contract import load_contract
from schoolnet.validation.normalize import (
    THAI_DIGITS,
    THAI_MONTHS,
    EnumLookup,
    NormalizeError,
    cell_text,
    date_from_serial,
    fold,
    is_blank,
    name_key,
    normalize_date,
    normalize_integer,
    normalize_number,
    normalize_school_code,
    normalize_text,
    number_parser,
)

CONTRACT = load_contract()
EPOCH = date(1899, 12, 30).toordinal()
ALL_UNITS = sorted({u for c in CONTRACT.columns for u in c.rule("units", ())})
MONEY_UNITS = CONTRACT.column("monthly_fee_thb").rule("units")
SPEED_UNITS = CONTRACT.column("download_mbps").rule("units")


def thai(text: str) -> str:
    return text.translate(str.maketrans("0123456789", THAI_DIGITS))


def serial(day: date) -> int:
    return day.toordinal() - EPOCH


def code_of(call: Callable[..., object], *args: object) -> tuple[str, str | None]:
    with pytest.raises(NormalizeError) as caught:
        call(*args)
    return caught.value.code, caught.value.variant


# --- text ------------------------------------------------------------------------------------


@pytest.mark.parametrize("value", [None, "", "   ", "\u00a0", "\u200b", " \u200b\t", "\ufeff\n"])
def test_blank_cells(value: object) -> None:
    assert is_blank(value)


@pytest.mark.parametrize("value", [0, 0.0, False, "0", "ก", " x ", "a\u200b"])
def test_non_blank_cells(value: object) -> None:
    assert not is_blank(value)


def test_cell_text_is_what_the_clerk_sees() -> None:
    assert cell_text(245.0) == "245"
    assert cell_text(24.5) == "24.5"
    assert cell_text(-12) == "-12"
    assert cell_text(True) == "TRUE"
    assert cell_text(None) == ""
    assert cell_text(" ๒๔๕ ") == " ๒๔๕ "


def test_text_is_trimmed_and_collapsed() -> None:
    assert normalize_text("  โรงเรียน \u00a0 บ้านนา \n") == "โรงเรียน บ้านนา"
    assert normalize_text("\u200b") is None
    assert normalize_text(12) == "12"


def test_fold_unifies_thai_typing_habits() -> None:
    assert fold("ใยแก้วน\u0e4d\u0e32แสง") == fold("ใยแก้วนำแสง")  # ํ + า typed for ำ
    assert fold("เเคท") == fold("แคท")  # two เ typed for แ
    assert fold(" Cat\u00a0Telecom ") == "cattelecom"


def test_name_key_drops_prefix_and_spaces() -> None:
    expected = name_key("บ้านหนองบัว")
    for typed in ("โรงเรียนบ้านหนองบัว", "รร.บ้านหนองบัว", "รร. บ้าน หนองบัว", " บ้านหนองบัว "):
        assert name_key(typed) == expected
    assert name_key("บ้านหนองบัวใต้") != expected
    assert name_key("โรงเรียน") == fold("โรงเรียน")  # a bare prefix is not dropped to nothing


# --- school code -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "typed",
    ["1052010001", "๑๐๕๒๐๑๐๐๐๑", "105-201-0001", " 10 5201 0001 ", 1052010001, 1052010001.0],
)
def test_school_code_forms(typed: object) -> None:
    assert normalize_school_code(typed) == "1052010001"


@pytest.mark.parametrize("typed", ["105201001", "10520100011", "10520100O1", 1052010001.5, True])
def test_invalid_school_code(typed: object) -> None:
    assert code_of(normalize_school_code, typed) == ("invalid_school_code", None)


# --- numbers ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("245", 245),
        (245, 245),
        (245.0, 245),
        ("๒๔๕", 245),
        ("1,234", 1234),
        (" 1,234 ", 1234),
        ("245.00", 245),
        ("-12", -12),
        ("\u221212", -12),
        ("0", 0),
    ],
)
def test_integer_forms(typed: object, expected: int) -> None:
    assert normalize_integer(typed) == expected


@pytest.mark.parametrize(
    ("typed", "variant"),
    [
        ("245.5", "fraction"),
        (245.5, "fraction"),
        ("abc", None),
        ("1,5", None),
        ("12,34", None),
        ("1 234", None),
        (True, None),
        (float("nan"), None),
        ("", None),
    ],
)
def test_invalid_integer(typed: object, variant: str | None) -> None:
    assert code_of(normalize_integer, typed) == ("invalid_integer", variant)


@pytest.mark.parametrize(
    ("typed", "units", "expected"),
    [
        ("30", SPEED_UNITS, 30.0),
        ("30 Mbps", SPEED_UNITS, 30.0),
        ("30M", SPEED_UNITS, 30.0),
        ("30mb/s", SPEED_UNITS, 30.0),
        ("๓๐ เมก", SPEED_UNITS, 30.0),
        ("0.5", SPEED_UNITS, 0.5),
        ("1,290", MONEY_UNITS, 1290.0),
        ("฿1290", MONEY_UNITS, 1290.0),
        ("1290 บาท", MONEY_UNITS, 1290.0),
        ("1,290.50 บาท/เดือน", MONEY_UNITS, 1290.5),
        ("THB 1290", MONEY_UNITS, 1290.0),
        (1290, MONEY_UNITS, 1290.0),
        (12.5, (), 12.5),
    ],
)
def test_number_forms(typed: object, units: list[str], expected: float) -> None:
    assert normalize_number(typed, units) == expected


@pytest.mark.parametrize(
    "typed", ["fast", "30 Gbps", "1,29", "nan", "inf", "1e3", "1_000", True, float("inf"), "฿"]
)
def test_invalid_number(typed: object) -> None:
    assert code_of(normalize_number, typed, SPEED_UNITS + MONEY_UNITS) == ("invalid_number", None)


def test_number_parser_matches_the_plain_functions() -> None:
    integer = number_parser("integer", ["คน"])
    number = number_parser("number", MONEY_UNITS)
    assert integer("245 คน") == 245 and integer(7) == 7
    assert number("฿1,290") == 1290.0 and number(3.5) == 3.5
    with pytest.raises(NormalizeError):
        number(float("nan"))


@settings(max_examples=150, deadline=None)
@given(st.integers(min_value=-(10**9), max_value=10**12))
def test_thai_digits_read_back(number: int) -> None:
    assert normalize_integer(thai(str(number))) == number
    assert normalize_number(thai(str(number))) == float(number)
    assert normalize_integer(thai(f"{number:,}")) == number


@settings(max_examples=200, deadline=None)
@given(
    number=st.integers(min_value=0, max_value=10**9),
    unit=st.sampled_from(ALL_UNITS),
    before=st.booleans(),
    space=st.sampled_from(["", " ", "  "]),
    upper=st.booleans(),
    thai_digits=st.booleans(),
)
def test_units_and_thousands_read_back(
    number: int, unit: str, before: bool, space: str, upper: bool, thai_digits: bool
) -> None:
    digits = f"{number:,}"
    if thai_digits:
        digits = thai(digits)
    shown_unit = unit.upper() if upper else unit
    typed = f"{shown_unit}{space}{digits}" if before else f"{digits}{space}{shown_unit}"
    assert normalize_number(typed, ALL_UNITS) == float(number)
    assert normalize_integer(typed, ALL_UNITS) == number


# --- dates -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "typed",
    [
        "3/1/2561",
        "03/01/2018",
        "3/1/61",
        "3-1-2561",
        "3.1.2561",
        "3 ม.ค. 61",
        "3 ม.ค. 2561",
        "3 มกราคม 2561",
        "3มกราคม2561",
        "3 ม.ค. พ.ศ. 2561",
        "วันที่ 3 มกราคม 2561",
        "2018-01-03",
        "2561-01-03",
        "2018-01-03 00:00:00",
        "2018-01-03T08:15:00",
        "๓/๑/๒๕๖๑",
        "3 Jan 2018",
        "43103",
        43103,
        43103.75,
        241430,
        datetime(2018, 1, 3, 9, 0),  # noqa: DTZ001 - a sheet cell: naive wall-clock
        date(2018, 1, 3),
    ],
)
def test_date_forms(typed: object) -> None:
    assert normalize_date(typed) == date(2018, 1, 3)


def test_be_serial_is_read_as_be() -> None:
    # A clerk in a th_TH sheet types 3/1/2561: Sheets stores a date in the (Gregorian) year 2561.
    assert date_from_serial(serial(date(2561, 1, 3))) == date(2018, 1, 3)
    # 29 Feb 2564 exists in Gregorian 2564 but not in BE 2564 = 2021.
    assert code_of(date_from_serial, serial(date(2564, 2, 29))) == ("invalid_date", None)


@pytest.mark.parametrize(
    "typed",
    [
        "32/1/2561",
        "3/13/2561",
        "29/2/2561",
        "abc",
        "2561",
        2561,
        "3/1/561",
        "1/1/1800",
        "3 มกร 61",  # not a month name (the spoken "มกรา" is one: test_spoken_month_names)
        "3/1-2561",
        "2018-1-2561",
        True,
        0,
        -5,
        "",
        10**9,
    ],
)
def test_invalid_date(typed: object) -> None:
    assert code_of(normalize_date, typed) == ("invalid_date", None)


def test_leap_day_in_be() -> None:
    assert normalize_date("29/2/2563") == date(2020, 2, 29)
    assert code_of(normalize_date, "29/2/2564") == ("invalid_date", None)


def _renderings(day: date) -> list[object]:
    be = day.year + 543
    abbr = THAI_MONTHS[day.month - 1][1]
    full = THAI_MONTHS[day.month - 1][0]
    forms: list[object] = [
        f"{day.day}/{day.month}/{be}",
        f"{day.day:02d}/{day.month:02d}/{be}",
        f"{day.day}/{day.month}/{day.year}",
        f"{day.day:02d}/{day.month:02d}/{day.year}",
        f"{day.day}/{day.month}/{be % 100:02d}",
        f"{day.day}-{day.month}-{be}",
        f"{day.day} {abbr} {be}",
        f"{day.day} {abbr} {be % 100:02d}",
        f"{day.day}{abbr}{be % 100:02d}",
        f"{day.day} {full} {be}",
        f"{day.day} {full} {be % 100:02d}",
        f"{day.day} {full} พ.ศ. {be}",
        day.isoformat(),
        thai(f"{day.day}/{day.month}/{be}"),
        thai(f"{day.day} {abbr} {be % 100:02d}"),
        serial(day),
        float(serial(day)) + 0.5,
        str(serial(day)),
    ]
    if not (day.month == 2 and day.day == 29):  # no Gregorian 29 Feb in a BE year like 2543
        forms.append(serial(date(be, day.month, day.day)))
    return forms


@settings(max_examples=200, deadline=None)
@given(st.dates(min_value=date(2000, 1, 1), max_value=date(2030, 12, 31)))
def test_every_date_form_reads_back(day: date) -> None:
    for typed in _renderings(day):
        assert normalize_date(typed) == day, typed


# --- enums -----------------------------------------------------------------------------------

LOOKUPS = {name: EnumLookup(values) for name, values in CONTRACT.enums.items()}
SPELLINGS = [
    (name, spelling, value.key)
    for name, values in CONTRACT.enums.items()
    for value in values
    for spelling in (value.key, value.label, *value.aliases)
]


@pytest.mark.parametrize(
    ("enum", "typed", "key"),
    [
        ("isp", "ทีโอที", "TOT"),
        ("isp", "tot", "TOT"),
        ("isp", "TOT", "TOT"),
        ("isp", "กสท/แคท", "CAT"),
        ("isp", "กสท / แคท", "CAT"),
        ("isp", "เเคท", "CAT"),
        ("isp", True, "True"),
        ("isp", "TRUE ONLINE", "True"),
        ("isp", "บมจ ทีโอที", "TOT"),
        ("status", "เชื่อมต่อแล้ว", "connected"),
        ("status", " Not  Connected ", "not_connected"),
        ("link_type", "ใยแก้วน\u0e4d\u0e32แสง", "fiber"),
        ("funding_source", "งบ สพฐ", "obec"),
        ("funding_source", "อื่น ๆ", "other"),
        ("link_type", "4g", "mobile"),
    ],
)
def test_enum_examples(enum: str, typed: object, key: str) -> None:
    assert LOOKUPS[enum].normalize(typed) == key


@pytest.mark.parametrize("typed", ["ทีโอทีและทรู", "wifi", "5", "tots"])
def test_unknown_enum(typed: object) -> None:
    assert code_of(LOOKUPS["isp"].normalize, typed) == ("unknown_enum_value", None)


@st.composite
def respelled(draw: st.DrawFn, spelling: str) -> str:
    """The spelling with random case and random (also no-break and zero-width) spaces."""
    out = []
    for char in spelling:
        if draw(st.integers(0, 5)) == 0:
            out.append(draw(st.sampled_from([" ", "  ", "\u00a0", "\u200b", "\t"])))
        out.append(char.upper() if draw(st.booleans()) else char.lower())
    edge = st.sampled_from(["", " ", "\u00a0"])
    return draw(edge) + "".join(out) + draw(edge)


@settings(max_examples=200, deadline=None)
@given(st.data())
def test_every_enum_spelling_reads_back(data: st.DataObject) -> None:
    enum, spelling, key = data.draw(st.sampled_from(SPELLINGS))
    typed = data.draw(respelled(spelling))
    assert LOOKUPS[enum].normalize(typed) == key


def test_every_spelling_exactly() -> None:
    for enum, spelling, key in SPELLINGS:
        assert LOOKUPS[enum].normalize(spelling) == key
        assert LOOKUPS[enum].normalize_list(spelling) == [key]


@pytest.mark.parametrize(
    ("typed", "keys"),
    [
        ("ทีโอที, ทรู", ["TOT", "True"]),
        ("TOT/True", ["TOT", "True"]),
        ("ทีโอที ทรู 3bb", ["TOT", "True", "3BB"]),
        ("กสท/แคท", ["CAT"]),
        ("กสท/แคท/ทรู", ["CAT", "True"]),
        ("true online, cat telecom", ["True", "CAT"]),
        ("tot public/ais fiber", ["TOT", "AIS"]),
        ("ทีโอที และ ทรู", ["TOT", "True"]),
        ("ทีโอที,ทีโอที", ["TOT"]),
        ("อื่น ๆ", ["other"]),
        ("ทีโอที;", ["TOT"]),
    ],
)
def test_enum_list_examples(typed: str, keys: list[str]) -> None:
    assert LOOKUPS["isp"].normalize_list(typed) == keys


def test_enum_list_names_the_unknown_item() -> None:
    with pytest.raises(NormalizeError) as caught:
        LOOKUPS["isp"].normalize_list("ทีโอที, wifi")
    assert caught.value.code == "unknown_enum_value"
    assert caught.value.variant == "item"
    assert caught.value.params == {"item": "wifi"}


ISP_SPELLINGS = [(s, k) for e, s, k in SPELLINGS if e == "isp"]


@settings(max_examples=150, deadline=None)
@given(
    st.lists(st.sampled_from(ISP_SPELLINGS), min_size=1, max_size=4),
    st.sampled_from([", ", ",", "/", " / ", " ", "; "]),
)
def test_enum_list_reads_back(items: list[tuple[str, str]], separator: str) -> None:
    typed = separator.join(spelling for spelling, _ in items)
    expected = list(dict.fromkeys(key for _, key in items))
    assert LOOKUPS["isp"].normalize_list(typed) == expected
