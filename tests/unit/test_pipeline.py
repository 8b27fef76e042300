"""The pull-validate-merge steps without Airflow: real gspread, the emulator, a SQLite warehouse."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, select

from schoolnet.cli import main
from schoolnet.config import load_settings
from schoolnet.demo import generate
from schoolnet.emulator import Emulator, load_day
from schoolnet.feedback import EsaFeedback, padded
from schoolnet.google import EmulatorSession
from schoolnet.ingest import SheetsReader
from schoolnet.paths import project_root
from schoolnet.pipeline import load_school_registry, merge, pull_and_validate
from schoolnet.registry import Esa, read_esas
from schoolnet.warehouse import create_warehouse_engine, ensure_schema
from schoolnet.warehouse.models import PullRow, SnapshotRow


@dataclass
class Setup:
    root: Path
    settings: Any
    engine: Engine
    emulator: Emulator
    reader: SheetsReader
    esas: list[Esa]
    days: tuple[date, ...]

    def sheet(self, esa: Esa) -> dict[str, Any]:
        path = self.root / "state" / "spreadsheets" / f"{esa.spreadsheet_id}.json"
        doc: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
        return doc

    def save(self, esa: Esa, doc: dict[str, Any]) -> None:
        path = self.root / "state" / "spreadsheets" / f"{esa.spreadsheet_id}.json"
        path.write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")

    def run(self, day: date) -> dict[str, dict[str, Any]]:
        schools = load_school_registry(self.settings)
        results = {
            esa.esa_code: pull_and_validate(
                esa, day, self.settings, self.reader, schools, self.engine
            )
            for esa in self.esas
        }
        merge(day, self.settings, self.engine)
        return results


@pytest.fixture
def setup(tmp_path: Path) -> Iterator[Setup]:
    manifest = generate(tmp_path / "demo", esa_limit=3, days=3)
    config = tmp_path / "schoolnet.toml"
    template = (project_root() / "config" / "schoolnet.toml").read_text(encoding="utf-8")
    config.write_text(
        template.replace("out/demo-data", str(tmp_path / "demo")).replace('"out/', f'"{tmp_path}/'),
        encoding="utf-8",
    )
    settings = load_settings(config)
    engine = create_warehouse_engine(f"sqlite:///{tmp_path / 'warehouse.db'}")
    ensure_schema(engine)
    load_day(tmp_path / "state", tmp_path / "demo", manifest.days[0])
    with Emulator(tmp_path / "state", read_quota_per_minute=0, write_quota_per_minute=0) as emu:
        reader = SheetsReader(EmulatorSession(emu.base_url), settings.google)
        esas = read_esas(settings.registry.esas)
        yield Setup(tmp_path, settings, engine, emu, reader, esas, manifest.days)
    engine.dispose()


def snapshot_dates(engine: Engine, day: date, esa: Esa) -> set[date | None]:
    with engine.connect() as conn:
        rows = conn.execute(
            select(SnapshotRow.accepted_on).where(
                SnapshotRow.report_date == day, SnapshotRow.esa_code == esa.esa_code
            )
        )
        return {row.accepted_on for row in rows}


def test_a_truncated_sheet_is_quarantined_until_the_operator_accepts_it(setup: Setup) -> None:
    first, second = setup.days[0], setup.days[1]
    setup.run(first)
    esa = setup.esas[0]
    doc = setup.sheet(esa)
    rows = doc["sheets"][0]["rows"]
    kept = (len(rows) - 1) // 3  # a clerk's sort-and-delete leaves a third of the schools
    doc["sheets"][0]["rows"] = rows[: 1 + kept]
    setup.save(esa, doc)

    results = setup.run(second)
    assert results[esa.esa_code]["outcome"] == "quarantined"
    assert snapshot_dates(setup.engine, second, esa) == {first}  # nothing wiped
    with setup.engine.connect() as conn:
        pull = conn.execute(
            select(PullRow.outcome, PullRow.reason).where(
                PullRow.report_date == second, PullRow.esa_code == esa.esa_code
            )
        ).one()
    assert pull.outcome == "quarantined" and "พัก" in pull.reason
    tab = [sheet for sheet in setup.sheet(esa)["sheets"] if sheet["title"] == "ผลตรวจสอบ"]
    assert tab and any("quarantined" in row for row in tab[0]["rows"])

    url = f"sqlite:///{setup.root / 'warehouse.db'}"
    code = main(["quarantine", "accept", esa.esa_code, "--date", second.isoformat(), "--url", url])
    assert code == 0
    assert setup.run(second)[esa.esa_code]["outcome"] == "accepted"
    assert second in snapshot_dates(setup.engine, second, esa)


def test_feedback_tab_is_rewritten_only_when_findings_change(setup: Setup) -> None:
    first = setup.days[0]
    setup.run(first)
    writes = setup.emulator.stats()["writes"]
    assert writes == 2 * len(setup.esas)  # add the tab, write it
    setup.run(first)
    assert setup.emulator.stats()["writes"] == writes  # same findings: nothing written

    esa = setup.esas[1]
    doc = setup.sheet(esa)
    students = doc["sheets"][0]["rows"][0].index("จำนวนนักเรียน")
    doc["sheets"][0]["rows"][4][students] = -3
    setup.save(esa, doc)
    setup.run(first)
    assert setup.emulator.stats()["writes"] == writes + 1  # one write, to that ESA only
    tab = next(s for s in setup.sheet(esa)["sheets"] if s["title"] == "ผลตรวจสอบ")["rows"]
    assert any(row[:1] == ["5"] and "negative_value" in row for row in tab)


def test_feedback_digest_ignores_the_date_and_padding_clears_old_lines() -> None:
    esa = Esa("101001", "สพป.กรุงเทพมหานคร", "primary", "กรุงเทพมหานคร", "s", "a@b.c")
    finding = {
        "row": 7,
        "cell": "C7",
        "header": "จำนวนนักเรียน",
        "severity": "error",
        "code": "negative_value",
        "message": "ช่อง จำนวนนักเรียน ติดลบไม่ได้",
        "value": "-3",
    }
    result = {"outcome": "accepted", "rows_read": 2, "rows_rejected": 1, "accepted": {"x": {}}}
    one = EsaFeedback.from_result(esa, date(2018, 1, 3), {**result, "findings": [finding]})
    two = EsaFeedback.from_result(esa, date(2018, 1, 4), {**result, "findings": [finding]})
    assert one.digest() == two.digest()
    clean = EsaFeedback.from_result(esa, date(2018, 1, 4), {**result, "findings": []})
    assert clean.digest() != one.digest()
    assert "ไม่รับ 1 แถว" in one.summary
    grid = padded(clean.tab_rows(), len(one.tab_rows()), 7)
    assert len(grid) == len(one.tab_rows()) and all(len(row) == 7 for row in grid)
    assert grid[-1] == [""] * 7
