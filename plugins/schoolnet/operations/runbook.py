"""The operator's tasks as plain functions: registry edits, run timings, what a run did, the
report's deliveries, and the Google service account's key.

``schoolnet.cli.ops`` turns them into ``schoolnet esa|runs|report|service-account`` commands;
the pipeline calls the timing clocks. Timings are best effort: recording them never fails a
pull or a merge.
"""

from __future__ import annotations

import csv
import io
import json
import logging
import os
import re
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, bindparam, delete, func, insert, select, update

from schoolnet.core.config import Settings
from schoolnet.core.files import write_atomically
from schoolnet.core.registry import Esa, RegistryError, is_esa_level, read_esas
from schoolnet.operations.connections import service_account_key
from schoolnet.report.texts import report_text
from schoolnet.warehouse.models import (
    DeliveryRow,
    MergeRunRow,
    PullRow,
    RegistryChangeRow,
)

log = logging.getLogger(__name__)

# --- timings -------------------------------------------------------------------------------------

TIMING_COLUMNS = (
    "pull_started_at",
    "pull_finished_at",
    "read_seconds",
    "validate_seconds",
    "feedback_seconds",
    "run_id",
    "try_number",
)


def airflow_run() -> tuple[str | None, int | None]:
    """The Airflow run id and try number of the task this process runs, if any.

    Airflow exports them as ``AIRFLOW_CTX_*`` variables before every task, so the library learns
    them without importing Airflow; outside a task both are None.
    """
    run_id = os.environ.get("AIRFLOW_CTX_DAG_RUN_ID") or None
    try:
        try_number: int | None = int(os.environ.get("AIRFLOW_CTX_TRY_NUMBER", ""))
    except ValueError:
        try_number = None
    return run_id, try_number


def timing_path(settings: Settings, report_date: date, esa_code: str) -> Path:
    return settings.storage.data_dir / "timings" / report_date.isoformat() / f"{esa_code}.json"


@dataclass
class PullClock:
    """Times one ESA's pull, step by step, and leaves the figures for the merge to record."""

    run_id: str | None
    try_number: int | None
    started_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    seconds: dict[str, float] = field(default_factory=dict)
    _mark: float = field(default_factory=time.perf_counter)

    @classmethod
    def start(cls, run_id: str | None = None, try_number: int | None = None) -> PullClock:
        env_run, env_try = airflow_run()
        return cls(run_id or env_run, try_number if try_number is not None else env_try)

    def lap(self, step: str) -> None:
        """Seconds since the previous lap (or the start) go to ``step``."""
        now = time.perf_counter()
        self.seconds[step] = round(now - self._mark, 3)
        self._mark = now

    def save(self, settings: Settings, report_date: date, esa_code: str) -> None:
        """Write the timings beside the pull's result; a failure is logged, never raised."""
        record = {
            "pull_started_at": self.started_at.isoformat(),
            "pull_finished_at": datetime.now(UTC).isoformat(),
            "read_seconds": self.seconds.get("read"),
            "validate_seconds": self.seconds.get("validate"),
            "feedback_seconds": self.seconds.get("feedback"),
            "run_id": self.run_id,
            "try_number": self.try_number,
        }
        path = timing_path(settings, report_date, esa_code)
        try:
            write_atomically(path, json.dumps(record))
        except OSError as error:
            log.warning("ESA %s: pull timings not kept (%s)", esa_code, error)


def _load_timing(path: Path) -> dict[str, Any] | None:
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(raw, dict):
        return None
    record: dict[str, Any] = {name: raw.get(name) for name in TIMING_COLUMNS}
    for name in ("pull_started_at", "pull_finished_at"):
        moment = record[name]
        record[name] = datetime.fromisoformat(moment) if isinstance(moment, str) else None
    return record


@dataclass
class MergeClock:
    """Times one report date's merge and records it with the pulls' timings."""

    started_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    _mark: float = field(default_factory=time.perf_counter)

    def record(
        self,
        engine: Engine,
        settings: Settings,
        report_date: date,
        esa_codes: Sequence[str],
        schools: int,
        run_id: str | None = None,
    ) -> None:
        """Write the merge's timing and each pull's into the warehouse, after the merge's own
        transaction; a failure is logged, never raised (the day is merged either way)."""
        seconds = round(time.perf_counter() - self._mark, 3)
        try:
            record_timings(
                engine,
                report_date,
                {
                    code: timing
                    for code in esa_codes
                    if (timing := _load_timing(timing_path(settings, report_date, code)))
                },
                {
                    "report_date": report_date,
                    "run_id": run_id or airflow_run()[0],
                    "started_at": self.started_at,
                    "finished_at": datetime.now(UTC),
                    "seconds": seconds,
                    "esas": len(esa_codes),
                    "schools": schools,
                },
            )
        except Exception as error:  # noqa: BLE001 - timings never fail the merge; logged
            log.warning("timings of %s not recorded: %s", report_date, error)


