"""Alembic migrations of the store: `incident-bot migrate` (bot/store/migrate.py)."""
