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
