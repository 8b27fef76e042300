"""``schoolnet esa|runs|report|service-account``: the operator's day-to-day commands.

The logic is in ``schoolnet.operations`` (``registry_edits``, ``run_queries``, ``key_rotation``);
this module parses arguments and prints.
"""

from __future__ import annotations

import argparse
import getpass
import sys
from datetime import date, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from schoolnet.core.cliargs import iso_date
from schoolnet.core.registry import Esa, RegistryError
from schoolnet.core.schedule import TIMEZONE
from schoolnet.report.texts import report_text

LOCAL = ZoneInfo(TIMEZONE)


def _engine(url: str | None) -> Any:
    """The command's warehouse (which must exist), migrated to the current revision."""
    from schoolnet.cli.warehouse import command_engine
    from schoolnet.warehouse import ensure_schema

    engine = command_engine(url, must_exist=True)
    ensure_schema(engine)
    return engine


def _local(moment: datetime | None) -> str:
    if moment is None:
        return "-"
    if moment.tzinfo is None:  # SQLite hands back naive UTC
        moment = moment.replace(tzinfo=ZoneInfo("UTC"))
    return moment.astimezone(LOCAL).strftime("%Y-%m-%d %H:%M:%S")


def _seconds(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}"


def _warn(message: str) -> None:
    print(f"warning: {message}", file=sys.stderr)


# --- registry ------------------------------------------------------------------------------------


def _registry_file(args: argparse.Namespace) -> Path:
    """The ESA registry file to edit: ``--registry``, else the settings' file (refused when the
    settings keep the registry in a Google Sheet, which is edited in Google)."""
    if args.registry is not None:
        path: Path = args.registry
        return path
    from schoolnet.core.config import load_settings

    source = load_settings().registry
    if source.esas_sheet:
        raise RegistryError(report_text("ops_registry_in_sheet", sheet=source.esas_sheet))
    return source.esas


def _reader(emulator_url: str | None) -> tuple[Any, str]:
    """A sheets reader through the emulator, or through the Google connection of the settings;
    and the service account's address."""
    from schoolnet.ingestion.ingest import SheetsReader

    if emulator_url:
        from schoolnet.cli.sheets import EMULATOR_RETRIES
        from schoolnet.ingestion.google import EmulatorSession

        return SheetsReader(EmulatorSession(emulator_url), EMULATOR_RETRIES), "(emulator)"
    from schoolnet.core.config import load_settings
    from schoolnet.operations.connections import google_session

    settings = load_settings()
    session, account = google_session(settings.connections.google)
    return SheetsReader(session, settings.google, service_account=account), account


def _read_sheet(reader: Any, account: str, esa: Esa) -> str:
    """Read the ESA's data tab once; a line saying what was read, or a RegistryError saying
    (in Thai and English) why it could not be."""
    from schoolnet.contract import load_contract
    from schoolnet.ingestion.ingest import SheetReadError

    try:
        read = reader.read_data_tab(esa.spreadsheet_id, load_contract().data_tab)
    except SheetReadError as error:
        raise RegistryError(
            report_text(
                "ops_sheet_unreadable",
                esa_code=esa.esa_code,
                reason=error.reason,
                account=account,
                code=error.code,
                detail=error.detail,
            )
        ) from error
    tab = f"first tab {read.tab!r}" if read.used_first_tab else f"tab {read.tab!r}"
    return (
        f"ESA {esa.esa_code}: sheet {esa.spreadsheet_id} read with {account}: {len(read.values)} "
        f"rows in {tab} ({read.api_calls} API call(s))"
    )


def _log_change(args: argparse.Namespace, code: str, action: str, reason: str | None) -> None:
    """Keep the change and its reason in the warehouse; the registry file is changed already,
    so an unreachable warehouse only warns."""
    from schoolnet.cli.warehouse import connection_advice
    from schoolnet.operations.connections import ConnectionNotDefined
    from schoolnet.operations.registry_edits import record_registry_change

    try:
        engine = _engine(args.url)
        try:
            record_registry_change(engine, code, action, reason, args.by or getpass.getuser())
        finally:
            engine.dispose()
    except ConnectionNotDefined as error:
        advice = connection_advice(error, url_option=True)
        _warn(f"the change is made but not recorded in the warehouse: {advice}")
    except Exception as error:  # noqa: BLE001 - the change stands; the operator is told why
        _warn(f"the change is made but not recorded in the warehouse: {error}")


