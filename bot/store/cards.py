"""The incident card in each channel: the one message redrawn after every change."""

from __future__ import annotations

from sqlalchemy import Connection, delete, insert, select

from bot.domain import CardRef
from bot.store import tables
from bot.store.engine import Database

PEERS_KIND = "card"  # in the notices to the other processes (bot/store/peers.py)


class Cards:
    """Each incident's cards, reused while `db.reuse`: on PostgreSQL a card set or deleted by
    another process drops what this one kept of that incident and that channel."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self._by_incident: dict[tuple[str, str], list[CardRef]] = {}  # (provider, incident id) → cards
        self._drops = 0  # bumped at every change seen: a read begun before one is not kept
        if db.peers is not None:
            db.peers.on(PEERS_KIND, self._dropped, self._reset)

    def _tell(self, conn: Connection, keys: list[tuple[str, str, str]]) -> None:
        if self.db.peers is not None:
            self.db.peers.tell_in(conn, PEERS_KIND, keys)

    def _dropped(self, keys: list[tuple[str, str, str]]) -> None:
        self._drops += 1
        for what, first, second in keys:
            if what == "incident":
                self._by_incident.pop((first, second), None)
            else:
                self._drop_channel(first, second)

    def _reset(self) -> None:
        self._drops += 1
        self._by_incident.clear()

    def _drop_channel(self, team_id: str, channel_id: str) -> None:
        for key, cards in list(self._by_incident.items()):
            if any((c.team_id, c.channel_id) == (team_id, channel_id) for c in cards):
                del self._by_incident[key]

    async def set(self, card: CardRef) -> str | None:
        """Record the channel's card; return the ts of the one it replaces, if any."""
        where = (tables.cards.c.team_id == card.team_id, tables.cards.c.channel_id == card.channel_id)

        def work(conn: Connection) -> str | None:
            old = conn.execute(select(tables.cards.c.ts).where(*where)).scalar()
            conn.execute(delete(tables.cards).where(*where))
            conn.execute(
                insert(tables.cards).values(
                    team_id=card.team_id,
                    channel_id=card.channel_id,
                    ts=card.ts,
                    provider=card.provider,
                    incident_id=card.incident_id,
                    at=self.db.clock.now(),
                )
            )
            self._tell(
                conn,
                [("incident", card.provider, card.incident_id), ("channel", card.team_id, card.channel_id)],
            )
            return old

        old = await self.db.write(work, quick=True)
        self._drops += 1
        if self.db.reuse:
            self.forget(card.team_id, card.channel_id)
            if (card.provider, card.incident_id) in self._by_incident:
                self._by_incident[(card.provider, card.incident_id)].append(card)
        return old if old != card.ts else None

    async def of(self, provider: str, incident_id: str) -> list[CardRef]:
        """Every card showing this incident."""
        if self.db.reuse and (provider, incident_id) in self._by_incident:
            return list(self._by_incident[(provider, incident_id)])
        began, reuse = self._drops, self.db.reuse

        def work(conn: Connection) -> list[CardRef]:
            rows = conn.execute(
                select(tables.cards).where(
                    tables.cards.c.provider == provider, tables.cards.c.incident_id == incident_id
                )
            )
            return [CardRef(r.team_id, r.channel_id, r.ts, r.provider, r.incident_id) for r in rows]

        found = await self.db.read(work, quick=True)
        if reuse and self._drops == began:
            self._by_incident[(provider, incident_id)] = found
        return list(found)

    def delete_in(self, conn: Connection, team_id: str, channel_id: str) -> None:
        """In the caller's transaction (an unlink takes the channel's card with it)."""
        conn.execute(
            delete(tables.cards).where(
                tables.cards.c.team_id == team_id, tables.cards.c.channel_id == channel_id
            )
        )
        self._tell(conn, [("channel", team_id, channel_id)])

    def forget(self, team_id: str, channel_id: str) -> None:
        """The cache after `delete_in` committed."""
        self._drops += 1
        for cards in self._by_incident.values():
            cards[:] = [c for c in cards if (c.team_id, c.channel_id) != (team_id, channel_id)]
