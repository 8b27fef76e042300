"""One sheet read, validated for a date, and its feedback tab: the steps the morning pull and the
near-live check share.

The morning pull (:mod:`schoolnet.orchestration.pull`) writes the result for the merge
(:func:`validate_landed`); the near-live check (:mod:`schoolnet.orchestration.live`) gives it
only to the feedback tab.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import date, datetime
from typing import Any

from sqlalchemy import Engine

from schoolnet.contract import load_contract
from schoolnet.core.config import LiveSettings, Settings
from schoolnet.core.registry import Esa, School
from schoolnet.ingestion.ingest import SheetRead, SheetReadError, SheetsReader, TabLayout
from schoolnet.ingestion.landing import RawSheet
from schoolnet.validation import apply_quarantine, validate_sheet
from schoolnet.validation.feedback import (
    TAB_HEADER,
    TAB_HEADING_ROW,
    TAB_WIDTHS,
    TAB_WRAPPED,
    EsaFeedback,
    padded,
)
from schoolnet.validation.result import ResultFinding, SheetOutcome, SheetResult, write_result
from schoolnet.warehouse.history import (
    last_accepted_count,
    last_feedback,
    previous_values,
    quarantine_released,
    record_feedback,
)

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


def write_feedback_tab(
    esa: Esa,
    result: SheetResult,
    reader: SheetsReader,
    engine: Engine,
    checked_at: datetime | None = None,
    live: LiveSettings | None = None,
) -> str:
    """Rewrite the ESA's feedback tab when its findings changed, in one call; never fail the
    pull (or the near-live check, which passes ``checked_at``) for it. ``live`` (the settings'
    ``[live]``) words when a fix is checked again."""
    feedback = EsaFeedback.from_result(esa, result, live)
    digest = feedback.digest()
    previous = last_feedback(engine, esa.esa_code)
    if previous is not None and previous.digest == digest:
        return "unchanged"
    rows = feedback.tab_rows(checked_at)
    height = max(len(rows), previous.rows_written if previous else 0)
    try:
        written = reader.write_tab(
            esa.spreadsheet_id,
            load_contract().feedback_tab,
            padded(rows, height, len(TAB_HEADER)),
            sheet_id=previous.sheet_id if previous else None,
            layout=TabLayout(
                TAB_WIDTHS, TAB_WRAPPED, TAB_HEADING_ROW, frozen=bool(feedback.findings)
            ),
        )
    except SheetReadError as error:
        log.warning("ESA %s: feedback tab not written (%s)", esa.esa_code, error.detail)
        return f"failed: {error.code}"
    record_feedback(engine, esa.esa_code, digest, len(rows), result.report_date, written.sheet_id)
    return "written"
