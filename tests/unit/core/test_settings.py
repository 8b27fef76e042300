"""The settings file is parsed strictly: a mistake is refused with where it is and what to write."""

from __future__ import annotations

import dataclasses
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from schoolnet.core.config import (
    ConfigError,
    GoogleSettings,
    alert_route,
    load_settings,
    parse_settings,
    read_toml,
)
from schoolnet.core.paths import project_root

SHIPPED = project_root() / "config" / "schoolnet.toml"


def shipped() -> dict[str, Any]:
    return read_toml(SHIPPED, "settings")


def refusal(raw: dict[str, Any], tmp_path: Path) -> str:
    with pytest.raises(ConfigError) as caught:
        parse_settings(raw, tmp_path / "settings.toml")
    return str(caught.value)


def test_the_shipped_file_parses_into_typed_settings() -> None:
    settings = load_settings(SHIPPED)
    assert settings.feedback.write_tab is True and settings.feedback.email_esas is True
    assert settings.google.request_timeout_seconds == 60.0
    assert isinstance(settings.google.request_timeout_seconds, float)
    assert settings.report.to == ("ict-report@obec.go.th",)
    assert settings.report.support_policy == project_root() / "config" / "support_policy.toml"
    assert settings.registry.esas == project_root() / "out" / "demo-data" / "esas.csv"
    assert settings.report.speed_target.min_mbps == 20.0


@pytest.mark.parametrize(
    ("section", "key", "value", "expected"),
    [
        ("feedback", "write_tab", "false", "[feedback] write_tab must be a bool, not 'false'"),
        ("feedback", "email_esas", 0, "[feedback] email_esas must be a bool"),
        ("live", "enabled", "no", "[live] enabled must be a bool"),
        ("live", "hours", "08:00-25:00", '[live] hours must look like "08:00-17:00"'),
        ("live", "hours", "17:00-08:00", "[live] hours '17:00-08:00' must start before"),
        ("live", "pause_before_morning_minutes", -1, "pause_before_morning_minutes must be 0"),
        ("google", "max_attempts", "5", "[google] max_attempts must be a int, not '5'"),
        ("google", "max_attempts", 0, "[google] max_attempts must be 1 or more"),
        ("google", "request_timeout_seconds", "60", "request_timeout_seconds must be a float"),
        ("report", "to", [], "[report] to must name at least one address"),
        ("report", "cc", ["nobody"], "[report] cc (item 1) must be an email address"),
        ("report", "pace_window_days", 0, "[report] pace_window_days must be 1 or more"),
        ("storage", "data_dir", 3, "[storage] data_dir"),
    ],
)
def test_a_value_of_the_wrong_kind_is_refused_with_its_place(
    tmp_path: Path, section: str, key: str, value: object, expected: str
) -> None:
    raw = shipped()
    raw[section][key] = value
    message = refusal(raw, tmp_path)
    assert str(tmp_path / "settings.toml") in message
    assert expected in message


def test_the_refusal_says_what_to_write(tmp_path: Path) -> None:
    raw = shipped()
    raw["feedback"]["write_tab"] = "false"
    assert "write true or false, without quotes" in refusal(raw, tmp_path)


def test_an_unknown_key_or_section_is_refused_not_ignored(tmp_path: Path) -> None:
    raw = shipped()
    raw["google"]["max_atempts"] = 3
    message = refusal(raw, tmp_path)
    assert "[google] max_atempts is not a setting of [google]" in message
    assert "max_attempts" in message.split("the keys are")[1]
    raw = shipped()
    raw["feedbak"] = {"write_tab": False}
    assert "section [feedbak] is not a settings section" in refusal(raw, tmp_path)
    raw = shipped()
    raw["report"]["speed_target"] = {"min_mbps": 10.0}
    assert "[report] speed_target" in refusal(raw, tmp_path)


def test_every_mistake_is_named_at_once(tmp_path: Path) -> None:
    raw = shipped()
    del raw["storage"]
    raw["feedback"]["write_tab"] = "true"
    message = refusal(raw, tmp_path)
    assert "section [storage] is missing" in message
    assert "[feedback] write_tab must be a bool" in message


def test_optional_sections_take_their_documented_defaults(tmp_path: Path) -> None:
    raw = shipped()
    for optional in ("feedback", "speed_target", "live"):
        del raw[optional]
    raw["report"]["support_policy"] = ""
    settings = parse_settings(raw, tmp_path / "settings.toml")
    assert settings.feedback.write_tab and settings.feedback.email_esas
    assert settings.report.support_policy is None
    assert settings.live.days == (0, 1, 2, 3, 4)
    assert settings.live.pause_before_morning_minutes == 10


def test_live_hours_can_cover_the_whole_day(tmp_path: Path) -> None:
    """ "00:00-24:00" takes in the last minute of the day; "08:00-17:00" stops before 17:00."""
    raw = shipped()
    raw["live"].update(hours="00:00-24:00", pause_before_morning_minutes=0)
    live = parse_settings(raw, tmp_path / "settings.toml").live
    monday = datetime(2026, 12, 7, tzinfo=ZoneInfo("Asia/Bangkok"))
    assert live.covers(monday) and live.covers(monday.replace(hour=23, minute=59, second=59))
    assert live.pause_before_morning_minutes == 0
    shipped_live = load_settings(SHIPPED).live
    assert shipped_live.covers(monday.replace(hour=16, minute=59))
    assert not shipped_live.covers(monday.replace(hour=17))
    assert not shipped_live.covers(monday.replace(hour=7, minute=59))


def test_code_built_settings_are_checked_too() -> None:
    google = GoogleSettings(5.0, 1, 0.01, 0.02)
    assert dataclasses.replace(google, max_attempts=3).max_attempts == 3
    with pytest.raises(ValueError, match="max_attempts"):
        dataclasses.replace(google, max_attempts=0)


def test_the_alert_route_comes_from_sound_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SCHOOLNET_OPERATORS", "duty@obec.go.th")
    route = alert_route(SHIPPED)
    settings = load_settings(SHIPPED)
    assert route.recipients == settings.report.alert_recipients  # the environment is a fallback
    assert (route.mail_from, route.smtp, route.settings_error) == (
        settings.report.mail_from,
        settings.connections.smtp,
        None,
    )


def test_a_broken_settings_file_still_routes_the_alert_that_says_so(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    broken = tmp_path / "settings.toml"
    text = SHIPPED.read_text(encoding="utf-8").replace("stale_after_days", "stale_after_dayz")
    broken.write_text(text, encoding="utf-8")
    monkeypatch.setenv("SCHOOLNET_OPERATORS", " duty@obec.go.th, ,schoolnet-ops@obec.go.th")
    route = alert_route(broken)
    # What the file still says, then the environment's, each once.
    assert route.recipients == ("schoolnet-ops@obec.go.th", "duty@obec.go.th")
    assert route.mail_from == "schoolnet@obec.go.th" and route.smtp == "smtp_default"
    assert route.settings_error is not None and "stale_after_dayz" in route.settings_error


def test_a_settings_file_that_is_not_even_toml_routes_the_alert_by_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    broken = tmp_path / "settings.toml"
    broken.write_text("[report\noperators = ", encoding="utf-8")
    monkeypatch.setenv("SCHOOLNET_OPERATORS", "duty@obec.go.th")
    route = alert_route(broken)
    assert route.recipients == ("duty@obec.go.th",)
    assert (route.mail_from, route.smtp) == (None, "smtp_default")
    monkeypatch.delenv("SCHOOLNET_OPERATORS")
    assert alert_route(broken).recipients == ()  # no one: the alert logs that it cannot go
