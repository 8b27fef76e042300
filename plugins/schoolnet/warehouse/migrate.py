"""Alembic migrations of the warehouse: the same revisions on SQLite and on PostgreSQL.

The revisions live in ``migrations/versions`` inside this package, so an installed schoolnet
carries them; there is no ``alembic.ini``, ``alembic_config`` builds the configuration.

``upgrade_warehouse`` brings a warehouse to the newest revision (head) and is safe to call from
every task of a run at once:

* at head already (the usual case), it only reads ``alembic_version`` and returns;
* otherwise it takes a lock for the whole upgrade, in the transaction that runs it:
  ``pg_advisory_xact_lock`` on PostgreSQL (one lock per schema), ``BEGIN IMMEDIATE`` (the
  database's write lock) on SQLite. A process that waited for the lock finds the warehouse at
  head and has nothing left to do. PostgreSQL's DDL is transactional, so a failed upgrade
  leaves the warehouse as it was.

A warehouse made before migrations existed has the tables but no ``alembic_version``. When its
tables have every column of the first revision (``BASELINE``) it is stamped with that revision
and upgraded from there; otherwise it is refused with ``SchemaMismatch``, saying what to do.
"""

from __future__ import annotations

import functools
import logging
import threading
from collections.abc import Mapping
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine, create_engine, inspect, text

from schoolnet.warehouse.errors import SchemaMismatch

# Alembic says at INFO which database and DDL mode every migration context uses, each time a
# command or task checks the revision; under Airflow's logging that reached the operator's
# console. What an upgrade did is said by ``schoolnet db upgrade`` itself.
logging.getLogger("alembic.runtime.migration").setLevel(logging.WARNING)

MIGRATIONS = Path(__file__).with_name("migrations")
BASELINE = "0001"
"""The first revision: the tables schoolnet made before it had migrations."""

_WHAT_TO_DO = (
    "For the demo, run `make clean` (the next run makes a new warehouse); otherwise bring the "
    "tables to those of the first migration "
    "(plugins/schoolnet/warehouse/migrations/versions/v0001_baseline.py) by hand, or start a "
    "new warehouse, then run `schoolnet db upgrade`."
)


_IN_PROCESS = threading.RLock()
"""Alembic keeps the running migration in module globals (``alembic.op``, ``alembic.context``):
two threads of one process must not run migrations at the same time, even on two databases."""


def alembic_config(connection: Connection | None = None) -> Config:
    """Alembic's configuration for the warehouse; ``env.py`` migrates through ``connection``."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("path_separator", "os")
    config.set_main_option("file_template", "v%%(rev)s_%%(slug)s")
    config.attributes["connection"] = connection
    return config


@functools.cache
def _scripts() -> ScriptDirectory:
    return ScriptDirectory.from_config(alembic_config())


def head_revision() -> str:
    """The newest revision this version of schoolnet knows."""
    head = _scripts().get_current_head()
    if head is None:  # pragma: no cover - the package always ships revisions
        raise RuntimeError(f"no migrations in {MIGRATIONS}")
    return head


def warehouse_revision(engine: Engine) -> str | None:
    """The revision the warehouse is at; None if it has never been migrated (nor stamped)."""
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def upgrade_warehouse(engine: Engine) -> None:
    """Bring the warehouse to the newest revision; nothing to do when it is there already."""
    if warehouse_revision(engine) == head_revision():
        return
    if engine.dialect.name == "postgresql":
        # After waiting for the lock, the next statement must see what the holder committed.
        engine = engine.execution_options(isolation_level="READ COMMITTED")
    with _IN_PROCESS, engine.connect() as conn, conn.begin():
        _lock(conn)
        _upgrade_locked(conn, engine.url.render_as_string(hide_password=True))


def _lock(conn: Connection) -> None:
    """Hold the warehouse's migration lock until the transaction ends."""
    if conn.dialect.name == "postgresql":
        # Two int4 keys: this application's, and the schema the migrations go to (the tests
        # and several warehouses may share one database).
        conn.execute(
            text("SELECT pg_advisory_xact_lock(:app, hashtext(coalesce(current_schema(), '')))"),
            {"app": 0x5C4001},
        )
    elif conn.dialect.name == "sqlite":
        # pysqlite would begin a deferred transaction, taking the write lock only at the first
        # write, after the revision was read: take the write lock first.
        conn.exec_driver_sql("BEGIN IMMEDIATE")


def _upgrade_locked(conn: Connection, where: str) -> None:
    config = alembic_config(conn)
    current = MigrationContext.configure(conn).get_current_revision()
    if current is None:
        present = set(inspect(conn).get_table_names())
        baseline = baseline_tables()
        if present & set(baseline):
            _check_pre_migration(conn, baseline, where)
            command.stamp(config, BASELINE)
    elif current not in {script.revision for script in _scripts().walk_revisions()}:
        raise SchemaMismatch(
            f"the warehouse at {where} is at revision {current}, which this version of "
            "schoolnet does not know: a newer schoolnet upgraded it. Run that version, or "
            "restore the warehouse from a backup made before the upgrade."
        )
    command.upgrade(config, "head")


def _check_pre_migration(
    conn: Connection, baseline: Mapping[str, frozenset[str]], where: str
) -> None:
    """Refuse a warehouse from before migrations unless it has the first revision's tables."""
    found = inspect(conn)
    present = set(found.get_table_names())
    for name, columns in baseline.items():
        if name not in present:
            continue
        missing = sorted(columns - {column["name"] for column in found.get_columns(name)})
        if missing:
            raise SchemaMismatch(
                f"the warehouse at {where} was made by another version of schoolnet: table "
                f"{name} lacks {', '.join(missing)}. {_WHAT_TO_DO}"
            )
    absent = sorted(set(baseline) - present)
    if absent:
        raise SchemaMismatch(
            f"the warehouse at {where} was made by another version of schoolnet: it has no "
            f"table {', '.join(absent)}. {_WHAT_TO_DO}"
        )


@functools.cache
def baseline_tables() -> dict[str, frozenset[str]]:
    """The tables of the first revision and their columns, read from a scratch database that
    the revision itself made: the revision stays the one description of them."""
    scratch = create_engine("sqlite://")
    try:
        with _IN_PROCESS, scratch.connect() as conn, conn.begin():
            command.upgrade(alembic_config(conn), BASELINE)
            found = inspect(conn)
            return {
                name: frozenset(column["name"] for column in found.get_columns(name))
                for name in found.get_table_names()
                if name != "alembic_version"
            }
    finally:
        scratch.dispose()


def new_revision(message: str, script_location: Path = MIGRATIONS) -> Path:
    """Write a revision of what the models have that the newest revision lacks, to review.

    The models are compared with a scratch SQLite database brought to head, so no warehouse is
    needed. Autogenerate misses some changes (renames, server defaults): read the file, complete
    it, and try it on both databases (``tests/unit/warehouse/test_migrations.py``).
    """
    config = alembic_config()
    config.set_main_option("script_location", str(script_location))
    head = ScriptDirectory.from_config(config).get_current_head()
    rev_id = f"{int(head or 0) + 1:04d}"
    scratch = create_engine("sqlite://")
    try:
        with _IN_PROCESS, scratch.connect() as conn, conn.begin():
            config.attributes["connection"] = conn
            command.upgrade(config, "head")
            script = command.revision(config, message, autogenerate=True, rev_id=rev_id)
    finally:
        scratch.dispose()
    if script is None or isinstance(script, list):  # pragma: no cover - one head, one script
        raise RuntimeError("alembic wrote no single revision")
    return Path(script.path)
