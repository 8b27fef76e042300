"""The true state of one school and how it moves day by day.

Field names are the contract's column keys (checked against the contract when the demo runs), so
the state can be written as `state/<day>.csv` and rendered into sheet cells column by column.
The shares below describe January 2018, right after MOENet ended on 1 January.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, fields
from datetime import date, timedelta

from schoolnet.contract import Contract

CONNECTED, PROCURING, NOT_CONNECTED, NO_PROVIDER = (
    "connected",
    "procuring",
    "not_connected",
    "no_provider",
)

# Market shares of school connections in 2018: TOT (state) first, then the big private ISPs.
ISP_WEIGHTS: dict[str, float] = {
    "TOT": 32, "CAT": 11, "True": 16, "3BB": 17, "AIS": 10, "DTAC": 5, "UIH": 4, "other": 5,
}  # fmt: skip
# Where fixed lines do not reach, schools buy from the state carriers or a mobile network.
REMOTE_ISP_WEIGHTS: dict[str, float] = {"TOT": 40, "CAT": 30, "AIS": 12, "DTAC": 10, "other": 8}
LINK_WEIGHTS: dict[str, dict[str, float]] = {
    "TOT": {"fiber": 45, "dsl": 45, "satellite": 6, "other": 4},
    "CAT": {"fiber": 45, "dsl": 15, "satellite": 35, "other": 5},
    "True": {"fiber": 60, "dsl": 40},
    "3BB": {"fiber": 70, "dsl": 30},
    "AIS": {"mobile": 65, "fiber": 35},
    "DTAC": {"mobile": 100},
    "UIH": {"fiber": 85, "other": 15},
    "other": {"fiber": 40, "satellite": 30, "other": 30},
}
# Package prices (THB per month) by link type and download speed (Mbps).
FEES: dict[str, dict[int, int]] = {
    "fiber": {20: 590, 30: 690, 50: 890, 100: 1290},
    "dsl": {10: 590, 15: 590, 20: 690, 30: 790},
    "mobile": {10: 590, 20: 790, 30: 990, 50: 1290},
    "satellite": {5: 1500, 10: 1900, 20: 2500},
    "other": {10: 690, 20: 890, 30: 1090, 50: 1490},
}
SPEED_WEIGHTS: dict[str, tuple[float, ...]] = {
    "fiber": (20, 35, 30, 15),
    "dsl": (30, 20, 30, 20),
    "mobile": (35, 35, 20, 10),
    "satellite": (40, 45, 15),
    "other": (30, 35, 25, 10),
}
UPLOAD_SHARE: dict[str, tuple[float, ...]] = {
    "fiber": (0.5, 0.5, 0.5, 1 / 3, 1.0),
    "dsl": (0.1,),
    "mobile": (0.25,),
    "satellite": (0.2,),
    "other": (0.5,),
}
MAX_FEE = 2500
FUNDING_WEIGHTS: dict[str, float] = {
    "per_student_subsidy": 72, "obec": 10, "local_government": 10, "donation": 6, "other": 2,
}  # fmt: skip
CONTACTED_WEIGHTS: dict[str, float] = {
    "TOT": 30, "CAT": 25, "AIS": 15, "True": 12, "3BB": 10, "DTAC": 8,
}  # fmt: skip

SMALL_SCHOOL_REASON = "โรงเรียนขนาดเล็ก งบรายหัวไม่เพียงพอ"
OTHER_REASONS = (
    "พื้นที่ห่างไกล ค่าบริการสูงกว่าปกติ",
    "ใช้สอนผ่านทีวีดาวเทียม (DLTV) และสื่อออนไลน์ ต้องการความเร็วเพิ่ม",
    "นักเรียนใช้สืบค้นข้อมูลและสอบออนไลน์จำนวนมาก",
    "งบรายหัวต้องใช้จ่ายค่าสาธารณูปโภคอื่นด้วย",
)
NOTES: dict[str, tuple[str, ...]] = {
    CONNECTED: (
        "สัญญาณไม่เสถียรช่วงฝนตก",
        "ใช้ร่วมกับ อบต.",
        "ติดตั้งเสร็จแล้ว ใช้งานได้ทุกห้องเรียน",
        "ใช้แพ็กเกจเดิมต่อจาก MOENet",
    ),
    PROCURING: (
        "รอติดตั้งอุปกรณ์",
        "อยู่ระหว่างทำสัญญา",
        "รอใบเสนอราคา",
        "ผู้ให้บริการนัดติดตั้งสัปดาห์หน้า",
    ),
    NOT_CONNECTED: (
        "รออนุมัติงบประมาณ",
        "กำลังสำรวจผู้ให้บริการ",
        "รอประชุมคณะกรรมการสถานศึกษา",
    ),
    NO_PROVIDER: (
        "พื้นที่ภูเขา ไม่มีสัญญาณโทรศัพท์",
        "รอ สทร. ประสานผู้ให้บริการ",
        "อยู่บนเกาะ ไม่มีสายเคเบิล",
        "ผู้ให้บริการแจ้งว่าไม่มีโครงข่ายในพื้นที่",
    ),
}
NEWLY_REACHED_NOTE = "ได้ผู้ให้บริการแล้ว หลัง สทร. ประสาน"

# Chance per elapsed day that a school moves one step forward (applied when its ESA edits).
STEP_PER_DAY: dict[str, float] = {PROCURING: 0.14, NOT_CONNECTED: 0.10, NO_PROVIDER: 0.015}
# Since MOENet closed every school pays for its own line, so some connected schools lose it:
# the chance per elapsed day that one does (applied when its ESA edits), and that a school which
# lost it gets it back (the contract renewed, the money found, the dish repaired).
LOSS_PER_DAY = 0.0012
RECONNECT_PER_DAY = 0.15
# Why a school lost its connection, as its clerk types it in the note: (status after the loss,
# the link types it happens to (empty: any), the note).
LOSSES: tuple[tuple[str, tuple[str, ...], str], ...] = (
    (PROCURING, (), "สัญญากับผู้ให้บริการสิ้นสุด อยู่ระหว่างทำสัญญาใหม่"),
    (NOT_CONNECTED, (), "สัญญาสิ้นสุด ยังไม่มีงบต่อสัญญา"),
    (NOT_CONNECTED, (), "งบรายหัวไม่พอจ่ายค่าบริการ ผู้ให้บริการระงับสัญญาณ"),
    (NOT_CONNECTED, ("satellite",), "จานดาวเทียมเสียหายจากพายุ รอช่างซ่อม"),
    (NOT_CONNECTED, ("fiber", "dsl"), "สายสัญญาณขาด รอผู้ให้บริการซ่อม"),
    (NOT_CONNECTED, ("mobile", "other"), "อุปกรณ์รับสัญญาณเสีย รอเปลี่ยนเครื่องใหม่"),
)
RECONNECTED_NOTE = "กลับมาใช้งานได้แล้ว"
# Service started at most this many days before the start date (late 2017 / January 2018).
OLDEST_SERVICE_DAYS = 75


@dataclass
class SchoolState:
    """What a perfect clerk would type for one school (normalized values)."""

    school_code: str
    school_name: str
    students: int
    status: str
    isp: str | None = None
    link_type: str | None = None
    download_mbps: int | None = None
    upload_mbps: int | None = None
    monthly_fee_thb: int | None = None
    funding_source: str | None = None
    support_requested_thb: int | None = None
    support_reason: str | None = None
    providers_contacted: tuple[str, ...] = ()
    service_start: date | None = None
    note: str | None = None
    # Not a contract column: the school had no provider, so its link is likely satellite.
    remote: bool = False
    # Not a contract column: the provider of the connection the school lost (None: it has
    # not lost one, or got it back).
    lost_isp: str | None = None


def check_contract(contract: Contract) -> None:
    """Fail loudly if the contract's columns or enum keys no longer match this model."""
    names = {f.name for f in fields(SchoolState)}
    missing = [key for key in contract.keys if key not in names]
    if missing:
        raise RuntimeError(f"demo data has no value for contract column(s): {missing}")
    used = {
        "status": {CONNECTED, PROCURING, NOT_CONNECTED, NO_PROVIDER},
        "isp": set(ISP_WEIGHTS) | set(REMOTE_ISP_WEIGHTS) | set(CONTACTED_WEIGHTS),
        "link_type": set(FEES),
        "funding_source": set(FUNDING_WEIGHTS),
    }
    for enum, keys in used.items():
        unknown = keys - {value.key for value in contract.enums[enum]}
        if unknown:
            raise RuntimeError(f"demo data uses {enum} values the contract lacks: {unknown}")


