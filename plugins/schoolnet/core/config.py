"""Typed settings, parsed once from a TOML file by pydantic.

The file is ``$SCHOOLNET_CONFIG`` or, by default, ``config/schoolnet.toml`` in the project.
Relative paths in it are resolved against the project root. Secrets are never in this file:
they live in Airflow connections, named here by id.

Every value is checked strictly against its type (``"false"`` is not a bool, ``"20"`` not a
number) and an unknown key is refused, so a typo never silently falls back to a default; the
error names the file, the section and key, and what to write instead.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import tomllib
from datetime import datetime, time
from pathlib import Path
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    BeforeValidator,
    ConfigDict,
    Field,
    Strict,
    StrictBool,
    StrictInt,
    StrictStr,
    TypeAdapter,
    ValidationError,
    ValidationInfo,
)
from pydantic.dataclasses import dataclass
from pydantic_core import ErrorDetails

from schoolnet.core.paths import project_root
from schoolnet.core.schedule import TIMEZONE


class ConfigError(ValueError):
    """The settings file is missing a value or holds one of the wrong kind."""


# Every settings type refuses keys it does not know; scalars are strict (no "false" for a bool).
SECTION = ConfigDict(extra="forbid")
StrictFloat = Annotated[float, Strict()]  # an int is a float too (60 seconds = 60.0)


def _project_path(value: Any, info: ValidationInfo) -> Any:
    """A path in the file, resolved against the project root (given as validation context)."""
    if isinstance(value, str):
        value = Path(value)
    root = (info.context or {}).get("root")
    if isinstance(value, Path) and root is not None and not value.is_absolute():
        return root / value
    return value


def _optional_path(value: Any, info: ValidationInfo) -> Any:
    """``""`` stands for no path (the documented default)."""
    return None if value == "" else _project_path(value, info)


def _list_to_tuple(value: Any) -> Any:
    """TOML arrays are lists; settings keep tuples (immutable)."""
    return tuple(value) if isinstance(value, list) else value


def _schedule_timezone(value: str) -> str:
    """The report date's timezone is the schedule's, which the DAG files fix when parsed."""
    if value != TIMEZONE:
        raise ValueError(
            f"must be {TIMEZONE!r}, not {value!r}: the morning schedule and every report date "
            f"are in {TIMEZONE} (leave the key out)"
        )
    return value


def _email(value: str) -> str:
    if "@" not in value:
        raise ValueError(f"must be an email address, not {value!r}")
    return value


ProjectPath = Annotated[Path, BeforeValidator(_project_path)]
Email = Annotated[StrictStr, AfterValidator(_email)]
Emails = Annotated[tuple[Email, ...], BeforeValidator(_list_to_tuple)]


@dataclass(frozen=True, config=SECTION)
class RegistrySettings:
    esas: ProjectPath
    schools: ProjectPath
    esas_sheet: StrictStr = ""  # keep the ESA registry in this Google Sheet instead of the file
    esas_sheet_tab: StrictStr = "esas"


@dataclass(frozen=True, config=SECTION)
class StorageSettings:
    data_dir: ProjectPath
    report_dir: ProjectPath

    def raw_dir(self, report_date: str) -> Path:
        return self.data_dir / "raw" / report_date

    def validated_dir(self, report_date: str) -> Path:
        return self.data_dir / "validated" / report_date

    def report_folder(self, report_date: str) -> Path:
        return self.report_dir / report_date


@dataclass(frozen=True, config=SECTION)
class ConnectionIds:
    google: StrictStr
    warehouse: StrictStr
    smtp: StrictStr


@dataclass(frozen=True, config=SECTION)
class GoogleSettings:
    request_timeout_seconds: StrictFloat
    max_attempts: Annotated[StrictInt, Field(ge=1)]
    backoff_base_seconds: StrictFloat
    backoff_max_seconds: StrictFloat
    folder_id: StrictStr = ""  # list only this Drive folder's sheets ("" = every sheet shared)
    read_requests_per_minute: StrictFloat = 55  # Sheets reads, for all workers (0 = unpaced)
    write_requests_per_minute: StrictFloat = 55
    full_pull_every_days: StrictInt = 7  # read every sheet on these days whatever Drive says


@dataclass(frozen=True, config=SECTION)
class SpeedTarget:
    """The download speed a connected school needs to teach online.

    Defaults are ITU/UNICEF Giga's 2030 school target: at least 20 Mbps for every school, and
    50 kbps per student for a school with more than 400 students (20 Mbps = 400 × 50 kbps).
    """

    min_mbps: Annotated[StrictFloat, Field(gt=0)] = 20.0
    kbps_per_student: Annotated[StrictFloat, Field(ge=0)] = 50.0
    # the per-student rule applies above this many students
    per_student_over: Annotated[StrictInt, Field(ge=0)] = 400

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


@dataclass(frozen=True, config=SECTION)
class ReportSettings:
    mail_from: StrictStr
    to: Annotated[Emails, Field(min_length=1)]
    stale_after_days: StrictInt
    # the schedule's (schoolnet.schedule); accepted for files written when it was a setting
    timezone: Annotated[StrictStr, AfterValidator(_schedule_timezone)] = TIMEZONE
    cc: Emails = ()
    # the top-up policy file (None or "": the documented default)
    support_policy: Annotated[Path | None, BeforeValidator(_optional_path)] = None
    operators: Emails = ()  # who is alerted when a task fails (default: report.to)
    # days of progress the full-coverage estimate is drawn from
    pace_window_days: Annotated[StrictInt, Field(ge=1)] = 14
    # longest list in the email body; the PDF and XLSX hold all
    email_list_limit: Annotated[StrictInt, Field(ge=1)] = 20
    # fast enough to teach with: the file's own [speed_target] section
    speed_target: SpeedTarget = SpeedTarget()

    @property
    def alert_recipients(self) -> tuple[str, ...]:
        return self.operators or self.to


@dataclass(frozen=True, config=SECTION)
class FeedbackSettings:
    write_tab: StrictBool = True  # write findings to each ESA's own feedback tab
    email_esas: StrictBool = True  # email each ESA's contact its findings every day


WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


@dataclass(frozen=True, config=SECTION)
class LiveSettings:
    """When the near-live feedback DAG checks edited sheets (in ``schedule.TIMEZONE``)."""

    enabled: StrictBool = True
    start: time = time(8, 0)  # first check of the day
    end: time = time(17, 0)  # no check starts at or after this
    days: tuple[int, ...] = (0, 1, 2, 3, 4)  # Monday = 0, as ESAs work Monday to Friday
    # No check starts this many minutes before the morning run: it has the Google quota then.
    pause_before_morning_minutes: int = 10

    def covers(self, moment: datetime) -> bool:
        """Whether a check may start at ``moment`` (a local time); an ``end`` of ``time.max``
        ("24:00" in the file) takes in the day's last moment too."""
        clock = moment.time().replace(tzinfo=None)
        return (
            self.enabled
            and moment.weekday() in self.days
            and self.start <= clock
            and (clock < self.end or self.end == time.max)
        )


