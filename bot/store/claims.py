"""Requests already acted on (Slack retries, double clicks): the first to claim a key acts."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import Connection, delete, insert, select, update
from sqlalchemy.exc import IntegrityError

from bot.store import tables
from bot.store.engine import Database


class Claims:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def claim(self, key: str, window: float | None = None) -> bool:
        """True the first time `key` is seen: the caller may act. False: already done.

        With `window`, a key older than that many seconds may be claimed again: a double
        click is one act, the same click a minute later is a new one."""
        key = key[:255]
        at = self.db.clock.now()
        try:
            await self.db.write(
                lambda conn: conn.execute(insert(tables.idempotency).values(key=key, at=at)),
                quick=True,
            )
            return True
        except IntegrityError:
            if window is None:
                return False
        stale = at - timedelta(seconds=window)

        def again(conn: Connection) -> bool:
            result = conn.execute(
                update(tables.idempotency)
                .where(tables.idempotency.c.key == key, tables.idempotency.c.at < stale)
                .values(at=at)
            )
            return bool(result.rowcount)

        return await self.db.write(again, quick=True)

    async def release(self, key: str) -> None:
        """Give a claim back: the act it stood for was refused, so doing it again (once the
        refusal is fixed) is not doing it twice."""
        key = key[:255]
        await self.db.write(
            lambda conn: conn.execute(delete(tables.idempotency).where(tables.idempotency.c.key == key)),
            quick=True,
        )

    async def claimed_at(self, key: str) -> datetime | None:
        """When `key` was claimed (None: never, or released): how long ago a pin was made,
        for taking it out again only soon after."""
        key = key[:255]
        table = tables.idempotency
        return await self.db.read(
            lambda conn: conn.execute(select(table.c.at).where(table.c.key == key)).scalar()
        )
