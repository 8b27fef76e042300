"""The daily run's timings: each ESA's pull, step by step, and each report date's merge.

A pull's clock leaves its figures in a file beside the pull's result; the merge's clock puts
them on the ESA's ``pull`` row with its own in ``merge_run``. Timings are best effort:
recording them never fails a pull or a merge.
"""

from __future__ import annotations

import json
import logging
import os
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, bindparam, delete, insert, update

from schoolnet.core.config import Settings
from schoolnet.core.files import write_atomically
from schoolnet.warehouse.models import MergeRunRow, PullRow

log = logging.getLogger(__name__)


TIMING_COLUMNS = (
    "pull_started_at",
    "pull_finished_at",
    "read_seconds",
    "validate_seconds",
    "feedback_seconds",
    "run_id",
    "try_number",
)


def airflow_run() -> tuple[str | None, int | None]:
    """The Airflow run id and try number of the task this process runs, if any.

    Airflow exports them as ``AIRFLOW_CTX_*`` variables before every task, so the library learns
    them without importing Airflow; outside a task both are None.
    """
    run_id = os.environ.get("AIRFLOW_CTX_DAG_RUN_ID") or None
    try:
        try_number: int | None = int(os.environ.get("AIRFLOW_CTX_TRY_NUMBER", ""))
    except ValueError:
        try_number = None
    return run_id, try_number


def timing_path(settings: Settings, report_date: date, esa_code: str) -> Path:
    return settings.storage.data_dir / "timings" / report_date.isoformat() / f"{esa_code}.json"


@dataclass
class PullClock:
    """Times one ESA's pull, step by step, and leaves the figures for the merge to record."""

    run_id: str | None
    try_number: int | None
    started_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    seconds: dict[str, float] = field(default_factory=dict)
    _mark: float = field(default_factory=time.perf_counter)

    @classmethod
    def start(cls, run_id: str | None = None, try_number: int | None = None) -> PullClock:
        env_run, env_try = airflow_run()
        return cls(run_id or env_run, try_number if try_number is not None else env_try)

    def lap(self, step: str) -> None:
        """Seconds since the previous lap (or the start) go to ``step``."""
        now = time.perf_counter()
        self.seconds[step] = round(now - self._mark, 3)
        self._mark = now

    def save(self, settings: Settings, report_date: date, esa_code: str) -> None:
        """Write the timings beside the pull's result; a failure is logged, never raised."""
        record = {
            "pull_started_at": self.started_at.isoformat(),
            "pull_finished_at": datetime.now(UTC).isoformat(),
            "read_seconds": self.seconds.get("read"),
            "validate_seconds": self.seconds.get("validate"),
            "feedback_seconds": self.seconds.get("feedback"),
            "run_id": self.run_id,
            "try_number": self.try_number,
        }
        path = timing_path(settings, report_date, esa_code)
        try:
            write_atomically(path, json.dumps(record))
        except OSError as error:
            log.warning("ESA %s: pull timings not kept (%s)", esa_code, error)


def _load_timing(path: Path) -> dict[str, Any] | None:
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(raw, dict):
        return None
    record: dict[str, Any] = {name: raw.get(name) for name in TIMING_COLUMNS}
    for name in ("pull_started_at", "pull_finished_at"):
        moment = record[name]
        record[name] = datetime.fromisoformat(moment) if isinstance(moment, str) else None
    return record


@dataclass
class MergeClock:
    """Times one report date's merge and records it with the pulls' timings."""

    started_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    _mark: float = field(default_factory=time.perf_counter)

    def record(
        self,
        engine: Engine,
        settings: Settings,
        report_date: date,
        esa_codes: Sequence[str],
        schools: int,
        run_id: str | None = None,
    ) -> None:
        """Write the merge's timing and each pull's into the warehouse, after the merge's own
        transaction; a failure is logged, never raised (the day is merged either way)."""
        seconds = round(time.perf_counter() - self._mark, 3)
        try:
            record_timings(
                engine,
                report_date,
                {
                    code: timing
                    for code in esa_codes
                    if (timing := _load_timing(timing_path(settings, report_date, code)))
                },
                {
                    "report_date": report_date,
                    "run_id": run_id or airflow_run()[0],
                    "started_at": self.started_at,
                    "finished_at": datetime.now(UTC),
                    "seconds": seconds,
                    "esas": len(esa_codes),
                    "schools": schools,
                },
            )
        except Exception as error:  # noqa: BLE001 - timings never fail the merge; logged
            log.warning("timings of %s not recorded: %s", report_date, error)


def record_timings(
    engine: Engine,
    report_date: date,
    pulls: Mapping[str, Mapping[str, Any]],
    merge_run: Mapping[str, Any],
) -> None:
    """Put each ESA's pull timings on its ``pull`` row of the date, and the merge's in
    ``merge_run`` (replacing an earlier run's of the same date)."""
    with engine.begin() as conn:
        if pulls:
            conn.execute(
                update(PullRow)
                .where(PullRow.report_date == report_date, PullRow.esa_code == bindparam("code"))
                .values({name: bindparam(f"v_{name}") for name in TIMING_COLUMNS}),
                [
                    {"code": code, **{f"v_{name}": timing.get(name) for name in TIMING_COLUMNS}}
                    for code, timing in pulls.items()
                ],
            )
        conn.execute(delete(MergeRunRow).where(MergeRunRow.report_date == report_date))
        conn.execute(insert(MergeRunRow).values(**merge_run))
