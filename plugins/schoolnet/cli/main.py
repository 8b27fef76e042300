"""The ``schoolnet`` console command.

Each feature area registers its own subcommands, so this module only assembles them.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence


def _contract_docs(_args: argparse.Namespace) -> int:
    from schoolnet.contract.docs import contract_markdown

    sys.stdout.write(contract_markdown())
    return 0


def build_parser() -> argparse.ArgumentParser:
    from schoolnet.cli.demo_data import register as register_demo_data
    from schoolnet.cli.emulator import register as register_emulator
    from schoolnet.cli.export import register as register_export
    from schoolnet.cli.ops import register as register_operations
    from schoolnet.cli.sheets import register as register_sheets
    from schoolnet.cli.validate import register as register_validate
    from schoolnet.cli.warehouse import register as register_db
    from schoolnet.devtools.checkout import register as register_checkout
    from schoolnet.devtools.demoui import register as register_demo_ui
    from schoolnet.devtools.mailsink import register as register_mail_sink
    from schoolnet.devtools.pictures import register as register_pictures
    from schoolnet.devtools.rundemo import register as register_demo

    parser = argparse.ArgumentParser(
        prog="schoolnet",
        description="OBEC school internet connectivity: ESA sheets in, Thai report out.",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    register_demo_data(commands)
    register_emulator(commands)
    register_mail_sink(commands)
    register_demo(commands)
    register_demo_ui(commands)
    register_checkout(commands)
    register_db(commands)
    register_export(commands)
    register_sheets(commands)
    register_validate(commands)
    register_operations(commands)
    register_pictures(commands)
    docs = commands.add_parser(
        "contract-docs", help="print the district sheet contract as Markdown (docs/contract.md)"
    )
    docs.set_defaults(handler=_contract_docs)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    from sqlalchemy.exc import DBAPIError

    from schoolnet.core.config import ConfigError
    from schoolnet.core.registry import RegistryError
    from schoolnet.devtools.emulator import EmulatorError
    from schoolnet.operations.connections import ConnectionNotDefined

    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        result: int = args.handler(args)
    except ConnectionNotDefined as error:
        from schoolnet.cli.warehouse import connection_advice

        advice = connection_advice(error, url_option=hasattr(args, "url"))
        print(f"schoolnet {args.command}: {advice}", file=sys.stderr)
        return 1
    except (ConfigError, RegistryError, EmulatorError, RuntimeError, OSError) as error:
        # What went wrong and what to do, in one message; no traceback for an operator mistake.
        print(f"schoolnet {args.command}: {error}", file=sys.stderr)
        return 1
    except DBAPIError as error:  # e.g. no such PostgreSQL database, server down, refused
        reason = " ".join(str(error.orig or error).split())
        print(
            f"schoolnet {args.command}: the warehouse refused or did not answer: {reason}",
            file=sys.stderr,
        )
        return 1
    return result


if __name__ == "__main__":
    sys.exit(main())
