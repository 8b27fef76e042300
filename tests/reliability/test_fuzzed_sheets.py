"""Generated sheets through the whole validate-and-merge path (``validate_landed`` with the
contract, then ``merge`` into a SQLite warehouse), the way a pull hands a landed sheet on.

For any sheet: nothing raises, every rejected row has a finding pointing at its row, and every
accepted row's values are in the warehouse for the day, unchanged. The budget is fixed and the
examples derandomized, so CI runs the same examples every time.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine

from schoolnet.contract import load_contract
from schoolnet.core.config import Settings
from schoolnet.core.registry import Esa, read_esas
from schoolnet.devtools.demo import generate
from schoolnet.devtools.emulator import Emulator, load_day
from schoolnet.ingestion.google import EmulatorSession
from schoolnet.ingestion.ingest import SheetsReader
from schoolnet.ingestion.landing import RawSheet
from schoolnet.orchestration.merge import merge
from schoolnet.orchestration.registries import load_school_registry
from schoolnet.orchestration.validate import validate_landed
from schoolnet.validation.result import ResultFinding, SheetResult
from schoolnet.warehouse import create_warehouse_engine, ensure_schema
from schoolnet.warehouse.models import SNAPSHOT_VALUE_COLUMNS
from tests.reliability.conftest import settings_for, snapshot

DAY = date(2018, 1, 3)
CONTRACT = load_contract()
HEADERS = [column.header for column in CONTRACT.columns]
KEYS = [column.key for column in CONTRACT.columns]

NASTY_TEXT = [
    '=IMPORTRANGE("https://docs.google.com/spreadsheets/d/x","A1:Z99")',
    '=HYPERLINK("http://example.invalid","คลิก")',
    "=1+1",
    "+66 2 000 0000",
    "-12",
    "@SUM(A1:A9)",
    "#REF!",
    "#N/A",
    "#VALUE!",
    "#DIV/0!",
    "#ERROR!",
    "\u200b",  # zero-width space
    "\ufeff1052010001",  # BOM before a code
    "\x00",
    "ab\x00cd",
    "\u202eเชื่อมต่อแล้ว",  # right-to-left override
    "שלום",
    "مرحبا ١٢٣",
    "๑๒๓",
    "ก\u0e34\u0e34\u0e34\u0e48\u0e48",  # stacked combining marks
    "👩\u200d💻🇹🇭",
    "<script>alert(1)</script>",
    "  ",
    "",
    "\t\n\r",
    "ก" * 50_000,  # a huge cell
]

CELL = st.one_of(
    st.sampled_from(NASTY_TEXT),
    st.text(st.characters(codec="utf-8"), max_size=30),
    st.integers(min_value=-(10**18), max_value=10**18),
    st.floats(allow_nan=False, allow_infinity=False),  # JSON from Google carries no NaN
    st.booleans(),
)


@dataclass
class World:
    root: Path
    settings: Settings
    engine: Engine
    esa: Esa
    sheet: list[list[Any]]  # the ESA's real sheet of the day: header first

    def through(self, values: list[list[Any]]) -> SheetResult:
        """Land ``values`` as today's read of the ESA's sheet, validate, merge; the result."""
        sheet = RawSheet(
            esa_code=self.esa.esa_code,
            spreadsheet_id=self.esa.spreadsheet_id,
            values=values,
            tab=CONTRACT.data_tab,
            used_first_tab=False,
            api_calls=1,
            sheet_modified_time=None,
            origin_date=DAY,
        )
        schools = load_school_registry(self.settings)
        result = validate_landed(self.esa, DAY, sheet, self.settings, schools, self.engine)
        merge(DAY, self.settings, self.engine)
        return result


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    root = tmp_path_factory.mktemp("fuzz")
    demo = root / "demo"
    manifest = generate(demo, esa_limit=1, days=1)
    settings = settings_for(root, demo)
    engine = create_warehouse_engine(f"sqlite:///{root / 'warehouse.db'}")
    ensure_schema(engine)
    esa = read_esas(settings.registry.esas)[0]
    load_day(root / "state", demo, manifest.days[0])
    with Emulator(root / "state", read_quota_per_minute=0) as emulator:  # read as Google gives it
        reader = SheetsReader(EmulatorSession(emulator.base_url), settings.google)
        values = reader.read_data_tab(esa.spreadsheet_id, CONTRACT.data_tab).values
    yield World(root, settings, engine, esa, values)
    engine.dispose()


def check(world: World, values: list[list[Any]]) -> int:
    """The three properties, for one sheet; how many accepted rows they were checked on."""
    result = world.through(values)
    findings = result.findings
    # Any severity: an identical copy of an earlier row is set aside with a warning only.
    rows_with_findings = {f.row for f in findings}
    # The result file records each row's verdict only through counts and findings: recompute
    # the rows from the validator for the row-level checks.
    from schoolnet.validation import validate_sheet

    validation = validate_sheet(
        values,
        esa_code=world.esa.esa_code,
        schools=load_school_registry(world.settings),
        today=DAY,
        tab_title=CONTRACT.data_tab,
    )
    assert [ResultFinding.of(f) for f in validation.findings] == list(findings)
    for row in validation.rows:
        if not row.accepted:
            assert row.row in rows_with_findings, f"row {row.row} rejected without a finding"
    stored = snapshot(world.engine, DAY)
    if result.outcome == "accepted":
        accepted = [row for row in validation.rows if row.accepted]
        assert len(result.accepted) == len(accepted)  # no accepted row dropped
        for row in accepted:
            assert row.school_code in stored, row.row
            kept = stored[row.school_code]
            assert kept["accepted_on"] == DAY
            for name in SNAPSHOT_VALUE_COLUMNS:
                assert kept[name] == row.values.get(name), (row.row, name)
        return len(accepted)
    assert all(row["accepted_on"] != DAY for row in stored.values())
    return 0


def cell(row: list[Any], position: int | None) -> Any:
    """A real row's cell, or a blank where the row is short or the column absent."""
    return row[position] if position is not None and position < len(row) else ""