def pick(rng: random.Random, weights: dict[str, float]) -> str:
    return rng.choices(list(weights), weights=list(weights.values()))[0]


def students(rng: random.Random, level: str) -> int:
    """A lognormal school size: half of primary schools are small (under 120)."""
    if level == "primary":
        return min(3200, max(8, round(rng.lognormvariate(math.log(118), 0.85))))
    return min(4800, max(40, round(rng.lognormvariate(math.log(500), 0.75))))


def initial(
    rng: random.Random,
    *,
    code: str,
    name: str,
    size: int,
    remoteness: float,
    start: date,
) -> SchoolState:
    """A school's state on the first day: about 55/20/20/5 connected/procuring/not/no provider."""
    no_provider = min(0.4, 0.036 * remoteness * (1.5 if size < 60 else 1.0))
    factor = 0.85 if size < 60 else 0.95 if size < 120 else 1.05 if size < 600 else 1.3
    weights = {
        CONNECTED: 0.55 * factor,
        PROCURING: 0.20,
        NOT_CONNECTED: 0.20 / factor,
    }
    scale = (1 - no_provider) / sum(weights.values())
    weights = {key: value * scale for key, value in weights.items()}
    weights[NO_PROVIDER] = no_provider
    state = SchoolState(school_code=code, school_name=name, students=size, status=NOT_CONNECTED)
    remote_area = remoteness >= 2 and rng.random() < 0.3
    status = pick(rng, weights)
    if status == NO_PROVIDER:
        state.status = NO_PROVIDER
        state.remote = True
        contacted = rng.sample(list(CONTACTED_WEIGHTS), k=rng.choice((1, 2, 2, 3)))
        state.providers_contacted = tuple(k for k in CONTACTED_WEIGHTS if k in contacted)
        state.note = _note(rng, NO_PROVIDER, 0.5)
        return state
    state.remote = remote_area
    if status in (PROCURING, CONNECTED):
        _procure(rng, state)
    if status == CONNECTED:
        _connect(rng, state, start - timedelta(days=1), fresh=False)
    else:
        state.status = status
        state.note = _note(rng, status, 0.12)
    return state


