"""Alembic's environment: always handed an open connection by bot/store/migrate.py (the
store's own engine, SQLite or PostgreSQL), never reading an alembic.ini."""

from __future__ import annotations

from alembic import context

from bot.providers.builtin.tables import metadata  # the store's, with the built-in provider's tables

connection = context.config.attributes["connection"]
context.configure(
    connection=connection,
    target_metadata=metadata,
    render_as_batch=connection.dialect.name == "sqlite",  # SQLite alters tables by copying them
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()
