"""The whole national report (``render_files``: queries, HTML, charts, map, PDF, XLSX) rendered
by this checkout and by another one, in turns, each turn in a fresh process, so that both sides
see the same load on a shared machine.

    make demo   # once, for out/warehouse.db (or --warehouse a national SQLite warehouse)
    python -m benchmarks.render --other <another checkout> [--runs 3]

Each turn renders the report twice in one process and times both: the first pays the imports
and font caches, the second is what a warm worker pays.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from datetime import date
from pathlib import Path

from schoolnet.core.paths import project_root


def render_once(warehouse: Path, report_date: date) -> dict[str, float]:
    from schoolnet.report.daily import build_report
    from schoolnet.report.files import render_files
    from schoolnet.warehouse import create_warehouse_engine

    engine = create_warehouse_engine(f"sqlite:///{warehouse.resolve()}")
    times = []
    for _ in range(2):
        started = time.perf_counter()
        with engine.connect() as conn:
            email = render_files(conn, build_report(conn, report_date, stale_after_days=2))
        times.append(time.perf_counter() - started)
    engine.dispose()
    sizes = {item.filename.rsplit(".", 1)[1]: len(item.content) for item in email.attachments}
    return {"first": times[0], "warm": times[1], **sizes}


def turn(checkout: Path, warehouse: Path, report_date: date) -> dict[str, float]:
    """One fresh process rendering with ``checkout``'s code and templates (this module runs from
    this checkout; ``schoolnet`` is imported from the other's ``plugins/`` first)."""
    environment = {
        **os.environ,
        "PYTHONPATH": str(checkout / "plugins"),
        "SCHOOLNET_HOME": str(checkout),
    }
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "benchmarks.render",
            "--once",
            "--warehouse",
            str(warehouse),
            "--date",
            report_date.isoformat(),
        ],
        cwd=project_root(),
        env=environment,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    result: dict[str, float] = json.loads(out.strip().splitlines()[-1])
    return result


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.render")
    parser.add_argument("--other", type=Path, help="the other checkout (its plugins/ is used)")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--date", type=date.fromisoformat, default=date(2018, 1, 16))
    parser.add_argument("--warehouse", type=Path, default=project_root() / "out" / "warehouse.db")
    parser.add_argument("--once", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.once:
        print(json.dumps(render_once(args.warehouse, args.date)))
        return 0
    if args.other is None:
        parser.error("--other is required")
    sides = {"other": args.other.resolve(), "this": project_root()}
    results: dict[str, list[dict[str, float]]] = {side: [] for side in sides}
    for number in range(args.runs):
        order = list(sides) if number % 2 == 0 else list(reversed(sides))
        for side in order:
            load = os.getloadavg()[0]
            result = turn(sides[side], args.warehouse, args.date)
            results[side].append(result)
            print(
                f"{side:5} first {result['first']:6.2f} s, warm {result['warm']:6.2f} s "
                f"(load average before: {load:.1f})",
                flush=True,
            )
    for side, runs in results.items():
        warm = statistics.median(run["warm"] for run in runs)
        first = statistics.median(run["first"] for run in runs)
        print(
            f"{side} ({sides[side]}): warm median {warm:.2f} s, first median {first:.2f} s; "
            f"PDF {runs[-1]['pdf']:,.0f} bytes, XLSX {runs[-1]['xlsx']:,.0f} bytes"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
