"""Ports for tests that run side by side (``make test`` runs the suite on every core).

Every server a test starts listens on 127.0.0.1. Most bind port 0; those that must know their
port before they start get ``free_port()``. The checkout's demo servers listen on fixed ports,
the ones the runbook names: the tests that start them hold ``holding_ports`` first, so two
test processes never start them at once.
"""

from __future__ import annotations

import contextlib
import fcntl
import socket
import tempfile
from collections.abc import Iterator
from pathlib import Path


def free_port() -> int:
    """A port nothing listens on now (the kernel's choice for port 0)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def airflow_log_server_ports() -> dict[str, str]:
    """Airflow's log servers (the scheduler's and the triggerer's) on ports of their own:
    two Airflow stacks of two test processes would otherwise both bind 8793 and 8794."""
    return {
        "AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT": str(free_port()),
        "AIRFLOW__LOGGING__TRIGGER_LOG_SERVER_PORT": str(free_port()),
    }


@contextlib.contextmanager
def holding_ports(*ports: int) -> Iterator[None]:
    """Wait until no other test process holds ``ports``, then hold them until the end.

    A lock file per port in the system's temporary folder (``flock``: released by the kernel
    when the holder ends, even killed), so the tests that need the same fixed ports take turns.
    """
    with contextlib.ExitStack() as stack:
        for port in sorted(set(ports)):
            path = Path(tempfile.gettempdir()) / f"schoolnet-test-port-{port}.lock"
            handle = stack.enter_context(path.open("a"))
            fcntl.flock(handle, fcntl.LOCK_EX)
            stack.callback(fcntl.flock, handle, fcntl.LOCK_UN)
        yield
