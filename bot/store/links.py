"""Which incident each channel belongs to, and which channels were unlinked on purpose."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy import Connection, Row, Table, delete, insert, select

from bot.domain import Link
from bot.store import tables
from bot.store.cards import Cards
from bot.store.engine import Database
from bot.store.seen import Changes

W = TypeVar("W")
PEERS_KIND = "link"  # in the notices to the other processes (bot/store/peers.py)


def _link(row: Row[Any]) -> Link:
    return Link(row.team_id, row.channel_id, row.provider, row.incident_id, row.reference)


class Links:
    """Each channel's link, reused while `db.reuse`: on PostgreSQL, a link or unlink by another
    process drops the channel's entry here (bot/store/peers.py)."""

    def __init__(self, db: Database, cards: Cards) -> None:
        self.db = db
        self.cards = cards
        self._links: dict[tuple[str, str], Link | None] = {}
        self._unlinked: dict[tuple[str, str], bool] = {}
        # A read or a write that began before another change of its channel is handed
        # out, never kept.
        self._changes: Changes[tuple[str, str]] = Changes()
        if db.peers is not None:
            db.peers.on(PEERS_KIND, self._dropped, self._reset)

    def _dropped(self, keys: list[tuple[str, str]]) -> None:
        for key in keys:
            self._changes.changed(key)
            self._links.pop(key, None)
            self._unlinked.pop(key, None)

    def _reset(self) -> None:
        self._changes.reset()
        self._links.clear()
        self._unlinked.clear()

    async def _written(self, key: tuple[str, str], work: Callable[[Connection], W]) -> tuple[W, bool]:
        """The write, and whether what it wrote may be kept: not where the channel changed
        meanwhile (another process's notice may be for a later commit than this one), and a
        read of it begun during the write is not kept either."""
        self._links.pop(key, None)
        self._unlinked.pop(key, None)
        done, alone = await self._changes.written(key, self.db.write(work, quick=True))
        return done, alone and self.db.reuse

    def _tell(self, conn: Connection, team_id: str, channel_id: str) -> None:
        if self.db.peers is not None:
            self.db.peers.tell_in(conn, PEERS_KIND, [(team_id, channel_id)])

    async def get(self, team_id: str, channel_id: str) -> Link | None:
        if self.db.reuse and (team_id, channel_id) in self._links:
            return self._links[(team_id, channel_id)]
        began, reuse = self._changes.seen((team_id, channel_id)), self.db.reuse

        def work(conn: Connection) -> Link | None:
            row = conn.execute(
                select(tables.links).where(
                    tables.links.c.team_id == team_id, tables.links.c.channel_id == channel_id
                )
            ).first()
            return None if row is None else _link(row)

        found = await self.db.read(work, quick=True)
        if reuse and self._changes.seen((team_id, channel_id)) == began:
            self._links[(team_id, channel_id)] = found
        return found

    async def channels_for(self, provider: str, incident_id: str) -> list[Link]:
        def work(conn: Connection) -> list[Link]:
            rows = conn.execute(
                select(tables.links).where(
                    tables.links.c.provider == provider, tables.links.c.incident_id == incident_id
                )
            )
            return [_link(r) for r in rows]

        return await self.db.read(work, quick=True)

    async def linked_by(self, team_id: str, user_id: str, since: datetime) -> list[Link]:
        """The channels this person linked (or declared) since then, the earliest first."""

        def work(conn: Connection) -> list[Link]:
            c = tables.links.c
            rows = conn.execute(
                select(tables.links)
                .where(c.team_id == team_id, c.linked_by == user_id, c.linked_at >= since)
                .order_by(c.linked_at)
            )
            return [_link(r) for r in rows]

        return await self.db.read(work, quick=True)

    async def link(self, link: Link, user_id: str | None) -> None:
        def work(conn: Connection) -> None:
            _forget_channel(conn, tables.links, link.team_id, link.channel_id)
            _forget_channel(conn, tables.unlinked, link.team_id, link.channel_id)
            conn.execute(
                insert(tables.links).values(
                    team_id=link.team_id,
                    channel_id=link.channel_id,
                    provider=link.provider,
                    incident_id=link.incident_id,
                    reference=link.reference,
                    linked_by=user_id,
                    linked_at=self.db.clock.now(),
                )
            )
            self._tell(conn, link.team_id, link.channel_id)

        _, keep = await self._written((link.team_id, link.channel_id), work)
        if keep:
            self._links[(link.team_id, link.channel_id)] = link
            self._unlinked[(link.team_id, link.channel_id)] = False

    async def unlink(self, team_id: str, channel_id: str, user_id: str | None = None) -> bool:
        """Also remembers the unlink, so the channel is not linked again behind the user's
        back because a provider still names it as the incident's channel."""

        def work(conn: Connection) -> bool:
            removed = _forget_channel(conn, tables.links, team_id, channel_id)
            self.cards.delete_in(conn, team_id, channel_id)
            _forget_channel(conn, tables.unlinked, team_id, channel_id)
            conn.execute(
                insert(tables.unlinked).values(
                    team_id=team_id, channel_id=channel_id, unlinked_by=user_id, at=self.db.clock.now()
                )
            )
            self._tell(conn, team_id, channel_id)
            return removed

        removed, keep = await self._written((team_id, channel_id), work)
        if keep:
            self._links[(team_id, channel_id)] = None
            self._unlinked[(team_id, channel_id)] = True
        if self.db.reuse:
            self.cards.forget(team_id, channel_id)
        return removed

    async def was_unlinked(self, team_id: str, channel_id: str) -> bool:
        if self.db.reuse and (team_id, channel_id) in self._unlinked:
            return self._unlinked[(team_id, channel_id)]
        began, reuse = self._changes.seen((team_id, channel_id)), self.db.reuse

        def work(conn: Connection) -> bool:
            u = tables.unlinked.c
            found = conn.execute(select(u.team_id).where(u.team_id == team_id, u.channel_id == channel_id))
            return found.first() is not None

        found = await self.db.read(work, quick=True)
        if reuse and self._changes.seen((team_id, channel_id)) == began:
            self._unlinked[(team_id, channel_id)] = found
        return found


def _forget_channel(conn: Connection, table: Table, team_id: str, channel_id: str) -> bool:
    result = conn.execute(delete(table).where(table.c.team_id == team_id, table.c.channel_id == channel_id))
    return bool(result.rowcount)
