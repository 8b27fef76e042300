"""Measure near-live feedback: Google calls per feedback run, and edit → finding time.

    make bench-live                                   # print the figures
    python -m benchmarks.live --write docs/benchmarks.md

On the national demo data set (245 ESA sheets) served by the emulator at Google's real quota
(60 reads and 60 writes a minute), with the pipeline's own pacing (55 a minute, shared through
the warehouse):

* calls: for k = 0, 1, 10 and 50 sheets edited by clerks, one feedback run (the poll and a check
  of each waiting sheet, the library the DAG calls), counted by the emulator;
* edit → finding, under the scheduler (``benchmarks.live_scheduler``): Airflow's scheduler
  and triggerer running, clerks' edits spread over 10 minutes, each timed until its finding is
  in the tab, with the Google calls and the DAG runs by what started them, then a quiet
  phase. A short try:
  ``python -m benchmarks.live --scheduler-only --edits 3 --minutes 2 --quiet-minutes 1``.
"""

from __future__ import annotations

import argparse
import re
import tempfile
import time
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from benchmarks.live_scheduler import END as SCHEDULER_END
from benchmarks.live_scheduler import START as SCHEDULER_START
from benchmarks.live_scheduler import Plan
from benchmarks.live_scheduler import markdown as scheduler_markdown
from benchmarks.live_scheduler import measure as under_scheduler
from benchmarks.machine import machine
from benchmarks.scratch import scratch_warehouse
from schoolnet.core.config import load_settings
from schoolnet.core.paths import project_root
from schoolnet.core.registry import read_esas
from schoolnet.devtools.demo import generate
from schoolnet.devtools.demoui import stop_signals
from schoolnet.devtools.emulator import Emulator, load_day, set_quota
from schoolnet.devtools.livedemo import type_mistake
from schoolnet.ingestion.google import EmulatorSession
from schoolnet.ingestion.ingest import SheetsReader
from schoolnet.ingestion.quota import SHEETS_READ, SHEETS_WRITE, QuotaPacer
from schoolnet.orchestration.live import begin, check, poll
from schoolnet.orchestration.registries import load_school_registry

GOOGLE_QUOTA = 60  # reads and writes a minute per service account
PACED = 55  # the pipeline's setting
EDITED = (0, 1, 10, 50)
START, END = "<!-- bench-live:start -->", "<!-- bench-live:end -->"


def settings_file(work: Path) -> Path:
    """The shipped settings with the data set's paths and Google's real quota."""
    text = (project_root() / "config" / "schoolnet.toml").read_text(encoding="utf-8")
    text = text.replace("out/demo-data", str(work / "demo")).replace('"out/', f'"{work}/')
    for key in ("read_requests_per_minute", "write_requests_per_minute"):
        text = re.sub(rf"(?m)^{key} = \S+", f"{key} = {PACED}", text)
    path = work / "schoolnet.toml"
    path.write_text(text, encoding="utf-8")
    return path


def calls_per_run(work: Path, state: Path) -> list[tuple[str, str, str]]:
    settings = load_settings(settings_file(work))
    esas = read_esas(settings.registry.esas)
    schools = load_school_registry(settings)
    rows = []
    with (
        scratch_warehouse(f"sqlite:///{work / 'calls.db'}") as engine,
        Emulator(state) as emulator,
    ):
        reader = SheetsReader(
            EmulatorSession(emulator.base_url),
            settings.google,
            read_pacer=QuotaPacer(engine, SHEETS_READ, PACED),
            write_pacer=QuotaPacer(engine, SHEETS_WRITE, PACED),
        )
        begin(reader, engine)
        offset = 0
        for k in EDITED:
            for esa in esas[offset : offset + k]:
                type_mistake(state, esa, 3, "-5")
            offset += k
            emulator.reset()
            started = time.monotonic()
            found = poll(esas, settings, reader, engine)
            results = [
                check(esa, settings, reader, schools, engine, bangkok_now())
                for esa in found.pending
            ]
            seconds = time.monotonic() - started
            stats = emulator.stats()
            by = stats["by_endpoint"]
            changes = by.get("drive.changes.list", 0)
            reads, writes = by.get("spreadsheets.get", 0), by.get("spreadsheets.batchUpdate", 0)
            total = sum(by.values())
            written = sum(1 for r in results if r.feedback_tab == "written")
            goal = "exactly 1" if k == 0 else f"1 + {k} reads + ≤ {k} writes = ≤ {1 + 2 * k}"
            rows.append(
                (
                    f"feedback run, {k} of {len(esas)} sheets edited",
                    f"{seconds:.1f} s",
                    f"**{total}**: changes.list {changes}, reads {reads}, writes {writes} "
                    f"(tabs rewritten {written}, answered 429: {stats['throttled']}); "
                    f"goal {goal}",
                )
            )
    return rows


