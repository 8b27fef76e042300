"""Warehouse tables as SQLAlchemy 2 models; the same definitions serve SQLite and PostgreSQL.

The tables are made and changed by the Alembic revisions in ``migrations/versions``, not from
these models: change a model only together with a new revision (``schoolnet db revision``);
``tests/unit/warehouse/test_migrations.py`` checks that the two agree.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Date,
    DateTime,
    Float,
    Index,
    Integer,
    String,
    Text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class Base(DeclarativeBase):
    pass


class EsaRow(Base):
    """The ESA registry as of the latest run."""

    __tablename__ = "esa"
    esa_code: Mapped[str] = mapped_column(String(16), primary_key=True)
    esa_name: Mapped[str] = mapped_column(String(200))
    level: Mapped[str] = mapped_column(String(16))
    province: Mapped[str] = mapped_column(String(100))
    spreadsheet_id: Mapped[str] = mapped_column(String(200))
    contact_email: Mapped[str] = mapped_column(String(200))


class SchoolRow(Base):
    """The school registry as of the latest run."""

    __tablename__ = "school"
    school_code: Mapped[str] = mapped_column(String(10), primary_key=True)
    school_name: Mapped[str] = mapped_column(String(300))
    esa_code: Mapped[str] = mapped_column(String(16), index=True)
    province: Mapped[str] = mapped_column(String(100))
    students: Mapped[int] = mapped_column(Integer)


class EsaHistoryRow(Base):
    """Every version of every ESA's registry entry, valid on ``valid_from <= d < valid_to``.

    ``valid_to`` is None while the version is current. ``merge_day`` keeps it (see
    ``schoolnet.warehouse.merge``).
    """

    __tablename__ = "esa_history"
    esa_code: Mapped[str] = mapped_column(String(16), primary_key=True)
    esa_name: Mapped[str] = mapped_column(String(200))
    level: Mapped[str] = mapped_column(String(16))
    province: Mapped[str] = mapped_column(String(100))
    spreadsheet_id: Mapped[str] = mapped_column(String(200))
    contact_email: Mapped[str] = mapped_column(String(200))
    valid_from: Mapped[date] = mapped_column(Date, primary_key=True)
    valid_to: Mapped[date | None] = mapped_column(Date)


class SchoolHistoryRow(Base):
    """Every version of every school's registry entry, valid on ``valid_from <= d < valid_to``."""

    __tablename__ = "school_history"
    school_code: Mapped[str] = mapped_column(String(10), primary_key=True)
    school_name: Mapped[str] = mapped_column(String(300))
    esa_code: Mapped[str] = mapped_column(String(16))
    province: Mapped[str] = mapped_column(String(100))
    students: Mapped[int] = mapped_column(Integer)
    valid_from: Mapped[date] = mapped_column(Date, primary_key=True)
    valid_to: Mapped[date | None] = mapped_column(Date)


class PullRow(Base):
    """What happened to one ESA's sheet on one report date."""

    __tablename__ = "pull"
    report_date: Mapped[date] = mapped_column(Date, primary_key=True)
    esa_code: Mapped[str] = mapped_column(String(16), primary_key=True)
    outcome: Mapped[str] = mapped_column(String(16))  # accepted | rejected | failed
    error_code: Mapped[str | None] = mapped_column(String(40))
    reason: Mapped[str | None] = mapped_column(Text)  # Thai, for the report and the ESA
    detail: Mapped[str | None] = mapped_column(Text)  # technical, for the operator
    sheet_modified_time: Mapped[str | None] = mapped_column(String(40))
    origin_date: Mapped[date | None] = mapped_column(Date)  # when the values were read
    # SHA-256 of the data tab's values as read (None: nothing read), and the Bangkok date the
    # ESA's data last changed as of this pull (None: never read); the report's staleness.
    # Our own writes (the feedback tab) move Drive's modifiedTime but never the digest.
    data_digest: Mapped[str | None] = mapped_column(String(64))
    data_changed_on: Mapped[date | None] = mapped_column(Date)
    api_calls: Mapped[int] = mapped_column(Integer)
    rows_read: Mapped[int] = mapped_column(Integer)
    rows_accepted: Mapped[int] = mapped_column(Integer)
    rows_rejected: Mapped[int] = mapped_column(Integer)
    last_good_date: Mapped[date | None] = mapped_column(Date)
    # Best-effort timings, written after the merge (None for days merged before revision 0004).
    pull_started_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    pull_finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    read_seconds: Mapped[float | None] = mapped_column(Float)  # reading from Google
    validate_seconds: Mapped[float | None] = mapped_column(Float)
    feedback_seconds: Mapped[float | None] = mapped_column(Float)  # writing the feedback tab
    run_id: Mapped[str | None] = mapped_column(String(250))  # the Airflow run of the pull
    try_number: Mapped[int | None] = mapped_column(Integer)


