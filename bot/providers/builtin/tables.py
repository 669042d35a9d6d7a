"""The built-in provider's tables: its incidents, roles, follow-ups, timeline and on-call.

On the store's shared engine and metadata, so one migration history covers every table;
only this package queries them."""

from __future__ import annotations

from sqlalchemy import JSON, Column, ForeignKey, Integer, String, Table, Text, UniqueConstraint

from bot.store.tables import UTCDateTime, metadata

incidents = Table(
    "builtin_incidents",
    metadata,
    Column("number", Integer, primary_key=True, autoincrement=True),
    Column("name", String(250), nullable=False),
    Column("summary", Text),
    Column("status", String(32), nullable=False),
    Column("severity", String(16)),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    Column("resolved_at", UTCDateTime),
    Column("created_by", String(32)),
    Column("idempotency_key", String(255), unique=True),
)

roles = Table(
    "builtin_roles",
    metadata,
    Column("incident", Integer, ForeignKey("builtin_incidents.number"), primary_key=True),
    Column("role", String(64), primary_key=True),
    Column("user_id", String(64), nullable=False),
    Column("user_name", String(128)),
)

followups = Table(
    "builtin_followups",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("incident", Integer, ForeignKey("builtin_incidents.number"), nullable=False),
    Column("number", Integer, nullable=False),
    Column("title", String(500), nullable=False),
    Column("assignee_id", String(64)),
    Column("assignee_name", String(128)),
    Column("due", UTCDateTime),
    Column("state", String(16), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    UniqueConstraint("incident", "number"),
)

timeline = Table(
    "builtin_timeline",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("incident", Integer, ForeignKey("builtin_incidents.number"), nullable=False),
    Column("at", UTCDateTime, nullable=False),
    Column("kind", String(32), nullable=False),
    Column("text", Text, nullable=False),
    Column("author_id", String(64)),
    Column("author_name", String(128)),
)

schedules = Table(
    "builtin_schedules",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("name", String(80), nullable=False, unique=True),
    Column("users", JSON, nullable=False),  # [{"slack_id": ..., "name": ...}] in rotation order
    Column("handover_seconds", Integer, nullable=False),
    Column("start", UTCDateTime, nullable=False),
)

overrides = Table(
    "builtin_overrides",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("schedule", Integer, ForeignKey("builtin_schedules.id"), nullable=False),
    Column("user_id", String(64), nullable=False),
    Column("user_name", String(128)),
    Column("start", UTCDateTime, nullable=False),
    Column("end", UTCDateTime, nullable=False),
    Column("created_by", String(64)),
    Column("created_at", UTCDateTime, nullable=False),
    # An id is never given again (SQLite would reuse the highest one once it is deleted):
    # the store numbers overrides by it, so a reused id would take a cancelled one's number.
    sqlite_autoincrement=True,
)
