"""Engines for the warehouse URL, with the settings each database needs."""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA busy_timeout=30000")
    # Switching a new database file to WAL needs its exclusive lock, and SQLite answers "database
    # is locked" at once, without waiting, when processes opening it together collide. The mode
    # stays with the file, so this only happens while it is new: try again for a while.
    deadline = time.monotonic() + 30
    while True:
        try:
            cursor.execute("PRAGMA journal_mode=WAL")
            break
        except sqlite3.OperationalError as error:
            if "locked" not in str(error) or time.monotonic() > deadline:
                raise
            time.sleep(0.02)
    cursor.execute("PRAGMA foreign_keys=ON")
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
    """Bring the warehouse to this version's tables: run its migrations to the newest revision.

    Idempotent and safe from concurrent processes; a warehouse made before migrations is adopted
    when its tables are the first revision's, and refused with ``SchemaMismatch`` otherwise (see
    ``schoolnet.warehouse.migrate``).
    """
    # Alembic takes half a second to import: only the tasks that use the warehouse pay for it.
    from schoolnet.warehouse.migrate import upgrade_warehouse

    upgrade_warehouse(engine)
