"""Measure the daily run's stages on the national demo data set.

    make bench                 # print the figures
    python -m benchmarks --write docs/benchmarks.md

Stages are timed one by one on real parts: the demo generator, the Sheets emulator read through
gspread over HTTP (quota off: pacing is measured separately), the validator, the warehouse merge
on SQLite and on PostgreSQL (when a server answers), and the report's queries and rendering.
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

from benchmarks.machine import PG_URL, machine
from benchmarks.scratch import scratch_warehouse
from schoolnet.core.config import GoogleSettings
from schoolnet.core.registry import read_esas, read_schools, schools_by_code
from schoolnet.devtools.demo import generate
from schoolnet.devtools.demo.generate import DEMO_MESSY_RATE
from schoolnet.devtools.emulator import Emulator, load_day
from schoolnet.ingestion.google import EmulatorSession
from schoolnet.ingestion.ingest import SheetsReader
from schoolnet.report.daily import build_report, render_report
from schoolnet.report.files import GMAIL_CLIP_BYTES, pdf_html, render_files, report_charts
from schoolnet.report.pdf import html_to_pdf
from schoolnet.report.provincemap import province_map
from schoolnet.report.workbook import build_report_workbook
from schoolnet.validation import validate_sheet
from schoolnet.warehouse import EsaDay, create_warehouse_engine, merge_day


def timed(action: Callable[[], Any], repeat: int = 1) -> tuple[float, Any]:
    """Median wall time of ``repeat`` runs, and the last result."""
    times = []
    result = None
    for _ in range(repeat):
        started = time.perf_counter()
        result = action()
        times.append(time.perf_counter() - started)
    return statistics.median(times), result


def merge_rows(url: str, day: date, esas: Any, schools: Any, days: list[EsaDay]) -> float:
    with scratch_warehouse(url) as engine:
        merge_day(engine, day, esas, schools, days)  # a first day, so the rerun replaces rows
        seconds, _ = timed(lambda: merge_day(engine, day, esas, schools, days), repeat=3)
        return seconds


def validate_day(esas: Any, reads: Any, registry: Any, day: date) -> tuple[float, list[Any]]:
    """Median time of three validations of every ESA's read, and the last results."""

    def validate_all() -> list[Any]:
        return [
            validate_sheet(read.values, esa_code=esa.esa_code, schools=registry, today=day)
            for esa, read in zip(esas, reads, strict=True)
        ]

    seconds, validations = timed(validate_all, repeat=3)
    return seconds, validations


def validate_messy_day(work: Path, settings: GoogleSettings) -> tuple[str, str, str]:
    """The same national day as `make demo` makes it: clerk mistakes in a few percent of rows
    (the sheet faults are left out: they change which sheets are read, not how fast)."""
    manifest = generate(work / "messy", messy_rate=DEMO_MESSY_RATE)
    day = manifest.days[-1]
    load_day(work / "messy-state", work / "messy", day)
    esas = read_esas(work / "messy" / "esas.csv")
    registry = schools_by_code(read_schools(work / "messy" / "schools.csv"))
    with Emulator(work / "messy-state", read_quota_per_minute=0) as emulator:
        reader = SheetsReader(EmulatorSession(emulator.base_url), settings)
        reads = [reader.read_data_tab(esa.spreadsheet_id, "โรงเรียน") for esa in esas]

    seconds, validations = validate_day(esas, reads, registry, day)
    total_rows = sum(len(v.rows) for v in validations)
    findings = sum(len(v.findings) for v in validations)
    return (
        f"validate one national day, the demo's messy data ({DEMO_MESSY_RATE:.0%} of rows)",
        f"{seconds:.2f} s",
        f"{total_rows / seconds:,.0f} rows/s ({total_rows:,} rows, {findings:,} findings)",
    )


