"""The contract as a Markdown page, generated from the schema so the two never drift apart."""

from __future__ import annotations

from schoolnet.contract import Column, Contract, load_contract

TYPE_NAMES = {
    "school_code": "10-digit code",
    "text": "text",
    "integer": "integer",
    "number": "number",
    "enum": "enum",
    "enum_list": "list of enum values",
    "date": "date",
}


def _required(column: Column) -> str:
    requirement = column.required
    if requirement.always:
        return "always"
    if requirement.when_status:
        return "if status is " + " or ".join(f"`{s}`" for s in requirement.when_status)
    if requirement.when_positive:
        return f"if `{requirement.when_positive}` > 0"
    return "no"


def _rules(column: Column) -> str:
    parts = []
    for name, text in (
        ("min", "at least {}"),
        ("min_exclusive", "above {}"),
        ("error_above", "over {} an error"),
        ("warn_above", "over {} a warning"),
        ("warn_below", "under {} a warning"),
        ("warn_above_column", "above `{}` a warning"),
    ):
        if column.rule(name) is not None:
            parts.append(text.format(column.rule(name)))
    if column.rule("change_factor") is not None:
        change = (
            f"against the school's last accepted value, a change by {column.rule('change_factor')}"
            f"x or more (and by at least {column.rule('change_at_least', 0)}) a warning"
        )
        if column.rule("change_unless_changed"):
            unless = ", ".join(f"`{key}`" for key in column.rule("change_unless_changed"))
            change += f", unless {unless} changed too"
        parts.append(change)
    if column.rule("max_by_link_type"):
        maxima = ", ".join(
            f"`{link}` {limit}" for link, limit in column.rule("max_by_link_type").items()
        )
        parts.append(f"above what the link type carries a warning ({maxima})")
    if column.rule("units"):
        parts.append("units read: " + ", ".join(f"`{u}`" for u in column.rule("units")))
    if column.rule("future") == "error":
        parts.append("in the future an error")
    if column.header_aliases:
        parts.append("header also read as: " + ", ".join(f"`{a}`" for a in column.header_aliases))
    if column.rule("hint"):
        parts.append(f"hint: {column.rule('hint')}")
    return "; ".join(parts)


def _forms(contract: Contract) -> list[str]:
    """Each column's typed forms and what they read as, and the near-misses and their codes."""
    lines = [
        "## Forms read",
        "",
        "What a clerk may type and what it reads as; each near-miss gets the finding shown "
        "(its Thai message is in the last table). Every row here is checked by the tests.",
        "",
        "| column | typed | reads as |",
        "|---|---|---|",
    ]
    for column in contract.columns:
        for typed, value in (column.rule("examples") or {}).items():
            lines.append(f"| `{column.key}` | `{typed}` | `{value}` |")
        for typed, code in (column.rule("near_misses") or {}).items():
            lines.append(f"| `{column.key}` | `{typed}` | finding `{code}` |")
    return [*lines, ""]


def _shapes(contract: Contract) -> list[str]:
    """How the rows and columns a clerk adds around the schools' rows are read: each rule with
    its examples and the near-misses that are still findings (``test_clerk_shapes`` checks them)."""
    shapes = contract.clerk_shapes
    prefixes = contract.column("school_name").rule("strip_prefixes") or ()

    def quoted(items: tuple[str, ...] | list[str]) -> str:
        return ", ".join(f"`{item}`" for item in items)

    return [
        "## Sheet shapes",
        "",
        "Clerks lay a sheet out the way Thai forms are laid out. None of these rows is a "
        "school: none is read, rejected or counted (rows read and rejected count schools "
        "only), and none gets an error.",
        "",
        "| shape | read as | examples | near-misses (still findings) |",
        "|---|---|---|---|",
        "| title and date lines, a merged title, above the header | not read: the header is "
        f"the first of the first {contract.header_search_rows} rows that matches | "
        "`ข้อมูลอินเทอร์เน็ตโรงเรียน สพป.ลำปาง เขต 1` (merged: the text in its first cell, "
        "the others empty), `ข้อมูล ณ วันที่ 1 ธันวาคม 2569` | a header lower than row "
        f"{contract.header_search_rows}: `header_not_found` |",
        "| blank rows | skipped, silently | an empty row; a row of spaces or dashes; a row "
        "with only a sequence number | - |",
        f"| a sequence column: header {quoted(shapes.sequence_headers)} | read as nothing, "
        "never warned about | `ลำดับ` over 1, 2, 3 ... | any other header the contract does "
        "not know (`ลำดับการติดตั้ง`): `unknown_column` |",
        "| a totals row: no school code, and its first cell with letters is "
        f"{quoted(shapes.total_labels)}, alone or followed by a space, `:` or `(` | skipped "
        "silently; its sums (typed, or `=SUM` computed: the API gives the number) are not "
        "read | `รวม` with the sums; `รวมทั้งสิ้น` merged over the code and name columns; "
        "`รวม 150 โรงเรียน`; `Total:`; a count of schools in the code column | a school named "
        "`รวม...` with its code is a school row; `รวมมิตรวิทยา` without a code is "
        "`missing_school_code` |",
        "| the header typed again (over a pasted block) | skipped silently | the header row "
        "repeated, with or without its sequence column | - |",
        "| a group heading: one text cell (a sequence number aside), the rest of the row "
        "empty, no school code, and not a school's name | skipped; the sheet's heading rows "
        "are named in one warning `heading_rows_skipped`, so a school's row taken for one is "
        f"seen | {quoted(shapes.heading_examples)}; a line under the data "
        "(`ผู้รายงาน ...`) | a name starting with "
        f"{quoted(list(prefixes))} (`โรงเรียนบ้านใหม่`) or a name in the school registry "
        "(`บ้านหนองบัว`) alone in its row: a school missing its code, `missing_school_code`; "
        "a heading with data in other cells (`อำเภอเมือง` with 120 students): "
        "`missing_school_code`; a lone number: `missing_school_code` |",
        "",
    ]


