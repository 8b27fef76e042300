"""The morning pull: which sheets to read, each sheet read (or an unchanged read reused),
landed raw, validated, given its feedback tab, and its result written for the merge.

Files are the hand-over: each ESA's raw sheet (exactly as Google returned it) and its
validation result are written per report date, so the merge reads them without calling Google
again and XCom carries only small summaries (``PullSummary``).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date

from sqlalchemy import Engine

from schoolnet.contract import load_contract
from schoolnet.core.config import Settings
from schoolnet.core.registry import Esa, School
from schoolnet.ingestion.ingest import (
    SheetRead,
    SheetReadError,
    SheetsReader,
    SheetVersion,
    TabRegion,
)
from schoolnet.ingestion.landing import RawSheet, SheetFailure, land_read, load_raw
from schoolnet.orchestration.handoffs import PullPlan, PullSummary
from schoolnet.orchestration.validate import (
    feedback_region,
    raw_sheet,
    validate_landed,
    write_feedback_tab,
)
from schoolnet.validation.result import SheetResult, write_result
from schoolnet.warehouse.history import last_reads
from schoolnet.warehouse.timings import PullClock

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class DriveListing:
    """How the morning's Drive listing went: why it failed, when it did (then every sheet is
    read, and the run must still end failed so that the operator looks)."""

    failure: str | None = None


def plan_pulls(
    esas: Sequence[Esa],
    report_date: date,
    settings: Settings,
    reader: SheetsReader,
    engine: Engine,
    full_pull: bool = False,
) -> tuple[list[PullPlan], DriveListing]:
    """Decide, per ESA, whether its sheet must be read today or last read's values still hold.

    One Drive listing (one call per 1,000 sheets) gives every sheet's ``modifiedTime``. A sheet
    unchanged since the last read, or last changed by us (the feedback tab), is not read again:
    that read is validated anew for today. If the listing fails, every sheet is read.
    Returns the plan (one small entry per ESA, for task mapping) and how the listing went.
    """
    full = full_pull or is_full_pull_day(report_date, settings)
    versions: dict[str, SheetVersion] = {}
    failure: str | None = None
    try:
        versions, calls = reader.list_spreadsheets(settings.google.folder_id or None)
    except SheetReadError as error:
        log.warning("Drive listing failed (%s); reading every sheet today", error.detail)
        calls = error.api_calls
        failure = f"{error.code}: {error.detail}"
        full = True
    previous = last_reads(engine, report_date)
    # Our own write only stands for "unchanged" against the ESA's latest read of all: a past
    # date run after later ones compares with an older read, and the clerk may have edited
    # the sheet between that read and our later write.
    latest = previous if full else last_reads(engine, date.max)
    plan = []
    for esa in esas:
        version = versions.get(esa.spreadsheet_id)
        modified_time = version.modified_time if version else None
        reuse: date | None = None
        landed = None if full_pull else load_raw(settings, report_date, esa.esa_code)
        last = previous.get(esa.esa_code)
        if landed is not None and landed.failure is None:
            # A rerun of the date: what was landed then still stands, so the rerun gives the
            # warehouse exactly what the first run gave it. Failed sheets are read again.
            reuse, modified_time = report_date, landed.sheet_modified_time
        elif not full and version is not None and last is not None:
            origin, seen = last
            ours = version.modified_by_us and latest.get(esa.esa_code, last)[0] == origin
            unchanged = version.modified_time == seen or ours
            if unchanged and load_raw(settings, origin, esa.esa_code) is not None:
                reuse = origin
        plan.append(PullPlan(esa=esa, modified_time=modified_time, reuse_from=reuse))
    reads = sum(1 for entry in plan if entry.reuse_from is None)
    log.info(
        "plan for %s: %d of %d sheets to read (%d listing calls)",
        report_date,
        reads,
        len(plan),
        calls,
    )
    return plan, DriveListing(failure)


def is_full_pull_day(report_date: date, settings: Settings) -> bool:
    """Every ``full_pull_every_days`` days every sheet is read, whatever Drive says."""
    every = settings.google.full_pull_every_days
    return every > 0 and report_date.toordinal() % every == 0


def read_sheet(
    esa: Esa,
    report_date: date,
    reader: SheetsReader,
    modified_time: str | None,
    feedback: TabRegion | None = None,
) -> tuple[RawSheet, SheetRead]:
    """Read the ESA's data tab from Google (one call) as the raw sheet of ``report_date``, with
    the read itself (its marks, and ``feedback``'s cells as the sheet holds them); raises
    ``SheetReadError`` when Google does not give it."""
    read = reader.read_data_tab(esa.spreadsheet_id, load_contract().data_tab, feedback)
    return raw_sheet(esa, read, report_date, modified_time), read


def obtain_sheet(
    esa: Esa,
    report_date: date,
    settings: Settings,
    reader: SheetsReader,
    modified_time: str | None,
    reuse_from: date | None,
    feedback: TabRegion | None = None,
) -> tuple[RawSheet, SheetRead | None]:
    """The ESA's sheet for today, read from Google or reused from an unchanged earlier read,
    landed raw either way (a failure too, so a replay sees the same day); with this run's
    read when there was one (None: reused)."""
    sheet: RawSheet | None = None
    if reuse_from == report_date:  # a rerun: today's landing stands as it is
        landed = load_raw(settings, report_date, esa.esa_code)
        if landed is not None and landed.failure is None:
            return landed, None
    if reuse_from is not None and reuse_from != report_date:
        origin = load_raw(settings, reuse_from, esa.esa_code)
        if origin is not None and origin.failure is None:
            sheet = replace(origin, api_calls=0, sheet_modified_time=modified_time)
    read: SheetRead | None = None
    if sheet is None:
        try:
            sheet, read = read_sheet(esa, report_date, reader, modified_time, feedback)
        except SheetReadError as error:
            log.warning("ESA %s: sheet not read (%s): %s", esa.esa_code, error.code, error.detail)
            sheet = RawSheet(
                esa_code=esa.esa_code,
                spreadsheet_id=esa.spreadsheet_id,
                values=[],
                tab=None,
                used_first_tab=False,
                api_calls=error.api_calls,
                sheet_modified_time=modified_time,
                origin_date=None,
                failure=SheetFailure(error.code, error.reason, error.detail),
            )
    land_read(settings, report_date, sheet)
    return sheet, read


def pull_and_validate(
    esa: Esa,
    report_date: date,
    settings: Settings,
    reader: SheetsReader,
    schools: Mapping[str, School],
    engine: Engine,
    modified_time: str | None = None,
    reuse_from: date | None = None,
    run_id: str | None = None,
    try_number: int | None = None,
) -> PullSummary:
    """Get one ESA's sheet (read, or reuse an unchanged read), validate it, give the ESA its
    feedback tab, and write the result for the merge. An unreadable sheet is an outcome.

    Each step's seconds are kept for the merge to record on the ESA's ``pull`` row, with the
    Airflow run id and try number (by default those Airflow exports to the running task).
    """
    clock = PullClock.start(run_id, try_number)
    writes_tab = settings.feedback.write_tab
    region = feedback_region(engine, esa.esa_code) if writes_tab else None
    sheet, read = obtain_sheet(
        esa, report_date, settings, reader, modified_time, reuse_from, region
    )
    clock.lap("read")
    result = validate_landed(esa, report_date, sheet, settings, schools, engine)
    clock.lap("validate")
    if writes_tab and sheet.failure is None:
        tab = write_feedback_tab(esa, result, reader, engine, live=settings.live, read=read)
        result = result.model_copy(update={"feedback_tab": tab})
        write_result(settings, result)
        clock.lap("feedback")
    clock.save(settings, report_date, esa.esa_code)
    return summary(result)


def summary(result: SheetResult) -> PullSummary:
    """What one ESA's pull hands on through XCom: counts and the outcome, not the data."""
    return PullSummary(
        esa_code=result.esa_code,
        outcome=result.outcome,
        error_code=result.error_code,
        api_calls=result.api_calls,
        rows_read=result.rows_read,
        rows_accepted=result.rows_accepted,
        rows_rejected=result.rows_rejected,
        feedback_tab=result.feedback_tab,
        errors=result.errors,
        warnings=result.warnings,
    )