def record_timings(
    engine: Engine,
    report_date: date,
    pulls: Mapping[str, Mapping[str, Any]],
    merge_run: Mapping[str, Any],
) -> None:
    """Put each ESA's pull timings on its ``pull`` row of the date, and the merge's in
    ``merge_run`` (replacing an earlier run's of the same date)."""
    with engine.begin() as conn:
        if pulls:
            conn.execute(
                update(PullRow)
                .where(PullRow.report_date == report_date, PullRow.esa_code == bindparam("code"))
                .values({name: bindparam(f"v_{name}") for name in TIMING_COLUMNS}),
                [
                    {"code": code, **{f"v_{name}": timing.get(name) for name in TIMING_COLUMNS}}
                    for code, timing in pulls.items()
                ],
            )
        conn.execute(delete(MergeRunRow).where(MergeRunRow.report_date == report_date))
        conn.execute(insert(MergeRunRow).values(**merge_run))


# --- what a run did ------------------------------------------------------------------------------


def run_pulls(engine: Engine, report_date: date) -> list[dict[str, Any]]:
    """Every ESA's pull of ``report_date``, with its timings, by ESA code."""
    with engine.connect() as conn:
        rows = conn.execute(
            select(PullRow.__table__)
            .where(PullRow.report_date == report_date)
            .order_by(PullRow.esa_code)
        ).mappings()
        return [dict(row) for row in rows]


def merge_run(engine: Engine, report_date: date) -> dict[str, Any] | None:
    with engine.connect() as conn:
        row = (
            conn.execute(
                select(MergeRunRow.__table__).where(MergeRunRow.report_date == report_date)
            )
            .mappings()
            .first()
        )
        return dict(row) if row else None


def merged_dates(engine: Engine, limit: int = 10) -> list[date]:
    """The latest report dates the warehouse holds pulls for, newest first."""
    with engine.connect() as conn:
        query = (
            select(PullRow.report_date).distinct().order_by(PullRow.report_date.desc()).limit(limit)
        )
        return [day for (day,) in conn.execute(query)]


def latest_outcomes(
    engine: Engine, on: date | None
) -> tuple[date | None, dict[str, dict[str, Any]]]:
    """Each ESA's pull on ``on`` (default: the latest merged date), by ESA code."""
    with engine.connect() as conn:
        if on is None:
            on = conn.execute(select(func.max(PullRow.report_date))).scalar()
        if on is None:
            return None, {}
    return on, {row["esa_code"]: row for row in run_pulls(engine, on)}


def deliveries(engine: Engine, report_date: date, every_kind: bool = False) -> list[dict[str, Any]]:
    """The delivery ledger's entries of ``report_date``: the report's, or every email's."""
    query = select(DeliveryRow.__table__).where(DeliveryRow.report_date == report_date)
    if not every_kind:
        query = query.where(DeliveryRow.kind == "report")
    with engine.connect() as conn:
        rows = conn.execute(query.order_by(DeliveryRow.kind, DeliveryRow.sent_at)).mappings()
        return [dict(row) for row in rows]


def record_registry_change(
    engine: Engine, esa_code: str, action: str, reason: str | None, changed_by: str
) -> None:
    with engine.begin() as conn:
        conn.execute(
            insert(RegistryChangeRow).values(
                changed_at=datetime.now(UTC),
                esa_code=esa_code,
                action=action,
                reason=reason,
                changed_by=changed_by,
            )
        )


# --- the ESA registry file -----------------------------------------------------------------------

ESA_CODE = re.compile(r"\d{6}")
SHEET_ID = re.compile(r"[A-Za-z0-9_-]{25,100}")
SHEET_URL = re.compile(r"/spreadsheets/d/([A-Za-z0-9_-]+)")
EMAIL = re.compile(r"[^@\s,;<>]+@[^@\s,;<>]+\.[^@\s,;<>]+")


def sheet_id_of(text: str) -> str:
    """The spreadsheet id, given the id or the sheet's address as the browser shows it."""
    text = text.strip()
    match = SHEET_URL.search(text)
    return match.group(1) if match else text


