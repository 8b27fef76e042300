"""The raw landing: every sheet read kept exactly as Google returned it, per report date.

A day's file for an ESA is one of three things:
- a read: the cells as returned, with the sheet's Drive ``modifiedTime`` and the calls it cost;
- a reuse: a pointer to the day whose read still holds, because the sheet did not change since;
- a failure: why the sheet could not be read.
So any day can be validated and merged again later without calling Google (replay).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from schoolnet.core.config import Settings
from schoolnet.core.files import GROUP_READABLE, write_atomically


@dataclass(frozen=True)
class SheetFailure:
    code: str
    reason: str  # Thai, for the ESA and the report
    detail: str  # technical, for the operator


@dataclass(frozen=True)
class RawSheet:
    """One ESA's sheet for one report date, as landed."""

    esa_code: str
    spreadsheet_id: str
    values: list[list[Any]]
    tab: str | None
    used_first_tab: bool
    api_calls: int
    sheet_modified_time: str | None
    origin_date: date | None  # the day these values were read from Google
    failure: SheetFailure | None = None

    @property
    def reused(self) -> bool:
        return self.failure is None and self.api_calls == 0 and self.origin_date is not None

    @property
    def data_digest(self) -> str | None:
        """SHA-256 of the data tab's values (None when the sheet was not read): it changes
        when the clerk's data does, and never when we write the feedback tab."""
        if self.failure is not None:
            return None
        text = json.dumps(self.values, ensure_ascii=False, separators=(",", ":"), default=str)
        return hashlib.sha256(text.encode("utf-8")).hexdigest()


def write_json(path: Path, payload: Any) -> None:
    """Write JSON whole or not at all, readable by the operator's group (see ``atomicfile``)."""
    text = json.dumps(payload, ensure_ascii=False, separators=(",", ":"), default=str)
    write_atomically(path, text, mode=GROUP_READABLE)


def raw_path(settings: Settings, report_date: date, esa_code: str) -> Path:
    return settings.storage.raw_dir(report_date.isoformat()) / f"{esa_code}.json"


def land_read(settings: Settings, report_date: date, sheet: RawSheet) -> None:
    payload: dict[str, Any] = {
        "esa_code": sheet.esa_code,
        "spreadsheet_id": sheet.spreadsheet_id,
        "read_at": datetime.now(UTC).isoformat(),
        "sheet_modified_time": sheet.sheet_modified_time,
        "api_calls": sheet.api_calls,
    }
    if sheet.failure is not None:
        payload["failure"] = vars(sheet.failure)
    elif sheet.reused:
        assert sheet.origin_date is not None
        payload["reused_from"] = sheet.origin_date.isoformat()
    else:
        payload.update(tab=sheet.tab, used_first_tab=sheet.used_first_tab, values=sheet.values)
    write_json(raw_path(settings, report_date, sheet.esa_code), payload)


def load_raw(settings: Settings, report_date: date, esa_code: str) -> RawSheet | None:
    """The ESA's landed sheet for the date, following a reuse to the read it points at."""
    path = raw_path(settings, report_date, esa_code)
    if not path.exists():
        return None
    raw = json.loads(path.read_text(encoding="utf-8"))
    failure = raw.get("failure")
    if failure is not None:
        return RawSheet(
            esa_code=esa_code,
            spreadsheet_id=raw["spreadsheet_id"],
            values=[],
            tab=None,
            used_first_tab=False,
            api_calls=raw["api_calls"],
            sheet_modified_time=raw.get("sheet_modified_time"),
            origin_date=None,
            failure=SheetFailure(**failure),
        )
    if "reused_from" in raw:
        origin = load_raw(settings, date.fromisoformat(raw["reused_from"]), esa_code)
        if origin is None or origin.failure is not None or origin.reused:
            return None
        return RawSheet(
            esa_code=esa_code,
            spreadsheet_id=raw["spreadsheet_id"],
            values=origin.values,
            tab=origin.tab,
            used_first_tab=origin.used_first_tab,
            api_calls=0,
            sheet_modified_time=raw.get("sheet_modified_time"),
            origin_date=origin.origin_date,
        )
    return RawSheet(
        esa_code=esa_code,
        spreadsheet_id=raw["spreadsheet_id"],
        values=raw["values"],
        tab=raw["tab"],
        used_first_tab=raw["used_first_tab"],
        api_calls=raw["api_calls"],
        sheet_modified_time=raw.get("sheet_modified_time"),
        origin_date=report_date,
    )
