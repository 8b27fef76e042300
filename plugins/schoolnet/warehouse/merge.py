"""Merge one report date into the warehouse, in one transaction.

A rerun of the same date replaces that date's rows, so it leaves the warehouse as the first run
did. A school whose row was rejected today, or whose ESA failed, keeps its last accepted values
with the date they were accepted: nothing accepted is ever lost to a bad day.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any

from sqlalchemy import Connection, Engine, bindparam, delete, func, insert, select, update

from schoolnet.contract import load_contract
from schoolnet.core.registry import Esa, School
from schoolnet.warehouse.models import (
    SNAPSHOT_VALUE_COLUMNS,
    DailyCountRow,
    EsaHistoryRow,
    EsaRow,
    FindingRow,
    PullRow,
    SchoolHistoryRow,
    SchoolRow,
    SnapshotRow,
)

# An ESA whose pull crashed: its error code, and the report's reason in the contract's words.
NOT_PULLED = "not_pulled"
NOT_PULLED_REASON = load_contract().sheet_text("not_pulled")


@dataclass(frozen=True)
class EsaDay:
    """What one ESA's sheet gave on one report date, ready to merge."""

    esa_code: str
    outcome: str  # accepted | rejected | failed
    api_calls: int = 0
    rows_read: int = 0
    rows_rejected: int = 0
    error_code: str | None = None
    reason: str | None = None
    detail: str | None = None
    sheet_modified_time: str | None = None
    origin_date: date | None = None
    data_digest: str | None = None  # of the data tab's values as read; None: nothing read
    accepted: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    findings: Sequence[Mapping[str, Any]] = ()

    @classmethod
    def not_pulled(cls, esa_code: str) -> EsaDay:
        """An ESA whose pull left nothing to merge (its task crashed): failed, not read.
        ``schoolnet.validation.result.SheetResult.not_pulled`` is this day as a result."""
        return cls(
            esa_code=esa_code, outcome="failed", error_code=NOT_PULLED, reason=NOT_PULLED_REASON
        )


@dataclass(frozen=True)
class MergeSummary:
    report_date: date
    schools: int
    accepted_today: int
    carried_forward: int
    never_reported: int
    failed_esas: tuple[str, ...]


def _previous_snapshot(conn: Any, report_date: date) -> dict[str, dict[str, Any]]:
    latest = select(func.max(SnapshotRow.report_date)).where(SnapshotRow.report_date < report_date)
    previous_date = conn.execute(latest).scalar()
    if previous_date is None:
        return {}
    rows = conn.execute(
        select(SnapshotRow.__table__).where(SnapshotRow.report_date == previous_date)
    ).mappings()
    return {row["school_code"]: dict(row) for row in rows}


def _last_good_dates(conn: Any, report_date: date) -> dict[str, date]:
    query = (
        select(PullRow.esa_code, func.max(PullRow.report_date))
        .where(PullRow.outcome == "accepted", PullRow.report_date < report_date)
        .group_by(PullRow.esa_code)
    )
    return {code: last for code, last in conn.execute(query)}


BANGKOK = timezone(timedelta(hours=7))


