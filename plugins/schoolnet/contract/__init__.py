"""The district sheet contract as typed objects, read from ``district_sheet.yaml``.

That YAML file is the one machine-readable copy of the contract: the validator, the demo data,
sheet provisioning and the docs all read it through :func:`load_contract`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any, Literal

import yaml

CONTRACT_FILE = Path(__file__).with_name("district_sheet.yaml")

ColumnType = Literal["school_code", "text", "integer", "number", "enum", "enum_list", "date"]


@dataclass(frozen=True)
class EnumValue:
    key: str
    label: str
    aliases: tuple[str, ...] = ()


@dataclass(frozen=True)
class Requirement:
    """When a column must hold a value: always, never, or under a condition on other cells."""

    always: bool = False
    when_status: tuple[str, ...] = ()
    when_positive: str | None = None  # required if this other numeric column is > 0

    @property
    def conditional(self) -> bool:
        return bool(self.when_status or self.when_positive)


@dataclass(frozen=True)
class ClerkShapes:
    """Rows and columns a clerk adds around the schools' rows, which are not schools.

    Kept in the contract so the rules a clerk relies on are written where the docs read them.
    """

    sequence_headers: tuple[str, ...] = ()  # a row-number column: read as nothing, no warning
    total_labels: tuple[str, ...] = ()  # the label of a totals row (no school code)
    heading_examples: tuple[str, ...] = ()  # group headings, for the docs and the tests


@dataclass(frozen=True)
class Column:
    key: str
    header: str
    type: ColumnType
    required: Requirement
    enum: str | None = None
    rules: dict[str, Any] = field(default_factory=dict)

    def rule(self, name: str, default: Any = None) -> Any:
        return self.rules.get(name, default)

    @property
    def header_aliases(self) -> tuple[str, ...]:
        """Other spellings of the header that clerks commonly type (``อัพโหลด``)."""
        return tuple(self.rules.get("header_aliases", ()))


@dataclass(frozen=True)
class Contract:
    version: int
    data_tab: str
    feedback_tab: str
    header_search_rows: int
    header_min_match_share: float
    quarantine_drop_share: float
    columns: tuple[Column, ...]
    enums: dict[str, tuple[EnumValue, ...]]
    esa_registry_columns: tuple[str, ...]
    school_registry_columns: tuple[str, ...]
    # Thai message templates keyed by finding code, or `code.variant` for one situation.
    messages: dict[str, str] = field(default_factory=dict)
    # Cells holding only one of these read as empty (a dash for "nothing to report").
    empty_marks: tuple[str, ...] = ()
    # A finding's column headings (by finding field, in the feedback tab's order) and its
    # severity labels, as the tab, the ESA's email and the workbook show them.
    finding_headings: dict[str, str] = field(default_factory=dict)
    severity_labels: dict[str, str] = field(default_factory=dict)
    # The feedback tab's column widths in pixels and its wrapped columns, by the same keys.
    finding_tab_widths: dict[str, int] = field(default_factory=dict)
    finding_tab_wrap: tuple[str, ...] = ()
    # The background colour (#rrggbb) of a data-tab cell marked with findings, by severity.
    finding_cell_colors: dict[str, str] = field(default_factory=dict)
    # What the clerk reads about the sheet as a whole, with {placeholders} (see :meth:`sheet_text`).
    sheet_texts: dict[str, str] = field(default_factory=dict)
    # What the clerk reads about a file they export and check (see :meth:`file_text`).
    file_texts: dict[str, str] = field(default_factory=dict)
    # The instructions tab written into each sheet (see :meth:`instruction_text`).
    instruction_texts: dict[str, str] = field(default_factory=dict)
    # Sequence columns, totals rows and group headings, read as the clerk meant them.
    clerk_shapes: ClerkShapes = field(default_factory=ClerkShapes)

    def column(self, key: str) -> Column:
        for column in self.columns:
            if column.key == key:
                return column
        raise KeyError(key)

    @property
    def keys(self) -> tuple[str, ...]:
        return tuple(column.key for column in self.columns)

    @property
    def headers(self) -> tuple[str, ...]:
        return tuple(column.header for column in self.columns)

    def enum_label(self, enum: str, key: str) -> str:
        for value in self.enums[enum]:
            if value.key == key:
                return value.label
        raise KeyError(f"{enum}.{key}")

    def sheet_text(self, name: str, /, **values: object) -> str:
        """One of the contract's Thai sentences about a sheet, its placeholders filled in."""
        return self.sheet_texts[name].format(**values)

    def file_text(self, key: str, /, **values: object) -> str:
        """One of the contract's Thai sentences about a file a clerk checks, filled in."""
        return self.file_texts[key].format(**values)

    def instruction_text(self, key: str, /, **values: object) -> str:
        """One line or label of the sheet's instructions tab, its placeholders filled in."""
        return self.instruction_texts[key].format(**values)

    def message_template(self, code: str, variant: str | None = None) -> str:
        """The Thai template of a finding code: the variant's if the contract has one."""
        if variant is not None:
            template = self.messages.get(f"{code}.{variant}")
            if template is not None:
                return template
        return self.messages[code]


_COLUMN_FIELDS = {"key", "header", "type", "required", "enum"}


