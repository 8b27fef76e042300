"""The school's own history in the validation of one national day: what comparing every row
with its school's last accepted values costs, against validating without them.

    python -m benchmarks.history_checks    # also a part of `make bench`

The previous values are the day's own accepted rows, merged into a warehouse as the day
before, so every accepted row of the nation is compared (the most work the checks can do).
Timed in turns with the validation without them: the validator alone with the values in
memory, and as the daily run does it, each ESA's values read from the warehouse
(``sql/previous_values.sql``) and then validated.
"""

from __future__ import annotations

import os
import statistics
import tempfile
import time
from collections.abc import Callable, Mapping, Sequence
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from benchmarks.scratch import scratch_warehouse
from schoolnet.core.previous import PreviousValues
from schoolnet.core.registry import Esa, School, read_esas, read_schools
from schoolnet.validation import SheetValidation, validate_sheet
from schoolnet.warehouse import EsaDay, merge_day
from schoolnet.warehouse.history import previous_values

REPEAT = 7


def _in_turns(actions: Sequence[Callable[[], Any]]) -> list[float]:
    """Each action's median wall time, the actions run in turns ``REPEAT`` times, so that a
    shared machine's load falls on all of them alike."""
    times: list[list[float]] = [[] for _ in actions]
    for _ in range(REPEAT):
        for index, action in enumerate(actions):
            started = time.perf_counter()
            action()
            times[index].append(time.perf_counter() - started)
    return [statistics.median(each) for each in times]


def accepted_days(esas: Sequence[Esa], validations: Sequence[SheetValidation]) -> list[EsaDay]:
    """Each ESA's validated sheet as the merge takes it: accepted, with its rows and findings."""
    return [
        EsaDay(
            esa.esa_code,
            "accepted",
            rows_read=len(v.rows),
            accepted={r.school_code: r.values for r in v.accepted_rows if r.school_code},
            findings=[f.to_dict() for f in v.findings],
        )
        for esa, v in zip(esas, validations, strict=True)
    ]


def history_rows(
    url: str,
    day: date,
    esas: Sequence[Esa],
    schools: Sequence[School],
    registry: Mapping[str, School],
    reads: Sequence[Sequence[Sequence[Any]]],
    validations: Sequence[SheetValidation],
) -> list[tuple[str, str, str]]:
    """Three rows: without the checks, with them in memory, with them read from the warehouse
    at ``url``; each with its ratio to the first."""
    days = accepted_days(esas, validations)
    before = day - timedelta(days=1)
    in_memory: dict[str, dict[str, PreviousValues]] = {
        esa.esa_code: {
            code: PreviousValues(before, values) for code, values in esa_day.accepted.items()
        }
        for esa, esa_day in zip(esas, days, strict=True)
    }
    pairs = list(zip(esas, reads, strict=True))

    def validate_all(previous_of: Callable[[str], Mapping[str, PreviousValues]] | None) -> None:
        for esa, values in pairs:
            previous = None if previous_of is None else previous_of(esa.esa_code)
            validate_sheet(
                values, esa_code=esa.esa_code, schools=registry, today=day, previous=previous
            )

    def without() -> None:
        validate_all(None)

    def with_memory() -> None:
        validate_all(in_memory.__getitem__)

    with scratch_warehouse(url) as engine:
        merge_day(engine, before, esas, schools, days)

        def with_warehouse() -> None:
            validate_all(lambda esa_code: previous_values(engine, esa_code, day))

        plain, memory, warehouse = _in_turns([without, with_memory, with_warehouse])
    compared = sum(len(previous) for previous in in_memory.values())
    database = "PostgreSQL" if url.startswith("postgresql") else "SQLite"
    return [
        (
            f"validate one national day, without the history checks (beside {database})",
            f"{plain:.2f} s",
            f"median of {REPEAT}, in turns with the two below",
        ),
        (
            "  with the history checks, last accepted values in memory",
            f"{memory:.2f} s",
            f"{memory / plain:.2f} × without; {compared:,} rows compared",
        ),
        (
            f"  with the history checks, values read from the warehouse, {database}",
            f"{warehouse:.2f} s",
            f"{warehouse / plain:.2f} × without (target ≤ 1.3 ×); one query per ESA",
        ),
    ]


def main() -> int:
    from benchmarks.machine import PG_URL, machine
    from benchmarks.validation import read_national_day

    with tempfile.TemporaryDirectory(prefix="schoolnet-bench-") as folder:
        work = Path(folder)
        day, codes, registry, reads = read_national_day(work, messy=0.03)
        esas = read_esas(work / "demo" / "esas.csv")
        schools = read_schools(work / "demo" / "schools.csv")
        validations = [
            validate_sheet(values, esa_code=code, schools=registry, today=day)
            for code, values in zip(codes, reads, strict=True)
        ]
        for url in (f"sqlite:///{work / 'history.db'}", PG_URL):
            try:
                rows = history_rows(url, day, esas, schools, registry, reads, validations)
            except Exception as error:  # noqa: BLE001 - no server: say so and go on
                print(f"{url.split(':')[0]}: skipped ({type(error).__name__})")
                continue
            for stage, seconds, figure in rows:
                print(f"| {stage} | {seconds} | {figure} |")
    load = ", ".join(f"{figure:.1f}" for figure in os.getloadavg())
    print(f"Machine: {machine()}; load average {load}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
