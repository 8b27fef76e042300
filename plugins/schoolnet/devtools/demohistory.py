"""The demo's earlier mornings: the data set's days before the one the DAG runs for, validated
and merged through the pipeline's own steps from the sheet files, so that the demo's report shows
two weeks of progress (its trend chart, the change since yesterday, the full-coverage estimate)
without fourteen DAG runs. Only the Google read is skipped: the values are the data set's sheets
as they stood each morning."""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import date
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, select

from schoolnet.core.config import Settings
from schoolnet.core.registry import read_esas
from schoolnet.devtools.emulator.state import Bounds, read_values
from schoolnet.ingestion.ingest import VALUE_PARAMS
from schoolnet.ingestion.landing import RawSheet
from schoolnet.orchestration.merge import merge
from schoolnet.orchestration.registries import load_school_registry
from schoolnet.orchestration.validate import validate_landed
from schoolnet.warehouse import ensure_schema
from schoolnet.warehouse.models import DailyCountRow


def _sheets_on(demo_dir: Path, day: date) -> dict[str, Path]:
    """Each spreadsheet's file as it stood on the morning of ``day`` (its last edit before)."""
    chosen: dict[str, Path] = {}
    for folder in sorted((demo_dir / "days").iterdir()):
        if folder.is_dir() and date.fromisoformat(folder.name) <= day:
            chosen.update({path.stem: path for path in folder.glob("*.json")})
    return chosen


def _as_read(tab: dict[str, Any]) -> list[list[Any]]:
    """The stored tab as the pull reads it: the emulator's own rendering with the pull's value
    options (``ingest.VALUE_PARAMS``: unformatted values, dates as serial numbers, ragged)."""
    return read_values(
        tab,
        Bounds(0, 0, None, None),
        VALUE_PARAMS["valueRenderOption"],
        VALUE_PARAMS["dateTimeRenderOption"],
    )


def seed_history(settings: Settings, engine: Engine, demo_dir: Path, days: Iterable[date]) -> int:
    """Merge each of ``days`` not yet in the warehouse; the number merged."""
    ensure_schema(engine)
    with engine.connect() as conn:
        merged = set(conn.scalars(select(DailyCountRow.report_date)))
    esas = read_esas(settings.registry.esas)
    schools = load_school_registry(settings)
    count = 0
    for day in days:
        if day in merged:
            continue
        sheets = _sheets_on(demo_dir, day)
        for esa in esas:
            doc = json.loads(sheets[esa.spreadsheet_id].read_text(encoding="utf-8"))
            tab = doc["sheets"][0]
            sheet = RawSheet(
                esa_code=esa.esa_code,
                spreadsheet_id=esa.spreadsheet_id,
                values=_as_read(tab),
                tab=tab["title"],
                used_first_tab=False,
                api_calls=0,
                sheet_modified_time=doc["modifiedTime"],
                origin_date=day,
            )
            validate_landed(esa, day, sheet, settings, schools, engine)
        merge(day, settings, engine)
        count += 1
    return count
