"""The parts every end-to-end test of the daily DAG starts: a demo data set's morning served by
the Sheets emulator, a mail sink, and Airflow set up to run the DAG against them."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from schoolnet.devtools.devenv import LocalAirflow
from schoolnet.devtools.emulator import Emulator, load_day
from schoolnet.devtools.mailsink import MailSink
from tests.settings import write_test_settings


@dataclass(frozen=True)
class DemoAirflow:
    config: Path
    state: Path  # the emulator's state directory
    emulator: Emulator
    sink: MailSink
    airflow: LocalAirflow
    warehouse_url: str


@contextmanager
def demo_airflow(
    root: Path, demo: Path, day: date, warehouse_url: str | None = None, **settings: Any
) -> Iterator[DemoAirflow]:
    """The demo data set in ``demo`` as the morning of ``day`` sees it, served over HTTP; a mail
    sink; Airflow with its settings, data and warehouse (``warehouse_url``, else SQLite) under
    ``root`` (``settings`` go to ``write_test_settings``). Both servers stop on leaving."""
    config = write_test_settings(
        root / "schoolnet.toml",
        esas=demo / "esas.csv",
        schools=demo / "schools.csv",
        root=root,
        requests_per_minute=6000,
        **settings,
    )
    state = root / "emulator"
    load_day(state, demo, day)
    warehouse_url = warehouse_url or f"sqlite:///{root / 'warehouse.db'}"
    with Emulator(state, read_quota_per_minute=0) as emulator, MailSink(root / "mail") as sink:
        airflow = LocalAirflow(
            home=root / "airflow",
            config_file=config,
            emulator_url=emulator.base_url,
            smtp_port=sink.port,
            warehouse_url=warehouse_url,
        )
        airflow.prepare()
        yield DemoAirflow(config, state, emulator, sink, airflow, warehouse_url)
