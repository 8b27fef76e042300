"""The near-live loop's working hours and its distance from the morning run."""

from __future__ import annotations

import tomllib
from datetime import datetime, time
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from schoolnet.core.config import ConfigError, load_settings, parse_settings, read_toml
from schoolnet.core.paths import project_root
from schoolnet.orchestration.live import daily_due_soon
from schoolnet.orchestration.live_tasks import daily_at

BANGKOK = ZoneInfo("Asia/Bangkok")


def with_live(section: str) -> dict[str, object]:
    raw = read_toml(project_root() / "config" / "schoolnet.toml", "settings")
    raw["live"] = tomllib.loads(section)
    return raw


def test_the_shipped_hours_are_the_working_week() -> None:
    live = load_settings().live
    assert (live.start, live.end, live.days) == (time(8), time(17), (0, 1, 2, 3, 4))
    monday = datetime(2018, 1, 15, tzinfo=BANGKOK)
    assert live.covers(monday.replace(hour=8))
    assert live.covers(monday.replace(hour=16, minute=50))
    assert not live.covers(monday.replace(hour=17))
    assert not live.covers(monday.replace(hour=7, minute=59))
    assert not live.covers(datetime(2018, 1, 13, 10, tzinfo=BANGKOK))  # a Saturday


def test_hours_and_days_are_configurable_and_mistakes_are_named(tmp_path: Path) -> None:
    settings = parse_settings(
        with_live('hours = "07:30-19:00"\ndays = ["sat", "mon"]'), tmp_path / "s.toml"
    )
    assert settings.live.start == time(7, 30) and settings.live.days == (0, 5)
    off = parse_settings(with_live("enabled = false"), tmp_path / "s.toml").live
    assert not off.covers(datetime(2018, 1, 15, 10, tzinfo=BANGKOK))
    for bad, word in (
        ('hours = "8-17"', "hours"),
        ('hours = "17:00-08:00"', "start before"),
        ('days = ["monday"]', "days"),
        ("days = []", "days"),
    ):
        with pytest.raises(ConfigError, match=word):
            parse_settings(with_live(bad), tmp_path / "s.toml")


def test_no_check_starts_in_the_ten_minutes_before_the_morning_run() -> None:
    assert daily_at() == (6, 0)
    day = datetime(2018, 1, 15, tzinfo=BANGKOK)
    assert daily_due_soon(day.replace(hour=5, minute=51), (6, 0), 10)
    assert not daily_due_soon(day.replace(hour=5, minute=49), (6, 0), 10)
    assert not daily_due_soon(day.replace(hour=6, minute=1), (6, 0), 10)
    assert daily_due_soon(day.replace(hour=23, minute=55), (0, 0), 10)  # across midnight
