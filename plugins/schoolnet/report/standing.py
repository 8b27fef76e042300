"""Each ESA's own standing, for the top of its daily feedback email.

A clerk hears every morning which cells to fix; the standing tells the office how it is doing:
its schools connected and the change since the last report, its rank among the ESAs of its
level, its schools no provider reaches, its share meeting the speed target, and by name its
schools that lost their connection since the last report. The figures are the report's own
(``sql/esa_summary.sql``, ``sql/speed_target.sql``, ``sql/lost_connections.sql``), so an ESA
reads the same numbers the ministry does.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from sqlalchemy import Connection

from schoolnet.core.config import SpeedTarget
from schoolnet.report.daily import LostSchool, lost_connections
from schoolnet.report.policy import LEVEL_LABELS
from schoolnet.report.speed import SpeedCounts, speed_report
from schoolnet.warehouse.queries import fetch_all, fetch_one


@dataclass(frozen=True)
class EsaStanding:
    esa_code: str
    level: str
    schools: int
    connected: int
    no_provider: int
    previous_date: date | None  # the last report before this one
    connected_before: int | None  # on that date (None: no earlier report, or a new ESA)
    rank: int  # 1 = the largest share connected in its level; ties share a rank
    ranked: int  # ESAs of its level
    speed: SpeedCounts | None
    target: SpeedTarget
    lost: tuple[LostSchool, ...] = field(default=())  # since the previous report, by code

    @property
    def change(self) -> int | None:
        return None if self.connected_before is None else self.connected - self.connected_before

    @property
    def level_label(self) -> str:
        return LEVEL_LABELS.get(self.level, self.level)


def _share(row: Mapping[str, Any]) -> float:
    schools = int(row["schools"])
    return int(row["connected"]) / schools if schools else 0.0


def esa_standings(
    conn: Connection, report_date: date, target: SpeedTarget
) -> dict[str, EsaStanding]:
    """Every ESA's standing on ``report_date``, by ESA code."""
    rows = fetch_all(conn, "esa_summary", report_date=report_date)
    previous_date = fetch_one(conn, "previous_report_date", report_date=report_date)[
        "previous_date"
    ]
    before = (
        {
            row["esa_code"]: int(row["connected"])
            for row in fetch_all(conn, "esa_summary", report_date=previous_date)
            if int(row["schools"])
        }
        if previous_date is not None
        else {}
    )
    lost_by_esa: dict[str, list[LostSchool]] = {}
    if previous_date is not None:
        for school in lost_connections(conn, report_date, previous_date):
            lost_by_esa.setdefault(school.esa_code, []).append(school)
    speeds = speed_report(conn, report_date, target, shortfall_rows=0).esas
    shares_by_level: dict[str, list[float]] = {}
    for row in rows:
        shares_by_level.setdefault(row["level"], []).append(_share(row))
    standings = {}
    for row in rows:
        shares = shares_by_level[row["level"]]
        share = _share(row)
        standings[row["esa_code"]] = EsaStanding(
            esa_code=row["esa_code"],
            level=row["level"],
            schools=int(row["schools"]),
            connected=int(row["connected"]),
            no_provider=int(row["no_provider"]),
            previous_date=previous_date,
            connected_before=before.get(row["esa_code"]),
            rank=1 + sum(other > share for other in shares),
            ranked=len(shares),
            speed=speeds.get(row["esa_code"]),
            target=target,
            lost=tuple(lost_by_esa.get(row["esa_code"], ())),
        )
    return standings
