"""Typed settings, parsed once from a TOML file.

The file is ``$SCHOOLNET_CONFIG`` or, by default, ``config/schoolnet.toml`` in the project.
Relative paths in it are resolved against the project root. Secrets are never in this file:
they live in Airflow connections, named here by id.
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass
from datetime import datetime, time
from pathlib import Path
from typing import Any

from schoolnet.core.paths import project_root


class ConfigError(ValueError):
    """The settings file is missing a value or holds one of the wrong kind."""


@dataclass(frozen=True)
class RegistrySettings:
    esas: Path
    schools: Path
    esas_sheet: str = ""  # keep the ESA registry in this Google Sheet instead of the file
    esas_sheet_tab: str = "esas"


@dataclass(frozen=True)
class StorageSettings:
    data_dir: Path
    report_dir: Path

    def raw_dir(self, report_date: str) -> Path:
        return self.data_dir / "raw" / report_date

    def validated_dir(self, report_date: str) -> Path:
        return self.data_dir / "validated" / report_date

    def report_folder(self, report_date: str) -> Path:
        return self.report_dir / report_date


@dataclass(frozen=True)
class ConnectionIds:
    google: str
    warehouse: str
    smtp: str


@dataclass(frozen=True)
class GoogleSettings:
    request_timeout_seconds: float
    max_attempts: int
    backoff_base_seconds: float
    backoff_max_seconds: float
    folder_id: str = ""  # list only this Drive folder's sheets ("" = every sheet shared with us)
    read_requests_per_minute: float = 55  # Sheets reads, for all workers together (0 = unpaced)
    write_requests_per_minute: float = 55
    full_pull_every_days: int = 7  # read every sheet on these days whatever Drive says (0 = never)


@dataclass(frozen=True)
class SpeedTarget:
    """The download speed a connected school needs to teach online.

    Defaults are ITU/UNICEF Giga's 2030 school target: at least 20 Mbps for every school, and
    50 kbps per student for a school with more than 400 students (20 Mbps = 400 × 50 kbps).
    """

    min_mbps: float = 20.0
    kbps_per_student: float = 50.0
    per_student_over: int = 400  # the per-student rule applies above this many students

    def required_mbps(self, students: int | None) -> float:
        """The target of a school with ``students`` (the SQL in ``sql/speed_*.sql`` agrees)."""
        if students is not None and students > self.per_student_over:
            return max(self.min_mbps, students * self.kbps_per_student / 1000)
        return self.min_mbps

    def query_parameters(self) -> dict[str, float | int]:
        return {
            "min_mbps": float(self.min_mbps),
            "kbps_per_student": float(self.kbps_per_student),
            "per_student_over": int(self.per_student_over),
        }


@dataclass(frozen=True)
class ReportSettings:
    timezone: str
    mail_from: str
    to: tuple[str, ...]
    cc: tuple[str, ...]
    stale_after_days: int
    support_policy: Path | None = None  # the top-up policy file (None: the documented default)
    operators: tuple[str, ...] = ()  # who is alerted when a task fails (default: report.to)
    pace_window_days: int = 14  # days of progress the full-coverage estimate is drawn from
    email_list_limit: int = 20  # longest list in the email body; the PDF and XLSX hold all
    speed_target: SpeedTarget = SpeedTarget()  # fast enough to teach with ([speed_target])

    @property
    def alert_recipients(self) -> tuple[str, ...]:
        return self.operators or self.to


@dataclass(frozen=True)
class FeedbackSettings:
    write_tab: bool  # write findings to each ESA's own feedback tab
    email_esas: bool  # email each ESA's contact its findings every day


WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


@dataclass(frozen=True)
class LiveSettings:
    """When the near-live feedback DAG checks edited sheets (in ``report.timezone``)."""

    enabled: bool = True
    start: time = time(8, 0)  # first check of the day
    end: time = time(17, 0)  # no check starts at or after this
    days: tuple[int, ...] = (0, 1, 2, 3, 4)  # Monday = 0, as ESAs work Monday to Friday

    def covers(self, moment: datetime) -> bool:
        """Whether a check may start at ``moment`` (a local time)."""
        return (
            self.enabled
            and moment.weekday() in self.days
            and self.start <= moment.time().replace(tzinfo=None) < self.end
        )


@dataclass(frozen=True)
class Settings:
    registry: RegistrySettings
    storage: StorageSettings
    connections: ConnectionIds
    google: GoogleSettings
    report: ReportSettings
    feedback: FeedbackSettings
    source: Path
    live: LiveSettings = LiveSettings()


def default_config_path() -> Path:
    return Path(os.environ.get("SCHOOLNET_CONFIG") or project_root() / "config" / "schoolnet.toml")


def _section(raw: dict[str, Any], name: str) -> dict[str, Any]:
    value = raw.get(name)
    if not isinstance(value, dict):
        raise ConfigError(f"settings: section [{name}] is missing")
    return value


def _get(section: dict[str, Any], name: str, kind: type, where: str) -> Any:
    if name not in section:
        raise ConfigError(f"settings: [{where}] {name} is missing")
    value = section[name]
    if kind is float and isinstance(value, int):
        value = float(value)
    if not isinstance(value, kind):
        raise ConfigError(f"settings: [{where}] {name} must be a {kind.__name__}")
    return value


def _emails(section: dict[str, Any], name: str, where: str) -> tuple[str, ...]:
    values = section.get(name, [])
    if not isinstance(values, list) or not all(isinstance(v, str) and "@" in v for v in values):
        raise ConfigError(f"settings: [{where}] {name} must be a list of email addresses")
    return tuple(values)


def _speed_target(section: dict[str, Any]) -> SpeedTarget:
    """``[speed_target]``, every key optional (Giga's 2030 target by default)."""
    values = {**vars(SpeedTarget()), **section}
    target = SpeedTarget(
        min_mbps=_get(values, "min_mbps", float, "speed_target"),
        kbps_per_student=_get(values, "kbps_per_student", float, "speed_target"),
        per_student_over=_get(values, "per_student_over", int, "speed_target"),
    )
    if target.min_mbps <= 0 or target.kbps_per_student < 0 or target.per_student_over < 0:
        raise ConfigError(
            "settings: [speed_target] min_mbps must be above 0, kbps_per_student and "
            "per_student_over 0 or more"
        )
    return target


def parse_settings(raw: dict[str, Any], source: Path, root: Path | None = None) -> Settings:
    base = root or project_root()

    def path(section: dict[str, Any], name: str, where: str) -> Path:
        value = Path(_get(section, name, str, where))
        return value if value.is_absolute() else base / value

    registry = _section(raw, "registry")
    storage = _section(raw, "storage")
    connections = _section(raw, "connections")
    google = _section(raw, "google")
    report = _section(raw, "report")
    feedback = raw.get("feedback", {})
    settings = Settings(
        registry=RegistrySettings(
            esas=path(registry, "esas", "registry"),
            schools=path(registry, "schools", "registry"),
            esas_sheet=str(registry.get("esas_sheet", "")),
            esas_sheet_tab=str(registry.get("esas_sheet_tab", "esas")),
        ),
        storage=StorageSettings(
            data_dir=path(storage, "data_dir", "storage"),
            report_dir=path(storage, "report_dir", "storage"),
        ),
        connections=ConnectionIds(
            google=_get(connections, "google", str, "connections"),
            warehouse=_get(connections, "warehouse", str, "connections"),
            smtp=_get(connections, "smtp", str, "connections"),
        ),
        google=GoogleSettings(
            request_timeout_seconds=_get(google, "request_timeout_seconds", float, "google"),
            max_attempts=_get(google, "max_attempts", int, "google"),
            backoff_base_seconds=_get(google, "backoff_base_seconds", float, "google"),
            backoff_max_seconds=_get(google, "backoff_max_seconds", float, "google"),
            folder_id=str(google.get("folder_id", "")),
            full_pull_every_days=int(google.get("full_pull_every_days", 7)),
            read_requests_per_minute=float(google.get("read_requests_per_minute", 55)),
            write_requests_per_minute=float(google.get("write_requests_per_minute", 55)),
        ),
        report=ReportSettings(
            timezone=_get(report, "timezone", str, "report"),
            mail_from=_get(report, "mail_from", str, "report"),
            to=_emails(report, "to", "report"),
            cc=_emails(report, "cc", "report"),
            stale_after_days=_get(report, "stale_after_days", int, "report"),
            support_policy=path(report, "support_policy", "report")
            if report.get("support_policy")
            else None,
            operators=_emails(report, "operators", "report"),
            pace_window_days=int(report.get("pace_window_days", 14)),
            email_list_limit=int(report.get("email_list_limit", 20)),
            speed_target=_speed_target(raw.get("speed_target", {})),
        ),
        feedback=FeedbackSettings(
            write_tab=bool(feedback.get("write_tab", True)),
            email_esas=bool(feedback.get("email_esas", True)),
        ),
        source=source,
        live=_live(raw.get("live", {})),
    )
    if not settings.report.to:
        raise ConfigError("settings: [report] to must name at least one recipient")
    if settings.report.pace_window_days < 1 or settings.report.email_list_limit < 1:
        raise ConfigError("settings: [report] pace_window_days and email_list_limit must be ≥ 1")
    if settings.google.max_attempts < 1:
        raise ConfigError("settings: [google] max_attempts must be at least 1")
    return settings


def _live(section: Any) -> LiveSettings:
    """``[live]``: ``hours = "08:00-17:00"``, ``days = ["mon", ...]``, ``enabled``."""
    if not isinstance(section, dict):
        raise ConfigError("settings: [live] must be a table")
    hours = str(section.get("hours", "08:00-17:00"))
    try:
        first, _, last = hours.partition("-")
        start, end = time.fromisoformat(first.strip()), time.fromisoformat(last.strip())
    except ValueError:
        raise ConfigError(
            f'settings: [live] hours must look like "08:00-17:00", not {hours!r}'
        ) from None
    if not start < end:
        raise ConfigError(f"settings: [live] hours {hours!r} must start before they end")
    days = section.get("days", list(WEEKDAYS[:5]))
    if not isinstance(days, list) or not days or any(d not in WEEKDAYS for d in days):
        raise ConfigError(f"settings: [live] days must be a list of {', '.join(WEEKDAYS)}")
    return LiveSettings(
        enabled=bool(section.get("enabled", True)),
        start=start,
        end=end,
        days=tuple(sorted(WEEKDAYS.index(d) for d in set(days))),
    )


def read_toml(source: Path, what: str) -> dict[str, Any]:
    """A TOML file's tables, or a ConfigError naming ``what`` the file is and what is wrong."""
    try:
        with source.open("rb") as handle:
            return tomllib.load(handle)
    except FileNotFoundError as error:
        raise ConfigError(f"{what} file not found: {source}") from error
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(f"{what} file {source} is not valid TOML: {error}") from error


def load_settings(path: Path | None = None) -> Settings:
    """Read and check the settings file; called inside tasks, never at DAG parse time."""
    source = path or default_config_path()
    return parse_settings(read_toml(source, "settings"), source)
