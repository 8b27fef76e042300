"""The warehouse's Alembic migrations, on SQLite and on PostgreSQL."""

from __future__ import annotations

import multiprocessing
import queue
import shutil
import threading
import time
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Engine, event, insert, inspect, select, text

from schoolnet.warehouse import create_warehouse_engine, ensure_schema
from schoolnet.warehouse.errors import SchemaMismatch
from schoolnet.warehouse.migrate import (
    BASELINE,
    MIGRATIONS,
    alembic_config,
    head_revision,
    new_revision,
    upgrade_warehouse,
    warehouse_revision,
)
from schoolnet.warehouse.models import Base, EsaHistoryRow, SchoolHistoryRow


@pytest.fixture
def empty_engine(empty_url: str) -> Iterator[Engine]:
    engine = create_warehouse_engine(empty_url)
    yield engine
    engine.dispose()


def migrate_to(engine: Engine, revision: str) -> None:
    with engine.begin() as conn:
        command.upgrade(alembic_config(conn), revision)


def make_pre_migration_warehouse(engine: Engine) -> None:
    """The warehouse as schoolnet made it before migrations: the first revision's tables (what
    ``Base.metadata.create_all`` made then) and no ``alembic_version``."""
    migrate_to(engine, BASELINE)
    with engine.begin() as conn:
        conn.execute(text("DROP TABLE alembic_version"))


def schema_differences(engine: Engine) -> list[Any]:
    with engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        return list(compare_metadata(context, Base.metadata))


def table_names(engine: Engine) -> set[str]:
    return set(inspect(engine).get_table_names())


def test_upgrade_makes_exactly_the_models_tables(warehouse_engine: Engine) -> None:
    # Types included: both dialects reflect every type the models use (JSON, timezone-aware
    # DateTime, Float, sized String) as what the models declare, so nothing is ignored.
    assert schema_differences(warehouse_engine) == []
    assert table_names(warehouse_engine) == set(Base.metadata.tables) | {"alembic_version"}
    assert warehouse_revision(warehouse_engine) == head_revision()


def test_upgrade_again_sends_no_ddl_and_changes_nothing(warehouse_engine: Engine) -> None:
    statements: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        statements.append(statement)

    event.listen(warehouse_engine, "before_cursor_execute", record)
    try:
        upgrade_warehouse(warehouse_engine)
        ensure_schema(warehouse_engine)
    finally:
        event.remove(warehouse_engine, "before_cursor_execute", record)
    assert statements, "the revision is read"
    assert all(s.lstrip().upper().startswith(("SELECT", "PRAGMA")) for s in statements)
    assert warehouse_revision(warehouse_engine) == head_revision()
    assert schema_differences(warehouse_engine) == []


def test_the_revisions_go_down_and_up_again(empty_engine: Engine) -> None:
    migrate_to(empty_engine, "head")
    with empty_engine.begin() as conn:
        command.downgrade(alembic_config(conn), "base")
    assert table_names(empty_engine) == {"alembic_version"}
    upgrade_warehouse(empty_engine)
    assert schema_differences(empty_engine) == []


def test_a_warehouse_from_before_migrations_is_stamped_and_upgraded(empty_engine: Engine) -> None:
    make_pre_migration_warehouse(empty_engine)
    esa = {
        "esa_code": "105201",
        "esa_name": "สพป.ลำปาง เขต 1",
        "level": "primary",
        "province": "ลำปาง",
        "spreadsheet_id": "sheet-a",
        "contact_email": "a@example.org",
    }
    school = {
        "school_code": "1052010001",
        "school_name": "บ้านแม่ทะ",
        "esa_code": "105201",
        "province": "ลำปาง",
        "students": 80,
    }
    counts = {"api_calls": 1, "rows_read": 1, "rows_accepted": 1, "rows_rejected": 0}
    with empty_engine.begin() as conn:
        conn.execute(insert(Base.metadata.tables["esa"]), [esa])
        conn.execute(insert(Base.metadata.tables["school"]), [school])
        pulls = Base.metadata.tables["pull"]
        conn.execute(
            insert(pulls),
            [
                {"report_date": day, "esa_code": "105201", "outcome": "accepted", **counts}
                for day in (date(2018, 1, 3), date(2018, 1, 4))
            ],
        )

    ensure_schema(empty_engine)

    assert warehouse_revision(empty_engine) == head_revision()
    assert schema_differences(empty_engine) == []
    with empty_engine.connect() as conn:
        assert conn.execute(text("SELECT COUNT(*) FROM pull")).scalar() == 2
        esa_history = [dict(r._mapping) for r in conn.execute(select(EsaHistoryRow.__table__))]
        school_history = [
            dict(r._mapping) for r in conn.execute(select(SchoolHistoryRow.__table__))
        ]
    # The registry of the latest run is where the history starts, from the latest report date.
    assert esa_history == [{**esa, "valid_from": date(2018, 1, 4), "valid_to": None}]
    assert school_history == [{**school, "valid_from": date(2018, 1, 4), "valid_to": None}]


