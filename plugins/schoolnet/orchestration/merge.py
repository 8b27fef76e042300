"""The day's merge: every ESA's validation result for the date into the warehouse."""

from __future__ import annotations

from collections.abc import Collection
from datetime import date

from sqlalchemy import Engine

from schoolnet.core.config import Settings
from schoolnet.core.registry import read_schools
from schoolnet.orchestration.registries import run_esas
from schoolnet.validation.result import result_for
from schoolnet.warehouse import ensure_schema, merge_day
from schoolnet.warehouse.merge import MergeSummary
from schoolnet.warehouse.timings import MergeClock


def merge(
    report_date: date,
    settings: Settings,
    engine: Engine,
    run_id: str | None = None,
    keep: Collection[str] = (),
) -> MergeSummary:
    """Merge every ESA's validated result for ``report_date`` into the warehouse, then record
    the merge's and the pulls' timings (best effort). An ESA whose pull left no result is
    merged as not pulled (:meth:`~schoolnet.validation.result.SheetResult.not_pulled`). The
    ESAs in ``keep`` keep what the warehouse holds for them that date (see :func:`merge_day`)."""
    clock = MergeClock()
    esas = run_esas(settings, report_date)
    schools = read_schools(settings.registry.schools)
    days = [
        result_for(settings, report_date, esa).esa_day() for esa in esas if esa.esa_code not in keep
    ]
    ensure_schema(engine)
    merged = merge_day(engine, report_date, esas, schools, days, keep=keep)
    clock.record(
        engine, settings, report_date, [esa.esa_code for esa in esas], len(schools), run_id
    )
    return merged
