"""Validation of one national day: the demo's messy data set against a clean one.

    python -m benchmarks.messy [--runs 7]

Both data sets are the national one (same seed, so the same schools and states); the messy one
is what `make demo` makes (`DEMO_MESSY_RATE` of rows with a clerk mistake, three sheets that
cannot be used on the last day). The last day's sheets are read once each through gspread from
the emulator, as `make bench` does (an unshared sheet cannot be read, so it is not validated,
as in the pull), then the validator runs over the whole day, clean and messy in turns (which
goes first alternates), so that the load of a shared machine falls on both alike. Prints the
medians (wall and CPU time), the load average, and the function calls of one validation of
each day after the turns (the work itself, which the machine's load does not change).
"""

from __future__ import annotations

import argparse
import cProfile
import os
import pstats
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from benchmarks.machine import machine
from schoolnet.core.config import GoogleSettings
from schoolnet.core.registry import read_esas, read_schools, schools_by_code
from schoolnet.devtools.demo import generate
from schoolnet.devtools.demo.generate import DEMO_MESSY_RATE
from schoolnet.devtools.emulator import Emulator, load_day
from schoolnet.ingestion.google import EmulatorSession
from schoolnet.ingestion.ingest import SheetReadError, SheetsReader
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


def function_calls(context: tuple[Any, Any], reads: list[tuple[Any, Any]]) -> int:
    """Python function calls of one validation of the day: the work done, which no other
    process on the machine changes (timings on a shared machine vary by tens of percent)."""
    profile = cProfile.Profile()
    profile.enable()
    validate_day(context, reads)
    profile.disable()
    return int(pstats.Stats(profile).total_calls)  # type: ignore[attr-defined]  # pstats.Stats has total_calls; typeshed omits it


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
        for turn in range(args.runs):
            # Whichever day runs first in a turn measured ~15% slower, whichever it was: the
            # order alternates, so that neither day has it.
            both = (("clean", clean), ("messy", messy))
            for name, (context, reads) in both if turn % 2 == 0 else both[::-1]:
                seconds, used, rows, findings = validate_day(context, reads)
                wall[name].append(seconds)
                cpu[name].append(used)
                figures[name] = (len(reads), rows, findings)
        calls = {"clean": function_calls(*clean), "messy": function_calls(*messy)}
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
        f"function calls of one validation: clean {calls['clean']:,}, messy "
        f"{calls['messy']:,}; messy / clean {calls['messy'] / calls['clean']:.3f}"
    )
    for label, series in (("wall", wall), ("CPU", cpu)):
        median = statistics.median(series["messy"]) / statistics.median(series["clean"])
        fastest = min(series["messy"]) / min(series["clean"])
        print(f"messy / clean, {label}: {median:.3f} (fastest: {fastest:.3f})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
