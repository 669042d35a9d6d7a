"""The store's tables, in the one metadata the migrations compare against. The built-in
provider's own tables join it from bot/providers/builtin/tables.py.

Times are stored as naive UTC and handed back aware: SQLite keeps no zone, and one rule
for both engines keeps comparisons right.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import (
    JSON,
    BigInteger,
    Column,
    DateTime,
    Float,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)
from sqlalchemy.types import TypeDecorator


class UTCDateTime(TypeDecorator[datetime]):
    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: object) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetimes are not stored: attach a timezone")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: object) -> datetime | None:
        return None if value is None else value.replace(tzinfo=UTC)


metadata = MetaData()

links = Table(
    "links",
    metadata,
    Column("team_id", String(32), primary_key=True),
    Column("channel_id", String(32), primary_key=True),
    Column("provider", String(32), nullable=False),
    Column("incident_id", String(128), nullable=False),
    Column("reference", String(128), nullable=False),
    Column("linked_by", String(32)),
    Column("linked_at", UTCDateTime, nullable=False),
)

audit = Table(
    "audit",
    metadata,
    Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True),
    Column("at", UTCDateTime, nullable=False),
    Column("team_id", String(32)),
    Column("channel_id", String(32)),
    Column("user_id", String(32), nullable=False),
    Column("verb", String(32)),
    Column("arguments", Text, nullable=False),
    Column("provider", String(32)),
    Column("incident", String(128)),
    Column("outcome", String(32), nullable=False),
    Column("detail", Text),
    Column("duration_ms", Float, nullable=False),
)

# Requests already handled (Slack retries, double clicks): key → when, and what came of it.
idempotency = Table(
    "idempotency",
    metadata,
    Column("key", String(255), primary_key=True),
    Column("at", UTCDateTime, nullable=False),
    Column("result", JSON),
)

# Channels unlinked on purpose: never linked again because a provider still names them.
unlinked = Table(
    "unlinked",
    metadata,
    Column("team_id", String(32), primary_key=True),
    Column("channel_id", String(32), primary_key=True),
    Column("unlinked_by", String(32)),
    Column("at", UTCDateTime, nullable=False),
)

# The incident card in each channel: the one message redrawn after every change.
cards = Table(
    "cards",
    metadata,
    Column("team_id", String(32), primary_key=True),
    Column("channel_id", String(32), primary_key=True),
    Column("ts", String(32), nullable=False),
    Column("provider", String(32), nullable=False),
    Column("incident_id", String(128), nullable=False),
    Column("at", UTCDateTime, nullable=False),
)

# The durable intake: every acked request, written before its 200 and marked done when its
# answer was delivered, so a crash loses none (see bot/store/inbox.py). `key` is Slack's own
# id of the request, so a replay finds its row and does nothing.
inbox = Table(
    "inbox",
    metadata,
    Column("key", String(255), primary_key=True),
    Column("kind", String(16), nullable=False),  # command, button, submission
    Column("verb", String(32)),
    Column("payload", JSON, nullable=False),  # the request, enough to run and answer it again
    Column("state", String(16), nullable=False, index=True),  # pending, done
    Column("applied", Integer, nullable=False, default=0),  # 1: the built-in change committed
    Column("owner", String(64), nullable=False),  # the process working on it
    Column("lease_until", UTCDateTime, nullable=False),  # past it, another process may take it
    Column("created_at", UTCDateTime, nullable=False),
    Column("done_at", UTCDateTime),
)

# The bot's own notices that come later (update reminders, follow-up nudges, on-call
# handovers): one row each, fired by whichever process first admits `key@due_at` to the
# inbox, so a timer fires once across restarts and processes (bot/commands/timers.py).
timers = Table(
    "timers",
    metadata,
    Column("key", String(255), primary_key=True),  # remind:builtin:3, nudge:…, handover:…
    Column("kind", String(16), nullable=False),
    Column("due_at", UTCDateTime, nullable=False, index=True),
    Column("payload", JSON, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
)

# Messages kept up to date in place (an incident's line in the announcement channel).
anchors = Table(
    "anchors",
    metadata,
    Column("key", String(255), primary_key=True),  # announce:builtin:3
    Column("channel_id", String(32), nullable=False),
    Column("ts", String(32), nullable=False),
    Column("at", UTCDateTime, nullable=False),
)

# The numbers `overrides` shows and `override cancel #n` reads: given once per override and
# never to another, so cancelling down a list removes the ones it names. The provider's id
# with what the override was, to keep its number where a provider gives it a new id.
override_numbers = Table(
    "override_numbers",
    metadata,
    Column("number", Integer, primary_key=True, autoincrement=False),
    Column("provider", String(32), nullable=False),
    Column("override_id", String(255), nullable=False),
    Column("schedule", String(255), nullable=False),
    Column("user_id", String(64), nullable=False),
    Column("start", UTCDateTime, nullable=False),
    Column("end", UTCDateTime, nullable=False),
    UniqueConstraint("provider", "override_id", name="uq_override_numbers_id"),
)

# What the bot keeps about a channel or an incident between changes, one small JSON value
# per key: the topic it last set (set again only when it changes), the bookmarks it added,
# the retro document it wrote (updated in place the next time). A key names its owner:
# `topic:T1:C1`, `bookmark:T1:C1:call`, `retro:builtin:3`.
kept = Table(
    "kept",
    metadata,
    Column("key", String(255), primary_key=True),
    Column("value", JSON, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
)

# The pages the bot sent, at every provider: what the card shows (who was paged, whether
# they answered), what tells a provider's webhook about the bot's own page apart from news,
# and, at the built-in provider, where its re-pages stand (whom it rang, how often).
pages = Table(
    "pages",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("provider", String(32), nullable=False),
    Column("incident_id", String(255), nullable=False, index=True),
    Column("target_key", String(255), nullable=False),  # PageTarget.key: the same target however typed
    Column("target", String(255), nullable=False),  # as the answer named it
    Column("via", String(255), nullable=True),  # the rotation (built-in) a page moves down
    Column("person_id", String(64), nullable=True),  # who it is with now (paged, or who answered)
    Column("person_name", String(255), nullable=True),
    Column("external_id", String(255), nullable=True),  # the provider's id of the page
    Column("answers_to", JSON, nullable=False),  # the provider's ids its webhooks name for it
    Column("tried", JSON, nullable=False),  # built-in: the Slack ids rung so far, in order
    Column("state", String(16), nullable=False),  # paged, acknowledged, declined, unanswered
    Column("rings", Integer, nullable=False),  # built-in: DMs sent to the current person
    Column("paged_by", String(64), nullable=True),
    Column("paged_at", UTCDateTime, nullable=False),
    Column("answered_at", UTCDateTime, nullable=True),
)
