"""Each ESA's feedback: what in its sheet was accepted, rejected or suspicious, and what to type.

The same list goes two ways: into the sheet's own ``ผลตรวจสอบ`` tab (rewritten only when the
findings change) and by email to the ESA's contact (once per report date). Both are sorted by
row, so a clerk can walk down the sheet and fix cell after cell.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from zoneinfo import ZoneInfo

from schoolnet.contract import load_contract
from schoolnet.core import thai
from schoolnet.core.config import LiveSettings
from schoolnet.core.registry import Esa
from schoolnet.core.schedule import TIMEZONE, daily_time
from schoolnet.validation import nextcheck
from schoolnet.validation.result import ResultFinding, SheetOutcome, SheetResult

# The tab's columns and severity labels, as the contract words them for the email and workbook.
TAB_HEADER = tuple(load_contract().finding_headings.values())
SEVERITY_LABEL = load_contract().severity_labels
# How the tab reads when opened, from the contract beside the headings: each column's width
# (the message column wide), the wrapped column(s) by position, and the heading row's index
# (under the title, the date, the summary and a blank line).
TAB_WIDTHS = tuple(
    load_contract().finding_tab_widths[key] for key in load_contract().finding_headings
)
TAB_WRAPPED = tuple(
    position
    for position, key in enumerate(load_contract().finding_headings)
    if key in load_contract().finding_tab_wrap
)
TAB_HEADING_ROW = 4


def sheet_url(spreadsheet_id: str) -> str:
    return f"https://docs.google.com/spreadsheets/d/{spreadsheet_id}/edit"


def _row_order(finding: ResultFinding) -> tuple[int, int]:
    """Sheet-level findings first, then by row as the sheet shows it."""
    return (0, 0) if finding.row is None else (1, finding.row)


OUR_SIDE = frozenset({"quota", "google_error", "timeout"})
"""Read failures that are ours or Google's (quota, outages, timeouts), not the sheet's: the
report and the operator get the reason; the clerk only that nothing is needed of them."""


@dataclass(frozen=True)
class EsaFeedback:
    esa: Esa
    report_date: date
    outcome: SheetOutcome
    reason: str | None
    rows_read: int
    rows_accepted: int
    rows_rejected: int
    findings: tuple[ResultFinding, ...] = field(default_factory=tuple)
    error_code: str | None = None
    tab_current: bool = False  # the sheet's feedback tab holds this list (written or unchanged)
    live: LiveSettings = field(
        default_factory=LiveSettings
    )  # when a fix is checked again ([live] settings)

    @classmethod
    def from_result(
        cls, esa: Esa, result: SheetResult, live: LiveSettings | None = None
    ) -> EsaFeedback:
        """From the ESA's validation result (of the result's report date); ``live`` is the
        settings' ``[live]``, which says when the clerk's fix is checked again."""
        return cls(
            esa=esa,
            report_date=result.report_date,
            outcome=result.outcome,
            reason=result.reason,
            rows_read=result.rows_read,
            rows_accepted=result.rows_accepted,
            rows_rejected=result.rows_rejected,
            findings=tuple(sorted(result.findings, key=_row_order)),
            error_code=result.error_code,
            tab_current=result.feedback_tab in ("written", "unchanged"),
            live=LiveSettings() if live is None else live,
        )

    @property
    def errors(self) -> int:
        return sum(1 for f in self.findings if f.severity == "error")

    @property
    def warnings(self) -> int:
        return sum(1 for f in self.findings if f.severity == "warning")

    @property
    def all_accepted(self) -> bool:
        return self.outcome == "accepted" and not self.findings

    @property
    def subject(self) -> str:
        return load_contract().sheet_text(
            "subject", esa_name=self.esa.esa_name, date=thai.thai_date(self.report_date)
        )

    def summary_until(self, next_check: str) -> str:
        """One Thai sentence: what happened to the sheet as a whole, and, when the clerk has
        something to fix, ``next_check``: when the fix is checked again (``nextcheck``)."""
        text = load_contract().sheet_text
        if self.outcome == "failed" and self.error_code in OUR_SIDE:
            return text("not_read_our_side")
        if self.outcome == "failed":
            return text("not_read", reason=self.reason)
        if self.outcome in ("rejected", "quarantined"):
            return text("not_taken", reason=self.reason, next_check=next_check).strip()
        if self.all_accepted:
            return text("all_accepted", rows=thai.number(self.rows_accepted))
        return text(
            "to_fix",
            accepted=thai.number(self.rows_accepted),
            rejected=thai.number(self.rows_rejected),
            errors=thai.number(self.errors),
            warnings=thai.number(self.warnings),
            next_check=next_check,
        )

    @property
    def morning_check(self) -> datetime:
        """The moment of the morning run of the report date (Bangkok time), which checked the
        sheet this feedback tells of (the email and the morning's tab)."""
        return datetime.combine(self.report_date, daily_time(), tzinfo=ZoneInfo(TIMEZONE))

    def next_check(self, moment: datetime | None = None) -> str:
        """When a fix made after the check at ``moment`` (the morning run's if None) is
        checked again, as the ``[live]`` settings have it."""
        return nextcheck.next_check(self.live, self.morning_check if moment is None else moment)

    @property
    def summary(self) -> str:
        """The morning's summary, with when a fix is checked again after the morning run."""
        return self.summary_until(self.next_check())

    def tab_rows(self, checked_at: datetime | None = None) -> list[list[str]]:
        """The feedback tab's cells: a title, when it was checked, the summary, then one line
        per finding. ``checked_at`` (Bangkok time) is given by the near-live check; the
        morning's tab has none and shows the report date. Either way the summary says when a
        fix is checked again, from the moment of the check."""
        text = load_contract().sheet_text
        if checked_at is None:
            when = text("tab_updated", date=thai.thai_date(self.report_date))
            summary = self.summary
        else:
            when = text(
                "tab_checked", date=thai.thai_date(checked_at.date()), time=f"{checked_at:%H:%M}"
            )
            summary = self.summary_until(self.next_check(checked_at))
        rows = [
            [text("tab_title")],
            [when],
            [summary],
            [],
        ]
        assert len(rows) == TAB_HEADING_ROW
        if self.findings:
            rows.append(list(TAB_HEADER))
            for finding in self.findings:
                rows.append(
                    [
                        "" if finding.row is None else str(finding.row),
                        finding.cell or "",
                        finding.header or "",
                        SEVERITY_LABEL.get(finding.severity, finding.severity),
                        finding.message,
                        "" if finding.value is None else finding.value,
                        finding.code,
                    ]
                )
        return rows

    def digest(self) -> str:
        """Changes when what the clerk should read changes, not when only the date does."""
        payload = {
            "outcome": self.outcome,
            "reason": self.reason,
            "rows": [self.rows_accepted, self.rows_rejected],
            "findings": [finding.model_dump() for finding in self.findings],
        }
        return hashlib.sha256(
            json.dumps(payload, ensure_ascii=False, sort_keys=True, default=str).encode()
        ).hexdigest()


def padded(rows: Sequence[Sequence[str]], height: int, width: int) -> list[list[str]]:
    """``rows`` filled with blanks to ``height`` × ``width``, so a rewrite also clears old lines."""
    grid = [list(row) + [""] * (width - len(row)) for row in rows]
    grid += [[""] * width for _ in range(height - len(grid))]
    return grid
