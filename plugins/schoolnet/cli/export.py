"""``schoolnet export``: the command over :mod:`schoolnet.report.export`.

The command finds the warehouse the way every ``schoolnet`` command does, so it lives with them;
the report package only reads the snapshot and writes the file.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path
from typing import Any

from schoolnet.cli.warehouse import existing_warehouse
from schoolnet.core.cliargs import iso_date
from schoolnet.report.export import FORMATS, read_snapshot, write_snapshot


def _root_cause(error: BaseException) -> str:
    """The first line of the innermost error: the database's own words, without the SQL."""
    while error.__cause__ is not None:
        error = error.__cause__
    lines = str(error).strip().splitlines()
    return lines[0] if lines else type(error).__name__


def _export(args: argparse.Namespace) -> int:
    from pandas.errors import DatabaseError
    from sqlalchemy.exc import SQLAlchemyError

    # A warehouse that is not there is refused, never made: an empty one would only answer
    # "no snapshot" for every date.
    engine = existing_warehouse(args.url)
    try:
        frame = read_snapshot(engine, args.date)
    except (SQLAlchemyError, DatabaseError) as error:  # pandas wraps the driver's error
        where = engine.url.render_as_string(hide_password=True)
        raise RuntimeError(f"cannot read the warehouse at {where}: {_root_cause(error)}") from error
    finally:
        engine.dispose()
    out = None if args.out is None else Path(args.out)
    if out is not None and args.out.endswith(("/", os.sep)):
        out.mkdir(parents=True, exist_ok=True)  # `--out exports/`: a folder, made if missing
    path = write_snapshot(frame, args.date, args.fmt, out)
    print(f"{args.date.isoformat()}: {len(frame):,} schools written to {path}")
    return 0


def register(commands: Any) -> None:
    parser = commands.add_parser(
        "export", help="write one day's national snapshot (one row per school) as CSV or Parquet"
    )
    parser.add_argument("date", type=iso_date, metavar="YYYY-MM-DD", help="the report date")
    parser.add_argument(
        "--format",
        dest="fmt",
        required=True,
        choices=FORMATS,
        help="csv (UTF-8 with BOM, for Excel) or parquet (typed, for analysis)",
    )
    parser.add_argument(
        "--out",
        help=(
            "file to write, or a folder for snapshot-DATE.FORMAT: an existing one, or a name "
            "ending in / (made if missing); default: that name, here"
        ),
    )
    parser.add_argument(
        "--url", help="SQLAlchemy URL (default: the Airflow connection named in the settings)"
    )
    parser.set_defaults(handler=_export)
