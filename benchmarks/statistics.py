"""The report's queries on a fresh PostgreSQL warehouse, before and after the planner has
statistics, and what the merge's ANALYZE costs.

    .venv/bin/python -m benchmarks.statistics [--days 14] [--timeout 120]

One national day is validated and merged from the demo data set into a new schema (the merge
ends with ANALYZE, ``refresh_statistics``); the statistics are then dropped with the tables'
row estimates (``pg_class.reltuples = -1``, as on tables never analyzed) and the day copied
forward to ``--days`` days inside the database, as ``benchmarks.history`` does, without
ANALYZE: a warehouse as autovacuum has not yet seen it. Every report query is timed once (a
query still running after ``--timeout`` seconds is cancelled and shown as more than that),
then ANALYZE of the merged tables is timed and the queries timed again.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, text
from sqlalchemy.exc import OperationalError

from benchmarks.history import first_day, grow, report_queries
from benchmarks.machine import PG_URL
from benchmarks.scratch import scratch_warehouse
from schoolnet.warehouse import merge_day
from schoolnet.warehouse.merge import MERGED_MODELS, refresh_statistics
from schoolnet.warehouse.queries import fetch_all


def forget_statistics(engine: Engine) -> None:
    """Make the merged tables look never analyzed: no column statistics, no row estimate."""
    names = [model.__tablename__ for model in MERGED_MODELS]
    with engine.begin() as conn:
        conn.execute(
            text(
                "DELETE FROM pg_statistic WHERE starelid IN "
                "(SELECT oid FROM pg_class WHERE relname = ANY(:names) "
                "AND relnamespace = CAST(current_schema() AS regnamespace))"
            ),
            {"names": names},
        )
        conn.execute(
            text(
                "UPDATE pg_class SET reltuples = -1 WHERE relname = ANY(:names) "
                "AND relnamespace = CAST(current_schema() AS regnamespace)"
            ),
            {"names": names},
        )


def timed_queries(
    engine: Engine, queries: list[tuple[str, dict[str, Any]]], timeout: int
) -> list[str]:
    cells = []
    for name, params in queries:
        with engine.connect() as conn:
            conn.execute(text(f"SET statement_timeout = '{int(timeout)}s'"))
            started = time.perf_counter()
            try:
                fetch_all(conn, name, **params)
                cells.append(f"{time.perf_counter() - started:.3f} s")
            except OperationalError:
                cells.append(f"> {timeout} s")
                conn.rollback()
    return cells


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.statistics")
    parser.add_argument("--days", type=int, default=14)
    parser.add_argument("--timeout", type=int, default=120)
    args = parser.parse_args()
    with (
        tempfile.TemporaryDirectory(prefix="schoolnet-statistics-") as folder,
        scratch_warehouse(PG_URL) as engine,
    ):
        day, esas, schools, esa_days = first_day(Path(folder))
        started = time.perf_counter()
        merge_day(engine, day, esas, schools, esa_days)
        merged = time.perf_counter() - started
        print(f"first national day merged (ANALYZE included) in {merged:.2f} s")
        forget_statistics(engine)
        grow(engine, day, args.days, analyze=False)
        last = day + timedelta(days=args.days - 1)
        queries = report_queries(day, last)
        before = timed_queries(engine, queries, args.timeout)
        started = time.perf_counter()
        refresh_statistics(engine)
        print(f"ANALYZE of the merged tables: {time.perf_counter() - started:.2f} s")
        after = timed_queries(engine, queries, args.timeout)
        with engine.connect() as conn:
            rows = conn.execute(text("SELECT COUNT(*) FROM snapshot")).scalar()
        print(f"{rows:,} snapshot rows over {args.days} days")
        print("| query | no statistics | after ANALYZE |")
        print("|---|---|---|")
        for (name, params), old, new in zip(queries, before, after, strict=True):
            label = name if name != "change_since" else f"change_since ({params['since_date']})"
            print(f"| {label} | {old} | {new} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
