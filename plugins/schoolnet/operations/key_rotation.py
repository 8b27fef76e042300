"""The Google service account's key (``schoolnet service-account``): a key file checked without
printing anything of it, put in place of the connection's key with the old one kept, and the
last rotation undone."""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from schoolnet.core.files import write_atomically
from schoolnet.operations.connections import service_account_key
from schoolnet.operations.registry_edits import EMAIL

KEY_FIELDS = ("type", "client_email", "private_key", "token_uri")


class KeyFileError(RuntimeError):
    """A service account key file that cannot be used; the message never holds the key."""


def read_key_file(path: Path) -> dict[str, Any]:
    """A Google service account key file, checked without printing anything of the key."""
    try:
        info = json.loads(path.read_text(encoding="utf-8"))
    except OSError as error:
        raise KeyFileError(f"cannot read {path}: {error.strerror}") from None
    except ValueError:
        raise KeyFileError(f"{path} is not JSON: download the key again (JSON, not P12)") from None
    if not isinstance(info, dict):
        raise KeyFileError(f"{path} is not a service account key (no JSON object)")
    missing = [name for name in KEY_FIELDS if not info.get(name)]
    if missing:
        raise KeyFileError(f"{path} is not a service account key: it lacks {', '.join(missing)}")
    if info["type"] != "service_account":
        raise KeyFileError(f"{path} is a key of type {info['type']!r}, not 'service_account'")
    if not EMAIL.fullmatch(str(info["client_email"])):
        raise KeyFileError(f"{path}: client_email is not an address")
    from google.oauth2.service_account import Credentials

    try:
        Credentials.from_service_account_info(info)
    except (ValueError, TypeError):
        raise KeyFileError(f"{path}: private_key is not a usable private key") from None
    return info


def env_variable(conn_id: str) -> str:
    return f"AIRFLOW_CONN_{conn_id.upper()}"


@dataclass(frozen=True)
class Rotation:
    client_email: str
    previous_email: str | None
    where: str  # what was changed, for the operator


def _connection_extra(uri_or_json: str) -> dict[str, Any]:
    from airflow.models.connection import Connection

    if uri_or_json.lstrip().startswith("{"):
        conn = Connection.from_json(uri_or_json, conn_id="env")
    else:
        conn = Connection(conn_id="env", uri=uri_or_json)
    extra: dict[str, Any] = conn.extra_dejson
    return extra


def _key_email(extra: Mapping[str, Any]) -> str | None:
    info = service_account_key(extra)
    return str(info.get("client_email")) if info else None


def _write_key(path: Path, info: Mapping[str, Any]) -> None:
    """Replace the key file at ``path`` (readable by its owner only); the old key is kept as
    ``<path>.previous`` for a rollback."""
    write_atomically(path, json.dumps(info), mode=0o600, keep_previous=True)


def previous_conn_id(conn_id: str) -> str:
    return f"{conn_id}_previous"


def rotate_key(conn_id: str, key_file: Path) -> Rotation:
    """Make the Google connection use the key in ``key_file``, keeping the old one for rollback.

    Where the connection is an environment variable (the Docker deployment) naming a key file
    (extra ``key_path``), that file is replaced. Otherwise the connection in Airflow's metadata
    database is replaced; the old one is kept as ``<conn_id>_previous``.
    """
    info = read_key_file(key_file)
    variable = os.environ.get(env_variable(conn_id))
    if variable:
        from_env = _connection_extra(variable)
        if not from_env.get("key_path"):
            raise RuntimeError(
                f"the connection {conn_id} is set by the environment variable "
                f"{env_variable(conn_id)}, which Airflow reads before its database, and it holds "
                'no key_path: set it to {"conn_type": "generic", "extra": {"key_path": FILE}} '
                "(in .env, SCHOOLNET_GOOGLE_CONN) and rotate again"
            )
        path = Path(from_env["key_path"])
        previous = _key_email(from_env)
        _write_key(path, info)
        return Rotation(info["client_email"], previous, f"key file {path}")
    from airflow.models.connection import Connection
    from airflow.utils.session import create_session

    with create_session() as session:
        current = session.query(Connection).filter(Connection.conn_id == conn_id).one_or_none()
        if (
            current is not None
            and current.extra_dejson.get("key_path")
            and not (current.extra_dejson.get("keyfile_dict"))
        ):
            path = Path(current.extra_dejson["key_path"])
            previous = _key_email(current.extra_dejson)
            _write_key(path, info)
            return Rotation(info["client_email"], previous, f"key file {path}")
        backup_id = previous_conn_id(conn_id)
        session.query(Connection).filter(Connection.conn_id == backup_id).delete()
        previous = None
        extra: dict[str, Any] = {}
        if current is not None:
            extra = dict(current.extra_dejson)
            previous = _key_email(extra)
            session.add(
                Connection(
                    conn_id=backup_id,
                    conn_type=current.conn_type,
                    description=f"{conn_id} before the key rotation of {datetime.now(UTC).date()}",
                    extra=current.extra,
                )
            )
            session.delete(current)
            session.flush()
        for name in ("emulator_url", "key_path", "keyfile_dict", "service_account"):
            extra.pop(name, None)
        extra["keyfile_dict"] = info
        session.add(
            Connection(
                conn_id=conn_id,
                conn_type="generic",
                description="Google service account of schoolnet",
                extra=json.dumps(extra),
            )
        )
    return Rotation(info["client_email"], previous, f"Airflow connection {conn_id}")


def rollback_key(conn_id: str) -> str:
    """Undo the last rotation; what was restored, for the operator."""
    variable = os.environ.get(env_variable(conn_id))
    key_path: Path | None = None
    if variable:
        extra = _connection_extra(variable)
        if extra.get("key_path"):
            key_path = Path(extra["key_path"])
    from airflow.models.connection import Connection
    from airflow.utils.session import create_session

    with create_session() as session:
        if key_path is None and not variable:
            current = session.query(Connection).filter(Connection.conn_id == conn_id).one_or_none()
            extra = current.extra_dejson if current is not None else {}
            if extra.get("key_path") and not extra.get("keyfile_dict"):
                key_path = Path(extra["key_path"])
        if key_path is not None:
            previous_file = key_path.with_name(key_path.name + ".previous")
            if not previous_file.exists():
                raise RuntimeError(f"nothing to roll back: {previous_file} does not exist")
            os.replace(previous_file, key_path)
            return f"key file {key_path} restored from {previous_file.name}"
        if variable:
            raise RuntimeError(
                f"the connection {conn_id} is the environment variable {env_variable(conn_id)}: "
                "put the old value back there"
            )
        backup_id = previous_conn_id(conn_id)
        backup = session.query(Connection).filter(Connection.conn_id == backup_id).one_or_none()
        if backup is None:
            raise RuntimeError(f"nothing to roll back: no Airflow connection {backup_id}")
        session.query(Connection).filter(Connection.conn_id == conn_id).delete()
        session.add(
            Connection(
                conn_id=conn_id,
                conn_type=backup.conn_type,
                description="Google service account of schoolnet",
                extra=backup.extra,
            )
        )
        session.delete(backup)
    return f"Airflow connection {conn_id} restored from {backup_id}"
