"""One sheet read, validated for a date, and its feedback tab: the steps the morning pull and the
near-live check share.

The morning pull (:mod:`schoolnet.orchestration.pull`) writes the result for the merge
(:func:`validate_landed`); the near-live check (:mod:`schoolnet.orchestration.live`) gives it
only to the feedback tab.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Mapping, Sequence
from datetime import date, datetime
from typing import Any

from sqlalchemy import Engine

from schoolnet.contract import load_contract
from schoolnet.core.config import LiveSettings, Settings
from schoolnet.core.registry import Esa, School
from schoolnet.ingestion.ingest import (
    SheetRead,
    SheetReadError,
    SheetsReader,
    TabLayout,
    TabRegion,
)
from schoolnet.ingestion.landing import RawSheet
from schoolnet.orchestration.marks import plan_marks
from schoolnet.validation import apply_quarantine, validate_sheet
from schoolnet.validation.feedback import (
    TAB_HEADER,
    TAB_HEADING_ROW,
    TAB_WIDTHS,
    TAB_WRAPPED,
    EsaFeedback,
    padded,
)
from schoolnet.validation.marks import cell_notes
from schoolnet.validation.result import ResultFinding, SheetOutcome, SheetResult, write_result
from schoolnet.warehouse.history import (
    last_accepted_count,
    last_feedback,
    previous_values,
    quarantine_released,
    record_feedback,
)
from schoolnet.warehouse.marks import record_marks, recorded_marks

log = logging.getLogger(__name__)

ERROR_CODES = {"rejected": "sheet_rejected", "quarantined": "quarantined"}
"""The error code of a sheet the validator did not accept, by its outcome."""


def raw_sheet(esa: Esa, read: SheetRead, report_date: date, modified_time: str | None) -> RawSheet:
    """What one read of the ESA's data tab gave, as the raw sheet of ``report_date``."""
    return RawSheet(
        esa_code=esa.esa_code,
        spreadsheet_id=esa.spreadsheet_id,
        values=read.values,
        tab=read.tab,
        used_first_tab=read.used_first_tab,
        api_calls=read.api_calls,
        sheet_modified_time=modified_time,
        origin_date=report_date,
    )


def sheet_result(
    esa: Esa,
    report_date: date,
    sheet: RawSheet,
    schools: Mapping[str, School],
    engine: Engine,
) -> SheetResult:
    """An ESA's validation result for ``report_date`` (quarantine included), written nowhere:
    the daily pull hands it to the merge, the near-live check only to the feedback tab."""
    outcome: SheetOutcome
    error_code: str | None
    reason: str | None
    detail: str | None = None
    findings: tuple[ResultFinding, ...] = ()
    accepted: dict[str, dict[str, Any]] = {}
    not_reported: tuple[str, ...] = ()
    if sheet.failure is not None:
        outcome, error_code = "failed", sheet.failure.code
        reason, detail = sheet.failure.reason, sheet.failure.detail
        rows_read = rows_rejected = 0
    else:
        validation = validate_sheet(
            sheet.values,
            esa_code=esa.esa_code,
            schools=schools,
            today=report_date,
            tab_title=sheet.tab,
            previous=previous_values(engine, esa.esa_code, report_date),
        )
        if not quarantine_released(engine, esa.esa_code, report_date):
            validation = apply_quarantine(
                validation, last_accepted_count(engine, esa.esa_code, report_date)
            )
        outcome, error_code = validation.outcome, ERROR_CODES.get(validation.outcome)
        first_error = next((f.message for f in validation.findings if f.severity == "error"), None)
        reason = None
        if validation.outcome != "accepted":
            reason = load_contract().sheet_text(
                f"sheet_{validation.outcome}", first_error=first_error
            )
        rows_read, rows_rejected = len(validation.rows), len(validation.rejected_rows)
        findings = tuple(ResultFinding.of(finding) for finding in validation.findings)
        accepted = {
            row.school_code: row.values for row in validation.accepted_rows if row.school_code
        }
        not_reported = tuple(validation.not_reported)
    return SheetResult(
        esa_code=esa.esa_code,
        spreadsheet_id=esa.spreadsheet_id,
        report_date=report_date,
        sheet_modified_time=sheet.sheet_modified_time,
        origin_date=sheet.origin_date,
        data_digest=sheet.data_digest,
        api_calls=sheet.api_calls,
        outcome=outcome,
        error_code=error_code,
        reason=reason,
        detail=detail,
        rows_read=rows_read,
        rows_rejected=rows_rejected,
        findings=findings,
        accepted=accepted,
        not_reported=not_reported,
    )


def validate_landed(
    esa: Esa,
    report_date: date,
    sheet: RawSheet,
    settings: Settings,
    schools: Mapping[str, School],
    engine: Engine,
) -> SheetResult:
    """Validate a landed sheet for ``report_date`` and write the result for the merge."""
    result = sheet_result(esa, report_date, sheet, schools, engine)
    write_result(settings, result)
    return result