class MergeRunRow(Base):
    """How long the merge of one report date took (its latest run)."""

    __tablename__ = "merge_run"
    report_date: Mapped[date] = mapped_column(Date, primary_key=True)
    run_id: Mapped[str | None] = mapped_column(String(250))
    started_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    finished_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    seconds: Mapped[float] = mapped_column(Float)
    esas: Mapped[int] = mapped_column(Integer)
    schools: Mapped[int] = mapped_column(Integer)


class RegistryChangeRow(Base):
    """An operator's addition or retirement of an ESA (``schoolnet esa add|retire``), and why."""

    __tablename__ = "registry_change"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    changed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    esa_code: Mapped[str] = mapped_column(String(16))
    action: Mapped[str] = mapped_column(String(16))  # add | update | retire
    reason: Mapped[str | None] = mapped_column(Text)
    changed_by: Mapped[str] = mapped_column(String(200))


class FindingRow(Base):
    """One problem in one ESA's sheet on one report date."""

    __tablename__ = "finding"
    report_date: Mapped[date] = mapped_column(Date, primary_key=True)
    esa_code: Mapped[str] = mapped_column(String(16), primary_key=True)
    seq: Mapped[int] = mapped_column(Integer, primary_key=True)
    row: Mapped[int | None] = mapped_column(Integer)
    column_key: Mapped[str | None] = mapped_column(String(40))
    header: Mapped[str | None] = mapped_column(String(100))
    cell: Mapped[str | None] = mapped_column(String(16))
    severity: Mapped[str] = mapped_column(String(8))
    code: Mapped[str] = mapped_column(String(40))
    message: Mapped[str] = mapped_column(Text)
    value: Mapped[str | None] = mapped_column(Text)


class SnapshotRow(Base):
    """Every registry school on every report date: its last accepted values and their date."""

    __tablename__ = "snapshot"
    __table_args__ = (Index("ix_snapshot_esa_date", "esa_code", "report_date"),)
    report_date: Mapped[date] = mapped_column(Date, primary_key=True)
    school_code: Mapped[str] = mapped_column(String(10), primary_key=True)
    esa_code: Mapped[str] = mapped_column(String(16))
    accepted_on: Mapped[date | None] = mapped_column(Date)  # None: never reported
    students: Mapped[int | None] = mapped_column(Integer)
    status: Mapped[str | None] = mapped_column(String(16))
    isp: Mapped[str | None] = mapped_column(String(16))
    link_type: Mapped[str | None] = mapped_column(String(16))
    download_mbps: Mapped[float | None] = mapped_column(Float)
    upload_mbps: Mapped[float | None] = mapped_column(Float)
    monthly_fee_thb: Mapped[float | None] = mapped_column(Float)
    funding_source: Mapped[str | None] = mapped_column(String(32))
    support_requested_thb: Mapped[float | None] = mapped_column(Float)
    support_reason: Mapped[str | None] = mapped_column(Text)
    providers_contacted: Mapped[list[str] | None] = mapped_column(JSON)
    service_start: Mapped[date | None] = mapped_column(Date)
    note: Mapped[str | None] = mapped_column(Text)


class DailyCountRow(Base):
    """National status counts of each report date, written with the snapshot (for the trend)."""

    __tablename__ = "daily_count"
    report_date: Mapped[date] = mapped_column(Date, primary_key=True)
    schools: Mapped[int] = mapped_column(Integer)
    connected: Mapped[int] = mapped_column(Integer)
    procuring: Mapped[int] = mapped_column(Integer)
    not_connected: Mapped[int] = mapped_column(Integer)
    no_provider: Mapped[int] = mapped_column(Integer)
    never_reported: Mapped[int] = mapped_column(Integer)


