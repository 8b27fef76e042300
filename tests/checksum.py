"""Digests of the warehouse, for the tests that prove a rerun or a replay changes nothing, or
that two warehouses given the same mornings hold the same."""

from __future__ import annotations

import hashlib
from collections.abc import Collection, Mapping

from sqlalchemy import Engine, select

from schoolnet.warehouse.models import Base
from schoolnet.warehouse.timings import TIMING_COLUMNS

RUN_LOG_TABLES = frozenset({"merge_run"})
LEFT_OUT: Mapping[str, Collection[str]] = {"pull": TIMING_COLUMNS}
# What two warehouses that were given the same mornings at other moments may hold differently:
# when each email went out (and its message id), and the quota pacer's clock.
MOMENTS: Mapping[str, Collection[str]] = {
    "pull": TIMING_COLUMNS,
    "delivery": ("message_id", "sent_at"),
    "quota_clock": ("next_free_at", "interval_seconds"),
}


def table_checksums(
    engine: Engine,
    tables: Collection[str] | None = None,
    left_out: Mapping[str, Collection[str]] = LEFT_OUT,
) -> dict[str, str]:
    """One digest per table (of ``tables``, or of every table but the run log), over every row
    in primary-key order, without the ``left_out`` columns of each table."""
    digests = {}
    with engine.connect() as conn:
        for table in Base.metadata.sorted_tables:
            if table.name in RUN_LOG_TABLES or (tables is not None and table.name not in tables):
                continue
            skipped = left_out.get(table.name, ())
            columns = [column for column in table.columns if column.name not in skipped]
            digest = hashlib.sha256()
            for row in conn.execute(select(*columns).order_by(*table.primary_key.columns)):
                digest.update(repr(tuple(row)).encode())
            digests[table.name] = digest.hexdigest()
    return digests


def warehouse_checksum(engine: Engine, tables: Collection[str] | None = None) -> str:
    """Every row of the warehouse's tables (or of ``tables``), in primary-key order.

    What records when a run happened rather than what it found is left out: the ``merge_run``
    table and the pull rows' timings, run id and try number.
    """
    digest = hashlib.sha256()
    for name, table_digest in table_checksums(engine, tables).items():
        digest.update(f"{name}:{table_digest}".encode())
    return digest.hexdigest()
