"""``schoolnet emulator …``: run the Sheets/Drive emulator and poke at its state by hand."""

from __future__ import annotations

import argparse
import json
import sys
import urllib.error
import urllib.request
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

from schoolnet.core.cliargs import iso_date
from schoolnet.devtools.emulator import state
from schoolnet.devtools.emulator.state import EmulatorError


def register(subparsers: Any) -> None:
    """Add the ``emulator`` command and its subcommands to the top-level parser."""
    parser = subparsers.add_parser(
        "emulator",
        help="local Google Sheets + Drive API emulator",
        description="A local Google Sheets v4 + Drive v3 API that gspread talks to unchanged.",
    )
    commands = parser.add_subparsers(dest="emulator_command", required=True, metavar="SUBCOMMAND")

    serve = commands.add_parser("serve", help="serve a state directory over HTTP")
    _state_arg(serve)
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8787)
    serve.add_argument(
        "--read-quota",
        type=int,
        default=None,
        metavar="N",
        help="read requests per minute (default: control.json, else 60; 0 = off)",
    )
    serve.add_argument(
        "--write-quota",
        type=int,
        default=None,
        metavar="N",
        help="write requests per minute (default: control.json, else 60; 0 = off)",
    )
    serve.set_defaults(handler=_serve)

    load = commands.add_parser("load", help="load one day of a demo data set into the state")
    _state_arg(load)
    load.add_argument("--demo-data", required=True, type=Path, metavar="DIR")
    load.add_argument("--date", required=True, type=iso_date, metavar="YYYY-MM-DD")
    load.set_defaults(handler=_load)

    edit = commands.add_parser("edit", help="type a value into one cell, as a clerk would")
    _state_arg(edit)
    edit.add_argument("spreadsheet_id", metavar="SPREADSHEET_ID")
    edit.add_argument("range", metavar="RANGE", help="a cell, e.g. \"'โรงเรียน'!C5\" or C5")
    edit.add_argument("value", metavar="VALUE", help='what is typed; "" clears the cell')
    edit.set_defaults(handler=_edit)

    fault = commands.add_parser("fault", help="make one spreadsheet fail, or heal it")
    _state_arg(fault)
    fault.add_argument("spreadsheet_id", metavar="SPREADSHEET_ID")
    fault.add_argument("mode", choices=[*state.FAULT_MODES, "none"])
    fault.add_argument(
        "--seconds",
        type=float,
        default=None,
        help=f"how long a hang lasts (default {state.DEFAULT_HANG_SECONDS:g})",
    )
    fault.set_defaults(handler=_fault)

    quota = commands.add_parser("quota", help="show or change the per-minute quotas")
    _state_arg(quota)
    quota.add_argument("--read", type=int, default=None, metavar="N")
    quota.add_argument("--write", type=int, default=None, metavar="N")
    quota.set_defaults(handler=_quota)

    clock = commands.add_parser("clock", help="show or set the time the emulator stamps")
    _state_arg(clock)
    when = clock.add_mutually_exclusive_group()
    when.add_argument(
        "--at",
        type=_aware_time,
        default=None,
        metavar="TIME",
        help="run the clock from this ISO time with an offset, e.g. 2018-01-16T06:00:00+07:00",
    )
    when.add_argument("--wall", action="store_true", help="back to the wall clock")
    clock.set_defaults(handler=_clock)

    stats = commands.add_parser("stats", help="print a running emulator's request counters")
    stats.add_argument("--url", required=True, help="base URL, e.g. http://127.0.0.1:8787")
    stats.add_argument("--reset", action="store_true", help="then reset counters and quotas")
    stats.set_defaults(handler=_stats)


def _state_arg(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--state", required=True, type=Path, metavar="DIR", help="the emulator's state directory"
    )


def _fail(message: str) -> int:
    print(f"schoolnet emulator: {message}", file=sys.stderr)
    return 1


def _guarded(args: argparse.Namespace, action: Any) -> int:
    """Run an action; user mistakes become one line on stderr and exit code 1."""
    try:
        result: int = action(args)
        return result
    except EmulatorError as exc:
        return _fail(str(exc))
    except OSError as exc:
        where = f": {exc.filename}" if exc.filename else ""
        return _fail(f"{exc.strerror or exc}{where}")
    except ValueError as exc:  # e.g. a state file that is not valid JSON
        return _fail(str(exc))


def _serve(args: argparse.Namespace) -> int:
    from schoolnet.devtools.emulator.server import serve_forever

    def ready(url: str) -> None:
        print(url, flush=True)

    def run(args: argparse.Namespace) -> int:
        serve_forever(args.state, args.host, args.port, args.read_quota, args.write_quota, ready)
        return 0

    return _guarded(args, run)


def _load(args: argparse.Namespace) -> int:
    def run(args: argparse.Namespace) -> int:
        count = state.load_day(args.state, args.demo_data, args.date)
        print(f"loaded {count} spreadsheets for {args.date.isoformat()}")
        return 0

    return _guarded(args, run)


def _edit(args: argparse.Namespace) -> int:
    def run(args: argparse.Namespace) -> int:
        state.edit_cell(args.state, args.spreadsheet_id, args.range, args.value)
        return 0

    return _guarded(args, run)


def _fault(args: argparse.Namespace) -> int:
    def run(args: argparse.Namespace) -> int:
        if args.mode != "none":
            state.load_spreadsheet(args.state, args.spreadsheet_id)  # unknown id → error
        state.set_fault(args.state, args.spreadsheet_id, args.mode, args.seconds)
        return 0

    return _guarded(args, run)


def _quota(args: argparse.Namespace) -> int:
    def run(args: argparse.Namespace) -> int:
        if args.read is not None or args.write is not None:
            state.set_quota(args.state, args.read, args.write)
        control = state.read_control(args.state)
        print(
            f"read {control['read_quota_per_minute']}/min, "
            f"write {control['write_quota_per_minute']}/min (0 or less = unlimited)"
        )
        return 0

    return _guarded(args, run)


def _aware_time(text: str) -> datetime:
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an ISO time: {text}") from None
    if moment.tzinfo is None:
        raise argparse.ArgumentTypeError(f"give the time's offset, e.g. {text}+07:00")
    return moment


def _clock(args: argparse.Namespace) -> int:
    def run(args: argparse.Namespace) -> int:
        if args.at is not None or args.wall:
            state.set_clock(args.state, None if args.wall else args.at)
        control = state.read_control(args.state)
        source = "set" if "clock" in control else "wall clock"
        print(f"{state.now_rfc3339(control)} ({source})")
        return 0

    return _guarded(args, run)


def _stats(args: argparse.Namespace) -> int:
    base = args.url.rstrip("/")
    try:
        with urllib.request.urlopen(base + "/_emulator/stats", timeout=10) as response:
            stats = json.loads(response.read().decode("utf-8"))
        if args.reset:
            request = urllib.request.Request(base + "/_emulator/reset", data=b"", method="POST")
            with urllib.request.urlopen(request, timeout=10):
                pass
    except (urllib.error.URLError, OSError, ValueError) as exc:
        reason = getattr(exc, "reason", exc)
        return _fail(f"cannot reach the emulator at {base}: {reason}")
    print(json.dumps(stats, indent=2, ensure_ascii=False))
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m schoolnet.cli.emulator emulator …``: the same commands without the rest."""
    parser = argparse.ArgumentParser(prog="schoolnet")
    register(parser.add_subparsers(dest="command", required=True, metavar="COMMAND"))
    args = parser.parse_args(argv)
    result: int = args.handler(args)
    return result


if __name__ == "__main__":
    sys.exit(main())
