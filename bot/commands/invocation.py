"""What the transports hand the command layer: who typed what, where."""

from __future__ import annotations

from pydantic import BaseModel, field_validator

from bot.domain import clean_text

MAX_TEXT = 4000  # characters of a command the parser reads (bot/commands/parser.py)


class Invocation(BaseModel):
    text: str
    user_id: str
    user_name: str | None = None
    channel_id: str
    channel_name: str | None = None
    team_id: str = "T0"
    tz: str = "UTC"
    # Unique per request from Slack (trigger_id): the idempotency key of writes it causes.
    request_id: str | None = None
    # Not addressed to the bot (a 📌 on a message): where that channel is no incident's, no
    # answer at all, rather than "not linked" to everyone who pins anything anywhere.
    unasked: bool = False

    @field_validator("text", "user_name", "channel_name", mode="before")
    @classmethod
    def _clean(cls, value: object) -> object:
        """Removed at the edge, whatever the transport: control characters mean nothing in a
        command, and NUL breaks PostgreSQL. Text is kept to one character past the longest
        command the parser reads, so it still says "too long" and nothing stores the rest."""
        return clean_text(value)[: MAX_TEXT + 1] if isinstance(value, str) else value