def _requirement(raw: Any) -> Requirement:
    if raw == "always":
        return Requirement(always=True)
    if raw in ("never", "no", None):
        return Requirement()
    if isinstance(raw, dict):
        if "status" in raw:
            return Requirement(when_status=tuple(raw["status"]))
        for name, value in raw.items():
            if name.endswith("_above") and value == 0:
                return Requirement(when_positive=name.removesuffix("_above"))
    raise ValueError(f"unknown requirement in contract: {raw!r}")


def _check_history_rules(
    columns: tuple[Column, ...], enums: dict[str, tuple[EnumValue, ...]]
) -> None:
    """The plausibility rules name real columns and link types, and compare numbers only."""
    keys = {column.key for column in columns}
    links = {value.key for value in enums.get("link_type", ())}
    for column in columns:
        numeric = column.type in ("integer", "number")
        factor = column.rule("change_factor")
        if factor is not None and (not numeric or float(factor) <= 1):
            raise ValueError(f"column {column.key}: change_factor needs a number column and > 1")
        unknown = set(column.rule("change_unless_changed", ())) - keys
        if unknown:
            raise ValueError(f"column {column.key}: change_unless_changed names {unknown}")
        maxima = column.rule("max_by_link_type") or {}
        if maxima and (not numeric or set(maxima) - links):
            raise ValueError(f"column {column.key}: max_by_link_type needs link type keys")


def parse_contract(raw: dict[str, Any]) -> Contract:
    columns = tuple(
        Column(
            key=item["key"],
            header=item["header"],
            type=item["type"],
            required=_requirement(item.get("required")),
            enum=item.get("enum"),
            rules={k: v for k, v in item.items() if k not in _COLUMN_FIELDS},
        )
        for item in raw["columns"]
    )
    enums = {
        name: tuple(
            EnumValue(key=str(v["key"]), label=v["label"], aliases=tuple(v.get("aliases", ())))
            for v in values
        )
        for name, values in raw["enums"].items()
    }
    _check_history_rules(columns, enums)
    headings, layout = raw["findings"]["headings"], raw["findings"]
    if layout.get("tab_widths") and set(layout["tab_widths"]) != set(headings):
        raise ValueError("findings.tab_widths must give a width to every heading, and only them")
    if not set(layout.get("tab_wrap") or ()) <= set(headings):
        raise ValueError("findings.tab_wrap must name headings")
    return Contract(
        version=int(raw["version"]),
        data_tab=raw["data_tab"],
        feedback_tab=raw["feedback_tab"],
        header_search_rows=int(raw["header_search_rows"]),
        header_min_match_share=float(raw["header_min_match_share"]),
        quarantine_drop_share=float(raw["quarantine_drop_share"]),
        columns=columns,
        enums=enums,
        esa_registry_columns=tuple(raw["registries"]["esas"]),
        school_registry_columns=tuple(raw["registries"]["schools"]),
        messages={str(k): str(v) for k, v in (raw.get("messages") or {}).items()},
        empty_marks=tuple(str(mark) for mark in raw.get("empty_marks") or ()),
        finding_headings={str(k): str(v) for k, v in raw["findings"]["headings"].items()},
        severity_labels={str(k): str(v) for k, v in raw["findings"]["severity"].items()},
        finding_tab_widths={
            str(k): int(v) for k, v in (raw["findings"].get("tab_widths") or {}).items()
        },
        finding_tab_wrap=tuple(str(k) for k in raw["findings"].get("tab_wrap") or ()),
        finding_cell_colors=_cell_colors(raw["findings"]),
        sheet_texts={str(k): str(v) for k, v in raw["sheet_texts"].items()},
        file_texts={str(k): str(v) for k, v in raw["file_texts"].items()},
        instruction_texts={str(k): str(v) for k, v in raw["instruction_texts"].items()},
        clerk_shapes=_clerk_shapes(raw.get("clerk_shapes") or {}),
    )


def _cell_colors(findings: dict[str, Any]) -> dict[str, str]:
    """``findings.cell_colors``: one #rrggbb colour for every severity, and only for them."""
    colors = {str(k): str(v) for k, v in (findings.get("cell_colors") or {}).items()}
    if colors and set(colors) != set(findings["severity"]):
        raise ValueError("findings.cell_colors must give a colour to every severity, and only them")
    for severity, color in colors.items():
        if not re.fullmatch(r"#[0-9a-fA-F]{6}", color):
            raise ValueError(f"findings.cell_colors.{severity}: {color!r} is not #rrggbb")
    return colors


def _clerk_shapes(raw: dict[str, Any]) -> ClerkShapes:
    """The ``clerk_shapes`` section; an unknown key is a typo that would silently do nothing."""
    unknown = set(raw) - {"sequence_headers", "total_labels", "heading_examples"}
    if unknown:
        raise ValueError(f"clerk_shapes: unknown keys {sorted(unknown)}")
    return ClerkShapes(
        sequence_headers=tuple(str(h) for h in raw.get("sequence_headers") or ()),
        total_labels=tuple(str(label) for label in raw.get("total_labels") or ()),
        heading_examples=tuple(str(text) for text in raw.get("heading_examples") or ()),
    )


@cache
def load_contract(path: Path = CONTRACT_FILE) -> Contract:
    with path.open(encoding="utf-8") as handle:
        return parse_contract(yaml.safe_load(handle))
