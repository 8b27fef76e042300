"""The report's queries over a year of history (about 10.6 million snapshot rows).

    .venv/bin/python -m benchmarks.history [--days 365] [--engine sqlite|postgresql|both]

A national day is validated and merged from the demo data set; then each following day is made
in the database itself by copying the day before (set-based ``INSERT ... SELECT``), a share of
the unconnected schools getting connected each day, with one pull row per ESA a day and the
day's national counts, as the merge writes them. Every
``sql/`` query the report uses is then timed at the last date (median of three runs).
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, text

from benchmarks.machine import PG_URL
from benchmarks.scratch import scratch_warehouse
from schoolnet.core.config import GoogleSettings
from schoolnet.core.registry import read_esas, read_schools, schools_by_code
from schoolnet.devtools.demo import generate
from schoolnet.devtools.emulator import Emulator, load_day
from schoolnet.ingestion.google import EmulatorSession
from schoolnet.ingestion.ingest import SheetsReader
from schoolnet.validation import validate_sheet
from schoolnet.warehouse import EsaDay, merge_day
from schoolnet.warehouse.analysis import OBEC_SIZE_THRESHOLDS
from schoolnet.warehouse.queries import fetch_all

SNAPSHOT_COLUMNS = (
    "school_code, esa_code, accepted_on, students, status, isp, link_type, download_mbps, "
    "upload_mbps, monthly_fee_thb, funding_source, support_requested_thb, support_reason, "
    "providers_contacted, service_start, note"
)
PULL_COLUMNS = (
    "esa_code, outcome, error_code, reason, detail, sheet_modified_time, origin_date, api_calls, "
    "rows_read, rows_accepted, rows_rejected"
)


def first_day(work: Path) -> tuple[date, list[Any], list[Any], list[EsaDay]]:
    manifest = generate(work / "demo")
    day = manifest.days[-1]
    load_day(work / "state", work / "demo", day)
    esas = read_esas(work / "demo" / "esas.csv")
    schools = read_schools(work / "demo" / "schools.csv")
    registry = schools_by_code(schools)
    settings = GoogleSettings(
        request_timeout_seconds=30, max_attempts=3, backoff_base_seconds=1, backoff_max_seconds=4
    )
    days = []
    with Emulator(work / "state", read_quota_per_minute=0) as emulator:
        reader = SheetsReader(EmulatorSession(emulator.base_url), settings)
        for esa in esas:
            values = reader.read_data_tab(esa.spreadsheet_id, "โรงเรียน").values
            checked = validate_sheet(values, esa_code=esa.esa_code, schools=registry, today=day)
            days.append(
                EsaDay(
                    esa.esa_code,
                    "accepted",
                    api_calls=1,
                    rows_read=len(checked.rows),
                    origin_date=day,
                    accepted={
                        r.school_code: r.values for r in checked.accepted_rows if r.school_code
                    },
                )
            )
    return day, esas, schools, days


def grow(engine: Engine, start: date, days: int, analyze: bool = True) -> float:
    """Copy each day into the next inside the database, then ANALYZE (unless told not to);
    returns the seconds it took."""
    copy_snapshot = text(
        f"INSERT INTO snapshot (report_date, {SNAPSHOT_COLUMNS}) "
        f"SELECT :new_date, school_code, esa_code, "
        "CASE WHEN status IN ('not_connected', 'procuring') "
        "AND CAST(substr(school_code, 7, 4) AS INTEGER) % 400 = :step THEN :new_date "
        "ELSE accepted_on END, students, "
        "CASE WHEN status IN ('not_connected', 'procuring') "
        "AND CAST(substr(school_code, 7, 4) AS INTEGER) % 400 = :step THEN 'connected' "
        "ELSE status END, isp, link_type, download_mbps, upload_mbps, monthly_fee_thb, "
        "funding_source, support_requested_thb, support_reason, providers_contacted, "
        "service_start, note FROM snapshot WHERE report_date = :old_date"
    )
    copy_pull = text(
        f"INSERT INTO pull (report_date, {PULL_COLUMNS}, last_good_date) "
        f"SELECT :new_date, {PULL_COLUMNS}, :new_date FROM pull WHERE report_date = :old_date"
    )
    count_day = text(
        "INSERT INTO daily_count (report_date, schools, connected, procuring, not_connected, "
        "no_provider, never_reported) SELECT report_date, COUNT(*), "
        "SUM(CASE WHEN status = 'connected' THEN 1 ELSE 0 END), "
        "SUM(CASE WHEN status = 'procuring' THEN 1 ELSE 0 END), "
        "SUM(CASE WHEN status = 'not_connected' THEN 1 ELSE 0 END), "
        "SUM(CASE WHEN status = 'no_provider' THEN 1 ELSE 0 END), "
        "SUM(CASE WHEN accepted_on IS NULL THEN 1 ELSE 0 END) "
        "FROM snapshot WHERE report_date = :new_date GROUP BY report_date"
    )
    started = time.perf_counter()
    for step in range(1, days):
        params = {
            "new_date": start + timedelta(days=step),
            "old_date": start + timedelta(step - 1),
            "step": step,
        }
        with engine.begin() as conn:
            conn.execute(copy_snapshot, params)
            conn.execute(copy_pull, params)
            conn.execute(count_day, params)  # what merge_day writes with each day
    if analyze:
        with engine.begin() as conn:
            conn.execute(text("ANALYZE"))
    return time.perf_counter() - started


def report_queries(first: date, last: date) -> list[tuple[str, dict[str, Any]]]:
    """Every ``sql/`` query the report runs, with its parameters for the report of ``last``."""
    return [
        ("national_summary", {"report_date": last}),
        ("previous_report_date", {"report_date": last}),
        ("esa_summary", {"report_date": last}),
        ("no_provider_schools", {"report_date": last}),
        ("province_summary", {"report_date": last}),
        ("level_summary", {"report_date": last}),
        ("change_since", {"report_date": last, "since_date": last - timedelta(days=1)}),
        ("change_since", {"report_date": last, "since_date": first}),
        ("stale_esas", {"report_date": last, "days": 2}),
        ("cost_by_link_type", {"report_date": last}),
        ("cost_by_provider", {"report_date": last}),
        ("support_by_size_class", {"report_date": last, **OBEC_SIZE_THRESHOLDS}),
        ("trend", {"report_date": last, "from_date": first}),
    ]


def time_queries(engine: Engine, first: date, last: date) -> list[tuple[str, float, int]]:
    results = []
    for name, params in report_queries(first, last):
        times = []
        rows: list[Any] = []
        for _ in range(3):
            started = time.perf_counter()
            with engine.connect() as conn:
                rows = fetch_all(conn, name, **params)
            times.append(time.perf_counter() - started)
        label = name if name != "change_since" else f"change_since ({params['since_date']})"
        results.append((label, statistics.median(times), len(rows)))
    return results


def run_engine(url: str, work: Path, days: int) -> list[str]:
    with scratch_warehouse(url) as engine:
        day, esas, schools, esa_days = first_day(work)
        started = time.perf_counter()
        merge_day(engine, day, esas, schools, esa_days)
        merge_seconds = time.perf_counter() - started
        grow_seconds = grow(engine, day, days)
        with engine.connect() as conn:
            count = conn.execute(text("SELECT COUNT(*) FROM snapshot")).scalar()
        last = day + timedelta(days=days - 1)
        lines = [
            f"{engine.dialect.name}: {count:,} snapshot rows over {days} days "
            f"(first day merged in {merge_seconds:.2f} s, the rest copied in {grow_seconds:.0f} s)"
        ]
        for label, seconds, rows in time_queries(engine, day, last):
            lines.append(f"| {engine.dialect.name} | {label} | {seconds:.3f} s | {rows} rows |")
        return lines


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.history")
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--engine", choices=("sqlite", "postgresql", "both"), default="both")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="schoolnet-history-") as folder:
        work = Path(folder)
        if args.engine in ("sqlite", "both"):
            for line in run_engine(f"sqlite:///{work / 'year.db'}", work, args.days):
                print(line, flush=True)
        if args.engine in ("postgresql", "both"):
            for line in run_engine(PG_URL, work / "pg", args.days):
                print(line, flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
