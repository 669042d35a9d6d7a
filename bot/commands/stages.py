"""The command path as stages, each a small object holding only what it needs:

    limit → locate → queue → authorize → offered → ask first → run (in its turn) → settle

The service (bot/commands/service.py) builds them once and runs them in order over one
`Passage`, what is known of the command so far. A stage that has the command's answer
ends it there; the rest go on. So a new check is one more stage in the list, not one
more branch in a method every command runs through, and each stage can be read (and
tested) knowing only its own collaborators.

What follows a change made (reminders, auto-invites, other channels told) is not a stage:
it subscribes to the `Change` that `Settle` publishes (bot/commands/changes.py).
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Protocol

from bot.commands.authorize import Authorizer
from bot.commands.changes import Change, Follower
from bot.commands.context import Context, NotOffered, Refusal
from bot.commands.failures import provider_failure
from bot.commands.fresh import FreshIncidents
from bot.commands.handlers import HANDLERS
from bot.commands.invocation import Invocation
from bot.commands.notify import Notifier
from bot.commands.parsed import ParsedCommand
from bot.commands.parser import named_where_read
from bot.commands.policy import RateLimit
from bot.commands.registry import Verb
from bot.commands.resolve import Resolver
from bot.commands.results import (
    AskElsewhere,
    Elsewhere,
    Failure,
    NotLinked,
    NotSupported,
    Quiet,
    Reply,
    Result,
    Usage,
)
from bot.domain import Capability, Incident, Person, ProviderError
from bot.outage import log_failure
from bot.providers.base import MarksApplied, Provider
from bot.providers.facets import offered
from bot.store.links import Links
from bot.store.locks import IncidentLocks, Turn, Waiting

log = logging.getLogger("bot.commands.service")  # the command path's one logger, as before
# A button carries its verb's words in its value, which Slack bounds at 2,000 characters.
MAX_BUTTON_WORDS = 1_500


@dataclass
class Passage:
    """One command on its way through the stages: what is known of it so far."""

    invocation: Invocation
    parsed: ParsedCommand
    verb: Verb
    key: str | None = None  # the request's inbox key (None: the shell)
    waiting: Waiting | None = None  # the pipeline's: its work slot lent back while it waits
    provider: Provider | None = None
    incident_id: str | None = None
    reference: str | None = None
    admitted: bool = False  # past `authorize`: the audit names the incident from here on
    turn: Turn | None = None  # its place in the queue of the part of the incident it changes
    channels: str | None = None  # this channel's own incident, where it acts on another one
    known: Incident | None = None  # the incident as the channel knew it before the change

    @property
    def actor(self) -> Person:
        return Person(slack_id=self.invocation.user_id, name=self.invocation.user_name)

    def at(self) -> Provider:
        """The provider, once `locate` has found it."""
        assert self.provider is not None, "a stage before locate asked for the provider"
        return self.provider


class Stage(Protocol):
    async def __call__(self, passage: Passage, /) -> Reply | None:
        """The command's answer, where this stage ends it; None to go on."""


def refused(result: Result) -> Reply:
    return Reply(result=result, outcome="refused")


def not_offered(
    provider: Provider, verb: Verb, capability: Capability, url: str | None = None
) -> NotSupported:
    """The answer where the provider does not offer what the verb needs: its own reason."""
    return NotSupported(
        provider_label=provider.label, verb=verb.name, reason=provider.unsupported.get(capability), url=url
    )


def turn_key(provider: Provider, incident_id: str, turn: str) -> str:
    return f"{provider.name}:{incident_id}:{turn}"


class Limit:
    """A person declaring incident after incident (a loop, a stuck key) is stopped."""

    def __init__(self, declares: RateLimit, command: str) -> None:
        self.declares, self.command = declares, command

    async def __call__(self, p: Passage) -> Reply | None:
        if not p.verb.creates_incident or self.declares.allow(p.invocation.user_id):
            return None
        return refused(
            Failure(
                what=f"You have declared {self.declares.count} incidents in the last minute, "
                "the most one person may.",
                next_step=f"If this is a new one, wait a minute; if it exists, `{self.command} link` it.",
            )
        )


