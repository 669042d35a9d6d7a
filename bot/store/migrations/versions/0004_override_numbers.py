"""Override numbers that stay put: `override cancel #2` names the override listed as #2,
whatever was cancelled before it.

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "override_numbers",
        sa.Column("number", sa.Integer(), primary_key=True, autoincrement=False),
        sa.Column("provider", sa.String(32), nullable=False),
        sa.Column("override_id", sa.String(255), nullable=False),
        sa.Column("schedule", sa.String(255), nullable=False),
        sa.Column("user_id", sa.String(64), nullable=False),
        sa.Column("start", sa.DateTime(), nullable=False),
        sa.Column("end", sa.DateTime(), nullable=False),
        sa.UniqueConstraint("provider", "override_id", name="uq_override_numbers_id"),
    )


def downgrade() -> None:
    op.drop_table("override_numbers")