def run(work: Path) -> list[tuple[str, str, str]]:
    rows: list[tuple[str, str, str]] = []
    seconds, manifest = timed(lambda: generate(work / "demo"))
    rows.append(
        (
            "demo data set (245 ESAs, 14 days)",
            f"{seconds:.1f} s",
            f"{manifest.school_count:,} schools",
        )
    )
    day = manifest.days[-1]
    load_day(work / "state", work / "demo", day)
    esas = read_esas(work / "demo" / "esas.csv")
    schools = read_schools(work / "demo" / "schools.csv")
    registry = schools_by_code(schools)

    settings = GoogleSettings(
        request_timeout_seconds=30, max_attempts=3, backoff_base_seconds=1, backoff_max_seconds=4
    )
    with Emulator(work / "state", read_quota_per_minute=0) as emulator:
        reader = SheetsReader(EmulatorSession(emulator.base_url), settings)
        seconds, reads = timed(
            lambda: [reader.read_data_tab(esa.spreadsheet_id, "โรงเรียน") for esa in esas]
        )
        calls = emulator.stats()["reads"]
    rows.append(
        (
            "read every sheet via gspread + emulator (no quota)",
            f"{seconds:.1f} s",
            f"{calls} API calls for {len(esas)} sheets",
        )
    )

    seconds, validations = validate_day(esas, reads, registry, day)
    total_rows = sum(len(v.rows) for v in validations)
    rows.append(
        (
            "validate one national day",
            f"{seconds:.2f} s",
            f"{total_rows / seconds:,.0f} rows/s ({total_rows:,} rows)",
        )
    )
    rows.append(validate_messy_day(work, settings))

    from benchmarks.history_checks import accepted_days, history_rows

    values = [read.values for read in reads]
    for url in (f"sqlite:///{work / 'history.db'}", PG_URL):
        try:
            rows.extend(history_rows(url, day, esas, schools, registry, values, validations))
        except Exception as error:  # noqa: BLE001 - no server: the table says skipped, and why
            rows.append(("validate with the history checks, PostgreSQL", "skipped", str(error)))

    days = accepted_days(esas, validations)
    seconds = merge_rows(f"sqlite:///{work / 'warehouse.db'}", day, esas, schools, days)
    rows.append(("merge one national day, SQLite", f"{seconds:.2f} s", f"{len(schools):,} rows"))
    try:
        seconds = merge_rows(PG_URL, day, esas, schools, days)
        rows.append(
            ("merge one national day, PostgreSQL", f"{seconds:.2f} s", f"{len(schools):,} rows")
        )
    except Exception as error:  # noqa: BLE001 - no server: the table says skipped, and why
        rows.append(("merge one national day, PostgreSQL", "skipped", type(error).__name__))

    from benchmarks.ingestion import run as ingestion

    rows.extend(ingestion(work, work / "demo", manifest.days))

    engine = create_warehouse_engine(f"sqlite:///{work / 'warehouse.db'}")

    def report() -> Any:
        with engine.connect() as conn:
            return render_report(build_report(conn, day, stale_after_days=2))

    seconds, rendered = timed(report, repeat=3)
    rows.append(
        (
            "report queries + email HTML/text, SQLite",
            f"{seconds:.2f} s",
            f"{len(rendered.html) // 1024} KiB HTML",
        )
    )

    def national_report() -> Any:
        with engine.connect() as conn:
            return render_files(conn, build_report(conn, day, stale_after_days=2))

    seconds, files = timed(national_report, repeat=3)
    rows.append(
        (
            "whole national report (queries, HTML, charts, PDF beside XLSX), SQLite",
            f"{seconds:.2f} s",
            ", ".join(f"{a.filename} {len(a.content) / 2**20:.1f} MiB" for a in files.attachments)
            + f"; email HTML {len(files.html.encode('utf-8')):,} bytes (Gmail clips over "
            f"{GMAIL_CLIP_BYTES:,})",
        )
    )
    with engine.connect() as conn:
        report_data = build_report(conn, day, stale_after_days=2)
    for label, step in (
        ("  of which charts (with the province map)", lambda: report_charts(report_data)),
        ("  of which the province map", lambda: province_map(report_data.provinces, day)),
        (
            "  of which PDF (WeasyPrint)",
            lambda: html_to_pdf(pdf_html(report_data, report_charts(report_data))),
        ),
    ):
        seconds, _ = timed(step, repeat=3)
        rows.append((label, f"{seconds:.2f} s", ""))
    with engine.connect() as conn:
        seconds, _ = timed(lambda: build_report_workbook(conn, day), repeat=3)
    rows.append(("  of which XLSX", f"{seconds:.2f} s", f"{len(schools):,} rows"))
    engine.dispose()
    return rows


START, END = "<!-- bench:start -->", "<!-- bench:end -->"


def markdown(rows: list[tuple[str, str, str]]) -> str:
    lines = [
        START,
        f"Machine: {machine()}.",
        "",
        "| stage | time | figure |",
        "|---|---|---|",
        *[f"| {stage} | {seconds} | {figure} |" for stage, seconds, figure in rows],
        END,
    ]
    return "\n".join(lines)


def write_page(path: Path, table: str) -> None:
    """Replace the generated table in ``path``, keeping the hand-written text around it."""
    page = path.read_text(encoding="utf-8") if path.exists() else ""
    if START in page and END in page:
        before, rest = page.split(START, 1)
        after = rest.split(END, 1)[1]
        page = before + table + after
    else:
        page = f"# Benchmarks\n\n{table}\n"
    path.write_text(page, encoding="utf-8")


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks")
    parser.add_argument("--write", type=Path, help="also write the table to this Markdown file")
    parser.add_argument("--json", action="store_true", help="print the rows as JSON")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="schoolnet-bench-") as folder:
        rows = run(Path(folder))
    table = markdown(rows)
    print(json.dumps(rows, ensure_ascii=False, indent=2) if args.json else table)
    if args.write:
        write_page(args.write, table)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
