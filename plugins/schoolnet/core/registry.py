"""The ESA and school registries (``esas.csv`` and ``schools.csv`` in the contract's shape)."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any, Literal, TypeGuard

EsaLevel = Literal["primary", "secondary"]


def is_esa_level(value: str) -> TypeGuard[EsaLevel]:
    """Whether ``value`` is one of the two ESA levels (narrows it for the type checker)."""
    return value in ("primary", "secondary")


@dataclass(frozen=True)
class Esa:
    esa_code: str
    esa_name: str
    level: EsaLevel
    province: str
    spreadsheet_id: str
    contact_email: str


@dataclass(frozen=True)
class School:
    school_code: str
    school_name: str
    esa_code: str
    province: str
    students: int


class RegistryError(ValueError):
    """A registry file is missing, unreadable or not in the contract's shape."""


def _read_rows(path: Path, expected: tuple[str, ...]) -> list[dict[str, str]]:
    try:
        with path.open(encoding="utf-8-sig", newline="") as handle:
            reader = csv.DictReader(handle)
            missing = [name for name in expected if name not in (reader.fieldnames or [])]
            if missing:
                raise RegistryError(f"{path}: missing column(s) {', '.join(missing)}")
            return [{k: (v or "").strip() for k, v in row.items() if k} for row in reader]
    except OSError as error:
        raise RegistryError(f"cannot read registry {path}: {error.strerror}") from error


def read_esas(path: Path) -> list[Esa]:
    names = tuple(f.name for f in fields(Esa))
    return _esas(_read_rows(path, names), str(path))


def esas_from_values(values: list[list[Any]], source: str) -> list[Esa]:
    """The ESA registry kept in a Google Sheet: a header row of the CSV's column names, then
    one ESA a row (cells as the Sheets API returns them)."""
    if not values:
        raise RegistryError(f"{source}: the registry sheet is empty")
    header = [str(cell).strip() for cell in values[0]]
    names = tuple(f.name for f in fields(Esa))
    missing = [name for name in names if name not in header]
    if missing:
        raise RegistryError(f"{source}: missing column(s) {', '.join(missing)}")
    rows = []
    for raw in values[1:]:
        cells = [str(cell).strip() for cell in raw] + [""] * (len(header) - len(raw))
        row = dict(zip(header, cells, strict=False))
        if any(row.get(name) for name in names):
            rows.append(row)
    return _esas(rows, source)


def _esas(rows: list[dict[str, str]], source: str) -> list[Esa]:
    esas = []
    for number, row in enumerate(rows, start=2):
        level = row["level"]
        if not is_esa_level(level):
            raise RegistryError(
                f"{source}:{number}: level must be primary or secondary, not {level!r}"
            )
        esas.append(
            Esa(
                esa_code=row["esa_code"],
                esa_name=row["esa_name"],
                level=level,
                province=row["province"],
                spreadsheet_id=row["spreadsheet_id"],
                contact_email=row["contact_email"],
            )
        )
    codes = [esa.esa_code for esa in esas]
    duplicates = sorted({code for code in codes if codes.count(code) > 1})
    if duplicates:
        raise RegistryError(f"{source}: ESA code(s) listed twice: {', '.join(duplicates)}")
    return esas


def read_schools(path: Path) -> list[School]:
    names = tuple(f.name for f in fields(School))
    schools = []
    for number, row in enumerate(_read_rows(path, names), start=2):
        try:
            students = int(row["students"] or 0)
        except ValueError as error:
            raise RegistryError(f"{path}:{number}: students is not a whole number") from error
        schools.append(
            School(
                school_code=row["school_code"],
                school_name=row["school_name"],
                esa_code=row["esa_code"],
                province=row["province"],
                students=students,
            )
        )
    return schools


def write_csv(path: Path, records: Iterable[Esa | School]) -> None:
    """The registry in the contract's CSV shape, written whole (an empty file for no records)."""
    from schoolnet.core.files import write_atomically

    records = list(records)
    buffer = io.StringIO(newline="")
    if records:
        writer = csv.DictWriter(buffer, fieldnames=[f.name for f in fields(records[0])])
        writer.writeheader()
        for record in records:
            writer.writerow(asdict(record))
    write_atomically(path, buffer.getvalue())


def schools_by_code(schools: Iterable[School]) -> Mapping[str, School]:
    return {school.school_code: school for school in schools}
