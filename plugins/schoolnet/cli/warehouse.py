"""``schoolnet db`` and ``schoolnet quarantine``: the operator's warehouse commands."""

from __future__ import annotations

import argparse
import getpass
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from schoolnet.core.cliargs import iso_date

if TYPE_CHECKING:
    from schoolnet.operations.connections import ConnectionNotDefined


def connection_advice(error: ConnectionNotDefined, *, url_option: bool) -> str:
    """What to do about a connection nobody defined, in one line (Thai, then English): a
    command that takes ``--url`` (the warehouse's) can be given one instead."""
    from schoolnet.report.texts import report_text

    if url_option:
        return report_text(
            "ops_connection_missing_or_url", conn_id=error.conn_id, variable=error.variable
        )
    return report_text("ops_connection_missing", conn_id=error.conn_id, variable=error.variable)


def command_engine(url: str | None, must_exist: bool = False) -> Any:
    """The warehouse a command works on: ``--url``, else the settings' warehouse connection.

    With ``must_exist`` (commands that only look), a SQLite file that is not there is refused
    in one line rather than created empty, which would answer "no run" for every date.
    """
    from sqlalchemy.engine import make_url

    from schoolnet.warehouse import create_warehouse_engine

    if url is None:
        from schoolnet.core.config import load_settings
        from schoolnet.operations.connections import warehouse_url

        url = warehouse_url(load_settings().connections.warehouse)
    parsed = make_url(url)
    database = parsed.database or ""
    if (
        must_exist
        and parsed.get_backend_name() == "sqlite"
        and database not in ("", ":memory:")
        and not Path(database.removeprefix("file:").split("?")[0]).exists()
    ):
        raise RuntimeError(
            f"no warehouse at {database}: check --url (or the settings' warehouse "
            "connection); `schoolnet db upgrade` creates a new one"
        )
    return create_warehouse_engine(url)


WAREHOUSE_TABLES = frozenset({"pull", "snapshot"})
"""Tables every schoolnet warehouse has had since its first revision."""


def existing_warehouse(url: str | None) -> Any:
    """The warehouse of a command that reads it and must never make one: as
    ``command_engine(must_exist=True)``, and refused in one line as well when the database is
    there but holds no schoolnet tables (a PostgreSQL database nobody upgraded, an empty
    SQLite file). Nothing is created: the check only reads the database's list of tables."""
    from sqlalchemy import inspect

    engine = command_engine(url, must_exist=True)
    try:
        tables = set(inspect(engine).get_table_names())
    except BaseException:
        engine.dispose()
        raise
    if not tables & WAREHOUSE_TABLES:
        where = engine.url.render_as_string(hide_password=True)
        engine.dispose()
        raise RuntimeError(
            f"no warehouse at {where}: the database holds no schoolnet tables; check --url (or "
            "the settings' warehouse connection); `schoolnet db upgrade` creates them"
        )
    return engine


def _upgrade(args: argparse.Namespace) -> int:
    from sqlalchemy import inspect

    from schoolnet.warehouse.migrate import BASELINE, upgrade_warehouse, warehouse_revision

    engine = command_engine(args.url)
    where = engine.url.render_as_string(hide_password=True)
    before = warehouse_revision(engine)
    had_tables = bool(inspect(engine).get_table_names())
    upgrade_warehouse(engine)
    after = warehouse_revision(engine)
    if before == after:
        print(f"warehouse ready: {where} (already at revision {after}, the newest)")
    elif before is not None:
        print(f"warehouse upgraded: {where} (revision {before} -> {after})")
    elif had_tables:
        print(
            f"warehouse upgraded: {where} was made before migrations; its tables are those of "
            f"revision {BASELINE}, so it was stamped {BASELINE} and upgraded to {after}"
        )
    else:
        print(f"warehouse created: {where} (revision {after})")
    return 0


def _revision(args: argparse.Namespace) -> int:
    from schoolnet.warehouse.migrate import new_revision

    path = new_revision(args.message)
    print(f"wrote {path}: review it, complete what autogenerate missed, test it on both databases")
    return 0


