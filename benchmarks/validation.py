"""Validation of one national day alone, on the messy demo, for comparing two versions of the
validator on the same cells.

    python -m benchmarks.validation [--messy 0.03] [--repeat 7] [--save F | --load F]

The cells are read once through gspread from the Sheets emulator (as ``make bench`` reads
them); ``--save`` keeps them, ``--load`` times another checkout's validator on exactly the
same cells (run it with that checkout's ``plugins`` first on ``PYTHONPATH``). Prints the median
and fastest of ``--repeat`` runs and the load average, since the machine is shared.
"""

from __future__ import annotations

import argparse
import os
import pickle
import statistics
import tempfile
import time
from collections import Counter
from collections.abc import Mapping
from datetime import date
from pathlib import Path
from typing import Any

from schoolnet.core.config import GoogleSettings
from schoolnet.core.registry import School, read_esas, read_schools, schools_by_code
from schoolnet.devtools.demo import generate
from schoolnet.devtools.emulator import Emulator, load_day
from schoolnet.ingestion.google import EmulatorSession
from schoolnet.ingestion.ingest import SheetsReader
from schoolnet.validation import validate_sheet

Cells = tuple[date, list[str], Mapping[str, School], list[list[list[Any]]]]


def read_national_day(work: Path, messy: float) -> Cells:
    """The last demo day's cells of every ESA, as the morning pull gets them."""
    manifest = generate(work / "demo", messy_rate=messy, days=2)
    day = manifest.days[-1]
    load_day(work / "state", work / "demo", day)
    esas = read_esas(work / "demo" / "esas.csv")
    schools = schools_by_code(read_schools(work / "demo" / "schools.csv"))
    settings = GoogleSettings(
        request_timeout_seconds=30, max_attempts=3, backoff_base_seconds=1, backoff_max_seconds=4
    )
    with Emulator(work / "state", read_quota_per_minute=0) as emulator:
        reader = SheetsReader(EmulatorSession(emulator.base_url), settings)
        reads = [reader.read_data_tab(esa.spreadsheet_id, "โรงเรียน").values for esa in esas]
    return day, [esa.esa_code for esa in esas], schools, reads


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.validation")
    parser.add_argument("--messy", type=float, default=0.03, help="the demo's mistake rate")
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--save", type=Path, help="keep the cells read in this file")
    parser.add_argument("--load", type=Path, help="time the cells kept by --save")
    args = parser.parse_args()
    if args.load:
        with args.load.open("rb") as handle:
            cells: Cells = pickle.load(handle)  # our own file, written by --save
    else:
        with tempfile.TemporaryDirectory(prefix="schoolnet-bench-") as folder:
            cells = read_national_day(Path(folder), args.messy)
    if args.save:
        with args.save.open("wb") as handle:
            pickle.dump(cells, handle)
    day, esas, schools, reads = cells

    times = []
    for _ in range(args.repeat):
        started = time.perf_counter()
        results = [
            validate_sheet(values, esa_code=esa, schools=schools, today=day)
            for esa, values in zip(esas, reads, strict=True)
        ]
        times.append(time.perf_counter() - started)
    rows = sum(len(result.rows) for result in results)
    findings = Counter(f.code for result in results for f in result.findings)
    median = statistics.median(times)
    load = ", ".join(f"{figure:.1f}" for figure in os.getloadavg())
    print(
        f"validate one national day: median {median:.2f} s, fastest {min(times):.2f} s "
        f"of {args.repeat}; {rows:,} rows, {rows / median:,.0f} rows/s; "
        f"{sum(findings.values()):,} findings; load average {load}"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
