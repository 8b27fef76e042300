"""`schoolnet demo-data`: write the national demo data set into a folder."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from schoolnet.core.cliargs import iso_date, messy_rate
from schoolnet.devtools.demo.generate import (
    DEFAULT_DAYS,
    DEFAULT_SEED,
    DEFAULT_START,
    DEMO_IMPLAUSIBLE_RATE,
    DEMO_MESSY_RATE,
    SHEET_FAULTS,
    generate,
)


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return value


def register(subparsers: Any) -> None:
    """Add the `demo-data` subcommand to the `schoolnet` command."""
    parser = subparsers.add_parser(
        "demo-data",
        help="write the national demo data set (ESA sheets day by day, registries, truth)",
        description="Write the national demo data set into DIR, replacing any earlier one there.",
    )
    parser.add_argument("--out", type=Path, required=True, metavar="DIR", help="output folder")
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED, help="random seed (%(default)s)")
    parser.add_argument(
        "--days",
        type=_positive,
        default=DEFAULT_DAYS,
        help="number of consecutive days (%(default)s)",
    )
    parser.add_argument(
        "--start", type=iso_date, default=DEFAULT_START, help="first day, YYYY-MM-DD (%(default)s)"
    )
    parser.add_argument(
        "--messy",
        type=messy_rate,
        default=DEMO_MESSY_RATE,
        metavar="RATE",
        help="share of rows with a clerk mistake, 0..1 (%(default)s; 0: every cell valid)",
    )
    parser.add_argument(
        "--sheet-faults",
        action=argparse.BooleanOptionalAction,
        default=None,
        help=(
            "on the last day, one sheet each with a retyped header, emptied, and no longer "
            "shared (default: with --messy above 0, when there are at least 2 days and "
            f"{len(SHEET_FAULTS) + 1} ESAs)"
        ),
    )
    parser.add_argument(
        "--implausible",
        type=messy_rate,
        default=None,
        metavar="RATE",
        help=(
            "share of the ESAs editing on a day after the first whose clerk slips on one "
            f"school's number (students x10, a dropped digit, a fee x10, a DSL line at 512), 0..1 "
            f"(default: {DEMO_IMPLAUSIBLE_RATE:g} with --messy above 0, else 0)"
        ),
    )
    parser.add_argument(
        "--esas",
        type=_positive,
        default=None,
        metavar="N",
        help="keep only the first N ESAs (small data sets for tests)",
    )
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    faults = args.sheet_faults
    if faults is None:
        big_enough = args.days >= 2 and (args.esas is None or args.esas > len(SHEET_FAULTS))
        faults = args.messy > 0 and big_enough
    slips = args.implausible
    if slips is None:
        slips = DEMO_IMPLAUSIBLE_RATE if args.messy > 0 else 0.0
    try:
        manifest = generate(
            args.out,
            seed=args.seed,
            days=args.days,
            start=args.start,
            messy_rate=args.messy,
            esa_limit=args.esas,
            sheet_faults=faults,
            implausible_rate=slips,
        )
    except (OSError, ValueError) as error:
        print(f"demo-data: {error}", file=sys.stderr)
        return 1
    print(
        f"demo data: {manifest.esa_count} ESAs, {manifest.school_count:,} schools, "
        f"{len(manifest.days)} days from {manifest.start.isoformat()} "
        f"(seed {manifest.seed}, messy {manifest.messy_rate:g}) in {args.out}"
    )
    for fault in manifest.sheet_faults:
        print(f"  sheet fault on {fault.day.isoformat()}: {fault.kind} (ESA {fault.esa_code})")
    return 0
