"""The body of a worker process for the quota tests, kept light so spawned processes start fast.

Spawned processes import the module of their target; this one imports only the pacer and the
engine factory, not pytest, gspread or the emulator.
"""

from __future__ import annotations

from typing import Any

from schoolnet.ingestion.quota import QuotaPacer
from schoolnet.warehouse import create_warehouse_engine


def hammer(
    index: int, url: str, name: str, per_minute: float, count: int, barrier: Any, results: Any
) -> None:
    """Acquire ``count`` slots through an engine of this process's own; report the grants."""
    engine = create_warehouse_engine(url)
    try:
        pacer = QuotaPacer(engine, name, per_minute)
        barrier.wait(timeout=60)
        grants = [pacer.acquire() for _ in range(count)]
    finally:
        engine.dispose()
    results.put((index, grants))
