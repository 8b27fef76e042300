"""A row with a blank, unknown or swapped code names the school its name means, and only that one;
the row is still rejected (the clerk types the code, the system never picks it)."""

from __future__ import annotations

from datetime import date

import pytest

from schoolnet.core.registry import School
from schoolnet.validation import SheetValidation, validate_sheet
from schoolnet.validation.suggest import suggest_school, transpositions, within_one_edit
from tests.unit.validation.test_validator import record, sheet

ESA = "105201"
OTHER = "105202"
TODAY = date(2018, 1, 10)

SCHOOLS = {
    school.school_code: school
    for school in (
        School("1052010001", "บ้านหนองบัว", ESA, "ลำปาง", 120),
        School("1052010002", "วัดศรีสุทธาวาส", ESA, "ลำปาง", 90),
        School("1052010003", "บ้านนาคำ", ESA, "ลำปาง", 60),
        # Two schools of one name (common in Thailand): the name alone names neither.
        School("1052010006", "บ้านห้วยทราย", ESA, "ลำปาง", 80),
        School("1052010007", "บ้านห้วยทราย", ESA, "ลำปาง", 70),
        # Two names one letter apart: a name one letter from both names neither.
        School("1052010008", "บ้านหนองแวง", ESA, "ลำปาง", 50),
        School("1052010009", "บ้านหนองแดง", ESA, "ลำปาง", 55),
        School("1052020001", "บ้านแม่ทะ", OTHER, "ลำปาง", 40),
    )
}


def suggested(name: str | None, typed_code: str | None = None, esa: str = ESA) -> str | None:
    school = suggest_school(SCHOOLS, esa, name, typed_code)
    return None if school is None else school.school_code


@pytest.mark.parametrize(
    "typed",
    [
        "บ้านหนองบัว",
        "โรงเรียนบ้านหนองบัว",  # the prefix
        "รร.บ้านหนองบัว",
        "ร.ร. บ้านหนองบัว",
        "รร บ้านหนองบัว",
        " บ้าน หนอง  บัว ",  # spaces anywhere
        "บ้าน\u200bหนองบัว",  # a zero-width space between words
        "บ้านหนองบว",  # one letter dropped
        "บ้านหนองบัวว",  # one letter added
    ],
)
def test_the_ways_clerks_type_a_name_name_the_school(typed: str) -> None:
    assert suggested(typed) == "1052010001"


def test_sara_am_typed_as_nikhahit_and_aa_names_the_school() -> None:
    assert suggested("บ้านนาค\u0e4d\u0e32") == "1052010003"


def test_a_long_name_one_letter_off_names_the_school() -> None:
    assert suggested("วัดศรีสุธาวาส") == "1052010002"  # ท dropped
    assert suggested("โรงเรียนวัดศรีสุทธาวาท") == "1052010002"  # ส typed as ท


def test_a_short_name_one_letter_off_names_nothing() -> None:
    assert suggested("บ้านนา") is None  # two letters from บ้านนาคำ, and short


def test_two_schools_of_the_name_name_neither() -> None:
    assert suggested("บ้านห้วยทราย") is None


def test_a_name_one_letter_from_two_schools_names_neither() -> None:
    assert suggested("บ้านหนองแซง") is None


def test_a_name_of_another_esa_names_nothing_here() -> None:
    assert suggested("บ้านแม่ทะ") is None
    assert suggested("บ้านแม่ทะ", esa=OTHER) == "1052020001"


def test_a_far_name_and_no_name_name_nothing() -> None:
    assert suggested("บ้านเชียงใหม่") is None
    assert suggested("") is None
    assert suggested(None) is None
    assert suggested("โรงเรียน") is None


def test_swapped_digits_pick_one_of_two_schools_of_the_name() -> None:
    assert suggested("บ้านห้วยทราย", "1052010060") == "1052010006"
    assert suggested("บ้านห้วยทราย", "1052010070") == "1052010007"


