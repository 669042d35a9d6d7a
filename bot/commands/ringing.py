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
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from bot.clock import Clock
from bot.commands.invites import bring_in
from bot.commands.ports import Workspace, WorkspaceError
from bot.commands.pulse import dressed
from bot.commands.results import (
    Failure,
    PageAnswered,
    PageEscalated,
    PageMoved,
    PageRing,
    PageStep,
    Post,
    Quiet,
    Reply,
)
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
        """DM each person paged, and set the re-page going. A page rung already (its request
        run again after a restart) is not rung again: its first DMs are given again under
        their anchors, which redraws those that went out and posts those that did not, and
        the re-page is set only where none is pending."""
        ids = [p.slack_id for p in people if p.slack_id]
        person = people[0] if len(people) == 1 else None
        key = repage_key(incident.provider, incident.id, page.id)
        if page.rings:
            if not page.open or page.rings != 1 or page.tried != ids:
                return []  # moved on since (paged again, the next person, answered)
            rung: PageRecord | None = page
            if await self.timers.store.get(key, fresh=True) is not None:
                channel = await self._channel(incident)
                return [self._dm(incident, page, p, 1, channel, actor, message) for p in people if p.slack_id]
        else:
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
            rung = await self.pages.rang(page.id, person or Person(slack_id=""), ring, page.tried, was=page)
            if rung is None:
                return await self._lost(timer, page.id)
            posts += [self._dm(incident, rung, p, ring, channel, actor, message) for p in ringing]
            await self._arm(provider.name, incident.id, page.id, payload)
            said = PageMoved(
                reference=incident.reference,
                person=ringing[0],
                people=ringing,
                next=ringing[0],
                waited=waited,
            )
            posts += [Post(channel_id=c, result=said) for c in channels]
            return await self._told(posts, incident, provider, timer_audit(timer, "paged again"))
        following = await self._next(provider, page)
        # The DMs that went unanswered say so, and lose their button's urgency.
        moved = "moved" if following is not None else "unanswered"
        posts += _redraws(
            page.id,
            [p.slack_id for p in ringing],
            page.rings,
            lambda ring: self._ring(incident, page, ring, channel, actor, message, state=moved),
        )
        if following is None:
            await self.timers.store.cancel(timer.key)
            await self.pages.answered(page.id, UNANSWERED, None, at)
            said = PageMoved(
                reference=incident.reference, person=ringing[0], people=ringing, via=page.via, waited=waited
            )
            posts += [Post(channel_id=c, result=said) for c in channels]
            return await self._told(posts, incident, provider, timer_audit(timer, "unanswered"))
        rung = await self.pages.rang(
            page.id, following, 1, [*page.tried, following.slack_id], moved=True, was=page
        )
        if rung is None:
            return await self._lost(timer, page.id)
        payload["ringing"] = [following.model_dump()]
        await self._arm(provider.name, incident.id, page.id, payload)
        posts.append(self._dm(incident, rung, following, 1, channel, actor, message))
        await self._invite(channels, following)
        said = PageMoved(
            reference=incident.reference,
            person=ringing[0],
            people=ringing,
            next=following,
            via=page.via,
            waited=waited,
        )
        posts += [Post(channel_id=c, result=said) for c in channels]
        return await self._told(posts, incident, provider, timer_audit(timer, "next person"))

    async def _lost(self, timer: Timer, page_id: int) -> Reply:
        """The page changed since this timer read it: answered (its re-page is over), or moved
        on by `escalate`, which armed the new person's re-page under this key (kept)."""
        page = await self.pages.get(page_id)
        if page is None or not page.open:
            await self.timers.store.cancel(timer.key)
            return quiet_timer(timer, "answered")
        return quiet_timer(timer, "moved")

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

    # `escalate`: the next person now ----------------------------------------------------
    async def escalate(
        self,
        incident: Incident,
        provider: Provider,
        level: int | None,
        actor: Person,
        here: str,
        command: str,
    ) -> Reply:
        """Every open page of the incident moved on to the next person of its rotation (or to
        the `level`-th of its order) at once, as `fire` does after the second unanswered
        ring: their pending re-page replaced by the new person's. Nothing moves where there
        is nobody to move to, and the answer says why."""
        ref = incident.reference
        if incident.closed:
            return _refused(
                f"{ref} is {incident.status}: nobody more is paged for it. If it is not over, "
                f"`{command} reopen` it first."
            )
        recorded = await self.pages.of_incident(provider.name, incident.id)  # newest first
        pages = [p for p in recorded if p.open and p.rings]
        if not pages:
            last = next((p for p in recorded if p.rings), None)
            if last is None:
                return _refused(
                    f"No page is open for {ref}: page someone first with `{command} page <rotation>`."
                )
            return _refused(
                f"No page of {ref} is waiting for an answer: the last, to {last.target}, was {last.state}. "
                f"Page someone with `{command} page <rotation>`."
            )
        # Who is being paged now, by any of its pages: two pages through one rotation never
        # both move to one person (they would ring them twice, and outlive one answer).
        paging = {p.person.slack_id for p in pages if p.person is not None and p.person.slack_id}
        channel = await self._channel(incident)
        channels = [link.channel_id for link in await self.links.channels_for(provider.name, incident.id)]
        moves: list[PageStep] = []
        why: list[str] = []
        posts: list[Post] = []
        for page in pages:
            chosen = await self._escalated(provider, page, level, ref, command)
            if isinstance(chosen, str):
                why.append(chosen)
                continue
            following, place = chosen
            if following.slack_id in paging:
                why.append(
                    f"{_name(following)} is being paged for {ref} already, by another page: "
                    f"the page through {page.via} stays where it is."
                )
                continue
            key = repage_key(provider.name, incident.id, page.id)
            pending = await self.timers.store.get(key, fresh=True)
            payload: dict[str, Any] = (
                dict(pending.payload)
                if pending is not None
                else {
                    "provider": provider.name,
                    "incident_id": incident.id,
                    "page_id": page.id,
                    "actor": actor.model_dump(),
                    "message": None,
                }
            )
            skipped = [Person.model_validate(p) for p in payload.get("ringing") or []]
            if not skipped and page.person is not None:
                skipped = [page.person]
            rung = await self.pages.rang(
                page.id, following, 1, [*page.tried, following.slack_id], moved=True, was=page
            )
            if rung is None:  # answered, or moved on by its re-page, since it was read
                why.append(
                    f"The page for {ref} through {page.via} was answered or moved on a moment ago: "
                    f"nobody else was paged for it."
                )
                continue
            paging.add(following.slack_id)
            first = Person.model_validate(payload["actor"]) if payload.get("actor") else None
            message = payload.get("message")
            # The skipped step's re-page is replaced (the same key) by the new person's.
            payload["ringing"] = [following.model_dump()]
            await self._arm(provider.name, incident.id, page.id, payload)
            escalated = self._ring(incident, page, 1, channel, first, message, state="escalated")
            escalated = escalated.model_copy(update={"by": actor, "next": following})
            posts += _redraws(
                page.id,
                [p.slack_id for p in skipped],
                page.rings,
                lambda ring: escalated.model_copy(update={"ring": ring}),  # noqa: B023 (used at once)
            )
            posts.append(self._dm(incident, rung, following, 1, channel, first, message))
            await self._invite(channels, following)
            moves.append(PageStep(skipped=skipped, next=following, via=page.via or "", level=place))
        if not moves:
            return _refused(_joined(why, f"Page someone else with `{command} page @them`."))
        said = PageEscalated(
            incident=incident,
            reference=ref,
            actor=actor,
            moves=moves,
            not_moved=why,
            timeout=self.timeout.total_seconds(),
        )
        posts += [Post(channel_id=c, result=said) for c in channels if c != here]
        answer = said if here in channels else said.model_copy(update={"visibility": "ephemeral"})
        return Reply(result=answer, posts=posts)

    async def _escalated(
        self, provider: Provider, page: PageRecord, level: int | None, ref: str, command: str
    ) -> tuple[Person, int] | str:
        """Whom `escalate` moves this page to, and their place in the rotation's order; or
        why it moves to nobody, in words for the person who asked."""
        if page.via is None:
            paged = (
                _names(page.tried, [page.person] if page.person else [])
                if len(page.tried) == 1
                else f"{len(page.tried)} people ({page.target})"
            )
            return (
                f"The open page for {ref} went to {paged} by name, not through a rotation: "
                f"nobody is next in line. Page someone else with `{command} page @them`."
            )
        schedule = next((s for s in await provider.schedules() if s.name == page.via), None)
        order = [u for u in schedule.users if u.slack_id] if schedule is not None else []
        if not order:
            return (
                f"The rotation {page.via} has nobody in it any more: page someone with "
                f"`{command} page @them`."
            )
        if level is None:
            following = await self._next(provider, page)
            if following is None:
                return (
                    f"Everyone in {page.via} was paged for {ref} already ({_names(page.tried, order)}): "
                    f"nobody else to escalate to. Page someone else with `{command} page @them`."
                )
            place = next(n for n, u in enumerate(order, 1) if u.slack_id == following.slack_id)
            return following, place
        if level > len(order):
            people = f"{len(order)} {'person' if len(order) == 1 else 'people'}"
            return (
                f"{page.via} has {people} in its order: there is no level {level}. "
                f"`{command} escalate` pages the next one."
            )
        person = order[level - 1]
        mention = _name(person)
        if page.person is not None and person.slack_id == page.person.slack_id:
            return f"{mention} (level {level} of {page.via}) is being paged for {ref} now."
        if person.slack_id in page.tried:
            return (
                f"{mention} (level {level} of {page.via}) was paged for {ref} already: "
                f"`{command} escalate` pages the next one, `{command} page {mention}` pages them again."
            )
        return person, level

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
        acknowledged = self._ring(incident, done, 1, channel, None, None, state=ACKNOWLEDGED)
        acknowledged.by, acknowledged.at = person, at
        posts += _redraws(
            page.id, done.tried, RINGS, lambda ring: acknowledged.model_copy(update={"ring": ring})
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


def _joined(whys: list[str], advice: str) -> str:
    """Several pages' reasons in one answer, the advice they share said once, last."""
    told = [w.removesuffix(advice).rstrip() for w in whys]
    return " ".join([*told, advice] if len(told) > 1 and any(w.endswith(advice) for w in whys) else whys)


def _refused(what: str) -> Reply:
    """`escalate` moved nothing: said to the one who asked, with what to do instead."""
    return Reply(result=Failure(what=what, changed="no"), outcome="refused")


def _name(person: Person) -> str:
    """A person in a refusal's plain text (escaped, so no mention): as `page @them` takes it."""
    return f"@{person.name}" if person.name else person.slack_id


def _names(ids: list[str], known: list[Person]) -> str:
    named = {p.slack_id: p for p in known}
    return ", ".join(_name(named.get(i, Person(slack_id=i))) for i in ids)


def _redraws(page_id: int, people: list[str], rings: int, shown: Callable[[int], PageRing]) -> list[Post]:
    """Every DM a page rang to each of `people`, redrawn in place as `shown(ring)`: never
    posted anew, where one did not go out."""
    return [
        Post(channel_id=who, result=shown(ring), anchor=dm_anchor(page_id, who, ring), only_update=True)
        for who in people
        for ring in range(1, rings + 1)
    ]
