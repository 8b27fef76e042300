"""The ministry's daily report: every figure read from the warehouse through ``sql/``.

``build_report`` gathers the figures into a ``DailyReport``; ``schoolnet.report.files`` renders it
(email HTML and text, charts, PDF, XLSX). The questions are the seed letter's: how far from every
school online, who is behind, which schools no provider reaches, what it costs, and what top-up
the policy would grant.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from fractions import Fraction
from functools import cache
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined
from sqlalchemy import Connection

from schoolnet.contract import load_contract
from schoolnet.core import thai
from schoolnet.core.config import SpeedTarget
from schoolnet.core.message import RenderedEmail
from schoolnet.core.paths import templates_dir
from schoolnet.report.policy import SupportLine, SupportPolicy, load_policy, support_lines
from schoolnet.report.speed import SpeedReport, speed_report
from schoolnet.report.texts import report_text
from schoolnet.warehouse.analysis import connection_pace, full_coverage_date
from schoolnet.warehouse.queries import fetch_all, fetch_one

MOENET_END = date(2018, 1, 1)
SUBJECT_PREFIX = report_text("report_subject_prefix")
TREND_DAYS = 365  # the progress chart's span
LOST_WINDOW_DAYS = 7  # the longer list of schools that lost their connection


@dataclass(frozen=True)
class StatusCounts:
    schools: int
    connected: int
    procuring: int
    not_connected: int
    no_provider: int
    never_reported: int
    carried_forward: int

    @property
    def unconnected(self) -> int:
        return self.schools - self.connected


def is_stale(days_since_update: int | None, stale_after_days: int) -> bool:
    """The report's rule: an ESA is behind when its data was never read, or has not changed
    for ``stale_after_days`` days or more (``[report] stale_after_days``)."""
    return days_since_update is None or days_since_update >= stale_after_days


def esa_updates(conn: Connection, report_date: date) -> dict[str, dict[str, Any]]:
    """Every ESA of the latest run's registry (the ``esa`` table), by code, with its outcome on
    ``report_date``, the date its data last changed (``data_changed_on``) and the whole days
    since (``days_since_update``, None: never read): ``sql/stale_esas.sql``, which lists the
    ESAs behind by at least ``days``, and with days=0 lists them all."""
    return {
        row["esa_code"]: row
        for row in fetch_all(conn, "stale_esas", report_date=report_date, days=0)
    }


@dataclass(frozen=True)
class EsaLine:
    esa_code: str
    esa_name: str
    province: str
    schools: int
    connected: int
    no_provider: int
    never_reported: int
    outcome: str | None  # accepted | rejected | failed | None (not pulled that day)
    reason: str | None  # Thai, why the sheet could not be used
    last_good_date: date | None
    rows_rejected: int
    errors: int
    warnings: int
    days_since_update: int | None  # None: the sheet was never read
    stale_after_days: int
    report_date: date

    @property
    def unconnected(self) -> int:
        return self.schools - self.connected

    @property
    def unconnected_ratio(self) -> Fraction:
        """The share exactly, for ranking: equal shares tie, then the ESA code decides."""
        return Fraction(self.unconnected, self.schools) if self.schools else Fraction(0)

    @property
    def unreadable(self) -> bool:
        return self.outcome != "accepted"

    @property
    def stale(self) -> bool:
        return is_stale(self.days_since_update, self.stale_after_days)

    @property
    def flagged(self) -> bool:
        return self.unreadable or self.stale

    @property
    def last_update(self) -> date | None:
        """The day the data shown for this ESA last changed: its last usable read if today's
        could not be used, else the day its sheet was last updated."""
        if self.unreadable:
            return self.last_good_date
        if self.days_since_update is None:
            return None
        return self.report_date - timedelta(days=self.days_since_update)

    @property
    def open_findings(self) -> int:
        return self.errors + self.warnings

    @property
    def flag_reason(self) -> str:
        """Why the ESA is flagged, in Thai ("" when it is not)."""
        text = load_contract().sheet_text
        if self.unreadable:
            return self.reason or text("flag_not_read")
        if self.days_since_update is None:
            return text("flag_never_read")
        if self.stale:
            return text("flag_stale", days=f"{self.days_since_update:,d}")
        return ""


@dataclass(frozen=True)
class TrendPoint:
    report_date: date
    schools: int
    connected: int


@dataclass(frozen=True)
class ProvinceShare:
    """Schools of one province (the school's own; None: no longer in the registry), for the map."""

    province: str | None
    schools: int
    connected: int

    @property
    def share(self) -> float | None:
        return self.connected / self.schools if self.schools else None


@dataclass(frozen=True)
class CostLine:
    link_type: str
    connected: int
    monthly_fee_total_thb: float | None
    median_monthly_fee_thb: float | None
    median_fee_per_mbps_thb: float | None


@dataclass(frozen=True)
class LostSchool:
    """A school connected at one report and not at the next (``sql/lost_connections.sql``):
    what it had before, and what its ESA says of it today."""

    lost_on: date  # the first report that found it not connected (the latest such, if twice)
    before_date: date  # the report before, when it was still connected
    school_code: str
    school_name: str
    esa_code: str
    esa_name: str
    province: str | None
    students: int | None
    previous_isp: str | None
    previous_link_type: str | None
    status: str | None  # today's
    reconnected: bool  # connected again by the report date
    note: str | None  # today's, as the clerk typed it
    accepted_on: date | None


def lost_connections(conn: Connection, report_date: date, since_date: date) -> list[LostSchool]:
    """Schools that lost their connection at a report after ``since_date`` up to
    ``report_date``, once each, by ESA code then school code."""
    return [
        LostSchool(
            lost_on=row["lost_on"],
            before_date=row["before_date"],
            school_code=row["school_code"],
            school_name=row["school_name"],
            esa_code=row["esa_code"],
            esa_name=row["esa_name"],
            province=row["province"],
            students=None if row["students"] is None else int(row["students"]),
            previous_isp=row["previous_isp"],
            previous_link_type=row["previous_link_type"],
            status=row["status"],
            reconnected=bool(row["reconnected"]),
            note=row["note"],
            accepted_on=row["accepted_on"],
        )
        for row in fetch_all(
            conn, "lost_connections", report_date=report_date, since_date=since_date
        )
    ]


@dataclass(frozen=True)
class DailyReport:
    report_date: date
    previous_date: date | None
    national: StatusCounts
    previous: StatusCounts | None
    esas: tuple[EsaLine, ...]  # worst share of unconnected schools first
    escalations: tuple[dict[str, Any], ...]
    trend: tuple[TrendPoint, ...]
    pace_per_day: Fraction | None  # connected schools gained a day, recently
    full_coverage: date | None  # when every school is connected at that pace
    costs: tuple[CostLine, ...]
    support: tuple[SupportLine, ...]
    stale_after_days: int
    provinces: tuple[ProvinceShare, ...] = ()  # the map's figures, by the school's own province
    speed: SpeedReport | None = None  # fast enough to teach with
    gained: int | None = None  # schools connected since the previous report (None: no report)
    lost: tuple[LostSchool, ...] = ()  # schools that lost their connection since then
    lost_recently: tuple[LostSchool, ...] = ()  # ... over the last LOST_WINDOW_DAYS days

    @property
    def days_since_moenet(self) -> int:
        return (self.report_date - MOENET_END).days

    @property
    def connected_change(self) -> int | None:
        return None if self.previous is None else self.national.connected - self.previous.connected

    @property
    def lost_window_days(self) -> int:
        return LOST_WINDOW_DAYS

    @property
    def reconnected(self) -> tuple[LostSchool, ...]:
        """Schools lost over the last days that are connected again by the report date."""
        return tuple(school for school in self.lost_recently if school.reconnected)

    @property
    def flagged_esas(self) -> tuple[EsaLine, ...]:
        """Flagged ESAs, those whose sheet could not be used first, then the longest behind."""
        flagged = [line for line in self.esas if line.flagged]
        return tuple(
            sorted(
                flagged,
                key=lambda line: (
                    not line.unreadable,
                    -(line.days_since_update if line.days_since_update is not None else 10**6),
                    line.esa_code,
                ),
            )
        )

    @property
    def quality_esas(self) -> tuple[EsaLine, ...]:
        """ESAs with rejected rows or open findings, most to fix first."""
        lines = [line for line in self.esas if line.rows_rejected or line.open_findings]
        return tuple(
            sorted(lines, key=lambda line: (-line.rows_rejected, -line.errors, line.esa_code))
        )

    @property
    def provinces_fewest_connected(self) -> tuple[ProvinceShare, ...]:
        """Provinces with schools, the smallest share connected first."""
        lines = [line for line in self.provinces if line.province and line.schools]
        return tuple(sorted(lines, key=lambda line: (line.share or 0.0, line.province or "")))

    @property
    def rows_rejected(self) -> int:
        return sum(line.rows_rejected for line in self.esas)

    @property
    def open_findings(self) -> int:
        return sum(line.open_findings for line in self.esas)

    @property
    def support_requested_thb(self) -> Decimal:
        return sum((line.requested_thb for line in self.support), Decimal(0))

    @property
    def support_granted_thb(self) -> Decimal:
        return sum((line.granted_thb for line in self.support), Decimal(0))

    @property
    def subject(self) -> str:
        return f"{SUBJECT_PREFIX} {thai.thai_date(self.report_date)}"


def _esa_line(
    row: Mapping[str, Any], update: Mapping[str, Any], stale_after_days: int, report_date: date
) -> EsaLine:
    return EsaLine(
        esa_code=row["esa_code"],
        esa_name=row["esa_name"],
        province=row["province"],
        schools=int(row["schools"]),
        connected=int(row["connected"]),
        no_provider=int(row["no_provider"]),
        never_reported=int(row["never_reported"]),
        outcome=row["outcome"],
        reason=row["reason"],
        last_good_date=row["last_good_date"],
        rows_rejected=int(row["rows_rejected"]),
        errors=int(row["errors"]),
        warnings=int(row["warnings"]),
        days_since_update=update.get("days_since_update"),
        stale_after_days=stale_after_days,
        report_date=report_date,
    )


def build_report(
    conn: Connection,
    report_date: date,
    stale_after_days: int,
    policy: SupportPolicy | None = None,
    pace_window_days: int = 14,
    speed_target: SpeedTarget | None = None,
) -> DailyReport:
    """Read every figure of the report for ``report_date`` through the ``sql/`` queries."""
    policy = policy or load_policy()
    national = StatusCounts(**fetch_one(conn, "national_summary", report_date=report_date))
    previous_date = fetch_one(conn, "previous_report_date", report_date=report_date)[
        "previous_date"
    ]
    previous = (
        StatusCounts(**fetch_one(conn, "national_summary", report_date=previous_date))
        if previous_date is not None
        else None
    )
    gained = (
        int(
            fetch_one(
                conn, "gained_connections", report_date=report_date, previous_date=previous_date
            )["gained"]
        )
        if previous_date is not None
        else None
    )
    lost = lost_connections(conn, report_date, previous_date) if previous_date else []
    lost_recently = lost_connections(
        conn, report_date, report_date - timedelta(days=LOST_WINDOW_DAYS)
    )
    updates = esa_updates(conn, report_date)  # every ESA's days since its data last changed
    lines = [
        _esa_line(row, updates.get(row["esa_code"], {}), stale_after_days, report_date)
        for row in fetch_all(conn, "esa_summary", report_date=report_date)
    ]
    lines.sort(key=lambda line: (-line.unconnected_ratio, line.esa_code))
    trend_rows = fetch_all(
        conn,
        "trend",
        from_date=report_date - timedelta(days=TREND_DAYS),
        report_date=report_date,
    )
    trend = tuple(
        TrendPoint(row["report_date"], int(row["schools"]), int(row["connected"]))
        for row in trend_rows
    )
    costs = tuple(
        CostLine(
            link_type=row["link_type"] or "other",
            connected=int(row["connected"]),
            monthly_fee_total_thb=row["monthly_fee_total_thb"],
            median_monthly_fee_thb=row["median_monthly_fee_thb"],
            median_fee_per_mbps_thb=row["median_fee_per_mbps_thb"],
        )
        for row in fetch_all(conn, "cost_by_link_type", report_date=report_date)
    )
    support = support_lines(
        policy,
        fetch_all(
            conn, "support_by_size_class", report_date=report_date, **policy.query_parameters()
        ),
        fetch_all(conn, "support_requests", report_date=report_date),
    )
    return DailyReport(
        report_date=report_date,
        previous_date=previous_date,
        national=national,
        previous=previous,
        esas=tuple(lines),
        escalations=tuple(fetch_all(conn, "no_provider_schools", report_date=report_date)),
        trend=trend,
        pace_per_day=connection_pace(trend_rows, pace_window_days),
        full_coverage=full_coverage_date(trend_rows, pace_window_days),
        costs=costs,
        support=support,
        stale_after_days=stale_after_days,
        provinces=tuple(
            ProvinceShare(row["province"], int(row["schools"]), int(row["connected"]))
            for row in fetch_all(conn, "province_summary", report_date=report_date)
        ),
        speed=speed_report(conn, report_date, speed_target or SpeedTarget()),
        gained=gained,
        lost=tuple(lost),
        lost_recently=tuple(lost_recently),
    )


def _autoescape(template_name: str | None) -> bool:
    """HTML templates escape every value; only the plain-text part is left as typed."""
    return not (template_name or "").endswith(".txt.j2")


@cache
def template_environment(folder: Path | None = None) -> Environment:
    """One Jinja environment per templates folder and process: each compiles a template once,
    and the email, the PDF and the ESA feedback share it."""
    contract = load_contract()
    environment = Environment(
        loader=FileSystemLoader(folder or templates_dir()),
        autoescape=_autoescape,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    environment.filters.update(
        thai_date=thai.thai_date,
        thai_date_short=thai.thai_date_short,
        number=thai.number,
        signed=thai.signed,
        baht=thai.number,
        isp_label=lambda key: contract.enum_label("isp", key) if key else "",
        link_label=lambda key: contract.enum_label("link_type", key) if key else "",
    )
    environment.globals.update(
        percent=thai.percent,
        status_label=lambda key: contract.enum_label("status", key),
        finding_headings=contract.finding_headings,
        severity_labels=contract.severity_labels,
        feedback_tab=contract.feedback_tab,
    )
    return environment


def render_report(
    report: DailyReport,
    environment: Environment | None = None,
    *,
    charts: Mapping[str, Any] | None = None,
    list_limit: int = 20,
) -> RenderedEmail:
    """The email's subject, HTML part (CSS not yet inlined) and plain-text part.

    ``charts`` maps a chart's name to an object with ``cid_name`` and ``alt``; the HTML shows
    each as ``<img src="cid:...">`` (see ``schoolnet.report.files``).
    """
    environment = environment or template_environment()
    context = {
        "report": report,
        "moenet_end": MOENET_END,
        "charts": charts or {},
        "limit": list_limit,
    }
    return RenderedEmail(
        subject=report.subject,
        html=environment.get_template("report_email.html.j2").render(context),
        text=environment.get_template("report.txt.j2").render(context),
    )
