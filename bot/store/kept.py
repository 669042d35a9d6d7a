"""Small values the bot keeps by key between changes (the `kept` table): what it last set
on a channel, so it sets it again only when it changes, and the ids of what it made, so
running it again updates the same thing rather than making a second one."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, delete, insert, select, update

from bot.store import tables
from bot.store.engine import Database


class Kept:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def get(self, key: str) -> dict[str, Any] | None:
        table = tables.kept
        value = await self.db.read(
            lambda conn: conn.execute(select(table.c.value).where(table.c.key == key[:255])).scalar()
        )
        return dict(value) if isinstance(value, dict) else None

    async def put(self, key: str, value: dict[str, Any]) -> None:
        await self.db.write(lambda conn: self._put(conn, key[:255], value), quick=True)

    async def swap(self, key: str, value: dict[str, Any]) -> bool:
        """Keep `value` under `key`; False where it was already that (nothing to do): what
        lets a topic be set only when it changes, read and written in one transaction."""
        return await self.db.write(lambda conn: self._swap(conn, key[:255], value), quick=True)

    async def forget(self, key: str) -> None:
        table = tables.kept
        await self.db.write(
            lambda conn: conn.execute(delete(table).where(table.c.key == key[:255])), quick=True
        )

    def _put(self, conn: Connection, key: str, value: dict[str, Any]) -> None:
        table = tables.kept
        at = self.db.clock.now()
        done = conn.execute(update(table).where(table.c.key == key).values(value=value, updated_at=at))
        if not done.rowcount:
            conn.execute(insert(table).values(key=key, value=value, updated_at=at))

    def _swap(self, conn: Connection, key: str, value: dict[str, Any]) -> bool:
        table = tables.kept
        found = conn.execute(select(table.c.value).where(table.c.key == key)).scalar()
        if found == value:
            return False
        self._put(conn, key, value)
        return True
