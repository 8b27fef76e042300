"""What every benchmark prints beside its figures: the machine it ran on, and the PostgreSQL
server it measures (the one the tests use)."""

from __future__ import annotations

import os
import platform
from pathlib import Path

PG_URL = os.environ.get("SCHOOLNET_TEST_PG_URL", "postgresql://postgres@127.0.0.1:5432/test")


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    memory = ""
    try:
        kib = int(Path("/proc/meminfo").read_text().split()[1])
        memory = f", {kib / 1024 / 1024:.0f} GiB RAM"
    except (OSError, ValueError, IndexError):
        pass
    return (
        f"{cpu}, {os.cpu_count()} cores{memory}; {platform.system()} {platform.release()}; "
        f"Python {platform.python_version()}"
    )
