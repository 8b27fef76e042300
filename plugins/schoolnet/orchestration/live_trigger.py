"""An Airflow event trigger that fires when a clerk changed an ESA's sheet.

``DriveChangesTrigger`` is meant for an ``AssetWatcher``: Airflow's triggerer runs it, and
each event it yields updates the watched asset, which starts the DAGs scheduled on it. Every
``poll_seconds`` in the ``[live]`` working hours it does what ``schoolnet_feedback``'s
``poll_changes`` does (``live.poll``): one ``changes.list`` call from the page token kept in
the warehouse, the sheets a clerk changed marked as waiting in ``live_sheet`` and the new token
saved, in one transaction. It fires only when that look marked a sheet (a clerk's edit, a
removed or unshared sheet; never our own tab writes, by ``live.needs_check``), with the ESA
codes in the event, so the edit is kept in the warehouse before anyone is told, and the run
that follows checks every waiting sheet.

Nothing is looked up or opened when the trigger is made or imported: its keyword arguments are
plain JSON values (what ``serialize`` returns and the triggerer builds it from again), and the
settings, the Google connection and the warehouse are opened inside ``run``, in a worker
thread, like every other blocking call. A fault never ends the trigger: Google's quota or
errors back off and keep the token, a refused key is told to the operator and tried again
slowly, a refused or lost token falls back to one Drive listing (``live.poll``).
"""

from __future__ import annotations

import asyncio
import dataclasses
import importlib
import logging
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from airflow.triggers.base import BaseEventTrigger, TriggerEvent

from schoolnet.core.config import ConfigError, Settings, load_settings
from schoolnet.core.schedule import TIMEZONE, daily_time

# The DAG file builds this trigger while it is parsed: the modules that do the work (Google,
# the warehouse, the near-live loop, the operator's mail) are imported where they are used,
# in the triggerer, so that parsing imports none of them.
if TYPE_CHECKING:
    from sqlalchemy import Engine

    from schoolnet.delivery.alerts import WatchFault
    from schoolnet.ingestion.ingest import SheetsReader
    from schoolnet.orchestration.live import Poll

log = logging.getLogger(__name__)

CLASSPATH = f"{__name__}.DriveChangesTrigger"
MAX_POLL_SECONDS = 30.0  # an edit is seen within this much of being saved
DEFAULT_MAX_BACKOFF_SECONDS = 300.0
# While sheets wait, the event is sent again this often: an event Airflow set aside because a
# run was in progress (max_active_runs=1, apache/airflow#56050) still starts the next run.
DEFAULT_REFIRE_SECONDS = 60.0


class DriveWatch:
    """The blocking side of the trigger, called from a worker thread: the settings, and the
    Google reader and warehouse engine they name, opened on first use and kept."""

    def __init__(self, settings_path: str | None) -> None:
        self.settings_path = Path(settings_path) if settings_path else None
        self.google_conn: str | None = None
        self.reader: SheetsReader | None = None
        self.engine: Engine | None = None

    def settings(self) -> Settings:
        """The settings file, read again each time (the ``[live]`` hours may change)."""
        settings = load_settings(self.settings_path)
        self.google_conn = settings.connections.google
        return settings

    def poll(self, settings: Settings) -> Poll:
        """One look at Drive's changes feed (``live.poll``)."""
        from schoolnet.orchestration.live import current_esas, poll

        if self.engine is None:
            from schoolnet.operations.connections import warehouse_url
            from schoolnet.warehouse import create_warehouse_engine, ensure_schema

            engine = create_warehouse_engine(warehouse_url(settings.connections.warehouse))
            try:
                ensure_schema(engine)  # the warehouse may be new, or older than this version
            except BaseException:
                engine.dispose()
                raise
            self.engine = engine
        if self.reader is None:
            self.reader = drive_reader(settings)
        return poll(current_esas(settings), settings, self.reader, self.engine, beside_checks=True)

    def forget_google(self) -> None:
        """Look the Google connection up again next time (a rotated key is used at once)."""
        self.reader = None

    def close(self) -> None:
        self.reader = None
        if self.engine is not None:
            self.engine.dispose()
            self.engine = None