class DeliveryRow(Base):
    """Every email sent: at most one per report date, kind and recipient list.

    ``kind`` is ``report`` for the ministry's report and ``esa:<code>`` for an ESA's feedback.
    """

    __tablename__ = "delivery"
    report_date: Mapped[date] = mapped_column(Date, primary_key=True)
    kind: Mapped[str] = mapped_column(String(40), primary_key=True)
    recipients: Mapped[str] = mapped_column(String(1000), primary_key=True)
    sent_count: Mapped[int] = mapped_column(Integer)
    message_id: Mapped[str] = mapped_column(String(300))
    subject: Mapped[str] = mapped_column(Text)
    sent_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class FeedbackTabRow(Base):
    """What was last written to an ESA's feedback tab, so unchanged findings are not rewritten."""

    __tablename__ = "feedback_tab"
    esa_code: Mapped[str] = mapped_column(String(16), primary_key=True)
    digest: Mapped[str] = mapped_column(String(64))
    rows_written: Mapped[int] = mapped_column(Integer)
    report_date: Mapped[date] = mapped_column(Date)
    tab_sheet_id: Mapped[int | None] = mapped_column(BigInteger)  # the tab's id in the sheet
    # Of the cells written (their text, trailing blanks dropped), to tell from the sheet's own
    # cells whether a clerk emptied or changed the tab since; None if written before it was kept.
    cells_digest: Mapped[str | None] = mapped_column(String(64))


class CellMarkRow(Base):
    """A note and/or background colour schoolnet left on a cell of an ESA's data tab, as it
    was written: only what is recorded here is ever changed or removed by schoolnet, so a
    clerk's own notes and colours are never touched. ``note`` or ``color`` is None where the
    cell's note or colour is the clerk's (then schoolnet wrote only the other one)."""

    __tablename__ = "cell_mark"
    esa_code: Mapped[str] = mapped_column(String(16), primary_key=True)
    row_index: Mapped[int] = mapped_column(Integer, primary_key=True)  # 0-based, as Sheets counts
    column_index: Mapped[int] = mapped_column(Integer, primary_key=True)
    sheet_id: Mapped[int] = mapped_column(BigInteger)  # the data tab's id
    note: Mapped[str | None] = mapped_column(Text)
    color: Mapped[str | None] = mapped_column(String(7))  # #rrggbb
    marked_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class LiveCursorRow(Base):
    """Where the ``schoolnet_feedback`` DAG is in Drive's changes feed (its page token)."""

    __tablename__ = "live_cursor"
    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    page_token: Mapped[str] = mapped_column(String(200))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class LiveSheetRow(Base):
    """One ESA's sheet in the near-live loop: an edit waiting for its check, and the last check.

    ``marked`` counts the edits seen; a check clears ``pending`` only if no edit was seen while
    it read, so an edit made during a read is checked by the next run.
    """

    __tablename__ = "live_sheet"
    esa_code: Mapped[str] = mapped_column(String(16), primary_key=True)
    pending: Mapped[bool] = mapped_column(Boolean)
    marked: Mapped[int] = mapped_column(Integer)
    changed_at: Mapped[str | None] = mapped_column(String(40))  # Drive modifiedTime of the edit
    version: Mapped[str | None] = mapped_column(String(40))  # Drive version of the edit
    expect_version: Mapped[str | None] = mapped_column(String(40))  # after our own tab write
    seen_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    checked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    outcome: Mapped[str | None] = mapped_column(String(16))
    error_code: Mapped[str | None] = mapped_column(String(40))
    errors: Mapped[int | None] = mapped_column(Integer)
    warnings: Mapped[int | None] = mapped_column(Integer)


class QuarantineReleaseRow(Base):
    """An operator's acceptance of a quarantined sheet for one report date."""

    __tablename__ = "quarantine_release"
    esa_code: Mapped[str] = mapped_column(String(16), primary_key=True)
    report_date: Mapped[date] = mapped_column(Date, primary_key=True)
    accepted_by: Mapped[str] = mapped_column(String(200))
    accepted_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class QuotaClockRow(Base):
    """The shared schedule of one API quota: when the next request of any worker may go out.

    ``schoolnet.ingestion.quota.QuotaPacer`` grants each request ``max(now, next_free_at)`` and
    moves
    ``next_free_at`` one interval on, under the row's lock, so every process on every machine
    that shares the warehouse paces itself through this one row.
    """

    __tablename__ = "quota_clock"
    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    next_free_at: Mapped[float] = mapped_column(Float)  # seconds since the epoch
    interval_seconds: Mapped[float] = mapped_column(Float)  # 60 / per_minute, as last used


SNAPSHOT_VALUE_COLUMNS: tuple[str, ...] = (
    "students",
    "status",
    "isp",
    "link_type",
    "download_mbps",
    "upload_mbps",
    "monthly_fee_thb",
    "funding_source",
    "support_requested_thb",
    "support_reason",
    "providers_contacted",
    "service_start",
    "note",
)
