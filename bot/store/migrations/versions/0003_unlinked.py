"""Unlinked channels in their own table, out of the idempotency table where they were kept
as `unlinked:<team>:<channel>` keys beside Slack's retries and double clicks.

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

PREFIX = "unlinked:"


def upgrade() -> None:
    unlinked = op.create_table(
        "unlinked",
        sa.Column("team_id", sa.String(32), primary_key=True),
        sa.Column("channel_id", sa.String(32), primary_key=True),
        sa.Column("unlinked_by", sa.String(32)),
        sa.Column("at", sa.DateTime(), nullable=False),
    )
    conn = op.get_bind()
    idempotency = sa.table("idempotency", sa.column("key", sa.String), sa.column("at", sa.DateTime))
    markers = conn.execute(sa.select(idempotency).where(idempotency.c.key.startswith(PREFIX))).all()
    rows = []
    for key, at in markers:
        team_id, _, channel_id = key[len(PREFIX) :].partition(":")
        if team_id and channel_id:
            rows.append({"team_id": team_id, "channel_id": channel_id, "at": at})
    if rows:
        op.bulk_insert(unlinked, rows)
    conn.execute(sa.delete(idempotency).where(idempotency.c.key.startswith(PREFIX)))


def downgrade() -> None:
    conn = op.get_bind()
    unlinked = sa.table("unlinked", sa.column("team_id"), sa.column("channel_id"), sa.column("at"))
    idempotency = sa.table("idempotency", sa.column("key", sa.String), sa.column("at", sa.DateTime))
    rows = conn.execute(sa.select(unlinked)).all()
    if rows:
        op.bulk_insert(idempotency, [{"key": f"{PREFIX}{t}:{c}"[:255], "at": at} for t, c, at in rows])
    op.drop_table("unlinked")