def _acceptance_refused(engine: Any, esa_code: str, day: date) -> str | None:
    """Why the ESA's sheet of ``day`` cannot be accepted (one bilingual line), or None.

    The date must have run: not after today in Bangkok, nor after the latest date the warehouse
    merged (the demo's "today" is its data set's day, years behind the machine's clock). The ESA
    must be in the ESA registry that date's run used (the settings' when the run kept none), and
    its sheet must have been quarantined that date: its merged pull's outcome ``quarantined``,
    or a release recorded already (accepting again, after the rerun, changes nothing).
    """
    from schoolnet.core.config import load_settings
    from schoolnet.core.schedule import TIMEZONE
    from schoolnet.orchestration.registries import run_esas, run_registry_path
    from schoolnet.report.texts import report_text
    from schoolnet.warehouse.history import latest_merged_date, pull_outcome, quarantine_released

    today = datetime.now(ZoneInfo(TIMEZONE)).date()
    if day > today:
        return report_text("quarantine_future", date=day.isoformat(), today=today.isoformat())
    latest = latest_merged_date(engine)
    if latest is None or day > latest:
        return report_text(
            "quarantine_not_run",
            date=day.isoformat(),
            latest=latest.isoformat() if latest else "-",
        )
    settings = load_settings()
    if esa_code not in {esa.esa_code for esa in run_esas(settings, day)}:
        kept = run_registry_path(settings, day)
        registry = kept if kept.exists() else settings.registry.esas
        return report_text(
            "quarantine_esa_unknown", code=esa_code, date=day.isoformat(), registry=registry
        )
    outcome = pull_outcome(engine, esa_code, day)
    if outcome != "quarantined" and not quarantine_released(engine, esa_code, day):
        return report_text(
            "quarantine_not_held", code=esa_code, date=day.isoformat(), outcome=outcome or "-"
        )
    return None


def _accept(args: argparse.Namespace) -> int:
    from schoolnet.warehouse import ensure_schema
    from schoolnet.warehouse.history import release_quarantine

    engine = existing_warehouse(args.url)
    try:
        # Every check reads; a refused acceptance writes nothing, not even a migration.
        refused = _acceptance_refused(engine, args.esa, args.date)
        if refused is not None:
            raise RuntimeError(refused)
        ensure_schema(engine)
        release_quarantine(engine, args.esa, args.date, args.by or getpass.getuser())
    finally:
        engine.dispose()
    print(
        f"ESA {args.esa}: its sheet of {args.date.isoformat()} will be accepted despite the drop. "
        f"Rerun that date to merge it: airflow dags test schoolnet_daily {args.date.isoformat()}"
    )
    return 0


def _replay(args: argparse.Namespace) -> int:
    from schoolnet.core.config import load_settings
    from schoolnet.orchestration.replay import NothingLanded, landed_sheets, replay, unreplayable
    from schoolnet.warehouse import ensure_schema

    settings = load_settings()
    # Every date is checked before any is touched: a refused command changes nothing.
    missing = unreplayable(settings, args.dates)
    if missing:
        raise NothingLanded(missing)
    engine = command_engine(args.url)
    ensure_schema(engine)
    for day in args.dates:
        kept = sum(1 for sheet in landed_sheets(settings, day).values() if sheet is None)
        outcome = replay(day, settings, engine)
        print(
            f"{day.isoformat()}: re-validated and merged from the raw landing without calling "
            f"Google: {outcome.accepted_today:,} schools accepted, "
            f"{outcome.carried_forward:,} carried forward, {len(outcome.failed_esas)} ESAs unread"
            + (f"; {kept} ESAs with no landing kept as the warehouse had them" if kept else "")
        )
    return 0


def _url_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--url", help="SQLAlchemy URL (default: the Airflow connection named in the settings)"
    )


def register(commands: Any) -> None:
    parser = commands.add_parser("db", help="prepare the warehouse")
    actions = parser.add_subparsers(dest="db_command", required=True, metavar="ACTION")
    for name, help_text in (
        ("upgrade", "create or upgrade the warehouse tables to this version (idempotent)"),
        ("init", "the same as upgrade"),
    ):
        upgrade = actions.add_parser(name, help=help_text)
        _url_option(upgrade)
        upgrade.set_defaults(handler=_upgrade)
    revision = actions.add_parser(
        "revision",
        help="(developers) write a migration of what the models have that the migrations lack",
    )
    revision.add_argument("message", help="what the migration does, e.g. 'school: add district'")
    revision.set_defaults(handler=_revision)

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
