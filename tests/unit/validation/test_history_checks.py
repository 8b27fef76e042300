"""The school's own history: each accepted row against its last accepted values (warnings that
quote the previous value and its date, the row still accepted), and a speed its link type
cannot carry. The warehouse's side runs on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from sqlalchemy import Engine

from schoolnet.contract import load_contract, parse_contract
from schoolnet.core.previous import PreviousValues
from schoolnet.core.registry import Esa, School
from schoolnet.validation import Finding, SheetValidation, validate_sheet
from schoolnet.validation.validator import implausible_change
from schoolnet.warehouse import EsaDay, merge_day
from schoolnet.warehouse.history import previous_values
from tests.unit.validation.test_validator import ESA, TODAY, code, record, registry, sheet

ACCEPTED_ON = date(2018, 1, 5)  # 5 ม.ค. 2561


def last_accepted(**changes: Any) -> dict[str, Any]:
    """School 1's values as the warehouse last accepted them (``record(1)`` normalized)."""
    values: dict[str, Any] = {
        "students": 101,
        "status": "connected",
        "isp": "TOT",
        "link_type": "fiber",
        "download_mbps": 30.0,
        "upload_mbps": 10.0,
        "monthly_fee_thb": 1290.0,
        "funding_source": "per_student_subsidy",
        "support_requested_thb": 0.0,
    }
    values.update(changes)
    return values


def check(
    previous: dict[str, Any] | None = None, *, accepted_on: date = ACCEPTED_ON, **cells: Any
) -> SheetValidation:
    """School 1's row (with ``cells`` as typed) against its last accepted ``previous`` values."""
    history = {} if previous is None else {code(1): PreviousValues(accepted_on, previous)}
    return validate_sheet(
        sheet([record(1, **cells)]),
        esa_code=ESA,
        schools=registry(1),
        today=TODAY,
        previous=history,
    )


def history_findings(result: SheetValidation) -> list[Finding]:
    return [
        f for f in result.findings if f.code in ("implausible_change", "speed_beyond_link_type")
    ]


def the_warning(result: SheetValidation) -> Finding:
    found = history_findings(result)
    assert len(found) == 1, [f.to_dict() for f in result.findings]
    assert result.outcome == "accepted" and len(result.accepted_rows) == 1  # nothing is lost
    assert found[0].severity == "warning"
    return found[0]


def test_a_tenfold_jump_in_students_quotes_the_previous_value_and_its_date() -> None:
    finding = the_warning(check(last_accepted(students=245), students=2450))
    assert (finding.column, finding.cell, finding.value) == ("students", "C2", "2450")
    assert "245 " in finding.message and "2450" in finding.message
    assert "5 ม.ค. 2561" in finding.message  # the date it was accepted, Buddhist Era
    assert "ถ้าถูกต้องแล้วไม่ต้องแก้ไข" in finding.message
    assert "รายงานฉบับถัดไป" in finding.message  # how the clerk confirms: by leaving it
    assert the_warning(check(last_accepted(students=245), students=2450)).row == 2


def test_a_dropped_digit_in_students_is_a_warning() -> None:
    finding = the_warning(check(last_accepted(students=1245), students=145))
    assert "1,245" in finding.message and finding.value == "145"


def test_a_fee_typed_ten_times_over_is_a_warning() -> None:
    finding = the_warning(check(last_accepted(monthly_fee_thb=590.0), monthly_fee_thb=5900))
    assert finding.column == "monthly_fee_thb" and "590" in finding.message


def test_a_speed_ten_times_over_on_the_same_link_is_a_warning() -> None:
    finding = the_warning(check(last_accepted(download_mbps=30.0), download_mbps=300))
    assert finding.column == "download_mbps" and finding.code == "implausible_change"


def test_a_speed_change_that_comes_with_a_new_link_type_is_an_upgrade() -> None:
    before = last_accepted(link_type="dsl", download_mbps=20.0)
    assert history_findings(check(before, download_mbps=300)) == []


