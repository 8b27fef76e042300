"""Small look-ups of what earlier runs left in the warehouse, used while pulling a sheet."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any, NamedTuple

from sqlalchemy import Engine, case, delete, func, insert, select

from schoolnet.core.previous import PreviousValues
from schoolnet.warehouse.models import (
    DeliveryRow,
    FeedbackTabRow,
    PullRow,
    QuarantineReleaseRow,
    SnapshotRow,
)
from schoolnet.warehouse.queries import load_query


def last_accepted_count(engine: Engine, esa_code: str, before: date) -> int | None:
    """Rows accepted at the ESA's last accepted pull before ``before`` (None if never)."""
    query = (
        select(PullRow.rows_accepted)
        .where(
            PullRow.esa_code == esa_code,
            PullRow.outcome == "accepted",
            PullRow.report_date < before,
        )
        .order_by(PullRow.report_date.desc())
        .limit(1)
    )
    with engine.connect() as conn:
        return conn.execute(query).scalar()


def previous_values(engine: Engine, esa_code: str, before: date) -> dict[str, PreviousValues]:
    """Each school of the ESA and its last accepted values before ``before`` (its row in the
    ESA's latest snapshot before that date): what the validator compares a row with. A value
    accepted on ``before`` itself is not previous, so a rerun of the date compares alike."""
    query = load_query("previous_values")
    with engine.connect() as conn:
        result = conn.execute(query, {"esa_code": esa_code, "report_date": before})
        keys = tuple(result.keys())
        rows = result.fetchall()
    # Plain tuples zipped with the query's column names, not fetch_all's typed dicts or each
    # row's mapping: a morning reads the whole nation's rows this way, and the per-row cost
    # was most of the read (docs/benchmarks.md). SQLite gives dates back as ISO text: a day's
    # few dates, parsed once each.
    dates: dict[Any, date] = {}
    previous: dict[str, PreviousValues] = {}
    code_at, date_at = keys.index("school_code"), keys.index("accepted_on")
    for row in rows:
        accepted = row[date_at]
        accepted_on = dates.get(accepted)
        if accepted_on is None:
            accepted_on = dates[accepted] = (
                accepted if isinstance(accepted, date) else date.fromisoformat(accepted)
            )
        previous[row[code_at]] = PreviousValues(accepted_on, dict(zip(keys, row, strict=True)))
    return previous


def quarantine_released(engine: Engine, esa_code: str, report_date: date) -> bool:
    query = select(QuarantineReleaseRow.esa_code).where(
        QuarantineReleaseRow.esa_code == esa_code, QuarantineReleaseRow.report_date == report_date
    )
    with engine.connect() as conn:
        return conn.execute(query).first() is not None


def pull_outcome(engine: Engine, esa_code: str, report_date: date) -> str | None:
    """The outcome of the ESA's pull merged for ``report_date`` (None: no pull that day)."""
    query = select(PullRow.outcome).where(
        PullRow.esa_code == esa_code, PullRow.report_date == report_date
    )
    with engine.connect() as conn:
        return conn.execute(query).scalar()


def latest_merged_date(engine: Engine) -> date | None:
    """The latest report date the warehouse holds pulls for (None: no run merged yet)."""
    with engine.connect() as conn:
        return conn.execute(select(func.max(PullRow.report_date))).scalar()


def release_quarantine(engine: Engine, esa_code: str, report_date: date, accepted_by: str) -> None:
    """Record that the operator accepts the ESA's sheet of ``report_date`` despite the drop."""
    with engine.begin() as conn:
        conn.execute(
            delete(QuarantineReleaseRow).where(
                QuarantineReleaseRow.esa_code == esa_code,
                QuarantineReleaseRow.report_date == report_date,
            )
        )
        conn.execute(
            insert(QuarantineReleaseRow).values(
                esa_code=esa_code,
                report_date=report_date,
                accepted_by=accepted_by,
                accepted_at=datetime.now(UTC),
            )
        )


