"""The national demo data set: registries, daily Drive snapshots of every ESA sheet, the truth.

Everything is drawn from random generators seeded by (seed, ESA code, purpose), so one seed always
gives byte-identical files, a smaller `esa_limit` (or `esa_codes`) gives the same ESAs as the full
set, and the true school states do not depend on the messy rate (mistakes have their own
generator).
"""

from __future__ import annotations

import base64
import csv
import hashlib
import json
import random
import shutil
from collections import Counter
from collections.abc import Collection
from dataclasses import dataclass, field, replace
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any

from schoolnet.contract import Contract, load_contract
from schoolnet.core.registry import Esa, School, write_csv
from schoolnet.devtools.demo import names
from schoolnet.devtools.demo.provinces import BANGKOK, EsaPlan, esa_plans
from schoolnet.devtools.demo.sheets import (
    EXPECTED,
    Mark,
    Mistake,
    Row,
    SheetStyle,
    applies,
    choose_style,
    draw_mistake,
    normalized,
    render,
    title_text,
)
from schoolnet.devtools.demo.state import SchoolState, check_contract, initial, step, students
from schoolnet.validation.findings import column_letters

DEFAULT_SEED = 2018
DEFAULT_DAYS = 14
DEFAULT_START = date(2018, 1, 3)

SHEET_TITLE = "ข้อมูลอินเทอร์เน็ตโรงเรียน {esa_name}"
# Office hours in Bangkok (UTC+7), 08:30-16:30, written in UTC.
OFFICE_OPENS_UTC = time(1, 30)
OFFICE_MINUTES = 8 * 60
EDIT_CHANCE_WEEKDAY = 0.72
EDIT_CHANCE_WEEKEND = 0.10
STALL_CHANCE = 0.05  # share of ESAs that stop editing for several days
STALL_LATEST_START = 10  # day index (from 1) by which a stalled ESA has stopped
FIX_CHANCE = 0.3  # share of a sheet's mistakes the clerk fixes on a day of edits
# What `schoolnet demo` and `schoolnet demo-data` make unless told otherwise: a few percent of rows
# with a clerk mistake, and the whole-sheet faults on the last day, so that the validation, the
# feedback tab and the ESA emails have something to show. `generate()` itself stays clean unless
# asked, so a test states the data it needs.
DEMO_MESSY_RATE = 0.03
# Whole-sheet faults, each on its own ESA on the data set's last day (the demo's report date).
SHEET_FAULTS = ("broken_header", "emptied", "unshared")
BROKEN_HEADER = "รหัส รร. (10 หลัก)"  # the school code's header retyped: not a known header
_FAULTS_IN_THE_SHEET = ("broken_header", "emptied")  # the others are in Drive's sharing
GENERATED_ENTRIES = ("days", "state", "truth", "manifest.json", "esas.csv", "schools.csv")
# Implausible edits: on a day after the first, an editing clerk slips on one number of one
# school's row, a value the school's own history makes implausible (docs/demo-data.md). The
# row is still accepted (a warning), so the slip stands as typed from then on: the warning
# comes the first morning only, and the truth says so. The true state never changes.
IMPLAUSIBLE_EDITS: dict[str, tuple[str, str]] = {
    "students_times_ten": ("students", "implausible_change"),
    "students_dropped_digit": ("students", "implausible_change"),
    "fee_times_ten": ("monthly_fee_thb", "implausible_change"),
    "dsl_kbps": ("download_mbps", "speed_beyond_link_type"),
}
DSL_KBPS = 512  # a DSL line's speed typed in kbps
# What `schoolnet demo-data` makes with --messy above 0: a few such slips a day nationally.
DEMO_IMPLAUSIBLE_RATE = 0.02


@dataclass(frozen=True)
class DemoManifest:
    seed: int
    start: date
    days: tuple[date, ...]
    folder_id: str
    messy_rate: float
    esa_count: int
    school_count: int
    sheet_faults: tuple[SheetFault, ...] = ()
    implausible_rate: float = 0.0


