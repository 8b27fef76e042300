"""The ministry's daily report: figures read from the warehouse, rendered in Thai from templates."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined
from sqlalchemy import Connection

from schoolnet import thai
from schoolnet.contract import load_contract
from schoolnet.mail import RenderedEmail
from schoolnet.paths import templates_dir
from schoolnet.warehouse.queries import fetch_all, fetch_one

MOENET_END = date(2018, 1, 1)
SUBJECT_PREFIX = "รายงานการเชื่อมต่ออินเทอร์เน็ตโรงเรียน สพฐ. ประจำวันที่"


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


@dataclass(frozen=True)
class EsaLine:
    esa_code: str
    esa_name: str
    province: str
    schools: int
    connected: int
    no_provider: int
    never_reported: int
    outcome: str | None
    reason: str | None
    last_good_date: date | None
    rows_rejected: int
    errors: int
    warnings: int
    stale: bool

    @property
    def unconnected(self) -> int:
        return self.schools - self.connected

    @property
    def unconnected_share(self) -> float:
        return self.unconnected / self.schools if self.schools else 0.0

    @property
    def flagged(self) -> bool:
        return self.outcome != "accepted" or self.stale


@dataclass(frozen=True)
class DailyReport:
    report_date: date
    previous_date: date | None
    national: StatusCounts
    previous: StatusCounts | None
    esas: tuple[EsaLine, ...]
    escalations: tuple[dict[str, Any], ...]

    @property
    def days_since_moenet(self) -> int:
        return (self.report_date - MOENET_END).days

    @property
    def connected_change(self) -> int | None:
        return None if self.previous is None else self.national.connected - self.previous.connected

    @property
    def flagged_esas(self) -> tuple[EsaLine, ...]:
        return tuple(line for line in self.esas if line.flagged)

    @property
    def subject(self) -> str:
        return f"{SUBJECT_PREFIX} {thai.thai_date(self.report_date)}"


def build_report(conn: Connection, report_date: date, stale_after_days: int) -> DailyReport:
    """Read every figure of the report for ``report_date`` through the ``sql/`` queries."""
    national = StatusCounts(**fetch_one(conn, "national_summary", report_date=report_date))
    previous_date = fetch_one(conn, "previous_report_date", report_date=report_date)[
        "previous_date"
    ]
    previous = (
        StatusCounts(**fetch_one(conn, "national_summary", report_date=previous_date))
        if previous_date is not None
        else None
    )
    lines = []
    for row in fetch_all(conn, "esa_summary", report_date=report_date):
        last_good = row["last_good_date"]
        stale = last_good is None or (report_date - last_good).days >= stale_after_days
        lines.append(
            EsaLine(
                esa_code=row["esa_code"],
                esa_name=row["esa_name"],
                province=row["province"],
                schools=int(row["schools"]),
                connected=int(row["connected"]),
                no_provider=int(row["no_provider"]),
                never_reported=int(row["never_reported"]),
                outcome=row["outcome"],
                reason=row["reason"],
                last_good_date=last_good,
                rows_rejected=int(row["rows_rejected"]),
                errors=int(row["errors"]),
                warnings=int(row["warnings"]),
                stale=stale,
            )
        )
    lines.sort(key=lambda line: (-line.unconnected_share, line.esa_code))
    escalations = tuple(fetch_all(conn, "no_provider_schools", report_date=report_date))
    return DailyReport(
        report_date=report_date,
        previous_date=previous_date,
        national=national,
        previous=previous,
        esas=tuple(lines),
        escalations=escalations,
    )


def _autoescape(template_name: str | None) -> bool:
    """HTML templates escape every value; only the plain-text part is left as typed."""
    return not (template_name or "").endswith(".txt.j2")


def template_environment(folder: Path | None = None) -> Environment:
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
        number=thai.number,
        signed=thai.signed,
        isp_label=lambda key: contract.enum_label("isp", key) if key else "",
    )
    environment.globals.update(
        percent=thai.percent, status_label=lambda key: contract.enum_label("status", key)
    )
    return environment


def render_report(report: DailyReport, environment: Environment | None = None) -> RenderedEmail:
    environment = environment or template_environment()
    context = {"report": report, "moenet_end": MOENET_END}
    return RenderedEmail(
        subject=report.subject,
        html=environment.get_template("report.html.j2").render(context),
        text=environment.get_template("report.txt.j2").render(context),
    )