def step(
    rng: random.Random,
    state: SchoolState,
    edit_day: date,
    elapsed: int,
    losses: random.Random | None = None,
) -> bool:
    """Move one step forward with the chance of `elapsed` days; True if the state changed.

    With `losses`, a connected school may lose its connection and a school that lost it may
    get it back, drawn from `losses` alone: the other schools move as they would without."""
    if losses is not None and (state.status == CONNECTED or state.lost_isp is not None):
        return _lose_or_regain(losses, state, edit_day, elapsed)
    chance = STEP_PER_DAY.get(state.status)
    if chance is None or rng.random() >= 1 - (1 - chance) ** elapsed:
        return False
    if state.status == PROCURING:
        _connect(rng, state, edit_day, fresh=True)
    elif state.status == NOT_CONNECTED:
        _procure(rng, state)
        state.note = _note(rng, PROCURING, 0.2)
    else:  # a provider was found for a school nobody reached
        state.providers_contacted = ()
        _procure(rng, state)
        state.note = NEWLY_REACHED_NOTE
    return True


def _lose_or_regain(rng: random.Random, state: SchoolState, edit_day: date, elapsed: int) -> bool:
    """A connected school loses its connection, or one that lost it gets it back."""
    if state.lost_isp is None:
        if rng.random() >= 1 - (1 - LOSS_PER_DAY) ** elapsed:
            return False
        assert state.isp is not None
        causes = [cause for cause in LOSSES if not cause[1] or state.link_type in cause[1]]
        status, _, note = rng.choice(causes)
        state.lost_isp = state.isp
        state.status = status
        state.isp = state.isp if status == PROCURING else None
        state.link_type = None
        state.download_mbps = state.upload_mbps = state.monthly_fee_thb = None
        state.funding_source = None
        state.support_requested_thb = None
        state.support_reason = None
        state.service_start = None
        state.note = note
        return True
    if rng.random() >= 1 - (1 - RECONNECT_PER_DAY) ** elapsed:
        return False
    state.isp, state.lost_isp = state.lost_isp, None
    _connect(rng, state, edit_day, fresh=True)
    state.note = RECONNECTED_NOTE
    return True