@dataclass(frozen=True)
class Slip:
    """An implausible edit standing in one school's row: its kind (of `IMPLAUSIBLE_EDITS`) and
    the day index it was typed (the only morning it is warned about)."""

    kind: str
    day_index: int


@dataclass(frozen=True)
class SheetFault:
    """A whole sheet the pipeline cannot use on one day, and why (one of `SHEET_FAULTS`):
    a header the clerk retyped (rejected), rows deleted (quarantined), sharing withdrawn (403)."""

    day: date
    kind: str
    esa_code: str
    spreadsheet_id: str


@dataclass
class _Office:
    """One ESA during generation: its registry entry, sheet style, schools and sheet history."""

    plan: EsaPlan
    esa: Esa
    style: SheetStyle
    schools: list[SchoolState]
    created: datetime
    evolution: random.Random
    messy: random.Random
    implausible: random.Random
    stall: range
    losses: random.Random  # which connected schools lose their connection, and get it back
    mistakes: dict[str, Mistake] = field(default_factory=dict)
    slips: dict[str, Slip] = field(default_factory=dict)
    slip_marks: list[tuple[Mark, Slip]] = field(default_factory=list)
    title: str | None = None
    last_edit: int = 0
    rows: list[Row] | None = None
    marks: list[Mark] = field(default_factory=list)
    neighbours: list[int] = field(default_factory=list)


def generate(
    out: Path,
    *,
    seed: int = DEFAULT_SEED,
    days: int = DEFAULT_DAYS,
    start: date = DEFAULT_START,
    messy_rate: float = 0.0,
    esa_limit: int | None = None,
    sheet_faults: bool = False,
    esa_codes: Collection[str] | None = None,
    implausible_rate: float = 0.0,
) -> DemoManifest:
    """Write the demo data set into `out`, replacing any earlier one there.

    `esa_limit` keeps the first ESAs by code; `esa_codes` keeps those named (both: the first
    of those named).

    With `sheet_faults`, three ESAs' sheets cannot be used on the last day (a retyped header,
    an emptied sheet, sharing withdrawn); the true states are the same either way.

    With `implausible_rate`, that share of the ESAs editing on a day after the first slip on
    one school's number (`IMPLAUSIBLE_EDITS`), recorded in the truth; 0 leaves the set as is.
    """
    if days < 1:
        raise ValueError("days must be at least 1")
    if not 0.0 <= messy_rate <= 1.0:
        raise ValueError("messy rate must be between 0 and 1")
    if not 0.0 <= implausible_rate <= 1.0:
        raise ValueError("implausible rate must be between 0 and 1")
    if esa_limit is not None and esa_limit < 1:
        raise ValueError("esa limit must be at least 1")
    contract = load_contract()
    check_contract(contract)
    plans = _chosen_plans(esa_codes)
    plans = plans[:esa_limit] if esa_limit else plans
    dates = tuple(start + timedelta(days=i) for i in range(days))
    folder_id = _drive_id(seed, "folder", 32)
    offices, schools = _registry(contract, plans, seed, start)
    faults = _choose_faults(seed, offices, dates) if sheet_faults else {}
    fault_clock = random.Random(f"{seed}/sheet-faults/clock")

    out.mkdir(parents=True, exist_ok=True)
    for name in GENERATED_ENTRIES:
        target = out / name
        if target.is_dir():
            shutil.rmtree(target)
        else:
            target.unlink(missing_ok=True)
    write_csv(out / "esas.csv", [office.esa for office in offices])
    write_csv(out / "schools.csv", schools)

    for index, day in enumerate(dates):
        folder = out / "days" / day.isoformat()
        folder.mkdir(parents=True)
        today = {f.esa_code: f.kind for f in faults.values() if f.day == day}
        for office in offices:
            fault = today.get(office.esa.esa_code)
            edits = index == 0 or _edits(office, index, day)
            changed = False
            if edits:
                modified = _clock(office.evolution, day - timedelta(days=1))
                slips = implausible_rate if fault is None else 0.0
                changed = _edit(contract, office, offices, index, messy_rate, day, slips)
            elif fault in _FAULTS_IN_THE_SHEET:
                modified = _clock(fault_clock, day - timedelta(days=1))
            else:
                continue
            if fault in _FAULTS_IN_THE_SHEET:
                assert office.rows is not None
                rows = _faulty_rows(office, str(fault))
                _write_sheet(folder, contract, office, folder_id, modified, rows)
            elif changed:
                _write_sheet(folder, contract, office, folder_id, modified)
        _write_state(out / "state" / f"{day.isoformat()}.csv", contract, offices)
        if messy_rate > 0 or faults or implausible_rate > 0:
            _write_truth(out / "truth" / f"{day.isoformat()}.json", offices, today, index)

    manifest = DemoManifest(
        seed=seed,
        start=start,
        days=dates,
        folder_id=folder_id,
        messy_rate=float(messy_rate),
        esa_count=len(offices),
        school_count=len(schools),
        sheet_faults=tuple(faults.values()),
        implausible_rate=float(implausible_rate),
    )
    _write_json(
        out / "manifest.json",
        {
            "seed": manifest.seed,
            "start": manifest.start.isoformat(),
            "days": [d.isoformat() for d in manifest.days],
            "folder_id": manifest.folder_id,
            "messy_rate": manifest.messy_rate,
            "esa_count": manifest.esa_count,
            "school_count": manifest.school_count,
            "sheet_faults": [
                {
                    "day": fault.day.isoformat(),
                    "kind": fault.kind,
                    "esa_code": fault.esa_code,
                    "spreadsheet_id": fault.spreadsheet_id,
                }
                for fault in manifest.sheet_faults
            ],
            "implausible_rate": manifest.implausible_rate,
        },
    )
    return manifest


