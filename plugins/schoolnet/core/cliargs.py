"""Argument types shared by the ``schoolnet`` subcommands."""

from __future__ import annotations

import argparse
from datetime import date


def iso_date(text: str) -> date:
    """A ``YYYY-MM-DD`` argument, refused with a plain message otherwise."""
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a date (YYYY-MM-DD): {text!r}") from None


def messy_rate(text: str) -> float:
    """A share of rows between 0 and 1 (``--messy``)."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not 0.0 <= value <= 1.0:
        raise argparse.ArgumentTypeError("must be between 0 and 1")
    return value


def database_url(text: str) -> str:
    """A SQLAlchemy URL (``--warehouse``), refused with a plain message when it is not one."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    try:
        make_url(text)
    except ArgumentError:
        raise argparse.ArgumentTypeError(
            f"not a database URL (e.g. sqlite:///out/warehouse.db, postgresql://user@host/db): "
            f"{text!r}"
        ) from None
    return text