def _esa_add(args: argparse.Namespace) -> int:
    from schoolnet.core.registry import read_esas
    from schoolnet.operations.registry_edits import add_esa, new_esa

    path = _registry_file(args)
    esa = new_esa(
        code=args.code,
        name=args.name,
        province=args.province,
        level=args.level,
        sheet=args.sheet_id,
        contact=args.contact,
        registry=read_esas(path),
    )
    if args.check:
        reader, account = _reader(args.emulator_url)
        print(_read_sheet(reader, account, esa))
    add_esa(path, esa)
    _log_change(args, esa.esa_code, "add", args.reason)
    print(
        f"ESA {esa.esa_code} ({esa.esa_name}) added to {path}; the next run pulls its sheet. "
        f"Share the sheet with the service account as editor, and provision it: "
        f"schoolnet sheets provision {esa.esa_code}"
    )
    _check_schools(esa.esa_code)
    return 0


def _esa_update(args: argparse.Namespace) -> int:
    from schoolnet.core.registry import read_esas
    from schoolnet.operations.registry_edits import new_esa, registered_esa, update_esa

    path = _registry_file(args)
    before = registered_esa(path, args.esa)
    given = {
        "name": args.name,
        "province": args.province,
        "level": args.level,
        "sheet": args.sheet_id,
        "contact": args.contact,
    }
    if all(value is None for value in given.values()):
        raise RegistryError(report_text("ops_nothing_to_change"))
    esa = new_esa(  # the same checks as a new entry, against the other ESAs
        code=before.esa_code,
        name=args.name if args.name is not None else before.esa_name,
        province=args.province if args.province is not None else before.province,
        level=args.level if args.level is not None else before.level,
        sheet=args.sheet_id if args.sheet_id is not None else before.spreadsheet_id,
        contact=args.contact if args.contact is not None else before.contact_email,
        registry=[other for other in read_esas(path) if other.esa_code != before.esa_code],
    )
    if args.check:
        reader, account = _reader(args.emulator_url)
        print(_read_sheet(reader, account, esa))
    update_esa(path, esa)
    changed = [
        f"{name}: {old} -> {new}"
        for name, old, new in zip(
            ("name", "province", "level", "sheet", "contact"),
            (
                before.esa_name,
                before.province,
                before.level,
                before.spreadsheet_id,
                before.contact_email,
            ),
            (esa.esa_name, esa.province, esa.level, esa.spreadsheet_id, esa.contact_email),
            strict=True,
        )
        if old != new
    ]
    _log_change(args, esa.esa_code, "update", "; ".join(filter(None, [args.reason, *changed])))
    print(
        f"ESA {esa.esa_code} updated in {path} ({'; '.join(changed) or 'nothing changed'}); "
        "the next run uses it"
    )
    return 0


def _check_schools(code: str) -> None:
    """Warn when the school registry of the settings lists no school of the ESA."""
    from schoolnet.core.config import ConfigError, load_settings
    from schoolnet.core.registry import read_schools

    try:
        schools = read_schools(load_settings().registry.schools)
    except (ConfigError, RegistryError):
        return
    if not any(school.esa_code == code for school in schools):
        _warn(report_text("ops_no_schools", esa_code=code))


def _esa_retire(args: argparse.Namespace) -> int:
    from schoolnet.operations.registry_edits import retire_esa

    if not args.reason.strip():
        raise RegistryError(report_text("ops_reason_missing"))
    path = _registry_file(args)
    esa = retire_esa(path, args.esa)
    _log_change(args, esa.esa_code, "retire", args.reason.strip())
    print(
        f"ESA {esa.esa_code} ({esa.esa_name}) removed from {path}: the next run no longer pulls "
        "it. Its pulls, findings and snapshots stay in the warehouse; the registry history "
        "ends its entry on that run's date."
    )
    return 0