def _chosen_plans(esa_codes: Collection[str] | None) -> list[EsaPlan]:
    """Every ESA's plan by code, or those of ``esa_codes``; an unknown code is refused."""
    plans = esa_plans()
    if esa_codes is None:
        return plans
    unknown = set(esa_codes) - {plan.esa_code for plan in plans}
    if unknown or not esa_codes:
        raise ValueError(f"the demo has no ESA of code(s) {sorted(unknown)}")
    return [plan for plan in plans if plan.esa_code in esa_codes]


def read_manifest(out: Path) -> DemoManifest:
    raw = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    return DemoManifest(
        seed=int(raw["seed"]),
        start=date.fromisoformat(raw["start"]),
        days=tuple(date.fromisoformat(d) for d in raw["days"]),
        folder_id=str(raw["folder_id"]),
        messy_rate=float(raw["messy_rate"]),
        esa_count=int(raw["esa_count"]),
        school_count=int(raw["school_count"]),
        sheet_faults=tuple(
            SheetFault(
                day=date.fromisoformat(item["day"]),
                kind=str(item["kind"]),
                esa_code=str(item["esa_code"]),
                spreadsheet_id=str(item["spreadsheet_id"]),
            )
            for item in raw.get("sheet_faults", [])
        ),
        implausible_rate=float(raw.get("implausible_rate", 0.0)),
    )


def expected_counts(out: Path, day: date) -> dict[str, int]:
    """Schools per status on `day`, from the true state (what the report should count)."""
    statuses = [value.key for value in load_contract().enums["status"]]
    with (out / "state" / f"{day.isoformat()}.csv").open(encoding="utf-8", newline="") as handle:
        counted = Counter(row["status"] for row in csv.DictReader(handle))
    unknown = set(counted) - set(statuses)
    if unknown:
        raise ValueError(f"unknown status in state file: {sorted(unknown)}")
    return {"schools": sum(counted.values()), **{key: counted[key] for key in statuses}}


