"""Near-live feedback: a clerk sees what is wrong with an edit within minutes, not tomorrow.

Every few minutes in working hours ``schoolnet_feedback`` asks Drive's changes feed, in one
call, which sheets changed since it last looked (``poll``). Each sheet a clerk changed is read
with one ``batchGet``, validated, and its ``ผลตรวจสอบ`` tab rewritten in one ``batchUpdate``
when the findings changed (``check``). Nothing of the daily record is touched: no landing, no
validated result, no merge, no email; the morning run stays the record of the day.

What a restart needs lives in the warehouse: the page token (``live_cursor``) and, per ESA,
whether an edit still waits for its check (``live_sheet``). The poll saves the new token and
the waiting sheets in one transaction, so a crash before the checks loses nothing: the next
run checks them. A check clears its sheet only if no newer edit was seen while it read, and
our own tab write is told from a clerk's edit by Drive's ``version`` (one more per change):
if the file moved on by more than our write, a clerk edited while we read, and it is checked
again. A lost or rejected token falls back to one Drive listing compared with what was last
checked.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import Connection, Engine, insert, select, update

from schoolnet.core.config import Settings
from schoolnet.core.registry import Esa, School, read_esas
from schoolnet.ingestion.ingest import SheetReadError, SheetsReader, SheetVersion
from schoolnet.orchestration.handoffs import LiveCheck
from schoolnet.orchestration.validate import (
    raw_sheet,
    read_for_feedback,
    sheet_result,
    write_feedback_tab,
)
from schoolnet.warehouse.history import last_reads
from schoolnet.warehouse.models import LiveCursorRow, LiveSheetRow

log = logging.getLogger(__name__)

CURSOR = "drive_changes"
RETRY_LATER = frozenset({"quota", "google_error", "timeout"})  # the next run tries again


@dataclass(frozen=True)
class Poll:
    """What one look at Drive found: the sheets to check now and what the look cost."""

    pending: list[Esa]
    api_calls: int
    source: str  # "changes" (the feed) or "listing" (no usable token: one Drive listing)
    marked: int  # sheets this look found edited (the rest of ``pending`` waited from before)
    edited: tuple[str, ...] = ()  # the ESA codes of those sheets


def current_esas(settings: Settings) -> list[Esa]:
    """The ESAs of the latest morning run (its registry copy), or the settings' file."""
    copies = sorted((settings.storage.data_dir / "registry").glob("*/esas.csv"))
    return read_esas(copies[-1] if copies else settings.registry.esas)


def daily_due_soon(moment: datetime, daily_at: tuple[int, int], minutes: int) -> bool:
    """Whether the morning run starts within ``minutes`` of ``moment`` (both local times):
    a check started now could still be reading when it starts, so it is not started."""
    start = moment.replace(hour=daily_at[0], minute=daily_at[1], second=0, microsecond=0)
    if start < moment:
        start += timedelta(days=1)
    return start - moment < timedelta(minutes=minutes)


def waiting_codes(conn: Connection) -> set[str]:
    """The ESA codes whose sheets wait for their check."""
    query = select(LiveSheetRow.esa_code).where(LiveSheetRow.pending.is_(True))
    return {code for (code,) in conn.execute(query)}


def waiting_sheets(engine: Engine) -> set[str]:
    """``waiting_codes``, in a connection of its own (for tools that watch the loop)."""
    with engine.connect() as conn:
        return waiting_codes(conn)


def load_token(engine: Engine) -> str | None:
    with engine.connect() as conn:
        return conn.execute(
            select(LiveCursorRow.page_token).where(LiveCursorRow.name == CURSOR)
        ).scalar_one_or_none()


def save_token(conn: Connection, token: str) -> None:
    """Keep ``token`` as the changes feed's position, in the caller's transaction."""
    now = datetime.now(UTC)
    done = conn.execute(
        update(LiveCursorRow)
        .where(LiveCursorRow.name == CURSOR)
        .values(page_token=token, updated_at=now)
    )
    if done.rowcount == 0:
        conn.execute(insert(LiveCursorRow).values(name=CURSOR, page_token=token, updated_at=now))


def _rows(conn: Connection) -> dict[str, Any]:
    return {row.esa_code: row for row in conn.execute(select(LiveSheetRow))}


