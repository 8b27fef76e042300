"""When an ESA's data last changed, as the pipeline saw it, apart from our own writes.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-30

``pull`` gains ``data_digest`` (SHA-256 of the data tab's values as read; NULL when nothing was
read) and ``data_changed_on`` (the Bangkok date the ESA's data last changed, as of that pull; the
report's staleness). Drive's ``modifiedTime`` alone cannot tell a clerk's edit from our write of
the feedback tab, and after a past date is rerun it can lie after the report date.

Rows merged before this revision have no digest; their ``data_changed_on`` is what the report
used until now (the Bangkok date of the sheet's ``modifiedTime``, else the last good date), never
after their report date.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

BANGKOK = timedelta(hours=7)


def _legacy_changed_on(
    report_date: date, modified_time: str | None, last_good: date | None
) -> date | None:
    changed: date | None = last_good
    if modified_time:
        try:
            moment = datetime.fromisoformat(modified_time.replace("Z", "+00:00"))
        except ValueError:
            moment = None
        if moment is not None:
            if moment.tzinfo is None:
                moment = moment.replace(tzinfo=UTC)
            changed = (moment.astimezone(UTC) + BANGKOK).date()
    return None if changed is None else min(changed, report_date)


def upgrade() -> None:
    with op.batch_alter_table("pull") as batch:
        batch.add_column(sa.Column("data_digest", sa.String(64), nullable=True))
        batch.add_column(sa.Column("data_changed_on", sa.Date(), nullable=True))
    pull = sa.table(
        "pull",
        sa.column("report_date", sa.Date()),
        sa.column("esa_code", sa.String(16)),
        sa.column("sheet_modified_time", sa.String(40)),
        sa.column("last_good_date", sa.Date()),
        sa.column("data_changed_on", sa.Date()),
    )
    conn = op.get_bind()
    rows = conn.execute(
        sa.select(
            pull.c.report_date, pull.c.esa_code, pull.c.sheet_modified_time, pull.c.last_good_date
        )
    ).all()
    updates = [
        {
            "day": row.report_date,
            "code": row.esa_code,
            "changed": _legacy_changed_on(
                row.report_date, row.sheet_modified_time, row.last_good_date
            ),
        }
        for row in rows
    ]
    updates = [item for item in updates if item["changed"] is not None]
    if updates:
        conn.execute(
            sa.update(pull)
            .where(
                pull.c.report_date == sa.bindparam("day"), pull.c.esa_code == sa.bindparam("code")
            )
            .values(data_changed_on=sa.bindparam("changed")),
            updates,
        )


def downgrade() -> None:
    with op.batch_alter_table("pull") as batch:
        batch.drop_column("data_changed_on")
        batch.drop_column("data_digest")