def bangkok_date(rfc3339: str | None) -> date | None:
    """The Bangkok date of a Drive timestamp (UTC+7: 17:00 UTC on is the next day)."""
    if not rfc3339:
        return None
    try:
        moment = datetime.fromisoformat(rfc3339.strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(BANGKOK).date()


@dataclass(frozen=True)
class DataSeen:
    """An ESA's latest earlier pull that knows when its data changed."""

    digest: str | None
    changed_on: date


def _data_seen(conn: Any, report_date: date, with_digest: bool) -> dict[str, DataSeen]:
    """Per ESA, its latest pull before ``report_date`` with a data digest (or, if not
    ``with_digest``, with any known change date): what it read and when that last changed."""
    known = (
        PullRow.data_digest.is_not(None) if with_digest else PullRow.data_changed_on.is_not(None)
    )
    latest = (
        select(PullRow.esa_code, func.max(PullRow.report_date).label("report_date"))
        .where(PullRow.report_date < report_date, known)
        .group_by(PullRow.esa_code)
        .subquery()
    )
    query = select(PullRow.esa_code, PullRow.data_digest, PullRow.data_changed_on).join(
        latest,
        (PullRow.esa_code == latest.c.esa_code) & (PullRow.report_date == latest.c.report_date),
    )
    return {
        row.esa_code: DataSeen(row.data_digest, row.data_changed_on)
        for row in conn.execute(query)
        if row.data_changed_on is not None
    }


def data_changed_on(
    day: EsaDay, report_date: date, seen: DataSeen | None, known: DataSeen | None
) -> date | None:
    """The date the ESA's data last changed, as of this pull; ``seen`` is the ESA's latest
    earlier pull with a digest, ``known`` its latest with any change date.

    Unchanged values keep the date of the last pull that saw them, so our own writes to the
    sheet (the feedback tab, which move Drive's modifiedTime) never count as an update. Changed
    values date from the sheet's modifiedTime (the latest edit, in Bangkok), or the report date
    when Drive gave none; never after the report date, as when a past date is rerun with a
    sheet edited since. Nothing read today: the date of the last read stands.

    A day read without a digest (a result written before digests were kept) falls back to
    its modifiedTime, or, accepted, to the report date.
    """
    modified = bangkok_date(day.sheet_modified_time)
    if day.data_digest is not None:
        if seen is not None and seen.digest == day.data_digest:
            return min(seen.changed_on, report_date)
        return min(modified or report_date, report_date)
    if day.outcome != "failed" and modified is not None:
        return min(modified, report_date)
    if day.outcome == "accepted":
        return report_date
    return None if known is None else min(known.changed_on, report_date)


def _snapshot_rows(
    report_date: date,
    schools: Sequence[School],
    accepted: Mapping[str, Mapping[str, Any]],
    previous: Mapping[str, Mapping[str, Any]],
) -> tuple[list[dict[str, Any]], int, int]:
    rows: list[dict[str, Any]] = []
    carried = never = 0
    for school in schools:
        row: dict[str, Any] = {
            "report_date": report_date,
            "school_code": school.school_code,
            "esa_code": school.esa_code,
        }
        today = accepted.get(school.school_code)
        if today is not None:
            row["accepted_on"] = report_date
            row.update({name: today.get(name) for name in SNAPSHOT_VALUE_COLUMNS})
        elif school.school_code in previous:
            before = previous[school.school_code]
            row["accepted_on"] = before["accepted_on"]
            row.update({name: before[name] for name in SNAPSHOT_VALUE_COLUMNS})
            carried += before["accepted_on"] is not None
            never += before["accepted_on"] is None
        else:
            row["accepted_on"] = None
            row.update(dict.fromkeys(SNAPSHOT_VALUE_COLUMNS))
            never += 1
        rows.append(row)
    return rows, carried, never


def _history_open_on(conn: Connection, report_date: date) -> bool:
    """Whether ``report_date`` may change the registry history: no later date is in the
    warehouse (merged, or in the history). The history only moves forward: a backfill of an
    earlier date leaves it alone rather than rewrite what later dates recorded."""
    latest = [
        conn.execute(select(func.max(PullRow.report_date))).scalar(),
        conn.execute(select(func.max(SnapshotRow.report_date))).scalar(),
    ]
    for model in (EsaHistoryRow, SchoolHistoryRow):
        latest.append(conn.execute(select(func.max(model.valid_from))).scalar())
        latest.append(conn.execute(select(func.max(model.valid_to))).scalar())
    return all(day is None or day <= report_date for day in latest)


def _record_history(
    conn: Connection,
    model: type[EsaHistoryRow] | type[SchoolHistoryRow],
    key: str,
    report_date: date,
    entries: Sequence[Esa] | Sequence[School],
) -> None:
    """Record the registry of ``report_date`` in ``model``'s history table.

    An entry that is new, or differs in any column from its current version, gets a new
    version from ``report_date``; the version it replaces, or that of an entry no longer in the
    registry, ends on ``report_date``. What an earlier run of the same date recorded is undone
    first, so a rerun leaves the history as the last run of the date made it.
    """
    code = getattr(model, key)
    columns = model.__table__.c
    values = [column.name for column in columns if column.name not in ("valid_from", "valid_to")]
    conn.execute(delete(model).where(model.valid_from == report_date))
    conn.execute(update(model).where(model.valid_to == report_date).values(valid_to=None))
    current = {
        row[key]: row
        for row in conn.execute(select(model.__table__).where(model.valid_to.is_(None))).mappings()
    }
    wanted = {getattr(entry, key): vars(entry) for entry in entries}
    ended = [
        {"ended": old_code}
        for old_code, row in current.items()
        if old_code not in wanted or any(row[name] != wanted[old_code][name] for name in values)
    ]
    if ended:
        conn.execute(
            update(model)
            .where(code == bindparam("ended"), model.valid_to.is_(None))
            .values(valid_to=report_date),
            ended,
        )
    kept = set(current).difference(item["ended"] for item in ended)
    started = [
        {**entry, "valid_from": report_date, "valid_to": None}
        for new_code, entry in wanted.items()
        if new_code not in kept
    ]
    if started:
        conn.execute(insert(model), started)


def _replace_registry(conn: Connection, model: Any, records: list[dict[str, Any]]) -> None:
    """Make the registry table hold ``records``; rewritten only when they differ (most days
    the registry is unchanged, and rewriting 29,000 schools is most of a merge's time)."""
    table = model.__table__
    names = [column.name for column in table.columns]
    current = {tuple(row) for row in conn.execute(select(*table.columns))}
    if current == {tuple(record[name] for name in names) for record in records}:
        return
    conn.execute(delete(model))
    # An empty parameter list would insert one row of defaults: insert only what there is.
    if records:
        conn.execute(insert(model), records)


def daily_count(report_date: date, snapshot: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """The day's national counts, kept beside the snapshot so a year's trend stays cheap."""
    statuses = [row["status"] for row in snapshot]
    return {
        "report_date": report_date,
        "schools": len(snapshot),
        "connected": statuses.count("connected"),
        "procuring": statuses.count("procuring"),
        "not_connected": statuses.count("not_connected"),
        "no_provider": statuses.count("no_provider"),
        "never_reported": sum(1 for row in snapshot if row["accepted_on"] is None),
    }


# Any 64-bit number no other part of the warehouse uses as an advisory lock key.
MERGE_LOCK_KEY = 5_300_001


def _lock_merges(conn: Connection) -> None:
    """Make concurrent merges wait for each other, whatever their dates.

    Every merge rewrites the shared registry tables and replaces its date's rows: two at once
    would otherwise collide on primary keys (PostgreSQL) or interleave. PostgreSQL takes a
    transaction-scoped advisory lock, released at commit or rollback (or when the backend dies);
    SQLite takes the database's write lock before the first read.
    """
    if conn.dialect.name == "postgresql":
        conn.execute(select(func.pg_advisory_xact_lock(MERGE_LOCK_KEY)))
    elif conn.dialect.name == "sqlite":
        conn.exec_driver_sql("BEGIN IMMEDIATE")


@dataclass(frozen=True)
class KeptRows:
    """What the warehouse already holds for some ESAs on a date, to be put back unchanged."""

    pulls: dict[str, dict[str, Any]]
    findings: list[dict[str, Any]]
    snapshot: dict[str, dict[str, Any]]

    @classmethod
    def read(cls, conn: Connection, report_date: date, esa_codes: Collection[str]) -> KeptRows:
        if not esa_codes:
            return cls({}, [], {})
        codes = sorted(esa_codes)

        def rows(model: Any) -> list[dict[str, Any]]:
            query = select(model.__table__).where(
                model.report_date == report_date, model.esa_code.in_(codes)
            )
            return [dict(row) for row in conn.execute(query).mappings()]

        return cls(
            pulls={row["esa_code"]: row for row in rows(PullRow)},
            findings=rows(FindingRow),
            snapshot={row["school_code"]: row for row in rows(SnapshotRow)},
        )


MERGED_MODELS = (
    PullRow,
    FindingRow,
    SnapshotRow,
    DailyCountRow,
    EsaRow,
    SchoolRow,
    EsaHistoryRow,
    SchoolHistoryRow,
)
"""Every table a merge writes: the tables the report's queries read."""
ANALYZE_MERGED = (
    "ANALYZE pull, finding, snapshot, daily_count, esa, school, esa_history, school_history"
)
"""ANALYZE of ``MERGED_MODELS``, spelled out: SQL is never built from strings here
(``tests/unit/warehouse/test_warehouse_merge.py`` checks every one of them is analyzed)."""


def refresh_statistics(engine: Engine) -> None:
    """Give PostgreSQL's planner the statistics of the tables a merge wrote.

    A new warehouse has none until autovacuum gets to it, and the planner then guesses row
    counts: on a fresh national warehouse the report took minutes instead of a second
    (``docs/queries.md``). ANALYZE samples a fixed number of rows, so it costs about the same
    at any size. SQLite's planner keeps no such statistics by default; nothing to do there.
    """
    if engine.dialect.name != "postgresql":
        return
    with engine.begin() as conn:
        conn.exec_driver_sql(ANALYZE_MERGED)


def merge_day(
    engine: Engine,
    report_date: date,
    esas: Sequence[Esa],
    schools: Sequence[School],
    days: Sequence[EsaDay],
    keep: Collection[str] = (),
) -> MergeSummary:
    """Replace ``report_date`` in the warehouse with this run's registries, pulls and snapshot.

    The ESAs in ``keep`` (a replay that has no landing for them) keep the pull, findings and
    snapshot rows the warehouse already holds for the date: what cannot be rebuilt is not
    erased. A kept ESA with nothing merged for the date is recorded as not pulled.
    """
    by_esa = {day.esa_code: day for day in days if day.esa_code not in keep}
    accepted: dict[str, Mapping[str, Any]] = {}
    for school in schools:
        day = by_esa.get(school.esa_code)
        if day is not None and day.outcome == "accepted" and school.school_code in day.accepted:
            accepted[school.school_code] = day.accepted[school.school_code]

    with engine.begin() as conn:
        _lock_merges(conn)
        kept = KeptRows.read(conn, report_date, keep)
        for model in (PullRow, FindingRow, SnapshotRow, DailyCountRow):
            conn.execute(delete(model).where(model.report_date == report_date))
        _replace_registry(conn, EsaRow, [vars(esa) for esa in esas])
        _replace_registry(conn, SchoolRow, [vars(school) for school in schools])
        if _history_open_on(conn, report_date):
            _record_history(conn, EsaHistoryRow, "esa_code", report_date, esas)
            _record_history(conn, SchoolHistoryRow, "school_code", report_date, schools)

        previous = _previous_snapshot(conn, report_date)
        last_good = _last_good_dates(conn, report_date)
        seen = _data_seen(conn, report_date, with_digest=True)
        known = _data_seen(conn, report_date, with_digest=False)
        pulls: list[dict[str, Any]] = []
        findings = []
        for esa in esas:
            if esa.esa_code in kept.pulls:
                continue
            day = by_esa.get(esa.esa_code) or EsaDay.not_pulled(esa.esa_code)
            accepted_here = len(day.accepted) if day.outcome == "accepted" else 0
            pulls.append(
                {
                    "report_date": report_date,
                    "esa_code": esa.esa_code,
                    "outcome": day.outcome,
                    "error_code": day.error_code,
                    "reason": day.reason,
                    "detail": day.detail,
                    "sheet_modified_time": day.sheet_modified_time,
                    "origin_date": day.origin_date,
                    "data_digest": day.data_digest,
                    "data_changed_on": data_changed_on(
                        day, report_date, seen.get(esa.esa_code), known.get(esa.esa_code)
                    ),
                    "api_calls": day.api_calls,
                    "rows_read": day.rows_read,
                    "rows_accepted": accepted_here,
                    "rows_rejected": day.rows_rejected,
                    "last_good_date": report_date
                    if day.outcome == "accepted"
                    else last_good.get(esa.esa_code),
                }
            )
            for seq, finding in enumerate(day.findings):
                findings.append(
                    {
                        "report_date": report_date,
                        "esa_code": esa.esa_code,
                        "seq": seq,
                        "row": finding.get("row"),
                        "column_key": finding.get("column"),
                        "header": finding.get("header"),
                        "cell": finding.get("cell"),
                        "severity": finding["severity"],
                        "code": finding["code"],
                        "message": finding["message"],
                        "value": finding.get("value"),
                    }
                )
        # The kept rows go in as they were (timings and all), apart from the rows made here.
        for model, rows in (
            (PullRow, pulls),
            (PullRow, list(kept.pulls.values())),
            (FindingRow, findings),
            (FindingRow, kept.findings),
        ):
            if rows:
                conn.execute(insert(model), rows)
        pulls.extend(kept.pulls.values())
        snapshot, carried, never = _snapshot_rows(report_date, schools, accepted, previous)
        if kept.snapshot:
            snapshot = [kept.snapshot.get(row["school_code"], row) for row in snapshot]
            dates = [row["accepted_on"] for row in snapshot]
            never = dates.count(None)
            carried = len(dates) - never - dates.count(report_date)
        if snapshot:
            conn.execute(insert(SnapshotRow), snapshot)
        conn.execute(insert(DailyCountRow).values(**daily_count(report_date, snapshot)))
        schools_accepted_today = len(snapshot) - carried - never
    refresh_statistics(engine)

    return MergeSummary(
        report_date=report_date,
        schools=len(schools),
        accepted_today=schools_accepted_today,
        carried_forward=carried,
        never_reported=never,
        failed_esas=tuple(p["esa_code"] for p in pulls if p["outcome"] == "failed"),
    )