def _drive_id(seed: int, what: str, length: int) -> str:
    """A Drive-style id: "1" then URL-safe base64 characters, derived from the seed."""
    digest = hashlib.sha256(f"schoolnet-demo/{seed}/{what}".encode()).digest()
    return "1" + base64.urlsafe_b64encode(digest).decode("ascii")[:length]


def _registry(
    contract: Contract, plans: list[EsaPlan], seed: int, start: date
) -> tuple[list[_Office], list[School]]:
    offices: list[_Office] = []
    schools: list[School] = []
    for plan in plans:
        rng = random.Random(f"{seed}/{plan.esa_code}/registry")
        primary = plan.level == "primary"
        count = round(rng.triangular(100, 200, 135) if primary else rng.triangular(30, 60, 40))
        taken: set[str] = set()
        model = primary and plan.zone == 1 and plan.province.name != BANGKOK
        school_names = [f"อนุบาล{plan.province.name}"] if model else []
        taken.update(school_names)
        school_names += names.unique_names(rng, count - len(school_names), plan.level, taken)
        states = []
        for sequence, name in enumerate(school_names, start=1):
            code = f"{plan.esa_code}{sequence:04d}"
            size = rng.randint(900, 2600) if model and sequence == 1 else students(rng, plan.level)
            province = plan.provinces[0]
            if len(plan.provinces) > 1 and rng.random() < 0.4:
                province = plan.provinces[1]
            states.append(
                initial(
                    rng,
                    code=code,
                    name=name,
                    size=size,
                    remoteness=province.remoteness,
                    start=start,
                )
            )
            schools.append(School(code, name, plan.esa_code, province.name, size))
        evolution = random.Random(f"{seed}/{plan.esa_code}/evolution")
        # Drawn the same way whatever `days` is, so a shorter run is a prefix of a longer one.
        stalls = evolution.random() < STALL_CHANCE
        first, length = evolution.randint(1, STALL_LATEST_START), evolution.randint(3, 6)
        stall = range(first, first + length) if stalls else range(0)
        created = datetime.combine(
            start - timedelta(days=rng.randint(5, 8)), time(2, 0)
        ) + timedelta(minutes=rng.randint(0, 180))
        offices.append(
            _Office(
                plan=plan,
                esa=Esa(
                    esa_code=plan.esa_code,
                    esa_name=plan.esa_name,
                    level=plan.level,
                    province=plan.province.name,
                    spreadsheet_id=_drive_id(seed, f"sheet/{plan.esa_code}", 43),
                    contact_email=plan.contact_email,
                ),
                style=choose_style(rng, contract),
                schools=states,
                created=created,
                evolution=evolution,
                messy=random.Random(f"{seed}/{plan.esa_code}/messy"),
                implausible=random.Random(f"{seed}/{plan.esa_code}/implausible"),
                stall=stall,
                losses=random.Random(f"{seed}/{plan.esa_code}/losses"),
            )
        )
    by_province: dict[str, list[int]] = {}
    for index, office in enumerate(offices):
        for province in office.plan.provinces:
            by_province.setdefault(province.code, []).append(index)
    for index, office in enumerate(offices):
        office.neighbours = sorted(
            {i for p in office.plan.provinces for i in by_province[p.code] if i != index}
        )
    return offices, schools


def _choose_faults(
    seed: int, offices: list[_Office], dates: tuple[date, ...]
) -> dict[str, SheetFault]:
    """One ESA for each whole-sheet fault, all different, on the last day (the demo's report
    date). A quarantine needs an earlier accepted day, and a fault needs a sound ESA beside it."""
    if len(dates) < 2 or len(offices) < len(SHEET_FAULTS) + 1:
        raise ValueError(f"sheet faults need at least 2 days and {len(SHEET_FAULTS) + 1} ESAs")
    rng = random.Random(f"{seed}/sheet-faults")
    # The first ESA stays sound: the live demo and the smallest sets start with it.
    chosen = rng.sample(offices[1:], len(SHEET_FAULTS))
    return {
        kind: SheetFault(dates[-1], kind, office.esa.esa_code, office.esa.spreadsheet_id)
        for kind, office in zip(SHEET_FAULTS, chosen, strict=True)
    }