def _mark(conn: Connection, row: Any, esa_code: str, version: SheetVersion | None) -> None:
    values = {
        "pending": True,
        "changed_at": version.modified_time if version else None,
        "version": version.version if version else None,
        "seen_at": datetime.now(UTC),
    }
    if row is None:
        conn.execute(insert(LiveSheetRow).values(esa_code=esa_code, marked=1, **values))
    else:
        conn.execute(
            update(LiveSheetRow)
            .where(LiveSheetRow.esa_code == esa_code)
            .values(marked=LiveSheetRow.marked + 1, **values)
        )


def needs_check(version: SheetVersion | None, row: Any, beside_checks: bool = False) -> bool:
    """Whether a change reported by Drive calls for a check of the sheet.

    ``beside_checks``: the look may run while a check runs (the event trigger polls beside the
    DAG's checks). Our own change to a sheet still waiting may then be that check's tab write,
    seen before the check recorded the version its write leaves, with a clerk's edit perhaps
    folded into it; it counts as an edit, so the check does not clear the sheet and the next
    run reads it once more (and writes nothing if nothing changed)."""
    if version is None or not version.modified_by_us:
        return True  # a clerk's edit, or the sheet was deleted or unshared
    if row is None:
        return False  # our own tab write (the morning run's)
    if beside_checks and row.pending:
        return True  # its check may be writing right now: keep it waiting
    if row.outcome == "failed":
        return True  # back after it could not be read: check it again
    # Our tab write leaves exactly ``expect_version``; more means a clerk edited meanwhile.
    return bool(row.expect_version and version.version and version.version != row.expect_version)


def begin(reader: SheetsReader, engine: Engine) -> int:
    """Start watching from now (one call): edits from here on are checked. Returns the calls."""
    token, calls = reader.start_page_token()
    with engine.begin() as conn:
        save_token(conn, token)
    return calls


def poll(
    esas: Sequence[Esa],
    settings: Settings,
    reader: SheetsReader,
    engine: Engine,
    beside_checks: bool = False,
) -> Poll:
    """One look at Drive: mark every edited sheet as waiting, save the new position, and
    return every waiting sheet (those left from an earlier run too). ``beside_checks``: see
    ``needs_check``."""
    by_sheet = {esa.spreadsheet_id: esa for esa in esas}
    token = load_token(engine)
    source = "changes"
    calls = 0
    changed: dict[str, SheetVersion | None] = {}
    if token is not None:
        try:
            feed = reader.list_changes(token)
            changed, new_token, calls = feed.changed, feed.new_start_page_token, feed.api_calls
        except SheetReadError as error:
            if error.code != "bad_request":
                raise  # Google is busy or down: the task retries, the token still stands
            log.warning("Drive refused the saved page token (%s): one listing instead", error)
            calls, token = error.api_calls, None
    if token is None:
        source = "listing"
        # The new position first: whatever changes after it is in the next run's feed.
        new_token, first = reader.start_page_token()
        versions, listed = reader.list_spreadsheets(settings.google.folder_id or None)
        calls += first + listed
        changed = _differences(esas, versions, engine)
    edited: list[str] = []
    with engine.begin() as conn:
        rows = _rows(conn)
        for spreadsheet_id, version in changed.items():
            esa = by_sheet.get(spreadsheet_id)
            if esa is None:
                continue
            row = rows.get(esa.esa_code)
            if needs_check(version, row, beside_checks):
                _mark(conn, row, esa.esa_code, version)
                edited.append(esa.esa_code)
            elif row is not None and row.expect_version:
                # Our write is accounted for; a later one (the morning run's) is ours too.
                conn.execute(
                    update(LiveSheetRow)
                    .where(LiveSheetRow.esa_code == esa.esa_code)
                    .values(expect_version=None)
                )
        save_token(conn, new_token)
        waiting = waiting_codes(conn)
    pending = [esa for esa in esas if esa.esa_code in waiting]
    log.info(
        "live poll (%s, %d calls): %d sheets edited, %d to check",
        source,
        calls,
        len(edited),
        len(pending),
    )
    return Poll(pending, calls, source, len(edited), tuple(edited))


