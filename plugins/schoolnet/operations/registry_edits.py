"""The operator's edits of the ESA registry file (``schoolnet esa add|update|retire``): a new
entry checked field by field, lines added, replaced or removed in place and atomically, and
each change with its reason kept in the warehouse."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import Engine, insert

from schoolnet.core.files import write_atomically
from schoolnet.core.registry import Esa, RegistryError, is_esa_level, read_esas
from schoolnet.report.texts import report_text
from schoolnet.warehouse.models import RegistryChangeRow

ESA_CODE = re.compile(r"\d{6}")
SHEET_ID = re.compile(r"[A-Za-z0-9_-]{25,100}")
SHEET_URL = re.compile(r"/spreadsheets/d/([A-Za-z0-9_-]+)")
EMAIL = re.compile(r"[^@\s,;<>]+@[^@\s,;<>]+\.[^@\s,;<>]+")


def sheet_id_of(text: str) -> str:
    """The spreadsheet id, given the id or the sheet's address as the browser shows it."""
    text = text.strip()
    match = SHEET_URL.search(text)
    return match.group(1) if match else text


def new_esa(
    *,
    code: str,
    name: str,
    province: str,
    level: str,
    sheet: str,
    contact: str,
    registry: Sequence[Esa],
) -> Esa:
    """A registry entry for a new ESA, refused (in Thai and English) if any field is wrong or
    the code or sheet is already registered."""
    code, name, province, contact = code.strip(), name.strip(), province.strip(), contact.strip()
    sheet_id = sheet_id_of(sheet)
    problems = []
    if not ESA_CODE.fullmatch(code):
        problems.append(report_text("esa_code_invalid", code=code))
    if not name:
        problems.append(report_text("esa_name_empty"))
    if not province:
        problems.append(report_text("esa_province_empty"))
    if not is_esa_level(level):
        problems.append(report_text("esa_level_invalid", level=level))
    if not SHEET_ID.fullmatch(sheet_id):
        problems.append(report_text("esa_sheet_invalid", sheet=sheet))
    if not EMAIL.fullmatch(contact):
        problems.append(report_text("esa_contact_invalid", contact=contact))
    for other in registry:
        if other.esa_code == code:
            problems.append(report_text("esa_code_taken", code=code, esa_name=other.esa_name))
        if other.spreadsheet_id == sheet_id:
            problems.append(report_text("esa_sheet_taken", other=other.esa_code))
    if problems or not is_esa_level(level):  # the level's problem is among them
        raise RegistryError("; ".join(problems))
    return Esa(code, name, level, province, sheet_id, contact)


def _replace_file(path: Path, text: str) -> None:
    """Replace the registry file, after checking the new one is still a valid ESA registry."""
    write_atomically(path, text, check=read_esas)


def _registry_text(path: Path) -> tuple[str, list[str], str]:
    """The file's text, its header and its line ending."""
    try:
        with path.open(encoding="utf-8", newline="") as handle:  # line endings as they are
            text = handle.read()
    except OSError as error:
        raise RegistryError(f"cannot read registry {path}: {error.strerror}") from error
    header = next(csv.reader(io.StringIO(text.lstrip("\ufeff"))), [])
    return text, header, "\r\n" if "\r\n" in text else "\n"


def add_esa(path: Path, esa: Esa) -> None:
    """Append ``esa`` to the registry file at ``path``, atomically; other lines stay as they are."""
    text, header, newline = _registry_text(path)
    buffer = io.StringIO()
    values = {**esa.__dict__}
    csv.writer(buffer, lineterminator=newline).writerow([values.get(name, "") for name in header])
    if text and not text.endswith(("\n", "\r")):
        text += newline
    _replace_file(path, text + buffer.getvalue())


def retire_esa(path: Path, code: str) -> Esa:
    """Remove ESA ``code`` from the registry file at ``path``, atomically; the entry removed."""
    return _rewrite_entry(path, code, None)


def update_esa(path: Path, esa: Esa) -> Esa:
    """Replace the line of ESA ``esa.esa_code`` in the registry file at ``path`` with ``esa``,
    in its place, atomically; the entry it replaced."""
    return _rewrite_entry(path, esa.esa_code, esa)


def registered_esa(path: Path, code: str) -> Esa:
    """ESA ``code`` of the registry file at ``path``, refused in one line when not there."""
    registry = {esa.esa_code: esa for esa in read_esas(path)}
    if code not in registry:
        raise RegistryError(report_text("esa_not_found", code=code, path=path))
    return registry[code]


def _rewrite_entry(path: Path, code: str, replacement: Esa | None) -> Esa:
    """The registry file without ESA ``code``'s line, or with ``replacement`` in its place;
    the other lines as they were."""
    previous = registered_esa(path, code)
    text, header, newline = _registry_text(path)
    bom = "\ufeff" if text.startswith("\ufeff") else ""
    reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff")))
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=header, lineterminator=newline)
    writer.writeheader()
    for row in reader:
        if (row.get("esa_code") or "").strip() != code:
            writer.writerow({name: row.get(name) or "" for name in header})
        elif replacement is not None:
            values = {**replacement.__dict__}
            writer.writerow({name: values.get(name, row.get(name) or "") for name in header})
    _replace_file(path, bom + buffer.getvalue())
    return previous


def record_registry_change(
    engine: Engine, esa_code: str, action: str, reason: str | None, changed_by: str
) -> None:
    with engine.begin() as conn:
        conn.execute(
            insert(RegistryChangeRow).values(
                changed_at=datetime.now(UTC),
                esa_code=esa_code,
                action=action,
                reason=reason,
                changed_by=changed_by,
            )
        )
