"""The quota pacer shared by every worker, on SQLite and on PostgreSQL.

Spacing is asserted on the times the pacer granted (its recorded schedule), never on how long
something took, so a loaded machine can make the tests slower but not make them fail.
"""

from __future__ import annotations

import itertools
import json
import multiprocessing
import queue
import sqlite3
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, event, func, insert, select, text
from sqlalchemy.exc import OperationalError

from schoolnet.core.config import GoogleSettings
from schoolnet.devtools.emulator import Emulator
from schoolnet.ingestion.google import EmulatorSession
from schoolnet.ingestion.ingest import SheetsReader
from schoolnet.ingestion.quota import SHEETS_READ, QuotaPacer, RequestPacer
from schoolnet.warehouse.models import QuotaClockRow
from tests.locks import wait_until_blocked_by
from tests.unit.ingestion.quota_workers import hammer

EPSILON = 1e-6  # float rounding of stored epoch seconds, far below any interval used here


class FakeClock:
    """A clock that only moves when the pacer sleeps; records every sleep."""

    def __init__(self, start: float = 1000.0) -> None:
        self.now = start
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


def gaps(grants: list[float]) -> list[float]:
    ordered = sorted(grants)
    return [later - earlier for earlier, later in itertools.pairwise(ordered)]


def row_count(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(QuotaClockRow)).scalar_one())


def row_is_locked(engine: Engine, name: str) -> bool:
    """Whether another transaction holds the quota's row (SQLite: the database's write lock)."""
    if engine.dialect.name == "sqlite":
        probe = sqlite3.connect(str(engine.url.database), timeout=0, isolation_level=None)
        try:
            probe.execute("BEGIN IMMEDIATE")
            probe.execute("ROLLBACK")
            return False
        except sqlite3.OperationalError as error:
            assert "locked" in str(error)
            return True
        finally:
            probe.close()
    with engine.connect() as conn:
        try:
            conn.execute(
                text("SELECT 1 FROM quota_clock WHERE name = :name FOR UPDATE NOWAIT"),
                {"name": name},
            )
            return False
        except OperationalError:
            return True
        finally:
            conn.rollback()


# ------------------------------------------------------------------------- one process


def test_grants_are_exactly_one_interval_apart_and_idle_time_is_not_banked(
    warehouse_engine: Engine,
) -> None:
    clock = FakeClock()
    pacer = QuotaPacer(warehouse_engine, SHEETS_READ, 30, clock=clock, sleep=clock.sleep)
    assert pacer.next_free_at() is None  # works before the row exists

    grants = [pacer.acquire() for _ in range(6)]

    assert grants == pytest.approx([1000.0 + 2.0 * k for k in range(6)])
    assert clock.sleeps == pytest.approx([2.0] * 5)  # each waited for its own slot, no more
    assert pacer.next_free_at() == pytest.approx(1012.0)
    # After a quiet spell the next call goes at once, but the quiet time does not buy a burst.
    clock.now = 1100.0
    assert pacer.acquire() == pytest.approx(1100.0)
    assert pacer.acquire() == pytest.approx(1102.0)
    assert row_count(warehouse_engine) == 1


def test_quotas_are_independent_and_workers_share_one_schedule(warehouse_engine: Engine) -> None:
    clock = FakeClock()
    reader_a = QuotaPacer(warehouse_engine, "sheets_read", 60, clock=clock, sleep=clock.sleep)
    reader_b = QuotaPacer(warehouse_engine, "sheets_read", 60, clock=clock, sleep=clock.sleep)
    writer = QuotaPacer(warehouse_engine, "sheets_write", 60, clock=clock, sleep=clock.sleep)

    assert reader_a.acquire() == pytest.approx(1000.0)
    assert writer.acquire() == pytest.approx(1000.0)  # its own quota: not behind the read
    assert reader_b.acquire() == pytest.approx(1001.0)  # behind a's read: one schedule
    assert reader_a.acquire() == pytest.approx(1002.0)
    assert writer.acquire() == pytest.approx(1002.0)  # the clock is at 1002 by now


