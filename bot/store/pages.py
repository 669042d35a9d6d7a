"""The pages the bot sent (the `pages` table), at every provider.

The provider knows its own pages, but not every provider lets the bot read them back, and
a webhook saying "Maeve joined" does not say which `page` it answers: so the bot keeps its
own record of each page it made, and the card, the built-in re-pages and the webhooks all
read and move that record. An answer is recorded once: a second click on Acknowledge, or
the same webhook twice, finds the page answered already and changes nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any, TypeVar

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import ColumnElement, Connection, Row, func, insert, select, update

from bot.domain import PageShown, Person
from bot.store import tables
from bot.store.engine import Database

W = TypeVar("W")
PEERS_KIND = "pages"  # in the notices to the other processes (bot/store/peers.py)
EVERY = ("*", "*")  # a notice's key: every incident's pages, where the write knew no incident
PAGED, ACKNOWLEDGED, DECLINED, UNANSWERED = "paged", "acknowledged", "declined", "unanswered"
OPEN_STATES = frozenset({PAGED})


class PageRecord(BaseModel):
    """Frozen: the records of an incident are kept and handed to every card (`Pages`)."""

    model_config = ConfigDict(frozen=True)

    id: int
    provider: str
    incident_id: str
    target_key: str
    target: str
    via: str | None = None
    person: Person | None = None  # who it is with now: being paged, or who answered
    external_id: str | None = None
    answers_to: list[str] = Field(default_factory=list)
    tried: list[str] = Field(default_factory=list)
    state: str = PAGED
    rings: int = 0
    paged_by: str | None = None
    paged_at: datetime
    answered_at: datetime | None = None

    @property
    def open(self) -> bool:
        return self.state in OPEN_STATES


def _record(row: Row[Any]) -> PageRecord:
    known = row.person_id or row.person_name
    person = Person(slack_id=row.person_id or "", name=row.person_name) if known else None
    return PageRecord(
        id=row.id,
        provider=row.provider,
        incident_id=row.incident_id,
        target_key=row.target_key,
        target=row.target,
        via=row.via,
        person=person,
        external_id=row.external_id,
        answers_to=list(row.answers_to or []),
        tried=list(row.tried or []),
        state=row.state,
        rings=row.rings,
        paged_by=row.paged_by,
        paged_at=row.paged_at,
        answered_at=row.answered_at,
    )


class Pages:
    """Each incident's pages, reused while `db.reuse`: every card of an incident at a
    provider that pages reads them, a read per command otherwise, and pages are few and
    rarely written. Every write drops what is kept of its incident, here and (bot/store/
    peers.py) in the other processes; a read begun before a write is not kept."""

    _LIMIT = 20_000  # incidents: past it the memory starts again empty, not a leak

    def __init__(self, db: Database) -> None:
        self.db = db
        self._by_incident: dict[tuple[str, str], list[PageRecord]] = {}
        self._drops = 0  # bumped at every change seen: a read begun before one is not kept
        if db.peers is not None:
            db.peers.on(PEERS_KIND, self._dropped, self._reset)

    def _dropped(self, keys: list[list[str]]) -> None:
        self._drops += 1
        for provider, incident_id in keys:
            if (provider, incident_id) == EVERY:
                self._by_incident.clear()
            self._by_incident.pop((provider, incident_id), None)

    def _reset(self) -> None:
        self._drops += 1
        self._by_incident.clear()

    def _tell(self, conn: Connection, provider: str, incident_id: str) -> None:
        """In the write's transaction: the other processes drop it when it commits."""
        if self.db.peers is not None:
            self.db.peers.tell_in(conn, PEERS_KIND, [(provider, incident_id)])

    async def _written(self, work: Callable[[Connection], W], incident: tuple[str, str] = EVERY) -> W:
        """The write, with what is kept of its incident (of every one, where it knew none)
        dropped before and after: a read under way meanwhile is handed out, never kept."""
        self._dropped([list(incident)])
        try:
            return await self.db.write(work, quick=True)
        finally:
            self._dropped([list(incident)])

    async def add(
        self,
        provider: str,
        incident_id: str,
        target_key: str,
        target: str,
        *,
        person: Person | None = None,
        via: str | None = None,
        external_id: str | None = None,
        answers_to: list[str] | None = None,
        paged_by: str | None = None,
    ) -> PageRecord:
        values = {
            "provider": provider,
            "incident_id": incident_id[:255],
            "target_key": target_key[:255],
            "target": target[:255],
            "via": via[:255] if via else None,
            "person_id": person.slack_id if person else None,
            "person_name": (person.name or None) if person else None,
            "external_id": external_id[:255] if external_id else None,
            "answers_to": list(answers_to or []),
            "tried": [person.slack_id] if person and person.slack_id else [],
            "state": PAGED,
            "rings": 0,
            "paged_by": paged_by,
            "paged_at": self.db.clock.now(),
        }

        def work(conn: Connection) -> PageRecord:
            result = conn.execute(insert(tables.pages).values(**values))
            key = result.inserted_primary_key
            assert key is not None
            self._tell(conn, provider, incident_id[:255])
            return _record(conn.execute(select(tables.pages).where(tables.pages.c.id == key[0])).one())

        return await self._written(work, (provider, incident_id[:255]))

    async def get(self, page_id: int) -> PageRecord | None:
        def work(conn: Connection) -> PageRecord | None:
            row = conn.execute(select(tables.pages).where(tables.pages.c.id == page_id)).first()
            return _record(row) if row is not None else None

        return await self.db.read(work, quick=True)

    async def made(self, provider: str, incident_id: str, external_id: str) -> PageRecord | None:
        """The page already recorded under the provider's id of it: what a request run again
        after a restart finds, so that it records (and rings) no second page."""
        table = tables.pages

        def work(conn: Connection) -> PageRecord | None:
            row = conn.execute(
                select(table)
                .where(
                    table.c.provider == provider,
                    table.c.incident_id == incident_id[:255],
                    table.c.external_id == external_id[:255],
                )
                .order_by(table.c.id)
            ).first()
            return _record(row) if row is not None else None

        return await self.db.read(work, quick=True)

    async def of_incident(self, provider: str, incident_id: str) -> list[PageRecord]:
        """Newest first."""
        key = (provider, incident_id)
        if self.db.reuse and key in self._by_incident:
            return list(self._by_incident[key])
        began, reuse = self._drops, self.db.reuse
        found = await self._of_incident(provider, incident_id)
        if reuse and self._drops == began:
            if len(self._by_incident) >= self._LIMIT:
                self._by_incident.clear()
            self._by_incident[key] = found
        return list(found)

    async def _of_incident(self, provider: str, incident_id: str) -> list[PageRecord]:
        table = tables.pages

        def work(conn: Connection) -> list[PageRecord]:
            rows = conn.execute(
                select(table)
                .where(table.c.provider == provider, table.c.incident_id == incident_id)
                .order_by(table.c.paged_at.desc(), table.c.id.desc())
            )
            return [_record(r) for r in rows]

        return await self.db.read(work, quick=True)

    async def rang(
        self,
        page_id: int,
        person: Person,
        rings: int,
        tried: list[str],
        *,
        moved: bool = False,
        was: PageRecord | None = None,
    ) -> PageRecord | None:
        """The page rung again, or `moved` to the next person (dated from then, as the card
        shows it): only while it is still open (None: answered meanwhile, so nobody is rung).
        `was`: only while it is still as read then (its ring and person): the re-page timer
        and `escalate` may act on one page at once, and the step that lost does nothing."""
        values: dict[str, Any] = {
            "person_id": person.slack_id,
            "person_name": person.name,
            "rings": rings,
            "tried": tried,
        }
        if moved:
            values["paged_at"] = self.db.clock.now()
        if was is None:
            return await self._move(page_id, values)
        table = tables.pages
        still = (
            table.c.rings == was.rings,
            func.coalesce(table.c.person_id, "") == (was.person.slack_id if was.person else ""),
        )
        return await self._move(page_id, values, where=still)

    async def answered(
        self, page_id: int, state: str, person: Person | None, at: datetime, *, late: bool = False
    ) -> PageRecord | None:
        """The page's answer (acknowledged, declined, unanswered), once: None where it was
        answered already. `late`: a page that ran out of people may still be acknowledged."""
        values: dict[str, Any] = {"state": state, "answered_at": at}
        if person is not None:
            values |= {"person_id": person.slack_id, "person_name": person.name}
        return await self._move(page_id, values, OPEN_STATES | {UNANSWERED} if late else OPEN_STATES)

    async def _move(
        self,
        page_id: int,
        values: dict[str, Any],
        states: frozenset[str] = OPEN_STATES,
        where: tuple[ColumnElement[bool], ...] = (),
    ) -> PageRecord | None:
        table = tables.pages

        def work(conn: Connection) -> PageRecord | None:
            done = conn.execute(
                update(table).where(table.c.id == page_id, table.c.state.in_(states), *where).values(**values)
            )
            if not done.rowcount:
                return None
            moved = _record(conn.execute(select(table).where(table.c.id == page_id)).one())
            self._tell(conn, moved.provider, moved.incident_id)
            return moved

        return await self._written(work)

    async def with_person(self, page_id: int, person: Person) -> None:
        """Who a page to a policy reached, as the provider's webhook said: shown on the card."""
        table = tables.pages

        def work(conn: Connection) -> None:
            conn.execute(
                update(table)
                .where(table.c.id == page_id, table.c.state.in_(OPEN_STATES))
                .values(person_id=person.slack_id, person_name=person.name)
            )
            self._tell(conn, *EVERY)

        await self._written(work)


SHOWN = 3  # pages on the card before "and N more": it must fit a phone


def on_card(records: list[PageRecord]) -> tuple[list[PageShown], int]:
    """The pages the card shows, newest first, and how many more there are: the open ones
    first, since those are what someone opening the channel must know about."""
    ordered = sorted(records, key=lambda p: (not p.open, -p.paged_at.timestamp(), -p.id))
    shown = [
        PageShown(
            target=p.target,
            person=p.person,
            state=p.state,
            paged_at=p.paged_at,
            answered_at=p.answered_at,
        )
        for p in ordered[:SHOWN]
    ]
    return shown, max(0, len(records) - SHOWN)
