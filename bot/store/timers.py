"""The timers table and the anchors table: what the bot will say later, and the messages it
keeps up to date in place. Plain rows; what they mean is bot/commands/timers.py's."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field
from sqlalchemy import Connection, delete, insert, select, update

from bot.domain import now
from bot.store import tables
from bot.store.engine import Database, clean_row


class Timer(BaseModel):
    key: str
    kind: str
    due_at: datetime
    payload: dict[str, Any] = Field(default_factory=dict)

    @property
    def firing(self) -> str:
        """This timer at this due time: the inbox key that one process alone may admit."""
        return f"timer:{self.key}@{self.due_at.isoformat()}"[:255]


class TimerStore:
    def __init__(self, store: Database) -> None:
        self.store = store

    async def set(self, timer: Timer) -> None:
        """Create or replace (a reminder re-armed by an update moves, it does not add)."""
        values = {
            "kind": timer.kind,
            "due_at": timer.due_at,
            "payload": clean_row(timer.payload),
            "updated_at": now(),
        }
        where = tables.timers.c.key == timer.key[:255]

        def work(conn: Connection) -> None:
            if not conn.execute(update(tables.timers).where(where).values(**values)).rowcount:
                conn.execute(insert(tables.timers).values(key=timer.key[:255], **values))

        await self.store.write(work)

    async def get(self, key: str) -> Timer | None:
        def work(conn: Connection) -> Timer | None:
            row = conn.execute(select(tables.timers).where(tables.timers.c.key == key[:255])).first()
            return _timer(row) if row is not None else None

        return await self.store.read(work)

    async def cancel(self, key: str) -> bool:
        def work(conn: Connection) -> bool:
            return bool(conn.execute(delete(tables.timers).where(tables.timers.c.key == key[:255])).rowcount)

        return await self.store.write(work)

    async def due(self, at: datetime, limit: int = 100) -> list[Timer]:
        def work(conn: Connection) -> list[Timer]:
            rows = conn.execute(
                select(tables.timers)
                .where(tables.timers.c.due_at <= at)
                .order_by(tables.timers.c.due_at)
                .limit(limit)
            )
            return [_timer(row) for row in rows]

        return await self.store.read(work)

    async def all(self) -> list[Timer]:
        def work(conn: Connection) -> list[Timer]:
            return [_timer(r) for r in conn.execute(select(tables.timers).order_by(tables.timers.c.key))]

        return await self.store.read(work)

    # anchors ---------------------------------------------------------------------------
    async def anchor(self, key: str) -> tuple[str, str] | None:
        """(channel, ts) of the message kept up to date under `key`."""

        def work(conn: Connection) -> tuple[str, str] | None:
            row = conn.execute(select(tables.anchors).where(tables.anchors.c.key == key[:255])).first()
            return (row.channel_id, row.ts) if row is not None else None

        return await self.store.read(work)

    async def set_anchor(self, key: str, channel_id: str, ts: str) -> None:
        def work(conn: Connection) -> None:
            conn.execute(delete(tables.anchors).where(tables.anchors.c.key == key[:255]))
            conn.execute(insert(tables.anchors).values(key=key[:255], channel_id=channel_id, ts=ts, at=now()))

        await self.store.write(work)


def _timer(row: Any) -> Timer:
    return Timer(key=row.key, kind=row.kind, due_at=row.due_at, payload=row.payload or {})
