"""Validation of one national day: the demo's messy data set against a clean one.

    python -m benchmarks.messy [--runs 7]

Both data sets are the national one (same seed, so the same schools and states); the messy one
is what `make demo` makes (`DEMO_MESSY_RATE` of rows with a clerk mistake, three sheets that
cannot be used on the last day). The last day's sheets are read once each through gspread from
the emulator, as `make bench` does (an unshared sheet cannot be read, so it is not validated,
as in the pull), then the validator runs over the whole day, clean and messy in turns, so that
the load of a shared machine falls on both alike. Prints the medians and the load average.
"""

from __future__ import annotations

import argparse
import math
import os
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from benchmarks.__main__ import machine
from schoolnet.config import GoogleSettings
from schoolnet.demo import generate
from schoolnet.demo.generate import DEMO_MESSY_RATE
from schoolnet.emulator import Emulator, load_day
from schoolnet.google import EmulatorSession
from schoolnet.ingest import SheetReadError, SheetsReader
from schoolnet.registry import read_esas, read_schools, schools_by_code
from schoolnet.validation import validate_sheet


def national_day(work: Path, messy: float) -> tuple[Any, list[tuple[Any, Any]]]:
    """The last day's sheets of a national data set, read as the pull reads them."""
    demo = work / "demo"
    manifest = generate(demo, messy_rate=messy, sheet_faults=messy > 0)
    day = manifest.days[-1]
    load_day(work / "state", demo, day)
    esas = read_esas(demo / "esas.csv")
    registry = schools_by_code(read_schools(demo / "schools.csv"))
    settings = GoogleSettings(
        request_timeout_seconds=30, max_attempts=3, backoff_base_seconds=1, backoff_max_seconds=4
    )
    reads = []
    with Emulator(work / "state", read_quota_per_minute=0) as emulator:
        reader = SheetsReader(EmulatorSession(emulator.base_url), settings)
        for esa in esas:
            try:
                reads.append((esa, reader.read_data_tab(esa.spreadsheet_id, "โรงเรียน")))
            except SheetReadError:
                continue  # not shared with us: the pull validates nothing
    return (day, registry), reads


def validate_day(
    context: tuple[Any, Any], reads: list[tuple[Any, Any]]
) -> tuple[float, float, int, int]:
    """Wall and CPU seconds to validate every read sheet; rows and findings. On a shared
    machine the CPU time of this process varies far less than the wall time."""
    day, registry = context
    started, cpu = time.perf_counter(), time.process_time()
    results = [
        validate_sheet(read.values, esa_code=esa.esa_code, schools=registry, today=day)
        for esa, read in reads
    ]
    wall, cpu = time.perf_counter() - started, time.process_time() - cpu
    return wall, cpu, sum(len(r.rows) for r in results), sum(len(r.findings) for r in results)


def fastest_per_sheet(
    clean: tuple[Any, list[tuple[Any, Any]]], messy: tuple[Any, list[tuple[Any, Any]]], runs: int
) -> tuple[float, float]:
    """The day's validation, clean and messy, as the sum of each sheet's fastest of ``runs``
    validations in CPU seconds: a sheet takes milliseconds, so some of its runs fall between
    other processes' slices, and the sum is the day on a machine of its own. An ESA's clean
    and messy sheets take turns, so that neither set runs in a quieter moment."""
    sets = (clean, messy)
    by_esa = [{esa.esa_code: (esa, read) for esa, read in reads} for _, reads in sets]
    totals = [0.0, 0.0]
    for code in by_esa[0]:
        best = [math.inf, math.inf]
        for _ in range(runs):
            for which, ((day, registry), _) in enumerate(sets):
                if code not in by_esa[which]:
                    continue  # not read that morning
                esa, read = by_esa[which][code]
                started = time.process_time()
                validate_sheet(read.values, esa_code=esa.esa_code, schools=registry, today=day)
                best[which] = min(best[which], time.process_time() - started)
        for which in (0, 1):
            totals[which] += best[which] if best[which] < math.inf else 0.0
    return totals[0], totals[1]


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.messy")
    parser.add_argument("--runs", type=int, default=7, help="turns of each (median)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="schoolnet-bench-messy-") as folder:
        work = Path(folder)
        clean = national_day(work / "clean", 0.0)
        messy = national_day(work / "messy", DEMO_MESSY_RATE)
        load_before = os.getloadavg()
        wall: dict[str, list[float]] = {"clean": [], "messy": []}
        cpu: dict[str, list[float]] = {"clean": [], "messy": []}
        figures: dict[str, tuple[int, int, int]] = {}
        for _ in range(args.runs):
            for name, (context, reads) in (("clean", clean), ("messy", messy)):
                seconds, used, rows, findings = validate_day(context, reads)
                wall[name].append(seconds)
                cpu[name].append(used)
                figures[name] = (len(reads), rows, findings)
        sums = fastest_per_sheet(clean, messy, args.runs)
        per_sheet = {"clean": sums[0], "messy": sums[1]}
        load_after = os.getloadavg()
    print(f"Machine: {machine()}.")
    print(
        f"Load average (1 min) {load_before[0]:.1f} before, {load_after[0]:.1f} after; "
        f"median of {args.runs} turns each (fastest in brackets)."
    )
    for name in ("clean", "messy"):
        sheets, rows, findings = figures[name]
        median = statistics.median(wall[name])
        print(
            f"{name}: wall {median:.2f} s ({min(wall[name]):.2f}), CPU "
            f"{statistics.median(cpu[name]):.2f} s ({min(cpu[name]):.2f}) for {sheets} sheets, "
            f"{rows:,} rows, {findings:,} findings; {rows / median:,.0f} rows/s"
        )
    print(
        f"sum of each sheet's fastest CPU time: clean {per_sheet['clean']:.3f} s, messy "
        f"{per_sheet['messy']:.3f} s; messy / clean {per_sheet['messy'] / per_sheet['clean']:.3f}"
    )
    for label, series in (("wall", wall), ("CPU", cpu)):
        median = statistics.median(series["messy"]) / statistics.median(series["clean"])
        fastest = min(series["messy"]) / min(series["clean"])
        print(f"messy / clean, {label}: {median:.3f} (fastest: {fastest:.3f})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