def _edit(
    contract: Contract,
    office: _Office,
    offices: list[_Office],
    index: int,
    rate: float,
    day: date,
    implausible_rate: float = 0.0,
) -> bool:
    """The clerk's edits of the day before `day`: schools move on, mistakes are fixed and made,
    and perhaps one number slips. Whether the sheet's cells changed."""
    settled = {
        state.school_code: (state.status, state.monthly_fee_thb)
        for state in office.schools
        if state.school_code not in office.mistakes
    }
    if index:
        elapsed = index - office.last_edit
        for state in office.schools:
            step(office.evolution, state, day - timedelta(days=1), elapsed, office.losses)
        office.last_edit = index
    _update_mistakes(contract, office, offices, index, rate, day)
    _update_slips(office, index, implausible_rate, settled)
    rows, marks = render(contract, office.style, office.schools, office.mistakes, office.title)
    slip_marks = _apply_slips(office, rows)
    if rows == office.rows:
        return False
    office.rows, office.marks, office.slip_marks = rows, marks, slip_marks
    return True


def _slip_fits(kind: str, state: SchoolState) -> bool:
    """Whether a slip of `kind` still reads as one on the school's row: a count that ten times
    over stays under the contract's 5,000 warning, a fee, a DSL line within its speed."""
    if kind == "students_times_ten":
        return 3 <= state.students <= 500
    if kind == "students_dropped_digit":
        return state.students >= 100
    connected = state.status == "connected"
    if kind == "fee_times_ten":
        return connected and bool(state.monthly_fee_thb)
    return connected and state.link_type == "dsl" and 0 < (state.download_mbps or 0) < 200


def _update_slips(
    office: _Office, index: int, rate: float, settled: dict[str, tuple[str, int | None]]
) -> None:
    """Drop slips the school's state no longer fits; on a day after the first, with chance
    `rate`, one new slip on a school with no other mistake whose row was accepted as it is
    now the morning before (so its last accepted value is the true one)."""
    for code, slip in list(office.slips.items()):
        state = next(s for s in office.schools if s.school_code == code)
        if not _slip_fits(slip.kind, state):
            del office.slips[code]
    for code in office.slips:
        office.mistakes.pop(code, None)  # one mistake a row: the slip stands alone
    if index == 0 or rate <= 0:
        return
    rng = office.implausible
    if rng.random() >= rate:
        return
    kind = rng.choice(sorted(IMPLAUSIBLE_EDITS))
    candidates = [
        state
        for state in office.schools
        if state.school_code in settled
        and state.school_code not in office.mistakes
        and state.school_code not in office.slips
        and settled[state.school_code] == (state.status, state.monthly_fee_thb)
        and _slip_fits(kind, state)
    ]
    if candidates:
        office.slips[rng.choice(candidates).school_code] = Slip(kind, index)


def _slipped(kind: str, state: SchoolState) -> int:
    """The number the clerk typed for the school's true value."""
    if kind == "students_times_ten":
        return state.students * 10
    if kind == "students_dropped_digit":
        return state.students // 10
    if kind == "fee_times_ten":
        assert state.monthly_fee_thb is not None
        return state.monthly_fee_thb * 10
    return DSL_KBPS