def _hours(value: str) -> tuple[time, time]:
    """``"08:00-17:00"`` as two times; an end of ``"24:00"`` is the end of the day."""
    try:
        first, _, last = value.partition("-")
        start = time.fromisoformat(first.strip())
        end = time.max if last.strip() == "24:00" else time.fromisoformat(last.strip())
    except ValueError:
        raise ValueError(
            f'must look like "08:00-17:00" (or "00:00-24:00"), not {value!r}'
        ) from None
    if not start < end:
        raise ValueError(f"{value!r} must start before they end")
    return start, end


def _check_hours(value: str) -> str:
    _hours(value)
    return value


def _weekdays(value: tuple[str, ...]) -> tuple[str, ...]:
    if not value or any(day not in WEEKDAYS for day in value):
        raise ValueError(f"must be a list of {', '.join(WEEKDAYS)}")
    return value


@dataclass(frozen=True, config=SECTION)
class LiveSection:
    """``[live]`` as written: ``hours = "08:00-17:00"``, ``days = ["mon", ...]``, ``enabled``,
    ``pause_before_morning_minutes``."""

    enabled: StrictBool = True
    hours: Annotated[StrictStr, AfterValidator(_check_hours)] = "08:00-17:00"
    days: Annotated[
        tuple[StrictStr, ...], BeforeValidator(_list_to_tuple), AfterValidator(_weekdays)
    ] = WEEKDAYS[:5]
    pause_before_morning_minutes: Annotated[StrictInt, Field(ge=0, le=120)] = 10

    def settings(self) -> LiveSettings:
        start, end = _hours(self.hours)
        days = tuple(sorted({WEEKDAYS.index(day) for day in self.days}))
        return LiveSettings(
            enabled=self.enabled,
            start=start,
            end=end,
            days=days,
            pause_before_morning_minutes=self.pause_before_morning_minutes,
        )


