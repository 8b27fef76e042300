"""The compose deployment's executor at scale: one national morning under the scheduler with
Celery workers, against the quota bound.

Every one of the 245 sheets has changed (the first morning), the emulator refuses what Google
would refuse at ``QUOTA`` calls a minute (raised from Google's 60 so the run stays short), and
the pacer grants ``PACE``. The quota bound is the time the quota alone needs for the morning's
calls: one Drive listing and 245 reads, and two writes per ESA (its feedback tab), reads and
writes having quotas of their own. The run is timed from the first pull's start to the last
pull's end (the part the quota bounds) and whole, with one worker and with two.

Run: ``make bench-celery`` (needs PostgreSQL and Redis on 127.0.0.1, as the tests do).
"""

from __future__ import annotations

import argparse
import os
import platform
import tempfile
import time
import uuid
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from schoolnet.devtools.demo import DemoManifest, generate
from schoolnet.devtools.emulator import Emulator, load_day
from schoolnet.devtools.mailsink import MailSink
from tests.deploy.stack import (
    Processes,
    Stack,
    airflow_stack,
    celery_environment,
    pg_admin_url,
    redis_database,
    settings_file,
    start_worker,
    throwaway_databases,
)

QUOTA = 120  # calls a minute the emulator allows, reads and writes each (Google: 60)
PACE = int(0.95 * QUOTA)  # what the pacer grants, as production keeps 57 of Google's 60
POOL_SLOTS = 8
CONCURRENCY = 8  # task slots per worker
RUN_TIMEOUT_SECONDS = 45 * 60


@dataclass(frozen=True)
class Measured:
    workers: int
    esas: int
    reads: int
    writes: int
    throttled: int
    pulls_seconds: float
    run_seconds: float

    @property
    def bound_seconds(self) -> float:
        return max(self.reads, self.writes) * 60 / QUOTA

    def row(self) -> str:
        ratio = self.pulls_seconds / self.bound_seconds
        return (
            f"| {self.workers} | {self.esas} | {self.reads} / {self.writes} | {self.throttled} | "
            f"{self.bound_seconds:.0f} s | {self.pulls_seconds:.0f} s | {ratio:.2f} | "
            f"{self.run_seconds:.0f} s |"
        )


def every_pull(stack: Stack, run_id: str) -> list[dict[str, Any]]:
    """Every mapped pull of the run: the REST API gives at most 100 a page."""
    pulls: list[dict[str, Any]] = []
    while True:
        page = stack.get(
            f"/dags/schoolnet_daily/dagRuns/{run_id}/taskInstances/pull_sheet/listMapped",
            limit=100,
            offset=len(pulls),
        )
        pulls += page["task_instances"]
        if not page["task_instances"] or len(pulls) >= page["total_entries"]:
            return pulls


def _seconds(start: str, end: str) -> float:
    return (datetime.fromisoformat(end) - datetime.fromisoformat(start)).total_seconds()


def measure(workers: int, demo: Path, manifest: DemoManifest, work: Path) -> Measured:
    admin_url = pg_admin_url()
    day = manifest.days[0]
    load_day(work / "emulator", demo, day)
    suffix = uuid.uuid4().hex[:10]
    metadata_db, warehouse_db = f"schoolnet_bench_af_{suffix}", f"schoolnet_bench_wh_{suffix}"

    def services(processes: Processes) -> None:
        processes.start("dag-processor", "dag-processor")
        processes.start("scheduler", "scheduler")
        for number in range(workers):
            start_worker(processes, f"worker-{number + 1}")

    with (
        redis_database() as redis_db,
        throwaway_databases(admin_url, metadata_db, warehouse_db),
        Emulator(
            work / "emulator", read_quota_per_minute=QUOTA, write_quota_per_minute=QUOTA
        ) as emulator,
        MailSink(work / "mail") as sink,
        airflow_stack(
            root=work,
            manifest=manifest,
            emulator=emulator,
            sink=sink,
            admin_url=admin_url,
            metadata_db=metadata_db,
            warehouse_db=warehouse_db,
            settings=settings_file(work, demo, requests_per_minute=PACE),
            pool_slots=POOL_SLOTS,
            services=services,
            executor="CeleryExecutor",
            extra_env=celery_environment(admin_url, metadata_db, redis_db, CONCURRENCY),
        ) as stack,
    ):
        stack.unpause()
        run_id = stack.trigger(day)
        state = stack.wait_finished(run_id, RUN_TIMEOUT_SECONDS)
        if state != "success":
            raise SystemExit(f"the run ended {state}:\n{stack.log_tail()}")
        run = stack.get(f"/dags/schoolnet_daily/dagRuns/{run_id}")
        pulls = every_pull(stack, run_id)
        first = min(str(ti["start_date"]) for ti in pulls)
        last = max(str(ti["end_date"]) for ti in pulls)
        stats = emulator.stats()
        return Measured(
            workers=workers,
            esas=len(pulls),
            reads=int(stats["reads"]),
            writes=int(stats["writes"]),
            throttled=int(stats["throttled"]),
            pulls_seconds=_seconds(first, last),
            run_seconds=_seconds(str(run["start_date"]), str(run["end_date"])),
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    args = parser.parse_args()
    rows = []
    with tempfile.TemporaryDirectory(prefix="schoolnet-bench-celery-") as scratch:
        demo = Path(scratch) / "demo-data"
        manifest = generate(demo, days=1)
        for workers in args.workers:
            started = time.monotonic()
            measured = measure(workers, demo, manifest, Path(scratch) / f"workers-{workers}")
            print(f"{workers} worker(s): {time.monotonic() - started:.0f} s with start-up")
            rows.append(measured.row())
    print(
        f"Machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores; "
        f"Python {platform.python_version()}. Quota {QUOTA}/min (reads and writes each), "
        f"pacer {PACE}/min, pool {POOL_SLOTS} slots, {CONCURRENCY} task slots per worker."
    )
    print("| workers | ESAs | reads / writes | 429s | quota bound | pulls | ÷ bound | run |")
    print("|---|---|---|---|---|---|---|---|")
    print("\n".join(rows))


if __name__ == "__main__":
    main()
