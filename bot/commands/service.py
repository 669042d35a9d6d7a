"""One command, start to finish: parse → authorize → find the incident → run → audit.

Transport-free: Slack and the shell both call `CommandService.run` and render the reply.
Whatever happens inside, `run` returns exactly one `Reply`; it does not raise.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass

from bot.clock import Clock
from bot.commands import forms, registry
from bot.commands.archive import ARCHIVE, Archiver
from bot.commands.authorize import Authorizer
from bot.commands.changes import Change, Follower, ToldElsewhere
from bot.commands.context import Context, NotOffered, Refusal
from bot.commands.failures import provider_failure
from bot.commands.fresh import FreshIncidents
from bot.commands.handlers import HANDLERS
from bot.commands.handlers.incident import keep_note
from bot.commands.invites import AutoInvites
from bot.commands.invocation import Invocation
from bot.commands.notify import Notifier
from bot.commands.parser import ParsedCommand, UsageError, parse
from bot.commands.policy import Policy, RateLimit
from bot.commands.ports import Workspace
from bot.commands.pulse import dressed
from bot.commands.refs import Target
from bot.commands.registry import Choices, Verb
from bot.commands.resolve import Resolver
from bot.commands.results import (
    AskElsewhere,
    Elsewhere,
    Failure,
    NeedsForm,
    NotLinked,
    NotSupported,
    Quiet,
    Reply,
    Result,
    Usage,
)
from bot.commands.ringing import REPAGE, Ringer
from bot.commands.timers import Timers
from bot.config import Settings
from bot.domain import Capability, Incident, Person, ProviderError, in_command
from bot.outage import log_failure
from bot.providers.base import MarksApplied, Provider
from bot.providers.facets import offered
from bot.store.cards import Cards
from bot.store.db import Store
from bot.store.kept import Kept
from bot.store.locks import IncidentLocks, Turn, Waiting
from bot.store.timers import TimerStore

log = logging.getLogger(__name__)
# A button carries its verb's words in its value, which Slack bounds at 2,000 characters.
MAX_BUTTON_WORDS = 1_500


@dataclass
class Prepared:
    """A modal's makings: the incident it is for (None for verbs that need none), the
    provider, and the real names for each choice field."""

    target: Target | None
    provider: Provider
    choices: dict[str, list[str]]


class CommandService:
    def __init__(
        self,
        settings: Settings,
        store: Store,
        providers: dict[str, Provider],
        workspace: Workspace,
        clock: Clock | None = None,
    ) -> None:
        self.settings = settings
        # The runtime's one clock, the store's unless given: what a command reads as "now"
        # ("for 2h", "tomorrow", "running for") is the moment the store stamps its rows with.
        self.clock = clock or store.clock
        self.store = store
        self.providers = providers
        self.workspace = workspace
        self.locks = IncidentLocks(store.engine)
        # Reused reads only where this process sees every change the bot makes: its own
        # (SQLite), or every process's too (PostgreSQL, told by the others; see fresh.py).
        self.fresh = FreshIncidents(
            settings.incident_cache_seconds if store.cache or store.peers is not None else 0,
            frozenset(settings.webhook_secrets()),
            store.peers,
        )
        self.where = Resolver(settings, store, providers)
        self.guard = Authorizer(settings, store, workspace, Policy.load(settings.incident_policy), self.fresh)
        self.timers = Timers(settings, store, providers, self.fresh, self.clock)
        # A resolved incident's channel archived later, unarchived if it reopens.
        self.archiver = Archiver(settings, store, self.timers.store, self.fresh, self.clock, workspace)
        self.timers.kinds[ARCHIVE] = self.archiver.fire
        # A built-in page unanswered: paged again, then the next person of the rotation.
        self.timers.kinds[REPAGE] = Ringer(settings, store, workspace, self.timers, self.clock).fire
        self.notifier = Notifier(store, providers, self.fresh, self.timers, self.archiver)
        self.invites = AutoInvites(self.guard.policy.auto_invite, workspace, store)
        # What follows a change made through the bot, each a subscriber of one event.
        self.followers: list[Follower] = [
            self.timers.followed,
            self.invites.followed,
            ToldElsewhere(store, self.guard.own_channel),
            self.notifier.followed,
            self.archiver.followed,
        ]
        self.declares = RateLimit(settings.incident_declare_limit)

    @property
    def default_provider(self) -> Provider:
        return self.providers[self.settings.incident_provider]

    def parse(self, invocation: Invocation) -> ParsedCommand | UsageError:
        return parse(
            invocation.text, tz=invocation.tz, now=self.clock.now(), command=self.settings.incident_command
        )

    async def handle(
        self,
        invocation: Invocation,
        parsed: ParsedCommand | None = None,
        *,
        forms: bool = False,
        waiting: Waiting | None = None,
        key: str | None = None,
    ) -> Reply | NeedsForm:
        """The one entry for every transport: `parsed` comes from a button or a modal, which
        have no text to parse; typed text is parsed once, in the user's timezone where the
        verb reads times. `forms`: the transport can ask for missing arguments in a form.
        `waiting`: wraps a wait for the incident's turn (the pipeline lends its work slot
        back meanwhile). `key`: the request's inbox key, handed to a provider that marks
        its changes applied in their own transaction. Returns exactly one answer, never
        raises; its audit row travels with it."""
        started = time.perf_counter()
        if parsed is None:
            guess, _ = registry.read_verb(invocation.text)
            if guess is not None and guess.uses_time:
                invocation.tz = await self.workspace.user_timezone(invocation.user_id) or invocation.tz
            parsed_or_error = self.parse(invocation)
        else:
            parsed_or_error = parsed
        if forms and isinstance(parsed_or_error, UsageError) and parsed_or_error.missing:
            if parsed_or_error.verb and registry.lookup(parsed_or_error.verb):
                return NeedsForm(verb=parsed_or_error.verb)
        verb = registry.lookup(parsed_or_error.verb) if isinstance(parsed_or_error, ParsedCommand) else None
        reply, provider, reference = await self._run(invocation, parsed_or_error, verb, waiting, key)
        reply = await dressed(self.providers, self.timers, reply)
        reply.audit = _audit_row(
            invocation, verb, provider, reference, reply, (time.perf_counter() - started) * 1000
        )
        return reply

    async def run(self, invocation: Invocation, parsed: ParsedCommand | None = None) -> Reply:
        """`handle` for transports without forms or an inbox (the shell): audited here."""
        reply = await self.handle(invocation, parsed)
        assert isinstance(reply, Reply)
        try:
            await self.store.audit.record(**reply.audit)
        except Exception as exc:  # the answer matters more than the audit row
            log_failure(log, exc, "could not write the audit row")
        return reply

    async def _run(
        self,
        invocation: Invocation,
        parsed: ParsedCommand | UsageError,
        verb: Verb | None,
        waiting: Waiting | None = None,
        key: str | None = None,
    ) -> tuple[Reply, str | None, str | None]:
        if isinstance(parsed, UsageError) or verb is None:
            error = parsed if isinstance(parsed, UsageError) else UsageError(message="?", usage="")
            return Reply(result=Usage(error=error), outcome="usage"), None, None
        reserved: list[Turn] = []

        def queue(provider: Provider, incident_id: str | None) -> None:
            """The change's place in its incident's queue, taken as soon as the incident is
            known: the checks before the change (who may, what the provider offers) run
            while it waits, and changes keep the order they came in."""
            if verb.writes and incident_id and verb.turn is not None:
                reserved.append(self.locks.reserve(_turn_key(provider, incident_id, verb.turn)))

        try:
            admitted = await self._admit(invocation, parsed, verb, queue)
            if isinstance(admitted, Reply):
                return admitted, None, None
            return await self._admitted(
                invocation, parsed, verb, admitted, reserved[0] if reserved else None, waiting, key
            )
        finally:
            for turn in reserved:
                turn.leave()

    async def _admitted(
        self,
        invocation: Invocation,
        parsed: ParsedCommand,
        verb: Verb,
        admitted: tuple[Provider, str | None, str | None],
        turn: Turn | None,
        waiting: Waiting | None,
        key: str | None,
    ) -> tuple[Reply, str | None, str | None]:
        actor = Person(slack_id=invocation.user_id, name=invocation.user_name)
        provider, incident_id, reference = admitted
        if verb.capability and verb.capability not in offered(provider):
            result = _not_offered(provider, verb, verb.capability, await self._url_of(provider, incident_id))
            marked = provider.for_request(key) if key and isinstance(provider, MarksApplied) else provider
            context = self._context(invocation, parsed, verb, actor, marked, incident_id, reference)
            kept = await self._keep_note(context, result)
            return kept or Reply(result=result, outcome="refused"), provider.name, reference
        channels = await self._other_than_channels(invocation, parsed, provider, incident_id, reference)
        if channels is not None and verb.asks_elsewhere and parsed.target is None:
            words = _words_after_verb(invocation, parsed)
            if words and len(words) > MAX_BUTTON_WORDS:
                too_long = Failure(
                    what=f"That is too long to carry on a button asking whether you mean {reference}, "
                    f"not this channel's {channels}.",
                    next_step=f"Do it in {reference}'s own channel, or with a shorter note.",
                )
                return Reply(result=too_long, outcome="refused"), provider.name, reference
            ask = AskElsewhere(
                verb=verb.name,
                label=f"{verb.button or verb.name.capitalize()} {reference}",
                text=words,
                provider=provider.name,
                incident_id=incident_id or "",
                reference=reference or "",
                channel_reference=channels,
            )
            return Reply(result=ask, outcome="asked"), provider.name, reference

        if key is not None and isinstance(provider, MarksApplied):
            provider = provider.for_request(key)
        ctx = self._context(invocation, parsed, verb, actor, provider, incident_id, reference)
        # As the channel knew it before this change (whether a new severity is a rise): read
        # now, before this change's own webhook can have told the notifier the new state.
        known = self.notifier.known.get((provider.name, incident_id)) if incident_id else None
        if turn is not None and incident_id and verb.turn is not None:
            # Changes to the same part of one incident (its status, its severity, its roles)
            # run one at a time, in the order they came: in this process, and across
            # processes on PostgreSQL (an advisory lock for a remote provider; the built-in
            # one locks its own row too). Appends (verb.turn None) never wait.
            async with self.locks.hold(
                _turn_key(provider, incident_id, verb.turn),
                across_processes=not provider.records_applied,
                waiting=waiting,
                turn=turn,
            ):
                reply = await self._guarded(ctx)
        else:
            reply = await self._guarded(ctx)
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
            if reply.outcome == "ok" and isinstance(shown, Incident) and shown.provider == provider.name:
                if own_is_newest:
                    self.fresh.put(shown, asked_as=incident_id)
            elif reply.outcome not in ("usage", "refused") and getattr(reply.result, "changed", None) != "no":
                self.fresh.forget(provider.name, incident_id)  # it may have changed: read it next time
        if verb.writes and verb.needs_incident and reply.outcome == "ok":
            reply.refresh = shown if isinstance(shown, Incident) else None
        if verb.writes and reply.outcome == "ok" and (incident_id or isinstance(shown, Incident)):
            change = Change(
                verb=verb,
                parsed=parsed,
                invocation=invocation,
                actor=actor,
                provider=provider,
                incident_id=incident_id or (shown.id if isinstance(shown, Incident) else ""),
                reply=reply,
                incident=shown if isinstance(shown, Incident) else None,
                before=known,
                command=self.command,
            )
            for follower in self.followers:
                reply.posts += await follower(change)
        if channels is not None and verb.writes and reply.outcome not in ("usage", "refused"):
            reply.result.elsewhere = Elsewhere(reference=reference or "", channel_reference=channels)
        reply.capabilities = sorted(offered(provider))
        return reply, provider.name, reference

    async def _other_than_channels(
        self,
        invocation: Invocation,
        parsed: ParsedCommand,
        provider: Provider,
        incident_id: str | None,
        reference: str | None,
    ) -> str | None:
        """The channel's own incident, where the command acts on another one (named in it,
        or a button of another incident's card shown here); None where they are the same."""
        if (parsed.ref is None and parsed.target is None) or incident_id is None:
            return None
        link = await self.store.links.get(invocation.team_id, invocation.channel_id)
        if link is None or link.provider != provider.name:
            return None if link is None else link.reference
        # The link holds the provider's own id (incident.io's ULID) where a typed reference
        # holds the number people see: either matching is the channel's own incident.
        if link.incident_id == incident_id or link.reference.upper() == (reference or "").upper():
            return None
        return link.reference

    async def _admit(
        self,
        invocation: Invocation,
        parsed: ParsedCommand,
        verb: Verb,
        found_at: Callable[[Provider, str | None], None] | None = None,
    ) -> tuple[Provider, str | None, str | None] | Reply:
        """May this user run this verb, and on which incident at which provider.
        `found_at` hears the incident as soon as it is known, before the checks."""
        if verb.creates_incident and not self.declares.allow(invocation.user_id):
            limit = self.settings.incident_declare_limit
            result = Failure(
                what=f"You have declared {limit} incidents in the last minute, the most one person may.",
                next_step=f"If this is a new one, wait a minute; if it exists, `{self.command} link` it.",
            )
            return Reply(result=result, outcome="refused")
        if not verb.needs_incident:
            found: tuple[Provider, str | None, str | None] = (self.default_provider, None, None)
        else:
            resolved = await self.where.resolve(invocation, parsed)
            if isinstance(resolved, NotLinked) and invocation.unasked:
                return Reply(result=Quiet(), outcome="ignored")  # a 📌 in no incident's channel
            if isinstance(resolved, Result):
                return Reply(result=resolved, outcome="refused")
            found = resolved
        if found_at is not None:
            found_at(found[0], found[1])
        try:
            # Deciding may read the incident (who holds its roles): a provider that fails
            # here is told as any provider failure is, and nothing is done.
            async with asyncio.timeout(self.settings.incident_command_timeout):
                refusal = await self.guard.check(invocation, parsed, verb, *found)
        except (ProviderError, TimeoutError) as exc:
            return provider_failure(found[0], verb, exc, self.command, self.settings.incident_command_timeout)
        if refusal is not None:
            return Reply(result=refusal, outcome="refused")
        return found

    async def provider_for(self, invocation: Invocation, parsed: ParsedCommand | None) -> Provider | None:
        """Which provider a request acts at, from what is already known (no provider call):
        its button's or modal's incident, a typed reference, the channel's link, else the
        default provider (declare, and verbs that need no incident)."""
        found = parsed if parsed is not None else self.parse(invocation)
        if isinstance(found, ParsedCommand):
            if found.target is not None:
                return self.providers.get(found.target.provider)
            if found.ref is not None:
                return self.providers.get(found.ref.provider or self.settings.incident_provider)
            verb = registry.lookup(found.verb)
            if verb is not None and not verb.needs_incident:
                return self.default_provider
        link = await self.store.links.get(invocation.team_id, invocation.channel_id)
        if link is not None:
            return self.providers.get(link.provider)
        return None

    async def prepare(
        self, invocation: Invocation, verb: Verb, target: Target | None = None
    ) -> Prepared | Result:
        """Everything a modal for `verb` needs before it is shown: the incident it acts on
        and the provider's real names for each choice. A Result when the verb can't run
        here, which the modal shows instead of a form."""
        parsed = ParsedCommand(verb=verb.name, target=target)
        admitted = await self._admit(invocation, parsed, verb)
        if isinstance(admitted, Reply):
            # Refused before the form opens: audited as a typed refusal is.
            where: tuple[str | None, str | None] = (None, None)
            if target:
                where = (target.provider, target.reference)
            await self.store.audit.record(**_audit_row(invocation, verb, *where, admitted, 0.0))
            return admitted.result
        provider, incident_id, reference = admitted
        if verb.capability and verb.capability not in offered(provider):
            return _not_offered(provider, verb, verb.capability, await self._url_of(provider, incident_id))
        choices: dict[str, list[str]] = {}
        try:
            async with asyncio.timeout(self.settings.incident_command_timeout):
                for field in forms.fields(verb):
                    if field.choices:
                        choices[field.key] = await forms.catalogue(provider, field.choices)
        except (ProviderError, TimeoutError) as exc:
            what = exc.message if isinstance(exc, ProviderError) else "did not answer in time"
            return Failure(
                what=f"I couldn't read the choices from {provider.label}: {what}",
                next_step=f"Type it in full instead: `{verb.usage(self.command)}`.",
            )
        pinned = (
            Target(provider=provider.name, incident_id=incident_id, reference=reference or "")
            if (incident_id)
            else None
        )
        return Prepared(target=pinned, provider=provider, choices=choices)

    async def validate(self, verb: Verb, parsed: ParsedCommand) -> forms.Errors:
        """A modal's answers checked at the provider before anything is sent to it."""
        provider = self.providers.get(parsed.target.provider) if parsed.target else self.default_provider
        if provider is None:
            return {}
        try:
            return await forms.check(verb, parsed, provider)
        except ProviderError:
            return {}  # can't tell now: the command itself will say what went wrong

    @property
    def command(self) -> str:
        return self.settings.incident_command

    # The ports a transport uses besides `handle`: what Slack's edge may ask of the command
    # layer, so it reaches neither the store nor a provider itself.
    async def choices(self, target: Target | None, kind: Choices) -> list[str]:
        """A modal's type-ahead: the names of `kind` at the provider of the incident the
        form was opened for (the default provider where it was opened for none)."""
        provider = (self.providers.get(target.provider) if target else None) or self.default_provider
        return await forms.catalogue(provider, kind)

    async def first_click(self, key: str, window: float) -> bool:
        """Whether this is the first click of `key` within `window` seconds (a double click does
        its work once); raises as the store does when the database is away."""
        return await self.store.claims.claim(key, window=window)

    def database_failed(self, exc: BaseException) -> None:
        """The transport saw the database fail: the outage is told once, as the store's own."""
        self.store.outage.failed(exc)

    @property
    def card_store(self) -> Cards:
        """Where each channel's card is kept, for the transport that posts and redraws it."""
        return self.store.cards

    @property
    def kept(self) -> Kept:
        """Small values kept by key: what the transport last set on a channel (its topic,
        its bookmarks' ids), so it sets each only when it changes (bot/slack/channel.py)."""
        return self.store.kept

    @property
    def anchors(self) -> TimerStore:
        """Where posts kept up to date in place are remembered (the announcement line)."""
        return self.timers.store

    async def _guarded(self, ctx: Context) -> Reply:
        verb = ctx.verb
        try:
            async with asyncio.timeout(self.settings.incident_command_timeout):
                result = await HANDLERS[verb.name](ctx)
        except Refusal as exc:
            return Reply(result=Usage(error=ctx.usage_error(exc.message)), outcome="usage")
        except NotOffered as exc:
            return Reply(result=_not_offered(ctx.provider, verb, exc.capability), outcome="refused")
        except (ProviderError, TimeoutError) as exc:
            return provider_failure(
                ctx.provider, verb, exc, self.command, self.settings.incident_command_timeout, ctx.actor
            )
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

    def _context(
        self,
        invocation: Invocation,
        parsed: ParsedCommand,
        verb: Verb,
        actor: Person,
        provider: Provider,
        incident_id: str | None,
        reference: str | None,
    ) -> Context:
        return Context(
            settings=self.settings,
            store=self.store,
            workspace=self.workspace,
            providers=self.providers,
            invocation=invocation,
            parsed=parsed,
            verb=verb,
            actor=actor,
            provider=provider,
            incident_id=incident_id,
            reference=reference,
            is_admin=lambda: self.guard.is_admin(invocation.user_id),
            timers=self.timers,
            fresh=self.fresh,
            clock=self.clock,
        )

    async def _keep_note(self, ctx: Context, refused: NotSupported) -> Reply | None:
        """A verb the provider does not offer, typed with a note (`reopen errors are back` at
        incident.io): the note is what the person took time to write, so it is posted as an
        update, and the answer says the verb itself was not done. None: nothing to keep
        (no note, no incident, no updates here, or the update failed: the refusal stands)."""
        note = ctx.parsed.args.get("note")
        if not note or not ctx.incident_id or not ctx.can(Capability.UPDATES):
            return None
        why = in_command(refused.reason, ctx.command) if refused.reason else None
        why = why or f"{refused.provider_label} can't do `{refused.verb}`."
        try:
            async with asyncio.timeout(self.settings.incident_command_timeout):
                kept = await keep_note(ctx, why, str(note))
        except (ProviderError, TimeoutError) as exc:
            log.warning("the note of an unoffered %s was not posted: %s", ctx.verb.name, exc)
            return None
        return Reply(result=kept, refresh=kept.incident)

    async def _url_of(self, provider: Provider, incident_id: str | None) -> str | None:
        """Where to do what we can't: worth one quick read, not worth failing over."""
        if incident_id is None:
            return None
        try:
            async with asyncio.timeout(3):
                return (await self.fresh.get(provider, incident_id)).url
        except (ProviderError, TimeoutError):
            return None


def _turn_key(provider: Provider, incident_id: str, turn: str) -> str:
    return f"{provider.name}:{incident_id}:{turn}"


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


def _audit_row(
    invocation: Invocation,
    verb: Verb | None,
    provider: str | None,
    reference: str | None,
    reply: Reply,
    duration_ms: float,
) -> dict[str, object]:
    return {
        "team_id": invocation.team_id,
        "channel_id": invocation.channel_id,
        "user_id": invocation.user_id,
        "verb": verb.name if verb else None,
        "arguments": invocation.text,
        "provider": provider,
        "incident": reference,
        "outcome": reply.outcome,
        "detail": getattr(reply.result, "what", None),
        "duration_ms": duration_ms,
    }


def _not_offered(
    provider: Provider, verb: Verb, capability: Capability, url: str | None = None
) -> NotSupported:
    """The answer where the provider does not offer what the verb needs: its own reason."""
    return NotSupported(
        provider_label=provider.label, verb=verb.name, reason=provider.unsupported.get(capability), url=url
    )
