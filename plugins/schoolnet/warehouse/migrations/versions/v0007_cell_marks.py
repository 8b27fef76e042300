"""Marks on the clerk's cells: what schoolnet wrote, so that it only ever changes its own.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-07

``cell_mark`` keeps, per ESA, each note and background colour schoolnet left on a cell of the
data tab (a finding's message, coloured by severity), as written. ``feedback_tab`` gains the
digest of the cells it wrote, so that a tab a clerk emptied or changed is told from the sheet
itself and written again.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("feedback_tab") as batch:
        batch.add_column(sa.Column("cells_digest", sa.String(64), nullable=True))
    op.create_table(
        "cell_mark",
        sa.Column("esa_code", sa.String(16), nullable=False),
        sa.Column("row_index", sa.Integer(), nullable=False),
        sa.Column("column_index", sa.Integer(), nullable=False),
        sa.Column("sheet_id", sa.BigInteger(), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("color", sa.String(7), nullable=True),
        sa.Column("marked_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("esa_code", "row_index", "column_index"),
    )


def downgrade() -> None:
    op.drop_table("cell_mark")
    with op.batch_alter_table("feedback_tab") as batch:
        batch.drop_column("cells_digest")
