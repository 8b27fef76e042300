"""A small national day for the fault tests: three ESAs of demo data served by the emulator over
HTTP to the real gspread client, validated, and merged into a real warehouse."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, select

from schoolnet.core.config import Settings, load_settings
from schoolnet.core.paths import project_root
from schoolnet.core.registry import Esa, read_esas
from schoolnet.devtools.demo import generate
from schoolnet.devtools.emulator import Emulator, load_day
from schoolnet.ingestion.google import EmulatorSession
from schoolnet.ingestion.ingest import SheetsReader
from schoolnet.orchestration.handoffs import PullSummary
from schoolnet.orchestration.merge import merge
from schoolnet.orchestration.pull import plan_pulls, pull_and_validate
from schoolnet.orchestration.registries import load_school_registry
from schoolnet.warehouse import create_warehouse_engine, ensure_schema
from schoolnet.warehouse.models import SnapshotRow

# The tables a merge writes (the others hold feedback, deliveries and quota clocks).
MERGED_TABLES = (
    "esa",
    "school",
    "esa_history",
    "school_history",
    "pull",
    "finding",
    "snapshot",
    "daily_count",
)


def snapshot(engine: Engine, day: date) -> dict[str, dict[str, Any]]:
    with engine.connect() as conn:
        rows = conn.execute(select(SnapshotRow.__table__).where(SnapshotRow.report_date == day))
        return {row.school_code: dict(row._mapping) for row in rows}


def settings_for(root: Path, demo: Path) -> Settings:
    """The shipped settings, pointed at ``root``, with short backoff for tests. The request
    timeout stays generous, so that a loaded machine's slow answer is not taken for a hang: a
    test of hangs shortens it on its own reader."""
    config = root / "schoolnet.toml"
    template = (project_root() / "config" / "schoolnet.toml").read_text(encoding="utf-8")
    config.write_text(
        template.replace("out/demo-data", str(demo)).replace('"out/', f'"{root}/'),
        encoding="utf-8",
    )
    settings = load_settings(config)
    google = replace(
        settings.google,
        request_timeout_seconds=10,
        max_attempts=3,
        backoff_base_seconds=0.01,
        backoff_max_seconds=0.02,
    )
    return replace(settings, google=google)


@dataclass
class Day:
    """Runs report dates without Airflow, the way the DAG's tasks do."""

    root: Path
    demo: Path
    state: Path
    settings: Settings
    engine: Engine
    emulator: Emulator
    esas: list[Esa]
    days: tuple[date, ...]

    def reader(self, **google: Any) -> SheetsReader:
        settings = replace(self.settings.google, **google)
        return SheetsReader(
            EmulatorSession(self.emulator.base_url), settings, service_account="sa@x.iam"
        )

    def pull(self, day: date, reader: SheetsReader | None = None) -> dict[str, PullSummary]:
        """Plan and pull every ESA of ``day`` (every sheet read), without merging."""
        reader = reader or self.reader()
        schools = load_school_registry(self.settings)
        plan, _ = plan_pulls(self.esas, day, self.settings, reader, self.engine, full_pull=True)
        return {
            esa.esa_code: pull_and_validate(
                esa, day, self.settings, reader, schools, self.engine, entry.modified_time
            )
            for entry, esa in zip(plan, self.esas, strict=True)
        }

    def run(self, day: date, reader: SheetsReader | None = None) -> dict[str, PullSummary]:
        results = self.pull(day, reader)
        merge(day, self.settings, self.engine)
        return results

    def sheet(self, esa: Esa) -> dict[str, Any]:
        path = self.state / "spreadsheets" / f"{esa.spreadsheet_id}.json"
        doc: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
        return doc


def make_day(root: Path, warehouse_url: str) -> Iterator[Day]:
    demo = root / "demo"
    manifest = generate(demo, esa_limit=3, days=3)
    settings = settings_for(root, demo)
    engine = create_warehouse_engine(warehouse_url)
    ensure_schema(engine)
    state = root / "state"
    load_day(state, demo, manifest.days[0])
    with Emulator(state, read_quota_per_minute=0, write_quota_per_minute=0) as emulator:
        esas = read_esas(settings.registry.esas)
        yield Day(root, demo, state, settings, engine, emulator, esas, manifest.days)
    engine.dispose()


@pytest.fixture
def day_sqlite(tmp_path: Path) -> Iterator[Day]:
    """A three-ESA world on a SQLite warehouse."""
    yield from make_day(tmp_path, f"sqlite:///{tmp_path / 'warehouse.db'}")


@pytest.fixture
def day_any(tmp_path: Path, empty_url: str) -> Iterator[Day]:
    """A three-ESA world on SQLite and on PostgreSQL."""
    yield from make_day(tmp_path, empty_url)