def drive_reader(settings: Settings) -> SheetsReader:
    """A reader of the Drive changes feed through the settings' Google connection (read-only).

    It tries each call once: the trigger's own loop backs off and tries again, keeping the
    token, so a long Google outage is a few lines in the log, not a blocked worker thread."""
    from schoolnet.ingestion.ingest import SheetsReader
    from schoolnet.operations.connections import google_access

    access = google_access(settings.connections.google)
    once = dataclasses.replace(settings.google, max_attempts=1)
    return SheetsReader(access.session, once, service_account=access.account)


def in_hours(settings: Settings, moment: datetime) -> bool:
    """Whether Drive is watched at ``moment`` (local time): the ``[live]`` days and hours, as
    the feedback DAG's ``gate``, and not within an interval of the morning run."""
    from schoolnet.orchestration.live import daily_due_soon

    daily = daily_time()
    return settings.live.covers(moment) and not daily_due_soon(
        moment, (daily.hour, daily.minute), settings.live.pause_before_morning_minutes
    )


WORKING_MODULES = (
    "google.auth.exceptions",
    "sqlalchemy.exc",
    "schoolnet.delivery.alerts",
    "schoolnet.ingestion.ingest",
    "schoolnet.operations.connections",
    "schoolnet.orchestration.live",
    "schoolnet.warehouse",
)


def load_working_modules() -> None:
    """Import what the trigger's looks use (the parse of the DAG file imports none of it)."""
    for name in WORKING_MODULES:
        importlib.import_module(name)


