"""Report queries over a year: national counts per day, and the snapshot by ESA and date.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-25

``daily_count`` holds the national status counts of each report date, written by the merge in
the same transaction as the snapshot, so the trend reads 365 rows instead of every snapshot row
of the year. The snapshot's ESA index gains the report date, so a per-ESA summary of one date
does not walk every date of an ESA. Existing days are counted from the snapshot.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "daily_count",
        sa.Column("report_date", sa.Date(), nullable=False),
        sa.Column("schools", sa.Integer(), nullable=False),
        sa.Column("connected", sa.Integer(), nullable=False),
        sa.Column("procuring", sa.Integer(), nullable=False),
        sa.Column("not_connected", sa.Integer(), nullable=False),
        sa.Column("no_provider", sa.Integer(), nullable=False),
        sa.Column("never_reported", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("report_date"),
    )
    op.execute(
        "INSERT INTO daily_count (report_date, schools, connected, procuring, not_connected, "
        "no_provider, never_reported) SELECT report_date, COUNT(*), "
        "SUM(CASE WHEN status = 'connected' THEN 1 ELSE 0 END), "
        "SUM(CASE WHEN status = 'procuring' THEN 1 ELSE 0 END), "
        "SUM(CASE WHEN status = 'not_connected' THEN 1 ELSE 0 END), "
        "SUM(CASE WHEN status = 'no_provider' THEN 1 ELSE 0 END), "
        "SUM(CASE WHEN accepted_on IS NULL THEN 1 ELSE 0 END) "
        "FROM snapshot GROUP BY report_date"
    )
    with op.batch_alter_table("snapshot") as batch:
        batch.drop_index("ix_snapshot_esa_code")
        batch.create_index("ix_snapshot_esa_date", ["esa_code", "report_date"])


def downgrade() -> None:
    with op.batch_alter_table("snapshot") as batch:
        batch.drop_index("ix_snapshot_esa_date")
        batch.create_index("ix_snapshot_esa_code", ["esa_code"])
    op.drop_table("daily_count")
