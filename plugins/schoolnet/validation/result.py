"""One ESA's validation result for one report date: the record every step after the pull reads.

The daily pull validates each ESA's sheet and writes its :class:`SheetResult` to
``data/validated/<date>/<esa>.json`` (:func:`write_result`); the merge, the pull's summary and
the ESA's feedback (tab and email) read it back as the same typed object (:func:`read_result`),
so a field one of them asks for and the writer never wrote is a type error, not a ``KeyError``
at six in the morning. The near-live check builds one too and writes it nowhere. An ESA whose
pull left no result (its task crashed) is :meth:`SheetResult.not_pulled`, to the merge and to
the ESA's email alike (:func:`result_for`).

The file keeps the shape it had when it was a plain dict, so files written before this model
load unchanged: the fields added since the first version (the sheet's modified time, the date
its values were read, the data digest) default to None when absent.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import date
from functools import cache
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, field_validator

from schoolnet.contract import load_contract
from schoolnet.core.config import Settings
from schoolnet.core.files import GROUP_READABLE, write_atomically
from schoolnet.core.registry import Esa
from schoolnet.validation.findings import Finding, Severity
from schoolnet.warehouse.merge import EsaDay

SheetOutcome = Literal["accepted", "rejected", "quarantined", "failed"]
"""accepted, rejected or quarantined by the validator; failed: the sheet could not be read."""

AcceptedValue = date | int | float | str | list[str] | None
"""One normalized value of an accepted row (a date column's value is a date)."""


class Record(BaseModel):
    """Frozen, and a field it does not know is an error (a renamed field is caught)."""

    model_config = ConfigDict(frozen=True, extra="forbid")


class ResultFinding(Record):
    """One finding as the result keeps it: :class:`~schoolnet.validation.findings.Finding`'s
    fields, under the names the file has always used (``esa`` for the ESA's code)."""

    esa: str
    row: int | None
    column: str | None
    header: str | None
    cell: str | None
    severity: Severity
    code: str
    message: str
    value: str | None

    @classmethod
    def of(cls, finding: Finding) -> ResultFinding:
        """The finding under the file's names (:meth:`Finding.to_dict` spells them)."""
        return cls.model_validate(finding.to_dict())


@cache
def _date_columns() -> frozenset[str]:
    return frozenset(column.key for column in load_contract().columns if column.type == "date")


class SheetResult(Record):
    """What one ESA's sheet gave on one report date: the outcome, why, the counts, every
    finding, and the accepted rows' normalized values by school code.

    The fields are in the order the file has always had them.
    """

    esa_code: str
    spreadsheet_id: str
    report_date: date
    sheet_modified_time: str | None = None  # the sheet's Drive modifiedTime, as Drive gave it
    origin_date: date | None = None  # the day these values were read from Google
    data_digest: str | None = None  # of the data tab's values; None: nothing was read
    api_calls: int
    feedback_tab: str | None = None  # written | unchanged | failed: <code> | None (not written)
    outcome: SheetOutcome
    error_code: str | None = None
    reason: str | None = None  # Thai, for the ESA and the report
    detail: str | None = None  # technical, for the operator
    rows_read: int
    rows_rejected: int
    findings: tuple[ResultFinding, ...] = ()
    accepted: dict[str, dict[str, AcceptedValue]] = {}
    not_reported: tuple[str, ...] = ()  # registered schools of the ESA its sheet leaves out

    @field_validator("accepted", mode="before")
    @classmethod
    def _dates_as_dates(cls, accepted: Any) -> Any:
        """The file holds a date column's values as ISO text: read them back as dates."""
        if not isinstance(accepted, Mapping):
            return accepted
        columns = _date_columns()
        return {
            code: {
                key: date.fromisoformat(value)
                if key in columns and isinstance(value, str)
                else value
                for key, value in values.items()
            }
            if isinstance(values, Mapping)
            else values
            for code, values in accepted.items()
        }

    @classmethod
    def not_pulled(cls, esa: Esa, report_date: date) -> SheetResult:
        """The result of an ESA whose pull left none (its task crashed): failed, not read, in
        the words the merge records and the ESA's email gives."""
        day = EsaDay.not_pulled(esa.esa_code)
        return cls(
            esa_code=esa.esa_code,
            spreadsheet_id=esa.spreadsheet_id,
            report_date=report_date,
            api_calls=day.api_calls,
            outcome="failed",
            error_code=day.error_code,
            reason=day.reason,
            rows_read=day.rows_read,
            rows_rejected=day.rows_rejected,
        )

    @property
    def rows_accepted(self) -> int:
        return len(self.accepted)

    @property
    def errors(self) -> int:
        return sum(1 for finding in self.findings if finding.severity == "error")

    @property
    def warnings(self) -> int:
        return sum(1 for finding in self.findings if finding.severity == "warning")

    def esa_day(self) -> EsaDay:
        """The result as the warehouse's merge takes it."""
        return EsaDay(
            esa_code=self.esa_code,
            outcome=self.outcome,
            api_calls=self.api_calls,
            rows_read=self.rows_read,
            rows_rejected=self.rows_rejected,
            error_code=self.error_code,
            reason=self.reason,
            detail=self.detail,
            sheet_modified_time=self.sheet_modified_time,
            origin_date=self.origin_date,
            data_digest=self.data_digest,
            accepted=self.accepted,
            findings=tuple(finding.model_dump() for finding in self.findings),
        )


def result_path(settings: Settings, report_date: date, esa_code: str) -> Path:
    """Where the ESA's result for the date is kept: ``data/validated/<date>/<esa>.json``."""
    return settings.storage.validated_dir(report_date.isoformat()) / f"{esa_code}.json"


def write_result(settings: Settings, result: SheetResult) -> Path:
    """Write the result whole (or not at all), readable by the operator's group."""
    path = result_path(settings, result.report_date, result.esa_code)
    text = json.dumps(result.model_dump(mode="json"), ensure_ascii=False, separators=(",", ":"))
    write_atomically(path, text, mode=GROUP_READABLE)
    return path


def read_result(settings: Settings, report_date: date, esa_code: str) -> SheetResult | None:
    """The ESA's result for the date as its pull wrote it; None when it wrote none."""
    path = result_path(settings, report_date, esa_code)
    if not path.exists():
        return None
    return SheetResult.model_validate(json.loads(path.read_text(encoding="utf-8")))


def result_for(settings: Settings, report_date: date, esa: Esa) -> SheetResult:
    """The ESA's result for the date, or :meth:`SheetResult.not_pulled` if its pull left none."""
    return read_result(settings, report_date, esa.esa_code) or SheetResult.not_pulled(
        esa, report_date
    )