def new_esa(
    *,
    code: str,
    name: str,
    province: str,
    level: str,
    sheet: str,
    contact: str,
    registry: Sequence[Esa],
) -> Esa:
    """A registry entry for a new ESA, refused (in Thai and English) if any field is wrong or
    the code or sheet is already registered."""
    code, name, province, contact = code.strip(), name.strip(), province.strip(), contact.strip()
    sheet_id = sheet_id_of(sheet)
    problems = []
    if not ESA_CODE.fullmatch(code):
        problems.append(report_text("esa_code_invalid", code=code))
    if not name:
        problems.append(report_text("esa_name_empty"))
    if not province:
        problems.append(report_text("esa_province_empty"))
    if not is_esa_level(level):
        problems.append(report_text("esa_level_invalid", level=level))
    if not SHEET_ID.fullmatch(sheet_id):
        problems.append(report_text("esa_sheet_invalid", sheet=sheet))
    if not EMAIL.fullmatch(contact):
        problems.append(report_text("esa_contact_invalid", contact=contact))
    for other in registry:
        if other.esa_code == code:
            problems.append(report_text("esa_code_taken", code=code, esa_name=other.esa_name))
        if other.spreadsheet_id == sheet_id:
            problems.append(report_text("esa_sheet_taken", other=other.esa_code))
    if problems or not is_esa_level(level):  # the level's problem is among them
        raise RegistryError("; ".join(problems))
    return Esa(code, name, level, province, sheet_id, contact)


def _replace_file(path: Path, text: str) -> None:
    """Replace the registry file, after checking the new one is still a valid ESA registry."""
    write_atomically(path, text, check=read_esas)


def _registry_text(path: Path) -> tuple[str, list[str], str]:
    """The file's text, its header and its line ending."""
    try:
        with path.open(encoding="utf-8", newline="") as handle:  # line endings as they are
            text = handle.read()
    except OSError as error:
        raise RegistryError(f"cannot read registry {path}: {error.strerror}") from error
    header = next(csv.reader(io.StringIO(text.lstrip("\ufeff"))), [])
    return text, header, "\r\n" if "\r\n" in text else "\n"


def add_esa(path: Path, esa: Esa) -> None:
    """Append ``esa`` to the registry file at ``path``, atomically; other lines stay as they are."""
    text, header, newline = _registry_text(path)
    buffer = io.StringIO()
    values = {**esa.__dict__}
    csv.writer(buffer, lineterminator=newline).writerow([values.get(name, "") for name in header])
    if text and not text.endswith(("\n", "\r")):
        text += newline
    _replace_file(path, text + buffer.getvalue())


def retire_esa(path: Path, code: str) -> Esa:
    """Remove ESA ``code`` from the registry file at ``path``, atomically; the entry removed."""
    return _rewrite_entry(path, code, None)


def update_esa(path: Path, esa: Esa) -> Esa:
    """Replace the line of ESA ``esa.esa_code`` in the registry file at ``path`` with ``esa``,
    in its place, atomically; the entry it replaced."""
    return _rewrite_entry(path, esa.esa_code, esa)


def registered_esa(path: Path, code: str) -> Esa:
    """ESA ``code`` of the registry file at ``path``, refused in one line when not there."""
    registry = {esa.esa_code: esa for esa in read_esas(path)}
    if code not in registry:
        raise RegistryError(report_text("esa_not_found", code=code, path=path))
    return registry[code]


def _rewrite_entry(path: Path, code: str, replacement: Esa | None) -> Esa:
    """The registry file without ESA ``code``'s line, or with ``replacement`` in its place;
    the other lines as they were."""
    previous = registered_esa(path, code)
    text, header, newline = _registry_text(path)
    bom = "\ufeff" if text.startswith("\ufeff") else ""
    reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff")))
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=header, lineterminator=newline)
    writer.writeheader()
    for row in reader:
        if (row.get("esa_code") or "").strip() != code:
            writer.writerow({name: row.get(name) or "" for name in header})
        elif replacement is not None:
            values = {**replacement.__dict__}
            writer.writerow({name: values.get(name, row.get(name) or "") for name in header})
    _replace_file(path, bom + buffer.getvalue())
    return previous


# --- the Google service account ------------------------------------------------------------------

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


def google_session(conn_id: str) -> tuple[Any, str]:
    """A read-only session through the Google connection, and the account it reads as (from
    the environment, else Airflow's metadata database, where a rotated key is)."""
    from schoolnet.operations.connections import google_access

    try:
        access = google_access(conn_id)
    except ValueError as error:  # no key: an operator's mistake, said in one line
        raise RuntimeError(str(error)) from error
    return access.session, access.account


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
