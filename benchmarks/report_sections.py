"""What the map, the speed section and the email's size guard add to rendering the national
report: the whole report (``render_files``: queries, HTML, charts, PDF, XLSX) of the demo's last
day, with and without them, run in turns on the same machine so both sides see the same load.

    make demo   # once, for out/warehouse.db
    python -m benchmarks.report_sections [--runs 3]
"""

from __future__ import annotations

import argparse
import dataclasses
import statistics
import time
from datetime import date
from pathlib import Path

from schoolnet.core.paths import project_root
from schoolnet.report.daily import build_report
from schoolnet.report.files import render_files
from schoolnet.warehouse import create_warehouse_engine


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.report_sections")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--date", type=date.fromisoformat, default=date(2018, 1, 16))
    parser.add_argument("--warehouse", type=Path, default=project_root() / "out" / "warehouse.db")
    args = parser.parse_args()
    engine = create_warehouse_engine(f"sqlite:///{args.warehouse.resolve()}")
    times: dict[str, list[float]] = {"without": [], "with": []}
    for _ in range(args.runs):
        for side in ("without", "with"):
            started = time.perf_counter()
            with engine.connect() as conn:
                report = build_report(conn, args.date, stale_after_days=2)
                if side == "without":  # the report as it was: no speed section, no map
                    report = dataclasses.replace(report, speed=None, provinces=())
                render_files(conn, report)
            times[side].append(time.perf_counter() - started)
    engine.dispose()
    without, with_ = (statistics.median(times[side]) for side in ("without", "with"))
    print(f"whole report without the new sections: {without:.2f} s (runs: {times['without']})")
    print(f"whole report with them:                {with_:.2f} s (runs: {times['with']})")
    print(f"ratio: {with_ / without:.3f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
