"""Every figure of the morning email, on consecutive days of messy sheets, equals a second
computation written here from the demo data set alone: the sheets as they stood each morning,
what each clerk meant (``state/<day>.csv``), the mistakes typed (``truth/<day>.json``) and the
district sheet contract. Nothing is read from the warehouse.

Each accepted row is also checked against the school's own last accepted values with the
contract's history rules, read here from the contract's YAML and applied anew: the data set's
implausible edits (a tenfold student count, a dropped digit, a fee typed ten times over, a DSL
line at 512) must give exactly the warnings computed here, the morning they are typed only.

The real ``schoolnet_daily`` DAG (``airflow dags test``) runs against the Sheets emulator over
HTTP and a real SMTP server, for four days of a data set with clerk mistakes (``--messy``): three
mornings in order with the third day skipped, then the skipped date as a catch-up after the later
date exists (the sheets then hold the later morning's values, so the catch-up reads nothing and
changes no figure), then the second date rendered again as its rerun would. The mistakes are
drawn anew by ``SCHOOLNET_PROPERTY_SEED`` (default below) over a subset of ESAs of both levels.
About four minutes, nearly all of it Airflow starting for each run.
"""

from __future__ import annotations

import csv
import email
import json
import math
import os
import re
import tomllib
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from email.message import EmailMessage
from email.policy import default as default_policy
from fractions import Fraction
from itertools import pairwise
from pathlib import Path
from typing import Any

import lxml.html
import pytest
import yaml

from schoolnet.contract import load_contract
from schoolnet.core.config import load_settings
from schoolnet.core.paths import project_root
from schoolnet.core.thai import thai_date, thai_date_short
from schoolnet.devtools.demo import generate
from schoolnet.devtools.emulator import load_day, set_clock
from schoolnet.devtools.rundemo import run_dag_with_progress
from schoolnet.orchestration.render import render
from schoolnet.warehouse import create_warehouse_engine
from tests.checksum import warehouse_checksum
from tests.e2e.demo_airflow import DemoAirflow, demo_airflow

SEED = int(os.environ.get("SCHOOLNET_PROPERTY_SEED", "2018"))
ESA_COUNT = 5  # Bangkok's primary office and its secondary ones, then the next provinces
DAYS = 4
MESSY_RATE = 0.08
IMPLAUSIBLE_RATE = 0.5  # of the ESAs editing on a day after the first: one slip each
# The data set's implausible edits (docs/demo-data.md): the truth says what was typed where;
# whether it earns a warning is computed here from the contract, not taken from the truth.
SLIPS = ("students_times_ten", "students_dropped_digit", "fee_times_ten", "dsl_kbps")
CONTRACT_YAML = project_root() / "plugins" / "schoolnet" / "contract" / "district_sheet.yaml"
STALE_AFTER_DAYS = 2  # tests/settings.py
PACE_WINDOW_DAYS = 14  # the shipped default
LIST_LIMIT = 20  # the shipped default
MOENET_END = date(2018, 1, 1)
BANGKOK = timedelta(hours=7)
STATUSES = ("connected", "procuring", "not_connected", "no_provider")
# --- formatting as docs/report.md decides it (half-up from the exact value) -------------------


def half_up(value: Fraction, decimals: int = 0) -> str:
    scaled = abs(value) * 10**decimals
    whole = math.floor(scaled + Fraction(1, 2)) * (-1 if value < 0 else 1)
    text = f"{abs(whole):,d}" if decimals == 0 else f"{Decimal(abs(whole)).scaleb(-decimals):,}"
    return ("-" if whole < 0 else "") + text


def pct(part: int, whole: int) -> str:
    return "–" if whole == 0 else half_up(Fraction(100 * part, whole), 1) + "%"


def exact(text: str) -> Fraction:
    """A number as the data set's state file writes it, exactly."""
    return Fraction(Decimal(text))


def median(values: list[Fraction]) -> Fraction:
    ordered = sorted(values)
    middle = len(ordered) // 2
    if len(ordered) % 2:
        return ordered[middle]
    return (ordered[middle - 1] + ordered[middle]) / 2


# --- the second computation --------------------------------------------------------------------


@dataclass(frozen=True)
class SchoolDay:
    """A school as the report of one date should show it."""

    values: dict[str, str] | None  # what the clerk meant, as accepted; None: never reported
    accepted_on: date | None


