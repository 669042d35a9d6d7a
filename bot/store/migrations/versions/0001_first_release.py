"""The store as the first release made it with create_all (links, audit, cards, inbox,
the built-in provider's tables). A database that release made has these tables and no
alembic_version: bot/store/migrate.py stamps it at this revision and goes on from here.

Revision ID: 0001
Revises:
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def _id() -> sa.Column:
    return sa.Column(
        "id", sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True, autoincrement=True
    )


def upgrade() -> None:
    op.create_table(
        "links",
        sa.Column("team_id", sa.String(32), primary_key=True),
        sa.Column("channel_id", sa.String(32), primary_key=True),
        sa.Column("provider", sa.String(32), nullable=False),
        sa.Column("incident_id", sa.String(128), nullable=False),
        sa.Column("reference", sa.String(128), nullable=False),
        sa.Column("linked_by", sa.String(32)),
        sa.Column("linked_at", sa.DateTime(), nullable=False),
    )
    op.create_table(
        "audit",
        _id(),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.Column("team_id", sa.String(32)),
        sa.Column("channel_id", sa.String(32)),
        sa.Column("user_id", sa.String(32), nullable=False),
        sa.Column("verb", sa.String(32)),
        sa.Column("arguments", sa.Text(), nullable=False),
        sa.Column("provider", sa.String(32)),
        sa.Column("incident", sa.String(128)),
        sa.Column("outcome", sa.String(32), nullable=False),
        sa.Column("detail", sa.Text()),
        sa.Column("duration_ms", sa.Float(), nullable=False),
    )
    op.create_table(
        "idempotency",
        sa.Column("key", sa.String(255), primary_key=True),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.Column("result", sa.JSON()),
    )
    op.create_table(
        "cards",
        sa.Column("team_id", sa.String(32), primary_key=True),
        sa.Column("channel_id", sa.String(32), primary_key=True),
        sa.Column("ts", sa.String(32), nullable=False),
        sa.Column("provider", sa.String(32), nullable=False),
        sa.Column("incident_id", sa.String(128), nullable=False),
        sa.Column("at", sa.DateTime(), nullable=False),
    )
    op.create_table(
        "builtin_incidents",
        sa.Column("number", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("name", sa.String(250), nullable=False),
        sa.Column("summary", sa.Text()),
        sa.Column("status", sa.String(32), nullable=False),
        sa.Column("severity", sa.String(16)),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.Column("resolved_at", sa.DateTime()),
        sa.Column("created_by", sa.String(32)),
        sa.Column("idempotency_key", sa.String(255), unique=True),
    )
    op.create_table(
        "builtin_roles",
        sa.Column("incident", sa.Integer(), sa.ForeignKey("builtin_incidents.number"), primary_key=True),
        sa.Column("role", sa.String(64), primary_key=True),
        sa.Column("user_id", sa.String(64), nullable=False),
        sa.Column("user_name", sa.String(128)),
    )
    op.create_table(
        "builtin_followups",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("incident", sa.Integer(), sa.ForeignKey("builtin_incidents.number"), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(500), nullable=False),
        sa.Column("assignee_id", sa.String(64)),
        sa.Column("assignee_name", sa.String(128)),
        sa.Column("due", sa.DateTime()),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.UniqueConstraint("incident", "number"),
    )
    op.create_table(
        "builtin_timeline",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("incident", sa.Integer(), sa.ForeignKey("builtin_incidents.number"), nullable=False),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("author_id", sa.String(64)),
        sa.Column("author_name", sa.String(128)),
    )
    op.create_table(
        "builtin_schedules",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("name", sa.String(80), nullable=False, unique=True),
        sa.Column("users", sa.JSON(), nullable=False),
        sa.Column("handover_seconds", sa.Integer(), nullable=False),
        sa.Column("start", sa.DateTime(), nullable=False),
    )
    op.create_table(
        "builtin_overrides",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("schedule", sa.Integer(), sa.ForeignKey("builtin_schedules.id"), nullable=False),
        sa.Column("user_id", sa.String(64), nullable=False),
        sa.Column("user_name", sa.String(128)),
        sa.Column("start", sa.DateTime(), nullable=False),
        sa.Column("end", sa.DateTime(), nullable=False),
        sa.Column("created_by", sa.String(64)),
        sa.Column("created_at", sa.DateTime(), nullable=False),
    )
    op.create_table(
        "inbox",
        sa.Column("key", sa.String(255), primary_key=True),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("verb", sa.String(32)),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("applied", sa.Integer(), nullable=False),
        sa.Column("owner", sa.String(64), nullable=False),
        sa.Column("lease_until", sa.DateTime(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("done_at", sa.DateTime()),
    )
    op.create_index("ix_inbox_state", "inbox", ["state"])


def downgrade() -> None:
    for table in (
        "inbox",
        "builtin_overrides",
        "builtin_schedules",
        "builtin_timeline",
        "builtin_followups",
        "builtin_roles",
        "builtin_incidents",
        "cards",
        "idempotency",
        "audit",
        "links",
    ):
        op.drop_table(table)