@dataclass(frozen=True, config=SECTION)
class Settings:
    registry: RegistrySettings
    storage: StorageSettings
    connections: ConnectionIds
    google: GoogleSettings
    report: ReportSettings
    feedback: FeedbackSettings
    source: Path
    live: LiveSettings = LiveSettings()


@dataclass(frozen=True, config=SECTION)
class SettingsFile:
    """The file's sections as written; :meth:`settings` gives the settings the code reads."""

    registry: RegistrySettings
    storage: StorageSettings
    connections: ConnectionIds
    google: GoogleSettings
    report: ReportSettings
    feedback: FeedbackSettings = FeedbackSettings()
    speed_target: SpeedTarget = SpeedTarget()
    live: LiveSection = LiveSection()

    def settings(self, source: Path) -> Settings:
        return Settings(
            registry=self.registry,
            storage=self.storage,
            connections=self.connections,
            google=self.google,
            report=dataclasses.replace(self.report, speed_target=self.speed_target),
            feedback=self.feedback,
            source=source,
            live=self.live.settings(),
        )


_SECTIONS: dict[str, Any] = {
    "registry": RegistrySettings,
    "storage": StorageSettings,
    "connections": ConnectionIds,
    "google": GoogleSettings,
    "report": ReportSettings,
    "feedback": FeedbackSettings,
    "speed_target": SpeedTarget,
    "live": LiveSection,
}

# What each kind of value looks like in the file, for the error's "write ..." part.
_WRITE = {
    "bool_type": "true or false, without quotes",
    "int_type": "a whole number without quotes, e.g. 7",
    "int_from_float": "a whole number without quotes, e.g. 7",
    "float_type": "a number without quotes, e.g. 20 or 20.5",
    "string_type": 'text in double quotes, e.g. "…"',
    "tuple_type": 'a list in brackets, e.g. ["ict-report@obec.go.th"]',
    "dataclass_type": "a [section] table",
    "time_type": 'a time such as "08:00"',
}
_KIND = {
    "bool_type": "bool",
    "int_type": "int",
    "int_from_float": "int",
    "float_type": "float",
    "string_type": "str",
    "tuple_type": "list",
    "dataclass_type": "table",
}


def _known_keys(section: str) -> str:
    """The keys a section takes (every section's name when ``section`` is not one)."""
    if section not in _SECTIONS:
        return ", ".join(f"[{name}]" for name in _SECTIONS)
    names = [field.name for field in dataclasses.fields(_SECTIONS[section])]
    return ", ".join(name for name in names if not (section == "report" and name == "speed_target"))


