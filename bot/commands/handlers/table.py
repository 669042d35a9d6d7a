"""The table of verb handlers, filled by the `handles` decorator as each handler module is
imported (bot/commands/handlers/__init__.py imports them all)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from bot.commands.context import Context
from bot.commands.results import Reply, Result

Handler = Callable[[Context], Awaitable[Result | Reply]]
HANDLERS: dict[str, Handler] = {}


def handles(*verbs: str) -> Callable[[Handler], Handler]:
    def register(func: Handler) -> Handler:
        for verb in verbs:
            assert verb not in HANDLERS, f"two handlers for {verb}"
            HANDLERS[verb] = func
        return func

    return register
