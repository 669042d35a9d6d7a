"""The built-in provider's override ids are never given again: on SQLite the table is
copied into one declared AUTOINCREMENT, counting on from the highest id it or the override
numbers ever saw, so a new override cannot take a cancelled one's id and with it its
number (`override cancel #2` then `override …` made a second #2). PostgreSQL's sequence
never gave an id twice; nothing changes there.

Revision ID: 0007
Revises: 0006
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name != "sqlite":
        return
    with op.batch_alter_table(
        "builtin_overrides", recreate="always", table_kwargs={"sqlite_autoincrement": True}
    ):
        pass
    # Every numeric id numbered at any provider: counting past a remote one's costs nothing.
    ids = [
        int(value)
        for value in bind.execute(sa.text("SELECT override_id FROM override_numbers")).scalars()
        if value.isdigit()
    ]
    ids.append(bind.execute(sa.text("SELECT coalesce(max(id), 0) FROM builtin_overrides")).scalar() or 0)
    seen = max(ids)
    if not seen:
        return
    bind.execute(sa.text("DELETE FROM sqlite_sequence WHERE name = 'builtin_overrides'"))
    bind.execute(
        sa.text("INSERT INTO sqlite_sequence (name, seq) VALUES ('builtin_overrides', :seq)"),
        {"seq": seen},
    )


def downgrade() -> None:
    pass  # an AUTOINCREMENT table is read and written as before
