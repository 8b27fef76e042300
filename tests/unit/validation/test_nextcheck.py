"""What the clerk is told about the next check follows the [live] settings and the moment of the
check, and the feedback tab and the ESA's email both say it."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime, time
from zoneinfo import ZoneInfo

import pytest

from schoolnet.core.config import LiveSettings
from schoolnet.core.schedule import DAILY_SCHEDULE, LIVE_CHECK_MINUTES
from schoolnet.orchestration import live_trigger
from schoolnet.report.esa_email import render_esa_feedback_email
from schoolnet.validation.feedback import EsaFeedback, sheet_url
from schoolnet.validation.nextcheck import live_days, next_check, next_tick
from tests.unit.validation.test_finding_labels import ESA, RESULT

BANGKOK = ZoneInfo("Asia/Bangkok")
LIVE = LiveSettings()  # on, 08:00-17:00, Monday to Friday
# The morning run's time as its cron expression says, worked out here on its own.
MORNING = "{1:0>2}:{0:0>2}".format(*DAILY_SCHEDULE.split()[:2])
WITHIN = f"ภายในประมาณ {LIVE_CHECK_MINUTES} นาทีหลังแก้ไข"


def at(day: int, hour: int, minute: int = 0) -> datetime:
    """A moment of December 2026 in Bangkok (the 7th is a Monday)."""
    return datetime(2026, 12, day, hour, minute, tzinfo=BANGKOK)


def test_the_promise_is_no_shorter_than_the_triggers_look() -> None:
    """The clerk is told "within about N minutes": the trigger looks at least that often."""
    assert LIVE_CHECK_MINUTES * 60 >= 2 * live_trigger.MAX_POLL_SECONDS
    assert next_tick(at(7, 10, 20), 10) == at(7, 10, 30)
    assert next_tick(at(7, 10, 55), 10) == at(7, 11, 0)


def test_inside_the_hours_a_fix_is_checked_within_minutes() -> None:
    sentence = next_check(LIVE, at(7, 10, 20))
    assert sentence.startswith(f"เมื่อแก้ไขแล้ว ระบบจะตรวจอีกครั้ง{WITHIN}")
    # The whole rule too: a tab whose findings do not change is read on later days.
    assert "วันจันทร์-ศุกร์ เวลา 08:00-17:00 น." in sentence
    assert f"นอกเวลานั้นจะตรวจเช้าวันถัดไป เวลา {MORNING} น." in sentence
    # An edit just before the hours begin is checked at their first run.
    assert WITHIN in next_check(LIVE, at(7, 7, 55))


def test_just_after_the_hours_end_the_next_check_is_the_next_morning() -> None:
    # An edit at 16:55 is still checked within the minute, in the hours.
    assert next_check(LIVE, at(7, 16, 55)).startswith(f"เมื่อแก้ไขแล้ว ระบบจะตรวจอีกครั้ง{WITHIN}")
    for moment in (at(7, 17, 0), at(7, 22, 30)):
        sentence = next_check(LIVE, moment)
        assert sentence.startswith(f"เมื่อแก้ไขแล้ว ระบบจะตรวจอีกครั้งเช้าวันถัดไป เวลา {MORNING} น."), (
            sentence
        )
        assert WITHIN in sentence and "วันจันทร์-ศุกร์ เวลา 08:00-17:00 น." in sentence


def test_the_morning_run_tells_of_the_hours_that_begin_that_day() -> None:
    sentence = next_check(LIVE, at(7, 6, 0))
    assert sentence.startswith(f"เมื่อแก้ไขแล้ว ระบบจะตรวจอีกครั้ง{WITHIN} ตั้งแต่เวลา 08:00 น.")
    # Friday's morning run too; Saturday's waits for Sunday's morning run.
    assert "ตั้งแต่เวลา 08:00 น." in next_check(LIVE, at(11, 6, 0))
    assert "ตั้งแต่" not in next_check(LIVE, at(12, 6, 0))


def test_a_weekend_outside_the_live_days_waits_for_the_morning_run() -> None:
    saturday = next_check(LIVE, at(12, 10, 0))
    # The morning run runs every day, so Saturday's edit is checked on Sunday morning.
    assert saturday.startswith(f"เมื่อแก้ไขแล้ว ระบบจะตรวจอีกครั้งเช้าวันถัดไป เวลา {MORNING} น.")
    assert next_check(LIVE, at(13, 10, 0)) == saturday
    weekend = replace(LIVE, days=(0, 1, 2, 3, 4, 5, 6))
    assert next_check(weekend, at(12, 10, 0)).startswith(f"เมื่อแก้ไขแล้ว ระบบจะตรวจอีกครั้ง{WITHIN}")
    assert "ทุกวัน" in next_check(weekend, at(12, 10, 0))


def test_with_near_live_off_only_the_morning_is_said() -> None:
    off = replace(LIVE, enabled=False)
    for moment in (at(7, 10, 20), at(7, 4, 0)):
        sentence = next_check(off, moment)
        assert "นาที" not in sentence and "08:00" not in sentence
    assert next_check(off, at(7, 10, 20)) == (
        f"เมื่อแก้ไขแล้ว ระบบจะตรวจอีกครั้งเช้าวันถัดไป เวลา {MORNING} น."
    )
    # Before the morning run, it is this morning's.
    assert next_check(off, at(7, 4, 0)) == (f"เมื่อแก้ไขแล้ว ระบบจะตรวจอีกครั้งเช้าวันนี้ เวลา {MORNING} น.")


def test_other_hours_and_days_are_said_as_set() -> None:
    late = replace(LIVE, start=time(9, 30), end=time(15, 0), days=(0, 2))
    sentence = next_check(late, at(7, 10, 0))
    assert "วันจันทร์ และวันพุธ เวลา 09:30-15:00 น." in sentence
    tuesday = next_check(late, at(8, 10, 0))  # not a live day: the morning run comes first
    assert tuesday.startswith("เมื่อแก้ไขแล้ว ระบบจะตรวจอีกครั้งเช้าวันถัดไป")
    assert live_days((5,)) == "วันเสาร์"


def test_a_moment_in_another_zone_is_read_in_bangkok() -> None:
    utc = datetime(2026, 12, 7, 3, 20, tzinfo=ZoneInfo("UTC"))  # 10:20 in Bangkok
    assert next_check(LIVE, utc) == next_check(LIVE, at(7, 10, 20))


@pytest.mark.parametrize("live", [LIVE, replace(LIVE, enabled=False)])
def test_the_tab_and_the_email_say_when_the_fix_is_checked(live: LiveSettings) -> None:
    feedback = EsaFeedback.from_result(ESA, RESULT, live)
    assert feedback.report_date == date(2018, 1, 16)  # a Tuesday
    morning = next_check(live, datetime(2018, 1, 16, 6, 0, tzinfo=BANGKOK))
    assert morning in feedback.summary
    assert [feedback.summary] in feedback.tab_rows()
    email = render_esa_feedback_email(feedback, sheet_url(ESA.spreadsheet_id), None)
    assert morning in email.text and morning in email.html

    checked_at = datetime(2018, 1, 16, 10, 20, tzinfo=BANGKOK)
    tab = feedback.tab_rows(checked_at)
    assert next_check(live, checked_at) in tab[2][0]
    assert (WITHIN in tab[2][0]) == live.enabled
    assert "ทุกเช้า" not in "".join(cell for row in tab for cell in row)
