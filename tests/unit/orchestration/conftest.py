"""Fixtures of the orchestration tests."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine

from tests.unit.orchestration.live_world import Live, live_world


@pytest.fixture
def live(tmp_path: Path, warehouse_engine: Engine) -> Iterator[Live]:
    """Three ESAs' sheets in the emulator, each checked once by a first feedback run."""
    yield from live_world(tmp_path, warehouse_engine)
