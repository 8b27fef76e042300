"""Fast enough to teach with: connected schools against the speed target (``[speed_target]``).

The seed letter asks for internet for teaching and learning, not only for the office. A
connection counts as fast enough when its download speed meets the configured target (by
default Giga's 2030 school target, :class:`schoolnet.core.config.SpeedTarget`). The figures come
from
``sql/speed_target.sql`` (national, per province, per link type, per ESA) and
``sql/speed_shortfall.sql`` (the schools farthest below).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from sqlalchemy import Connection

from schoolnet.core.config import SpeedTarget
from schoolnet.warehouse.queries import fetch_all

SHORTFALL_ROWS = 50  # schools farthest below the target kept for the report (the PDF's list)


@dataclass(frozen=True)
class SpeedCounts:
    """Connected schools of one group, how many gave a speed, how many meet the target."""

    name: str | None  # province, link type or ESA code; "" for the whole country
    connected: int
    measured: int
    meeting: int

    @property
    def below(self) -> int:
        return self.measured - self.meeting

    @property
    def share(self) -> float | None:
        """Share of the measured schools that meet the target (None when none was measured)."""
        return self.meeting / self.measured if self.measured else None


@dataclass(frozen=True)
class Shortfall:
    """A connected school below its target."""

    school_code: str
    school_name: str | None
    esa_name: str | None
    province: str | None
    students: int | None
    isp: str | None
    link_type: str | None
    download_mbps: float
    required_mbps: float


@dataclass(frozen=True)
class SpeedReport:
    target: SpeedTarget
    national: SpeedCounts
    provinces: tuple[SpeedCounts, ...]  # smallest share meeting the target first
    link_types: tuple[SpeedCounts, ...]  # most connected schools first
    esas: Mapping[str, SpeedCounts] = field(default_factory=dict)  # by ESA code
    farthest_below: tuple[Shortfall, ...] = ()  # smallest share of its own target first

    @property
    def provinces_below(self) -> tuple[SpeedCounts, ...]:
        """Provinces with at least one connected school below the target."""
        return tuple(line for line in self.provinces if line.below)


def _counts(row: Mapping[str, Any]) -> SpeedCounts:
    return SpeedCounts(
        name=row["name"],
        connected=int(row["connected"]),
        measured=int(row["measured"] or 0),
        meeting=int(row["meeting"] or 0),
    )


def _worst_first(line: SpeedCounts) -> tuple[int, float, int, str]:
    share = line.share
    return (share is None, share if share is not None else 0.0, -line.below, line.name or "")


def speed_report(
    conn: Connection, report_date: date, target: SpeedTarget, shortfall_rows: int = SHORTFALL_ROWS
) -> SpeedReport:
    """Every speed figure of ``report_date`` against ``target``."""
    parameters = target.query_parameters()
    groups: dict[str, list[SpeedCounts]] = {}
    for row in fetch_all(conn, "speed_target", report_date=report_date, **parameters):
        groups.setdefault(row["dimension"], []).append(_counts(row))
    shortfalls = fetch_all(
        conn,
        "speed_shortfall",
        report_date=report_date,
        limit=shortfall_rows,
        **parameters,
    )
    return SpeedReport(
        target=target,
        national=groups["national"][0],
        provinces=tuple(sorted(groups.get("province", []), key=_worst_first)),
        link_types=tuple(
            sorted(groups.get("link_type", []), key=lambda line: (-line.connected, line.name or ""))
        ),
        esas={line.name or "": line for line in groups.get("esa", [])},
        farthest_below=tuple(
            Shortfall(
                school_code=row["school_code"],
                school_name=row["school_name"],
                esa_name=row["esa_name"],
                province=row["province"],
                students=row["students"],
                isp=row["isp"],
                link_type=row["link_type"],
                download_mbps=float(row["download_mbps"]),
                required_mbps=float(row["required_mbps"]),
            )
            for row in shortfalls
        ),
    )
