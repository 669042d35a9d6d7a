"""What a provider's webhook does in the incident's channel: the card redrawn with the
incident as it is now, and one short notice of what changed, by whom, where.

Events arrive out of order and twice, and private incidents at incident.io send only an
id: so the incident is always read again from the provider, and the notice says what
differs from the state this process last knew (from its own writes, its last event,
its cards). A change the bot itself just made is already known: the card is redrawn and
no second message is posted. An older event finds nothing new, so it posts nothing and
the card shows the provider's current state.
"""

from __future__ import annotations

import logging
import time

from bot.commands.archive import Archiver
from bot.commands.changes import Change
from bot.commands.fresh import FreshIncidents
from bot.commands.results import Notice, Post, Quiet, Reply
from bot.commands.timers import Timers
from bot.domain import Incident, Person, ProviderError, ProviderEvent
from bot.providers.base import Provider
from bot.providers.facets import offered
from bot.store.db import Store
from bot.store.pages import PAGED

log = logging.getLogger(__name__)
OWN_WRITE_SECONDS = 120.0  # a webhook for the bot's own change comes well within this
ADDITIONS = {"followup": "new follow-up", "task": "new task", "update": "update", "responder": "paged"}


class Notifier:
    def __init__(
        self,
        store: Store,
        providers: dict[str, Provider],
        fresh: FreshIncidents,
        timers: Timers,
        archiver: Archiver | None = None,
    ) -> None:
        """Narrow on purpose: a notice reads the incident and tells its channels, and never
        reaches back into the command service."""
        self.providers, self.fresh, self.timers, self.links = providers, fresh, timers, store.links
        self.archiver = archiver  # resolved or reopened at the provider: the channel's archive follows
        self.known: dict[tuple[str, str], Incident] = {}
        self._own: dict[tuple[str, str], list[tuple[str, float]]] = {}

    def saw(self, incident: Incident) -> None:
        """The incident as a change of the bot's own (or the last event) left it."""
        key = (incident.provider, incident.id)
        before = self.known.get(key)
        if before is None or not _older(incident, before):
            self.known[key] = incident
        if len(self.known) > 10_000:
            self.known.pop(next(iter(self.known)))

    async def followed(self, change: Change) -> list[Post]:
        """A follower of the bot's own changes (bot/commands/changes.py): what it added
        (a title, an update's text) is noted, so its webhook is not told as news."""
        for added in ("title", "text"):
            if isinstance(change.parsed.args.get(added), str):
                self.wrote(change.provider.name, change.incident_id, change.parsed.args[added])
        return []

    def wrote(self, provider: str, incident_id: str, text: str) -> None:
        """Something the bot added itself (a follow-up, a task, an update): its webhook
        must not be announced as news."""
        now = time.monotonic()
        own = [
            (t, at) for t, at in self._own.get((provider, incident_id), []) if now - at < OWN_WRITE_SECONDS
        ]
        self._own[(provider, incident_id)] = [*own, (_norm(text), now)]

    def _ours(self, event: ProviderEvent) -> bool:
        now = time.monotonic()
        own = self._own.get((event.provider, event.incident_id or ""), [])
        return any(now - at < OWN_WRITE_SECONDS and text == _norm(event.detail or "") for text, at in own)

    async def handle(self, event: ProviderEvent) -> Reply:
        quiet = Reply(result=Quiet(), outcome="ignored", audit=_audit(event, "ignored"))
        provider = self.providers.get(event.provider)
        if provider is None or event.incident_id is None:
            return quiet
        channels = [
            link.channel_id for link in await self.links.channels_for(provider.name, event.incident_id)
        ]
        if not channels and event.channel_id:
            channels = [event.channel_id]  # not linked here, but the event names its channel
        if not channels:
            return Reply(result=Quiet(), outcome="no channel", audit=_audit(event, "no channel"))
        try:
            # Whatever this process reused of it is behind the event: read it now.
            self.fresh.forget(provider.name, event.incident_id)
            incident = await self.fresh.get(provider, event.incident_id)
        except ProviderError as exc:
            log.warning(
                "could not read %s at %s after its webhook: %s",
                event.incident_id,
                provider.label,
                exc.message,
            )
            return Reply(result=Quiet(), outcome="failed", audit=_audit(event, "failed"))
        key = (incident.provider, incident.id)
        before = self.known.get(key)
        self.saw(incident)
        changes = _changes(before, incident) if before is not None else _from_event(event)
        own_page = await self._page_news(event)
        if event.kind in ADDITIONS and event.detail and not self._ours(event) and not own_page:
            changes.append(f"{ADDITIONS[event.kind]}: {event.detail}")
        reply = Reply(
            result=Quiet(),
            refresh=incident,
            capabilities=sorted(offered(provider)),
            audit=_audit(event, "posted" if changes else "redrawn"),
        )
        if changes:
            notice = Notice(
                incident=incident, provider_label=provider.label, changes=changes, actor=event.actor
            )
            reply.posts = [Post(channel_id=channel, result=notice) for channel in channels]
        # Changed outside Slack: reminders count an update from anywhere, and the
        # announcement follows (a `created` event announces an incident declared there).
        await self.timers.changed(incident, updated=event.kind == "update")
        if self.archiver is not None:
            reply.posts += await self.archiver.changed(incident)
        if event.kind == "update" and event.detail and not self._ours(event):
            author = Person(slack_id="", name=event.actor) if event.actor else None
            await self.timers.updated(incident, event.detail, author)
        if changes or event.kind == "created":
            reply.posts += await self.timers.announcements(
                incident, new=event.kind == "created", channel_id=channels[0]
            )
        return reply

    async def _page_news(self, event: ProviderEvent) -> bool:
        """A page the bot sent, as the provider's webhook tells it: the card's record moved
        (whom it reached, their answer). True where it is only the bot's own request coming
        back (PagerDuty's `incident.responder.added`): the channel heard of it when it went."""
        news = event.page
        if news is None or event.incident_id is None:
            return False
        try:
            records = await self.timers.pages.of_incident(event.provider, event.incident_id)
            found = next(
                (
                    r
                    for r in records
                    if (news.page_id and r.external_id == news.page_id) or set(news.ids) & set(r.answers_to)
                ),
                None,
            )
            if found is None:
                return False
            now = self.timers.clock.now()
            # A person paged by their Slack mention stays one; a policy's is known by name.
            known = found.person is not None and bool(found.person.slack_id)
            person = Person(slack_id="", name=news.who) if news.who and not known else None
            if news.state == PAGED:
                if person is not None:
                    await self.timers.pages.with_person(found.id, person)
                return found.open and (now - found.paged_at).total_seconds() < OWN_WRITE_SECONDS
            at = event.occurred_at or now
            await self.timers.pages.answered(found.id, news.state, person, at, late=True)
        except Exception:  # the card's convenience: the notice is told whatever happens here
            log.exception("could not record what %s said of a page", event.provider)
        return False