@dataclass(frozen=True)
class EsaDayTruth:
    rows_accepted: int
    rows_rejected: int
    errors: int
    warnings: int
    data_rows: list[list[Any]]  # the data tab as it stood
    changed_on: date


@dataclass
class Model:
    """The expected report of each date merged so far, built from the data set only."""

    demo: Path
    esas: list[dict[str, str]]
    schools: dict[str, dict[str, str]]
    snapshots: dict[date, dict[str, SchoolDay]] = field(default_factory=dict)
    sheets: dict[date, dict[str, EsaDayTruth]] = field(default_factory=dict)
    history: Counter[str] = field(default_factory=Counter)  # warnings computed, by code

    def sheet_file(self, esa: dict[str, str], sheets_of: date) -> dict[str, Any]:
        """The ESA's spreadsheet as the data set holds it on the morning of ``sheets_of``."""
        chosen = None
        for folder in sorted((self.demo / "days").iterdir()):
            path = folder / f"{esa['spreadsheet_id']}.json"
            if date.fromisoformat(folder.name) <= sheets_of and path.exists():
                chosen = path
        assert chosen is not None
        doc: dict[str, Any] = json.loads(chosen.read_text(encoding="utf-8"))
        return doc

    def run(self, report_date: date, sheets_of: date) -> None:
        """The run of ``report_date`` reading the sheets as they stood on ``sheets_of``."""
        meant = read_csv(self.demo / "state" / f"{sheets_of.isoformat()}.csv", "school_code")
        truth = json.loads((self.demo / "truth" / f"{sheets_of.isoformat()}.json").read_text())
        earlier = [day for day in self.snapshots if day < report_date]
        previous = self.snapshots[max(earlier)] if earlier else {}
        previous_sheets = self.sheets[max(earlier)] if earlier else {}
        snapshot: dict[str, SchoolDay] = {}
        sheets: dict[str, EsaDayTruth] = {}
        for esa in self.esas:
            code = esa["esa_code"]
            doc = self.sheet_file(esa, sheets_of)
            rows = doc["sheets"][0]["rows"]
            entries = [e for e in truth if e["esa_code"] == code]
            # Per the contract: a row with an error is rejected (its school keeps its last
            # accepted values); an identical copy is one row plus a warning.
            error_rows = {e["row"] for e in entries if e["expected_severity"] == "error"}
            findings = {
                (e["row"], e["cell"], e["expected_code"]): e["expected_severity"]
                for e in entries
                if e["expected_code"] is not None and e["kind"] not in SLIPS
            }
            typed = {e["row"]: (e["column"], e["value"]) for e in entries if e["kind"] in SLIPS}
            # A service start after the report date is an error (a sheet read after the date
            # it reports on, as a catch-up is); an identical copy repeats its first row's.
            copies = {e["row"] for e in entries if e["kind"] == "duplicate_identical"}
            for row in data_rows(rows):
                start = meant.get(school_code(rows, row), {}).get("service_start")
                if row not in copies and start and date.fromisoformat(start) > report_date:
                    error_rows.add(row)
                    findings[(row, "service_start", "future_date")] = "error"
            held_back = {school_code(rows, row) for row in error_rows}
            # An accepted row holds what the clerk meant, but for an implausible edit: that
            # stands as typed (a warning, not an error), and is checked against the school's
            # last accepted values.
            accepted: dict[str, dict[str, str]] = {}
            for row in data_rows(rows):
                school = school_code(rows, row)
                if row in error_rows or row in copies or school not in meant:
                    continue
                values = dict(meant[school])
                if row in typed:
                    column, value = typed[row]
                    values[column] = value
                accepted[school] = values
                was = previous.get(school)
                if was is not None and was.values is not None:
                    for column, code_of_finding in history_warnings(values, was.values):
                        findings[(row, column, code_of_finding)] = "warning"
                        self.history[code_of_finding] += 1
            mine = [school for school in self.schools if school[:6] == code]
            for school in mine:
                if school in held_back:
                    snapshot[school] = previous.get(school, SchoolDay(None, None))
                else:
                    snapshot[school] = SchoolDay(accepted.get(school, meant[school]), report_date)
            before = previous_sheets.get(code)
            if before is not None and before.data_rows == rows:
                changed_on = before.changed_on
            else:
                modified = datetime.fromisoformat(doc["modifiedTime"].replace("Z", "+00:00"))
                changed_on = min((modified.astimezone(UTC) + BANGKOK).date(), report_date)
            sheets[code] = EsaDayTruth(
                rows_accepted=len([s for s in mine if s not in held_back]),
                rows_rejected=len(error_rows),
                errors=Counter(findings.values())["error"],
                warnings=Counter(findings.values())["warning"],
                data_rows=rows,
                changed_on=changed_on,
            )
        self.snapshots[report_date] = snapshot
        self.sheets[report_date] = sheets

    def figures(self, report_date: date) -> dict[str, Any]:
        """Every figure of the email for ``report_date``, as text."""
        snapshot = self.snapshots[report_date]
        sheets = self.sheets[report_date]
        schools = len(snapshot)
        status = Counter(
            day.values["status"] if day.values else "never_reported" for day in snapshot.values()
        )
        connected = status["connected"]
        earlier = [day for day in self.snapshots if day < report_date]
        out: dict[str, Any] = {
            "connected": f"{connected:,}",
            "schools": f"{schools:,}",
            "connected-share": pct(connected, schools),
            "unconnected": f"{schools - connected:,} โรงเรียน",
            "days-since-moenet": f"{(report_date - MOENET_END).days:,} วัน "
            f"(ตั้งแต่ {thai_date(MOENET_END)})",
            "national": [
                (f"{status[key]:,}", pct(status[key], schools))
                for key in (*STATUSES, "never_reported")
            ],
        }
        if earlier:
            before = self.snapshots[max(earlier)]
            change = connected - sum(
                1 for day in before.values() if day.values and day.values["status"] == "connected"
            )
            sign = f"{change:+,d}" if change else "0"
            out["change"] = f"{sign} โรงเรียน (เทียบกับ {thai_date(max(earlier))})"
        else:
            out["change"] = "ยังไม่มีรายงานก่อนหน้า"
        out["full-coverage"] = self.full_coverage(report_date)
        out.update(self.lost(report_date))

        # ESAs: the ranking, those to follow, data quality
        lines = []
        for esa in self.esas:
            code = esa["esa_code"]
            mine = [day for school, day in snapshot.items() if school[:6] == code]
            linked = sum(1 for day in mine if day.values and day.values["status"] == "connected")
            age = (report_date - sheets[code].changed_on).days
            lines.append((code, esa["esa_name"], len(mine), len(mine) - linked, age))
        ranking = sorted(lines, key=lambda line: (-Fraction(line[3], line[2] or 1), line[0]))
        out["ranking"] = [
            (
                str(rank),
                name + (" ⚠" if age >= STALE_AFTER_DAYS else ""),
                f"{unconnected:,} / {total:,}",
                pct(unconnected, total),
            )
            for rank, (_, name, total, unconnected, age) in enumerate(ranking[:LIST_LIMIT], 1)
        ]
        flagged = sorted(
            (line for line in lines if line[4] >= STALE_AFTER_DAYS),
            key=lambda line: (-line[4], line[0]),
        )
        out["flagged"] = [
            (name, f"ชีตไม่ได้ปรับปรุงมา {age:,} วัน", thai_date_short(report_date - timedelta(age)))
            for _, name, _, _, age in flagged[:LIST_LIMIT]
        ]
        out["flagged-count"] = len(flagged)
        quality = sorted(
            (
                (code, name, sheets[code])
                for code, name, *_ in lines
                if sheets[code].rows_rejected or sheets[code].errors or sheets[code].warnings
            ),
            key=lambda item: (-item[2].rows_rejected, -item[2].errors, item[0]),
        )
        rejected = sum(sheet.rows_rejected for sheet in sheets.values())
        findings = sum(sheet.errors + sheet.warnings for sheet in sheets.values())
        out["quality-total"] = (
            f"แถวที่ไม่ผ่านการตรวจสอบ {rejected:,} แถว · ข้อสังเกตที่ยังไม่แก้ {findings:,} รายการ "
            f"ใน {len(quality):,} เขต"
        )
        out["quality"] = [
            (name, f"{s.rows_rejected:,}", f"{s.errors:,}", f"{s.warnings:,}")
            for _, name, s in quality[:LIST_LIMIT]
        ]
        out.update(self.escalations(snapshot))
        out["costs"] = self.costs(snapshot)
        out.update(self.support(snapshot))
        out["feedback"] = {code: feedback_summary(sheet) for code, sheet in sheets.items()}
        out["feedback-lost"] = self.feedback_lost(report_date)
        return out

    def losses(self, report_date: date, days: int) -> dict[str, tuple[date, dict[str, str]]]:
        """Schools connected at one report and not at the next, for the reports of the last
        ``days`` days up to ``report_date`` (all before it when ``days`` is 0: since the
        previous report), once each: the latest such report and the values before it.
        Only schools in ``report_date``'s registry."""
        dates = sorted(day for day in self.snapshots if day <= report_date)
        since = report_date - timedelta(days) if days else dates[-2] if len(dates) > 1 else None
        today = self.snapshots[report_date]
        found: dict[str, tuple[date, dict[str, str]]] = {}
        for before, day in pairwise(dates):
            if since is None or day <= since:
                continue
            for code, was in self.snapshots[before].items():
                now = self.snapshots[day].get(code)
                if code not in today or now is None or not was.values:
                    continue
                if was.values["status"] == "connected" and not (
                    now.values and now.values["status"] == "connected"
                ):
                    found[code] = (day, was.values)
        return found

    def lost(self, report_date: date) -> dict[str, Any]:
        """The headline's gains and losses since the previous report, the email's list of the
        schools lost, and the count over the last 7 days."""
        contract = load_contract()
        names = {esa["esa_code"]: esa["esa_name"] for esa in self.esas}
        snapshot = self.snapshots[report_date]
        earlier = [day for day in self.snapshots if day < report_date]

        def linked(day: SchoolDay | None) -> bool:
            return bool(day and day.values and day.values["status"] == "connected")

        def signed(value: int) -> str:
            return f"{value:+,d}" if value else "0"

        week = self.losses(report_date, 7)
        back = sum(1 for code in week if linked(snapshot[code]))
        out: dict[str, Any] = {
            "lost-recently": f"ในรอบ 7 วัน ขาดการเชื่อมต่อ {len(week):,} โรงเรียน "
            f"กลับมาเชื่อมต่อแล้ว {back:,} โรงเรียน",
            "gained-lost": None,
            "lost": [],
            "lost-count": 0,
        }
        if not earlier:
            return out
        before = self.snapshots[max(earlier)]
        lost = self.losses(report_date, 0)
        gained = sum(
            1 for code, day in snapshot.items() if linked(day) and not linked(before.get(code))
        )
        out["gained-lost"] = f"{signed(gained)} · {signed(-len(lost))} โรงเรียน"
        rows = []
        for code in sorted(lost, key=lambda code: (code[:6], code))[:LIST_LIMIT]:
            was = lost[code][1]
            now = snapshot[code].values
            assert now is not None
            rows.append(
                (
                    f"{self.schools[code]['school_name']} ({code}) {names[code[:6]]}",
                    f"{contract.enum_label('isp', was['isp'])} · "
                    f"{contract.enum_label('link_type', was['link_type'])}",
                    contract.enum_label("status", now["status"]),
                    " ".join(now["note"].split()) or "–",
                )
            )
        out["lost"] = rows
        out["lost-count"] = len(lost) if rows else 0
        return out

    def feedback_lost(self, report_date: date) -> dict[str, list[str]]:
        """What each ESA's standing says of its schools lost since the previous report."""
        earlier = [day for day in self.snapshots if day < report_date]
        if not earlier:
            return {}
        contract = load_contract()
        since = thai_date_short(max(earlier))
        lost = self.losses(report_date, 0)
        out = {}
        for esa in self.esas:
            mine = sorted(code for code in lost if code[:6] == esa["esa_code"])
            if not mine:
                out[esa["esa_code"]] = [f"ไม่มีโรงเรียนที่ขาดการเชื่อมต่อตั้งแต่รายงาน {since}"]
                continue
            out[esa["esa_code"]] = [
                f"ขาดการเชื่อมต่อตั้งแต่รายงาน {since} {len(mine):,} โรงเรียน",
                *(
                    f"- {self.schools[code]['school_name']} ({code}) เดิมใช้ "
                    f"{contract.enum_label('isp', lost[code][1]['isp'])}"
                    for code in mine
                ),
            ]
        return out

    def full_coverage(self, report_date: date) -> str:
        """Least squares of connected schools on the calendar day over the last 14 days."""
        points = []
        for day, snapshot in self.snapshots.items():
            if report_date - timedelta(PACE_WINDOW_DAYS) <= day <= report_date:
                linked = sum(
                    1 for s in snapshot.values() if s.values and s.values["status"] == "connected"
                )
                points.append((day.toordinal(), linked))
        snapshot = self.snapshots[report_date]
        remaining = len(snapshot) - dict(points)[report_date.toordinal()]
        cannot = "ยังประเมินไม่ได้ (ช่วงหลังจำนวนโรงเรียนที่เชื่อมต่อไม่เพิ่มขึ้น หรือมีข้อมูลไม่ถึงสองวัน)"
        if remaining <= 0:
            return thai_date(report_date)
        if len(points) < 2:
            return cannot
        mean_x = Fraction(sum(x for x, _ in points), len(points))
        mean_y = Fraction(sum(y for _, y in points), len(points))
        covariance = sum(((x - mean_x) * (y - mean_y) for x, y in points), Fraction(0))
        slope = covariance / sum(((x - mean_x) ** 2 for x, _ in points), Fraction(0))
        if slope <= 0:
            return cannot
        when = report_date + timedelta(days=math.ceil(remaining / slope))
        return f"{thai_date(when)} (เฉลี่ยวันละ {half_up(slope, 1)} โรงเรียน)"

    def escalations(self, snapshot: dict[str, SchoolDay]) -> dict[str, Any]:
        contract = load_contract()
        names = {esa["esa_code"]: esa["esa_name"] for esa in self.esas}
        far = sorted(
            (code[:6], code)
            for code, day in snapshot.items()
            if day.values and day.values["status"] == "no_provider"
        )
        rows = []
        for esa_code, code in far[:LIST_LIMIT]:
            values = snapshot[code].values
            assert values is not None
            contacted = [p for p in values["providers_contacted"].split(",") if p]
            rows.append(
                (
                    f"{self.schools[code]['school_name']} ({code})",
                    names[esa_code],
                    f"{int(values['students']):,}",
                    ", ".join(contract.enum_label("isp", p) for p in contacted) or "ยังไม่ได้ระบุ",
                )
            )
        return {"escalations": rows, "escalations-count": len(far)}

    def costs(self, snapshot: dict[str, SchoolDay]) -> list[tuple[str, ...]]:
        contract = load_contract()
        groups: dict[str, list[dict[str, str]]] = {}
        for day in snapshot.values():
            if day.values and day.values["status"] == "connected":
                groups.setdefault(day.values["link_type"], []).append(day.values)
        lines: list[tuple[str, ...]] = []
        for link, members in sorted(groups.items(), key=lambda item: (-len(item[1]), item[0])):
            fees = [exact(v["monthly_fee_thb"]) for v in members if v["monthly_fee_thb"]]
            per_mbps = [
                exact(v["monthly_fee_thb"]) / exact(v["download_mbps"])
                for v in members
                if v["monthly_fee_thb"] and v["download_mbps"] and exact(v["download_mbps"]) > 0
            ]
            lines.append(
                (
                    contract.enum_label("link_type", link),
                    f"{len(members):,}",
                    half_up(median(fees)) if fees else "–",
                    half_up(median(per_mbps), 1) if per_mbps else "–",
                )
            )
        return lines

    def support(self, snapshot: dict[str, SchoolDay]) -> dict[str, Any]:
        """Per level and size class: schools, requesting, baht asked, baht the policy grants."""
        policy = tomllib.loads((project_root() / "config" / "support_policy.toml").read_text())
        levels = {esa["esa_code"]: esa["level"] for esa in self.esas}
        classes = ("small", "medium", "large", "extra_large")
        table = {(level, c): SizeClass() for level in ("primary", "secondary") for c in classes}
        for code, day in snapshot.items():
            level = levels[code[:6]]
            students = (
                int(day.values["students"]) if day.values else int(self.schools[code]["students"])
            )
            bounds = policy["size_classes"][level]
            size = (
                "extra_large" if students >= bounds["extra_large"]
                else "large" if students >= bounds["large"]
                else "medium" if students >= bounds["medium"]
                else "small"  # 0 students too (docs/report.md)
            )  # fmt: skip
            line = table[(level, size)]
            line.schools += 1
            asked = exact(day.values["support_requested_thb"] or "0") if day.values else Fraction(0)
            if asked > 0:
                grant = policy["grant"][size]
                line.requesting += 1
                line.asked += asked
                line.granted += min(asked * exact(str(grant["share"])), grant["cap_thb"])
        ordered = sorted(table.items(), key=lambda item: (item[0][0], classes.index(item[0][1])))
        return {
            "support": [
                (
                    f"{line.requesting:,} / {line.schools:,}",
                    half_up(line.asked),
                    half_up(line.granted),
                )
                for _, line in ordered
            ],
            "support-requested": half_up(sum((line.asked for line in table.values()), Fraction(0))),
            "support-granted": half_up(sum((line.granted for line in table.values()), Fraction(0))),
        }


