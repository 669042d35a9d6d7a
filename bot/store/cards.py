"""The incident card in each channel: the one message redrawn after every change."""

from __future__ import annotations

from sqlalchemy import Connection, delete, insert, select

from bot.domain import CardRef
from bot.store import tables
from bot.store.engine import Database


class Cards:
    def __init__(self, db: Database) -> None:
        self.db = db
        self._by_incident: dict[tuple[str, str], list[CardRef]] = {}  # (provider, incident id) → cards

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
            return old

        old = await self.db.write(work, quick=True)
        if self.db.cache:
            self.forget(card.team_id, card.channel_id)
            if (card.provider, card.incident_id) in self._by_incident:
                self._by_incident[(card.provider, card.incident_id)].append(card)
        return old if old != card.ts else None

    async def of(self, provider: str, incident_id: str) -> list[CardRef]:
        """Every card showing this incident."""
        if self.db.cache and (provider, incident_id) in self._by_incident:
            return list(self._by_incident[(provider, incident_id)])

        def work(conn: Connection) -> list[CardRef]:
            rows = conn.execute(
                select(tables.cards).where(
                    tables.cards.c.provider == provider, tables.cards.c.incident_id == incident_id
                )
            )
            return [CardRef(r.team_id, r.channel_id, r.ts, r.provider, r.incident_id) for r in rows]

        found = await self.db.read(work, quick=True)
        if self.db.cache:
            self._by_incident[(provider, incident_id)] = found
        return list(found)

    @staticmethod
    def delete_in(conn: Connection, team_id: str, channel_id: str) -> None:
        """In the caller's transaction (an unlink takes the channel's card with it)."""
        conn.execute(
            delete(tables.cards).where(
                tables.cards.c.team_id == team_id, tables.cards.c.channel_id == channel_id
            )
        )

    def forget(self, team_id: str, channel_id: str) -> None:
        """The cache after `delete_in` committed."""
        for cards in self._by_incident.values():
            cards[:] = [c for c in cards if (c.team_id, c.channel_id) != (team_id, channel_id)]