def test_swapped_digits_need_the_name_to_agree() -> None:
    # 1052010010 is 1052010001 swapped, but the row names another school: that one is named.
    assert suggested("วัดศรีสุทธาวาส", "1052010010") == "1052010002"
    assert suggested("บ้านเชียงใหม่", "1052010010") is None


def test_neighbouring_transpositions_and_one_edit() -> None:
    assert transpositions("1200") == {"2100", "1020"}
    assert within_one_edit("abcdef", "abcdef")
    assert within_one_edit("abcdef", "abcxef")
    assert within_one_edit("abcdef", "abcdefg")
    assert within_one_edit("abcdef", "bcdef")
    assert not within_one_edit("abcdef", "abcfed")
    assert not within_one_edit("abcdef", "abcd")


# --- through the validator: the message names the school, the row stays rejected ----------------


def validate(**cells: object) -> SheetValidation:
    row = record(1, **cells)
    return validate_sheet(sheet([row]), esa_code=ESA, schools=SCHOOLS, today=TODAY)


HINT = "หมายถึงโรงเรียนนี้หรือไม่"


@pytest.mark.parametrize(
    ("cells", "finding_code", "school_code"),
    [
        ({"school_code": "", "school_name": "รร.บ้านหนองบัว"}, "missing_school_code", "1052010001"),
        ({"school_code": "1052019999", "school_name": "บ้านหนองบว"}, "unknown_school", "1052010001"),
        (
            {"school_code": "1052010060", "school_name": "โรงเรียนบ้านห้วยทราย"},
            "unknown_school",
            "1052010006",
        ),
        (
            {"school_code": "1052020001", "school_name": "วัดศรีสุทธาวาส"},
            "school_of_other_esa",
            "1052010002",
        ),
        # A digit dropped or typed twice: not ten digits, the name still names the school.
        (
            {"school_code": "105201001", "school_name": "บ้านหนองบัว"},
            "invalid_school_code",
            "1052010001",
        ),
        (
            {"school_code": "10520100033", "school_name": "โรงเรียนบ้านนาคำ"},
            "invalid_school_code",
            "1052010003",
        ),
    ],
)
def test_the_finding_names_the_school_and_the_row_is_not_accepted(
    cells: dict[str, object], finding_code: str, school_code: str
) -> None:
    result = validate(**cells)
    (finding,) = [f for f in result.findings if f.row == 2]
    assert finding.code == finding_code and finding.severity == "error"
    assert f"โรงเรียน{SCHOOLS[school_code].school_name} รหัส {school_code}" in finding.message
    assert HINT in finding.message and "{" not in finding.message
    assert result.accepted_rows == ()
    # Never under the suggested code: under the one typed, or none when it is not a code.
    readable = finding_code not in ("missing_school_code", "invalid_school_code")
    assert result.rows[0].school_code == (cells["school_code"] if readable else None)


@pytest.mark.parametrize(
    "cells",
    [
        {"school_code": "", "school_name": "บ้านห้วยทราย"},  # two schools of the name
        {"school_code": "1052019999", "school_name": "บ้านแม่ทะ"},  # another ESA's school
        {"school_code": "1052019999", "school_name": "บ้านเชียงใหม่"},  # no school of the name
        {"school_code": "105201001", "school_name": "บ้านห้วยทราย"},  # not 10 digits, two schools
    ],
)
def test_no_suggestion_leaves_the_message_as_it_was(cells: dict[str, object]) -> None:
    result = validate(**cells)
    (finding,) = [f for f in result.findings if f.row == 2]
    assert HINT not in finding.message and not finding.message.endswith(" ")
    assert result.accepted_rows == ()


def test_a_code_not_ten_digits_is_told_once_at_its_cell_first() -> None:
    result = validate(school_code="105201001", school_name="บ้านหนองบัว", students="สองร้อย")
    found = [f for f in result.findings if f.row == 2]
    assert [f.code for f in found].count("invalid_school_code") == 1
    (code_finding,) = [f for f in found if f.code == "invalid_school_code"]
    assert code_finding.cell == found[0].cell  # the code's column comes first, as before
    assert code_finding.value == "105201001"
    assert result.accepted_rows == () and result.rows[0].school_code is None