def test_no_lock_is_held_while_sleeping(warehouse_engine: Engine) -> None:
    """The schedule is read and moved under the row's lock; the wait happens after the commit."""
    locked_at_clock_reads: list[bool] = []
    locked_at_sleeps: list[bool] = []
    clock = FakeClock()

    def probing_clock() -> float:
        locked_at_clock_reads.append(row_is_locked(warehouse_engine, SHEETS_READ))
        return clock()

    def probing_sleep(seconds: float) -> None:
        locked_at_sleeps.append(row_is_locked(warehouse_engine, SHEETS_READ))
        clock.sleep(seconds)

    # Another worker made the row (a row still being inserted is invisible to a probe).
    QuotaPacer(warehouse_engine, SHEETS_READ, 60, clock=clock, sleep=clock.sleep).acquire()
    pacer = QuotaPacer(warehouse_engine, SHEETS_READ, 60, clock=probing_clock, sleep=probing_sleep)
    assert [pacer.acquire() for _ in range(3)] == pytest.approx([1001.0, 1002.0, 1003.0])

    # every acquisition read the clock once with the row locked (to grant), once after commit
    assert locked_at_clock_reads.count(True) == 3
    assert locked_at_sleeps == [False, False, False]
    assert not row_is_locked(warehouse_engine, SHEETS_READ)


def test_bad_arguments_are_refused(warehouse_engine: Engine) -> None:
    with pytest.raises(ValueError, match="per_minute"):
        QuotaPacer(warehouse_engine, SHEETS_READ, 0)
    with pytest.raises(ValueError, match="name"):
        QuotaPacer(warehouse_engine, "", 60)


# -------------------------------------------------------------------------- penalties


def test_penalize_pushes_every_workers_later_grants(warehouse_engine: Engine) -> None:
    clock = FakeClock()
    refused = QuotaPacer(warehouse_engine, SHEETS_READ, 30, clock=clock, sleep=clock.sleep)
    other = QuotaPacer(warehouse_engine, SHEETS_READ, 30, clock=clock, sleep=clock.sleep)
    assert refused.acquire() == pytest.approx(1000.0)

    refused.penalize(30.0)  # Google answered 429

    assert other.next_free_at() == pytest.approx(1030.0)
    assert other.acquire() == pytest.approx(1030.0)
    assert other.acquire() == pytest.approx(1032.0)
    # A penalty shorter than the queue already waiting changes nothing: several workers refused
    # at once pause everyone once, not once each.
    refused.penalize(1.0)
    assert other.next_free_at() == pytest.approx(1034.0)
    assert refused.acquire() == pytest.approx(1034.0)


def test_penalize_works_before_the_quota_was_ever_used(warehouse_engine: Engine) -> None:
    clock = FakeClock()
    pacer = QuotaPacer(warehouse_engine, "sheets_write", 60, clock=clock, sleep=clock.sleep)
    pacer.penalize(5.0)
    assert pacer.acquire() == pytest.approx(1005.0)
    assert clock.sleeps == pytest.approx([5.0])


# ------------------------------------------------------------------ creating the row


