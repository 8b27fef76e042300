"""Plausible Thai school names, built from real-sounding village and temple words.

Real OBEC school names follow a few patterns: primary schools are named after their village
(`บ้าน…`), temple (`วัด…`) or community (`ชุมชน…`), with one `อนุบาล<province>` model school per
province; secondary schools add a suffix such as `…วิทยา` or `…พิทยาคม` to a place name.
"""

from __future__ import annotations

import random

# Landscape words that begin Thai village names (หนอง = pond, โนน = mound, ห้วย = creek, ...).
PLACE_HEADS: tuple[str, ...] = (
    "หนอง", "โนน", "ดอน", "ห้วย", "นา", "โคก", "ทุ่ง", "ป่า", "บึง", "สระ", "คลอง", "บาง",
    "ท่า", "หัว", "แม่", "น้ำ", "เขา", "ดง", "โพน", "กุด", "ซับ", "วัง", "ไร่", "สวน", "เกาะ",
    "ปาง", "ผา", "ดอย", "ม่วง", "โพธิ์", "ตลาด", "หาด", "ลำ", "คุ้ม", "หมู่", "นิคม",
)  # fmt: skip

# Words that complete them (บัว = lotus, แก้ว = crystal, ใหญ่ = big, ...).
PLACE_TAILS: tuple[str, ...] = (
    "บัว", "แก้ว", "ใหญ่", "น้อย", "สูง", "กลาง", "ทอง", "ทราย", "แดง", "ขาม", "ยาง", "แวง",
    "คู", "เรือ", "ไผ่", "ตาล", "มะม่วง", "หิน", "ดู่", "สะแก", "ตะเคียน", "ไทร", "จาน",
    "ขี้เหล็ก", "หว้า", "เต่า", "ช้าง", "ม้า", "นกเขียน", "เหล่า", "คำ", "สำราญ", "เจริญ",
    "พัฒนา", "สามัคคี", "ใหม่", "หลวง", "โพธิ์", "กระสัง", "ตูม", "ม่วง", "ขาว", "เกลือ",
    "จิก", "ลาน", "งิ้ว", "ชุมแสง", "มะขาม", "ปรือ", "สองห้อง", "ศรีสุข", "เสือ", "ควาย",
)  # fmt: skip

# Optional last word of a village name (ใต้ = south, เหนือ = north, ...).
PLACE_SUFFIXES: tuple[str, ...] = ("ใต้", "เหนือ", "ตะวันออก", "ตะวันตก", "พัฒนา", "ใหม่", "เก่า")

TEMPLE_HEADS: tuple[str, ...] = (
    "ศรี", "โพธิ์", "สว่าง", "ป่า", "ไชย", "ทุ่ง", "หนอง", "บาง", "ท่า", "เขา", "ดอน",
    "ประชา", "สุวรรณ", "ธรรม", "มหา", "เทพ", "อุดม", "บูรพ", "กลาง", "ใหม่", "ราษฎร์", "ชัย",
)  # fmt: skip

TEMPLE_TAILS: tuple[str, ...] = (
    "อารมณ์", "ทอง", "ชัย", "สุข", "มงคล", "ราษฎร์บำรุง", "ธาราม", "วนาราม", "นิมิต",
    "ประดิษฐ์", "สามัคคี", "คงคา", "ธรรมาราม", "สุวรรณาราม", "ศรัทธาราม", "เจริญธรรม",
    "นิโครธาราม", "ประชาสรรค์", "ไพรวัลย์", "บรรพต", "ราษฎร์ศรัทธา", "โสภณ",
)  # fmt: skip

SECONDARY_SUFFIXES: tuple[str, ...] = ("วิทยา", "พิทยาคม", "วิทยาคม", "ศึกษา")


def village(rng: random.Random) -> str:
    """A village name such as `หนองบัว` or `โนนสูงใต้`."""
    name = rng.choice(PLACE_HEADS) + rng.choice(PLACE_TAILS)
    if rng.random() < 0.12:
        name += rng.choice(PLACE_SUFFIXES)
    return name


def temple(rng: random.Random) -> str:
    """A temple name (without `วัด`) such as `ศรีสุข` or `โพธิ์ทอง`."""
    return rng.choice(TEMPLE_HEADS) + rng.choice(TEMPLE_TAILS)


def primary_name(rng: random.Random) -> str:
    roll = rng.random()
    if roll < 0.66:
        return "บ้าน" + village(rng)
    if roll < 0.92:
        return "วัด" + temple(rng)
    return "ชุมชนบ้าน" + village(rng)


def secondary_name(rng: random.Random) -> str:
    stem = village(rng) if rng.random() < 0.8 else temple(rng)
    return stem + rng.choice(SECONDARY_SUFFIXES)


def unique_names(rng: random.Random, count: int, level: str, taken: set[str]) -> list[str]:
    """`count` names, none already in `taken` (which is updated): unique within one ESA."""
    draw = primary_name if level == "primary" else secondary_name
    names: list[str] = []
    while len(names) < count:
        name = draw(rng)
        if name not in taken:
            taken.add(name)
            names.append(name)
    return names
