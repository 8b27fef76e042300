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


def ensure_schema(engine: Engine) -> None:
    """Bring the warehouse to this version's tables: run its migrations to the newest revision.

    Idempotent and safe from concurrent processes; a warehouse made before migrations is adopted
    when its tables are the first revision's, and refused with ``SchemaMismatch`` otherwise (see
    ``schoolnet.warehouse.migrate``).
    """
    # Alembic takes half a second to import: only the tasks that use the warehouse pay for it.
    from schoolnet.warehouse.migrate import upgrade_warehouse

    upgrade_warehouse(engine)


class WarehouseNotWritable(RuntimeError):
    """The warehouse answers reads but refuses writes (a read-only file, disk, role or standby)."""


def ensure_writable(engine: Engine) -> None:
    """Fail at once, in one line, when the warehouse cannot be written.

    Reads alone pass on a read-only warehouse, so without this a run would pull every sheet
    and only then fail each pull and the merge. The probe is a delete of no rows from the
    ``pull`` table, rolled back: both databases refuse it when they refuse writes.
    """
    from sqlalchemy import delete, false
    from sqlalchemy.exc import DBAPIError

    from schoolnet.warehouse.models import PullRow

    try:
        with engine.connect() as conn, conn.begin() as transaction:
            conn.execute(delete(PullRow).where(false()))
            transaction.rollback()
    except DBAPIError as error:
        reason = str(error.orig).strip().splitlines()[0] if error.orig else type(error).__name__
        where = engine.url.render_as_string(hide_password=True)
        raise WarehouseNotWritable(
            f"the warehouse {where} cannot be written ({reason}): nothing was pulled; make it "
            "writable (the database file and its folder, the disk, a read-only PostgreSQL role "
            "or standby) and run the date again"
        ) from None