def test_first_use_by_many_threads_at_once_creates_one_row(warehouse_engine: Engine) -> None:
    """Eight workers start on an empty table at the same moment: none fails, no slot is shared."""
    clock = FakeClock()  # never moves: every grant comes from the queue alone
    threads_count, each = 8, 3
    barrier = threading.Barrier(threads_count)
    grants: list[float] = []
    errors: list[BaseException] = []
    lock = threading.Lock()

    def worker() -> None:
        pacer = QuotaPacer(warehouse_engine, SHEETS_READ, 600, clock=clock, sleep=lambda _: None)
        try:
            barrier.wait(timeout=30)
            mine = [pacer.acquire() for _ in range(each)]
        except BaseException as error:  # noqa: BLE001 - reported to the test below
            with lock:
                errors.append(error)
            return
        with lock:
            grants.extend(mine)

    threads = [threading.Thread(target=worker) for _ in range(threads_count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not any(thread.is_alive() for thread in threads)

    assert errors == []
    assert sorted(grants) == pytest.approx([1000.0 + 0.1 * k for k in range(threads_count * each)])
    assert row_count(warehouse_engine) == 1


def test_a_worker_that_loses_the_race_to_create_the_row_uses_the_winners_row(
    warehouse_engine: Engine,
) -> None:
    """Another worker has inserted the row but not committed yet when ours tries to."""
    sqlite_engine = warehouse_engine.dialect.name == "sqlite"
    clock = FakeClock()
    pacer = QuotaPacer(warehouse_engine, SHEETS_READ, 60, clock=clock, sleep=clock.sleep)
    outcome: list[float | BaseException] = []

    def acquire() -> None:
        try:
            outcome.append(pacer.acquire())
        except BaseException as error:  # noqa: BLE001 - reported to the test below
            outcome.append(error)

    with warehouse_engine.connect() as winner:
        if sqlite_engine:
            winner.exec_driver_sql("BEGIN IMMEDIATE")
        winner.execute(
            insert(QuotaClockRow).values(
                name=SHEETS_READ, next_free_at=2000.0, interval_seconds=1.0
            )
        )
        thread = threading.Thread(target=acquire)
        if sqlite_engine:
            # SQLite: the pacer takes the write lock before it reads, so it must be waiting
            # in its BEGIN IMMEDIATE (busy_timeout) for the winner's commit.
            began = threading.Event()

            def note_begin(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
                if threading.current_thread() is thread and statement == "BEGIN IMMEDIATE":
                    began.set()

            event.listen(warehouse_engine, "before_cursor_execute", note_begin)
            thread.start()
            assert began.wait(timeout=30), "the pacer never tried to take the write lock"
            event.remove(warehouse_engine, "before_cursor_execute", note_begin)
        else:
            # PostgreSQL: wait until it is blocked on the winner's uncommitted insert.
            thread.start()
            winner_pid = winner.execute(text("SELECT pg_backend_pid()")).scalar_one()
            blocked = wait_until_blocked_by(warehouse_engine, winner_pid)
            assert blocked, "the pacer never waited for the other worker's insert"
        assert thread.is_alive()
        winner.commit()
    thread.join(timeout=30)

    assert outcome == [pytest.approx(2000.0)]  # the winner's schedule, not a fresh row's
    assert row_count(warehouse_engine) == 1


# ------------------------------------------------------------- several OS processes


def test_processes_with_their_own_engines_never_exceed_the_rate(warehouse_engine: Engine) -> None:
    """Four spawned processes, 10 grants each, at 2400 a minute: at most 40 in any second."""
    per_minute, processes, each = 2400.0, 4, 10
    interval = 60.0 / per_minute
    url = warehouse_engine.url.render_as_string(hide_password=False)
    context = multiprocessing.get_context("spawn")
    barrier = context.Barrier(processes)
    results = context.Queue()
    workers = [
        context.Process(
            target=hammer, args=(i, url, SHEETS_READ, per_minute, each, barrier, results)
        )
        for i in range(processes)
    ]
    try:
        for worker in workers:
            worker.start()
        by_worker: dict[int, list[float]] = {}
        deadline = time.monotonic() + 120
        while len(by_worker) < processes:
            try:
                index, granted = results.get(timeout=0.5)
            except queue.Empty:
                failed = [worker.exitcode for worker in workers if worker.exitcode]
                assert not failed, f"a worker process failed: exit codes {failed}"
                assert time.monotonic() < deadline, "the worker processes did not finish"
                continue
            by_worker[index] = granted
        for worker in workers:
            worker.join(timeout=30)
            assert worker.exitcode == 0
    finally:
        for worker in workers:
            if worker.is_alive():
                worker.terminate()
                worker.join(timeout=10)
        results.close()

    owner = {grant: index for index, grants in by_worker.items() for grant in grants}
    grants = sorted(owner)
    assert len(grants) == processes * each  # no two grants share a time
    assert min(gaps(grants)) >= interval - EPSILON
    # Google's rule scaled down from a minute to a second: no window shorter than 1 s holds
    # more than per_minute / 60 = 40 grants
    for start, grant in enumerate(grants):
        window = [g for g in grants[start:] if g < grant + 1.0 - EPSILON]
        assert len(window) <= per_minute / 60
    # and the processes really did queue behind each other's grants
    handovers = [
        (a, b)
        for a, b in itertools.pairwise(grants)
        if owner[a] != owner[b] and b - a == pytest.approx(interval, abs=EPSILON)
    ]
    assert handovers


# --------------------------------------------------------- gspread against the emulator


SHEET_TAB = "โรงเรียน"


class RecordingPacer:
    """The reader's hook around a real pacer, keeping the times it granted."""

    def __init__(self, pacer: QuotaPacer, grants: list[float]) -> None:
        self.pacer = pacer
        self.grants = grants

    def before_request(self) -> None:
        self.grants.append(self.pacer.acquire())

    def penalize(self, seconds: float) -> None:
        self.pacer.penalize(seconds)


def write_sheets(state: Path, count: int) -> list[str]:
    folder = state / "spreadsheets"
    folder.mkdir(parents=True, exist_ok=True)
    ids = []
    for number in range(count):
        sheet_id = f"{number + 1}" + "q" * 43
        doc = {
            "spreadsheetId": sheet_id,
            "title": f"ข้อมูลอินเทอร์เน็ตโรงเรียน เขต {number + 1}",
            "parents": ["folder"],
            "createdTime": "2017-12-28T03:00:00.000Z",
            "modifiedTime": "2018-01-02T08:15:00.000Z",
            "sheets": [
                {
                    "sheetId": 0,
                    "title": SHEET_TAB,
                    "rows": [["รหัสโรงเรียน", "จำนวนนักเรียน"], [f"10520{number:05d}", 80]],
                }
            ],
        }
        (folder / f"{sheet_id}.json").write_text(json.dumps(doc, ensure_ascii=False), "utf-8")
        ids.append(sheet_id)
    return ids


def test_gspread_readers_through_the_pacer_are_never_throttled(
    warehouse_engine: Engine, tmp_path: Path
) -> None:
    """Four threads, each its own gspread client and pacer, read 16 sheets at half the rate the
    emulator allows. Its window is scaled down from Google's minute to 2 s (10 reads): unpaced,
    the 16 reads come in a burst and are refused; paced 0.4 s apart, 11 of them could only
    meet in one window if some arrived 2 s after their grant."""
    window_seconds, window_limit, threads_count, each = 2.0, 10, 4, 4
    assert threads_count * each > window_limit  # the limit can be reached
    per_minute = window_limit * (60 / window_seconds) / 2
    sheet_ids = write_sheets(tmp_path / "state", threads_count)
    settings = GoogleSettings(
        request_timeout_seconds=10,
        max_attempts=1,  # a 429 would surface as a failed read, not hide behind a retry
        backoff_base_seconds=0.01,
        backoff_max_seconds=0.02,
    )
    grants: list[float] = []
    rows: list[list[list[Any]]] = []
    errors: list[BaseException] = []
    lock = threading.Lock()

    with Emulator(
        tmp_path / "state", read_quota_per_minute=window_limit, quota_window_seconds=window_seconds
    ) as emulator:

        def worker(sheet_id: str) -> None:
            mine: list[float] = []
            hook: RequestPacer = RecordingPacer(
                QuotaPacer(warehouse_engine, SHEETS_READ, per_minute), mine
            )
            reader = SheetsReader(EmulatorSession(emulator.base_url), settings, read_pacer=hook)
            try:
                reads = [reader.read_data_tab(sheet_id, SHEET_TAB).values for _ in range(each)]
            except BaseException as error:  # noqa: BLE001 - reported to the test below
                with lock:
                    errors.append(error)
                return
            with lock:
                grants.extend(mine)
                rows.extend(reads)

        threads = [threading.Thread(target=worker, args=(sid,)) for sid in sheet_ids]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
        assert not any(thread.is_alive() for thread in threads)
        stats = emulator.stats()

    assert errors == []
    assert len(rows) == threads_count * each
    assert stats["throttled"] == 0
    assert stats["reads"] == threads_count * each
    assert len(grants) == threads_count * each
    assert min(gaps(grants)) >= 60 / per_minute - EPSILON
