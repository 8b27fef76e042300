"""Reading a district sheet exported as a file (``.xlsx`` or ``.csv``) into Sheets API values.

``schoolnet validate`` checks one exported file with the same validator as the daily pull, so the
cells are given the types the pull gets from the Sheets API (``UNFORMATTED_VALUE`` with
``SERIAL_NUMBER`` dates): numbers as int or float (an integral float as int), text as str, dates
as serial numbers (days since 1899-12-30), booleans as bool, empty cells as "", formulas as their
last computed value; trailing empty cells and rows are dropped, as the API drops them. A CSV file
has no types: every cell is text, as a clerk typed it or as the exporting program printed it.

Anything that stops the file from being read raises :class:`SheetFileError` with one Thai line
saying what is wrong and what to do; whatever the sheet holds is the validator's business.
"""

from __future__ import annotations

import csv
import io
import math
import zipfile
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any

from schoolnet.contract import load_contract
from schoolnet.validation.normalize import DateSerial, DateTimeSerial, fold, shown_date

# Spreadsheet serials count days from here on the sheet's wall clock, no zone: naive on purpose.
SERIAL_EPOCH = datetime(1899, 12, 30)  # noqa: DTZ001
OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # an OLE compound file (.xls, encrypted)
XLSX_SUFFIXES = (".xlsx", ".xlsm")
TEXT_SUFFIXES = (".csv", ".tsv", ".txt")
_UTF16_BOMS = (b"\xff\xfe", b"\xfe\xff")
_SNIFF_LINES = 20


class SheetFileError(Exception):
    """The file cannot be read at all; the message is one Thai line for whoever ran the check."""


def _text(key: str, /, **values: object) -> str:
    """The contract's Thai sentence about a file the clerk sent (what is wrong, what to do)."""
    return load_contract().file_text(key, **values)


def read_sheet_file(path: Path, data_tab: str | None = None) -> tuple[list[list[Any]], str | None]:
    """The cells of a district sheet file and the title of the tab read (None for CSV).

    An ``.xlsx`` file is read from its data tab (the contract's ``โรงเรียน``), else its first
    tab; the title is returned so the validator can warn that the data tab is missing. A
    ``.csv`` file (UTF-8 with or without a byte-order mark, UTF-16 as Excel's "Unicode text"
    writes it, or Windows Thai) has a single tab without a title.
    """
    path = Path(path)
    if not path.exists():
        raise SheetFileError(_text("file_not_found", path=path))
    if not path.is_file():
        raise SheetFileError(_text("file_not_a_file", path=path))
    suffix = path.suffix.lower()
    if suffix == ".xls":
        # Often not the old format at all: a web page or a workbook under the wrong name.
        kind = _sniff(path)
        if kind == "zip":
            suffix = ".xlsx"
        elif kind in ("ole", "html"):
            _refuse(path, kind)
    if suffix not in XLSX_SUFFIXES + TEXT_SUFFIXES:
        raise SheetFileError(_text("file_wrong_type", name=path.name))
    try:
        if suffix in XLSX_SUFFIXES:
            tab = data_tab if data_tab is not None else load_contract().data_tab
            return _read_xlsx(path, tab)
        return _read_text(path.read_bytes(), path.name), None
    except OSError as error:
        raise SheetFileError(
            _text("file_unopenable", name=path.name, error=error.strerror or error)
        ) from None


# ---------------------------------------------------------------------------------------------
# .xlsx


class Uncomputed(str):
    """A formula cell whose file keeps no computed value (a program that writes formulas
    without calculating them): its text is the formula, not an empty cell."""


def _sniff(path: Path) -> str:
    """What a workbook file really is by its first bytes: ole, zip, html or other."""
    with path.open("rb") as stream:
        head = stream.read(1024)
    if head.startswith(OLE_MAGIC):
        return "ole"
    if head.startswith(b"PK"):
        return "zip"
    text = head.lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    if text.startswith((b"<!doctype html", b"<html", b"<?xml")) or b"<table" in text:
        return "html"
    return "other"


def _refuse(path: Path, kind: str) -> None:
    """One Thai line for a workbook that is not one this command can read."""
    if kind == "ole":
        # Excel saves a workbook with a password to open as an OLE compound file holding an
        # "EncryptedPackage" stream; an OLE file without one is the old .xls format.
        if "EncryptedPackage".encode("utf-16-le") in path.read_bytes():
            raise SheetFileError(_text("file_password", name=path.name))
        raise SheetFileError(_text("file_old_xls", name=path.name))
    if kind == "html":
        raise SheetFileError(_text("file_html", name=path.name))
    raise SheetFileError(_text("file_not_xlsx", name=path.name))


