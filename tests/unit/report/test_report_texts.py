"""The report's text catalogue: every text the code asks for exists, and every text is used."""

from __future__ import annotations

import re
import string
from pathlib import Path

import pytest

from schoolnet.core.paths import project_root
from schoolnet.report.texts import ReportTextError, report_text, report_texts

# A call names its text as a literal: report_text("map_title", ...).
_CALL = re.compile(r"""report_text\(\s*["']([a-z0-9_]+)["']""")


def _names_used() -> set[str]:
    root = project_root()
    sources = [*(root / "plugins").rglob("*.py"), *(root / "dags").rglob("*.py")]
    return {name for path in sources for name in _CALL.findall(path.read_text(encoding="utf-8"))}


def test_every_text_used_is_in_the_catalogue() -> None:
    used = _names_used()
    assert used, "no report_text call found: the scan is broken"
    assert sorted(used - set(report_texts())) == []


def test_every_text_in_the_catalogue_is_used() -> None:
    assert sorted(set(report_texts()) - _names_used()) == []


def test_placeholders_are_named() -> None:
    """A positional {} or {0} could be filled in the wrong order; every placeholder has a name."""
    for name, text in report_texts().items():
        fields = [field for _, field, _, _ in string.Formatter().parse(text) if field is not None]
        assert all(field and not field.isdigit() for field in fields), name


def test_a_missing_placeholder_is_an_error_not_a_blank() -> None:
    with pytest.raises(KeyError):
        report_text("progress_title")
    assert report_text("progress_title", date="16 มกราคม 2561") == (
        "โรงเรียนที่มีอินเทอร์เน็ต ถึง 16 มกราคม 2561"
    )


def test_a_catalogue_that_is_not_a_flat_mapping_is_refused(tmp_path: Path) -> None:
    folder = tmp_path
    (folder / "report_texts.yaml").write_text("title:\n  nested: x\n", encoding="utf-8")
    with pytest.raises(ReportTextError):
        report_texts(folder)
