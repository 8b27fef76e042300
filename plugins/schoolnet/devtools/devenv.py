"""A project-local Airflow for the demo and the end-to-end tests.

Airflow home, metadata database (SQLite), DAG folder and the three connections are all given to
Airflow through environment variables, so nothing outside the project is touched and the same
DAG file runs here and in production unchanged.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from schoolnet.core.paths import dags_dir, project_root
from schoolnet.orchestration.airflow_glue import GOOGLE_POOL


@dataclass(frozen=True)
class LocalAirflow:
    home: Path
    config_file: Path  # the schoolnet settings file the DAG reads
    emulator_url: str
    smtp_port: int
    warehouse_url: str
    mail_from: str = "schoolnet@obec.go.th"
    pool_slots: int = 4

    def environment(self) -> dict[str, str]:
        """The process environment with this Airflow's settings on top."""
        return {**os.environ, **self.variables()}

    def variables(self) -> dict[str, str]:
        return dict(
            {
                "AIRFLOW_HOME": str(self.home),
                "AIRFLOW__CORE__DAGS_FOLDER": str(dags_dir()),
                "AIRFLOW__CORE__PLUGINS_FOLDER": str(project_root() / "plugins"),
                "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
                "AIRFLOW__CORE__UNIT_TEST_MODE": "False",
                "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{self.home / 'airflow.db'}",
                "AIRFLOW__LOGGING__BASE_LOG_FOLDER": str(self.home / "logs"),
                "SCHOOLNET_CONFIG": str(self.config_file),
                "AIRFLOW_CONN_SCHOOLNET_GOOGLE": json.dumps(
                    {"conn_type": "generic", "extra": {"emulator_url": self.emulator_url}}
                ),
                "AIRFLOW_CONN_SCHOOLNET_WAREHOUSE": json.dumps(
                    {"conn_type": "generic", "extra": {"sqlalchemy_url": self.warehouse_url}}
                ),
                "AIRFLOW_CONN_SMTP_DEFAULT": json.dumps(
                    {
                        "conn_type": "smtp",
                        "host": "127.0.0.1",
                        "port": self.smtp_port,
                        "extra": {
                            "disable_ssl": True,
                            "disable_tls": True,
                            "from_email": self.mail_from,
                            "timeout": 30,
                        },
                    }
                ),
            }
        )

    def airflow(self, *args: str, log: Path | None = None) -> subprocess.CompletedProcess[str]:
        """Run the ``airflow`` command of this environment; raise with its output on failure."""
        command = [str(Path(sys.executable).with_name("airflow")), *args]
        self.home.mkdir(parents=True, exist_ok=True)
        if log is None:
            completed = subprocess.run(
                command, env=self.environment(), capture_output=True, text=True, check=False
            )
            output = completed.stdout + completed.stderr
        else:
            log.parent.mkdir(parents=True, exist_ok=True)
            with log.open("w", encoding="utf-8") as stream:
                completed = subprocess.run(
                    command,
                    env=self.environment(),
                    stdout=stream,
                    stderr=subprocess.STDOUT,
                    text=True,
                    check=False,
                )
            output = log.read_text(encoding="utf-8")
        if completed.returncode != 0:
            tail = "\n".join(output.strip().splitlines()[-40:])
            raise RuntimeError(f"airflow {' '.join(args)} failed ({completed.returncode}):\n{tail}")
        return completed

    def prepare(self) -> None:
        """Migrate the metadata database and create the Google quota pool (idempotent)."""
        self.airflow("db", "migrate")
        self.airflow(
            "pools",
            "set",
            GOOGLE_POOL,
            str(self.pool_slots),
            "Concurrent Google Sheets API calls (quota: 60 reads per minute per account)",
        )
