"""Verb handlers: one async function per verb, registered by name.

Importing the modules below fills `HANDLERS`; a contract test checks that every verb in
the registry has exactly one handler.
"""

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


from bot.commands.handlers import help, incident, notices, oncall, people  # noqa: E402, F401
