"""Files written whole or not at all: the raw landing and the rendered report both need it."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path


def write_atomically(path: Path, content: bytes, mode: int = 0o640) -> None:
    """Write the whole file or nothing, so a crash never leaves half a file for the next step
    (a temporary file in the same folder, renamed over ``path``).

    ``mode``: the temporary file is made readable by its owner only; the file it becomes is
    readable by the owner's group too (the operator's, who reads reports and landings), by
    default, and by nobody else.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.fchmod(handle, mode)
    with os.fdopen(handle, "wb") as stream:
        stream.write(content)
    os.replace(temporary, path)
