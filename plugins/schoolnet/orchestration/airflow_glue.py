"""What the tasks of every DAG (daily, feedback, provisioning) take from Airflow: the running
task's context, the checked settings, and the warehouse and Google access through the Airflow
connections; and the timezone and the Google pool the DAGs share.

Everything here runs inside a task; importing this module does no work and looks nothing up.
"""

from __future__ import annotations

from functools import cache
from typing import TYPE_CHECKING, Any

from schoolnet.core import schedule
from schoolnet.core.config import ConfigError, Settings, load_settings
from schoolnet.core.registry import Esa

if TYPE_CHECKING:
    from sqlalchemy import Engine

    from schoolnet.ingestion.ingest import SheetsReader

GOOGLE_POOL = "google_sheets"
TIMEZONE = schedule.TIMEZONE


def current_context() -> Any:
    """The Airflow context of the task this process runs."""
    from airflow.sdk import get_current_context

    return get_current_context()


def esa_task_context(esa: Esa) -> Any:
    """The context of a task mapped over ESAs, its map index named for ``esa`` (the DAGs'
    ``map_index_template`` shows ``esa_label``)."""
    context = current_context()
    context["esa_label"] = f"{esa.esa_code} {esa.esa_name}"
    return context


def checked_settings() -> Settings:
    """The whole settings file, checked; a broken one fails the task at once, without retries
    (they would read the same file), in Thai and English. The operators' alert does not need
    the settings to reach them (``delivery.alerts``)."""
    from airflow.sdk.exceptions import AirflowFailException

    from schoolnet.report.policy import load_policy
    from schoolnet.report.texts import report_text

    try:
        settings = load_settings()
        load_policy(settings.report.support_policy)
        registry = settings.registry
        named = {"schools": registry.schools}
        if not registry.esas_sheet:
            named["esas"] = registry.esas
        missing = [f"[registry] {key}: {path}" for key, path in named.items() if not path.is_file()]
        if missing:
            raise ConfigError("file not found: " + "; ".join(missing))
    except (ConfigError, OSError, ValueError) as error:
        raise AirflowFailException(report_text("settings_broken", error=error)) from None
    return settings


def task_engine(settings: Settings) -> Engine:
    """The warehouse engine of the settings' Airflow connection."""
    from schoolnet.operations.connections import warehouse_url

    return _engine_for(warehouse_url(settings.connections.warehouse))


@cache
def _engine_for(url: str) -> Engine:
    """One engine (and connection pool) per warehouse URL and process: a task asks for it several
    times, and under ``airflow dags test`` every task of the run shares one process."""
    from schoolnet.warehouse import create_warehouse_engine

    return create_warehouse_engine(url)


def google_reader(settings: Settings, write: bool = False) -> SheetsReader:
    """A sheets reader through the settings' Google connection, paced by the quotas that every
    process shares; ``write`` adds the scope that writes sheets."""
    from schoolnet.ingestion.ingest import SheetsReader
    from schoolnet.ingestion.quota import SHEETS_READ, SHEETS_WRITE, QuotaPacer
    from schoolnet.operations.connections import google_access

    access = google_access(settings.connections.google, write=write)
    engine = task_engine(settings)
    google = settings.google
    return SheetsReader(
        access.session,
        google,
        service_account=access.account,
        write_session=access.write_session,
        read_pacer=QuotaPacer(engine, SHEETS_READ, google.read_requests_per_minute)
        if google.read_requests_per_minute > 0
        else None,
        write_pacer=QuotaPacer(engine, SHEETS_WRITE, google.write_requests_per_minute)
        if google.write_requests_per_minute > 0
        else None,
    )


def feedback_reader(settings: Settings) -> SheetsReader:
    """The reader of a task that checks one ESA's sheet: it may write the sheet's feedback tab
    when the settings say so (``[feedback] write_tab``)."""
    return google_reader(settings, write=settings.feedback.write_tab)