def _explain(error: ErrorDetails) -> str:
    """One pydantic error as a sentence an operator can act on."""
    loc = [str(part) for part in error["loc"]]
    kind = error["type"]
    if len(loc) == 1:
        if kind == "missing":
            return f"section [{loc[0]}] is missing"
        if kind == "unexpected_keyword_argument":
            return f"section [{loc[0]}] is not a settings section (they are {_known_keys('')})"
        return f"[{loc[0]}] must be a table: write it as a [{loc[0]}] section"
    where = f"[{loc[0]}] {loc[1]}" + (f" (item {int(loc[2]) + 1})" if len(loc) > 2 else "")
    given = error.get("input")
    if kind == "missing":
        return f"{where} is missing"
    if kind == "unexpected_keyword_argument":
        return (
            f"{where} is not a setting of [{loc[0]}]: remove it or correct its spelling "
            f"(the keys are {_known_keys(loc[0])})"
        )
    if kind in _KIND:
        return f"{where} must be a {_KIND[kind]}, not {given!r}: write {_WRITE[kind]}"
    context = error.get("ctx") or {}
    if kind == "greater_than":
        return f"{where} must be above {context['gt']}, not {given!r}"
    if kind == "greater_than_equal":
        return f"{where} must be {context['ge']} or more, not {given!r}"
    if kind == "too_short":
        return f'{where} must name at least one address: write e.g. {loc[1]} = ["…@obec.go.th"]'
    if kind == "value_error":
        return f"{where} {context.get('error', error['msg'])}"
    return f"{where}: {error['msg']}, not {given!r}"


_SETTINGS_FILE = TypeAdapter(SettingsFile)


def default_config_path() -> Path:
    return Path(os.environ.get("SCHOOLNET_CONFIG") or project_root() / "config" / "schoolnet.toml")


def parse_settings(raw: dict[str, Any], source: Path, root: Path | None = None) -> Settings:
    """The settings of a file's tables, or a ConfigError naming every mistake in it."""
    if isinstance(raw.get("report"), dict) and "speed_target" in raw["report"]:
        raise ConfigError(
            f"settings file {source}: [report] speed_target is not a setting of [report]: "
            "write it as its own [speed_target] section"
        )
    try:
        parsed = _SETTINGS_FILE.validate_python(raw, context={"root": root or project_root()})
    except ValidationError as error:
        problems = "\n  ".join(_explain(detail) for detail in error.errors())
        raise ConfigError(f"settings file {source}:\n  {problems}") from None
    return parsed.settings(source)


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


OPERATORS_VARIABLE = "SCHOOLNET_OPERATORS"
"""Comma-separated addresses alerted when the settings file cannot be read (deployment .env)."""


@dataclasses.dataclass(frozen=True)
class AlertRoute:
    """Whom a failed task's alert goes to, from whom, through which SMTP connection."""

    recipients: tuple[str, ...]
    mail_from: str | None
    smtp: str
    settings_error: str | None = None  # why the checked settings could not be used


def alert_route(path: Path | None = None) -> AlertRoute:
    """The operators' alert route: from the settings when they are sound; else from what can
    still be read of the file (``[report] operators``, ``mail_from``, ``[connections] smtp``)
    and ``$SCHOOLNET_OPERATORS``. A broken settings file must not silence the alert that says
    it is broken."""
    try:
        settings = load_settings(path)
    except ConfigError as error:
        broken = str(error)
    else:
        return AlertRoute(
            settings.report.alert_recipients, settings.report.mail_from, settings.connections.smtp
        )
    raw: dict[str, Any] = {}
    # Nothing readable: the environment's addresses and the defaults below.
    with contextlib.suppress(OSError, UnicodeDecodeError, tomllib.TOMLDecodeError):
        raw = tomllib.loads((path or default_config_path()).read_text(encoding="utf-8"))
    report: dict[str, Any] = raw["report"] if isinstance(raw.get("report"), dict) else {}
    connections: dict[str, Any] = (
        raw["connections"] if isinstance(raw.get("connections"), dict) else {}
    )
    listed = report.get("operators") or report.get("to") or []
    named = [item for item in listed if isinstance(item, str)] if isinstance(listed, list) else []
    from_env = os.environ.get("SCHOOLNET_OPERATORS", "").split(",")
    recipients = tuple(
        dict.fromkeys(a.strip() for a in [*named, *from_env] if "@" in a and a.strip())
    )
    mail_from = report.get("mail_from")
    smtp = connections.get("smtp")
    return AlertRoute(
        recipients,
        mail_from if isinstance(mail_from, str) and "@" in mail_from else None,
        smtp if isinstance(smtp, str) and smtp else "smtp_default",
        settings_error=broken,
    )
