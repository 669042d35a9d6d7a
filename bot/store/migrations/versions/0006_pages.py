"""The pages the bot sent: what the card shows of them, and where a built-in page's
re-pages stand.

Revision ID: 0006
Revises: 0005
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "pages",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("provider", sa.String(32), nullable=False),
        sa.Column("incident_id", sa.String(255), nullable=False),
        sa.Column("target_key", sa.String(255), nullable=False),
        sa.Column("target", sa.String(255), nullable=False),
        sa.Column("via", sa.String(255), nullable=True),
        sa.Column("person_id", sa.String(64), nullable=True),
        sa.Column("person_name", sa.String(255), nullable=True),
        sa.Column("external_id", sa.String(255), nullable=True),
        sa.Column("answers_to", sa.JSON(), nullable=False),
        sa.Column("tried", sa.JSON(), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("rings", sa.Integer(), nullable=False),
        sa.Column("paged_by", sa.String(64), nullable=True),
        sa.Column("paged_at", sa.DateTime(), nullable=False),
        sa.Column("answered_at", sa.DateTime(), nullable=True),
    )
    op.create_index("ix_pages_incident_id", "pages", ["incident_id"])


def downgrade() -> None:
    op.drop_index("ix_pages_incident_id", table_name="pages")
    op.drop_table("pages")
