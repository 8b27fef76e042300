"""Figures computed from query rows in Python, where SQL would not be the same on every engine."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from datetime import date, timedelta
from fractions import Fraction
from typing import Any

OBEC_SIZE_THRESHOLDS: Mapping[str, int] = {
    "primary_medium_min": 121,
    "primary_large_min": 601,
    "primary_extra_min": 1501,
    "secondary_medium_min": 500,
    "secondary_large_min": 1500,
    "secondary_extra_min": 2500,
}
"""OBEC's school size classes, as the fewest students of each class above small: the parameters
of ``sql/support_by_size_class.sql`` (primary 1–120, 121–600, 601–1,500, 1,501+; secondary
1–499, 500–1,499, 1,500–2,499, 2,500+). Pass other values to the query to class otherwise."""


def connection_pace(
    trend_rows: Sequence[Mapping[str, Any]], window_days: int = 14
) -> Fraction | None:
    """Connected schools gained per day over the last ``window_days`` days of ``trend_rows``.

    The rows are those of ``sql/trend.sql`` (``report_date``, ``connected``). The pace is the
    least-squares slope of ``connected`` against the calendar day, over the rows dated from
    ``window_days`` days before the latest row to the latest row: every day in the window counts,
    so one odd day moves it less than it would a first-to-last difference, and a missed run
    (a date without a row) is simply absent. Exact (a fraction). None with fewer than two dates
    in the window.
    """
    if not trend_rows:
        return None
    latest = max(row["report_date"] for row in trend_rows)
    start = latest - timedelta(days=window_days)
    points: list[tuple[int, int]] = [
        (row["report_date"].toordinal(), int(row["connected"]))
        for row in trend_rows
        if start <= row["report_date"] <= latest
    ]
    if len({x for x, _ in points}) < 2:
        return None
    count = len(points)
    mean_x = Fraction(sum(x for x, _ in points), count)
    mean_y = Fraction(sum(y for _, y in points), count)
    covariance = sum((x - mean_x) * (y - mean_y) for x, y in points)
    variance = sum((x - mean_x) ** 2 for x, _ in points)
    return Fraction(covariance) / variance


def full_coverage_date(
    trend_rows: Sequence[Mapping[str, Any]], window_days: int = 14
) -> date | None:
    """The date every school is connected if the recent pace holds, or None.

    The pace is :func:`connection_pace` over the last ``window_days`` days; the schools still
    unconnected on the latest date (``schools - connected``) are divided by it and the days
    rounded up, counted from the latest date. The latest date itself when every school is already
    connected; None when there are no rows, or the pace is not positive (or cannot be measured).
    """
    if not trend_rows:
        return None
    latest_row = max(trend_rows, key=lambda row: row["report_date"])
    latest: date = latest_row["report_date"]
    remaining = int(latest_row["schools"]) - int(latest_row["connected"])
    if remaining <= 0:
        return latest
    pace = connection_pace(trend_rows, window_days)
    if pace is None or pace <= 0:
        return None
    return latest + timedelta(days=math.ceil(remaining / pace))
