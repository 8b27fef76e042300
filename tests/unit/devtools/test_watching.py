"""The settings the demos, the benchmark and the deploy test watch Drive with: the whole day,
every day, no pause before the morning run; everything else as the file they start from."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from schoolnet.core.config import load_settings
from schoolnet.core.paths import project_root
from schoolnet.devtools.watching import all_day_settings
from schoolnet.orchestration.live_trigger import in_hours

SHIPPED = project_root() / "config" / "schoolnet.toml"
BANGKOK = ZoneInfo("Asia/Bangkok")


def test_the_shipped_settings_are_watched_at_every_moment_and_keep_the_rest(
    tmp_path: Path,
) -> None:
    widened = load_settings(all_day_settings(SHIPPED, tmp_path / "all-day.toml"))
    shipped = load_settings(SHIPPED)
    sunday = datetime(2026, 12, 6, tzinfo=BANGKOK)
    for hour, minute in ((0, 0), (5, 55), (6, 0), (12, 0), (23, 59)):
        moment = sunday.replace(hour=hour, minute=minute)
        assert in_hours(widened, moment)
        assert not in_hours(shipped, moment)  # Sunday: not a working day as shipped
    assert widened.live.enabled and widened.live.pause_before_morning_minutes == 0
    assert (widened.google, widened.report, widened.connections) == (
        shipped.google,
        shipped.report,
        shipped.connections,
    )


def test_a_file_without_a_live_section_gets_one(tmp_path: Path) -> None:
    text = SHIPPED.read_text(encoding="utf-8")
    head, _, rest = text.partition("\n[live]\n")
    _, _, tail = rest.partition("\n[")
    bare = tmp_path / "bare.toml"
    bare.write_text(head + ("\n[" + tail if tail else ""), encoding="utf-8")
    assert "[live]" not in bare.read_text(encoding="utf-8")
    widened = load_settings(all_day_settings(bare, tmp_path / "all-day.toml"))
    assert widened.live.days == tuple(range(7))
    assert in_hours(widened, datetime(2026, 12, 6, 5, 59, tzinfo=BANGKOK))