def _esa_list(args: argparse.Namespace) -> int:
    from schoolnet.core.config import load_settings
    from schoolnet.core.registry import read_esas
    from schoolnet.operations.run_queries import latest_outcomes
    from schoolnet.report.daily import esa_updates, is_stale

    settings = load_settings()
    if args.registry is not None:
        esas = read_esas(args.registry)
    elif settings.registry.esas_sheet:
        from schoolnet.orchestration.provision_tasks import registry_esas

        esas = registry_esas(settings, _reader(None)[0])
    else:
        esas = read_esas(settings.registry.esas)
    engine = _engine(args.url)
    try:
        day, pulls = latest_outcomes(engine, args.date)
        updates: dict[str, dict[str, Any]] = {}
        if day is not None:
            with engine.connect() as conn:
                updates = esa_updates(conn, day)  # the report's query; its rule below
    finally:
        engine.dispose()
    after = settings.report.stale_after_days
    # Every ESA of the registry, then those with a pull that date but no longer registered.
    lines: list[tuple[str, str, str]] = [
        (esa.esa_code, esa.level, f"{esa.province} / {esa.esa_name}") for esa in esas
    ]
    registered = {esa.esa_code for esa in esas}
    lines += [
        (code, "-", "(no longer in the registry)") for code in sorted(set(pulls) - registered)
    ]

    def stale(code: str) -> bool:
        return day is not None and is_stale(updates.get(code, {}).get("days_since_update"), after)

    behind = sum(1 for code, _, _ in lines if stale(code))
    print(f"{len(esas)} ESAs in the registry; outcomes of {day.isoformat() if day else '-'}")
    print(
        f"{behind} stale: data not changed for {after} days or more, or never read "
        f"(the report's rule, [report] stale_after_days = {after})"
        if day is not None
        else "stale: - (no run merged yet)"
    )
    print(
        f"{'ESA':<7} {'level':<9} {'outcome':<12} {'last good':<10}  {'changed':<10}  "
        f"{'stale':<5}  province / name"
    )
    for code, level, name in lines:
        if args.stale and not stale(code):
            continue
        pull = pulls.get(code)
        changed = updates.get(code, {}).get("data_changed_on")
        last_good = pull["last_good_date"] if pull else None
        print(
            f"{code:<7} {level:<9} {pull['outcome'] if pull else '-':<12} "
            f"{_day(last_good):<10}  {_day(changed):<10}  {'stale' if stale(code) else '-':<5}  "
            f"{name}"
        )
    return 0


def _day(value: date | None) -> str:
    return value.isoformat() if value else "-"


# --- runs and reports ----------------------------------------------------------------------------


def _runs_show(args: argparse.Namespace) -> int:
    from schoolnet.operations.run_queries import merge_run, merged_dates, run_pulls

    engine = _engine(args.url)
    try:
        pulls = run_pulls(engine, args.date)
        merged = merge_run(engine, args.date)
        known = merged_dates(engine) if not pulls else []
    finally:
        engine.dispose()
    if not pulls:
        held = ", ".join(day.isoformat() for day in known) or "none"
        raise RuntimeError(f"no run of {args.date.isoformat()} in the warehouse (latest: {held})")
    outcomes: dict[str, int] = {}
    for pull in pulls:
        outcomes[pull["outcome"]] = outcomes.get(pull["outcome"], 0) + 1
    counts = ", ".join(f"{name} {count}" for name, count in sorted(outcomes.items()))
    calls = sum(pull["api_calls"] for pull in pulls)
    print(f"run of {args.date.isoformat()}: {len(pulls)} ESAs ({counts}); {calls} API calls")
    if merged:
        print(
            f"merge: {merged['seconds']:.2f} s, {_local(merged['started_at'])} to "
            f"{_local(merged['finished_at'])} ({TIMEZONE}), {merged['schools']:,} schools, "
            f"run {merged['run_id'] or '-'}"
        )
    print(
        f"{'ESA':<7} {'outcome':<12} {'read':>5} {'acc':>5} {'rej':>5} {'calls':>5} "
        f"{'read s':>7} {'valid s':>7} {'feedb s':>7}  {'pull started':<19}  try  reason"
    )
    for pull in pulls:
        reason = pull["error_code"] or ""
        print(
            f"{pull['esa_code']:<7} {pull['outcome']:<12} {pull['rows_read']:>5} "
            f"{pull['rows_accepted']:>5} {pull['rows_rejected']:>5} {pull['api_calls']:>5} "
            f"{_seconds(pull['read_seconds']):>7} {_seconds(pull['validate_seconds']):>7} "
            f"{_seconds(pull['feedback_seconds']):>7}  {_local(pull['pull_started_at']):<19}  "
            f"{pull['try_number'] or '-':>3}  {reason}"
        )
    runs = sorted({pull["run_id"] for pull in pulls if pull["run_id"]})
    if runs:
        print(f"pulled by run(s): {', '.join(runs)}")
    return 0


