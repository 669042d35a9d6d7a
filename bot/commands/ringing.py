"""The built-in provider's pages, rung by the bot itself: a DM with an Acknowledge button,
the same person paged again when nobody acknowledged within `INCIDENT_PAGE_TIMEOUT`, then
the next person of the rotation, until someone acknowledges or everyone was tried.

Each step is a durable timer (bot/commands/timers.py, kind `repage`), so a restart loses
no pending re-page, and it fires once across processes. The page's record (bot/store/pages.py)
is what every step reads first: a page acknowledged meanwhile rings nobody. The DMs are
posts kept by anchor, so an answer redraws each of them in place ("Acknowledged").
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any

from bot.clock import Clock
from bot.commands.invites import bring_in
from bot.commands.ports import Workspace, WorkspaceError
from bot.commands.pulse import dressed
from bot.commands.results import PageAnswered, PageMoved, PageRing, Post, Quiet, Reply
from bot.commands.timers import Timers, quiet_timer, timer_audit
from bot.config import Settings
from bot.domain import Incident, Person
from bot.providers.base import Provider
from bot.providers.facets import offered
from bot.store.db import Store
from bot.store.pages import ACKNOWLEDGED, UNANSWERED, PageRecord
from bot.store.timers import Timer

log = logging.getLogger(__name__)
REPAGE = "repage"  # the timer kind
RINGS = 2  # DMs to one person before the next is paged: the first, and once again


def repage_key(provider: str, incident_id: str, page_id: int) -> str:
    return f"{REPAGE}:{provider}:{incident_id}:{page_id}"


def dm_anchor(page_id: int, person_id: str, ring: int) -> str:
    """One DM of a page: each ring is its own message (a new one notifies; a redraw does not)."""
    return f"pagedm:{page_id}:{person_id}:{ring}"


class Ringer:
    def __init__(
        self, settings: Settings, store: Store, workspace: Workspace, timers: Timers, clock: Clock
    ) -> None:
        """Nothing kept of its own: built where it is needed, over the runtime's timers
        (their store is the one the anchors and timers of this process are kept in)."""
        self.pages, self.links = store.pages, store.links
        self.workspace, self.timers, self.clock = workspace, timers, clock
        self.timeout = timedelta(seconds=settings.incident_page_timeout)

    # the first ring ----------------------------------------------------------------------
    async def start(
        self,
        incident: Incident,
        page: PageRecord,
        people: list[Person],
        actor: Person,
        message: str | None,
    ) -> list[Post]:
        """DM each person paged, and set the re-page going."""
        ids = [p.slack_id for p in people if p.slack_id]
        person = people[0] if len(people) == 1 else None
        rung = await self.pages.rang(page.id, person or Person(slack_id=""), 1, ids)
        if rung is None:
            return []
        channel = await self._channel(incident)
        payload = {
            "provider": incident.provider,
            "incident_id": incident.id,
            "page_id": page.id,
            "ringing": [p.model_dump() for p in people if p.slack_id],
            "actor": actor.model_dump(),
            "message": message,
        }
        await self._arm(incident.provider, incident.id, page.id, payload)
        return [self._dm(incident, rung, p, 1, channel, actor, message) for p in people if p.slack_id]

    # a timer firing ----------------------------------------------------------------------
    async def fire(self, timer: Timer, provider: Provider, at: datetime) -> Reply:
        """No answer within the timeout: the same people once more, then the next person of
        the rotation (invited to the channel too), then the channel is told nobody answered."""
        payload = dict(timer.payload)
        page = await self.pages.get(int(payload["page_id"]))
        if page is None or not page.open:
            await self.timers.store.cancel(timer.key)
            return quiet_timer(timer, "answered")
        incident = await self.timers.fresh.get(provider, page.incident_id)
        ringing = [Person.model_validate(p) for p in payload.get("ringing") or []]
        if incident.closed or not ringing:
            await self.timers.store.cancel(timer.key)
            await self.pages.answered(page.id, UNANSWERED, None, at)
            return quiet_timer(timer, "over")
        actor = Person.model_validate(payload["actor"]) if payload.get("actor") else None
        message = payload.get("message")
        channel = await self._channel(incident)
        channels = [link.channel_id for link in await self.links.channels_for(provider.name, incident.id)]
        waited = page.rings * self.timeout.total_seconds()  # since this person was first paged
        posts: list[Post] = []
        if page.rings < RINGS:
            ring = page.rings + 1
            person = ringing[0] if len(ringing) == 1 else None
            rung = await self.pages.rang(page.id, person or Person(slack_id=""), ring, page.tried)
            if rung is None:
                await self.timers.store.cancel(timer.key)
                return quiet_timer(timer, "answered")
            posts += [self._dm(incident, rung, p, ring, channel, actor, message) for p in ringing]
            await self._arm(provider.name, incident.id, page.id, payload)
            said = PageMoved(reference=incident.reference, person=ringing[0], next=ringing[0], waited=waited)
            posts += [Post(channel_id=c, result=said) for c in channels]
            return await self._told(posts, incident, provider, timer_audit(timer, "paged again"))
        following = await self._next(provider, page)
        # The DMs that went unanswered say so, and lose their button's urgency.
        moved = "moved" if following is not None else "unanswered"
        for person in ringing:
            for ring in range(1, page.rings + 1):
                redraw = self._ring(incident, page, ring, channel, actor, message, state=moved)
                posts.append(
                    Post(
                        channel_id=person.slack_id,
                        result=redraw,
                        anchor=dm_anchor(page.id, person.slack_id, ring),
                        only_update=True,
                    )
                )
        if following is None:
            await self.timers.store.cancel(timer.key)
            await self.pages.answered(page.id, UNANSWERED, None, at)
            said = PageMoved(reference=incident.reference, person=ringing[0], via=page.via, waited=waited)
            posts += [Post(channel_id=c, result=said) for c in channels]
            return await self._told(posts, incident, provider, timer_audit(timer, "unanswered"))
        rung = await self.pages.rang(page.id, following, 1, [*page.tried, following.slack_id], moved=True)
        if rung is None:
            await self.timers.store.cancel(timer.key)
            return quiet_timer(timer, "answered")
        payload["ringing"] = [following.model_dump()]
        await self._arm(provider.name, incident.id, page.id, payload)
        posts.append(self._dm(incident, rung, following, 1, channel, actor, message))
        await self._invite(channels, following)
        said = PageMoved(
            reference=incident.reference, person=ringing[0], next=following, via=page.via, waited=waited
        )
        posts += [Post(channel_id=c, result=said) for c in channels]
        return await self._told(posts, incident, provider, timer_audit(timer, "next person"))

    async def _told(
        self, posts: list[Post], incident: Incident, provider: Provider, audit: dict[str, object]
    ) -> Reply:
        """The posts of a step, and the card redrawn with where the page now stands (given
        what every card shows, as a command's reply is)."""
        reply = Reply(
            result=Quiet(),
            posts=posts,
            refresh=incident,
            capabilities=sorted(offered(provider)),
            audit=audit,
        )
        return await dressed(self.timers.providers, self.timers, reply)

    async def _next(self, provider: Provider, page: PageRecord) -> Person | None:
        """The person after the last one tried, in the rotation's order, not tried yet."""
        if page.via is None:
            return None
        schedule = next((s for s in await provider.schedules() if s.name == page.via), None)
        if schedule is None or not schedule.users:
            return None
        order = [u for u in schedule.users if u.slack_id]
        last = page.tried[-1] if page.tried else None
        start = next((n + 1 for n, u in enumerate(order) if u.slack_id == last), 0)
        for person in order[start:] + order[:start]:
            if person.slack_id not in page.tried:
                return person
        return None

    # an answer ---------------------------------------------------------------------------
    async def acknowledge(
        self, incident: Incident, page: PageRecord, person: Person, here: str
    ) -> Reply | None:
        """The page answered by `person`: re-pages stop, the channel is told, every DM of
        it redrawn. None: it was answered already (a second click, another process)."""
        at = self.clock.now()
        done = await self.pages.answered(page.id, ACKNOWLEDGED, person, at, late=True)
        if done is None:
            return None
        await self.timers.store.cancel(repage_key(incident.provider, incident.id, page.id))
        channels = [link.channel_id for link in await self.links.channels_for(incident.provider, incident.id)]
        said = PageAnswered(
            incident=incident, reference=incident.reference, person=person, paged_at=page.paged_at, at=at
        )
        posts = [Post(channel_id=c, result=said) for c in channels if c != here]
        channel = await self._channel(incident)
        for someone in done.tried:
            for ring in range(1, RINGS + 1):
                redraw = self._ring(incident, done, ring, channel, None, None, state=ACKNOWLEDGED)
                redraw.by, redraw.at = person, at
                posts.append(
                    Post(
                        channel_id=someone,
                        result=redraw,
                        anchor=dm_anchor(page.id, someone, ring),
                        only_update=True,
                    )
                )
        answer = said if here in channels else said.model_copy(update={"visibility": "ephemeral"})
        return Reply(result=answer, posts=posts)

    # pieces ------------------------------------------------------------------------------
    async def _arm(self, provider: str, incident_id: str, page_id: int, payload: dict[str, Any]) -> None:
        key = repage_key(provider, incident_id, page_id)
        await self.timers.store.set(
            Timer(key=key, kind=REPAGE, due_at=self.clock.now() + self.timeout, payload=payload)
        )

    async def _channel(self, incident: Incident) -> str | None:
        links = await self.links.channels_for(incident.provider, incident.id)
        return links[0].channel_id if links else incident.channel_id

    async def _invite(self, channels: list[str], person: Person) -> None:
        """The next person is brought into the channel as the first was; a refusal is
        logged, since the DM names the channel and they can join it."""
        try:
            brought = await bring_in(self.workspace, channels, [person.slack_id])
        except WorkspaceError as exc:
            log.info("could not invite %s to the incident's channel: %s", person.slack_id, exc)
            return
        if brought.failed:
            log.info("could not invite %s to the incident's channel: %s", person.slack_id, brought.failed)

    def _ring(
        self,
        incident: Incident,
        page: PageRecord,
        ring: int,
        channel: str | None,
        actor: Person | None,
        message: str | None,
        *,
        state: str = "paged",
    ) -> PageRing:
        return PageRing(
            incident=incident,
            page_id=page.id,
            channel_id=channel,
            actor=actor,
            message=message,
            ring=ring,
            via=page.via,
            state=state,
        )

    def _dm(
        self,
        incident: Incident,
        page: PageRecord,
        person: Person,
        ring: int,
        channel: str | None,
        actor: Person | None,
        message: str | None,
    ) -> Post:
        return Post(
            channel_id=person.slack_id,
            result=self._ring(incident, page, ring, channel, actor, message),
            anchor=dm_anchor(page.id, person.slack_id, ring),
            direct=True,
        )