def test_a_dsl_line_at_512_mbps_is_kbps_typed() -> None:
    finding = the_warning(check(last_accepted(), link_type="ADSL/VDSL", download_mbps=512))
    assert finding.code == "speed_beyond_link_type" and finding.column == "download_mbps"
    assert "ADSL/VDSL" in finding.message and "200" in finding.message
    assert "kbps" in finding.message
    # Without any history too (a school reporting for the first time, the offline check).
    assert the_warning(check(None, link_type="ADSL/VDSL", download_mbps=512)).cell == "G2"


def test_one_finding_a_cell_the_link_type_warning_is_not_repeated_as_a_change() -> None:
    before = last_accepted(link_type="dsl", download_mbps=8.0)
    finding = the_warning(check(before, link_type="ADSL/VDSL", download_mbps=512))
    assert finding.code == "speed_beyond_link_type"


def test_a_speed_beyond_the_link_once_accepted_is_confirmed() -> None:
    before = last_accepted(link_type="dsl", download_mbps=300.0)
    assert history_findings(check(before, link_type="ADSL/VDSL", download_mbps=300)) == []


@pytest.mark.parametrize(
    ("before", "cells"),
    [
        pytest.param(last_accepted(students=245), {"students": 248}, id="three-more-students"),
        pytest.param(last_accepted(), {}, id="unchanged"),
        pytest.param(
            last_accepted(monthly_fee_thb=590.0), {"monthly_fee_thb": 1290}, id="plan-change"
        ),
        pytest.param(
            last_accepted(),
            {
                "status": "ยังไม่เชื่อมต่อ",
                "isp": "",
                "link_type": "",
                "download_mbps": "",
                "upload_mbps": "",
                "monthly_fee_thb": "",
                "funding_source": "",
            },
            id="connection-ended",
        ),
        pytest.param(last_accepted(students=3), {"students": 15}, id="small-school-few-more"),
        pytest.param(last_accepted(monthly_fee_thb=0.0), {"monthly_fee_thb": 1290}, id="was-free"),
    ],
)
def test_plausible_changes_are_silent(before: dict[str, Any], cells: dict[str, Any]) -> None:
    result = check(before, **cells)
    assert result.findings == (), [f.to_dict() for f in result.findings]
    assert len(result.accepted_rows) == 1


def test_a_school_without_history_is_not_compared() -> None:
    assert check(None, students=2450).findings == ()


def test_a_rejected_row_is_not_compared() -> None:
    result = check(last_accepted(students=245), students=2450, monthly_fee_thb=-5)
    assert history_findings(result) == []
    assert [f.code for f in result.findings] == ["negative_value"]


def test_the_rule_is_a_factor_either_way_and_a_least_change() -> None:
    assert implausible_change(245, 2450, 5, 20) and implausible_change(2450, 245, 5, 20)
    assert not implausible_change(245, 1000, 5, 20)  # four times: plausible
    assert not implausible_change(3, 30, 5, 30)  # too small a change to matter
    assert not implausible_change(0, 1290, 5, 500) and not implausible_change(1290, 0, 5, 500)


def test_the_thresholds_are_the_contracts() -> None:
    raw = load_contract()
    changed = parse_contract(_with_rule(raw_yaml(), "students", "change_factor", 20))
    assert (
        validate_sheet(
            sheet([record(1, students=2450)]),
            esa_code=ESA,
            schools=registry(1),
            today=TODAY,
            contract=changed,
            previous={code(1): PreviousValues(ACCEPTED_ON, last_accepted(students=245))},
        ).findings
        == ()
    )
    assert raw.column("download_mbps").rule("max_by_link_type")["dsl"] == 200


def test_a_rule_naming_an_unknown_link_type_is_refused() -> None:
    broken = _with_rule(raw_yaml(), "download_mbps", "max_by_link_type", {"adsl": 200})
    with pytest.raises(ValueError, match="max_by_link_type"):
        parse_contract(broken)