def _report_status(args: argparse.Namespace) -> int:
    from schoolnet.operations.run_queries import deliveries

    engine = _engine(args.url)
    try:
        sent = deliveries(engine, args.date, every_kind=args.all)
    finally:
        engine.dispose()
    if not any(row["kind"] == "report" for row in sent):
        print(report_text("ops_report_not_sent", date=args.date.isoformat()))
    for row in sent:
        print(
            f"{row['kind']}: sent {_local(row['sent_at'])} ({TIMEZONE}), "
            f"{row['sent_count']} time(s), to {row['recipients']}, message id {row['message_id']}"
        )
    reports = [row["sent_at"] for row in sent if row["kind"] == "report"]
    if reports:
        changed = _rendered_after(args.date, max(_utc(moment) for moment in reports))
        if changed is not None:
            print(changed)
    return 0 if reports else 1


def _utc(moment: datetime) -> datetime:
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=ZoneInfo("UTC"))


def _rendered_after(report_date: Any, sent_at: datetime) -> str | None:
    """A line saying the report's files on disk were written after it was last sent (a rerun
    rendered them again): they are not what the ministry received."""
    from schoolnet.core.config import load_settings
    from schoolnet.report.files import MANIFEST

    folder = load_settings().storage.report_folder(report_date.isoformat())
    try:
        written = datetime.fromtimestamp((folder / MANIFEST).stat().st_mtime, ZoneInfo("UTC"))
    except OSError:
        return None
    if written <= sent_at:
        return None
    return (
        f"files: {folder} were written again {_local(written)} ({TIMEZONE}), after the report "
        "was last sent: they are not what was sent (to send them: run the date with force_resend)"
    )


# --- service account -----------------------------------------------------------------------------


def _rotate(args: argparse.Namespace) -> int:
    from schoolnet.core.config import load_settings
    from schoolnet.operations.key_rotation import rotate_key

    conn_id = load_settings().connections.google
    rotation = rotate_key(conn_id, args.key_file)
    print(f"{rotation.where} now holds the key of {rotation.client_email}")
    if rotation.previous_email == rotation.client_email:
        print("the same service account as before: its sheets need no new sharing")
    else:
        print(
            f"a new service account (before: {rotation.previous_email or 'none'}): share every "
            f"ESA sheet (or their Drive folder) and the ESA registry sheet with "
            f"{rotation.client_email} as editor before the next run"
        )
    print(
        "then check it: schoolnet service-account verify (undo: schoolnet service-account rollback)"
    )
    return 0


def _verify(args: argparse.Namespace) -> int:
    from schoolnet.core.config import load_settings
    from schoolnet.orchestration.provision_tasks import registry_esas

    reader, account = _reader(None)
    esas = registry_esas(load_settings(), reader)
    chosen = [esa for esa in esas if args.esa in (None, esa.esa_code)]
    if not chosen:
        raise RegistryError(f"ESA code {args.esa} is not in the ESA registry")
    print(_read_sheet(reader, account, chosen[0]))
    return 0


def _rollback(_args: argparse.Namespace) -> int:
    from schoolnet.core.config import load_settings
    from schoolnet.operations.key_rotation import rollback_key

    print(rollback_key(load_settings().connections.google))
    print("check it: schoolnet service-account verify")
    return 0


# --- parser --------------------------------------------------------------------------------------


def _url_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--url", help="warehouse SQLAlchemy URL (default: the Airflow connection in the settings)"
    )


def _registry_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--registry",
        type=Path,
        metavar="CSV",
        help="the ESA registry file (default: [registry] esas of the settings)",
    )