def contract_markdown(contract: Contract | None = None) -> str:
    contract = contract or load_contract()
    lines = [
        f"# The district sheet contract (v{contract.version})",
        "",
        "Generated from `plugins/schoolnet/contract/district_sheet.yaml` by",
        "`schoolnet contract-docs`; edit the schema, not this page.",
        "",
        f"- Data tab: `{contract.data_tab}` (else the first tab); the pipeline may write only "
        f"`{contract.feedback_tab}`.",
        f"- Header row: the first of the first {contract.header_search_rows} rows matching at "
        f"least {contract.header_min_match_share:.0%} of the headers (Thai header or key).",
        f"- A sheet whose accepted rows fall by more than {contract.quarantine_drop_share:.0%} "
        "is held back until an operator accepts it.",
        "- Text that renders alike reads alike in headers, tab names, enum cells, codes and "
        "numbers: Unicode NFC; a Thai tone mark typed before its vowel; `ํ`+`า` for `ำ`; "
        "`เ`+`เ` for `แ`; zero-width and no-break spaces; Thai (`๐`-`๙`) and full-width "
        "(`０`-`９`) digits.",
        "- A cell holding only "
        + ", ".join(f"`{mark}`" for mark in contract.empty_marks)
        + ' reads as empty ("nothing to report"): in an optional column it is empty, in a '
        "required one a missing value.",
        "- Each accepted row is compared with the school's last accepted values (its row in "
        "the latest snapshot before the date checked; `schoolnet validate --previous` reads "
        "them from a `schoolnet export` CSV). A change beyond the column's factor is a "
        "warning (`implausible_change`) quoting the previous value and the date it was "
        "accepted; the row is still accepted. A clerk confirms a value by leaving it: accepted "
        "today, it is the school's last accepted value at the next report, and the warning "
        "is gone. A school with no accepted values yet, an emptied cell (a connection ended) "
        "and a zero on either side are not compared; a cell with another finding gets no "
        "second one. A speed beyond what its link type carries (`speed_beyond_link_type`) is "
        "a warning too, silent once the same speed and link were accepted before.",
        "- A number with one dot and three digits after it (`1.290`) reads two ways (thousands "
        "or a fraction) and is an error saying what to type instead; `1,290.-` (no satang) "
        "reads 1290. A cell showing a failed formula (`#N/A`, `#REF!` ...) is an error.",
        "",
        "## Columns",
        "",
        "| key | Thai header | type | required | rules |",
        "|---|---|---|---|---|",
    ]
    for column in contract.columns:
        kind = TYPE_NAMES[column.type] + (f" (`{column.enum}`)" if column.enum else "")
        lines.append(
            f"| `{column.key}` | {column.header} | {kind} | {_required(column)} | "
            f"{_rules(column)} |"
        )
    lines += ["", *_forms(contract), *_shapes(contract), "## Enums", ""]
    for name, values in contract.enums.items():
        lines += [f"### `{name}`", "", "| key | Thai label | also accepted |", "|---|---|---|"]
        for value in values:
            aliases = ", ".join(f"`{alias}`" for alias in value.aliases)
            lines.append(f"| `{value.key}` | {value.label} | {aliases} |")
        lines.append("")
    lines += ["## Finding messages", "", "| code | Thai message |", "|---|---|"]
    for code, template in contract.messages.items():
        lines.append(f"| `{code}` | {template.replace('|', '&#124;')} |")
    return "\n".join(lines) + "\n"
