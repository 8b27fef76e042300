"""Sheets read as clerks shape them: a sequence column, title lines, blank rows, a totals row,
the header typed again over a pasted block and group headings are not schools. They give no
error and no rejected row, the schools read the same as on the clean sheet, and the near-misses
(a school's name without its code, a school named ``รวม...``, a heading with data) are still
reported."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import Engine

from schoolnet.core.registry import Esa
from schoolnet.ingestion.landing import RawSheet
from schoolnet.orchestration.validate import sheet_result
from schoolnet.validation import SheetValidation
from tests.unit.validation.test_validator import (
    CONTRACT,
    ESA,
    HEADERS,
    KEYS,
    TODAY,
    assert_clerk_message,
    clean_records,
    code,
    only,
    record,
    registry,
    sheet,
    validate,
)

SHAPES = CONTRACT.clerk_shapes
COUNT = 6
HEADING = frozenset({"heading_rows_skipped"})
STUDENTS = sum(100 + number for number in range(1, COUNT + 1))


def cells(item: dict[str, Any]) -> list[Any]:
    """A record's cells in the contract's column order."""
    return [item.get(key, "") for key in KEYS]


def clean() -> SheetValidation:
    return validate(sheet(clean_records(COUNT)), COUNT)


def accepted(result: SheetValidation) -> list[tuple[str | None, dict[str, Any]]]:
    return [(row.school_code, row.values) for row in result.accepted_rows]


def assert_read_as_clean(result: SheetValidation, warnings: frozenset[str] = frozenset()) -> None:
    """Same schools and values as the clean sheet; no error; no rejected or extra row."""
    assert result.outcome == "accepted"
    assert [f.code for f in result.findings if f.severity == "error"] == []
    assert {f.code for f in result.findings} == warnings, [f.to_dict() for f in result.findings]
    assert result.rejected_rows == ()
    assert len(result.rows) == COUNT  # the data-quality count: rows read are schools only
    assert accepted(result) == accepted(clean())


def with_rows(extra: dict[int, list[list[Any]]]) -> list[list[Any]]:
    """The clean sheet with rows inserted before data row ``n`` (``COUNT`` = at the end)."""
    rows = sheet(clean_records(COUNT))
    out = [rows[0]]
    for index, row in enumerate(rows[1:]):
        out += extra.get(index, [])
        out.append(row)
    return out + extra.get(COUNT, [])


# --- a sequence column ----------------------------------------------------------------------


@pytest.mark.parametrize("header", SHAPES.sequence_headers)
def test_a_sequence_column_is_read_as_nothing_and_never_warned_about(header: str) -> None:
    rows: list[list[Any]] = [[header, *HEADERS]]
    rows += [[number, *cells(record(number))] for number in range(1, COUNT + 1)]
    rows.append([COUNT + 1])  # numbered ahead, not yet filled: a blank row
    assert_read_as_clean(validate(rows, COUNT))


def test_a_column_the_contract_does_not_know_is_still_an_unknown_column() -> None:
    result = validate(sheet(clean_records(COUNT), headers=["ลำดับการติดตั้ง", *HEADERS]), COUNT)
    assert only(result, "unknown_column").value == "ลำดับการติดตั้ง"


# --- title lines, merged title, blank rows ---------------------------------------------------


def test_title_and_date_lines_and_a_merged_title_above_the_header() -> None:
    merged = ["ข้อมูลอินเทอร์เน็ตโรงเรียน สพป.ลำปาง เขต 1", "", "", "", ""]  # a merged A1:E1
    rows = [merged, ["ข้อมูล ณ วันที่ 1 ธันวาคม 2569"], [], *sheet(clean_records(COUNT))]
    result = validate(rows, COUNT)
    assert_read_as_clean(result)
    assert result.rows[0].row == 5


def test_blank_rows_between_schools() -> None:
    blank: list[list[Any]] = [[], ["", "", "  "], ["-"]]
    assert_read_as_clean(validate(with_rows({2: blank, COUNT: blank}), COUNT))


# --- a totals row ----------------------------------------------------------------------------


def totals(label: str, where: str = "school_name") -> list[Any]:
    """A totals row as a clerk types it: the label, the sums (or =SUM's computed numbers)."""
    row: list[Any] = [""] * len(KEYS)
    row[KEYS.index(where)] = label
    row[KEYS.index("students")] = STUDENTS
    row[KEYS.index("download_mbps")] = 30 * COUNT
    row[KEYS.index("monthly_fee_thb")] = 1290 * COUNT
    return row


@pytest.mark.parametrize(
    "label", [*SHAPES.total_labels, "รวม 6 โรงเรียน", "รวม:", "TOTAL", "รวม (ทั้งเขต)"]
)
def test_a_totals_row_is_not_a_school(label: str) -> None:
    assert_read_as_clean(validate(with_rows({COUNT: [totals(label)]}), COUNT))


def test_a_totals_row_labelled_in_the_code_column_or_a_merged_cell() -> None:
    in_code = totals("รวมทั้งสิ้น", where="school_code")
    in_code[KEYS.index("school_name")] = ""
    merged = ["รวม", "", "", STUDENTS]  # label merged across code and name
    counted = totals("รวม")
    counted[KEYS.index("school_code")] = COUNT  # =COUNTA of the codes
    for row in (in_code, merged, counted):
        assert_read_as_clean(validate(with_rows({COUNT: [row]}), COUNT))


def test_a_totals_row_without_sums() -> None:
    assert_read_as_clean(validate(with_rows({COUNT: [["", "รวม"]]}), COUNT))


def test_a_school_named_like_a_total_with_its_code_is_a_school() -> None:
    """``โรงเรียนรวมมิตร...`` or even ``รวม...`` with a code and data is always a school row."""
    for name in ("รวมมิตรวิทยา", "รวม"):
        result = validate(
            sheet([*clean_records(COUNT - 1), record(COUNT, school_name=name)]), COUNT
        )
        assert len(result.rows) == COUNT and result.rows[-1].school_code == code(COUNT)
        assert result.rows[-1].accepted  # a name the registry does not know: a warning only
        assert only(result, "name_mismatch").row == COUNT + 1


def test_a_name_that_only_starts_like_a_label_without_a_code_is_an_error() -> None:
    row = totals("รวมมิตรวิทยา")
    result = validate(with_rows({COUNT: [row]}), COUNT)
    finding = only(result, "missing_school_code")
    assert finding.row == COUNT + 2 and len(result.rejected_rows) == 1
    assert_clerk_message(finding)


# --- the header typed again over a pasted block ----------------------------------------------


def test_the_header_repeated_over_a_pasted_block() -> None:
    assert_read_as_clean(validate(with_rows({3: [[], list(HEADERS)]}), COUNT))


def test_a_repeated_header_with_its_sequence_column() -> None:
    rows: list[list[Any]] = [["ที่", *HEADERS]]
    rows += [[number, *cells(record(number))] for number in range(1, 4)]
    rows += [["ที่", *HEADERS]]
    rows += [[number, *cells(record(number))] for number in range(4, COUNT + 1)]
    assert_read_as_clean(validate(rows, COUNT))


# --- group headings --------------------------------------------------------------------------


def heading(text: str, position: int = 1) -> list[Any]:
    return [""] * position + [text]


@pytest.mark.parametrize("text", SHAPES.heading_examples)
def test_a_group_heading_is_skipped_with_one_warning(text: str) -> None:
    result = validate(with_rows({0: [heading(text)]}), COUNT)
    assert_read_as_clean(result, HEADING)
    warning = only(result, "heading_rows_skipped")
    assert (warning.severity, warning.row, warning.value) == ("warning", 2, text)
    assert text in warning.message and "2" in warning.message
    assert_clerk_message(warning)


def test_all_headings_of_a_sheet_are_one_warning() -> None:
    rows = with_rows(
        {
            0: [heading("อำเภอเมืองลำปาง", 0)],  # merged across the row: its first cell
            3: [heading("อำเภอเกาะคา")],
            5: [heading("ตำบลศาลา", 2)],
        }
    )
    result = validate(rows, COUNT)
    assert_read_as_clean(result, HEADING)
    warning = only(result, "heading_rows_skipped")
    assert "2, 6 และ 9" in warning.message


def test_a_heading_in_the_sequence_column_is_named_too() -> None:
    rows: list[list[Any]] = [["ลำดับ", *HEADERS], ["กลุ่มโรงเรียนแม่ทะ"]]
    rows += [[number, *cells(record(number))] for number in range(1, COUNT + 1)]
    result = validate(rows, COUNT)
    assert_read_as_clean(result, HEADING)
    assert only(result, "heading_rows_skipped").row == 2


@pytest.mark.parametrize(
    "name", ["โรงเรียนบ้านหนองบัว3", "รร.บ้านหนองบัว3", "บ้านหนองบัว3", "โรงเรียนบ้านใหม่"]
)
def test_a_school_name_alone_without_a_code_is_still_an_error(name: str) -> None:
    """Not a heading: a school's name (its prefix, or a registry name) is a school row whose
    code is missing."""
    result = validate(with_rows({COUNT: [heading(name)]}), COUNT)
    finding = only(result, "missing_school_code")
    assert finding.row == COUNT + 2
    assert len(result.rejected_rows) == 1 and len(result.rows) == COUNT + 1
    assert "heading_rows_skipped" not in {f.code for f in result.findings}


def test_a_heading_looking_row_with_data_is_a_school_row_missing_its_code() -> None:
    row = heading("อำเภอเมืองลำปาง")
    row += [120, "เชื่อมต่อแล้ว"]
    result = validate(with_rows({COUNT: [row]}), COUNT)
    assert only(result, "missing_school_code").row == COUNT + 2
    assert len(result.rejected_rows) == 1


def test_a_lone_number_is_not_a_heading() -> None:
    result = validate(with_rows({COUNT: [heading("12"), [""] * 3 + [7]]}), COUNT)
    missing = [f.row for f in result.findings if f.code == "missing_school_code"]
    assert missing == [COUNT + 2, COUNT + 3] and len(result.rejected_rows) == 2


# --- the laid-out workbook -------------------------------------------------------------------


def laid_out(extra: list[list[Any]] | None = None) -> list[list[Any]]:
    """Merged title, date line, header with a sequence column, district headings, a second
    pasted block under its own header, a totals row with the sums and a signature line."""
    width = len(HEADERS) + 1
    rows: list[list[Any]] = [
        ["ข้อมูลอินเทอร์เน็ตโรงเรียน สพป.ลำปาง เขต 1", *[""] * (width - 1)],
        ["", "ข้อมูล ณ วันที่ 1 ธันวาคม 2569"],
        [],
        ["ลำดับ", *HEADERS],
        ["อำเภอเมืองลำปาง"],
    ]
    rows += [[number, *cells(record(number))] for number in range(1, 4)]
    rows += [[], ["ลำดับ", *HEADERS], ["", "", "อำเภอเกาะคา"]]
    rows += [[number, *cells(record(number))] for number in range(4, COUNT + 1)]
    total = ["รวมทั้งสิ้น", "", "", STUDENTS, "", "", "", 30 * COUNT, 10 * COUNT, 1290 * COUNT]
    rows += [*(extra or []), total, [], ["", "ผู้รายงาน ........................"]]
    return rows


def test_a_laid_out_workbook_reads_as_the_clean_sheet() -> None:
    result = validate(laid_out(), COUNT)
    assert_read_as_clean(result, HEADING)
    assert [row.row for row in result.rows] == [6, 7, 8, 12, 13, 14]
    warning = only(result, "heading_rows_skipped")
    assert "5, 11 และ 17" in warning.message


def test_the_data_quality_counts_are_schools_only(warehouse_engine: Engine) -> None:
    """rows_read and rows_rejected, the ministry's data-quality figures, skip the clerk's
    shapes; a school's name without its code still counts as read and rejected."""
    esa = Esa(ESA, "สพป.ลำปาง เขต 1", "primary", "ลำปาง", "sheet-id", "esa@example.org")

    def counts(values: list[list[Any]]) -> tuple[int, int, int]:
        raw = RawSheet(ESA, "sheet-id", values, "โรงเรียน", False, 1, None, TODAY)
        result = sheet_result(esa, TODAY, raw, registry(COUNT), warehouse_engine)
        return result.rows_read, result.rows_rejected, len(result.accepted)

    assert counts(laid_out()) == counts(sheet(clean_records(COUNT))) == (COUNT, 0, COUNT)
    assert counts(laid_out([["", "โรงเรียนบ้านใหม่"]])) == (COUNT + 1, 1, COUNT)