def test_a_warehouse_from_before_migrations_lacking_a_table_is_refused(
    empty_engine: Engine,
) -> None:
    make_pre_migration_warehouse(empty_engine)
    with empty_engine.begin() as conn:
        conn.execute(text("DROP TABLE quota_clock"))
    with pytest.raises(SchemaMismatch, match=r"no table quota_clock.*make clean"):
        ensure_schema(empty_engine)
    assert "alembic_version" not in table_names(empty_engine)


def test_a_warehouse_of_a_newer_schoolnet_is_refused(empty_engine: Engine) -> None:
    ensure_schema(empty_engine)
    with empty_engine.begin() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = '9999'"))
    with pytest.raises(SchemaMismatch, match=r"revision 9999.*newer schoolnet"):
        ensure_schema(empty_engine)


def upgrade_in_worker(url: str, barrier: Any, results: Any) -> None:
    """Wait for the other workers, then ensure the schema; report "ok" or the error."""
    engine = create_warehouse_engine(url)
    try:
        barrier.wait(timeout=60)
        ensure_schema(engine)
        results.put("ok")
    except Exception as error:  # noqa: BLE001 - reported to the test through the queue
        results.put(f"{type(error).__name__}: {error}")
    finally:
        engine.dispose()


def assert_at_head_once(url: str) -> None:
    engine = create_warehouse_engine(url)
    try:
        assert warehouse_revision(engine) == head_revision()
        assert schema_differences(engine) == []
        with engine.connect() as conn:
            assert conn.execute(text("SELECT COUNT(*) FROM alembic_version")).scalar() == 1
    finally:
        engine.dispose()


def prepare(url: str, start: str) -> None:
    if start == "before migrations":
        engine = create_warehouse_engine(url)
        make_pre_migration_warehouse(engine)
        engine.dispose()


@pytest.mark.parametrize("start", ["empty", "before migrations"])
def test_concurrent_upgrades_from_processes_all_succeed(empty_url: str, start: str) -> None:
    """Every mapped pull task calls ensure_schema at the start of a run, at the same moment.
    Without the database lock this fails (tables or the version row made twice)."""
    prepare(empty_url, start)
    workers = 3
    # Forked, the workers start at once with Alembic already imported (spawned ones would take
    # seconds to import it); each opens connections of its own.
    context = multiprocessing.get_context("fork")
    barrier = context.Barrier(workers)
    results = context.Queue()
    processes = [
        context.Process(target=upgrade_in_worker, args=(empty_url, barrier, results))
        for _ in range(workers)
    ]
    outcomes: list[str] = []
    try:
        for process in processes:
            process.start()
        deadline = time.monotonic() + 60
        while len(outcomes) < workers:
            try:
                outcomes.append(results.get(timeout=0.5))
            except queue.Empty:
                failed = [p.exitcode for p in processes if p.exitcode]
                assert not failed, f"a worker process failed: exit codes {failed}"
                assert time.monotonic() < deadline, f"the workers did not finish: {outcomes}"
        for process in processes:
            process.join(timeout=30)
    finally:
        for process in processes:
            if process.is_alive():
                process.terminate()
                process.join(timeout=10)
        results.close()
    assert outcomes == ["ok"] * workers
    assert_at_head_once(empty_url)


@pytest.mark.parametrize("start", ["empty", "before migrations"])
def test_concurrent_upgrades_from_threads_all_succeed(empty_url: str, start: str) -> None:
    """Alembic's module globals make threads of one process take turns, on any database."""
    prepare(empty_url, start)
    workers = 4
    barrier = threading.Barrier(workers)
    errors: list[BaseException] = []

    def work() -> None:
        engine = create_warehouse_engine(empty_url)
        try:
            barrier.wait(timeout=30)
            ensure_schema(engine)
        except BaseException as error:  # noqa: BLE001 - reported in the test's thread
            errors.append(error)
        finally:
            engine.dispose()

    threads = [threading.Thread(target=work, daemon=True) for _ in range(workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not any(thread.is_alive() for thread in threads), "a worker thread hangs"
    assert errors == []
    assert_at_head_once(empty_url)


def test_a_new_revision_of_unchanged_models_has_nothing_to_do(tmp_path: Path) -> None:
    scripts = tmp_path / "migrations"
    shutil.copytree(MIGRATIONS, scripts, ignore=shutil.ignore_patterns("__pycache__"))
    head = len(list((scripts / "versions").glob("v*.py")))  # revisions are numbered in order
    path = new_revision("nothing new", scripts)
    assert path.name == f"v{head + 1:04d}_nothing_new.py"
    source = path.read_text(encoding="utf-8")
    assert f"down_revision = '{head:04d}'" in source
    assert "op." not in source.split("def upgrade")[1]
    compile(source, str(path), "exec")
