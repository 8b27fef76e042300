"""A warehouse of its own for a benchmark: a SQLite file, or a PostgreSQL schema dropped after."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import Engine, text

from schoolnet.warehouse import create_warehouse_engine, ensure_schema


@contextmanager
def scratch_warehouse(url: str) -> Iterator[Engine]:
    """An empty, migrated warehouse at ``url``; on PostgreSQL in a fresh schema, dropped after."""
    schema = f"bench_{uuid.uuid4().hex[:8]}" if url.startswith("postgresql") else None
    if schema:
        admin = create_warehouse_engine(url)
        with admin.begin() as conn:
            conn.execute(text(f'CREATE SCHEMA "{schema}"'))
        engine = create_warehouse_engine(f"{url}?options=-csearch_path%3D{schema}")
    else:
        engine = create_warehouse_engine(url)
    try:
        ensure_schema(engine)
        yield engine
    finally:
        engine.dispose()
        if schema:
            with admin.begin() as conn:
                conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
            admin.dispose()
