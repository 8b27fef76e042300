"""Where the project's non-Python assets live.

The package sits in ``plugins/`` beside ``sql/`` and ``templates/``, both in a checkout and in the
Airflow image (which mounts all three side by side), so the project root is three levels up.
``SCHOOLNET_HOME`` overrides it for unusual layouts.
"""

from __future__ import annotations

import os
from pathlib import Path


def project_root() -> Path:
    override = os.environ.get("SCHOOLNET_HOME")
    if override:
        return Path(override).resolve()
    return Path(__file__).resolve().parents[3]


def sql_dir() -> Path:
    return project_root() / "sql"


def templates_dir() -> Path:
    return project_root() / "templates"


def dags_dir() -> Path:
    return project_root() / "dags"
