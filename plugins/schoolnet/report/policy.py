"""The ministry's top-up policy: OBEC size classes by student count, and a share and cap each.

The seed letter asks what top-up budget is justified without fixing a policy, so the policy is a
file (``config/support_policy.toml``) with a documented default; the report compares the support
the schools request with what this policy would grant.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any

from schoolnet.core.config import ConfigError, read_toml
from schoolnet.core.paths import project_root

SIZE_CLASSES: tuple[str, ...] = ("small", "medium", "large", "extra_large")
LEVELS: tuple[str, ...] = ("primary", "secondary")
SIZE_CLASS_LABELS: Mapping[str, str] = {
    "small": "ขนาดเล็ก",
    "medium": "ขนาดกลาง",
    "large": "ขนาดใหญ่",
    "extra_large": "ขนาดใหญ่พิเศษ",
}
LEVEL_LABELS: Mapping[str, str] = {"primary": "สพป.", "secondary": "สพม."}


@dataclass(frozen=True)
class Grant:
    share: Decimal  # of the monthly support requested
    cap_thb: Decimal  # at most, per school and month

    def of(self, requested_thb: Decimal) -> Decimal:
        """Baht a month this class's policy grants a school requesting ``requested_thb``."""
        if requested_thb <= 0:
            return Decimal(0)
        granted = min(requested_thb * self.share, self.cap_thb)
        return granted.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


@dataclass(frozen=True)
class SupportPolicy:
    # level -> (medium_min, large_min, extra_large_min): the fewest students of each class
    thresholds: Mapping[str, tuple[int, int, int]]
    grants: Mapping[str, Grant]
    source: Path | None = None

    def size_class(self, level: str, students: int | None) -> str:
        """The class of a school of ``level`` with ``students`` (unknown or 0 counts as small)."""
        medium, large, extra = self.thresholds[level]
        count = students or 0
        if count >= extra:
            return "extra_large"
        if count >= large:
            return "large"
        if count >= medium:
            return "medium"
        return "small"

    def class_range(self, level: str, size_class: str) -> tuple[int, int | None]:
        """First and last student count of a class (None: no upper bound)."""
        medium, large, extra = self.thresholds[level]
        bounds = {
            "small": (1, medium - 1),
            "medium": (medium, large - 1),
            "large": (large, extra - 1),
            "extra_large": (extra, None),
        }
        return bounds[size_class]

    def query_parameters(self) -> dict[str, int]:
        """The thresholds as ``sql/support_by_size_class.sql`` binds them."""
        parameters: dict[str, int] = {}
        for level in LEVELS:
            medium, large, extra = self.thresholds[level]
            parameters[f"{level}_medium_min"] = medium
            parameters[f"{level}_large_min"] = large
            parameters[f"{level}_extra_min"] = extra
        return parameters


@dataclass(frozen=True)
class SupportLine:
    """Support requested and what the policy would grant, for one level and size class."""

    level: str
    size_class: str
    students_from: int
    students_to: int | None
    schools: int
    requesting: int
    requested_thb: Decimal
    granted_thb: Decimal

    @property
    def label(self) -> str:
        return f"{LEVEL_LABELS[self.level]} {SIZE_CLASS_LABELS[self.size_class]}"

    @property
    def gap_thb(self) -> Decimal:
        return self.requested_thb - self.granted_thb


def default_policy_path() -> Path:
    return project_root() / "config" / "support_policy.toml"


def _number(table: Mapping[str, Any], name: str, where: str) -> Decimal:
    value = table.get(name)
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ConfigError(f"support policy: [{where}] {name} must be a number")
    number = Decimal(str(value))
    if number < 0:
        raise ConfigError(f"support policy: [{where}] {name} must not be negative")
    return number


def parse_policy(raw: Mapping[str, Any], source: Path | None = None) -> SupportPolicy:
    classes = raw.get("size_classes")
    grants = raw.get("grant")
    if not isinstance(classes, dict) or not isinstance(grants, dict):
        raise ConfigError("support policy: sections [size_classes.*] and [grant.*] are required")
    thresholds: dict[str, tuple[int, int, int]] = {}
    for level in LEVELS:
        table = classes.get(level)
        if not isinstance(table, dict):
            raise ConfigError(f"support policy: section [size_classes.{level}] is missing")
        values = [table.get(name) for name in ("medium", "large", "extra_large")]
        numbers = [v for v in values if isinstance(v, int) and not isinstance(v, bool)]
        if len(numbers) != len(values):
            raise ConfigError(
                f"support policy: [size_classes.{level}] needs whole numbers medium, large and "
                "extra_large"
            )
        medium, large, extra = numbers
        if not 1 < medium < large < extra:
            raise ConfigError(
                f"support policy: [size_classes.{level}] must rise: 1 < medium < large < "
                f"extra_large (got {medium}, {large}, {extra})"
            )
        thresholds[level] = (medium, large, extra)
    parsed: dict[str, Grant] = {}
    for size_class in SIZE_CLASSES:
        table = grants.get(size_class)
        if not isinstance(table, dict):
            raise ConfigError(f"support policy: section [grant.{size_class}] is missing")
        share = _number(table, "share", f"grant.{size_class}")
        if share > 1:
            raise ConfigError(f"support policy: [grant.{size_class}] share must be 0 to 1")
        parsed[size_class] = Grant(share=share, cap_thb=_number(table, "cap_thb", size_class))
    return SupportPolicy(thresholds=thresholds, grants=parsed, source=source)


def load_policy(path: Path | None = None) -> SupportPolicy:
    """Read the policy file (the shipped default when ``path`` is None)."""
    source = path or default_policy_path()
    return parse_policy(read_toml(source, "support policy"), source)


def support_lines(
    policy: SupportPolicy,
    class_rows: Iterable[Mapping[str, Any]],
    requests: Iterable[Mapping[str, Any]],
) -> tuple[SupportLine, ...]:
    """Join the per-class counts (``sql/support_by_size_class.sql``, bound with this policy's
    thresholds) with the grant each requesting school would get (``sql/support_requests.sql``)."""
    granted: dict[tuple[str, str], Decimal] = {}
    for school in requests:
        level = str(school["level"])
        size_class = policy.size_class(level, school["students"])
        amount = policy.grants[size_class].of(Decimal(str(school["support_requested_thb"])))
        key = (level, size_class)
        granted[key] = granted.get(key, Decimal(0)) + amount
    lines = []
    for row in class_rows:
        level, size_class = str(row["level"]), str(row["size_class"])
        first, last = policy.class_range(level, size_class)
        lines.append(
            SupportLine(
                level=level,
                size_class=size_class,
                students_from=first,
                students_to=last,
                schools=int(row["schools"]),
                requesting=int(row["requesting"] or 0),
                requested_thb=Decimal(str(row["support_requested_thb"] or 0)),
                granted_thb=granted.get((level, size_class), Decimal(0)),
            )
        )
    return tuple(lines)
