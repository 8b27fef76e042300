"""``schoolnet export``: one day's national snapshot, one row per school, as CSV or Parquet.

CSV is for people: UTF-8 with a byte-order mark so Excel shows Thai, and every text cell that
a spreadsheet would take for a formula (beginning with ``=``, ``+``, ``-``, ``@``, a tab or a
carriage return; see :mod:`schoolnet.core.cellsafety`) prefixed with ``'`` so it stays text. Numbers
are written as numbers.
Parquet is for analysis: typed columns (dates, integers, floats, a list of providers).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from schoolnet.core.cellsafety import neutralize
from schoolnet.core.files import replacing

if TYPE_CHECKING:  # pandas and pyarrow take seconds to import: only when exporting
    import pandas as pd
    import pyarrow as pa
    from sqlalchemy import Engine

FORMATS: tuple[str, ...] = ("csv", "parquet")

COLUMNS: tuple[tuple[str, str], ...] = (
    ("report_date", "date"),
    ("school_code", "text"),
    ("school_name", "text"),
    ("esa_code", "text"),
    ("esa_name", "text"),
    ("province", "text"),
    ("level", "text"),
    ("students", "integer"),
    ("status", "text"),
    ("isp", "text"),
    ("link_type", "text"),
    ("download_mbps", "float"),
    ("upload_mbps", "float"),
    ("monthly_fee_thb", "float"),
    ("funding_source", "text"),
    ("support_requested_thb", "float"),
    ("support_reason", "text"),
    ("providers_contacted", "list"),
    ("service_start", "date"),
    ("note", "text"),
    ("accepted_on", "date"),
)
"""The export's columns in order, with their kind (``sql/national_snapshot.sql``)."""


def parquet_schema() -> pa.Schema:
    """The Parquet types of :data:`COLUMNS`: date32, string, int64, double, list<string>."""
    import pyarrow as pa

    kinds = {
        "date": pa.date32(),
        "text": pa.string(),
        "integer": pa.int64(),
        "float": pa.float64(),
        "list": pa.list_(pa.string()),
    }
    return pa.schema([(name, kinds[kind]) for name, kind in COLUMNS])


class NoSnapshot(RuntimeError):
    """The warehouse holds no snapshot for the requested date."""


def _is_missing(value: Any) -> bool:
    """None, NaN, pandas' NA or NaT: what a database NULL becomes in a frame."""
    if value is None:
        return True
    try:
        return bool(value != value)  # NaN, NaT (and pd.NA raises)
    except TypeError:
        return True


def as_date(value: Any) -> date | None:
    """SQLite returns dates as ISO text, PostgreSQL as dates; the export and the report's
    workbook read the same columns through these converters."""
    if _is_missing(value):
        return None
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    return date.fromisoformat(str(value))


def as_text(value: Any) -> str | None:
    return None if _is_missing(value) else str(value)


def as_integer(value: Any) -> int | None:
    return None if _is_missing(value) else int(value)


def as_float(value: Any) -> float | None:
    return None if _is_missing(value) else float(value)


def as_list(value: Any) -> list[str] | None:
    """SQLite returns the JSON column as text, PostgreSQL as a list."""
    if isinstance(value, str):
        value = json.loads(value)
    if not isinstance(value, list):
        return None
    return [str(item) for item in value]


_CONVERTERS: dict[str, tuple[Callable[[Any], Any], str]] = {
    "date": (as_date, "object"),
    "text": (as_text, "object"),
    "integer": (as_integer, "Int64"),
    "float": (as_float, "float64"),
    "list": (as_list, "object"),
}


def read_snapshot(engine: Engine, report_date: date) -> pd.DataFrame:
    """The national snapshot of ``report_date`` (:data:`COLUMNS`), typed alike on every database:
    dates as ``datetime.date``, text as ``str``, ``students`` as Int64, floats as float64,
    ``providers_contacted`` as a list; a NULL as None (NaN / NA in numeric columns).

    Raises :class:`NoSnapshot`, naming the dates the warehouse holds, when it has none that day.
    """
    import pandas as pd
    from sqlalchemy import func, select

    from schoolnet.warehouse.models import SnapshotRow
    from schoolnet.warehouse.queries import load_query

    with engine.connect() as conn:
        raw = pd.read_sql(
            load_query("national_snapshot"), conn, params={"report_date": report_date}
        )
        if raw.empty:
            first, last = conn.execute(
                select(func.min(SnapshotRow.report_date), func.max(SnapshotRow.report_date))
            ).one()
            held = (
                f"it holds {as_date(first)} to {as_date(last)}"
                if first is not None
                else "it holds no snapshot yet"
            )
            raise NoSnapshot(
                f"the warehouse has no snapshot for {report_date.isoformat()} ({held})"
            )
    columns = {}
    for name, kind in COLUMNS:
        convert, dtype = _CONVERTERS[kind]
        columns[name] = pd.Series([convert(v) for v in raw[name]], dtype=dtype)
    return pd.DataFrame(columns)


def write_csv(frame: pd.DataFrame, out: Path) -> None:
    """UTF-8 with a byte-order mark; lists joined with ", "; formula-like text neutralized."""
    cells = frame.copy()
    for name, kind in COLUMNS:
        if kind == "list":
            cells[name] = cells[name].map(
                lambda items: ", ".join(items) if isinstance(items, list) else None
            )
        if kind in ("text", "list"):
            cells[name] = cells[name].map(neutralize)
    cells.to_csv(out, index=False, encoding="utf-8-sig")


def write_parquet(frame: pd.DataFrame, out: Path) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    table = pa.Table.from_pandas(frame, schema=parquet_schema(), preserve_index=False)
    pq.write_table(table, out)


def _check_format(fmt: str) -> None:
    if fmt not in FORMATS:
        raise ValueError(f"unknown export format {fmt!r}: use one of {', '.join(FORMATS)}")


def default_path(report_date: date, fmt: str, out: Path | None) -> Path:
    """``--out`` as given, or ``snapshot-<date>.<format>`` in it (a folder) or here."""
    name = f"snapshot-{report_date.isoformat()}.{fmt}"
    if out is None:
        return Path(name)
    return out / name if out.is_dir() else out


def write_snapshot(frame: pd.DataFrame, report_date: date, fmt: str, out: Path | None) -> Path:
    """Write ``frame`` in ``fmt``; a file is replaced whole, never left half written."""
    _check_format(fmt)
    path = default_path(report_date, fmt, out)
    with replacing(path) as partial:
        (write_csv if fmt == "csv" else write_parquet)(frame, partial)
    return path


def export_snapshot(engine: Engine, report_date: date, fmt: str, out: Path | None) -> Path:
    """Write the national snapshot of ``report_date`` as ``fmt`` (csv or parquet); its path."""
    _check_format(fmt)
    return write_snapshot(read_snapshot(engine, report_date), report_date, fmt, out)