def shuffled_header(data: st.DataObject) -> tuple[list[Any], list[int | None]]:
    """A header with the contract's columns reordered, some missing, some under their English
    key, some duplicated, plus unknown columns; and, per position, which real column it holds."""
    order = data.draw(st.permutations(range(len(HEADERS))))
    kept = [i for i in order if data.draw(st.integers(0, 19)) > 0]  # drop one in twenty
    header: list[Any] = []
    source: list[int | None] = []
    for index in kept:
        spelled = data.draw(
            st.sampled_from(
                [HEADERS[index], KEYS[index], f"  {HEADERS[index]} ", KEYS[index].upper()]
            )
        )
        header.append(spelled)
        source.append(index)
        if data.draw(st.integers(0, 19)) == 0:  # duplicated
            header.append(HEADERS[index])
            source.append(index)
    for _ in range(data.draw(st.integers(0, 2))):
        at = data.draw(st.integers(0, len(header)))
        header.insert(at, data.draw(CELL))
        source.insert(at, None)
    return header, source


def generated_sheet(world: World, data: st.DataObject) -> list[list[Any]]:
    """The ESA's real rows under a shuffled header, with wrong cells, ragged and junk rows."""
    real_header, *real_rows = world.sheet
    header, source = shuffled_header(data)
    # Where each contract column sits in the real sheet (its own order, maybe not all there).
    where = {i: real_header.index(h) for i, h in enumerate(HEADERS) if h in real_header}
    picked = data.draw(st.lists(st.sampled_from(real_rows), max_size=25)) if real_rows else []
    rows: list[list[Any]] = []
    for real in picked:
        row = [cell(real, where.get(i)) if i is not None else data.draw(CELL) for i in source]
        for _ in range(data.draw(st.integers(0, 2))):  # a few cells typed wrong
            if row:
                row[data.draw(st.integers(0, len(row) - 1))] = data.draw(CELL)
        cut = data.draw(st.integers(0, 3))  # ragged: trailing cells missing, or extra ones
        if cut == 1:
            row = row[: data.draw(st.integers(0, len(row)))]
        elif cut == 2:
            row = row + data.draw(st.lists(CELL, max_size=3))
        rows.append(row)
    for _ in range(data.draw(st.integers(0, 3))):  # junk rows anywhere
        rows.insert(data.draw(st.integers(0, len(rows))), data.draw(st.lists(CELL, max_size=20)))
    above = data.draw(st.lists(st.lists(CELL, max_size=4), max_size=2))  # title rows
    return [*above, header, *rows]