def _differences(
    esas: Sequence[Esa], versions: Mapping[str, SheetVersion], engine: Engine
) -> dict[str, SheetVersion | None]:
    """From a Drive listing, the sheets that changed since they were last checked or pulled."""
    with engine.connect() as conn:
        rows = _rows(conn)
    pulled = last_reads(engine, date.max)
    out: dict[str, SheetVersion | None] = {}
    for esa in esas:
        version = versions.get(esa.spreadsheet_id)
        if version is None:
            continue  # not listed: the morning run reports it as unreadable
        row = rows.get(esa.esa_code)
        known = row.changed_at if row is not None and row.checked_at else None
        if known is None and esa.esa_code in pulled:
            known = pulled[esa.esa_code][1]
        if known is None or (version.modified_time != known and not version.modified_by_us):
            out[esa.spreadsheet_id] = SheetVersion(version.modified_time, False, version.version)
    return out


def check(
    esa: Esa,
    settings: Settings,
    reader: SheetsReader,
    schools: Mapping[str, School],
    engine: Engine,
    now: datetime,
    daily_active: Callable[[], bool] = lambda: False,
) -> LiveCheck:
    """Read one waiting sheet (one call), validate it, and rewrite its tab if the findings
    changed (one call).

    The check's time, which the tab shows and the sheet's record keeps, is the time Google
    served the read (its answer's ``Date``, in ``now``'s zone): the machine's clock for real
    Google, and the emulator's clock in the demo, which lives on its data set's day. It is also
    the day the sheet is validated for. ``now`` (the machine's local time) stands in when the
    answer has no date, or the read failed.
    """
    with engine.connect() as conn:
        row = conn.execute(select(LiveSheetRow).where(LiveSheetRow.esa_code == esa.esa_code)).one()
    code, edited = esa.esa_code, row.changed_at
    if not row.pending:
        return LiveCheck(esa_code=code, edited_at=edited, outcome="already_checked", api_calls=0)
    if daily_active():
        log.info("ESA %s: the morning run is on; checked by the next run", esa.esa_code)
        return LiveCheck(esa_code=code, edited_at=edited, outcome="deferred", api_calls=0)
    try:
        read = read_for_feedback(esa, reader, engine)
    except SheetReadError as error:
        log.warning("ESA %s: sheet not read (%s): %s", esa.esa_code, error.code, error.detail)
        done = error.code not in RETRY_LATER  # unshared or deleted: a change brings it back
        _finish(engine, row, now, "failed", error.code, 0, 0, None, clear=done)
        return LiveCheck(
            esa_code=code,
            edited_at=edited,
            outcome="failed",
            error_code=error.code,
            api_calls=error.api_calls,
        )
    checked_at = now if read.served_at is None else read.served_at.astimezone(now.tzinfo)
    report_date = checked_at.date()
    sheet = raw_sheet(esa, read, report_date, row.changed_at)
    result = sheet_result(esa, report_date, sheet, schools, engine)
    tab = "off"
    if settings.feedback.write_tab:
        tab = write_feedback_tab(
            esa, result, reader, engine, checked_at=checked_at, live=settings.live, read=read
        )
    errors, warnings = result.errors, result.warnings
    expect = str(int(row.version) + 1) if tab == "written" and row.version else None
    retry = tab.startswith("failed") and tab.removeprefix("failed: ") in RETRY_LATER
    _finish(engine, row, checked_at, result.outcome, None, errors, warnings, expect, not retry)
    return LiveCheck(
        esa_code=code,
        edited_at=edited,
        outcome=result.outcome,
        feedback_tab=tab,
        errors=errors,
        warnings=warnings,
        api_calls=sheet.api_calls + (1 if tab == "written" else 0),
    )


def _finish(
    engine: Engine,
    row: Any,
    checked_at: datetime,
    outcome: str,
    error_code: str | None,
    errors: int,
    warnings: int,
    expect_version: str | None,
    clear: bool,
) -> None:
    """Record the check; clear the wait only if no newer edit was marked while it ran."""
    with engine.begin() as conn:
        conn.execute(
            update(LiveSheetRow)
            .where(LiveSheetRow.esa_code == row.esa_code)
            .values(
                checked_at=checked_at.astimezone(UTC),
                outcome=outcome,
                error_code=error_code,
                errors=errors,
                warnings=warnings,
                expect_version=expect_version,
            )
        )
        if clear:
            conn.execute(
                update(LiveSheetRow)
                .where(LiveSheetRow.esa_code == row.esa_code, LiveSheetRow.marked == row.marked)
                .values(pending=False)
            )
