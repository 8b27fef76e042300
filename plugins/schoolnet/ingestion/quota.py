"""Pacing API calls to a per-minute quota across every worker that shares the warehouse.

Airflow pools cap how many tasks run at once, not how many requests they send a minute, and a
per-process limiter knows nothing of the other processes and machines of a CeleryExecutor
deployment. ``QuotaPacer`` keeps the schedule in the warehouse database instead, one row per
quota in ``quota_clock``, as a GCRA ("virtual scheduling"):

* ``acquire()`` runs one short transaction: it locks the row (``SELECT ... FOR UPDATE`` on
  PostgreSQL, ``BEGIN IMMEDIATE`` on SQLite), reads ``next_free_at`` and the clock, grants
  ``t = max(now, next_free_at)``, stores ``t + 60 / per_minute`` and commits. Only then does it
  sleep until ``t``, so no database lock is ever held while waiting.
* ``penalize(seconds)`` moves ``next_free_at`` to at least ``now + seconds`` after a 429, so
  every worker pauses, not only the one that was refused.

Granted times are at least ``60 / per_minute`` apart, so no window of 60 seconds holds more than
``per_minute`` of them. There is no burst allowance: a burst on top of a stream already paced at
the full rate would overrun Google's per-minute window, and a daily batch gains nothing from it.

The clock is the database's (``clock_timestamp()`` on PostgreSQL; on SQLite, which only processes
of one machine can share, the local clock is the database's clock), so clock skew between worker
machines does not matter. Tests inject ``clock`` and ``sleep``.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Protocol

from sqlalchemy import Connection, Engine, select, text, update
from sqlalchemy.dialects import postgresql, sqlite

from schoolnet.warehouse.models import QuotaClockRow

log = logging.getLogger(__name__)

SHEETS_READ = "sheets_read"
SHEETS_WRITE = "sheets_write"

_PG_NOW = text("SELECT CAST(EXTRACT(EPOCH FROM clock_timestamp()) AS DOUBLE PRECISION)")


class RequestPacer(Protocol):
    """What a client needs from a pacer: wait for a slot, and report a refusal (429)."""

    def before_request(self) -> None: ...

    def penalize(self, seconds: float) -> None: ...


class QuotaPacer:
    """Paces calls to at most ``per_minute`` per quota ``name``, across processes and machines.

    ``clock`` returns seconds since the epoch; ``None`` (the default) uses the database's clock.
    ``sleep`` waits a number of seconds (``time.sleep`` by default).
    """

    def __init__(
        self,
        engine: Engine,
        name: str,
        per_minute: float,
        *,
        clock: Callable[[], float] | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if not per_minute > 0:
            raise ValueError(f"per_minute must be positive, not {per_minute!r}")
        if not name or len(name) > 64:
            raise ValueError("a quota name is 1 to 64 characters")
        self._sqlite = engine.dialect.name == "sqlite"
        # On PostgreSQL the locked read must see the latest committed schedule: READ COMMITTED
        # (the default) does; a stricter level would fail with serialization errors instead.
        self.engine = (
            engine if self._sqlite else engine.execution_options(isolation_level="READ COMMITTED")
        )
        self.name = name
        self.per_minute = per_minute
        self.interval = 60.0 / per_minute
        self._clock = clock
        self._sleep = sleep

    # the public face ----------------------------------------------------------------------

    def acquire(self) -> float:
        """Wait for this process's turn; returns the granted time (seconds since the epoch)."""
        with self.engine.connect() as conn:
            next_free_at = self._lock_row(conn)
            now, read_at = self._now(conn)
            granted = max(now, next_free_at)
            conn.execute(
                update(QuotaClockRow)
                .where(QuotaClockRow.name == self.name)
                .values(next_free_at=granted + self.interval, interval_seconds=self.interval)
            )
            conn.commit()
        self._wait_until(granted, now, read_at)
        return granted

    def before_request(self) -> None:
        """The hook a client calls before each request it sends."""
        self.acquire()

    def penalize(self, seconds: float) -> None:
        """After a 429: no worker is granted a slot before ``now + seconds``.

        The schedule only moves forward: a penalty shorter than the queue already waiting is a
        no-op, so several workers refused at once pause everyone once, not once each.
        """
        with self.engine.connect() as conn:
            next_free_at = self._lock_row(conn)
            now, _ = self._now(conn)
            until = max(next_free_at, now + max(seconds, 0.0))
            conn.execute(
                update(QuotaClockRow)
                .where(QuotaClockRow.name == self.name)
                .values(next_free_at=until)
            )
            conn.commit()
        log.info("quota %s: no request for the next %.1fs (penalty)", self.name, until - now)

    def next_free_at(self) -> float | None:
        """The earliest time the next slot can be granted, or None if the quota was never used."""
        with self.engine.connect() as conn:
            value = conn.execute(
                select(QuotaClockRow.next_free_at).where(QuotaClockRow.name == self.name)
            ).scalar_one_or_none()
        return value

    # inside the transaction ---------------------------------------------------------------

    def _lock_row(self, conn: Connection) -> float:
        """Start the transaction with the quota's row locked (created if missing)."""
        if self._sqlite:
            # The pysqlite driver would start a deferred transaction at the first write, after
            # our read: two processes could read the same schedule. Take the write lock first.
            conn.exec_driver_sql("BEGIN IMMEDIATE")
        locked = (
            select(QuotaClockRow.next_free_at)
            .where(QuotaClockRow.name == self.name)
            .with_for_update()
        )
        value = conn.execute(locked).scalar_one_or_none()
        if value is None:
            dialect_insert = sqlite.insert if self._sqlite else postgresql.insert
            conn.execute(
                dialect_insert(QuotaClockRow)
                .values(name=self.name, next_free_at=0.0, interval_seconds=self.interval)
                .on_conflict_do_nothing(index_elements=["name"])
            )
            # Either our own insert or the one of a worker that won the race (we waited for its
            # commit); in both cases the row is there now and the select locks it.
            value = conn.execute(locked).scalar_one()
        return float(value)

    def _now(self, conn: Connection) -> tuple[float, float]:
        """The current time on the pacer's clock, and the local monotonic time it was read."""
        if self._clock is not None:
            now = self._clock()
        elif self._sqlite:
            now = time.time()
        else:
            now = float(conn.execute(_PG_NOW).scalar_one())
        return now, time.monotonic()

    # after the commit ---------------------------------------------------------------------

    def _wait_until(self, granted: float, now: float, read_at: float) -> None:
        if self._clock is not None:
            remaining = granted - self._clock()
        else:  # the database's clock cannot be read again for free: count locally from it
            remaining = granted - now - (time.monotonic() - read_at)
        if remaining > 0:
            if remaining >= 5:
                log.info("quota %s: waiting %.1fs for a slot", self.name, remaining)
            self._sleep(remaining)