def _read_xlsx(path: Path, data_tab: str) -> tuple[list[list[Any]], str]:
    import openpyxl  # imported here: only this command needs it

    kind = _sniff(path)
    if kind != "zip" or not zipfile.is_zipfile(path):
        _refuse(path, kind)
    try:
        # Not read-only mode: it trusts the file's stated size, which some programs write wrong.
        # Read from the bytes, not the name: a workbook saved as ``.xls`` is still read.
        workbook = openpyxl.load_workbook(io.BytesIO(path.read_bytes()), data_only=True)
    except Exception:  # noqa: BLE001 - openpyxl raises many kinds on a damaged file: one answer
        raise SheetFileError(_text("file_damaged", name=path.name)) from None
    try:
        sheets = workbook.worksheets
        if not sheets:
            raise SheetFileError(_text("file_no_tabs", name=path.name))
        # Tab names match as headers do: "โรงเรียน " or one typed with a look-alike is the tab.
        titles = [fold(sheet.title) for sheet in sheets]
        wanted = fold(data_tab)
        sheet = sheets[titles.index(wanted)] if wanted in titles else sheets[0]
        values = [
            [_xlsx_cell(cell.value, cell.number_format) for cell in row]
            for row in sheet.iter_rows()
        ]
        if any(cell == "" for row in values for cell in row):
            _mark_uncomputed(path, sheet.title, values)
        return _trim(values), sheet.title
    finally:
        workbook.close()


def _mark_uncomputed(path: Path, title: str, values: list[list[Any]]) -> None:
    """Give the empty cells that hold a formula their formula as an :class:`Uncomputed`."""
    import openpyxl

    formulas = openpyxl.load_workbook(io.BytesIO(path.read_bytes()), data_only=False)
    try:
        rows = formulas[title].iter_rows(values_only=True)
        for row_values, row in zip(values, rows, strict=False):
            for index, formula in enumerate(row[: len(row_values)]):
                if row_values[index] == "" and isinstance(formula, str) and formula[:1] == "=":
                    row_values[index] = Uncomputed(formula)
    finally:
        formulas.close()


def _xlsx_cell(value: Any, number_format: str = "General") -> Any:
    """One cell as the Sheets API's UNFORMATTED_VALUE + SERIAL_NUMBER would give it; a date
    cell's serial number remembers how the cell showed the date (``DateSerial``)."""
    if value is None:
        return ""
    if isinstance(value, bool | str):
        return value
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        if math.isfinite(value) and value.is_integer():
            return int(value)
        return value
    if isinstance(value, datetime):
        serial = _serial(value - SERIAL_EPOCH.replace(tzinfo=value.tzinfo))
        shown = shown_date(value, number_format)
        if isinstance(serial, int):
            return DateSerial(serial, shown)
        return DateTimeSerial(serial, shown)
    if isinstance(value, date):
        return DateSerial((value - SERIAL_EPOCH.date()).days, shown_date(value, number_format))
    if isinstance(value, time):
        return _serial(timedelta(hours=value.hour, minutes=value.minute, seconds=value.second))
    if isinstance(value, timedelta):
        return _serial(value)
    return str(value)


def _serial(span: timedelta) -> int | float:
    """Days (with a fraction for a time of day) as Sheets writes a serial number."""
    days = span.days + (span.seconds + span.microseconds / 1_000_000) / 86_400
    return int(days) if float(days).is_integer() else days


# ---------------------------------------------------------------------------------------------
# .csv


def _decode(data: bytes, name: str) -> str:
    if data.startswith(_UTF16_BOMS):
        try:
            return data.decode("utf-16")
        except UnicodeDecodeError:
            raise SheetFileError(_text("csv_bad_utf16", name=name)) from None
    if b"\x00" in data:
        raise SheetFileError(_text("csv_binary", name=name))
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass
    try:
        # Excel on a Thai Windows saves "CSV (Comma delimited)" in the Windows Thai code page.
        return data.decode("cp874")
    except UnicodeDecodeError:
        raise SheetFileError(_text("csv_not_utf8", name=name)) from None


def _delimiter(text: str) -> str:
    """Tab for Excel's "Unicode text" (tab-separated), else comma."""
    sample = text.splitlines()[:_SNIFF_LINES]
    tabs = sum(line.count("\t") for line in sample)
    commas = sum(line.count(",") for line in sample)
    return "\t" if tabs and tabs >= commas else ","


def _read_text(data: bytes, name: str) -> list[list[Any]]:
    text = _decode(data, name)
    try:
        rows = list(csv.reader(io.StringIO(text, newline=""), delimiter=_delimiter(text)))
    except csv.Error as error:
        raise SheetFileError(_text("csv_unreadable", name=name, error=error)) from None
    return _trim([list(row) for row in rows])


def _trim(rows: list[list[Any]]) -> list[list[Any]]:
    """Drop trailing empty cells of each row and trailing empty rows, as the Sheets API does."""
    for row in rows:
        while row and row[-1] == "":
            row.pop()
    while rows and not rows[-1]:
        rows.pop()
    return rows


__all__ = ["SheetFileError", "Uncomputed", "read_sheet_file"]
