"""One digest of the warehouse, for the tests that prove a rerun or a replay changes nothing."""

from __future__ import annotations

import hashlib
from collections.abc import Collection

from sqlalchemy import Engine, select

from schoolnet.operations import TIMING_COLUMNS
from schoolnet.warehouse.models import Base

RUN_LOG_TABLES = frozenset({"merge_run"})


def warehouse_checksum(engine: Engine, tables: Collection[str] | None = None) -> str:
    """Every row of the warehouse's tables (or of ``tables``), in primary-key order.

    What records when a run happened rather than what it found is left out: the ``merge_run``
    table and the pull rows' timings, run id and try number.
    """
    digest = hashlib.sha256()
    with engine.connect() as conn:
        for table in Base.metadata.sorted_tables:
            if table.name in RUN_LOG_TABLES or (tables is not None and table.name not in tables):
                continue
            columns = [
                column
                for column in table.columns
                if not (table.name == "pull" and column.name in TIMING_COLUMNS)
            ]
            for row in conn.execute(select(*columns).order_by(*table.primary_key.columns)):
                digest.update(repr(tuple(row)).encode())
    return digest.hexdigest()