def _apply_slips(office: _Office, rows: list[Row]) -> list[tuple[Mark, Slip]]:
    """Type each standing slip into its school's row; where each sits, as truth marks."""
    if not office.slips:
        return []
    code_at = _code_column(office)
    by_code = {state.school_code: state for state in office.schools}
    marks = []
    for number, cells in enumerate(rows, start=1):
        code = cells[code_at] if len(cells) > code_at else None
        slip = office.slips.get(code) if isinstance(code, str) else None
        if slip is None:
            continue
        column = IMPLAUSIBLE_EDITS[slip.kind][0]
        at = next(i for i, c in enumerate(office.style.columns) if c.key == column)
        cells[at] = _slipped(slip.kind, by_code[str(code)])
        cell = f"{column_letters(at)}{number}"
        marks.append((Mark(number, column, cell, slip.kind, str(cells[at])), slip))
    return marks


def _header_row(office: _Office) -> int:
    """The header's row number as Sheets shows it (below the title row, if any)."""
    return 2 if office.title is not None else 1


def _faulty_rows(office: _Office, kind: str) -> list[Row]:
    """The sheet's rows with a whole-sheet fault on top: the school code's header retyped, or
    every row below the header deleted."""
    assert office.rows is not None
    header = _header_row(office)
    if kind == "emptied":
        return [list(row) for row in office.rows[:header]]
    rows = [list(row) for row in office.rows]
    rows[header - 1][_code_column(office)] = BROKEN_HEADER
    return rows


def _code_column(office: _Office) -> int:
    return next(i for i, c in enumerate(office.style.columns) if c.key == "school_code")


def _edits(office: _Office, index: int, day: date) -> bool:
    """Whether the ESA's clerk edits the sheet on the day before `day` (weekends rarely)."""
    edit_day = day - timedelta(days=1)
    chance = EDIT_CHANCE_WEEKDAY if edit_day.weekday() < 5 else EDIT_CHANCE_WEEKEND
    roll = office.evolution.random()
    return index not in office.stall and roll < chance


def _clock(rng: random.Random, day: date) -> datetime:
    """A moment during Bangkok office hours of `day`, in UTC."""
    return datetime.combine(day, OFFICE_OPENS_UTC) + timedelta(
        minutes=rng.randrange(OFFICE_MINUTES), seconds=rng.randrange(60)
    )


def _update_mistakes(
    contract: Contract,
    office: _Office,
    offices: list[_Office],
    index: int,
    rate: float,
    day: date,
) -> None:
    """On the first day, give a `rate` share of rows a mistake; later, fix some and add some."""
    if rate <= 0:
        return
    rng = office.messy
    if index == 0:
        add = rate
        if rng.random() < min(0.25, 0.03 + rate):
            office.title = title_text(day)
    else:
        add = min(1.0, FIX_CHANCE * rate / (1 - rate)) if rate < 1 else 1.0
    for state in office.schools:
        mistake = office.mistakes.get(state.school_code)
        if mistake is not None:
            fixed = index > 0 and rng.random() < FIX_CHANCE
            if fixed or not applies(contract, office.style, mistake, state):
                del office.mistakes[state.school_code]
            continue
        if rng.random() < add:
            foreign = _foreign_school(rng, office, offices)
            office.mistakes[state.school_code] = draw_mistake(
                rng, contract, office.style, state, foreign
            )


def _foreign_school(
    rng: random.Random, office: _Office, offices: list[_Office]
) -> SchoolState | None:
    """A copy of a school of another ESA, of the same province where there is one."""
    pool = office.neighbours or [i for i in range(len(offices)) if offices[i] is not office]
    if not pool:
        return None
    present = {m.other.school_code for m in office.mistakes.values() if m.other is not None}
    for _ in range(5):  # a foreign school appears at most once, or it would be a duplicate too
        school = rng.choice(offices[rng.choice(pool)].schools)
        if school.school_code not in present:
            return replace(school)
    return None


