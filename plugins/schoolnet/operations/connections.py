"""Secrets come from Airflow connections, looked up inside tasks only (never at parse time).

- Google (``schoolnet_google``): the service account key JSON in the extra ``keyfile_dict``
  (or ``key_path``); for the demo and tests, ``emulator_url`` sends every call to the local
  Sheets emulator instead.
- Warehouse (``schoolnet_warehouse``): a ``sqlite`` connection (host = file path), a ``postgres``
  connection, or any SQLAlchemy URL in the extra ``sqlalchemy_url``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import requests


@dataclass(frozen=True)
class GoogleAccess:
    session: requests.Session  # read-only scopes
    write_session: requests.Session | None  # the spreadsheets scope, only when writing back
    account: str  # the address an ESA must share its sheet with


class ConnectionNotDefined(LookupError):
    """No Airflow connection of this id: neither the environment variable nor Airflow's
    metadata database defines it."""

    def __init__(self, conn_id: str) -> None:
        super().__init__(f"the Airflow connection {conn_id} isn't defined")
        self.conn_id = conn_id

    @property
    def variable(self) -> str:
        """The environment variable that would define it (``AIRFLOW_CONN_<ID>``)."""
        return f"AIRFLOW_CONN_{self.conn_id.upper()}"


def connection(conn_id: str) -> Any:
    from airflow.sdk import BaseHook
    from airflow.sdk.exceptions import AirflowNotFoundException

    try:
        return BaseHook.get_connection(conn_id)
    except AirflowNotFoundException:
        # Outside a task (a `schoolnet` command on the server) the task SDK sees only the
        # environment; connections kept in Airflow's own database are read from there.
        from airflow.models.connection import Connection

        try:
            return Connection.get_connection_from_secrets(conn_id)
        except AirflowNotFoundException:
            raise ConnectionNotDefined(conn_id) from None


def service_account_key(extra: Mapping[str, Any]) -> dict[str, Any] | None:
    """The service account key a Google connection's extras hold (``keyfile_dict``) or name
    (``key_path``); None when there is none that reads as a JSON object."""
    keyfile = extra.get("keyfile_dict")
    if isinstance(keyfile, str):
        try:
            keyfile = json.loads(keyfile)
        except ValueError:
            keyfile = None
    if keyfile is None and extra.get("key_path"):
        try:
            keyfile = json.loads(Path(extra["key_path"]).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            keyfile = None
    return keyfile if isinstance(keyfile, dict) else None


def google_access(conn_id: str, write: bool = False) -> GoogleAccess:
    """Sessions for the Google connection; ``write`` adds one allowed to write sheets."""
    from schoolnet.ingestion.google import WRITE_SCOPES, EmulatorSession, service_account_session

    extra = connection(conn_id).extra_dejson
    if extra.get("emulator_url"):
        account = extra.get("service_account", "schoolnet@schoolnet-demo.iam.gserviceaccount.com")
        session = EmulatorSession(extra["emulator_url"])
        return GoogleAccess(session, session if write else None, account)
    keyfile = service_account_key(extra)
    if keyfile is None:
        raise ValueError(
            f"Airflow connection {conn_id!r} has no service account key: set the extra "
            "'keyfile_dict' (the key JSON) or 'key_path' (a file holding it)"
        )
    return GoogleAccess(
        service_account_session(keyfile),
        service_account_session(keyfile, WRITE_SCOPES) if write else None,
        keyfile.get("client_email", ""),
    )


def google_session(conn_id: str) -> tuple[Any, str]:
    """A read-only session through the Google connection, and the account it reads as (from
    the environment, else Airflow's metadata database, where a rotated key is)."""
    try:
        access = google_access(conn_id)
    except ValueError as error:  # no key: an operator's mistake, said in one line
        raise RuntimeError(str(error)) from error
    return access.session, access.account


def google_now(conn_id: str) -> datetime:
    """The time of the Google service the pipeline reads: the machine's clock in production
    (Google keeps the same time), the emulator's own clock for the demo and the tests.

    The demo's data set lives in January 2018 and the emulator's clock is set to the loaded
    day's morning, so "today" for a run is the day its sheets stand for. An emulator that
    does not answer is an error: without its clock no run can tell today from a past date.
    """
    extra = connection(conn_id).extra_dejson
    url = extra.get("emulator_url")
    if not url:
        return datetime.now(UTC)
    clock = f"{str(url).rstrip('/')}/_emulator/clock"
    try:
        response = requests.get(clock, timeout=30)
        response.raise_for_status()
        now = datetime.fromisoformat(str(response.json()["now"]).replace("Z", "+00:00"))
    except (requests.RequestException, ValueError, KeyError, TypeError) as error:
        raise GoogleClockError(
            f"the Sheets emulator of connection {conn_id!r} did not give its clock at {clock} "
            f"({error}): start the emulator (schoolnet emulator serve) or fix the connection"
        ) from error
    return now if now.tzinfo is not None else now.replace(tzinfo=UTC)


class GoogleClockError(RuntimeError):
    """The emulator named by the Google connection did not say what time it is."""


def sqlalchemy_url(conn: Any) -> str:
    """The SQLAlchemy URL an Airflow connection describes."""
    extra = conn.extra_dejson
    if extra.get("sqlalchemy_url"):
        return str(extra["sqlalchemy_url"])
    if conn.conn_type == "sqlite":
        return f"sqlite:///{conn.host}"
    if conn.conn_type in ("postgres", "postgresql"):
        from sqlalchemy.engine import URL

        return URL.create(
            "postgresql+psycopg",
            username=conn.login or None,
            password=conn.password or None,
            host=conn.host or None,
            port=conn.port or None,
            database=conn.schema or None,
        ).render_as_string(hide_password=False)
    raise ValueError(
        f"Airflow connection {conn.conn_id!r} of type {conn.conn_type!r} is not a database the "
        "warehouse supports: use sqlite, postgres, or set the extra 'sqlalchemy_url'"
    )


def warehouse_url(conn_id: str) -> str:
    return sqlalchemy_url(connection(conn_id))
