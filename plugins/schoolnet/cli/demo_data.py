"""`schoolnet demo-data`: write the national demo data set into a folder."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from schoolnet.core.cliargs import iso_date
from schoolnet.devtools.demo.generate import DEFAULT_DAYS, DEFAULT_SEED, DEFAULT_START, generate


def _rate(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not 0.0 <= value <= 1.0:
        raise argparse.ArgumentTypeError("must be between 0 and 1")
    return value


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
        type=_rate,
        default=0.0,
        metavar="RATE",
        help="share of rows with a clerk mistake, 0..1 (%(default)s)",
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
    try:
        manifest = generate(
            args.out,
            seed=args.seed,
            days=args.days,
            start=args.start,
            messy_rate=args.messy,
            esa_limit=args.esas,
        )
    except (OSError, ValueError) as error:
        print(f"demo-data: {error}", file=sys.stderr)
        return 1
    print(
        f"demo data: {manifest.esa_count} ESAs, {manifest.school_count:,} schools, "
        f"{len(manifest.days)} days from {manifest.start.isoformat()} "
        f"(seed {manifest.seed}, messy {manifest.messy_rate:g}) in {args.out}"
    )
    return 0