def test_any_generated_sheet_is_validated_and_merged_without_losing_accepted_data(
    world: World,
) -> None:
    sheets_with_accepted_rows: list[int] = []

    @settings(
        max_examples=120,
        deadline=None,
        derandomize=True,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )
    @given(data=st.data())
    def one_sheet(data: st.DataObject) -> None:
        sheets_with_accepted_rows.append(check(world, generated_sheet(world, data)))

    one_sheet()
    # The properties of accepted rows say nothing over sheets that have none: most generated
    # sheets must have some, and some must be turned away whole (the other branch).
    with_rows = sum(1 for count in sheets_with_accepted_rows if count)
    assert with_rows >= len(sheets_with_accepted_rows) // 3, sheets_with_accepted_rows
    assert with_rows < len(sheets_with_accepted_rows), "the branch without accepted rows never ran"


def test_ten_thousand_rows(world: World) -> None:
    """A sheet of 10,000 rows: the ESA's real rows repeated (duplicates), junk mixed in."""
    rng = random.Random(7)
    header, *real = world.sheet
    rows: list[list[Any]] = []
    while len(rows) < 10_000:
        row = list(rng.choice(real))
        if rng.random() < 0.2:
            row[rng.randrange(len(row))] = rng.choice([*NASTY_TEXT[:-6], -1, 3.5, True, 10**12])
        rows.append(row)
    check(world, [header, *rows])


def test_the_real_sheet_goes_through(world: World) -> None:
    """The control: the demo sheet of the day (with its clerks' usual slips) is accepted, and
    most of its rows with it, so the properties above are checked on accepted data."""
    result = world.through([list(row) for row in world.sheet])
    assert result.outcome == "accepted"
    assert len(result.accepted) > (len(world.sheet) - 1) // 2


def test_a_nul_pasted_into_cells_does_not_break_the_merge_on_either_engine(
    world: World, empty_url: str
) -> None:
    """PostgreSQL text cannot hold NUL: one pasted into a note, a name, or a number that is
    then rejected (its finding keeps the value) must not fail the day's merge."""
    header, *real = world.sheet
    note = header.index("หมายเหตุ") if "หมายเหตุ" in header else None
    students = header.index("จำนวนนักเรียน")
    rows = [list(row) + [""] * (len(header) - len(row)) for row in real[:3]]
    if note is not None:
        rows[0][note] = "ติดต่อ\x00ครู"
    rows[1][students] = "1\x002x"  # rejected, and its finding quotes the value
    rows[2][header.index("ชื่อโรงเรียน")] = f"\x00{rows[2][header.index('ชื่อโรงเรียน')]}"
    engine = create_warehouse_engine(empty_url)
    ensure_schema(engine)
    try:
        values = [header, *rows, *real[3:]]
        schools = load_school_registry(world.settings)
        sheet = RawSheet(
            world.esa.esa_code,
            world.esa.spreadsheet_id,
            values,
            CONTRACT.data_tab,
            False,
            1,
            None,
            DAY,
        )
        result = validate_landed(world.esa, DAY, sheet, world.settings, schools, engine)
        merge(DAY, world.settings, engine)
        stored = snapshot(engine, DAY)
        assert result.outcome == "accepted"
        assert not any(
            isinstance(value, str) and "\x00" in value
            for row in stored.values()
            for value in row.values()
        )
        if note is not None:
            assert stored[str(rows[0][header.index("รหัสโรงเรียน")])]["note"] == "ติดต่อครู"
    finally:
        engine.dispose()
