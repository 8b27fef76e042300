"""Warehouse faults on the real databases: a merge whose connection is killed, two merges of
one date at once, and a skipped day caught up later."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import pytest
from sqlalchemy import Engine, event, func, select, text
from sqlalchemy.exc import OperationalError

from schoolnet.devtools.emulator import load_day
from schoolnet.orchestration.merge import merge
from schoolnet.report.daily import build_report
from schoolnet.warehouse import create_warehouse_engine, ensure_schema
from schoolnet.warehouse.models import DailyCountRow, EsaHistoryRow, SchoolHistoryRow, SnapshotRow
from tests.checksum import warehouse_checksum
from tests.conftest import postgres_url
from tests.locks import wait_until_blocked_by
from tests.reliability.conftest import MERGED_TABLES, Day, snapshot

POSTGRES_ONLY = pytest.mark.parametrize(
    "empty_url", [pytest.param("postgres", marks=pytest.mark.postgres)], indirect=True
)


def url_of(engine: Engine) -> str:
    return engine.url.render_as_string(hide_password=False)


def daily_count(engine: Engine, day: date) -> Any:
    with engine.connect() as conn:
        return conn.execute(
            select(DailyCountRow.__table__).where(DailyCountRow.report_date == day)
        ).first()


@dataclass
class Killer:
    """Fault injection on the real engine: when a statement starting with ``marker`` is about
    to run, a second connection terminates the backend that runs it (pg_terminate_backend)."""

    engine: Engine
    marker: str
    killed: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._other = create_warehouse_engine(url_of(self.engine))
        event.listen(self.engine, "before_cursor_execute", self._before)

    def _before(self, conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        if self.killed or not statement.lstrip().upper().startswith(self.marker):
            return
        pid = conn.connection.dbapi_connection.info.backend_pid
        with self._other.connect() as other:
            ended = other.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
            assert ended.scalar() is True
        self.killed.append(statement.split("(")[0].strip())

    def remove(self) -> None:
        event.remove(self.engine, "before_cursor_execute", self._before)
        self._other.dispose()


@pytest.fixture
def reference_pg() -> Iterator[Engine]:
    """A second, empty PostgreSQL warehouse in a schema of its own, for a clean run."""
    url = postgres_url()
    assert url is not None
    admin = create_warehouse_engine(url)
    with admin.begin() as conn:
        conn.execute(text('DROP SCHEMA IF EXISTS "reliability_reference" CASCADE'))
        conn.execute(text('CREATE SCHEMA "reliability_reference"'))
    separator = "&" if "?" in url else "?"
    engine = create_warehouse_engine(
        f"{url}{separator}options=-csearch_path%3Dreliability_reference"
    )
    ensure_schema(engine)
    try:
        yield engine
    finally:
        engine.dispose()
        with admin.begin() as conn:
            conn.execute(text('DROP SCHEMA "reliability_reference" CASCADE'))
        admin.dispose()


@POSTGRES_ONLY
@pytest.mark.parametrize(
    "marker", ["INSERT INTO PULL", "INSERT INTO SNAPSHOT", "INSERT INTO DAILY_COUNT"]
)
def test_a_merge_whose_connection_is_killed_leaves_no_partial_day_and_a_rerun_completes(
    day_any: Day, reference_pg: Engine, marker: str
) -> None:
    day = day_any
    first, second = day.days[:2]
    day.run(first)
    load_day(day.state, day.demo, second)
    day.pull(second)
    before = warehouse_checksum(day.engine)

    killer = Killer(day.engine, marker)
    try:
        with pytest.raises(OperationalError, match=r"terminat|server closed the connection"):
            merge(second, day.settings, day.engine)
    finally:
        killer.remove()
    assert [statement.upper() for statement in killer.killed] == [marker]
    # The transaction died with its backend: nothing of the day, nothing else touched.
    assert snapshot(day.engine, second) == {}
    assert daily_count(day.engine, second) is None
    assert warehouse_checksum(day.engine) == before

    merge(second, day.settings, day.engine)  # the rerun
    merge(first, day.settings, reference_pg)  # a clean run of both dates, from the same files
    merge(second, day.settings, reference_pg)
    assert warehouse_checksum(day.engine, MERGED_TABLES) == warehouse_checksum(
        reference_pg, MERGED_TABLES
    )


def test_two_merges_of_one_date_at_once_serialize_and_equal_one_merge(day_any: Day) -> None:
    """The first merge pauses inside its transaction until the second has asked for the merge
    lock; the second waits for the first's commit, then replaces the day. Both succeed."""
    day = day_any
    first, second = day.days[:2]
    day.run(first)
    load_day(day.state, day.demo, second)
    day.pull(second)

    engines = [create_warehouse_engine(url_of(day.engine)) for _ in range(2)]
    second_locking = threading.Event()
    events: list[str] = []
    sqlite = day.engine.dialect.name == "sqlite"
    lock_statement = "BEGIN IMMEDIATE" if sqlite else "SELECT PG_"

    def first_pauses(_conn: Any, cursor: Any, statement: str, *_: Any) -> None:
        if statement.upper().startswith("INSERT INTO SNAPSHOT") and "paused" not in events:
            events.append("paused")
            assert second_locking.wait(30), "the second merge never asked for the lock"
            # Hold on until the second merge is blocked by this one, so that a lock that does
            # not hold lets it commit first. SQLite: its BEGIN IMMEDIATE cannot return while
            # this transaction holds the write lock. PostgreSQL: the server's lock graph says.
            if not sqlite:
                holder = cursor.connection.info.backend_pid
                blocked = wait_until_blocked_by(day.engine, holder)
                assert blocked, "the second merge went on without waiting for the lock"

    def second_asks(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        if statement.upper().startswith(lock_statement):
            events.append("second asks")
            second_locking.set()

    def committed(name: str) -> Callable[[Any], None]:
        return lambda _conn: events.append(f"{name} commits")

    event.listen(engines[0], "before_cursor_execute", first_pauses)
    event.listen(engines[1], "before_cursor_execute", second_asks)
    event.listen(engines[0], "commit", committed("first"))
    event.listen(engines[1], "commit", committed("second"))
    errors: list[BaseException] = []

    def run(engine: Engine, wait_for: threading.Event | None) -> None:
        try:
            if wait_for is not None:
                wait_for.wait(30)
            merge(second, day.settings, engine)
        except BaseException as error:  # noqa: BLE001 - reported below, in the test's thread
            errors.append(error)

    first_inside = threading.Event()
    event.listen(
        engines[0],
        "before_cursor_execute",
        lambda *a: first_inside.set() if str(a[2]).upper().startswith("DELETE FROM PULL") else None,
    )
    threads = [
        threading.Thread(target=run, args=(engines[0], None)),
        threading.Thread(target=run, args=(engines[1], first_inside)),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    assert errors == []
    merges = [
        e for e in events if e in ("paused", "second asks", "first commits", "second commits")
    ]
    assert merges.index("second asks") < merges.index("first commits")
    assert merges.index("first commits") < merges.index("second commits")

    together = warehouse_checksum(day.engine, MERGED_TABLES)
    with day.engine.connect() as conn:
        rows = conn.execute(
            select(func.count()).select_from(SnapshotRow).where(SnapshotRow.report_date == second)
        ).scalar()
    assert rows == len(snapshot(day.engine, first))  # one row per school, not two
    merge(second, day.settings, day.engine)  # one more, alone
    assert warehouse_checksum(day.engine, MERGED_TABLES) == together
    for engine in engines:
        engine.dispose()


def test_a_skipped_day_caught_up_later_leaves_the_later_day_and_the_history_alone(
    day_any: Day,
) -> None:
    day = day_any
    first, skipped, later = day.days
    day.run(first)
    load_day(day.state, day.demo, later)
    day.run(later)

    def later_state() -> dict[str, Any]:
        with day.engine.connect() as conn:
            report = build_report(conn, later, day.settings.report.stale_after_days)
            history = [
                sorted(tuple(row) for row in conn.execute(select(model.__table__)))
                for model in (EsaHistoryRow, SchoolHistoryRow)
            ]
        return {
            "snapshot": snapshot(day.engine, later),
            "count": daily_count(day.engine, later),
            "national": report.national,
            "esas": report.esas,
            "costs": report.costs,
            "history": history,
        }

    before = later_state()
    load_day(day.state, day.demo, skipped)
    day.run(skipped)  # the backfill
    assert snapshot(day.engine, skipped) and daily_count(day.engine, skipped) is not None
    assert later_state() == before