class DriveChangesTrigger(BaseEventTrigger):
    """Fires when a clerk changed an ESA's sheet, after marking it waiting in the warehouse.

    :param settings_path: the settings file (None: ``$SCHOOLNET_CONFIG`` or the default one),
        read at run time; its ``[connections]`` name the Google and warehouse connections.
    :param poll_seconds: the time between two looks at Drive, at most 30 seconds.
    :param any_time: watch outside the ``[live]`` working hours too (demonstrations, tests).
    :param max_backoff_seconds: the longest wait after a fault; a refused key is tried again
        at this pace.
    :param refire_seconds: while sheets wait for their check, the event is sent again after
        this long without one, so an event Airflow set aside while a run was in progress
        (``max_active_runs=1``, apache/airflow#56050) cannot leave an edit unchecked.

    The event's payload: ``esa_codes``, the ESAs whose sheets this look marked; ``waiting``,
    every ESA whose sheet waits for its check; ``source``, ``changes`` or ``listing`` (no
    usable token: one Drive listing); ``polled_at``, the look's time (UTC, ISO 8601). The
    first look after a start also fires when sheets are waiting though none was just marked:
    an event lost to a restart (after the look saved them, before the event was sent) is sent
    again that way; and so is a look that finds sheets still waiting ``refire_seconds`` after
    the last event.
    """

    def __init__(
        self,
        settings_path: str | None = None,
        poll_seconds: float = MAX_POLL_SECONDS,
        any_time: bool = False,
        max_backoff_seconds: float = DEFAULT_MAX_BACKOFF_SECONDS,
        refire_seconds: float = DEFAULT_REFIRE_SECONDS,
    ) -> None:
        super().__init__()  # type: ignore[no-untyped-call]  # Airflow: unannotated
        if not 0 < poll_seconds <= MAX_POLL_SECONDS:
            raise ValueError(f"poll_seconds must be above 0 and at most 30, not {poll_seconds}")
        if max_backoff_seconds < poll_seconds:
            raise ValueError(
                f"max_backoff_seconds ({max_backoff_seconds}) must be at least poll_seconds "
                f"({poll_seconds})"
            )
        self.settings_path = settings_path
        self.poll_seconds = float(poll_seconds)
        self.any_time = bool(any_time)
        if refire_seconds < poll_seconds:
            raise ValueError(
                f"refire_seconds ({refire_seconds}) must be at least poll_seconds ({poll_seconds})"
            )
        self.max_backoff_seconds = float(max_backoff_seconds)
        self.refire_seconds = float(refire_seconds)

    def serialize(self) -> tuple[str, dict[str, Any]]:
        return CLASSPATH, {
            "settings_path": self.settings_path,
            "poll_seconds": self.poll_seconds,
            "any_time": self.any_time,
            "max_backoff_seconds": self.max_backoff_seconds,
            "refire_seconds": self.refire_seconds,
        }

    async def run(self) -> AsyncIterator[TriggerEvent]:
        # Loaded in a worker thread: importing them blocks, and the triggerer's event loop
        # runs every other trigger too.
        await asyncio.to_thread(load_working_modules)
        from google.auth.exceptions import GoogleAuthError

        from schoolnet.delivery.alerts import send_watch_alert
        from schoolnet.ingestion.ingest import SheetReadError

        watch = DriveWatch(self.settings_path)
        failures = 0
        alerted: set[str] = set()  # the faults the operators were told of, until it works again
        first = True  # the first look after a start also sends what waits (see the class)
        last_event = time.monotonic()
        idle = False
        try:
            while True:
                delay = self.poll_seconds
                try:
                    settings = await asyncio.to_thread(watch.settings)
                    moment = datetime.now(ZoneInfo(TIMEZONE))
                    if not self.any_time and not in_hours(settings, moment):
                        if not idle:
                            log.info(
                                "outside the working hours in the settings ([live]) or near "
                                "the morning run: Drive is not asked until they begin"
                            )
                            idle = True
                        log.debug("Drive not asked (outside the working hours)")
                        await asyncio.sleep(self.poll_seconds)
                        continue
                    if idle:
                        log.info("working hours: watching Drive's changes again")
                        idle = False
                    found = await asyncio.to_thread(watch.poll, settings)
                except Exception as error:  # noqa: BLE001 - each is logged by _fault; never fatal
                    failures += 1
                    delay = self._fault(error, failures, watch)
                    fault = operator_fault(error, watch.google_conn)
                    if fault is not None and fault.kind not in alerted:
                        alerted.add(fault.kind)  # once, sent or not: the log says which
                        await asyncio.to_thread(
                            send_watch_alert, fault, self.max_backoff_seconds, watch.settings_path
                        )
                    if not isinstance(error, SheetReadError | GoogleAuthError | ConfigError):
                        await asyncio.to_thread(watch.close)  # open everything again
                else:
                    if failures:
                        log.info("Drive's changes feed answers again")
                    failures = 0
                    alerted.clear()
                    resend = first or time.monotonic() - last_event >= self.refire_seconds
                    event = changes_event(found, resend)
                    first = False
                    if event is not None:
                        last_event = time.monotonic()
                        yield event
                await asyncio.sleep(delay)
        finally:
            await asyncio.to_thread(watch.close)

    def _backoff(self, failures: int) -> float:
        """The wait after ``failures`` faults in a row: doubling, up to the bound."""
        return float(min(self.max_backoff_seconds, self.poll_seconds * 2 ** min(failures, 30)))

    def _fault(self, error: Exception, failures: int, watch: DriveWatch) -> float:
        """Log one line for a look that failed, saying what to do if anything; return how long
        to wait before the next: passing faults back off, the operator's are tried slowly."""
        from google.auth.exceptions import GoogleAuthError, TransportError
        from sqlalchemy.exc import SQLAlchemyError

        from schoolnet.ingestion.ingest import SheetReadError
        from schoolnet.operations.connections import ConnectionNotDefined
        from schoolnet.orchestration.live import RETRY_LATER

        slowly = self.max_backoff_seconds
        if isinstance(error, SheetReadError) and error.code in RETRY_LATER:  # 429, 5xx, timeout
            delay = self._backoff(failures)
            log.warning(
                "Drive's changes feed refused or failed (%s: %s): the page token is kept; "
                "trying again in %gs",
                error.code,
                error.detail,
                delay,
            )
            return delay
        if isinstance(error, TransportError):  # Google's sign-in did not answer
            delay = self._backoff(failures)
            log.warning("Google's sign-in did not answer (%s); trying again in %gs", error, delay)
            return delay
        if isinstance(error, SheetReadError) and error.code == "not_shared":  # 403 from Drive
            watch.forget_google()
            log.error(
                "Drive refused the service account (%s): its key in Airflow connection %r may "
                "be revoked, or the Drive API turned off for its project; put a valid key in "
                "the connection (docs/operations.md, rotating the key) or turn the Drive API "
                "on. Nothing was lost; trying again in %gs",
                error.detail,
                watch.google_conn,
                slowly,
            )
        elif isinstance(error, GoogleAuthError):
            watch.forget_google()
            log.error(
                "Google sign-in failed (%s): the service account key in Airflow connection %r "
                "was refused (revoked, or its account deleted); put a valid key in the "
                "connection (docs/operations.md, rotating the key). Nothing was lost; trying "
                "again in %gs",
                error,
                watch.google_conn,
                slowly,
            )
        elif isinstance(error, SheetReadError):
            log.error(
                "Drive's changes feed failed (%s: %s); trying again in %gs",
                error.code,
                error.detail,
                slowly,
            )
        elif isinstance(error, ConfigError):
            log.error(
                "the settings file cannot be used (%s): fix it; trying again in %gs", error, slowly
            )
        elif isinstance(error, ConnectionNotDefined):
            log.error(
                "%s: define it (the environment variable %s, or in Airflow); trying again in %gs",
                error,
                error.variable,
                slowly,
            )
        elif isinstance(error, SQLAlchemyError):
            delay = self._backoff(failures)
            log.warning(
                "the warehouse did not answer (%s): nothing was saved, the page token stands; "
                "trying again in %gs",
                error,
                delay,
            )
            return delay
        else:
            log.exception("watching Drive failed; trying again in %gs", slowly)
        return slowly