@dataclass
class SizeClass:
    schools: int = 0
    requesting: int = 0
    asked: Fraction = Fraction(0)
    granted: Fraction = Fraction(0)


def feedback_summary(sheet: EsaDayTruth) -> str:
    if not (sheet.rows_rejected or sheet.errors or sheet.warnings):
        return f"ข้อมูลทั้ง {sheet.rows_accepted:,} แถวผ่านการตรวจสอบ ไม่มีช่องที่ต้องแก้ไข"
    return (
        f"ระบบรับข้อมูล {sheet.rows_accepted:,} แถว ไม่รับ {sheet.rows_rejected:,} แถว "
        f"(ต้องแก้ {sheet.errors:,} ช่อง ควรตรวจสอบ {sheet.warnings:,} ช่อง)"
    )


def history_rules() -> tuple[dict[str, tuple[Fraction, Fraction, list[str]]], dict[str, Fraction]]:
    """The contract's history rules as its YAML states them: each column's change factor, the
    least change that counts and the columns whose change excuses it; each link type's top
    download speed."""
    contract = yaml.safe_load(CONTRACT_YAML.read_text(encoding="utf-8"))
    changes, top_speed = {}, {}
    for column in contract["columns"]:
        if "change_factor" in column:
            changes[column["key"]] = (
                exact(str(column["change_factor"])),
                exact(str(column.get("change_at_least", 0))),
                list(column.get("change_unless_changed", [])),
            )
        for link, limit in column.get("max_by_link_type", {}).items():
            top_speed[link] = exact(str(limit))
    return changes, top_speed


