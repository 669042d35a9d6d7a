"""What the bot says later, unasked: update reminders, follow-up nudges, on-call handovers,
and each incident's line in the announcement channel.

Timers live in the store (bot/store/timers.py), so they survive restarts. Firing one is a
request like any other: the pipeline admits `timer:<key>@<due>` to the durable inbox,
and only the process whose insert wins runs it, so several processes fire each timer
once; the firing moves the timer on (or removes it). Every firing reads the incident
again: a reminder for an incident resolved meanwhile, or updated meanwhile, says nothing.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from bot.clock import Clock
from bot.commands.changes import Change
from bot.commands.fresh import FreshIncidents
from bot.commands.privacy import private_key
from bot.commands.registry import Verb
from bot.commands.results import (
    Announcement,
    Changed,
    Handover,
    Nudge,
    Post,
    Quiet,
    Reminder,
    Reply,
    Result,
    UpdatePosted,
)
from bot.config import Settings, severity_key
from bot.domain import Capability, FollowUp, Incident, NotFound, Person, ProviderError, TimelineEntry
from bot.providers.base import Provider
from bot.store.db import Store
from bot.store.timers import Timer, TimerStore

log = logging.getLogger(__name__)
REMIND, NUDGE, HANDOVER = "remind", "nudge", "handover"
# The latest update, for the card: kept beside the timers (one row per incident, read with
# its reminder) but never due, as it says nothing later.
LATEST = "latest"
NEVER = datetime(9999, 12, 31, tzinfo=UTC)
NUDGE_EVERY = timedelta(days=1)
HANDOVER_POLL = timedelta(minutes=5)  # overrides change who is on call between handovers
RETRY = timedelta(minutes=5)  # the provider did not answer: look again then
SNOOZE_REMINDERS = timedelta(hours=1)
SNOOZE_NUDGES = timedelta(days=7)


def reminder_key(provider: str, incident_id: str) -> str:
    return f"{REMIND}:{provider}:{incident_id}"


def nudge_key(provider: str, incident_id: str, number: int) -> str:
    return f"{NUDGE}:{provider}:{incident_id}:{number}"


def latest_key(provider: str, incident_id: str) -> str:
    return f"{LATEST}:{provider}:{incident_id}"


def handover_key(provider: str, schedule: str) -> str:
    return f"{HANDOVER}:{provider}:{schedule}"


def announce_key(provider: str, incident_id: str) -> str:
    return f"announce:{provider}:{incident_id}"


def channel_id_of(typed: str, here: str) -> str | None:
    """`<#C123|sre>` (Slack's escaped mention), `C123`, or `here`: a channel id."""
    if typed.lower() == "here":
        return here
    found = re.fullmatch(r"<#([CG][A-Z0-9]+)(?:\|[^>]*)?>|([CG][A-Z0-9]{6,})", typed.strip())
    return (found[1] or found[2]) if found else None


def _at(value: Any) -> datetime | None:
    return datetime.fromisoformat(value) if isinstance(value, str) else None


class Timers:
    def __init__(
        self,
        settings: Settings,
        store: Store,
        providers: dict[str, Provider],
        fresh: FreshIncidents,
        clock: Clock,
    ) -> None:
        """What a timer needs, and no more: not the command service that built it, so a
        reminder can't reach back into the command path."""
        self.providers, self.fresh, self.links = providers, fresh, store.links
        self.kept = store.kept  # what the card links besides (a status page incident: pulse.py)
        self.command = settings.incident_command
        self.store = TimerStore(store, shared=True)
        self.clock = clock  # the runtime's (bot/clock.py): what is due is due by the store's dates
        self.spans = settings.reminders()
        self.announce_channel = settings.incident_announce_channel
        self.pages = store.pages  # the pages the bot sent: on the card (bot/commands/pulse.py)
        # Kinds fired by the module that arms them (a built-in page's re-page, in
        # bot/commands/ringing.py), registered by the service that builds both.
        self.kinds: dict[str, Callable[[Timer, Provider, datetime], Awaitable[Reply]]] = {}

    def span(self, incident: Incident) -> timedelta | None:
        return self.spans.get(severity_key(incident.severity))

    # arming: after a change the bot made or heard of ---------------------------------------
    async def changed(self, incident: Incident, *, updated: bool = False) -> None:
        """The incident as it now is; `updated`: someone just posted an update."""
        try:
            await self._arm_reminder(incident, updated)
            await self._arm_nudges(incident)
        except Exception:  # a reminder is a convenience: never fail the command for it
            log.exception("could not set the reminders of %s", incident.reference)

    async def _arm_reminder(self, incident: Incident, updated: bool) -> None:
        key = reminder_key(incident.provider, incident.id)
        span = self.span(incident)
        existing = await self.store.get(key)
        if incident.closed or span is None:
            if existing is not None:
                await self.store.cancel(key)
            return
        at = self.clock.now()
        payload = dict(existing.payload) if existing else {}
        if updated or existing is None:
            payload["last_update"] = at.isoformat()
        payload |= {"provider": incident.provider, "incident_id": incident.id}
        due = self._reminder_due(payload, span)
        if existing is None or existing.due_at != due or existing.payload != payload:
            await self.store.set(Timer(key=key, kind=REMIND, due_at=due, payload=payload))

    @staticmethod
    def _reminder_due(payload: dict[str, Any], span: timedelta) -> datetime:
        due = _quiet_since(payload) + span
        snoozed = _at(payload.get("snoozed_until"))
        return max(due, snoozed) if snoozed else due

    async def _arm_nudges(self, incident: Incident) -> None:
        for item in incident.followups:
            if item.state != "open" or item.due is None or not (item.assignee and item.assignee.slack_id):
                continue
            key = nudge_key(incident.provider, incident.id, item.number)
            existing = await self.store.get(key)
            if existing is not None and existing.payload.get("due") == item.due.isoformat():
                continue  # known, and perhaps snoozed: leave it
            payload = {
                "provider": incident.provider,
                "incident_id": incident.id,
                "number": item.number,
                "owner": item.assignee.slack_id,
                "due": item.due.isoformat(),
            }
            await self.store.set(Timer(key=key, kind=NUDGE, due_at=item.due, payload=payload))

    async def followed(self, change: Change) -> list[Post]:
        """A follower of the bot's own changes (bot/commands/changes.py)."""
        if change.incident is None:
            return []
        return await self.after_command(change.verb, change.reply.result, change.incident)

    async def after_command(self, verb: Verb, result: Result, incident: Incident) -> list[Post]:
        """What a change made through the bot sets going: reminders re-armed, nudges set,
        and the announcement line's posts."""
        added = getattr(result, "followup", None)
        if isinstance(added, FollowUp) and all(f.number != added.number for f in incident.followups):
            incident = incident.model_copy(update={"followups": [*incident.followups, added]})
        await self.changed(incident, updated=verb.counts_as_update)
        if isinstance(result, UpdatePosted):
            await self.updated(incident, result.text, result.actor)
        elif isinstance(result, Changed) and result.note:  # `resolve rolled back`: words for all
            await self.updated(incident, result.note, result.actor)
        if verb.creates_incident:
            if getattr(result, "private", False):
                # Its name is for those invited: never in the announcement channel.
                # Its private channel kept with the mark: whose members may see it (privacy.py).
                channel_id = getattr(result, "channel_id", None) or ""
                await self.store.set_anchor(private_key(incident.provider, incident.id), channel_id, "")
            return await self.announcements(
                incident, new=True, channel_id=getattr(result, "channel_id", None)
            )
        if verb.capability in (Capability.STATUS, Capability.SEVERITY):
            return await self.announcements(incident, new=False)
        return []

    async def updated(self, incident: Incident, text: str, author: Person | None) -> None:
        """An update was posted (through the bot, or heard of from the provider): the card
        shows it first to whoever opens the channel."""
        entry = TimelineEntry(at=self.clock.now(), kind="update", text=text[:2000], author=author)
        try:
            await self.store.set(
                Timer(
                    key=latest_key(incident.provider, incident.id),
                    kind=LATEST,
                    due_at=NEVER,
                    payload=entry.model_dump(mode="json"),
                )
            )
        except Exception:  # the card's convenience: never fail the command for it
            log.exception("could not keep the latest update of %s", incident.reference)

    async def latest(self, incident: Incident) -> tuple[TimelineEntry | None, datetime | None]:
        """The latest update known, and when the next is due (the reminder's time)."""
        kept = await self.store.get(latest_key(incident.provider, incident.id))
        reminder = await self.store.get(reminder_key(incident.provider, incident.id))
        entry = TimelineEntry.model_validate(kept.payload) if kept is not None else None
        return entry, (reminder.due_at if reminder is not None and not incident.closed else None)

    # by hand ---------------------------------------------------------------------------
    async def snooze(self, provider: str, incident_id: str, until: datetime, number: int | None) -> bool:
        """Quiet the incident's reminders (or one follow-up's nudges) until then."""
        key = (
            reminder_key(provider, incident_id)
            if number is None
            else nudge_key(provider, incident_id, number)
        )
        timer = await self.store.get(key)
        if timer is None:
            return False
        payload = timer.payload | {"snoozed_until": until.isoformat()}
        due = until if number is not None else max(until, timer.due_at)
        await self.store.set(Timer(key=key, kind=timer.kind, due_at=due, payload=payload))
        return True

    async def watch_schedule(
        self, provider: str, schedule: str, channel_id: str | None, team_id: str
    ) -> None:
        key = handover_key(provider, schedule)
        if channel_id is None:
            await self.store.cancel(key)
            return
        payload = {"provider": provider, "schedule": schedule, "channel_id": channel_id, "team_id": team_id}
        await self.store.set(Timer(key=key, kind=HANDOVER, due_at=self.clock.now(), payload=payload))

    # firing ----------------------------------------------------------------------------
    async def due(self) -> list[Timer]:
        return await self.store.due(self.clock.now())

    async def fire(self, timer: Timer) -> Reply:
        """One timer at one due time (admitted once, by one process)."""
        current = await self.store.get(timer.key, fresh=True)
        at = self.clock.now()
        if current is None or current.due_at != timer.due_at:
            return quiet_timer(timer, "moved")  # snoozed, re-armed or cancelled since it was read
        provider = self.providers.get(str(current.payload.get("provider")))
        if provider is None:
            await self.store.cancel(timer.key)
            return quiet_timer(timer, "no provider")
        try:
            if current.kind == REMIND:
                return await self._remind(current, provider, at)
            if current.kind == NUDGE:
                return await self._nudge(current, provider, at)
            if current.kind == HANDOVER:
                return await self._handover(current, provider, at)
            if current.kind in self.kinds:
                return await self.kinds[current.kind](current, provider, at)
        except NotFound:
            await self.store.cancel(timer.key)
            return quiet_timer(timer, "gone")
        except ProviderError as exc:
            log.warning(
                "%s: %s did not answer (%s); trying again later", timer.key, provider.label, exc.message
            )
            await self.store.set(current.model_copy(update={"due_at": at + RETRY}))
            return quiet_timer(timer, "failed")
        await self.store.cancel(timer.key)
        return quiet_timer(timer, "unknown kind")

    async def _remind(self, timer: Timer, provider: Any, at: datetime) -> Reply:
        incident: Incident = await self.fresh.get(provider, timer.payload["incident_id"])
        span = self.span(incident)
        if incident.closed or span is None:
            await self.store.cancel(timer.key)
            return quiet_timer(timer, "over")
        payload = dict(timer.payload)
        due = self._reminder_due(payload, span)
        if due > at:  # an update came, or the severity changed: later
            await self.store.set(timer.model_copy(update={"due_at": due}))
            return quiet_timer(timer, "later")
        quiet_since = _quiet_since(payload)
        payload["reminded_at"] = at.isoformat()
        await self.store.set(Timer(key=timer.key, kind=REMIND, due_at=at + span, payload=payload))
        links = await self.links.channels_for(incident.provider, incident.id)
        said = Reminder(
            incident=incident,
            quiet_for=(at - quiet_since).total_seconds(),
            every=span.total_seconds(),
            command=self.command,
        )
        posts = [Post(channel_id=link.channel_id, result=said) for link in links]
        outcome = "posted" if posts else "no channel"
        return Reply(result=Quiet(), posts=posts, audit=timer_audit(timer, outcome))

    async def _nudge(self, timer: Timer, provider: Any, at: datetime) -> Reply:
        incident: Incident = await self.fresh.get(provider, timer.payload["incident_id"])
        item = next((f for f in incident.followups if f.number == timer.payload.get("number")), None)
        if item is None or item.state != "open":
            await self.store.cancel(timer.key)
            return quiet_timer(timer, "done")
        snoozed = _at(timer.payload.get("snoozed_until"))
        later = max(t for t in (item.due, snoozed, at) if t)
        if later > at:
            await self.store.set(timer.model_copy(update={"due_at": later}))
            return quiet_timer(timer, "later")
        owner = (item.assignee.slack_id if item.assignee else None) or timer.payload.get("owner")
        await self.store.set(timer.model_copy(update={"due_at": at + NUDGE_EVERY}))
        if not owner:
            return quiet_timer(timer, "no owner")
        said = Nudge(incident=incident, followup=item, command=self.command, at=at)
        return Reply(
            result=Quiet(), posts=[Post(channel_id=owner, result=said)], audit=timer_audit(timer, "posted")
        )

    async def _handover(self, timer: Timer, provider: Any, at: datetime) -> Reply:
        schedule = str(timer.payload["schedule"])
        entries = await provider.oncall(schedule, at)
        entry = entries[0] if entries else None
        person: Person | None = entry.person if entry else None
        until = entry.until if entry else None
        payload = dict(timer.payload)
        before = Person.model_validate(payload["last"]) if payload.get("last") else None
        known = "last" in payload
        payload["last"] = person.model_dump() if person else None
        due = min(until, at + HANDOVER_POLL) if until and until > at else at + HANDOVER_POLL
        await self.store.set(Timer(key=timer.key, kind=HANDOVER, due_at=due, payload=payload))
        if not known or _same(before, person):
            return quiet_timer(timer, "unchanged")
        said = Handover(schedule=schedule, person=person, before=before, until=until, at=at)
        post = Post(channel_id=str(payload["channel_id"]), result=said)
        return Reply(result=Quiet(), posts=[post], audit=timer_audit(timer, "posted"))

    # announcements ---------------------------------------------------------------------
    async def announcements(
        self, incident: Incident, *, new: bool, channel_id: str | None = None
    ) -> list[Post]:
        """`announce`, except for an incident declared private."""
        if not self.announce_channel or await self.store.anchor(private_key(incident.provider, incident.id)):
            return []
        return self.announce(incident, new=new, channel_id=channel_id)

    def announce(self, incident: Incident, *, new: bool, channel_id: str | None = None) -> list[Post]:
        """The incident's line in the announcement channel: posted when it is declared or
        becomes one of the reminded severities (SEV1/SEV2 by default), else redrawn."""
        if not self.announce_channel:
            return []
        major = self.span(incident) is not None and not incident.closed
        said = Announcement(incident=incident, channel_id=channel_id or incident.channel_id)
        return [
            Post(
                channel_id=self.announce_channel,
                result=said,
                anchor=announce_key(incident.provider, incident.id),
                only_update=not (new or major),
            )
        ]


def _quiet_since(payload: dict[str, Any]) -> datetime:
    """The last update, or the last reminder if one came after it."""
    return max(t for t in (_at(payload.get("last_update")), _at(payload.get("reminded_at"))) if t)


def _same(a: Person | None, b: Person | None) -> bool:
    if a is None or b is None:
        return a is b
    return (a.slack_id or a.name) == (b.slack_id or b.name)


def quiet_timer(timer: Timer, outcome: str) -> Reply:
    return Reply(result=Quiet(), outcome=outcome, audit=timer_audit(timer, outcome))


def timer_audit(timer: Timer, outcome: str) -> dict[str, object]:
    return {
        "team_id": None,
        "channel_id": None,
        "user_id": "timer",
        "verb": None,
        "arguments": f"{timer.kind} {timer.key}",
        "provider": timer.payload.get("provider"),
        "incident": timer.payload.get("incident_id"),
        "outcome": outcome,
        "duration_ms": 0.0,
    }
