"""``schoolnet db``: prepare the warehouse."""

from __future__ import annotations

import argparse
from typing import Any


def _init(args: argparse.Namespace) -> int:
    from schoolnet.warehouse import create_warehouse_engine, ensure_schema

    url = args.url
    if url is None:
        from schoolnet.config import load_settings
        from schoolnet.connections import warehouse_url

        url = warehouse_url(load_settings().connections.warehouse)
    engine = create_warehouse_engine(url)
    ensure_schema(engine)
    print(f"warehouse ready: {engine.url.render_as_string(hide_password=True)}")
    return 0


def register(commands: Any) -> None:
    parser = commands.add_parser("db", help="prepare the warehouse")
    actions = parser.add_subparsers(dest="db_command", required=True, metavar="ACTION")
    init = actions.add_parser("init", help="create the warehouse tables (idempotent)")
    init.add_argument(
        "--url",
        help="SQLAlchemy URL (default: the Airflow connection named in the settings)",
    )
    init.set_defaults(handler=_init)
