"""Everything a verb handler may use, gathered once per command by the service."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from bot.commands.invocation import Invocation
from bot.commands.naming import NoMatch
from bot.commands.parser import ParsedCommand, UsageError, UserRef
from bot.commands.ports import Workspace
from bot.commands.registry import Verb
from bot.config import Settings
from bot.domain import Person
from bot.providers.base import Provider
from bot.store.db import Store

if TYPE_CHECKING:
    from bot.commands.timers import Timers


class Refusal(Exception):
    """Raised by a handler for bad input discovered after parsing (an unknown status name,
    a person nobody knows): it becomes a usage answer, and nothing has been changed."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass
class Context:
    settings: Settings
    store: Store
    workspace: Workspace
    providers: dict[str, Provider]
    invocation: Invocation
    parsed: ParsedCommand
    verb: Verb
    actor: Person
    provider: Provider
    incident_id: str | None = None
    reference: str | None = None
    # Whether the actor is one of the bot's admins (a verb whose rule depends on its
    # arguments asks: an override for someone else).
    is_admin: Callable[[], Awaitable[bool]] | None = None
    timers: Timers | None = None  # reminders and handovers (bot/commands/timers.py)

    @property
    def command(self) -> str:
        return self.settings.incident_command

    def arg(self, name: str, default: object = None) -> object:
        return self.parsed.args.get(name, default)

    def refuse(self, message: str) -> Refusal:
        return Refusal(message)

    def chosen(self, outcome: str | NoMatch) -> str:
        if isinstance(outcome, NoMatch):
            raise Refusal(outcome.message)
        return outcome

    async def person(self, ref: UserRef) -> Person:
        if ref.me:
            return self.actor
        if ref.id:
            return Person(slack_id=ref.id, name=ref.name)
        found = await self.workspace.find_user(ref.name or "")
        if found is None:
            raise Refusal(
                f"I can't find @{ref.name}. Pick them from Slack's autocomplete so the mention is a real one."
            )
        return found

    def usage_error(self, message: str) -> UsageError:
        return UsageError(message=message, verb=self.verb.name, usage=self.verb.usage(self.command))
