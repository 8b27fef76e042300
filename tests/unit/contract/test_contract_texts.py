"""The contract's Thai sentences: named placeholders, and every one the code asks for exists."""

from __future__ import annotations

import re
import string

from schoolnet.contract import load_contract
from schoolnet.core.paths import project_root

PACKAGE = project_root() / "plugins" / "schoolnet"


def _keys(path: str, call: str) -> set[str]:
    """Literal first arguments of ``call(...)`` in one module of the package."""
    source = (PACKAGE / path).read_text(encoding="utf-8")
    return set(re.findall(rf"""\b{call}\(\s*["']([a-z0-9_]+)["']""", source))


def test_placeholders_are_named() -> None:
    contract = load_contract()
    sections = {**contract.sheet_texts, **contract.file_texts, **contract.instruction_texts}
    for name, text in sections.items():
        fields = [field for _, field, _, _ in string.Formatter().parse(text) if field is not None]
        assert all(field and not field.isdigit() for field in fields), name


def test_every_file_text_used_exists() -> None:
    used = _keys("validation/files.py", "_text") | _keys("cli/validate.py", "_TEXT")
    assert used, "no call found: the scan is broken"
    assert sorted(used - set(load_contract().file_texts)) == []


def test_every_instruction_text_used_exists() -> None:
    used = _keys("operations/provision.py", "instruction_text") | _keys(
        "operations/provision.py", "text"
    )
    assert used, "no call found: the scan is broken"
    assert sorted(used - set(load_contract().instruction_texts)) == []