class Locate:
    """Which provider, and which incident there: the channel's, the one named, the one
    whose button was clicked; the default provider for verbs that need no incident."""

    def __init__(self, resolver: Resolver, default: Callable[[], Provider], fresh: FreshIncidents) -> None:
        self.resolver, self.default, self.fresh = resolver, default, fresh

    async def __call__(self, p: Passage) -> Reply | None:
        if not p.verb.needs_incident:
            p.provider = self.default()
            return None
        resolved = await self.resolver.resolve(p.invocation, p.parsed)
        if isinstance(resolved, NotLinked) and p.invocation.unasked:
            return Reply(result=Quiet(), outcome="ignored")  # a 📌 in no incident's channel
        if isinstance(resolved, NotLinked):
            resolved.retyped = named_where_read(p.verb, p.invocation.text)
        if isinstance(resolved, Result):
            return refused(resolved)
        p.provider, p.incident_id, p.reference = resolved
        if p.parsed.ref is not None:
            await self._own_id(p)
        return None

    async def _own_id(self, p: Passage) -> None:
        """An incident named by the number people see (`pd:1`, `INC-1` at incident.io) is
        known from here on by the provider's own id, as its link knows it: one incident, one
        id, so its turn, its responders, its privacy and "is it this channel's?" are the same
        however it was named. Read as the handler reads it next (reused); unreadable, the
        id as named, and the handler says why."""
        assert p.provider is not None and p.incident_id is not None
        try:
            incident = await self.fresh.get(p.provider, p.incident_id)
        except ProviderError:
            return
        if incident.id != p.incident_id:
            p.incident_id = incident.id


class Queue:
    """The change's place in its incident's queue, taken as soon as the incident is known:
    the checks after it (who may, what the provider offers) run while it waits, and
    changes keep the order they came in. The service gives the place back at the end,
    however the command ends."""

    def __init__(self, locks: IncidentLocks) -> None:
        self.locks = locks

    async def __call__(self, p: Passage) -> Reply | None:
        if p.verb.writes and p.incident_id and p.verb.turn is not None:
            p.turn = self.locks.reserve(turn_key(p.at(), p.incident_id, p.verb.turn))
        return None


class Authorize:
    """May this person run this verb on this incident (bot/commands/authorize.py)."""

    def __init__(self, guard: Authorizer, timeout: float, command: str) -> None:
        self.guard, self.timeout, self.command = guard, timeout, command

    async def __call__(self, p: Passage) -> Reply | None:
        provider = p.at()
        try:
            # Deciding may read the incident (who holds its roles): a provider that fails
            # here is told as any provider failure is, and nothing is done.
            async with asyncio.timeout(self.timeout):
                refusal = await self.guard.check(
                    p.invocation, p.parsed, p.verb, provider, p.incident_id, p.reference
                )
        except (ProviderError, TimeoutError) as exc:
            return provider_failure(provider, p.verb, exc, self.command, self.timeout)
        if refusal is not None:
            return refused(refusal)
        p.admitted = True
        return None


class Offered:
    """Does the provider do what the verb needs; if not, its own reason and its page."""

    def __init__(
        self,
        url_of: Callable[[Provider, str | None], Awaitable[str | None]],
        keep: Callable[[Passage, NotSupported], Awaitable[Reply | None]] | None = None,
    ) -> None:
        # `keep`: what to do with the note typed with a verb not offered (posted as an
        # update, where the provider takes them), rather than lose it with the refusal.
        self.url_of, self.keep = url_of, keep

    async def __call__(self, p: Passage) -> Reply | None:
        provider, capability = p.at(), p.verb.capability
        if capability is None or capability in offered(provider):
            return None
        result = not_offered(provider, p.verb, capability, await self.url_of(provider, p.incident_id))
        kept = await self.keep(p, result) if self.keep is not None else None
        return kept or refused(result)


