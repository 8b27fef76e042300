"""``schoolnet db`` and ``schoolnet quarantine``: the operator's warehouse commands."""

from __future__ import annotations

import argparse
import getpass
from typing import Any

from schoolnet.cliargs import iso_date


def _engine(url: str | None) -> Any:
    from schoolnet.warehouse import create_warehouse_engine

    if url is None:
        from schoolnet.config import load_settings
        from schoolnet.connections import warehouse_url

        url = warehouse_url(load_settings().connections.warehouse)
    return create_warehouse_engine(url)


def _init(args: argparse.Namespace) -> int:
    from schoolnet.warehouse import ensure_schema

    engine = _engine(args.url)
    ensure_schema(engine)
    print(f"warehouse ready: {engine.url.render_as_string(hide_password=True)}")
    return 0


def _accept(args: argparse.Namespace) -> int:
    from schoolnet.warehouse import ensure_schema
    from schoolnet.warehouse.history import release_quarantine

    engine = _engine(args.url)
    ensure_schema(engine)
    release_quarantine(engine, args.esa, args.date, args.by or getpass.getuser())
    print(
        f"ESA {args.esa}: its sheet of {args.date.isoformat()} will be accepted despite the drop. "
        f"Rerun that date to merge it: airflow dags test schoolnet_daily {args.date.isoformat()}"
    )
    return 0


def _replay(args: argparse.Namespace) -> int:
    from schoolnet.config import load_settings
    from schoolnet.pipeline import replay
    from schoolnet.warehouse import ensure_schema

    engine = _engine(args.url)
    ensure_schema(engine)
    settings = load_settings()
    for day in args.dates:
        outcome = replay(day, settings, engine)
        print(
            f"{day.isoformat()}: re-validated and merged from the raw landing without calling "
            f"Google: {outcome.accepted_today:,} schools accepted, "
            f"{outcome.carried_forward:,} carried forward, {len(outcome.failed_esas)} ESAs unread"
        )
    return 0


def _url_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--url", help="SQLAlchemy URL (default: the Airflow connection named in the settings)"
    )


def register(commands: Any) -> None:
    parser = commands.add_parser("db", help="prepare the warehouse")
    actions = parser.add_subparsers(dest="db_command", required=True, metavar="ACTION")
    init = actions.add_parser("init", help="create the warehouse tables (idempotent)")
    _url_option(init)
    init.set_defaults(handler=_init)

    quarantine = commands.add_parser("quarantine", help="release a quarantined ESA sheet")
    q_actions = quarantine.add_subparsers(dest="q_command", required=True, metavar="ACTION")
    accept = q_actions.add_parser(
        "accept", help="accept an ESA's sheet of one date although its accepted rows fell by half"
    )
    accept.add_argument("esa", metavar="ESA_CODE")
    accept.add_argument("--date", required=True, type=iso_date, metavar="YYYY-MM-DD")
    accept.add_argument("--by", help="who accepts it (default: the current user)")
    _url_option(accept)
    accept.set_defaults(handler=_accept)

    replay = commands.add_parser(
        "replay",
        help="validate and merge dates again from the raw landing, without calling Google",
    )
    replay.add_argument(
        "dates", nargs="+", type=iso_date, metavar="YYYY-MM-DD", help="report dates, oldest first"
    )
    _url_option(replay)
    replay.set_defaults(handler=_replay)
