"""Every task-to-task hand-off survives Airflow's own XCom serialisation as the same object."""

from __future__ import annotations

import json
from datetime import date
from types import SimpleNamespace

import pytest
from airflow.sdk.bases.xcom import BaseXCom
from pydantic import ValidationError

from schoolnet.core.registry import Esa
from schoolnet.orchestration import handoffs
from schoolnet.orchestration.handoffs import (
    HANDOFFS,
    FeedbackDelivery,
    Handoff,
    LiveCheck,
    MergedDay,
    PullPlan,
    PullSummary,
    RegistryEntry,
    RenderedReport,
    ReportDelivery,
    RunDay,
)

ESA = Esa(
    esa_code="105201",
    esa_name="สพป.ลำปาง เขต 1",
    level="primary",
    province="ลำปาง",
    spreadsheet_id="1" + "a" * 43,
    contact_email="esa105201@obec.go.th",
)

EXAMPLES: list[Handoff] = [
    RegistryEntry(esa=ESA),
    PullPlan(esa=ESA, modified_time="2018-01-15T09:12:00.000Z", reuse_from=date(2018, 1, 14)),
    PullPlan(esa=ESA),
    PullSummary(
        esa_code="105201",
        outcome="accepted",
        error_code=None,
        api_calls=1,
        rows_read=120,
        rows_accepted=118,
        rows_rejected=2,
        feedback_tab="written",
        errors=2,
        warnings=3,
    ),
    MergedDay(
        report_date=date(2018, 1, 16),
        esas_not_accepted=3,
        schools=29_000,
        accepted_today=28_000,
        carried_forward=700,
        never_reported=300,
    ),
    RenderedReport(folder="data/report/2018-01-16", subject="รายงานอินเทอร์เน็ตโรงเรียน"),
    ReportDelivery(sent=True, message_id="<abc@schoolnet>"),
    FeedbackDelivery(sent=240, already_sent=5),
    LiveCheck(esa_code="105201", edited_at=None, outcome="deferred", api_calls=0),
    # A run of a past date: its day, its plan entries and what its merge did.
    RunDay(report_date=date(2018, 1, 4), today=date(2018, 1, 16)),
    PullPlan(esa=ESA, reuse_from=date(2018, 1, 4), action="replay"),
    PullPlan(esa=ESA, action="keep"),
    MergedDay(
        report_date=date(2018, 1, 4),
        esas_not_accepted=0,
        schools=29_000,
        accepted_today=0,
        carried_forward=28_900,
        never_reported=100,
        live=False,
        esas_replayed=200,
        esas_kept=45,
    ),
]


def through_xcom(value: object) -> object:
    """What the consuming task gets: Airflow's serialiser, JSON in the metadata DB, its reader."""
    handoffs.allow_in_xcom()  # as the DAG files do when they are parsed
    stored = json.loads(json.dumps(BaseXCom.serialize_value(value)))
    return BaseXCom.deserialize_value(SimpleNamespace(value=stored))


def test_every_kind_of_handoff_has_an_example() -> None:
    assert {type(example) for example in EXAMPLES} == set(HANDOFFS)


@pytest.mark.parametrize("value", EXAMPLES, ids=lambda value: type(value).__name__)
def test_a_handoff_round_trips_through_airflows_serde(value: Handoff) -> None:
    back = through_xcom(value)
    assert type(back) is type(value)
    assert back == value


def test_nested_values_come_back_typed() -> None:
    plan = through_xcom(
        PullPlan(esa=ESA, modified_time="2018-01-15T09:12:00Z", reuse_from=date(2018, 1, 14))
    )
    assert isinstance(plan, PullPlan)
    assert plan.esa == ESA and isinstance(plan.esa, Esa)
    assert plan.reuse_from == date(2018, 1, 14)
    merged = through_xcom(EXAMPLES[4])
    assert isinstance(merged, MergedDay) and merged.report_date == date(2018, 1, 16)


def test_a_mapped_plan_is_a_list_of_typed_entries() -> None:
    plan = [PullPlan(esa=ESA), PullPlan(esa=ESA, reuse_from=date(2018, 1, 2))]
    assert through_xcom(plan) == plan


def test_a_handoff_stays_small() -> None:
    # XCom lives in the metadata database: counts and names, never sheet data.
    for value in EXAMPLES:
        assert len(json.dumps(BaseXCom.serialize_value(value), ensure_ascii=False)) < 1_000


def test_a_field_of_the_wrong_kind_or_name_is_refused() -> None:
    with pytest.raises(ValidationError):
        PullSummary.model_validate({**EXAMPLES[3].model_dump(), "outcome": "maybe"})
    with pytest.raises(ValidationError):
        MergedDay.model_validate({**EXAMPLES[4].model_dump(), "schools_total": 1})


def test_a_run_is_live_only_on_its_own_day() -> None:
    """Only a run of today reads the live sheets; the first task fixes which kind it is."""
    assert RunDay(report_date=date(2018, 1, 16), today=date(2018, 1, 16)).live
    assert not RunDay(report_date=date(2018, 1, 4), today=date(2018, 1, 16)).live
    day = through_xcom(RunDay(report_date=date(2018, 1, 4), today=date(2018, 1, 16)))
    assert isinstance(day, RunDay) and not day.live
    with pytest.raises(ValidationError):
        PullPlan(esa=ESA, action="write_tab")  # type: ignore[arg-type]  # an action it does not know