class AskFirst:
    """A command about another incident than the channel's: noted, so the answer says so
    loudly; and for a verb hard to undo, a question with a button instead of the change."""

    def __init__(self, links: Links) -> None:
        self.links = links

    async def __call__(self, p: Passage) -> Reply | None:
        p.channels = await self._channels(p)
        if p.channels is None or not p.verb.asks_elsewhere or p.parsed.target is not None:
            return None
        words = _words_after_verb(p.invocation, p.parsed)
        if words and len(words) > MAX_BUTTON_WORDS:
            return refused(
                Failure(
                    what=f"That is too long to carry on a button asking whether you mean {p.reference}, "
                    f"not this channel's {p.channels}.",
                    next_step=f"Do it in {p.reference}'s own channel, or with a shorter note.",
                )
            )
        ask = AskElsewhere(
            verb=p.verb.name,
            label=f"{p.verb.button or p.verb.name.capitalize()} {p.reference}",
            text=words,
            provider=p.at().name,
            incident_id=p.incident_id or "",
            reference=p.reference or "",
            channel_reference=p.channels,
        )
        return Reply(result=ask, outcome="asked")

    async def _channels(self, p: Passage) -> str | None:
        """The channel's own incident, where the command acts on another one (named in it,
        or a button of another incident's card shown here); None where they are the same."""
        if (p.parsed.ref is None and p.parsed.target is None) or p.incident_id is None:
            return None
        link = await self.links.get(p.invocation.team_id, p.invocation.channel_id)
        if link is None or link.provider != p.at().name:
            return None if link is None else link.reference
        # The link holds the provider's own id (incident.io's ULID) where a typed reference
        # holds the number people see: either matching is the channel's own incident.
        if link.incident_id == p.incident_id or link.reference.upper() == (p.reference or "").upper():
            return None
        return link.reference


class Run:
    """The verb's handler, in the incident's turn where it changes a part of it, bounded
    by the command timeout; whatever it raises becomes an answer that says what is known."""

    def __init__(
        self,
        locks: IncidentLocks,
        context: Callable[[Passage, Provider], Context],
        notifier: Notifier,
        timeout: float,
        command: str,
    ) -> None:
        self.locks, self.context, self.notifier = locks, context, notifier
        self.timeout, self.command = timeout, command

    async def __call__(self, p: Passage) -> Reply:
        provider = p.at()
        if p.key is not None and isinstance(provider, MarksApplied):
            provider = provider.for_request(p.key)  # its changes marked applied under the key
        ctx = self.context(p, provider)
        # As the channel knew it before this change (whether a new severity is a rise): read
        # now, before this change's own webhook can have told the notifier the new state.
        p.known = self.notifier.known.get((provider.name, p.incident_id)) if p.incident_id else None
        if p.turn is not None and p.incident_id and p.verb.turn is not None:
            # Changes to the same part of one incident (its status, its severity, its roles)
            # run one at a time, in the order they came: in this process, and across
            # processes on PostgreSQL (an advisory lock for a remote provider; the built-in
            # one locks its own row too). Appends (verb.turn None) never wait.
            async with self.locks.hold(
                turn_key(provider, p.incident_id, p.verb.turn),
                across_processes=not provider.records_applied,
                waiting=p.waiting,
                turn=p.turn,
            ):
                return await self.guarded(ctx)
        return await self.guarded(ctx)

    async def guarded(self, ctx: Context) -> Reply:
        verb = ctx.verb
        try:
            async with asyncio.timeout(self.timeout):
                result = await HANDLERS[verb.name](ctx)
        except Refusal as exc:
            return Reply(result=Usage(error=ctx.usage_error(exc.message)), outcome="usage")
        except NotOffered as exc:
            return refused(not_offered(ctx.provider, verb, exc.capability))
        except (ProviderError, TimeoutError) as exc:
            return provider_failure(ctx.provider, verb, exc, self.command, self.timeout, ctx.actor)
        except Exception as exc:
            error_id = uuid.uuid4().hex[:8]
            log_failure(log, exc, "command failed, error id %s", error_id)
            result = Failure(
                what=f"Something went wrong on our side running `{verb.name}`.",
                changed="unknown" if verb.writes else "no",
                next_step=f"Check with `{ctx.command} info`, and quote error id {error_id} "
                "to whoever runs the bot.",
                error_id=error_id,
            )
            return Reply(result=result, outcome="error")
        return result if isinstance(result, Reply) else Reply(result=result)


