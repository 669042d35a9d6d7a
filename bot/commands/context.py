"""Everything a verb handler may use, gathered once per command by the service."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, TypeVar

from bot.clock import Clock
from bot.commands.invocation import Invocation
from bot.commands.naming import NoMatch
from bot.commands.parsed import ParsedCommand, UsageError, UserRef
from bot.commands.ports import Workspace
from bot.commands.registry import Verb
from bot.config import Settings
from bot.domain import Capability, Incident, Person
from bot.providers.base import Provider
from bot.providers.facets import capability_of, facet, offered
from bot.store.db import Store

if TYPE_CHECKING:
    from typing_extensions import TypeForm  # a facet is a Protocol class (bot/providers/facets.py)

    from bot.commands.fresh import FreshIncidents
    from bot.commands.privacy import Privacy
    from bot.commands.timers import Timers


F = TypeVar("F")


class NotOffered(Exception):
    """Raised by `Context.require`: the provider does not offer what the verb needs. It
    becomes a NotSupported answer with the provider's own reason; nothing was changed."""

    def __init__(self, capability: Capability) -> None:
        super().__init__(capability.value)
        self.capability = capability


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
    privacy: Privacy | None = None  # who may see a private incident (bot/commands/privacy.py)
    fresh: FreshIncidents | None = None  # incidents as last read or written (bot/commands/fresh.py)
    # The runtime's one clock (bot/clock.py): a handler reads "now" from the clock the parser
    # and the store read, never from the wall clock on its own.
    clock: Clock = field(kw_only=True)

    @property
    def command(self) -> str:
        return self.settings.incident_command

    async def incident(self, incident_id: str | None = None, *, again: bool = False) -> Incident:
        """The incident (the command's own unless named), reused where it was just read or
        changed. `again`: read from the provider whatever is known, for an answer that
        must not rest on a reused read (a refusal, a list the change just added to)."""
        wanted = incident_id or self.incident_id or ""
        if self.fresh is None:
            return await self.provider.get_incident(wanted)
        if again:
            self.fresh.forget(self.provider.name, wanted)
        return await self.fresh.get(self.provider, wanted)

    async def incident_after_work(self) -> Incident:
        """The incident after a follow-up or a task was added or done. Only an incident kept in
        the bot's own store (`records_applied`: the built-in one) lists its follow-ups, so
        only that one is read again; a provider's own incident does not carry them, and a
        read reused is as good as a new one, without a call to a provider slowed by the
        same outage (bench.spread: a follow-up was three calls in a row, now two)."""
        return await self.incident(again=self.provider.records_applied)

    def can(self, capability: Capability) -> bool:
        return capability in offered(self.provider)

    def require(self, kind: TypeForm[F]) -> F:
        """The provider as the facet the verb needs (bot/providers/facets.py), typed."""
        found = facet(self.provider, kind)
        if found is None:
            raise NotOffered(capability_of(kind))
        return found

    def arg(self, name: str, default: object = None) -> object:
        return self.parsed.args.get(name, default)

    def required(self, name: str, kind: type[F]) -> F:
        """A required argument, as the type its slot parses to (the parser checked it is there)."""
        value = self.parsed.args.get(name)
        if not isinstance(value, kind):
            raise Refusal(f"Say the {name}: `{self.verb.usage(self.command)}`.")
        return value

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