def _changes(before: Incident, now: Incident) -> list[str]:
    if _older(now, before):
        return []
    changes = []
    if now.status != before.status:
        changes.append(f"status: {before.status} → {now.status}")
    if now.severity != before.severity:
        changes.append(f"severity: {before.severity or 'none'} → {now.severity or 'none'}")
    for role, person in now.roles.items():
        old = before.roles.get(role)
        if (
            old is None
            or old.slack_id != person.slack_id
            or (not person.slack_id and old.name != person.name)
        ):
            changes.append(f"{role}: {person.name or person.slack_id}")
    return changes


def _from_event(event: ProviderEvent) -> list[str]:
    """Nothing known before (the first event since a start): what the event itself says."""
    if event.kind in ("status", "severity", "assignee") and event.detail:
        return [f"{event.kind}: {event.detail}"]
    if event.kind == "created":
        return ["declared"]
    return []


def _older(incident: Incident, than: Incident) -> bool:
    return bool(incident.updated_at and than.updated_at and incident.updated_at < than.updated_at)


def _norm(text: str) -> str:
    return " ".join(text.lower().split())


def _audit(event: ProviderEvent, outcome: str) -> dict[str, object]:
    return {
        "team_id": None,
        "channel_id": event.channel_id,
        "user_id": f"webhook:{event.provider}",
        "verb": None,
        "arguments": f"{event.event_type} {event.delivery_id}",
        "provider": event.provider,
        "incident": event.incident_id,
        "outcome": outcome,
        "duration_ms": 0.0,
    }