HISTORY_RULES = history_rules()


def history_warnings(now: dict[str, str], before: dict[str, str]) -> list[tuple[str, str]]:
    """The warnings an accepted row earns against the school's last accepted values: a speed
    beyond its link type, else a change by the contract's factor (one finding a cell)."""
    changes, top_speed = HISTORY_RULES
    found: dict[str, str] = {}
    speed = now.get("download_mbps") or ""
    limit = top_speed.get(now.get("link_type") or "")
    if speed and limit is not None and exact(speed) > limit:
        found["download_mbps"] = "speed_beyond_link_type"
    for column, (factor, at_least, unless) in changes.items():
        new, old = now.get(column) or "", before.get(column) or ""
        if column in found or not new or not old or exact(new) == exact(old):
            continue
        if any((now.get(key) or "") != (before.get(key) or "") for key in unless):
            continue
        low, high = sorted((exact(new), exact(old)))
        if low > 0 and high - low >= at_least and high >= factor * low:
            found[column] = "implausible_change"
    return sorted(found.items())


def data_rows(rows: list[list[Any]]) -> list[int]:
    """The numbers (as Sheets shows them) of the rows below the header that hold a code."""
    header = next(number for number, row in enumerate(rows, 1) if "รหัสโรงเรียน" in row)
    return [
        number
        for number in range(header + 1, len(rows) + 1)
        if school_code(rows, number) not in ("", "None")
    ]


