"""The report's Thai wording, read once from ``templates/report_texts.yaml``.

Sentences a reader sees (subjects, titles, captions, alt texts) live beside the templates, not
in Python, so wording is changed in one place; what concerns one ESA's sheet is in the contract.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

import yaml

from schoolnet.core.paths import templates_dir

CATALOGUE = "report_texts.yaml"


class ReportTextError(ValueError):
    """The catalogue is not a flat mapping of names to Thai strings."""


@cache
def report_texts(folder: Path | None = None) -> dict[str, str]:
    """Every text of the catalogue by name (read once per process and folder)."""
    path = (folder or templates_dir()) / CATALOGUE
    raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    if not isinstance(raw, dict) or not all(
        isinstance(key, str) and isinstance(value, str) for key, value in raw.items()
    ):
        raise ReportTextError(f"{path}: expected a mapping of names to strings")
    return dict(raw)


def report_text(key: str, /, **values: object) -> str:
    """The text called ``key``, its named placeholders filled in (a missing one raises)."""
    return report_texts()[key].format(**values)
