"""One way in for every acked request: slash commands (HTTP and Socket Mode), clicks, modals.

    transport ──admit()──▶ inbox row (dedupe) ──ack──▶ start() ──▶ service.handle() ──▶ Delivery
                                                                                       └─▶ inbox done + audit

The transport translates a payload into a `Request` and calls `admit` before it acks:
that writes the request to the durable inbox (or finds it there: a replay, which does
nothing) and says whether there is room. Then `start` runs it in the background, holding
the one concurrency control, and delivers its one answer through the `Delivery` port.
On start-up, and every few seconds after, `maintain` takes over requests a stopped
process left unanswered, and runs each again only where that is provably safe.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Coroutine
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Literal, Protocol

from pydantic import BaseModel

from bot import metrics
from bot.commands import registry
from bot.commands.backpressure import AckLine
from bot.commands.invocation import Invocation
from bot.commands.parsed import ParsedCommand
from bot.commands.pulse import dressed
from bot.commands.registry import Verb
from bot.commands.results import Failure, NeedsForm, Reply, Restarted, Result
from bot.commands.service import CommandService
from bot.commands.slots import Slots
from bot.domain import ProviderEvent
from bot.outage import log_failure, unavailable
from bot.store.audit import audit_values
from bot.store.inbox import Entry, Inbox, decode, encode
from bot.store.timers import Timer

log = logging.getLogger(__name__)
# Requests doing their work at once. Waiting on a slow provider counts as work, so the cap
# is wide (docs/performance.md, "The figures behind the code's choices").
WORK_SLOTS = 256
# Requests acked and not yet answered, at the most, in one process: past it a request is
# acked at once and answered "busy". Before that, with every work slot taken and the process
# short of CPU, acks wait a little (bot/commands/backpressure.py).
BACKLOG = 512
KEEP_ANSWERED = timedelta(days=1)  # well past Slack's 5-minute replay window


class Route(BaseModel):
    """How to answer the one person who asked."""

    team_id: str
    channel_id: str
    user_id: str
    response_url: str | None = None
    trigger_id: str | None = None


class Request(BaseModel):
    key: str | None  # the transport's own id of the request (Slack's trigger_id …): the dedupe
    kind: Literal["command", "button", "submission", "webhook", "timer"] = "command"
    invocation: Invocation
    parsed: ParsedCommand | None = None  # a button's or a modal's: no text to parse
    route: Route
    forms: bool = False  # missing arguments may be asked for in a form
    event: ProviderEvent | None = None  # a provider's webhook: nobody to answer, a channel to tell
    timer: Timer | None = None  # a reminder, nudge or handover that is due: the same


class Resend(BaseModel):
    """A request a stopped process may already have answered: delivered again only where
    that earlier answer cannot be found, or replaced in place (Slack has no idempotency key)."""

    key: str
    since: datetime
    # A slash command's response_url answer can be replaced in place; a click's cannot
    # (its "original" is the card that was clicked).
    replaceable: bool = False


class Delivery(Protocol):
    async def deliver(self, route: Route, reply: Reply, key: str | None, resend: Resend | None) -> None:
        """The one answer to the person who asked, marked with the request's key."""

    async def follow(self, route: Route, reply: Reply, key: str | None) -> None:
        """What comes after the answer is recorded: posts elsewhere, card redraws (which may
        wait their turn, up to INCIDENT_CARD_REDRAW_SECONDS): conveniences, never the contract. Each post is
        marked with `key` (the request's) and its place, so a restart finds it."""

    async def form(self, request: Request, verb: Verb) -> None:
        """Ask for the verb's missing arguments (a modal)."""

    async def say(self, route: Route, result: Result) -> None:
        """A private word to the one person."""


class Admission(StrEnum):
    ACCEPTED = "accepted"
    REPLAY = "replay"  # seen before: the first one answers
    BUSY = "busy"  # over the backlog: answered "busy", nothing done
    # The database refused, or did not answer within INCIDENT_ACK_DB_TIMEOUT: answered so in
    # the ack (or, where an ack carries no message, at once), and never run.
    UNAVAILABLE = "unavailable"