def _utc(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.000Z")


def _write_json(path: Path, data: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    text = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
    path.write_text(text, encoding="utf-8")


def _write_sheet(
    folder: Path,
    contract: Contract,
    office: _Office,
    folder_id: str,
    modified: datetime,
    rows: list[Row] | None = None,
) -> None:
    esa = office.esa
    _write_json(
        folder / f"{esa.spreadsheet_id}.json",
        {
            "spreadsheetId": esa.spreadsheet_id,
            "title": SHEET_TITLE.format(esa_name=esa.esa_name),
            "parents": [folder_id],
            "createdTime": _utc(office.created),
            "modifiedTime": _utc(modified),
            "locale": "th_TH",
            "timeZone": "Asia/Bangkok",
            "sheets": [{"sheetId": 0, "title": contract.data_tab, "rows": rows or office.rows}],
        },
    )


def _write_state(path: Path, contract: Contract, offices: list[_Office]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(contract.keys)
        for office in offices:
            writer.writerows(
                [normalized(c, getattr(s, c.key)) for c in contract.columns] for s in office.schools
            )


def _write_truth(
    path: Path, offices: list[_Office], faults: dict[str, str], index: int = 0
) -> None:
    """Every mistake the pipeline must find that day; an ESA with a whole-sheet fault has what
    that fault makes it report instead of its rows' mistakes (which it cannot reach). A slip is
    warned about the morning it was typed only (`expected_code` null after: it was accepted)."""
    entries: list[dict[str, Any]] = []
    for office in offices:
        fault = faults.get(office.esa.esa_code)
        for mark in office.marks:
            if fault == "unshared" or (fault is not None and mark.kind != "title_row"):
                continue  # a sheet we cannot read shows nothing; a rejected one its title
            code, severity = EXPECTED[mark.kind]
            entries.append(_entry(office, mark.row, mark.column, mark.cell, mark.kind, mark.value))
            entries[-1].update(expected_code=code, expected_severity=severity)
        if fault is None:
            for mark, slip in office.slip_marks:
                fresh = slip.day_index == index
                entries.append(
                    _entry(office, mark.row, mark.column, mark.cell, mark.kind, mark.value)
                )
                entries[-1].update(
                    expected_code=IMPLAUSIBLE_EDITS[slip.kind][1] if fresh else None,
                    expected_severity="warning" if fresh else None,
                )
        if fault is not None:
            entries.extend(_fault_entries(office, fault))
    _write_json(path, entries)


def _entry(
    office: _Office, row: int | None, column: str | None, cell: str | None, kind: str, value: str
) -> dict[str, Any]:
    return {
        "esa_code": office.esa.esa_code,
        "spreadsheet_id": office.esa.spreadsheet_id,
        "row": row,
        "column": column,
        "cell": cell,
        "kind": kind,
        "value": value,
    }


def _fault_entries(office: _Office, kind: str) -> list[dict[str, Any]]:
    """What the pipeline reports for a whole-sheet fault (`expected_code` as in `EXPECTED`)."""
    found: list[tuple[dict[str, Any], str, str | None]] = []
    if kind == "broken_header":
        header = _header_row(office)
        cell = f"{column_letters(_code_column(office))}{header}"
        retyped = _entry(office, header, None, cell, kind, BROKEN_HEADER)
        found.append((retyped, "unknown_column", "warning"))
        found.append(
            (_entry(office, None, "school_code", None, kind, ""), "missing_column", "error")
        )
    elif kind == "emptied":
        held = _entry(office, None, None, None, kind, "0")  # the rows it accepted: none
        found.append((held, "quarantined", "error"))
        for school in sorted(s.school_code for s in office.schools):
            gone = _entry(office, None, "school_code", None, kind, school)
            found.append((gone, "not_reported", "warning"))
    else:  # unshared: no finding, the read fails (the pull's error code)
        found.append((_entry(office, None, None, None, kind, ""), "not_shared", None))
    return [
        {**entry, "expected_code": code, "expected_severity": severity}
        for entry, code, severity in found
    ]
