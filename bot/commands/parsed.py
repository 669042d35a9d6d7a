"""What the parser gives: a typed command or a usage message, and the people and groups
named in one. Plain data, imported by every handler; the parser is not."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

from bot.commands.refs import Reference, Target


class UserRef(BaseModel):
    """A person named in a command: `id` is a Slack user id, or None when only a name was
    typed (the shell, or Slack text that was not a real mention); `me` means the invoker."""

    id: str | None = None
    name: str | None = None
    me: bool = False


class GroupRef(BaseModel):
    """A Slack user group named in a command (`invite @sre-leads`): its id from Slack's
    mention, which a handle alone cannot be trusted to find (handles are renamed)."""

    id: str
    handle: str  # without the @


class ParsedCommand(BaseModel):
    verb: str
    args: dict[str, Any] = Field(default_factory=dict)
    options: dict[str, Any] = Field(default_factory=dict)
    ref: Reference | None = None
    target: Target | None = None  # from a button or a modal: the incident it was made for
    text: str = ""


class UsageError(BaseModel):
    message: str
    verb: str | None = None
    usage: str
    suggestion: str | None = None
    missing: bool = False  # only arguments are missing: a modal can ask for them