class Settle:
    """After the handler: the newest known state of the incident is what the cache, the
    card and the followers go by; a change made is published as a `Change`."""

    def __init__(
        self, notifier: Notifier, fresh: FreshIncidents, followers: list[Follower], command: str
    ) -> None:
        self.notifier, self.fresh, self.followers, self.command = notifier, fresh, followers, command

    async def __call__(self, p: Passage, reply: Reply) -> Reply:
        provider, verb, incident_id = p.at(), p.verb, p.incident_id
        answered = getattr(reply.result, "incident", None)
        shown: Incident | None = answered if isinstance(answered, Incident) else None
        own_is_newest = True
        if shown is not None:
            # What the channel now knows (a card, a change's answer): a webhook for it, the
            # bot's own change coming back included, is not told twice.
            self.notifier.saw(shown)
            # Changes to other parts of the incident run beside this one: the provider's
            # answer to this write may be older than another's that finished first. What
            # follows (the cache, reminders, the card) goes by the newest known.
            newest = self.notifier.known.get((shown.provider, shown.id), shown)
            own_is_newest = newest is shown
            if not own_is_newest and verb.writes and incident_id:
                self.fresh.forget(provider.name, incident_id)
            shown = newest
        if verb.writes and incident_id:
            if reply.outcome == "ok" and shown is not None and shown.provider == provider.name:
                if own_is_newest:
                    self.fresh.put(shown, asked_as=incident_id)
            elif reply.outcome not in ("usage", "refused") and getattr(reply.result, "changed", None) != "no":
                self.fresh.forget(provider.name, incident_id)  # it may have changed: read it next time
        if verb.writes and verb.needs_incident and reply.outcome == "ok":
            reply.refresh = shown
        if verb.writes and reply.outcome == "ok" and (incident_id or shown is not None):
            change = Change(
                verb=verb,
                parsed=p.parsed,
                invocation=p.invocation,
                actor=p.actor,
                provider=provider,
                incident_id=incident_id or (shown.id if shown is not None else ""),
                reply=reply,
                incident=shown,
                before=p.known,
                command=self.command,
            )
            for follower in self.followers:
                reply.posts += await follower(change)
        if p.channels is not None and verb.writes and reply.outcome not in ("usage", "refused"):
            reply.result.elsewhere = Elsewhere(reference=p.reference or "", channel_reference=p.channels)
        reply.capabilities = sorted(offered(provider))
        return reply


def _words_after_verb(invocation: Invocation, parsed: ParsedCommand) -> str | None:
    """What a confirmation's button runs again: the words as typed (Slack's escaped text, so
    read again they read the same), less the verb and the reference, which the button
    carries as its incident."""
    words = invocation.text.split()[1:]
    if parsed.ref is not None:
        raw = parsed.ref.raw.lower()
        named = {raw, f"incident:{raw}", f"inc:{raw}"}
        at = next((n for n, word in enumerate(words) if word.lower() in named), None)
        if at is not None:
            words = words[:at] + words[at + 1 :]
    return " ".join(words) or None
