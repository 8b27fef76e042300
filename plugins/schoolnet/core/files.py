"""Files written whole or not at all, and on disk when the writer returns: the one way
schoolnet writes a file.

A crash, a full disk or a refused check never leaves half a file for the next step (the merge
reading a validation result, the send reading the rendered report, Airflow reading the
registry): the content goes to a temporary file in the same folder, is flushed and fsynced,
then renamed over the target, and the folder is fsynced so that the rename survives a power
cut. On any error the temporary file is removed and the old file is left as it was.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

NEW_FILE_MODE = 0o644  # a new file's permissions unless the caller says otherwise
# Landings, validation results and reports: the owner and the operator's group read them,
# nobody else (they hold every school's contacts and costs).
GROUP_READABLE = 0o640


@contextmanager
def replacing(
    path: Path,
    *,
    mode: int | None = None,
    keep_previous: bool = False,
    check: Callable[[Path], Any] | None = None,
) -> Iterator[Path]:
    """A temporary path to write ``path``'s new content to; it replaces ``path`` when the
    block ends without an error (for writers that want a file name, such as pandas).

    ``mode``: the new file's permissions (default: the old file's, else ``NEW_FILE_MODE``);
    ``check`` may refuse the new file before it replaces the old; ``keep_previous`` keeps the
    old file as ``<path>.previous``.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor, name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(descriptor)
    temporary = Path(name)
    try:
        yield temporary
        if mode is None:
            mode = path.stat().st_mode & 0o7777 if path.exists() else NEW_FILE_MODE
        os.chmod(temporary, mode)
        _fsync(temporary, os.O_RDONLY)
        if check is not None:
            check(temporary)
        if keep_previous and path.exists():
            os.replace(path, path.with_name(path.name + ".previous"))
        os.replace(temporary, path)
        _fsync(path.parent, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    finally:
        temporary.unlink(missing_ok=True)


def write_atomically(
    path: Path,
    content: bytes | str,
    *,
    mode: int | None = None,
    keep_previous: bool = False,
    check: Callable[[Path], Any] | None = None,
) -> None:
    """Write ``content`` (text as UTF-8) to ``path`` whole or not at all (see :func:`replacing`)."""
    data = content.encode("utf-8") if isinstance(content, str) else content
    with replacing(path, mode=mode, keep_previous=keep_previous, check=check) as temporary:
        temporary.write_bytes(data)


def _fsync(path: Path, flags: int) -> None:
    descriptor = os.open(path, flags)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)
