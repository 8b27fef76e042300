"""A local stand-in for the Google Sheets v4 and Drive v3 APIs.

The real gspread client talks to it through
``schoolnet.ingestion.google.EmulatorSession``, so the pipeline,
its demo and its tests run unchanged, offline, with Google's quota and failure modes on demand.
"""

from __future__ import annotations

from schoolnet.devtools.emulator.server import Emulator, serve_forever
from schoolnet.devtools.emulator.state import (
    ApiError,
    EmulatorError,
    edit_cell,
    load_day,
    read_control,
    set_clock,
    set_fault,
    set_flaky,
    set_quota,
)

__all__ = [
    "ApiError",
    "Emulator",
    "EmulatorError",
    "edit_cell",
    "load_day",
    "read_control",
    "serve_forever",
    "set_clock",
    "set_fault",
    "set_flaky",
    "set_quota",
]
