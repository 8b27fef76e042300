"""Engines for the warehouse URL, with the settings each database needs."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event, inspect
from sqlalchemy.engine import make_url

from schoolnet.warehouse.models import Base


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


def create_warehouse_engine(url: str) -> Engine:
    """An engine for any SQLAlchemy URL; ``postgresql://`` is served by psycopg 3."""
    parsed = make_url(url)
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    if parsed.get_backend_name() == "sqlite" and parsed.database not in (None, "", ":memory:"):
        Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(parsed)
    if parsed.get_backend_name() == "sqlite":
        event.listen(engine, "connect", _sqlite_pragmas)
    return engine


class SchemaMismatch(RuntimeError):
    """The warehouse was made by another version of schoolnet."""


def ensure_schema(engine: Engine) -> None:
    """Create any missing table (idempotent), and refuse a table that lacks a column."""
    Base.metadata.create_all(engine)
    found = inspect(engine)
    for table in Base.metadata.sorted_tables:
        present = {column["name"] for column in found.get_columns(table.name)}
        missing = sorted(column.name for column in table.columns if column.name not in present)
        if missing:
            where = engine.url.render_as_string(hide_password=True)
            raise SchemaMismatch(
                f"the warehouse at {where} was made by another version of schoolnet: table "
                f"{table.name} lacks {', '.join(missing)}. For the demo, run `make clean`; "
                "otherwise upgrade the warehouse before running the pipeline."
            )
