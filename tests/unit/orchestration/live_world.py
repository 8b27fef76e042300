"""The near-live world the orchestration tests share: a demo data set of three ESAs served by
the emulator, a warehouse, the real gspread reader, and one feedback run (poll, then checks).
The ``live`` fixture (conftest.py) builds it."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Engine

from schoolnet.core.config import Settings, load_settings
from schoolnet.core.paths import project_root
from schoolnet.core.registry import Esa, read_esas
from schoolnet.devtools.demo import generate
from schoolnet.devtools.emulator import Emulator, edit_cell, load_day, set_quota
from schoolnet.ingestion.google import EmulatorSession
from schoolnet.ingestion.ingest import SheetsReader
from schoolnet.orchestration.handoffs import LiveCheck
from schoolnet.orchestration.live import Poll, check, poll
from schoolnet.orchestration.registries import load_school_registry

TAB = "ผลตรวจสอบ"
BANGKOK = ZoneInfo("Asia/Bangkok")
CHECKED_AT = datetime(2018, 1, 16, 10, 20, tzinfo=BANGKOK)  # the emulator's clock in the tests


@dataclass
class Live:
    root: Path
    state: Path
    settings: Settings
    engine: Engine
    emulator: Emulator
    reader: SheetsReader
    esas: list[Esa]

    def run(self) -> tuple[Poll, list[LiveCheck], dict[str, int]]:
        """One feedback run: the poll, then a check of every waiting sheet; and its calls."""
        self.emulator.reset()
        found = poll(self.esas, self.settings, self.reader, self.engine)
        schools = load_school_registry(self.settings)
        results = [
            check(esa, self.settings, self.reader, schools, self.engine, datetime.now(BANGKOK))
            for esa in found.pending
        ]
        return found, results, self.emulator.stats()["by_endpoint"]

    def doc(self, esa: Esa) -> dict[str, Any]:
        path = self.state / "spreadsheets" / f"{esa.spreadsheet_id}.json"
        loaded: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
        return loaded

    def tab(self, esa: Esa) -> list[list[Any]]:
        tabs: dict[str, list[list[Any]]] = {
            sheet["title"]: sheet["rows"] for sheet in self.doc(esa)["sheets"]
        }
        return tabs.get(TAB, [])

    def type_students(self, esa: Esa, row: int, typed: str) -> None:
        """A clerk types ``typed`` into the student count of a sheet row."""
        header = self.doc(esa)["sheets"][0]["rows"][0]
        column = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"[header.index("จำนวนนักเรียน")]
        edit_cell(self.state, esa.spreadsheet_id, f"'โรงเรียน'!{column}{row}", typed)


def live_world(tmp_path: Path, warehouse_engine: Engine) -> Iterator[Live]:
    manifest = generate(tmp_path / "demo", esa_limit=3, days=2)
    config = tmp_path / "schoolnet.toml"
    template = (project_root() / "config" / "schoolnet.toml").read_text(encoding="utf-8")
    text = template.replace("out/demo-data", str(tmp_path / "demo"))
    text = text.replace('"out/', f'"{tmp_path}/')
    config.write_text(
        text.replace("backoff_base_seconds = 2.0", "backoff_base_seconds = 0.05")
        .replace("backoff_max_seconds = 64.0", "backoff_max_seconds = 0.1")
        .replace("max_attempts = 5", "max_attempts = 2"),
        encoding="utf-8",
    )
    settings = load_settings(config)
    state = tmp_path / "state"
    load_day(state, tmp_path / "demo", manifest.days[-1])
    set_quota(state, read=0, write=0)
    with Emulator(state) as emulator:
        reader = SheetsReader(EmulatorSession(emulator.base_url), settings.google)
        esas = read_esas(settings.registry.esas)
        world = Live(tmp_path, state, settings, warehouse_engine, emulator, reader, esas)
        first, results, _ = world.run()  # no token yet: one listing, every sheet checked once
        assert first.source == "listing" and len(first.pending) == len(esas)
        assert all(r.feedback_tab == "written" for r in results)
        yield world
