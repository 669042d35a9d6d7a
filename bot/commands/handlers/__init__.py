"""Verb handlers: one async function per verb, registered by name.

Importing the modules below fills `HANDLERS` (bot/commands/handlers/table.py); a contract
test checks that every verb in the registry has exactly one handler.
"""

from __future__ import annotations

from bot.commands.handlers import (  # noqa: F401  (they register)
    channel,
    duplicate,
    help,
    incident,
    invite,
    listing,
    notices,
    oncall,
    paging,
    people,
    retro,
    statuspage,
    timeline,
)
from bot.commands.handlers.table import HANDLERS, Handler, handles

__all__ = ["HANDLERS", "Handler", "handles"]