def _entry_options(parser: argparse.ArgumentParser, *, required: bool, adds: str) -> None:
    """The fields of a registry entry (all required for a new one, any for a change), and how
    the change is checked and recorded."""
    parser.add_argument("--name", required=required, help="e.g. สพป.เชียงใหม่ เขต 1")
    parser.add_argument("--province", required=required)
    parser.add_argument("--level", required=required, choices=("primary", "secondary"))
    parser.add_argument("--sheet-id", required=required, help="the sheet's id, or its address")
    parser.add_argument("--contact", required=required, help="the ESA's contact email")
    parser.add_argument("--reason", help="why (kept in the warehouse)")
    parser.add_argument(
        "--check",
        action="store_true",
        help=f"read the sheet with the service account first; {adds} nothing if it cannot be read",
    )
    parser.add_argument("--emulator-url", metavar="URL", help="check through a local emulator")
    parser.add_argument("--by", help=f"who {adds}s it (default: the current user)")
    _registry_option(parser)
    _url_option(parser)


def register(commands: Any) -> None:
    esa = commands.add_parser("esa", help="add, retire and list the ESAs of the registry")
    esa_actions = esa.add_subparsers(dest="esa_command", required=True, metavar="ACTION")
    add = esa_actions.add_parser(
        "add", help="add an ESA to the registry file (checked, written atomically)"
    )
    add.add_argument("--code", required=True, help="the ESA's 6-digit code")
    _entry_options(add, required=True, adds="add")
    add.set_defaults(handler=_esa_add)

    update = esa_actions.add_parser(
        "update",
        help="change an ESA's name, province, level, sheet or contact (checked, atomically)",
    )
    update.add_argument("esa", metavar="ESA_CODE")
    _entry_options(update, required=False, adds="change")
    update.set_defaults(handler=_esa_update)

    retire = esa_actions.add_parser(
        "retire", help="remove an ESA from the registry file (its warehouse history stays)"
    )
    retire.add_argument("esa", metavar="ESA_CODE")
    retire.add_argument("--reason", required=True, help="why (kept in the warehouse)")
    retire.add_argument("--by", help="who retires it (default: the current user)")
    _registry_option(retire)
    _url_option(retire)
    retire.set_defaults(handler=_esa_retire)

    listing = esa_actions.add_parser(
        "list", help="the registry's ESAs, their last outcome and whether their data is stale"
    )
    listing.add_argument(
        "--date",
        type=iso_date,
        metavar="YYYY-MM-DD",
        help="outcomes of this date (default: latest)",
    )
    listing.add_argument(
        "--stale",
        action="store_true",
        help="only the ESAs whose data has not changed for [report] stale_after_days, as the "
        "report flags them",
    )
    _registry_option(listing)
    _url_option(listing)
    listing.set_defaults(handler=_esa_list)

    runs = commands.add_parser("runs", help="what a run did: per-ESA outcomes and timings")
    runs_actions = runs.add_subparsers(dest="runs_command", required=True, metavar="ACTION")
    show = runs_actions.add_parser("show", help="every ESA's outcome and timings of one date")
    show.add_argument("date", type=iso_date, metavar="YYYY-MM-DD")
    _url_option(show)
    show.set_defaults(handler=_runs_show)

    report = commands.add_parser("report", help="the report's deliveries")
    report_actions = report.add_subparsers(dest="report_command", required=True, metavar="ACTION")
    status = report_actions.add_parser(
        "status", help="whether and when the report of a date was sent (exit 1: not sent)"
    )
    status.add_argument("date", type=iso_date, metavar="YYYY-MM-DD")
    status.add_argument("--all", action="store_true", help="the ESAs' feedback emails too")
    _url_option(status)
    status.set_defaults(handler=_report_status)

    account = commands.add_parser("service-account", help="the Google service account's key")
    account_actions = account.add_subparsers(
        dest="account_command", required=True, metavar="ACTION"
    )
    rotate = account_actions.add_parser(
        "rotate", help="check a new key file and make the Google connection use it"
    )
    rotate.add_argument("key_file", type=Path, metavar="KEY.json")
    rotate.set_defaults(handler=_rotate)
    verify = account_actions.add_parser(
        "verify", help="read one registered sheet through the Google connection"
    )
    verify.add_argument("--esa", metavar="ESA_CODE", help="whose sheet (default: the first)")
    verify.set_defaults(handler=_verify)
    rollback = account_actions.add_parser("rollback", help="undo the last rotation")
    rollback.set_defaults(handler=_rollback)
