"""The warehouse as schoolnet made it before migrations: registries, pulls, findings, snapshot,
deliveries, feedback tabs, quarantine releases and the quota clock.

Revision ID: 0001
Revises:
Create Date: 2026-11-25

Written by hand from the models of that time; it does not import them, so it stays what it is
when the models change. A warehouse made before migrations existed holds exactly these tables
and is stamped with this revision instead of running it.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "esa",
        sa.Column("esa_code", sa.String(16), nullable=False),
        sa.Column("esa_name", sa.String(200), nullable=False),
        sa.Column("level", sa.String(16), nullable=False),
        sa.Column("province", sa.String(100), nullable=False),
        sa.Column("spreadsheet_id", sa.String(200), nullable=False),
        sa.Column("contact_email", sa.String(200), nullable=False),
        sa.PrimaryKeyConstraint("esa_code"),
    )
    op.create_table(
        "school",
        sa.Column("school_code", sa.String(10), nullable=False),
        sa.Column("school_name", sa.String(300), nullable=False),
        sa.Column("esa_code", sa.String(16), nullable=False),
        sa.Column("province", sa.String(100), nullable=False),
        sa.Column("students", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("school_code"),
    )
    op.create_index("ix_school_esa_code", "school", ["esa_code"])
    op.create_table(
        "pull",
        sa.Column("report_date", sa.Date(), nullable=False),
        sa.Column("esa_code", sa.String(16), nullable=False),
        sa.Column("outcome", sa.String(16), nullable=False),
        sa.Column("error_code", sa.String(40), nullable=True),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("detail", sa.Text(), nullable=True),
        sa.Column("sheet_modified_time", sa.String(40), nullable=True),
        sa.Column("origin_date", sa.Date(), nullable=True),
        sa.Column("api_calls", sa.Integer(), nullable=False),
        sa.Column("rows_read", sa.Integer(), nullable=False),
        sa.Column("rows_accepted", sa.Integer(), nullable=False),
        sa.Column("rows_rejected", sa.Integer(), nullable=False),
        sa.Column("last_good_date", sa.Date(), nullable=True),
        sa.PrimaryKeyConstraint("report_date", "esa_code"),
    )
    op.create_table(
        "finding",
        sa.Column("report_date", sa.Date(), nullable=False),
        sa.Column("esa_code", sa.String(16), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("row", sa.Integer(), nullable=True),
        sa.Column("column_key", sa.String(40), nullable=True),
        sa.Column("header", sa.String(100), nullable=True),
        sa.Column("cell", sa.String(16), nullable=True),
        sa.Column("severity", sa.String(8), nullable=False),
        sa.Column("code", sa.String(40), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("value", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("report_date", "esa_code", "seq"),
    )
    op.create_table(
        "snapshot",
        sa.Column("report_date", sa.Date(), nullable=False),
        sa.Column("school_code", sa.String(10), nullable=False),
        sa.Column("esa_code", sa.String(16), nullable=False),
        sa.Column("accepted_on", sa.Date(), nullable=True),
        sa.Column("students", sa.Integer(), nullable=True),
        sa.Column("status", sa.String(16), nullable=True),
        sa.Column("isp", sa.String(16), nullable=True),
        sa.Column("link_type", sa.String(16), nullable=True),
        sa.Column("download_mbps", sa.Float(), nullable=True),
        sa.Column("upload_mbps", sa.Float(), nullable=True),
        sa.Column("monthly_fee_thb", sa.Float(), nullable=True),
        sa.Column("funding_source", sa.String(32), nullable=True),
        sa.Column("support_requested_thb", sa.Float(), nullable=True),
        sa.Column("support_reason", sa.Text(), nullable=True),
        sa.Column("providers_contacted", sa.JSON(), nullable=True),
        sa.Column("service_start", sa.Date(), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("report_date", "school_code"),
    )
    op.create_index("ix_snapshot_esa_code", "snapshot", ["esa_code"])
    op.create_table(
        "delivery",
        sa.Column("report_date", sa.Date(), nullable=False),
        sa.Column("kind", sa.String(40), nullable=False),
        sa.Column("recipients", sa.String(1000), nullable=False),
        sa.Column("sent_count", sa.Integer(), nullable=False),
        sa.Column("message_id", sa.String(300), nullable=False),
        sa.Column("subject", sa.Text(), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("report_date", "kind", "recipients"),
    )
    op.create_table(
        "feedback_tab",
        sa.Column("esa_code", sa.String(16), nullable=False),
        sa.Column("digest", sa.String(64), nullable=False),
        sa.Column("rows_written", sa.Integer(), nullable=False),
        sa.Column("report_date", sa.Date(), nullable=False),
        sa.PrimaryKeyConstraint("esa_code"),
    )
    op.create_table(
        "quarantine_release",
        sa.Column("esa_code", sa.String(16), nullable=False),
        sa.Column("report_date", sa.Date(), nullable=False),
        sa.Column("accepted_by", sa.String(200), nullable=False),
        sa.Column("accepted_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("esa_code", "report_date"),
    )
    op.create_table(
        "quota_clock",
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column("next_free_at", sa.Float(), nullable=False),
        sa.Column("interval_seconds", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("name"),
    )


def downgrade() -> None:
    op.drop_table("quota_clock")
    op.drop_table("quarantine_release")
    op.drop_table("feedback_tab")
    op.drop_table("delivery")
    op.drop_index("ix_snapshot_esa_code", table_name="snapshot")
    op.drop_table("snapshot")
    op.drop_table("finding")
    op.drop_table("pull")
    op.drop_index("ix_school_esa_code", table_name="school")
    op.drop_table("school")
    op.drop_table("esa")
