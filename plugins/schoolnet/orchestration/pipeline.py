"""The daily run's steps as plain functions; the DAG only wires them together.

Files are the hand-over between steps: each ESA's raw sheet (exactly as Google returned it) and
its validation result are written per report date, so the merge reads them without calling
Google again and XCom carries only small summaries.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Engine

from schoolnet.contract import load_contract
from schoolnet.core.config import Settings
from schoolnet.core.message import RenderedEmail
from schoolnet.core.registry import (
    Esa,
    RegistryError,
    School,
    esas_from_values,
    read_esas,
    read_schools,
    schools_by_code,
    write_csv,
)
from schoolnet.delivery.mail import DeliveryResult, Sender, deliver_report
from schoolnet.ingestion.ingest import (
    SheetRead,
    SheetReadError,
    SheetsReader,
    SheetVersion,
    TabLayout,
)
from schoolnet.ingestion.landing import RawSheet, SheetFailure, land_read, load_raw, write_json
from schoolnet.orchestration.handoffs import PullPlan, PullSummary, RenderedReport
from schoolnet.report.daily import build_report
from schoolnet.validation import apply_quarantine, validate_sheet
from schoolnet.validation.feedback import (
    TAB_HEADER,
    TAB_HEADING_ROW,
    TAB_WIDTHS,
    TAB_WRAPPED,
    EsaFeedback,
    padded,
    sheet_url,
)
from schoolnet.warehouse import EsaDay, ensure_schema, merge_day
from schoolnet.warehouse.history import (
    last_accepted_count,
    last_feedback,
    last_reads,
    previous_values,
    quarantine_released,
    record_feedback,
)
from schoolnet.warehouse.merge import NOT_PULLED_REASON, MergeSummary

log = logging.getLogger(__name__)


def run_registry_path(settings: Settings, report_date: date) -> Path:
    return settings.storage.data_dir / "registry" / report_date.isoformat() / "esas.csv"


def snapshot_registry(settings: Settings, report_date: date, reader: SheetsReader) -> list[Esa]:
    """Fix the ESA registry for the whole run (from its file or its Google Sheet), so every
    step of the run, and a replay later, sees the same ESAs."""
    source = settings.registry
    if source.esas_sheet:
        try:
            read = reader.read_data_tab(source.esas_sheet, source.esas_sheet_tab)
            esas = esas_from_values(read.values, f"ESA registry sheet {source.esas_sheet}")
        except SheetReadError as error:
            earlier = sorted((settings.storage.data_dir / "registry").glob("*/esas.csv"))
            earlier = [p for p in earlier if p.parent.name < report_date.isoformat()]
            if not earlier:
                raise RegistryError(
                    f"the ESA registry sheet {source.esas_sheet} could not be read "
                    f"({error.detail}) and no earlier copy exists: share it with the service "
                    'account or set [registry] esas_sheet to "" to use the file'
                ) from error
            log.warning(
                "ESA registry sheet not read (%s); using the copy of %s",
                error.detail,
                earlier[-1].parent.name,
            )
            esas = read_esas(earlier[-1])
    else:
        esas = read_esas(source.esas)
    write_csv(run_registry_path(settings, report_date), esas)
    return esas


def run_esas(settings: Settings, report_date: date) -> list[Esa]:
    """The ESA registry the run of ``report_date`` used (the settings' file if none was kept)."""
    path = run_registry_path(settings, report_date)
    return read_esas(path if path.exists() else settings.registry.esas)


def past_registry(settings: Settings, report_date: date) -> list[Esa]:
    """The ESA registry of a run of a past date, found without reading Google: the one that
    date's run kept, else the newest kept before it, else the settings' file (or, when the
    registry is a Google Sheet, the oldest kept copy). Kept for the date from then on."""
    path = run_registry_path(settings, report_date)
    if path.exists():
        return read_esas(path)
    kept = sorted((settings.storage.data_dir / "registry").glob("*/esas.csv"))
    earlier = [copy for copy in kept if copy.parent.name <= report_date.isoformat()]
    if earlier:
        source = earlier[-1]
    elif not settings.registry.esas_sheet:
        source = settings.registry.esas
    elif kept:
        source = kept[0]
    else:
        raise RegistryError(
            f"no copy of the ESA registry is kept for {report_date.isoformat()} or any other "
            f"date, and a run of a past date does not read the registry sheet "
            f"{settings.registry.esas_sheet}: run today's date first"
        )
    esas = read_esas(source)
    write_csv(path, esas)
    return esas


def _json_values(values: Mapping[str, Any]) -> dict[str, Any]:
    return {k: v.isoformat() if isinstance(v, date) else v for k, v in values.items()}


def _typed_values(values: Mapping[str, Any]) -> dict[str, Any]:
    contract = load_contract()
    typed = dict(values)
    for column in contract.columns:
        if column.type == "date" and isinstance(typed.get(column.key), str):
            typed[column.key] = date.fromisoformat(typed[column.key])
    return typed


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


def is_full_pull_day(report_date: date, settings: Settings) -> bool:
    """Every ``full_pull_every_days`` days every sheet is read, whatever Drive says."""
    every = settings.google.full_pull_every_days
    return every > 0 and report_date.toordinal() % every == 0


def read_sheet(
    esa: Esa, report_date: date, reader: SheetsReader, modified_time: str | None
) -> RawSheet:
    """Read the ESA's data tab from Google (one call) as the raw sheet of ``report_date``;
    raises ``SheetReadError`` when Google does not give it."""
    read = reader.read_data_tab(esa.spreadsheet_id, load_contract().data_tab)
    return raw_sheet(esa, read, report_date, modified_time)


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


def obtain_sheet(
    esa: Esa,
    report_date: date,
    settings: Settings,
    reader: SheetsReader,
    modified_time: str | None,
    reuse_from: date | None,
) -> RawSheet:
    """The ESA's sheet for today, read from Google or reused from an unchanged earlier read,
    landed raw either way (a failure too, so a replay sees the same day)."""
    sheet: RawSheet | None = None
    if reuse_from == report_date:  # a rerun: today's landing stands as it is
        landed = load_raw(settings, report_date, esa.esa_code)
        if landed is not None and landed.failure is None:
            return landed
    if reuse_from is not None and reuse_from != report_date:
        origin = load_raw(settings, reuse_from, esa.esa_code)
        if origin is not None and origin.failure is None:
            sheet = replace(origin, api_calls=0, sheet_modified_time=modified_time)
    if sheet is None:
        try:
            sheet = read_sheet(esa, report_date, reader, modified_time)
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
    return sheet


def validate_landed(
    esa: Esa,
    report_date: date,
    sheet: RawSheet,
    settings: Settings,
    schools: Mapping[str, School],
    engine: Engine,
) -> dict[str, Any]:
    """Validate a landed sheet for ``report_date`` and write the result for the merge."""
    result = validation_result(esa, report_date, sheet, schools, engine)
    write_json(result_path(settings, report_date, esa.esa_code), result)
    return result


def validation_result(
    esa: Esa,
    report_date: date,
    sheet: RawSheet,
    schools: Mapping[str, School],
    engine: Engine,
) -> dict[str, Any]:
    """An ESA's validation result for ``report_date`` (quarantine included), written nowhere:
    the daily pull hands it to the merge, the near-live check only to the feedback tab."""
    result: dict[str, Any] = {
        "esa_code": esa.esa_code,
        "spreadsheet_id": esa.spreadsheet_id,
        "report_date": report_date.isoformat(),
        "sheet_modified_time": sheet.sheet_modified_time,
        "origin_date": sheet.origin_date.isoformat() if sheet.origin_date else None,
        "data_digest": sheet.data_digest,
        "api_calls": sheet.api_calls,
        "feedback_tab": None,
    }
    if sheet.failure is not None:
        result.update(
            outcome="failed",
            error_code=sheet.failure.code,
            reason=sheet.failure.reason,
            detail=sheet.failure.detail,
            rows_read=0,
            rows_rejected=0,
            findings=[],
            accepted={},
            not_reported=[],
        )
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
        findings = [f.to_dict() for f in validation.findings]
        first_error = next((f["message"] for f in findings if f["severity"] == "error"), None)
        reasons = {
            outcome: load_contract().sheet_text(f"sheet_{outcome}", first_error=first_error)
            for outcome in ("rejected", "quarantined")
        }
        result.update(
            outcome=validation.outcome,
            error_code={"rejected": "sheet_rejected", "quarantined": "quarantined"}.get(
                validation.outcome
            ),
            reason=reasons.get(validation.outcome),
            detail=None,
            rows_read=len(validation.rows),
            rows_rejected=len(validation.rejected_rows),
            findings=findings,
            accepted={
                row.school_code: _json_values(row.values)
                for row in validation.accepted_rows
                if row.school_code
            },
            not_reported=list(validation.not_reported),
        )
    return result


def result_path(settings: Settings, report_date: date, esa_code: str) -> Path:
    return settings.storage.validated_dir(report_date.isoformat()) / f"{esa_code}.json"


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
    from schoolnet.warehouse.timings import PullClock

    clock = PullClock.start(run_id, try_number)
    sheet = obtain_sheet(esa, report_date, settings, reader, modified_time, reuse_from)
    clock.lap("read")
    result = validate_landed(esa, report_date, sheet, settings, schools, engine)
    clock.lap("validate")
    if settings.feedback.write_tab and sheet.failure is None:
        result["feedback_tab"] = write_feedback_tab(esa, report_date, result, reader, engine)
        write_json(result_path(settings, report_date, esa.esa_code), result)
        clock.lap("feedback")
    clock.save(settings, report_date, esa.esa_code)
    return summary(result)


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


def write_feedback_tab(
    esa: Esa,
    report_date: date,
    result: Mapping[str, Any],
    reader: SheetsReader,
    engine: Engine,
    checked_at: datetime | None = None,
) -> str:
    """Rewrite the ESA's feedback tab when its findings changed, in one call; never fail the
    pull (or the near-live check, which passes ``checked_at``) for it."""
    feedback = EsaFeedback.from_result(esa, report_date, result)
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
    record_feedback(engine, esa.esa_code, digest, len(rows), report_date, written.sheet_id)
    return "written"


def summary(result: Mapping[str, Any]) -> PullSummary:
    """What one ESA's pull hands on through XCom: counts and the outcome, not the data."""
    findings = result["findings"]
    return PullSummary(
        esa_code=result["esa_code"],
        outcome=result["outcome"],
        error_code=result.get("error_code"),
        api_calls=result["api_calls"],
        rows_read=result["rows_read"],
        rows_accepted=len(result["accepted"]),
        rows_rejected=result["rows_rejected"],
        feedback_tab=result.get("feedback_tab"),
        errors=sum(1 for f in findings if f["severity"] == "error"),
        warnings=sum(1 for f in findings if f["severity"] == "warning"),
    )


def load_esa_day(path: Path) -> EsaDay:
    raw = json.loads(path.read_text(encoding="utf-8"))
    return EsaDay(
        esa_code=raw["esa_code"],
        outcome=raw["outcome"],
        api_calls=raw["api_calls"],
        rows_read=raw["rows_read"],
        rows_rejected=raw["rows_rejected"],
        error_code=raw.get("error_code"),
        reason=raw.get("reason"),
        detail=raw.get("detail"),
        sheet_modified_time=raw.get("sheet_modified_time"),
        origin_date=date.fromisoformat(raw["origin_date"]) if raw.get("origin_date") else None,
        data_digest=raw.get("data_digest"),
        accepted={code: _typed_values(values) for code, values in raw["accepted"].items()},
        findings=raw["findings"],
    )


def merge(
    report_date: date,
    settings: Settings,
    engine: Engine,
    run_id: str | None = None,
    keep: Collection[str] = (),
) -> MergeSummary:
    """Merge every ESA's validated result for ``report_date`` into the warehouse, then record
    the merge's and the pulls' timings (best effort). The ESAs in ``keep`` keep what the
    warehouse holds for them that date (see :func:`merge_day`)."""
    from schoolnet.warehouse.timings import MergeClock

    clock = MergeClock()
    esas = run_esas(settings, report_date)
    schools = read_schools(settings.registry.schools)
    folder = settings.storage.validated_dir(report_date.isoformat())
    days = [
        load_esa_day(folder / f"{esa.esa_code}.json")
        for esa in esas
        if esa.esa_code not in keep and (folder / f"{esa.esa_code}.json").exists()
    ]
    ensure_schema(engine)
    merged = merge_day(engine, report_date, esas, schools, days, keep=keep)
    clock.record(
        engine, settings, report_date, [esa.esa_code for esa in esas], len(schools), run_id
    )
    return merged


def render(report_date: date, settings: Settings, engine: Engine) -> RenderedReport:
    """Render the report (email, charts, PDF, XLSX) from the warehouse into the report folder."""
    from schoolnet.report.files import render_files, save_files
    from schoolnet.report.policy import load_policy

    policy = load_policy(settings.report.support_policy)
    folder = settings.storage.report_folder(report_date.isoformat())
    with engine.connect() as conn:
        report = build_report(
            conn,
            report_date,
            settings.report.stale_after_days,
            policy=policy,
            pace_window_days=settings.report.pace_window_days,
            speed_target=settings.report.speed_target,
        )
        email = render_files(conn, report, list_limit=settings.report.email_list_limit)
    save_files(email, folder)
    return RenderedReport(folder=str(folder), subject=email.subject)


def send(
    report_date: date, settings: Settings, engine: Engine, sender: Sender, force: bool = False
) -> DeliveryResult:
    """Email the rendered report once per date and recipient list."""
    from schoolnet.report.files import load_email

    rendered = load_email(settings.storage.report_folder(report_date.isoformat()))
    return deliver_report(
        engine,
        report_date,
        rendered,
        mail_from=settings.report.mail_from,
        to=settings.report.to,
        cc=settings.report.cc,
        send=sender,
        force=force,
    )


_registry_cache: dict[tuple[Path, int, int], Mapping[str, School]] = {}


def load_school_registry(settings: Settings) -> Mapping[str, School]:
    """The school registry by code, parsed once per process while the file is unchanged.

    Every mapped pull needs it (to tell a school of another ESA from an unknown code); when
    several pulls run in one process, as under ``airflow dags test``, they share one parse.
    """
    path = settings.registry.schools
    status = path.stat()
    key = (path, status.st_mtime_ns, status.st_size)
    if key not in _registry_cache:
        _registry_cache.clear()
        _registry_cache[key] = schools_by_code(read_schools(path))
    return _registry_cache[key]


def load_result(settings: Settings, report_date: date, esa: Esa) -> dict[str, Any]:
    """The ESA's validation result for the date, or a "not read" result if its pull crashed."""
    path = settings.storage.validated_dir(report_date.isoformat()) / f"{esa.esa_code}.json"
    if path.exists():
        loaded: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
        return loaded
    return {
        "esa_code": esa.esa_code,
        "outcome": "failed",
        "reason": NOT_PULLED_REASON,
        "rows_read": 0,
        "rows_rejected": 0,
        "findings": [],
        "accepted": {},
    }


def send_esa_feedback(
    report_date: date, settings: Settings, engine: Engine, force: bool = False
) -> dict[str, int]:
    """Email each ESA's contact its findings, sorted by row, once per report date."""
    from schoolnet.delivery.mail import SmtpSession, deliver_once
    from schoolnet.report.daily import template_environment
    from schoolnet.report.standing import esa_standings

    environment = template_environment()
    with engine.connect() as conn:
        standings = esa_standings(conn, report_date, settings.report.speed_target)
    counts = {"sent": 0, "already_sent": 0}
    with SmtpSession(settings.connections.smtp) as smtp:
        for esa in run_esas(settings, report_date):
            feedback = EsaFeedback.from_result(
                esa, report_date, load_result(settings, report_date, esa)
            )
            context = {
                "feedback": feedback,
                "sheet_url": sheet_url(esa.spreadsheet_id),
                "standing": standings.get(esa.esa_code),
            }
            rendered = RenderedEmail(
                subject=feedback.subject,
                html=environment.get_template("esa_feedback.html.j2").render(context),
                text=environment.get_template("esa_feedback.txt.j2").render(context),
            )
            result = deliver_once(
                engine,
                report_date,
                rendered,
                kind=f"esa:{esa.esa_code}",
                mail_from=settings.report.mail_from,
                to=[esa.contact_email],
                send=smtp.send,
                force=force,
            )
            counts["sent" if result.sent else "already_sent"] += 1
    return counts
