"""When a clerk's fix is checked again, in one Thai sentence that follows the settings.

The tab and the email used to say "every morning" while the near-live DAG re-checked edited
sheets within minutes; the sentence is now computed from what actually runs: the ``[live]``
settings (on or off, hours, days), the near-live interval and the morning run's time, all from
the code, at the moment of the check (Bangkok time).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from schoolnet.contract import load_contract
from schoolnet.core import thai
from schoolnet.core.config import LiveSettings
from schoolnet.core.schedule import LIVE_CHECK_MINUTES, TIMEZONE, daily_time


def live_days(days: Sequence[int]) -> str:
    """The live days as a clerk says them: ``ทุกวัน``, ``วันจันทร์-ศุกร์``, ``วันจันทร์ และวันพุธ``."""
    ordered = sorted(set(days))
    names = [thai.WEEKDAYS[day] for day in ordered]
    if len(ordered) == len(thai.WEEKDAYS):
        return "ทุกวัน"
    if len(ordered) >= 3 and ordered == list(range(ordered[0], ordered[-1] + 1)):
        return f"วัน{names[0]}-{names[-1]}"
    if len(names) == 1:
        return f"วัน{names[0]}"
    return " ".join(f"วัน{name}" for name in names[:-1]) + f" และวัน{names[-1]}"


def next_tick(moment: datetime, interval: int) -> datetime:
    """The first start of an every-``interval``-minutes schedule (``*/interval`` in cron) after
    ``moment``."""
    minute = (moment.minute // interval + 1) * interval
    hour = moment.replace(minute=0, second=0, microsecond=0)
    if minute >= 60:
        return hour + timedelta(hours=1)
    return hour + timedelta(minutes=minute)


def next_morning(moment: datetime, daily: time) -> datetime:
    """The morning run after ``moment``: today's if it is still to come, else tomorrow's."""
    run = datetime.combine(moment.date(), daily, tzinfo=moment.tzinfo)
    return run if run > moment else run + timedelta(days=1)


def next_opening(live: LiveSettings, moment: datetime) -> datetime | None:
    """When the near-live hours next begin after ``moment`` (None if there are no days)."""
    for ahead in range(8):
        day = moment.date() + timedelta(days=ahead)
        if day.weekday() in live.days:
            opening = datetime.combine(day, live.start, tzinfo=moment.tzinfo)
            if opening > moment:
                return opening
    return None


def next_check(
    live: LiveSettings,
    moment: datetime,
    interval: int = LIVE_CHECK_MINUTES,
    daily: time | None = None,
) -> str:
    """When an edit made at ``moment`` is checked: within ``interval`` minutes if the near-live
    check's next run falls in its hours, else at the next morning run (and, if near-live is
    on, when it checks within minutes), or within minutes from when the near-live hours begin
    if that is sooner. The words are relative ("the next morning"), not dated: a tab whose
    findings did not change is not rewritten, and is read on later days."""
    zone = ZoneInfo(TIMEZONE)
    local = moment.astimezone(zone) if moment.tzinfo else moment.replace(tzinfo=zone)
    text = load_contract().sheet_text
    hours = {"start": f"{live.start:%H:%M}", "end": f"{live.end:%H:%M}"}
    minutes = thai.number(interval)
    if live.enabled and live.days and live.covers(next_tick(local, interval)):
        daily_at = f"{daily or daily_time():%H:%M}"
        return text(
            "next_check_live", minutes=minutes, days=live_days(live.days), time=daily_at, **hours
        )
    morning = next_morning(local, daily or daily_time())
    at = f"{morning:%H:%M}"
    day = text("next_check_today" if morning.date() == local.date() else "next_check_next_day")
    opening = next_opening(live, local) if live.enabled else None
    if opening is None:
        return text("next_check_morning", day=day, time=at)
    rule = {"minutes": minutes, "days": live_days(live.days), "time": at, **hours}
    if opening <= morning:
        return text("next_check_from", **rule)
    return text("next_check_later", day=day, **rule)