class LastFeedback(NamedTuple):
    digest: str
    rows_written: int
    sheet_id: int | None  # the tab's id, None if it was written before ids were kept
    cells_digest: str | None = None  # of the cells written; None if written before it was kept


def last_feedback(engine: Engine, esa_code: str) -> LastFeedback | None:
    """The digest, row count, tab id and cells' digest last written to the ESA's feedback tab."""
    query = select(
        FeedbackTabRow.digest,
        FeedbackTabRow.rows_written,
        FeedbackTabRow.tab_sheet_id,
        FeedbackTabRow.cells_digest,
    ).where(FeedbackTabRow.esa_code == esa_code)
    with engine.connect() as conn:
        row = conn.execute(query).first()
    if row is None:
        return None
    return LastFeedback(row.digest, row.rows_written, row.tab_sheet_id, row.cells_digest)


def record_feedback(
    engine: Engine,
    esa_code: str,
    digest: str,
    rows_written: int,
    report_date: date,
    sheet_id: int | None = None,
    cells_digest: str | None = None,
) -> None:
    with engine.begin() as conn:
        conn.execute(delete(FeedbackTabRow).where(FeedbackTabRow.esa_code == esa_code))
        conn.execute(
            insert(FeedbackTabRow).values(
                esa_code=esa_code,
                digest=digest,
                rows_written=rows_written,
                report_date=report_date,
                tab_sheet_id=sheet_id,
                cells_digest=cells_digest,
            )
        )


def last_reads(engine: Engine, before: date) -> dict[str, tuple[date, str | None]]:
    """Per ESA, its latest pull before ``before`` that has values read from Google: the day
    they were read and the sheet's Drive ``modifiedTime`` then."""
    latest = (
        select(PullRow.esa_code, func.max(PullRow.report_date).label("report_date"))
        .where(PullRow.report_date < before, PullRow.origin_date.is_not(None))
        .group_by(PullRow.esa_code)
        .subquery()
    )
    query = select(PullRow.esa_code, PullRow.origin_date, PullRow.sheet_modified_time).join(
        latest,
        (PullRow.esa_code == latest.c.esa_code) & (PullRow.report_date == latest.c.report_date),
    )
    with engine.connect() as conn:
        return {
            row.esa_code: (row.origin_date, row.sheet_modified_time) for row in conn.execute(query)
        }


class MergedCounts(NamedTuple):
    """What the warehouse holds for one merged report date."""

    schools: int
    accepted_on_the_day: int
    never_reported: int
    esas_not_accepted: int


def merged_counts(engine: Engine, report_date: date) -> MergedCounts | None:
    """The date's snapshot and pull counts as merged, or None when the date was never merged
    (a run of a past date that has nothing to replay reports what is there, untouched)."""
    snapshot = select(
        func.count(),
        func.coalesce(func.sum(case((SnapshotRow.accepted_on == report_date, 1), else_=0)), 0),
        func.coalesce(func.sum(case((SnapshotRow.accepted_on.is_(None), 1), else_=0)), 0),
    ).where(SnapshotRow.report_date == report_date)
    pulls = select(
        func.count(),
        func.coalesce(func.sum(case((PullRow.outcome != "accepted", 1), else_=0)), 0),
    ).where(PullRow.report_date == report_date)
    with engine.connect() as conn:
        schools, accepted, never = conn.execute(snapshot).one()
        esas, not_accepted = conn.execute(pulls).one()
    if not schools and not esas:
        return None
    return MergedCounts(int(schools), int(accepted), int(never), int(not_accepted))


def delivered_at(engine: Engine, report_date: date, kind: str = "report") -> datetime | None:
    """When an email of ``kind`` for the date last went out (any recipient list), or None."""
    query = select(func.max(DeliveryRow.sent_at)).where(
        DeliveryRow.report_date == report_date, DeliveryRow.kind == kind
    )
    with engine.connect() as conn:
        moment: datetime | None = conn.execute(query).scalar()
    return moment
