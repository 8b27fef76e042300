"""Alembic's environment for the warehouse, driven by ``schoolnet.warehouse.migrate``.

There is no ``alembic.ini``: ``migrate.alembic_config`` builds the configuration and hands over
an open connection in ``config.attributes["connection"]``, already inside the transaction that
holds the migration lock, so Alembic neither opens nor commits a transaction of its own.
SQLite runs in batch mode: it alters a table by copying it, which Alembic does only in batch
operations (``op.batch_alter_table``).
"""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection

from schoolnet.warehouse.models import Base


def run_migrations() -> None:
    connection = context.config.attributes.get("connection")
    if not isinstance(connection, Connection):
        raise RuntimeError(
            "the warehouse migrations run through schoolnet (`schoolnet db upgrade` or "
            "schoolnet.warehouse.migrate), which passes them a connection"
        )
    context.configure(
        connection=connection,
        # For autogenerate (`schoolnet db revision`) only; revisions never import the models.
        target_metadata=Base.metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


# Alembic runs this file inside a command, with its context set up. Anything else importing it
# (Airflow's plugin loader imports every .py file under the plugins folder) finds nothing to do.
if hasattr(context, "config"):
    run_migrations()
