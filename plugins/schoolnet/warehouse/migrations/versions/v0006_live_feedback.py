"""Near-live feedback: the Drive changes position, each sheet's pending check, the tab's id.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-30

``live_cursor`` keeps the Drive changes page token of the ``schoolnet_feedback`` DAG, so a
restart continues where the last run stopped. ``live_sheet`` holds, per ESA, whether a clerk's
edit still waits for a check (``pending``, with ``marked`` counting the edits seen, so a check
only clears what it read), the Drive ``version`` its own tab write should leave (a higher one
means a clerk edited while it read) and what the last check found. ``feedback_tab`` gains the
sheet id of the tab it wrote, so a rewrite is one call.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("feedback_tab") as batch:
        batch.add_column(sa.Column("tab_sheet_id", sa.BigInteger(), nullable=True))
    op.create_table(
        "live_cursor",
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column("page_token", sa.String(200), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("name"),
    )
    op.create_table(
        "live_sheet",
        sa.Column("esa_code", sa.String(16), nullable=False),
        sa.Column("pending", sa.Boolean(), nullable=False),
        sa.Column("marked", sa.Integer(), nullable=False),
        sa.Column("changed_at", sa.String(40), nullable=True),
        sa.Column("version", sa.String(40), nullable=True),
        sa.Column("expect_version", sa.String(40), nullable=True),
        sa.Column("seen_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("checked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("outcome", sa.String(16), nullable=True),
        sa.Column("error_code", sa.String(40), nullable=True),
        sa.Column("errors", sa.Integer(), nullable=True),
        sa.Column("warnings", sa.Integer(), nullable=True),
        sa.PrimaryKeyConstraint("esa_code"),
    )


def downgrade() -> None:
    op.drop_table("live_sheet")
    op.drop_table("live_cursor")
    with op.batch_alter_table("feedback_tab") as batch:
        batch.drop_column("tab_sheet_id")
