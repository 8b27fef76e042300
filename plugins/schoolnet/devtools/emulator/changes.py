"""Drive's changes feed for the emulator: ``changes/startPageToken`` and ``changes.list``.

Google keeps, per user, a numbered log of changes to the files that user can see; a page token
is a position in it and never expires. The emulator derives the same log from its state
directory: before every changes call it compares each visible spreadsheet's ``modifiedTime``
with what it last saw (kept in ``STATE/changes.json``), and numbers every difference as a
change. So every way a spreadsheet can change counts alike: an API write (the service account,
``lastModifyingUser.me``), a clerk's edit with ``edit_cell`` or on disk, a new file, and a file
that is deleted or no longer shared (a ``removed`` change, as Drive reports lost access).

Like Drive, the log keeps only the latest change of each file: an older token still sees every
file that changed since, once, with its current state.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from schoolnet.devtools.emulator import state
from schoolnet.devtools.emulator.state import Doc, drive_error

CHANGES_FILE = "changes.json"
SPACES = ("drive", "appDataFolder", "photos")
DEFAULT_CHANGE_FIELDS = ("kind", "changeType", "time", "removed", "fileId", "file", "type")


@dataclass(frozen=True)
class Change:
    """One numbered entry of the log: a file changed (or was removed) at ``time``."""

    number: int
    file_id: str
    time: str
    removed: bool


class ChangeLog:
    """The numbered change log of one state directory (call under the store's lock)."""

    def __init__(self, state_dir: Path) -> None:
        self.path = Path(state_dir) / CHANGES_FILE
        self._loaded: dict[str, Any] | None = None

    def _data(self) -> dict[str, Any] | None:
        if self._loaded is None and self.path.exists():
            try:
                loaded = json.loads(self.path.read_text(encoding="utf-8"))
            except json.JSONDecodeError as exc:
                raise state.EmulatorError(f"{CHANGES_FILE} is not valid JSON: {exc}") from None
            self._loaded = loaded if isinstance(loaded, dict) else None
        return self._loaded

    def sync(self, docs: Iterable[Doc]) -> int:
        """Number every change since the last sync; returns the next change number.

        The first sync only records what exists: changes are what happens after it.
        """
        current = {doc["spreadsheetId"]: str(doc["modifiedTime"]) for doc in docs}
        data = self._data()
        if data is None:
            data = {"next": 1, "known": current, "log": []}
            self._save(data)
            return 1
        known: dict[str, str] = data["known"]
        found: list[tuple[str, str, bool]] = [
            (stamp, file_id, False)
            for file_id, stamp in current.items()
            if known.get(file_id) != stamp
        ]
        now = state.now_rfc3339()
        found += [(now, file_id, True) for file_id in known if file_id not in current]
        if not found:
            return int(data["next"])
        changed = {file_id for _, file_id, _ in found}
        log = [entry for entry in data["log"] if entry[1] not in changed]
        number = int(data["next"])
        for stamp, file_id, removed in sorted(found):
            log.append([number, file_id, stamp, removed])
            number += 1
        data.update(next=number, known=current, log=log)
        self._save(data)
        return number

    def since(self, token: int) -> list[Change]:
        data = self._data() or {"log": []}
        return [Change(*entry) for entry in data["log"] if entry[0] >= token]

    def _save(self, data: dict[str, Any]) -> None:
        state.atomic_write_json(self.path, data)
        self._loaded = data


def parse_token(text: str | None, next_number: int) -> int:
    """A page token is a change number; one from the future or not a number is refused."""
    if not text:
        raise drive_error(400, "Required parameter: pageToken", "required", "pageToken")
    if not text.isdigit() or not 1 <= int(text) <= next_number:
        raise drive_error(400, "Invalid Value", "invalid", "pageToken")
    return int(text)


def check_spaces(text: str | None) -> bool:
    """Whether the asked ``spaces`` include My Drive (the spreadsheets live there)."""
    spaces = [part.strip() for part in (text or "drive").split(",") if part.strip()]
    if not spaces or any(space not in SPACES for space in spaces):
        raise drive_error(400, "Invalid Value", "invalid", "spaces")
    return "drive" in spaces


def change_list(
    changes: list[Change],
    next_number: int,
    page_size: int,
    include_removed: bool,
    file_of: Callable[[str], dict[str, Any] | None],
) -> dict[str, Any]:
    """One page of a ChangeList: ``nextPageToken`` if more remain, else ``newStartPageToken``."""
    page = changes[:page_size]
    response: dict[str, Any] = {"kind": "drive#changeList"}
    if len(changes) > page_size:
        response["nextPageToken"] = str(changes[page_size].number)
    else:
        response["newStartPageToken"] = str(next_number)
    items = []
    for change in page:
        item: dict[str, Any] = {
            "kind": "drive#change",
            "changeType": "file",
            "type": "file",
            "time": change.time,
            "removed": change.removed,
            "fileId": change.file_id,
        }
        resource = None if change.removed else file_of(change.file_id)
        if resource is None:
            item["removed"] = True  # gone since the change was logged
        else:
            item["file"] = resource
        if include_removed or not item["removed"]:
            items.append(item)
    response["changes"] = items
    return response
