"""Ingestion at the quota's limit: API calls and wall time of pulling the national data set.

Four worker threads pull sheets as the mapped Airflow tasks do, each with its own gspread
client, all paced by one shared ``QuotaPacer`` in the warehouse database. The emulator enforces
Google's read quota (raised from 60 to ``QUOTA`` a minute so the run stays short: what counts is
the calls, and wall time as a ratio to the quota bound, calls ÷ quota).
"""

from __future__ import annotations

import math
import queue
import threading
import time
from dataclasses import replace
from datetime import date
from pathlib import Path
from typing import Any

import gspread

from schoolnet.core.config import Settings, load_settings
from schoolnet.core.paths import project_root
from schoolnet.core.registry import Esa, read_esas
from schoolnet.devtools.emulator import Emulator, edit_cell, load_day, set_flaky
from schoolnet.ingestion.google import EmulatorSession
from schoolnet.ingestion.ingest import SheetsReader
from schoolnet.ingestion.quota import SHEETS_READ, QuotaPacer
from schoolnet.orchestration.handoffs import PullPlan
from schoolnet.orchestration.pull import obtain_sheet, plan_pulls
from schoolnet.warehouse import EsaDay, create_warehouse_engine, ensure_schema, merge_day

QUOTA = 1200  # reads a minute the emulator allows
PACE = 0.95 * QUOTA  # what the pacer grants, as production keeps 55 of Google's 60
WORKERS = 4


def _settings(work: Path) -> Settings:
    base = load_settings(project_root() / "config" / "schoolnet.toml")
    return replace(
        base,
        storage=replace(base.storage, data_dir=work / "data", report_dir=work / "report"),
        google=replace(
            base.google,
            read_requests_per_minute=PACE,
            backoff_base_seconds=0.5,
            backoff_max_seconds=4,
            max_attempts=6,
        ),
        feedback=replace(base.feedback, write_tab=False),
    )


def _pull(
    esas: list[Esa], day: date, settings: Settings, base_url: str, engine: Any, full: bool
) -> tuple[int, int, int]:
    """One run's ingestion: the plan, then every planned sheet by WORKERS threads.

    Returns (sheets read from Google, sheets failed, ESAs whose schools were merged)."""

    def reader() -> SheetsReader:
        return SheetsReader(
            EmulatorSession(base_url),
            settings.google,
            read_pacer=QuotaPacer(engine, SHEETS_READ, PACE),
        )

    plan, _ = plan_pulls(esas, day, settings, reader(), engine, full_pull=full)
    work: queue.Queue[tuple[Esa, PullPlan]] = queue.Queue()
    for esa, entry in zip(esas, plan, strict=True):
        work.put((esa, entry))
    outcomes: list[Any] = []
    lock = threading.Lock()

    def worker() -> None:
        mine = reader()
        while True:
            try:
                esa, entry = work.get_nowait()
            except queue.Empty:
                return
            sheet, _read = obtain_sheet(
                esa,
                day,
                settings,
                mine,
                entry.modified_time,
                entry.reuse_from,
            )
            with lock:
                outcomes.append(sheet)

    threads = [threading.Thread(target=worker) for _ in range(WORKERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    # Record the day so the next run knows what was read (the merge writes the pull rows).
    merge_day(
        engine,
        day,
        esas,
        [],
        [
            EsaDay(
                s.esa_code,
                "failed" if s.failure else "accepted",
                api_calls=s.api_calls,
                sheet_modified_time=s.sheet_modified_time,
                origin_date=s.origin_date,
            )
            for s in outcomes
        ],
    )
    read = sum(1 for s in outcomes if s.failure is None and not s.reused)
    failed = sum(1 for s in outcomes if s.failure is not None)
    return read, failed, len(outcomes) - failed


def _gspread_recipe(esas: list[Esa], base_url: str) -> int:
    """The usual recipe: open_by_key, worksheet, get_all_records, for every sheet."""
    client = gspread.Client(None, session=EmulatorSession(base_url))  # type: ignore[arg-type]  # gspread types auth as Credentials; the session given already authorises (the emulator needs none)
    for esa in esas:
        client.open_by_key(esa.spreadsheet_id).worksheet("โรงเรียน").get_all_records()
    return len(esas)


def run(work: Path, demo: Path, days: tuple[date, ...]) -> list[tuple[str, str, str]]:
    settings = _settings(work)
    engine = create_warehouse_engine(f"sqlite:///{work / 'ingestion.db'}")
    ensure_schema(engine)
    esas = read_esas(demo / "esas.csv")
    state = work / "ingestion-state"
    load_day(state, demo, days[0])
    rows: list[tuple[str, str, str]] = []
    with Emulator(state, read_quota_per_minute=QUOTA, write_quota_per_minute=0) as emulator:

        def scenario(label: str, day: date, full: bool) -> None:
            emulator.reset()
            started = time.perf_counter()
            read, failed, merged = _pull(esas, day, settings, emulator.base_url, engine, full)
            seconds = time.perf_counter() - started
            stats = emulator.stats()
            calls = stats["reads"] + stats["throttled"]  # faulted requests count in reads
            bound = calls / QUOTA * 60
            rows.append(
                (
                    f"ingestion: {label}",
                    f"{seconds:.1f} s",
                    f"{calls} calls for {read} sheets read (target ≤ {read} + "
                    f"{math.ceil(len(esas) / 1000)}); {seconds / bound:.2f} × quota bound; "
                    f"{failed} ESAs failed, {merged} of {len(esas)} merged",
                )
            )

        scenario("first pull, every sheet", days[0], full=False)
        for esa in esas[::10]:  # a clerk edits one cell in 10% of the sheets
            edit_cell(state, esa.spreadsheet_id, "'โรงเรียน'!O2", "โทรแจ้งแล้ว")
        scenario("next day, 10% of sheets changed", days[1], full=False)
        set_flaky(state, 0.2, (429, 500, 503))
        scenario("every sheet, 20% of requests answered 429/5xx", days[2], full=True)
        set_flaky(state, 0)

    with Emulator(state, read_quota_per_minute=0) as emulator:
        started = time.perf_counter()
        _gspread_recipe(esas, emulator.base_url)
        seconds = time.perf_counter() - started
        calls = emulator.stats()["reads"]
        rows.append(
            (
                "ingestion: usual gspread recipe, every sheet (no quota)",
                f"{seconds:.1f} s",
                f"{calls} calls for {len(esas)} sheets; at {QUOTA}/min that is "
                f"{calls / QUOTA * 60:.0f} s, and it cannot skip unchanged sheets",
            )
        )
    engine.dispose()
    return rows