def _note(rng: random.Random, status: str, chance: float) -> str | None:
    return rng.choice(NOTES[status]) if rng.random() < chance else None


def _procure(rng: random.Random, state: SchoolState) -> None:
    state.status = PROCURING
    if state.providers_contacted:  # one of the providers the school asked finally said yes
        state.isp = rng.choice(("CAT", "TOT"))
    else:
        state.isp = pick(rng, REMOTE_ISP_WEIGHTS if state.remote else ISP_WEIGHTS)


def _connect(rng: random.Random, state: SchoolState, last_day: date, *, fresh: bool) -> None:
    """Fill in the connection of a school that is (now) online; `last_day` is the latest start."""
    assert state.isp is not None
    state.status = CONNECTED
    links = dict(LINK_WEIGHTS[state.isp])
    if state.remote and "satellite" in links:
        links["satellite"] *= 8
    link = pick(rng, links)
    speeds = list(FEES[link])
    down = rng.choices(speeds, weights=SPEED_WEIGHTS[link])[0]
    state.link_type = link
    state.download_mbps = down
    state.upload_mbps = max(1, int(down * rng.choice(UPLOAD_SHARE[link])))
    fee = min(MAX_FEE, FEES[link][down] + rng.choice((0, 0, 0, 100, 200, 300, 500)))
    state.monthly_fee_thb = fee
    funding = dict(FUNDING_WEIGHTS)
    if state.students < 120:
        funding["obec"] *= 1.8
        funding["donation"] *= 1.5
    state.funding_source = pick(rng, funding)
    state.support_requested_thb = None
    state.support_reason = None
    if state.students < 120 and rng.random() < 0.4:
        state.support_requested_thb = max(100, round(fee * rng.uniform(0.3, 1.0) / 10) * 10)
        state.support_reason = (
            SMALL_SCHOOL_REASON if rng.random() < 0.75 else rng.choice(OTHER_REASONS)
        )
    elif rng.random() < 0.04:
        state.support_requested_thb = max(100, round(fee * rng.uniform(0.2, 0.6) / 10) * 10)
        state.support_reason = rng.choice(OTHER_REASONS)
    if fresh:
        state.service_start = last_day - timedelta(days=rng.choice((0, 0, 0, 1, 2)))
    elif rng.random() < 0.85:
        back = rng.randint(0, 20) if rng.random() < 0.7 else rng.randint(21, OLDEST_SERVICE_DAYS)
        state.service_start = last_day - timedelta(days=back)
    else:
        state.service_start = None
    state.note = _note(rng, CONNECTED, 0.08)
