"""The store: one async engine for SQLite (default) and PostgreSQL, and its small repositories."""

from __future__ import annotations

import asyncio
import json
import logging
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import delete, event, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from bot.store import tables

log = logging.getLogger(__name__)


def _sqlite_pragmas(dbapi_connection: Any, _record: object) -> None:
    """WAL: readers don't wait for the writer, and a commit appends instead of rewriting;
    synchronous=NORMAL is WAL's durable-on-crash setting (a power cut may lose the last commit)."""
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class CardRef:
    team_id: str
    channel_id: str
    ts: str
    provider: str
    incident_id: str


@dataclass(frozen=True)
class Link:
    team_id: str
    channel_id: str
    provider: str
    incident_id: str
    reference: str


class Store:
    """`cache`: keep links and cards in memory, written through. Right only where this
    process is the store's one user: SQLite (the default), never PostgreSQL shared by
    several bot processes, where another process may relink a channel at any time."""

    def __init__(self, url: str, cache: bool | None = None) -> None:
        self.url = url
        kwargs: dict[str, object] = {}
        sqlite = url.startswith("sqlite")
        self.cache = sqlite if cache is None else cache
        self._links: dict[tuple[str, str], Link | None] = {}
        self._unlinked: dict[tuple[str, str], bool] = {}
        self._cards: dict[tuple[str, str], list[CardRef]] = {}  # (provider, incident id) → cards
        self._audit: list[dict[str, Any]] = []
        self._audit_lock = asyncio.Lock()
        self._audit_wake = asyncio.Event()
        self._audit_writer: asyncio.Task[None] | None = None
        if sqlite:
            # SQLite takes one writer at a time. Several pooled connections only fight over
            # the lock (sqlite3 sleeps while it waits), so one connection serves everyone,
            # in turn; measured in bench/: answered commands per second went up, see README.
            kwargs["connect_args"] = {"timeout": 15}
            kwargs["pool_size"] = 1
            kwargs["max_overflow"] = 0
            kwargs["pool_timeout"] = 60
        self.engine: AsyncEngine = create_async_engine(url, **kwargs)
        if sqlite and ":memory:" not in url and url.rstrip("/") != "sqlite+aiosqlite:":
            event.listen(self.engine.sync_engine, "connect", _sqlite_pragmas)

    async def start(self) -> None:
        async with self.engine.begin() as conn:
            await conn.run_sync(tables.metadata.create_all)
        self._audit_writer = asyncio.create_task(self._write_audit())

    async def close(self) -> None:
        """Writes what is queued first. The writer is asked to stop, not cancelled: a
        transaction cut in half by a cancel would hold SQLite's lock against the flush."""
        writer, self._audit_writer = self._audit_writer, None
        if writer is not None:
            self._audit_wake.set()
            await writer
        try:
            await self.flush()
        except Exception:
            log.exception("stopping with %d audit rows unwritten", len(self._audit))
        await self.engine.dispose()

    # links -----------------------------------------------------------------------
    async def link_for(self, team_id: str, channel_id: str) -> Link | None:
        if self.cache and (team_id, channel_id) in self._links:
            return self._links[(team_id, channel_id)]
        found = await self._read_link(team_id, channel_id)
        if self.cache:
            self._links[(team_id, channel_id)] = found
        return found

    async def _read_link(self, team_id: str, channel_id: str) -> Link | None:
        async with self.engine.connect() as conn:
            row = (
                await conn.execute(
                    select(tables.links).where(
                        tables.links.c.team_id == team_id, tables.links.c.channel_id == channel_id
                    )
                )
            ).first()
        if row is None:
            return None
        return Link(row.team_id, row.channel_id, row.provider, row.incident_id, row.reference)

    async def channels_for(self, provider: str, incident_id: str) -> list[Link]:
        async with self.engine.connect() as conn:
            rows = await conn.execute(
                select(tables.links).where(
                    tables.links.c.provider == provider, tables.links.c.incident_id == incident_id
                )
            )
            return [Link(r.team_id, r.channel_id, r.provider, r.incident_id, r.reference) for r in rows]

    async def link(self, link: Link, user_id: str | None) -> None:
        async with self.engine.begin() as conn:
            await conn.execute(
                delete(tables.links).where(
                    tables.links.c.team_id == link.team_id,
                    tables.links.c.channel_id == link.channel_id,
                )
            )
            await conn.execute(
                delete(tables.idempotency).where(
                    tables.idempotency.c.key == _unlinked(link.team_id, link.channel_id)
                )
            )
            await conn.execute(
                insert(tables.links).values(
                    team_id=link.team_id,
                    channel_id=link.channel_id,
                    provider=link.provider,
                    incident_id=link.incident_id,
                    reference=link.reference,
                    linked_by=user_id,
                    linked_at=now(),
                )
            )
        if self.cache:
            self._links[(link.team_id, link.channel_id)] = link
            self._unlinked[(link.team_id, link.channel_id)] = False

    async def unlink(self, team_id: str, channel_id: str) -> bool:
        """Also remembers the unlink, so the channel is not linked again behind the user's
        back because a provider still names it as the incident's channel."""
        async with self.engine.begin() as conn:
            result = await conn.execute(
                delete(tables.links).where(
                    tables.links.c.team_id == team_id, tables.links.c.channel_id == channel_id
                )
            )
            await conn.execute(
                delete(tables.cards).where(
                    tables.cards.c.team_id == team_id, tables.cards.c.channel_id == channel_id
                )
            )
            marker = _unlinked(team_id, channel_id)
            await conn.execute(delete(tables.idempotency).where(tables.idempotency.c.key == marker))
            await conn.execute(insert(tables.idempotency).values(key=marker, at=now()))
        if self.cache:
            self._links[(team_id, channel_id)] = None
            self._unlinked[(team_id, channel_id)] = True
            self._forget_card(team_id, channel_id)
        return bool(result.rowcount)

    async def was_unlinked(self, team_id: str, channel_id: str) -> bool:
        if self.cache and (team_id, channel_id) in self._unlinked:
            return self._unlinked[(team_id, channel_id)]
        async with self.engine.connect() as conn:
            row = await conn.execute(
                select(tables.idempotency.c.key).where(
                    tables.idempotency.c.key == _unlinked(team_id, channel_id)
                )
            )
            found = row.first() is not None
        if self.cache:
            self._unlinked[(team_id, channel_id)] = found
        return found

    # audit -----------------------------------------------------------------------
    async def audit(self, **row: object) -> None:
        """Queued, and written by one writer in group commits: a transaction per command was
        a measured share of each command's cost (bench/). `flush` writes what is queued."""
        row.setdefault("at", now())
        if not isinstance(row.get("arguments"), str):
            row["arguments"] = json.dumps(row.get("arguments"), default=str)
        # Every row with every column, so one batch is one executemany.
        self._audit.append({c.name: row.get(c.name) for c in tables.audit.columns if c.name != "id"})
        if self._audit_writer is None:  # not started (a store used without start): write now
            await self.flush()
        else:
            self._audit_wake.set()

    async def _write_audit(self) -> None:
        while self._audit_writer is not None:
            await self._audit_wake.wait()
            self._audit_wake.clear()
            try:
                await self.flush()
            except Exception:
                log.exception("could not write %d audit rows; kept for the next try", len(self._audit))
                await asyncio.sleep(1)

    async def flush(self) -> None:
        async with self._audit_lock:
            batch, self._audit = self._audit, []
            if not batch:
                return
            try:
                async with self.engine.begin() as conn:
                    await conn.execute(insert(tables.audit), batch)
            except Exception:
                self._audit[:0] = batch
                raise

    async def audit_rows(self) -> list[dict[str, object]]:
        await self.flush()
        async with self.engine.connect() as conn:
            rows = await conn.execute(select(tables.audit).order_by(tables.audit.c.id))
            return [dict(r._mapping) for r in rows]

    # cards -----------------------------------------------------------------------
    async def set_card(self, card: CardRef) -> str | None:
        """Record the channel's card; return the ts of the one it replaces, if any."""
        where = (tables.cards.c.team_id == card.team_id, tables.cards.c.channel_id == card.channel_id)
        async with self.engine.begin() as conn:
            old = (await conn.execute(select(tables.cards.c.ts).where(*where))).scalar()
            await conn.execute(delete(tables.cards).where(*where))
            await conn.execute(
                insert(tables.cards).values(
                    team_id=card.team_id,
                    channel_id=card.channel_id,
                    ts=card.ts,
                    provider=card.provider,
                    incident_id=card.incident_id,
                    at=now(),
                )
            )
        if self.cache:
            self._forget_card(card.team_id, card.channel_id)
            if (card.provider, card.incident_id) in self._cards:
                self._cards[(card.provider, card.incident_id)].append(card)
        return old if old != card.ts else None

    def _forget_card(self, team_id: str, channel_id: str) -> None:
        for cards in self._cards.values():
            cards[:] = [c for c in cards if (c.team_id, c.channel_id) != (team_id, channel_id)]

    async def cards_of(self, provider: str, incident_id: str) -> list[CardRef]:
        """Every card showing this incident."""
        if self.cache and (provider, incident_id) in self._cards:
            return list(self._cards[(provider, incident_id)])
        async with self.engine.connect() as conn:
            rows = await conn.execute(
                select(tables.cards).where(
                    tables.cards.c.provider == provider, tables.cards.c.incident_id == incident_id
                )
            )
            found = [CardRef(r.team_id, r.channel_id, r.ts, r.provider, r.incident_id) for r in rows]
        if self.cache:
            self._cards[(provider, incident_id)] = found
        return list(found)

    # idempotency -----------------------------------------------------------------
    async def claim(self, key: str, window: float | None = None) -> bool:
        """True the first time `key` is seen: the caller may act. False: already done.

        With `window`, a key older than that many seconds may be claimed again: a double
        click is one act, the same click a minute later is a new one."""
        key = key[:255]
        try:
            async with self.engine.begin() as conn:
                await conn.execute(insert(tables.idempotency).values(key=key, at=now()))
            return True
        except IntegrityError:
            if window is None:
                return False
        stale = now() - timedelta(seconds=window)
        async with self.engine.begin() as conn:
            result = await conn.execute(
                update(tables.idempotency)
                .where(tables.idempotency.c.key == key, tables.idempotency.c.at < stale)
                .values(at=now())
            )
            return bool(result.rowcount)


def _unlinked(team_id: str, channel_id: str) -> str:
    return f"unlinked:{team_id}:{channel_id}"[:255]
