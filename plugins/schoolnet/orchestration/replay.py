"""A date run again from what it landed, without calling Google: a run of a past date under
Airflow (:func:`plan_replay`, :func:`replay_pull`, :func:`replay_keep`) and ``schoolnet
replay`` (:func:`replay`)."""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from datetime import date

from sqlalchemy import Engine

from schoolnet.core.config import Settings
from schoolnet.core.registry import Esa, School
from schoolnet.ingestion.landing import RawSheet, load_raw
from schoolnet.orchestration.handoffs import PullPlan, PullSummary
from schoolnet.orchestration.merge import merge
from schoolnet.orchestration.pull import summary
from schoolnet.orchestration.registries import load_school_registry, run_esas
from schoolnet.orchestration.validate import validate_landed
from schoolnet.warehouse.merge import MergeSummary

log = logging.getLogger(__name__)


def plan_replay(esas: Sequence[Esa], report_date: date, settings: Settings) -> list[PullPlan]:
    """The plan of a run of a past date: no Google call. An ESA whose sheet was landed that
    date is validated again from its landing (a failed read stays failed); one with no landing
    keeps what the warehouse holds for it."""
    plan = []
    for esa in esas:
        landed = load_raw(settings, report_date, esa.esa_code)
        plan.append(
            PullPlan(
                esa=esa,
                modified_time=landed.sheet_modified_time if landed else None,
                reuse_from=report_date if landed else None,
                action="replay" if landed else "keep",
            )
        )
    replayed = sum(1 for entry in plan if entry.action == "replay")
    log.info(
        "plan for %s, a past date: %d of %d ESAs replayed from that date's landing, %d keep "
        "what the warehouse holds (no landing); no sheet is read, no tab written",
        report_date,
        replayed,
        len(plan),
        len(plan) - replayed,
    )
    return plan


def replay_pull(
    esa: Esa,
    report_date: date,
    settings: Settings,
    schools: Mapping[str, School],
    engine: Engine,
) -> PullSummary:
    """Validate a past date's landed sheet again for the merge: no Google call, no tab write,
    and the first run's pull timings stay as they were recorded."""
    sheet = load_raw(settings, report_date, esa.esa_code)
    if sheet is None:
        raise NothingLanded([report_date])
    return summary(validate_landed(esa, report_date, sheet, settings, schools, engine))


def replay_keep(settings: Settings, report_date: date) -> set[str] | None:
    """The ESAs of a past date's run with no landing, which keep what the warehouse holds;
    None when nothing at all was landed that date (then nothing is merged)."""
    landed = landed_sheets(settings, report_date)
    if not any(landed.values()):
        return None
    return {code for code, sheet in landed.items() if sheet is None}


class NothingLanded(RuntimeError):
    """Replay was asked for dates it cannot rebuild: no sheet of theirs was landed raw."""

    def __init__(self, dates: Sequence[date]) -> None:
        self.dates = tuple(dates)
        super().__init__(
            "nothing replayed: no raw landing for "
            + ", ".join(day.isoformat() for day in self.dates)
            + " (no sheet of those dates was kept under the data folder's raw/); replay only "
            "rebuilds dates the pipeline read, so leave them as they are or run them again "
            "with Airflow (airflow dags test schoolnet_daily DATE), which reads the sheets as "
            "they are now"
        )


def landed_sheets(settings: Settings, report_date: date) -> dict[str, RawSheet | None]:
    """Each ESA of the date's run and its raw landing (None: nothing landed for it)."""
    return {
        esa.esa_code: load_raw(settings, report_date, esa.esa_code)
        for esa in run_esas(settings, report_date)
    }


def unreplayable(settings: Settings, dates: Sequence[date]) -> list[date]:
    """The dates of ``dates`` no sheet was landed for: a replay of them would rebuild nothing."""
    return [
        day for day in dates if not any(sheet for sheet in landed_sheets(settings, day).values())
    ]


def replay(report_date: date, settings: Settings, engine: Engine) -> MergeSummary:
    """Validate and merge ``report_date`` again from its raw landing, without calling Google.

    Gives the warehouse the state the original run gave it (feedback and emails excepted).
    An ESA with no landing that date keeps what the warehouse holds for it; a date with no
    landing at all is refused (:class:`NothingLanded`) and left untouched.
    """
    keep = replay_keep(settings, report_date)
    if keep is None:
        raise NothingLanded([report_date])
    schools = load_school_registry(settings)
    for esa in run_esas(settings, report_date):
        if esa.esa_code not in keep:
            replay_pull(esa, report_date, settings, schools, engine)
    return merge(report_date, settings, engine, keep=keep)