def operator_fault(error: Exception, google_conn: str | None) -> WatchFault | None:
    """The fault as the operators' alert tells it, when only an operator can mend it (a
    refused key, a broken settings file, an undefined connection); None for passing faults
    (quota, outages), which the watch outlives by itself."""
    from google.auth.exceptions import GoogleAuthError, TransportError

    from schoolnet.delivery.alerts import WatchFault
    from schoolnet.ingestion.ingest import SheetReadError
    from schoolnet.operations.connections import ConnectionNotDefined

    conn = google_conn or "google"
    if isinstance(error, SheetReadError) and error.code == "not_shared":
        return WatchFault(
            kind="drive_refused",
            cause="Google Drive ปฏิเสธบัญชีบริการของระบบ (403)",
            action=f"ตรวจสอบคีย์ของบัญชีบริการใน Airflow connection {conn} และเปิดใช้ Drive API",
            action_en=f"put a valid key in Airflow connection {conn!r} or turn the Drive API on.",
            error=error.detail,
        )
    if isinstance(error, GoogleAuthError) and not isinstance(error, TransportError):
        return WatchFault(
            kind="key_refused",
            cause="Google ไม่รับคีย์ของบัญชีบริการ (คีย์ถูกเพิกถอนหรือบัญชีถูกลบ)",
            action=f"ใส่คีย์ใหม่ที่ใช้ได้ใน Airflow connection {conn} (docs/operations.md)",
            action_en=f"put a valid key in Airflow connection {conn!r} (docs/operations.md).",
            error=str(error),
        )
    if isinstance(error, ConfigError):
        return WatchFault(
            kind="settings",
            cause="ไฟล์ตั้งค่าของระบบใช้ไม่ได้",
            action="แก้ไฟล์ตั้งค่าตามข้อความข้อผิดพลาด",
            action_en="fix the settings file as the error says.",
            error=str(error),
        )
    if isinstance(error, ConnectionNotDefined):
        return WatchFault(
            kind="connection",
            cause="ยังไม่ได้กำหนด Airflow connection ที่ไฟล์ตั้งค่าระบุ",
            action=f"กำหนดตัวแปร {error.variable} หรือสร้าง connection ใน Airflow",
            action_en=f"define {error.variable} or the connection in Airflow.",
            error=str(error),
        )
    return None


def changes_event(found: Poll, resend: bool) -> TriggerEvent | None:
    """The event for one look: when it marked a sheet, or, when ``resend`` (the first look
    after a start, or the last event is ``refire_seconds`` old), when sheets wait; None for a
    quiet look."""
    waiting = [esa.esa_code for esa in found.pending]
    if not found.edited and not (resend and waiting):
        return None
    return TriggerEvent(  # type: ignore[no-untyped-call]  # Airflow: unannotated
        {
            "esa_codes": list(found.edited),
            "waiting": waiting,
            "source": found.source,
            "polled_at": datetime.now(UTC).isoformat(),
        }
    )
