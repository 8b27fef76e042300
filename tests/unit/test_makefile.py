"""`make help` is the list of targets people read first: every phony target has its line, and
`make` alone prints it."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

pytestmark = pytest.mark.skipif(shutil.which("make") is None, reason="needs make")

ROOT = Path(__file__).resolve().parents[2]


def _phony() -> list[str]:
    text = (ROOT / "Makefile").read_text(encoding="utf-8")
    declared = re.findall(r"^\.PHONY:(.*)$", text, re.MULTILINE)
    assert declared, "the Makefile declares its targets .PHONY"
    return [name for line in declared for name in line.split()]


def _make(*words: str) -> str:
    done = subprocess.run(
        ["make", "--no-print-directory", "-C", str(ROOT), *words],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    return done.stdout


def test_help_lists_every_target_once_with_a_line_of_text() -> None:
    listed = [line.split(None, 1) for line in _make("help").splitlines() if line.strip()]
    names = [words[0] for words in listed]
    assert sorted(names) == sorted(_phony())
    assert len(names) == len(set(names))
    assert all(len(words) == 2 and words[1].strip() for words in listed), listed


def test_make_alone_prints_the_help() -> None:
    assert _make() == _make("help")