# The answer while the database is away: said at once, since an ack Slack waits for longer
# than 3 s is shown to the person as a failure of its own, and the command then ran anyway.
DATABASE_AWAY = Failure(
    what="The bot's database isn't answering, so the bot did not run that.",
    next_step="Try again in a minute.",
)


class Pipeline:
    def __init__(
        self,
        service: CommandService,
        delivery: Delivery,
        inbox: Inbox | None,
        *,
        single_process: bool,
        slots: int = WORK_SLOTS,
        backlog: int = BACKLOG,
    ) -> None:
        self.service = service
        self.delivery = delivery
        self.inbox = inbox
        self.single_process = single_process
        self.backlog = backlog
        self._slots = Slots(slots)
        self._line = AckLine(slots, lambda: self.pending)
        self._tasks: set[asyncio.Task[None]] = set()
        self._maintainer: asyncio.Task[None] | None = None
        self._ticker: asyncio.Task[None] | None = None
        self._firing: set[str] = set()

    @property
    def pending(self) -> int:
        return len(self._tasks)

    # intake ----------------------------------------------------------------------------
    async def admit(self, request: Request) -> Admission:
        """Before the ack: durable, deduplicated, bounded."""
        await self._line.wait_if_full()
        if self.pending >= self.backlog:
            return Admission.BUSY
        if request.key and self.inbox is not None:
            bound = self.service.settings.incident_ack_db_timeout
            try:
                async with asyncio.timeout(bound):
                    accepted = await self.inbox.accept(
                        request.key, request.kind, _verb_of(request), _payload(request)
                    )
            except Exception as exc:
                # The outage is the store's one line (bot/outage.py), not one per request.
                if not unavailable(exc):
                    raise
                if isinstance(exc, TimeoutError) and not str(exc):  # the bound's own
                    exc = TimeoutError(f"no answer within {bound:g} s")
                self.inbox.store.outage.failed(exc)
                metrics.child(metrics.COMMANDS, request.kind, _verb_of(request) or "-", "unavailable").inc()
                return Admission.UNAVAILABLE
            if not accepted:
                log.info("a replayed request was ignored: %s", request.key)
                return Admission.REPLAY
        return Admission.ACCEPTED

    def start(self, request: Request, admission: Admission) -> None:
        """After the ack: the work, in the background, tracked until answered."""
        if admission is Admission.ACCEPTED:
            self._spawn(self.run(request))
        elif admission is Admission.BUSY:
            busy = Failure(
                what="The bot is busy right now and did not run that.",
                next_step="Try again in a moment.",
            )
            self._spawn(self.delivery.say(request.route, busy))
        elif admission is Admission.UNAVAILABLE and request.kind not in ("webhook", "timer"):
            # Where the ack could not carry the answer (a click, a modal, a mention): a slash
            # command's transport puts it in the ack, and does not start it.
            self._spawn(self.delivery.say(request.route, DATABASE_AWAY))

    def _spawn(self, work: Coroutine[object, object, None]) -> None:
        task = asyncio.ensure_future(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def run(self, request: Request, *, resumed: Entry | None = None) -> None:
        """Run and deliver exactly one answer, whatever happens; then mark it done."""
        started = time.perf_counter()
        outcome: Reply | NeedsForm
        try:
            if resumed is not None:
                outcome = await self._resume(request, resumed)
            else:
                outcome = await self._handle(request, forms=request.forms)
        except Exception as exc:  # handle() does not raise; if it ever does, the user still hears
            log_failure(log, exc, "command service raised")
            outcome = Reply(
                result=Failure(what="Something went wrong on our side.", changed="unknown"),
                outcome="error",
            )
        try:
            if isinstance(outcome, NeedsForm):
                verb = registry.lookup(outcome.verb)
                assert verb is not None
                await self.delivery.form(request, verb)
            else:
                resend = _resend(request, resumed)
                await self.delivery.deliver(request.route, outcome, request.key, resend)
        except Exception as exc:
            log_failure(log, exc, "could not deliver the answer to %s", request.key)
        metrics.child(metrics.ANSWER_SECONDS, request.kind).observe(time.perf_counter() - started)
        audit = outcome.audit if isinstance(outcome, Reply) else {}
        metrics.child(
            metrics.COMMANDS,
            request.kind,
            str(audit.get("verb") or (outcome.verb if isinstance(outcome, NeedsForm) else "-")),
            str(audit.get("outcome") or ("form" if isinstance(outcome, NeedsForm) else "-")),
        ).inc()
        # Recorded right after the answer. A crash between the two leaves the row pending:
        # the next start finds the answer it gave (`Resend`) rather than give it twice.
        await self._finish(request, outcome.audit if isinstance(outcome, Reply) else None)
        if isinstance(outcome, Reply) and (outcome.posts or outcome.refresh is not None):
            try:
                await self.delivery.follow(request.route, outcome, request.key)
            except Exception as exc:
                log_failure(log, exc, "could not post or redraw after %s", request.key)

    async def _finish(self, request: Request, audit: dict[str, object] | None) -> None:
        if request.key and self.inbox is not None:
            row = audit_values(audit, self.service.clock.now()) if audit else None
            await self.inbox.finish(request.key, row)
        elif audit:
            await self.service.store.audit.record(**audit)

    async def _handle(self, request: Request, *, forms: bool = False) -> Reply | NeedsForm:
        async with self._slots.take() as slot:
            if request.event is not None:
                # Its card redrawn with what a command's card shows (bot/commands/pulse.py).
                heard = await self.service.notifier.handle(request.event)
                return await dressed(self.service.providers, self.service.timers, heard)
            if request.timer is not None:
                return await self.service.timers.fire(request.timer)
            return await self.service.handle(
                request.invocation, request.parsed, forms=forms, waiting=slot.given_back, key=request.key
            )

    # after a restart -------------------------------------------------------------------
    async def _resume(self, request: Request, entry: Entry) -> Reply | NeedsForm:
        """Run it again only where that is provably safe; otherwise say what is known."""
        verb = registry.lookup(entry.verb or "")
        if verb is None or not verb.writes or verb.same_twice:
            return await self._handle(request)
        provider = await self.service.provider_for(request.invocation, request.parsed)
        if provider is not None and verb.capability in provider.replay_safe:
            return await self._handle(request)  # its write carries this request's key: made once
        text = request.invocation.text or verb.name
        if entry.applied:
            result = Restarted(command=self.service.command, text=text, changed="yes")
            return Reply(result=result, audit=_audit(request, verb, "resumed"))
        if provider is not None and provider.records_applied:
            # That provider marks the change applied in the change's own transaction: not
            # marked, it did not happen, and doing it now does it once.
            return await self._handle(request)
        result = Restarted(command=self.service.command, text=text, changed="unknown")
        return Reply(result=result, outcome="unknown", audit=_audit(request, verb, "unknown"))

    async def recover(self, *, all_pending: bool = False) -> int:
        """Take over what a stopped process left unanswered, and answer each."""
        if self.inbox is None:
            return 0
        entries = await self.inbox.claim_orphans(all_pending=all_pending)
        for entry in entries:
            try:
                request = _request(entry.payload)
            except Exception:
                log.exception("could not read the unanswered request %s; marked done", entry.key)
                await self.inbox.finish(entry.key, None)
                continue
            log.info("answering %s, left unanswered by a stopped process", entry.key)
            self._spawn(self.run(request, resumed=entry))
        return len(entries)

    # timers ----------------------------------------------------------------------------
    async def tick(self) -> int:
        """Admit every timer that is due: the inbox row `timer:<key>@<due>` is the claim, so
        of several processes one fires it, once; the firing moves the timer on."""
        started = 0
        for timer in await self.service.timers.due():
            if timer.firing in self._firing:
                continue  # still firing here (no inbox to tell)
            request = Request(
                key=timer.firing,
                kind="timer",
                invocation=Invocation(text=timer.kind, user_id="timer", channel_id=""),
                route=Route(team_id="", channel_id="", user_id="timer"),
                timer=timer,
            )
            if await self.admit(request) is Admission.ACCEPTED:
                self._firing.add(timer.firing)
                self._spawn(self._fire(request))
                started += 1
        return started

    async def _fire(self, request: Request) -> None:
        try:
            await self.run(request)
        finally:
            self._firing.discard(request.key or "")

    async def _tick(self) -> None:
        every = self.service.settings.incident_timer_tick
        while True:
            try:
                await self.tick()
                metrics.TIMER_TICKS.inc()
            except Exception as exc:
                if not unavailable(exc):  # an outage is the store's one line
                    log.exception("looking for due reminders failed; trying again in %.0f s", every)
            await asyncio.sleep(every)

    # lifetime --------------------------------------------------------------------------
    async def open(self) -> None:
        metrics.track_backlog(lambda: self.pending)
        if self.service.settings.incident_timer_tick > 0:
            self._ticker = asyncio.create_task(self._tick())
        if self.inbox is None:
            return
        await self.recover(all_pending=self.single_process)
        self._maintainer = asyncio.create_task(self._maintain())

    async def _maintain(self) -> None:
        assert self.inbox is not None
        every = max(self.inbox.lease.total_seconds() / 3, 0.2)
        rounds = 0
        while True:
            await asyncio.sleep(every)
            try:
                await self.inbox.renew()
                await self.recover()
                rounds += 1
                if rounds % 1000 == 1:
                    await self.inbox.prune(KEEP_ANSWERED)
            except Exception as exc:
                if not unavailable(exc):  # an outage is the store's one line
                    log.exception("inbox upkeep failed; trying again in %.0f s", every)

    async def idle(self) -> None:
        """Until every request taken so far (and any it started) has been answered."""
        while self._tasks:
            await asyncio.wait(set(self._tasks))

    async def close(self, seconds: float) -> None:
        """Stop taking over, and give running requests `seconds` to be answered; what is
        still running then stays pending in the inbox for the next start."""
        for task in (self._maintainer, self._ticker):
            if task is not None:
                task.cancel()
                await asyncio.gather(task, return_exceptions=True)
        self._maintainer = self._ticker = None
        if self._tasks:
            _done, running = await asyncio.wait(set(self._tasks), timeout=seconds)
            if running:
                log.warning("stopping with %d requests unanswered: the next start answers them", len(running))
        if self.inbox is not None:
            await self.inbox.close(min(seconds, 2.0))


def _payload(request: Request) -> dict[str, object]:
    """The request as JSON, enough to run it again: pydantic's own dump (a slash command's
    is plain), and a typed encoding of a click's or a modal's parsed command (its values
    are times, spans and people)."""
    plain = request.model_dump(mode="json", exclude={"parsed"})
    return {"request": plain, "parsed": encode(request.parsed) if request.parsed else None}


def _request(payload: dict[str, object]) -> Request:
    request = Request.model_validate(payload["request"])
    request.parsed = decode(payload["parsed"]) if payload.get("parsed") else None
    return request


def _resend(request: Request, resumed: Entry | None) -> Resend | None:
    if resumed is None:
        return None
    return Resend(key=resumed.key, since=resumed.created_at, replaceable=request.kind == "command")


def _verb_of(request: Request) -> str | None:
    if request.kind in ("timer", "webhook"):
        return None
    if request.parsed is not None:
        return request.parsed.verb
    verb, _ = registry.read_verb(request.invocation.text)  # as the parser reads it
    return verb.name if verb else None


def _audit(request: Request, verb: Verb, outcome: str) -> dict[str, object]:
    return {
        "team_id": request.invocation.team_id,
        "channel_id": request.invocation.channel_id,
        "user_id": request.invocation.user_id,
        "verb": verb.name,
        "arguments": request.invocation.text,
        "outcome": outcome,
        "duration_ms": 0.0,
    }
