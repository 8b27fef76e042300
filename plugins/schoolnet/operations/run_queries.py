"""What the runs did, as the operator asks it: each ESA's pull of a date with its timings, the
merge's run, the dates merged, and the report's deliveries (``schoolnet runs|report``)."""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import Engine, func, select

from schoolnet.warehouse.models import DeliveryRow, MergeRunRow, PullRow


def run_pulls(engine: Engine, report_date: date) -> list[dict[str, Any]]:
    """Every ESA's pull of ``report_date``, with its timings, by ESA code."""
    with engine.connect() as conn:
        rows = conn.execute(
            select(PullRow.__table__)
            .where(PullRow.report_date == report_date)
            .order_by(PullRow.esa_code)
        ).mappings()
        return [dict(row) for row in rows]


def merge_run(engine: Engine, report_date: date) -> dict[str, Any] | None:
    with engine.connect() as conn:
        row = (
            conn.execute(
                select(MergeRunRow.__table__).where(MergeRunRow.report_date == report_date)
            )
            .mappings()
            .first()
        )
        return dict(row) if row else None


def merged_dates(engine: Engine, limit: int = 10) -> list[date]:
    """The latest report dates the warehouse holds pulls for, newest first."""
    with engine.connect() as conn:
        query = (
            select(PullRow.report_date).distinct().order_by(PullRow.report_date.desc()).limit(limit)
        )
        return [day for (day,) in conn.execute(query)]


def latest_outcomes(
    engine: Engine, on: date | None
) -> tuple[date | None, dict[str, dict[str, Any]]]:
    """Each ESA's pull on ``on`` (default: the latest merged date), by ESA code."""
    with engine.connect() as conn:
        if on is None:
            on = conn.execute(select(func.max(PullRow.report_date))).scalar()
        if on is None:
            return None, {}
    return on, {row["esa_code"]: row for row in run_pulls(engine, on)}


def deliveries(engine: Engine, report_date: date, every_kind: bool = False) -> list[dict[str, Any]]:
    """The delivery ledger's entries of ``report_date``: the report's, or every email's."""
    query = select(DeliveryRow.__table__).where(DeliveryRow.report_date == report_date)
    if not every_kind:
        query = query.where(DeliveryRow.kind == "report")
    with engine.connect() as conn:
        rows = conn.execute(query.order_by(DeliveryRow.kind, DeliveryRow.sent_at)).mappings()
        return [dict(row) for row in rows]
