"""The report's questions, read from ``sql/*.sql`` and run with bound parameters only."""

from __future__ import annotations

import json
from datetime import date
from functools import cache
from typing import Any

from sqlalchemy import Connection, Date, bindparam, text
from sqlalchemy.sql.elements import TextClause

from schoolnet.core.paths import sql_dir


@cache
def load_query(name: str) -> TextClause:
    """The statement in ``sql/<name>.sql``; parameters named ``*_date`` are bound as dates."""
    sql = (sql_dir() / f"{name}.sql").read_text(encoding="utf-8")
    statement = text(sql)
    date_params = [
        bindparam(key, type_=Date) for key in statement._bindparams if key.endswith("_date")
    ]
    return statement.bindparams(*date_params) if date_params else statement


def _typed(row: dict[str, Any]) -> dict[str, Any]:
    """SQLite hands dates and JSON back as text through plain SQL; give them their types."""
    for key, value in row.items():
        if isinstance(value, str) and (key.endswith("_date") or key.endswith("_on")):
            row[key] = date.fromisoformat(value)
        elif key == "providers_contacted" and isinstance(value, str):
            row[key] = json.loads(value)
    return row


def fetch_all(conn: Connection, name: str, **params: Any) -> list[dict[str, Any]]:
    result = conn.execute(load_query(name), params)
    return [_typed(dict(row)) for row in result.mappings()]


def fetch_one(conn: Connection, name: str, **params: Any) -> dict[str, Any]:
    rows = fetch_all(conn, name, **params)
    if len(rows) != 1:
        raise LookupError(f"query {name} returned {len(rows)} rows, expected one")
    return rows[0]
