"""Files written whole or not at all, on disk when the writer returns, no temporary left."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from schoolnet.core import files
from schoolnet.core.files import GROUP_READABLE, replacing, write_atomically


def leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.endswith(".tmp"))


def test_writes_text_and_bytes_with_the_asked_permissions(tmp_path: Path) -> None:
    target = tmp_path / "deep" / "er" / "result.json"
    write_atomically(target, '{"ผล": 1}', mode=GROUP_READABLE)
    assert target.read_text(encoding="utf-8") == '{"ผล": 1}'
    assert stat.S_IMODE(target.stat().st_mode) == 0o640
    write_atomically(target, b"\x00\x01")
    assert target.read_bytes() == b"\x00\x01"
    assert stat.S_IMODE(target.stat().st_mode) == 0o640  # the old file's permissions kept
    fresh = tmp_path / "fresh.txt"
    write_atomically(fresh, "x")
    assert stat.S_IMODE(fresh.stat().st_mode) == files.NEW_FILE_MODE
    assert leftovers(tmp_path) == [] and leftovers(target.parent) == []


def test_the_file_and_its_folder_are_fsynced(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    synced: list[str] = []
    real_fsync = os.fsync

    def recording_fsync(descriptor: int) -> None:
        synced.append(os.readlink(f"/proc/self/fd/{descriptor}"))
        real_fsync(descriptor)

    monkeypatch.setattr(os, "fsync", recording_fsync)
    target = tmp_path / "report.html"
    write_atomically(target, "<p>")
    assert str(tmp_path) in synced  # the rename is durable
    assert any(Path(path).parent == tmp_path and path != str(tmp_path) for path in synced)


def test_a_refused_check_keeps_the_old_file_and_removes_the_temporary(tmp_path: Path) -> None:
    target = tmp_path / "esas.csv"
    target.write_text("old", encoding="utf-8")

    def refuse(path: Path) -> None:
        raise ValueError(f"not a registry: {path.read_text(encoding='utf-8')}")

    with pytest.raises(ValueError, match="not a registry: new"):
        write_atomically(target, "new", check=refuse)
    assert target.read_text(encoding="utf-8") == "old"
    assert leftovers(tmp_path) == []


def test_an_error_while_writing_keeps_the_old_file(tmp_path: Path) -> None:
    target = tmp_path / "snapshot.csv"
    target.write_text("old", encoding="utf-8")
    with pytest.raises(RuntimeError), replacing(target) as temporary:
        temporary.write_text("half", encoding="utf-8")
        raise RuntimeError("the disk filled up")
    assert target.read_text(encoding="utf-8") == "old"
    assert leftovers(tmp_path) == []


def test_keep_previous_keeps_the_old_file_beside_the_new(tmp_path: Path) -> None:
    key = tmp_path / "key.json"
    key.write_text("old key", encoding="utf-8")
    write_atomically(key, "new key", mode=0o600, keep_previous=True)
    assert key.read_text(encoding="utf-8") == "new key"
    assert (tmp_path / "key.json.previous").read_text(encoding="utf-8") == "old key"
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
