"""One command, start to finish: parse → authorize → find the incident → run → audit.

Transport-free: Slack and the shell both call `CommandService.run` and render the reply.
Whatever happens inside, `run` returns exactly one `Reply`; it does not raise.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass

from bot.clock import Clock
from bot.commands import forms, registry
from bot.commands.archive import ARCHIVE, Archiver
from bot.commands.authorize import Authorizer
from bot.commands.changes import Follower, ToldElsewhere
from bot.commands.context import Context
from bot.commands.fresh import FreshIncidents
from bot.commands.handlers.incident import keep_note
from bot.commands.invites import AutoInvites
from bot.commands.invocation import Invocation
from bot.commands.notify import Notifier
from bot.commands.parsed import ParsedCommand, UsageError
from bot.commands.parser import parse
from bot.commands.policy import Policy, RateLimit
from bot.commands.ports import Workspace
from bot.commands.privacy import Privacy
from bot.commands.pulse import dressed
from bot.commands.refs import Target
from bot.commands.registry import Choices, Verb
from bot.commands.resolve import Resolver
from bot.commands.results import (
    Failure,
    NeedsForm,
    NotSupported,
    Reply,
    Result,
    Usage,
)
from bot.commands.ringing import REPAGE, Ringer
from bot.commands.stages import (
    AskFirst,
    Authorize,
    Limit,
    Locate,
    Offered,
    Passage,
    Queue,
    Run,
    Settle,
    Stage,
)
from bot.commands.timers import Timers
from bot.config import Settings
from bot.domain import Capability, ProviderError, in_command
from bot.outage import log_failure
from bot.providers.base import MarksApplied, Provider
from bot.store.cards import Cards
from bot.store.db import Store
from bot.store.kept import Kept
from bot.store.locks import IncidentLocks, Waiting
from bot.store.timers import TimerStore

log = logging.getLogger(__name__)


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
        # Who may see a private incident: its channel's members and admins (privacy.py).
        self.privacy = Privacy(
            self.timers.store, store.links, workspace, self.guard.is_admin, settings.incident_command
        )
        self.guard.privacy = self.privacy
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
        # The command path (bot/commands/stages.py): who may, on which incident, whether
        # the provider offers it, whether to ask first; then the handler in its turn.
        timeout, command = settings.incident_command_timeout, settings.incident_command
        limit = Limit(self.declares, command)
        locate = Locate(self.where, lambda: self.default_provider, self.fresh)
        authorize = Authorize(self.guard, timeout, command)
        self.offered = Offered(self._url_of, self._keep_unoffered)
        self.admission: list[Stage] = [limit, locate, authorize]  # all a modal's opening needs
        self.stages: list[Stage] = [
            limit,
            locate,
            Queue(self.locks),  # its place in the incident's queue, before the checks
            authorize,
            self.offered,
            AskFirst(store.links),
        ]
        self.run_stage = Run(self.locks, self._context, self.notifier, timeout, command)
        self.settle = Settle(self.notifier, self.fresh, self.followers, command)

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
        passage = Passage(invocation, parsed, verb, key=key, waiting=waiting)
        try:
            reply = await self._through(self.stages, passage)
            if reply is None:
                reply = await self.settle(passage, await self.run_stage(passage))
        finally:
            if passage.turn is not None:
                passage.turn.leave()
        if not passage.admitted:  # refused before its incident was settled: none is named
            return reply, None, None
        return reply, passage.at().name, passage.reference

    @staticmethod
    async def _through(stages: list[Stage], passage: Passage) -> Reply | None:
        """The stages in order, until one answers the command."""
        for stage in stages:
            ended = await stage(passage)
            if ended is not None:
                return ended
        return None

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
        passage = Passage(invocation, ParsedCommand(verb=verb.name, target=target), verb)
        refused = await self._through(self.admission, passage)
        if refused is not None:
            # Refused before the form opens: audited as a typed refusal is.
            where: tuple[str | None, str | None] = (None, None)
            if target:
                where = (target.provider, target.reference)
            await self.store.audit.record(**_audit_row(invocation, verb, *where, refused, 0.0))
            return refused.result
        unoffered = await self.offered(passage)
        if unoffered is not None:
            return unoffered.result
        provider, incident_id, reference = passage.at(), passage.incident_id, passage.reference
        choices: dict[str, list[str]] = {}
        try:
            async with asyncio.timeout(self.settings.incident_command_timeout):
                for field in forms.fields(verb):
                    if field.choices:
                        choices[field.key] = await forms.catalogue(provider, field.choices, self.workspace)
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
        return await forms.catalogue(provider, kind, self.workspace)

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

    def _context(self, p: Passage, provider: Provider) -> Context:
        """What a handler is given: the command, the incident, and the runtime's parts."""
        return Context(
            settings=self.settings,
            store=self.store,
            workspace=self.workspace,
            providers=self.providers,
            invocation=p.invocation,
            parsed=p.parsed,
            verb=p.verb,
            actor=p.actor,
            provider=provider,
            incident_id=p.incident_id,
            reference=p.reference,
            is_admin=lambda: self.guard.is_admin(p.invocation.user_id),
            timers=self.timers,
            privacy=self.privacy,
            fresh=self.fresh,
            clock=self.clock,
        )

    async def _keep_unoffered(self, p: Passage, refused: NotSupported) -> Reply | None:
        """`_keep_note` for the `Offered` stage, with the handler's context."""
        provider = p.at()
        if p.key is not None and isinstance(provider, MarksApplied):
            provider = provider.for_request(p.key)  # an update it posts is marked applied too
        return await self._keep_note(self._context(p, provider), refused)

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
