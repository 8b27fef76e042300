"""The registries' history of changes kept by merge_day, on SQLite and on PostgreSQL."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import replace
from datetime import date
from typing import Any

from sqlalchemy import Engine, select

from schoolnet.core.registry import Esa, School
from schoolnet.warehouse import merge_day
from schoolnet.warehouse.models import EsaHistoryRow, EsaRow, SchoolHistoryRow, SchoolRow

D1, D2, D3, D4 = date(2018, 1, 3), date(2018, 1, 4), date(2018, 1, 5), date(2018, 1, 6)

LAMPANG_1 = Esa("105201", "สพป.ลำปาง เขต 1", "primary", "ลำปาง", "sheet-a", "a@example.org")
LAMPANG_SEC = Esa("105290", "สพม.ลำปาง ลำพูน", "secondary", "ลำปาง", "sheet-b", "b@example.org")
MAE_THA = School("1052010001", "บ้านแม่ทะ", "105201", "ลำปาง", 80)
PA_TAN = School("1052010002", "วัดป่าตาล", "105201", "ลำปาง", 240)
PHITTHAYAKHOM = School("1052900001", "ลำปางพิทยาคม", "105290", "ลำปาง", 900)
ESAS = [LAMPANG_1, LAMPANG_SEC]
SCHOOLS = [MAE_THA, PA_TAN, PHITTHAYAKHOM]
RENAMED = replace(MAE_THA, school_name="บ้านแม่ทะ (ศูนย์เครือข่าย)")


def merge(engine: Engine, day: date, esas: Sequence[Esa], schools: Sequence[School]) -> None:
    merge_day(engine, day, esas, schools, [])


def versions(engine: Engine, model: Any, code: str) -> list[tuple[Any, ...]]:
    """(name, valid_from, valid_to) of every version of one entry, oldest first."""
    key, name = (
        (model.esa_code, model.esa_name)
        if model is EsaHistoryRow
        else (model.school_code, model.school_name)
    )
    query = (
        select(name, model.valid_from, model.valid_to).where(key == code).order_by(model.valid_from)
    )
    with engine.connect() as conn:
        return [tuple(row) for row in conn.execute(query)]


def history_checksum(engine: Engine) -> str:
    digest = hashlib.sha256()
    with engine.connect() as conn:
        for model in (EsaHistoryRow, SchoolHistoryRow):
            table = model.__table__
            for row in conn.execute(select(table).order_by(*table.primary_key)):
                digest.update(repr(tuple(row)).encode())
    return digest.hexdigest()


def test_history_columns_are_the_registry_columns_and_validity() -> None:
    for history, registry in ((EsaHistoryRow, EsaRow), (SchoolHistoryRow, SchoolRow)):
        names = [column.name for column in history.__table__.columns]
        assert names == [c.name for c in registry.__table__.columns] + ["valid_from", "valid_to"]


def test_a_renamed_school_has_two_versions_and_a_rerun_changes_nothing(
    warehouse_engine: Engine,
) -> None:
    merge(warehouse_engine, D1, ESAS, SCHOOLS)
    day_two = [RENAMED, PA_TAN, PHITTHAYAKHOM]
    merge(warehouse_engine, D2, ESAS, day_two)

    assert versions(warehouse_engine, SchoolHistoryRow, MAE_THA.school_code) == [
        (MAE_THA.school_name, D1, D2),
        (RENAMED.school_name, D2, None),
    ]
    assert versions(warehouse_engine, SchoolHistoryRow, PA_TAN.school_code) == [
        (PA_TAN.school_name, D1, None)
    ]
    assert versions(warehouse_engine, EsaHistoryRow, LAMPANG_1.esa_code) == [
        (LAMPANG_1.esa_name, D1, None)
    ]

    once = history_checksum(warehouse_engine)
    merge(warehouse_engine, D2, ESAS, day_two)
    assert history_checksum(warehouse_engine) == once
    # a later date with the same registry adds nothing either
    merge(warehouse_engine, D3, ESAS, day_two)
    assert history_checksum(warehouse_engine) == once


def test_any_column_counts_and_the_last_run_of_a_date_wins(warehouse_engine: Engine) -> None:
    merge(warehouse_engine, D1, ESAS, SCHOOLS)
    more_students = replace(PA_TAN, students=260)
    merge(warehouse_engine, D2, ESAS, [RENAMED, more_students, PHITTHAYAKHOM])
    with warehouse_engine.connect() as conn:
        students = conn.execute(
            select(SchoolHistoryRow.students, SchoolHistoryRow.valid_to)
            .where(SchoolHistoryRow.school_code == PA_TAN.school_code)
            .order_by(SchoolHistoryRow.valid_from)
        ).all()
    assert [tuple(row) for row in students] == [(240, D2), (260, None)]

    # D2 run again after the registry was put back: as if D2 had never changed anything
    merge(warehouse_engine, D2, ESAS, SCHOOLS)
    for school in SCHOOLS:
        assert versions(warehouse_engine, SchoolHistoryRow, school.school_code) == [
            (school.school_name, D1, None)
        ]


def test_an_esa_gone_from_the_registry_is_closed_and_can_come_back(
    warehouse_engine: Engine,
) -> None:
    merge(warehouse_engine, D1, ESAS, SCHOOLS)
    merge(warehouse_engine, D2, [LAMPANG_1], [MAE_THA, PA_TAN])

    assert versions(warehouse_engine, EsaHistoryRow, LAMPANG_SEC.esa_code) == [
        (LAMPANG_SEC.esa_name, D1, D2)
    ]
    assert versions(warehouse_engine, SchoolHistoryRow, PHITTHAYAKHOM.school_code) == [
        (PHITTHAYAKHOM.school_name, D1, D2)
    ]
    with warehouse_engine.connect() as conn:
        assert conn.execute(select(EsaRow.esa_code)).scalars().all() == [LAMPANG_1.esa_code]

    merge(warehouse_engine, D3, ESAS, SCHOOLS)
    assert versions(warehouse_engine, EsaHistoryRow, LAMPANG_SEC.esa_code) == [
        (LAMPANG_SEC.esa_name, D1, D2),
        (LAMPANG_SEC.esa_name, D3, None),
    ]


def test_a_backfill_of_an_earlier_date_leaves_the_history_alone(warehouse_engine: Engine) -> None:
    merge(warehouse_engine, D1, ESAS, SCHOOLS)
    merge(warehouse_engine, D3, ESAS, [RENAMED, PA_TAN, PHITTHAYAKHOM])
    before = history_checksum(warehouse_engine)

    # D2, merged late and with an older copy of the registry, must not rewrite what D3 recorded
    merge(warehouse_engine, D2, [LAMPANG_1], SCHOOLS)
    assert history_checksum(warehouse_engine) == before
    assert versions(warehouse_engine, SchoolHistoryRow, MAE_THA.school_code) == [
        (MAE_THA.school_name, D1, D3),
        (RENAMED.school_name, D3, None),
    ]

    # and the history goes on from the latest date
    merge(warehouse_engine, D4, ESAS, SCHOOLS)
    assert versions(warehouse_engine, SchoolHistoryRow, MAE_THA.school_code) == [
        (MAE_THA.school_name, D1, D3),
        (RENAMED.school_name, D3, D4),
        (MAE_THA.school_name, D4, None),
    ]
