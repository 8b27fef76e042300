"""Registries with a history of changes: ``esa_history`` and ``school_history``.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25

Each row is one version of a registry entry, valid on report dates ``valid_from <= d <
valid_to`` (``valid_to`` NULL: still valid). A warehouse that already holds merged days starts
its history from the registry of its latest run, valid from its latest report date.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "esa_history",
        sa.Column("esa_code", sa.String(16), nullable=False),
        sa.Column("esa_name", sa.String(200), nullable=False),
        sa.Column("level", sa.String(16), nullable=False),
        sa.Column("province", sa.String(100), nullable=False),
        sa.Column("spreadsheet_id", sa.String(200), nullable=False),
        sa.Column("contact_email", sa.String(200), nullable=False),
        sa.Column("valid_from", sa.Date(), nullable=False),
        sa.Column("valid_to", sa.Date(), nullable=True),
        sa.PrimaryKeyConstraint("esa_code", "valid_from"),
    )
    op.create_table(
        "school_history",
        sa.Column("school_code", sa.String(10), nullable=False),
        sa.Column("school_name", sa.String(300), nullable=False),
        sa.Column("esa_code", sa.String(16), nullable=False),
        sa.Column("province", sa.String(100), nullable=False),
        sa.Column("students", sa.Integer(), nullable=False),
        sa.Column("valid_from", sa.Date(), nullable=False),
        sa.Column("valid_to", sa.Date(), nullable=True),
        sa.PrimaryKeyConstraint("school_code", "valid_from"),
    )
    # The registry tables hold the registry of the latest run. Its date is not recorded: the
    # latest merged report date is the closest the warehouse knows.
    for table, columns in (
        ("esa", "esa_code, esa_name, level, province, spreadsheet_id, contact_email"),
        ("school", "school_code, school_name, esa_code, province, students"),
    ):
        op.execute(
            f"INSERT INTO {table}_history ({columns}, valid_from, valid_to) "
            f"SELECT {columns}, latest.report_date, NULL "
            f"FROM {table} CROSS JOIN (SELECT MAX(report_date) AS report_date FROM pull) latest "
            "WHERE latest.report_date IS NOT NULL"
        )


def downgrade() -> None:
    op.drop_table("school_history")
    op.drop_table("esa_history")
