"""What a run did and how long it took: pull timings, merge timings, registry changes.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-25

``pull`` gains best-effort columns written after the merge (all NULL for days merged before this
revision): when the ESA's pull started and finished, the seconds spent reading from Google,
validating and writing the feedback tab, and the Airflow run id and try number. ``merge_run``
holds each report date's merge timing; ``registry_change`` the operator's additions and
retirements of ESAs, with their reasons.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

PULL_COLUMNS = (
    ("pull_started_at", sa.DateTime(timezone=True)),
    ("pull_finished_at", sa.DateTime(timezone=True)),
    ("read_seconds", sa.Float()),
    ("validate_seconds", sa.Float()),
    ("feedback_seconds", sa.Float()),
    ("run_id", sa.String(250)),
    ("try_number", sa.Integer()),
)


def upgrade() -> None:
    with op.batch_alter_table("pull") as batch:
        for name, kind in PULL_COLUMNS:
            batch.add_column(sa.Column(name, kind, nullable=True))
    op.create_table(
        "merge_run",
        sa.Column("report_date", sa.Date(), nullable=False),
        sa.Column("run_id", sa.String(250), nullable=True),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("seconds", sa.Float(), nullable=False),
        sa.Column("esas", sa.Integer(), nullable=False),
        sa.Column("schools", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("report_date"),
    )
    op.create_table(
        "registry_change",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("changed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("esa_code", sa.String(16), nullable=False),
        sa.Column("action", sa.String(16), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("changed_by", sa.String(200), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )


def downgrade() -> None:
    op.drop_table("registry_change")
    op.drop_table("merge_run")
    with op.batch_alter_table("pull") as batch:
        for name, _kind in reversed(PULL_COLUMNS):
            batch.drop_column(name)