def raw_yaml() -> dict[str, Any]:
    import yaml

    from schoolnet.contract import CONTRACT_FILE

    loaded: dict[str, Any] = yaml.safe_load(CONTRACT_FILE.read_text(encoding="utf-8"))
    return loaded


def _with_rule(raw: dict[str, Any], key: str, rule: str, value: Any) -> dict[str, Any]:
    for column in raw["columns"]:
        if column["key"] == key:
            column[rule] = value
    return raw


# --- with the warehouse: the previous values are the latest snapshot before the day ----------

D1, D2, D3 = date(2018, 1, 3), date(2018, 1, 4), date(2018, 1, 5)
ESAS = [Esa(ESA, "สพป.ลำปาง เขต 1", "primary", "ลำปาง", "sheet-a", "a@example.org")]
SCHOOLS = [School(code(1), "บ้านหนองบัว1", ESA, "ลำปาง", 101)]


def merge_accepted(engine: Engine, day: date, result: SheetValidation) -> None:
    accepted = {row.school_code: row.values for row in result.accepted_rows if row.school_code}
    merge_day(engine, day, ESAS, SCHOOLS, [EsaDay(ESA, "accepted", 1, 1, accepted=accepted)])


def validate_on(engine: Engine, day: date, students: int) -> SheetValidation:
    return validate_sheet(
        sheet([record(1, students=students)]),
        esa_code=ESA,
        schools={s.school_code: s for s in SCHOOLS},
        today=day,
        previous=previous_values(engine, ESA, day),
    )


def test_the_warning_goes_the_day_after_the_value_was_accepted(warehouse_engine: Engine) -> None:
    first = validate_on(warehouse_engine, D1, 245)
    assert first.findings == ()  # no history yet
    merge_accepted(warehouse_engine, D1, first)

    typed = validate_on(warehouse_engine, D2, 2450)
    finding = the_warning(typed)
    assert "245 " in finding.message and "3 ม.ค. 2561" in finding.message
    merge_accepted(warehouse_engine, D2, typed)  # accepted with its warning

    # A rerun of the same day compares with the day before, not with its own merge.
    assert history_findings(validate_on(warehouse_engine, D2, 2450)) == [finding]
    # Left as it is, the value is the school's last accepted one at the next report.
    assert validate_on(warehouse_engine, D3, 2450).findings == ()


def test_previous_values_are_typed_and_only_of_schools_ever_accepted(
    warehouse_engine: Engine,
) -> None:
    schools = [*SCHOOLS, School(code(2), "บ้านหนองบัว2", ESA, "ลำปาง", 102)]
    accepted = {code(1): {**last_accepted(), "providers_contacted": None}}
    merge_day(
        warehouse_engine, D1, ESAS, schools, [EsaDay(ESA, "accepted", 1, 1, accepted=accepted)]
    )
    assert previous_values(warehouse_engine, ESA, D1) == {}
    found = previous_values(warehouse_engine, ESA, D2)
    assert set(found) == {code(1)}  # school 2 was never reported
    assert found[code(1)].accepted_on == D1
    values = found[code(1)].values
    assert values["students"] == 101 and values["download_mbps"] == 30.0
    assert values["link_type"] == "fiber"
    assert previous_values(warehouse_engine, "105202", D2) == {}


def test_the_query_reads_every_column_a_rule_compares(warehouse_engine: Engine) -> None:
    merge_accepted(warehouse_engine, D1, validate_on(warehouse_engine, D1, 245))
    (found,) = previous_values(warehouse_engine, ESA, D2).values()
    compared = set()
    for column in load_contract().columns:
        if column.rule("change_factor") is not None:
            compared |= {column.key, *column.rule("change_unless_changed", ())}
        if column.rule("max_by_link_type"):
            compared |= {column.key, "link_type"}
    assert compared == {"students", "link_type", "download_mbps", "monthly_fee_thb"}
    assert compared <= set(found.values)