def bangkok_now() -> datetime:
    return datetime.now(ZoneInfo("Asia/Bangkok"))


def markdown(rows: list[tuple[str, str, str]]) -> str:
    return "\n".join(
        [
            START,
            f"Machine: {machine()}. Emulator quota {GOOGLE_QUOTA} reads and {GOOGLE_QUOTA} "
            f"writes a minute; pipeline pacing {PACED} a minute.",
            "",
            "| what | time | Google calls |",
            "|---|---|---|",
            *[f"| {what} | {seconds} | {figure} |" for what, seconds, figure in rows],
            END,
        ]
    )


def write_section(path: Path, table: str, start: str = START, end: str = END) -> None:
    """Replace the generated section of ``path`` between ``start`` and ``end`` (appended if it
    has none)."""
    page = path.read_text(encoding="utf-8")
    if start in page and end in page:
        before, rest = page.split(start, 1)
        page = before + table + rest.split(end, 1)[1]
    else:
        page = page.rstrip() + f"\n\n{table}\n"
    path.write_text(page, encoding="utf-8")


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.live")
    parser.add_argument("--write", type=Path, help="also write the tables to this Markdown file")
    parser.add_argument(
        "--no-airflow", action="store_true", help="only count the calls (no Airflow)"
    )
    parser.add_argument(
        "--scheduler-only",
        action="store_true",
        help="only edit → finding under the real scheduler with the triggerer",
    )
    parser.add_argument("--edits", type=int, default=20, help="clerks' edits (default 20)")
    parser.add_argument(
        "--minutes", type=float, default=10.0, help="the edits' spread (default 10 minutes)"
    )
    parser.add_argument(
        "--quiet-minutes", type=float, default=3.0, help="then no edit for this long (default 3)"
    )
    parser.add_argument(
        "--lost-minutes",
        type=float,
        default=15.0,
        help="an edit not in its tab this long after it is lost (default 15)",
    )
    args = parser.parse_args()
    plan = Plan(
        edits=args.edits,
        minutes=args.minutes,
        quiet_minutes=args.quiet_minutes,
        lost_after=args.lost_minutes * 60,
    )
    tables = []
    with tempfile.TemporaryDirectory(prefix="schoolnet-bench-live-") as folder:
        work = Path(folder)
        manifest = generate(work / "demo")
        if not args.scheduler_only:
            state = work / "state"
            load_day(state, work / "demo", manifest.days[-1])
            set_quota(state, read=GOOGLE_QUOTA, write=GOOGLE_QUOTA)
            tables.append((markdown(calls_per_run(work, state)), START, END))
        if args.scheduler_only or not args.no_airflow:
            state = work / "scheduler-state"
            load_day(state, work / "demo", manifest.days[-1])
            with stop_signals():  # SIGTERM stops Airflow's processes as Ctrl-C does
                result = under_scheduler(work, settings_file(work), state, GOOGLE_QUOTA, plan)
            table = scheduler_markdown(result, machine(), GOOGLE_QUOTA, PACED)
            tables.append((table, SCHEDULER_START, SCHEDULER_END))
    for table, start, end in tables:
        print(table)
        if args.write:
            write_section(args.write, table, start, end)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
