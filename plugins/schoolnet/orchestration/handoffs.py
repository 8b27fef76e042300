"""What one task hands the next, as typed objects Airflow's XCom serialises.

Each is a small frozen pydantic model: Airflow's serde stores it as ``model_dump(mode="json")``
with its class name and rebuilds it with ``model_validate``, so a consumer gets the same typed
object (dates as dates, the ESA as :class:`~schoolnet.registry.Esa`) and a field of the wrong
kind fails at the hand-off rather than later. XCom lives in the metadata database, so these
carry counts, names and dates, never sheet data: files are the hand-over of the data itself.
"""

from __future__ import annotations

from datetime import date
from typing import Literal

from pydantic import BaseModel, ConfigDict

from schoolnet.core.registry import Esa

Outcome = Literal["accepted", "rejected", "quarantined", "failed"]


class Handoff(BaseModel):
    """Frozen, and a field it does not know is an error (a renamed field is caught)."""

    model_config = ConfigDict(frozen=True, extra="forbid")


class RunDay(Handoff):
    """The run's report date against the day the pipeline lives in, fixed by the first task.

    Only a run of today reads the live sheets, writes the clerks' tabs and sends unasked: a
    run of a past date (``airflow dags test`` of an old date, a cleared or backfilled run, a
    catch-up after a missed morning) replays what that date landed and leaves the rest of the
    warehouse as it is. Decided once, so a run that crosses midnight keeps its kind.
    """

    report_date: date
    today: date

    @property
    def live(self) -> bool:
        return self.report_date == self.today


class RegistryEntry(Handoff):
    """One ESA of the run's registry (the daily run's first task, and provisioning's choice)."""

    esa: Esa


PullAction = Literal["read", "replay", "keep"]
"""read: today's sheet from Google (or an unchanged earlier read); replay: a past date's own
landing, validated again; keep: a past date with no landing, whose warehouse rows stay."""


class PullPlan(Handoff):
    """One ESA's entry in the plan: read its sheet, reuse an unchanged read, replay a past
    date's landing, or keep what the warehouse holds."""

    esa: Esa
    modified_time: str | None = None  # the sheet's Drive modifiedTime, when it was listed
    reuse_from: date | None = None  # the date whose landed read still holds (None: read it)
    action: PullAction = "read"


class PullSummary(Handoff):
    """What one ESA's pull tells the merge and the log: counts and the outcome, not the data."""

    esa_code: str
    outcome: Outcome | Literal["kept"]  # kept: a past date with no landing, left as it was
    error_code: str | None
    api_calls: int
    rows_read: int
    rows_accepted: int
    rows_rejected: int
    feedback_tab: str | None
    errors: int
    warnings: int


class MergedDay(Handoff):
    """The day as merged into the warehouse; the report and the ESA emails follow it.

    For a past date, ``live`` is False: the ESAs with a landing that date were replayed from
    it, the others kept what the warehouse holds (none merged when nothing was landed).
    """

    report_date: date
    esas_not_accepted: int
    schools: int
    accepted_today: int
    carried_forward: int
    never_reported: int
    live: bool = True
    esas_replayed: int = 0
    esas_kept: int = 0


class RenderedReport(Handoff):
    """Where the day's report was rendered, and its subject; the send reads the files."""

    folder: str
    subject: str


class ReportDelivery(Handoff):
    """Whether the report went out in this run (False: it was already sent for the date)."""

    sent: bool
    message_id: str


class FeedbackDelivery(Handoff):
    """How many ESA feedback emails went out, and how many had been sent before."""

    sent: int = 0
    already_sent: int = 0


class LiveCheck(Handoff):
    """One near-live check of an edited sheet."""

    esa_code: str
    edited_at: str | None
    outcome: Literal["accepted", "rejected", "quarantined", "failed", "already_checked", "deferred"]
    api_calls: int
    error_code: str | None = None
    feedback_tab: str | None = None
    errors: int = 0
    warnings: int = 0


HANDOFFS: tuple[type[Handoff], ...] = (
    RunDay,
    RegistryEntry,
    PullPlan,
    PullSummary,
    MergedDay,
    RenderedReport,
    ReportDelivery,
    FeedbackDelivery,
    LiveCheck,
)


def allow_in_xcom() -> None:
    """Let Airflow rebuild the hand-offs from XCom in this process.

    Airflow deserialises only classes it is told to trust (``[core]
    allowed_deserialization_classes``, ``airflow.*`` by default); the DAG files call this when
    they are parsed, which is also before a worker runs any of their tasks.
    """
    from airflow.sdk.serde import allow_class

    for handoff in HANDOFFS:
        allow_class(handoff)
