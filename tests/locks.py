"""Waiting for the event a lock test is about: another connection blocked behind a lock."""

from __future__ import annotations

import time

from sqlalchemy import Engine, text

BLOCKED_BY = text("SELECT count(*) FROM pg_stat_activity WHERE :pid = ANY(pg_blocking_pids(pid))")


def wait_until_blocked_by(engine: Engine, holder_pid: int, timeout: float = 30) -> bool:
    """Whether some PostgreSQL backend came to wait for a lock held by ``holder_pid``.

    Polls the server's own lock graph (not a guess of how long blocking takes); ``timeout``
    only ends the wait when nothing ever blocks, so the caller can fail with a reason.
    """
    deadline = time.monotonic() + timeout
    with engine.connect() as watch:
        while True:
            blocked = watch.execute(BLOCKED_BY, {"pid": holder_pid}).scalar_one()
            watch.rollback()
            if blocked or time.monotonic() >= deadline:
                return bool(blocked)
            time.sleep(0.01)