def school_code(rows: list[list[Any]], row_number: int) -> str:
    """The school code typed in a sheet row (as Sheets numbers it), Thai digits read."""
    header = next(r for r in rows if "รหัสโรงเรียน" in r)
    row = rows[row_number - 1]
    column = header.index("รหัสโรงเรียน")
    cell = row[column] if column < len(row) else ""
    text = str(cell).translate(str.maketrans("๐๑๒๓๔๕๖๗๘๙", "0123456789"))
    return re.sub(r"[\s-]", "", text)


def read_csv(path: Path, key: str) -> dict[str, dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as handle:
        return {row[key]: row for row in csv.DictReader(handle)}


# --- what the email says ------------------------------------------------------------------------


def text_of(element: Any) -> str:
    return " ".join(element.text_content().split())


def table_rows(page: Any, table_id: str) -> list[tuple[str, ...]]:
    found = page.xpath(f'//table[@id="{table_id}"]/tbody/tr')
    return [tuple(text_of(cell) for cell in row.xpath("./td")) for row in found]


def heading_count(page: Any, table_id: str) -> int:
    heading = page.xpath(f'//table[@id="{table_id}"]/preceding-sibling::h2[1]')
    match = re.search(r"\(([\d,]+)\)", text_of(heading[0]))
    assert match, text_of(heading[0])
    return int(match.group(1).replace(",", ""))


def email_figures(html: str) -> dict[str, Any]:
    page = lxml.html.fromstring(html)

    def by_id(name: str) -> str:
        return text_of(page.get_element_by_id(name))

    national = {
        cell.get("data-key"): (text_of(cell), text_of(cell.getnext()))
        for cell in page.xpath('//table[@id="national"]//td[@data-key]')
    }
    flagged = table_rows(page, "flagged")
    escalations = table_rows(page, "escalations")
    lost = table_rows(page, "lost")
    gained_lost = page.xpath('//*[@id="gained-lost"]')
    return {
        "connected": by_id("connected"),
        "schools": by_id("schools"),
        "connected-share": by_id("connected-share"),
        "change": by_id("change"),
        "unconnected": by_id("unconnected"),
        "days-since-moenet": by_id("days-since-moenet"),
        "full-coverage": by_id("full-coverage"),
        "national": [national[key] for key in (*STATUSES, "never_reported")],
        "ranking": table_rows(page, "esas"),
        "flagged": flagged,
        "flagged-count": heading_count(page, "flagged") if flagged else 0,
        "quality-total": by_id("quality-total"),
        "quality": table_rows(page, "quality"),
        "escalations": escalations,
        "escalations-count": heading_count(page, "escalations") if escalations else 0,
        "gained-lost": text_of(gained_lost[0]) if gained_lost else None,
        "lost": lost,
        "lost-count": heading_count(page, "lost") if lost else 0,
        "lost-recently": by_id("lost-recently"),
        "costs": table_rows(page, "costs"),
        "support": [row[1:] for row in table_rows(page, "support")][:-1],  # the total apart
        "support-requested": by_id("support-requested"),
        "support-granted": by_id("support-granted"),
    }


def html_part(message: EmailMessage) -> str:
    part = message.get_body(preferencelist=("html",))
    assert part is not None
    return str(part.get_content())


# --- the runs -----------------------------------------------------------------------------------


@dataclass
class World:
    root: Path
    demo: Path
    days: tuple[date, ...]
    parts: DemoAirflow
    model: Model

    def run(self, report_date: date, sheets_of: date, *, load: bool = True) -> None:
        """A morning run of ``report_date``; the emulator holds the sheets of ``sheets_of``
        (loaded afresh, or as the last run left them with their feedback tabs)."""
        if load:
            load_day(self.parts.state, self.demo, sheets_of)
        else:  # a later morning than the sheets' own: a catch-up is run late
            morning = datetime.combine(sheets_of, datetime.min.time(), UTC) + timedelta(hours=3)
            set_clock(self.parts.state, morning)
        run_dag_with_progress(
            self.parts.airflow,
            report_date,
            self.root / "data" / "validated" / report_date.isoformat(),
            ESA_COUNT,
            self.root / "logs" / f"{report_date.isoformat()}-{len(self.parts.sink.messages())}.log",
        )
        self.model.run(report_date, sheets_of)

    def messages(self) -> list[EmailMessage]:
        return [
            email.message_from_bytes(path.read_bytes(), policy=default_policy)
            for path in self.parts.sink.messages()
        ]

    def report_of(self, report_date: date) -> EmailMessage:
        subject = f"ประจำวันที่ {thai_date(report_date)}"
        found = [m for m in self.messages() if m["Subject"].startswith("รายงาน") and
                 m["Subject"].endswith(subject)]  # fmt: skip
        assert len(found) == 1, (report_date, [m["Subject"] for m in self.messages()])
        return found[0]

    def feedback_of(self, report_date: date) -> dict[str, str]:
        """Each ESA's feedback email of the date: its summary line."""
        out = {}
        for message in self.messages():
            subject = message["Subject"]
            if subject.startswith("ผลตรวจสอบ") and subject.endswith(thai_date(report_date)):
                text = str(message.get_body(preferencelist=("plain",)).get_content())  # type: ignore[union-attr]  # the report always has a plain-text body
                esa = next(e for e in self.model.esas if e["contact_email"] == message["To"])
                out[esa["esa_code"]] = " ".join(text.split())
        return out


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    root = tmp_path_factory.mktemp("figures")
    demo = root / "demo-data"
    manifest = generate(
        demo,
        seed=SEED,
        days=DAYS,
        esa_limit=ESA_COUNT,
        messy_rate=MESSY_RATE,
        implausible_rate=IMPLAUSIBLE_RATE,
    )
    model = Model(
        demo,
        list(read_csv(demo / "esas.csv", "esa_code").values()),
        read_csv(demo / "schools.csv", "school_code"),
    )
    with demo_airflow(root, demo, manifest.days[0]) as parts:
        yield World(root, demo, manifest.days, parts, model)


def assert_figures(world: World, report_date: date, html: str) -> None:
    expected = world.model.figures(report_date)
    feedback = expected.pop("feedback")
    feedback_lost = expected.pop("feedback-lost")
    got = email_figures(html)
    assert got.keys() == expected.keys()
    wrong = {key: (got[key], expected[key]) for key in got if got[key] != expected[key]}
    assert not wrong, f"seed {SEED}, {report_date}: email vs computed {wrong}"
    sent = world.feedback_of(report_date)
    for esa_code, summary in feedback.items():
        assert summary in sent[esa_code], (SEED, report_date, esa_code, sent[esa_code])
        for line in feedback_lost.get(esa_code, []):
            assert line in sent[esa_code], (SEED, report_date, esa_code, line, sent[esa_code])


def test_every_figure_of_every_morning_equals_the_second_computation(world: World) -> None:
    d1, d2, d3, d4 = world.days
    for day in (d1, d2, d4):  # d3 is missed
        world.run(day, day)
        assert_figures(world, day, html_part(world.report_of(day)))

    # The catch-up of d3 after d4 (the scheduler missed d3's morning): the sheets hold d4's
    # values now, so the run reads nothing, changes no figure, sends nothing and ends failed.
    engine = create_warehouse_engine(world.parts.warehouse_url)
    try:
        before = warehouse_checksum(engine)
        mails = len(world.parts.sink.messages())
        with pytest.raises(RuntimeError, match="the DAG run failed"):
            world.run(d3, d4, load=False)
        assert warehouse_checksum(engine) == before
    finally:
        engine.dispose()
    late = world.messages()[mails:]
    assert not [m for m in late if not str(m["Subject"]).startswith("[schoolnet]")]
    assert_figures(world, d4, html_part(world.report_of(d4)))  # d4's report still holds

    # d2 rendered again (as its rerun's render_report does) now that d4 exists.
    settings = load_settings(world.parts.config)
    engine = create_warehouse_engine(world.parts.warehouse_url)
    try:
        folder = Path(render(d2, settings, engine).folder)
    finally:
        engine.dispose()
    assert_figures(world, d2, (folder / "report.html").read_text(encoding="utf-8"))

    # The implausible edits were checked, not passed over: each slip typed fresh on a morning
    # that was read gave a warning computed here (and the email's counts agreed above).
    fresh = [
        entry
        for day in (d1, d2, d4)
        for entry in json.loads((world.demo / "truth" / f"{day.isoformat()}.json").read_text())
        if entry["kind"] in SLIPS and entry["expected_code"] is not None
    ]
    assert sum(world.model.history.values()) >= len(fresh)