def feedback_region(engine: Engine, esa_code: str) -> TabRegion | None:
    """The cells of the ESA's feedback tab we last wrote, for the data read to bring back as
    the sheet holds them now; None when we never wrote the tab (then it is written anyway)."""
    previous = last_feedback(engine, esa_code)
    if previous is None:
        return None
    return TabRegion(load_contract().feedback_tab, previous.rows_written, len(TAB_HEADER))


def read_for_feedback(esa: Esa, reader: SheetsReader, engine: Engine) -> SheetRead:
    """One read of the ESA's data tab with its marks and the feedback tab's cells (one call
    while both tabs are there)."""
    region = feedback_region(engine, esa.esa_code)
    return reader.read_data_tab(esa.spreadsheet_id, load_contract().data_tab, region)


def cells_digest(rows: Sequence[Sequence[str]]) -> str:
    """Of a tab's cells as text, blanks at the ends of rows and trailing blank rows aside: the
    same for what we wrote and for what the sheet gives back while nobody changed it."""
    trimmed = [list(row) for row in rows]
    for row in trimmed:
        while row and row[-1] == "":
            row.pop()
    while trimmed and not trimmed[-1]:
        trimmed.pop()
    payload = json.dumps(trimmed, ensure_ascii=False)
    return hashlib.sha256(payload.encode()).hexdigest()


def write_feedback_tab(
    esa: Esa,
    result: SheetResult,
    reader: SheetsReader,
    engine: Engine,
    checked_at: datetime | None = None,
    live: LiveSettings | None = None,
    read: SheetRead | None = None,
) -> str:
    """Bring the ESA's feedback tab and the marks on its data tab to ``result``'s findings, in
    one call, only when they are not so already; never fail the pull (or the near-live check,
    which passes ``checked_at``) for it. ``live`` (the settings' ``[live]``) words when a fix
    is checked again.

    ``read`` is this run's read of the sheet, which also gave the tab's cells and the data
    tab's notes and colours: whether the tab and the marks are current is judged from the
    sheet, so a tab a clerk deleted, renamed or emptied, or a note a clerk cleared, is written
    again. Without one (the sheet was not read: Drive says nobody changed it since our last
    write), the record stands for the sheet while the findings are unchanged; when they
    changed, the sheet is read first (one call), so no clerk's note or colour is overwritten.
    """
    feedback = EsaFeedback.from_result(esa, result, live)
    digest = feedback.digest()
    previous = last_feedback(engine, esa.esa_code)
    same_findings = previous is not None and previous.digest == digest
    if read is None:
        if same_findings:
            return "unchanged"
        try:
            read = read_for_feedback(esa, reader, engine)
        except SheetReadError as error:
            log.warning("ESA %s: feedback tab not written (%s)", esa.esa_code, error.detail)
            return f"failed: {error.code}"
    tab = read.feedback
    tab_current = (
        same_findings
        and previous is not None
        and tab is not None
        and tab.sheet_id is not None
        and previous.cells_digest is not None
        and cells_digest(tab.cells) == previous.cells_digest
    )
    recorded = recorded_marks(engine, esa.esa_code)
    plan = plan_marks(
        cell_notes(feedback.findings),
        read.marks,
        recorded,
        _data_sheet_id(read),
        signature=load_contract().sheet_text("mark_footer"),
        palette=frozenset(load_contract().finding_cell_colors.values()),
    )
    if tab_current and not plan.writes:
        if list(plan.owned) != recorded:  # a clerk took a note or colour of ours over
            record_marks(engine, esa.esa_code, plan.owned)
        return "unchanged"
    rows = feedback.tab_rows(checked_at)
    height = max(len(rows), previous.rows_written if previous else 0)
    # Where the sheet has the tab now (None: gone, so it is added again), else the record's.
    known = previous.sheet_id if previous else None
    sheet_id = tab.sheet_id if tab is not None else known
    try:
        written = reader.write_tab(
            esa.spreadsheet_id,
            load_contract().feedback_tab,
            padded(rows, height, len(TAB_HEADER)),
            sheet_id=sheet_id,
            layout=TabLayout(
                TAB_WIDTHS, TAB_WRAPPED, TAB_HEADING_ROW, frozen=bool(feedback.findings)
            ),
            marks=plan.writes,
        )
    except SheetReadError as error:
        log.warning("ESA %s: feedback tab not written (%s)", esa.esa_code, error.detail)
        return f"failed: {error.code}"
    record_feedback(
        engine,
        esa.esa_code,
        digest,
        len(rows),
        result.report_date,
        written.sheet_id,
        cells_digest(rows),
    )
    record_marks(engine, esa.esa_code, plan.owned)
    return "written"


def _data_sheet_id(read: SheetRead) -> int:
    if read.sheet_id is None:
        raise ValueError("a read without the data tab's id cannot place marks")
    return read.sheet_id
