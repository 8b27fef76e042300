"""Test-wide setup: a throwaway Airflow home, and the PostgreSQL URL when one is available.

Airflow reads its configuration when first imported, so the environment is set here, before
any test module imports it.
"""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
_AIRFLOW_HOME = Path(tempfile.mkdtemp(prefix="schoolnet-test-airflow-"))
atexit.register(shutil.rmtree, _AIRFLOW_HOME, ignore_errors=True)
os.environ["AIRFLOW_HOME"] = str(_AIRFLOW_HOME)
os.environ["AIRFLOW__CORE__DAGS_FOLDER"] = str(ROOT / "dags")
os.environ["AIRFLOW__CORE__LOAD_EXAMPLES"] = "False"
os.environ["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"] = f"sqlite:///{_AIRFLOW_HOME / 'airflow.db'}"

# --- warehouse engines -------------------------------------------------------------------------
import uuid  # noqa: E402
from collections.abc import Iterator  # noqa: E402

import pytest  # noqa: E402
from sqlalchemy import Engine, text  # noqa: E402

DEFAULT_PG_URL = "postgresql://postgres@127.0.0.1:5432/test"


def postgres_url() -> str | None:
    """The PostgreSQL server to test against, or None to skip those tests.

    With SCHOOLNET_TEST_PG_URL set (as CI does) the server must be there; without it, the
    local default is tried and the tests skip when nothing answers.
    """
    configured = os.environ.get("SCHOOLNET_TEST_PG_URL")
    if configured:
        return configured
    import psycopg

    try:
        with psycopg.connect(DEFAULT_PG_URL, connect_timeout=2):
            return DEFAULT_PG_URL
    except psycopg.Error:
        return None


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def empty_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """The URL of an empty database: a temp SQLite file, or a PostgreSQL schema of its own.

    A URL rather than an engine, so that each concurrent worker can make its own.
    """
    from schoolnet.warehouse import create_warehouse_engine

    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'warehouse.db'}"
        return
    url = postgres_url()
    if url is None:
        pytest.skip("no PostgreSQL server (set SCHOOLNET_TEST_PG_URL)")
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = create_warehouse_engine(url)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    separator = "&" if "?" in url else "?"
    try:
        yield f"{url}{separator}options=-csearch_path%3D{schema}"
    finally:
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@pytest.fixture
def warehouse_engine(empty_url: str) -> Iterator[Engine]:
    """An empty, migrated warehouse on SQLite or PostgreSQL (see ``empty_url``)."""
    from schoolnet.warehouse import create_warehouse_engine, ensure_schema

    engine = create_warehouse_engine(empty_url)
    ensure_schema(engine)
    yield engine
    engine.dispose()


# --- tiers -------------------------------------------------------------------------------------
# A test's tier is the folder it is in, so no test can miss its mark: `pytest -m unit` runs all of
# tests/unit, and a new folder under tests/ must be added here (tests/unit/test_tiers.py fails
# until it is). Explicit marks stay as they are: a test that runs Airflow is marked e2e wherever
# it lives, and postgres says what a test needs, not its tier.
TESTS = Path(__file__).resolve().parent
TIER_MARKERS = {
    "unit": "unit",
    "dags": "dag",
    "e2e": "e2e",
    "reliability": "reliability",
    "deploy": "deploy",
}


def tier_of(path: Path) -> str | None:
    """The tier marker of a test file: the one of its top folder under tests/, else None."""
    try:
        parts = path.resolve().relative_to(TESTS).parts
    except ValueError:
        return None
    return TIER_MARKERS.get(parts[0]) if len(parts) > 1 else None


# --- time limits -------------------------------------------------------------------------------
# pyproject's `timeout` (pytest-timeout) bounds every test; the tests that run Airflow itself
# (marked e2e, by their folder or explicitly) take minutes on a loaded machine and get this
# instead, unless they set their own.
E2E_TIMEOUT_SECONDS = 1200  # 455 s measured for the slowest (setup + call) at a load of 18


# tryfirst: the tier marks must be on the items before `-m` selects among them.
@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        tier = tier_of(item.path)
        if tier is not None:
            item.add_marker(tier)
        # After the tier mark, so that a test marked e2e by its folder alone gets the limit.
        if item.get_closest_marker("e2e") and not item.get_closest_marker("timeout"):
            item.add_marker(pytest.mark.timeout(E2E_TIMEOUT_SECONDS))
