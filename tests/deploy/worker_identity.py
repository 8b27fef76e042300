"""The host name a Celery worker of the deploy tests reports to Airflow.

Both test workers run on this one machine, so Airflow's default (the machine's name) would not
tell them apart; each worker's environment names it instead ([core] hostname_callable).
"""

from __future__ import annotations

import os

WORKER_NAME_VARIABLE = "SCHOOLNET_TEST_WORKER_NAME"


def hostname() -> str:
    return os.environ[WORKER_NAME_VARIABLE]
