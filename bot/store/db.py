"""The store: SQLite (default) or PostgreSQL through one SQL layer, and its small repositories."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from typing import Any, TypeVar

from sqlalchemy import Connection, Engine, create_engine, delete, event, insert, make_url, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine
from sqlalchemy.pool import StaticPool

from bot.domain import CardRef, Link, clean_text, now
from bot.store import tables

log = logging.getLogger(__name__)
T = TypeVar("T")
# Audit rows waiting for their group commit, at the most; past it the oldest are dropped
# (and said so once), so a database that refuses writes cannot grow the bot's memory.
AUDIT_QUEUE = 10_000


def clean_row(value: Any) -> Any:
    """`clean_text` on every string in a row, a JSON value included."""
    if isinstance(value, str):
        return clean_text(value)
    if isinstance(value, dict):
        return {k: clean_row(v) for k, v in value.items()}
    if isinstance(value, list):
        return [clean_row(v) for v in value]
    return value


def _sqlite_pragmas(dbapi_connection: Any, _record: object) -> None:
    """WAL: readers don't wait for the writer, and a commit appends instead of rewriting;
    synchronous=NORMAL is WAL's durable-on-crash setting (a power cut may lose the last commit)."""
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


class Store:
    """Every transaction is one function over a sync `Connection`, handed over whole:

    - SQLite (the default): run in the store's one database thread on a sync engine, so a
      transaction costs one hand-off between threads, not one per statement as with
      aiosqlite (measured in bench/: about 46 hand-offs a command before, one or two now).
      One thread also means writers never wait on each other's locks.
    - PostgreSQL: run with `run_sync` on the async engine (asyncpg), for several bot
      processes sharing one store.

    `cache`: keep links and cards in memory, written through. Right only where this
    process is the store's one user: SQLite, never PostgreSQL shared by several bot
    processes, where another process may relink a channel at any time.
    """

    def __init__(self, url: str, cache: bool | None = None) -> None:
        self.url = url
        sqlite = url.startswith("sqlite")
        # A SQLite file has one bot process (see README): at start, whatever it left pending
        # in the inbox is this process's to answer. PostgreSQL may be shared by several.
        self.single_process = sqlite
        self.cache = sqlite if cache is None else cache
        self.engine: AsyncEngine | None = None
        self.sync_engine: Engine | None = None
        if sqlite:
            sync_url = make_url(url).set(drivername="sqlite")
            memory = sync_url.database in (None, "", ":memory:")
            kwargs: dict[str, Any] = {"connect_args": {"timeout": 15, "check_same_thread": False}}
            kwargs |= {"poolclass": StaticPool} if memory else {"pool_size": 1, "max_overflow": 0}
            self.sync_engine = create_engine(sync_url, **kwargs)
            if not memory:
                event.listen(self.sync_engine, "connect", _sqlite_pragmas)
            self._thread = ThreadPoolExecutor(1, thread_name_prefix="store")
        else:
            self.engine = create_async_engine(url)
        self._links: dict[tuple[str, str], Link | None] = {}
        self._unlinked: dict[tuple[str, str], bool] = {}
        self._cards: dict[tuple[str, str], list[CardRef]] = {}  # (provider, incident id) → cards
        self._audit: list[dict[str, Any]] = []
        self._audit_lock = asyncio.Lock()
        self._audit_wake = asyncio.Event()
        self._audit_writer: asyncio.Task[None] | None = None

    async def read(self, work: Callable[[Connection], T], on_commit: Callable[[T], None] | None = None) -> T:
        return await self._run(work, write=False, on_commit=on_commit)

    async def write(self, work: Callable[[Connection], T], on_commit: Callable[[T], None] | None = None) -> T:
        """`work` runs in one transaction, committed if it returns, rolled back if it raises.

        `on_commit` runs once the commit succeeded, before any later transaction starts on
        SQLite (in the store's thread): the place to update a cache, so the next change is
        built on this one and never on a snapshot from before it."""
        return await self._run(work, write=True, on_commit=on_commit)

    async def _run(
        self, work: Callable[[Connection], T], *, write: bool, on_commit: Callable[[T], None] | None = None
    ) -> T:
        if self.sync_engine is not None:
            return await asyncio.get_running_loop().run_in_executor(
                self._thread, self._sync, work, write, on_commit
            )
        assert self.engine is not None
        async with self.engine.begin() if write else self.engine.connect() as conn:
            result = await conn.run_sync(work)
        if on_commit is not None:
            on_commit(result)
        return result

    def _sync(self, work: Callable[[Connection], T], write: bool, on_commit: Callable[[T], None] | None) -> T:
        assert self.sync_engine is not None
        with self.sync_engine.begin() if write else self.sync_engine.connect() as conn:
            result = work(conn)
        if on_commit is not None:
            on_commit(result)
        return result

    async def start(self, *, migrate: bool = True) -> None:
        """Open the store at the code's schema: upgraded (`migrate`), or refused with the
        command that upgrades it (several processes on PostgreSQL upgrade once, on purpose)."""
        from bot.store import migrate as migrations

        found = None if migrate else await self.read(migrations.current)
        if migrate or found is None:  # an empty database is made at once, by anyone
            await self.write(migrations.upgrade)
        elif found != migrations.head():
            raise migrations.SchemaBehind(found, migrations.head())
        self._audit_writer = asyncio.create_task(self._write_audit())

    async def close(self) -> None:
        """Writes what is queued first. The writer is asked to stop, not cancelled: a
        transaction cut in half would be lost."""
        writer, self._audit_writer = self._audit_writer, None
        if writer is not None:
            self._audit_wake.set()
            await writer
        try:
            await self.flush()
        except Exception:
            log.exception("stopping with %d audit rows unwritten", len(self._audit))
        if self.sync_engine is not None:
            await asyncio.get_running_loop().run_in_executor(self._thread, self.sync_engine.dispose)
            self._thread.shutdown(wait=False)
        if self.engine is not None:
            await self.engine.dispose()

    # links -----------------------------------------------------------------------
    async def link_for(self, team_id: str, channel_id: str) -> Link | None:
        if self.cache and (team_id, channel_id) in self._links:
            return self._links[(team_id, channel_id)]

        def work(conn: Connection) -> Link | None:
            row = conn.execute(
                select(tables.links).where(
                    tables.links.c.team_id == team_id, tables.links.c.channel_id == channel_id
                )
            ).first()
            return (
                None
                if row is None
                else Link(row.team_id, row.channel_id, row.provider, row.incident_id, row.reference)
            )

        found = await self.read(work)
        if self.cache:
            self._links[(team_id, channel_id)] = found
        return found

    async def channels_for(self, provider: str, incident_id: str) -> list[Link]:
        def work(conn: Connection) -> list[Link]:
            rows = conn.execute(
                select(tables.links).where(
                    tables.links.c.provider == provider, tables.links.c.incident_id == incident_id
                )
            )
            return [Link(r.team_id, r.channel_id, r.provider, r.incident_id, r.reference) for r in rows]

        return await self.read(work)

    async def link(self, link: Link, user_id: str | None) -> None:
        def work(conn: Connection) -> None:
            conn.execute(
                delete(tables.links).where(
                    tables.links.c.team_id == link.team_id,
                    tables.links.c.channel_id == link.channel_id,
                )
            )
            conn.execute(
                delete(tables.idempotency).where(
                    tables.idempotency.c.key == _unlinked(link.team_id, link.channel_id)
                )
            )
            conn.execute(
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

        await self.write(work)
        if self.cache:
            self._links[(link.team_id, link.channel_id)] = link
            self._unlinked[(link.team_id, link.channel_id)] = False

    async def unlink(self, team_id: str, channel_id: str) -> bool:
        """Also remembers the unlink, so the channel is not linked again behind the user's
        back because a provider still names it as the incident's channel."""

        def work(conn: Connection) -> bool:
            result = conn.execute(
                delete(tables.links).where(
                    tables.links.c.team_id == team_id, tables.links.c.channel_id == channel_id
                )
            )
            conn.execute(
                delete(tables.cards).where(
                    tables.cards.c.team_id == team_id, tables.cards.c.channel_id == channel_id
                )
            )
            marker = _unlinked(team_id, channel_id)
            conn.execute(delete(tables.idempotency).where(tables.idempotency.c.key == marker))
            conn.execute(insert(tables.idempotency).values(key=marker, at=now()))
            return bool(result.rowcount)

        removed = await self.write(work)
        if self.cache:
            self._links[(team_id, channel_id)] = None
            self._unlinked[(team_id, channel_id)] = True
            self._forget_card(team_id, channel_id)
        return removed

    async def was_unlinked(self, team_id: str, channel_id: str) -> bool:
        if self.cache and (team_id, channel_id) in self._unlinked:
            return self._unlinked[(team_id, channel_id)]

        def work(conn: Connection) -> bool:
            key = _unlinked(team_id, channel_id)
            return (
                conn.execute(select(tables.idempotency.c.key).where(tables.idempotency.c.key == key)).first()
                is not None
            )

        found = await self.read(work)
        if self.cache:
            self._unlinked[(team_id, channel_id)] = found
        return found

    # audit -----------------------------------------------------------------------
    async def audit(self, **row: object) -> None:
        """Queued, and written by one writer in group commits: a transaction per command was
        a measured share of each command's cost (bench/). `flush` writes what is queued."""
        # Every row with every column, so one batch is one executemany.
        self._audit.append(audit_values(row))
        if len(self._audit) > AUDIT_QUEUE:
            dropped = len(self._audit) - AUDIT_QUEUE
            del self._audit[:dropped]
            log.error("the audit queue is full: dropped the %d oldest rows", dropped)
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
                log.exception("the audit writer failed; it goes on with the next rows")
                await asyncio.sleep(1)

    async def flush(self) -> None:
        """One batch; if the batch fails, each row alone, and a row that cannot be written is
        logged once and skipped: one bad row must not wedge every row after it."""
        async with self._audit_lock:
            batch, self._audit = self._audit, []
            if not batch:
                return
            try:
                await self.write(lambda conn: conn.execute(insert(tables.audit), batch))
                return
            except Exception as exc:
                if len(batch) == 1:
                    log.error("skipped an audit row the database refused: %s", type(exc).__name__)
                    return
            for one in batch:
                try:
                    await self.write(lambda conn, one=one: conn.execute(insert(tables.audit).values(**one)))
                except Exception as exc:
                    log.error("skipped an audit row the database refused: %s", type(exc).__name__)

    async def audit_rows(self) -> list[dict[str, object]]:
        await self.flush()

        def work(conn: Connection) -> list[dict[str, object]]:
            return [dict(r._mapping) for r in conn.execute(select(tables.audit).order_by(tables.audit.c.id))]

        return await self.read(work)

    # cards -----------------------------------------------------------------------
    async def set_card(self, card: CardRef) -> str | None:
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
                    at=now(),
                )
            )
            return old

        old = await self.write(work)
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

        def work(conn: Connection) -> list[CardRef]:
            rows = conn.execute(
                select(tables.cards).where(
                    tables.cards.c.provider == provider, tables.cards.c.incident_id == incident_id
                )
            )
            return [CardRef(r.team_id, r.channel_id, r.ts, r.provider, r.incident_id) for r in rows]

        found = await self.read(work)
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
            await self.write(lambda conn: conn.execute(insert(tables.idempotency).values(key=key, at=now())))
            return True
        except IntegrityError:
            if window is None:
                return False
        stale = now() - timedelta(seconds=window)

        def again(conn: Connection) -> bool:
            result = conn.execute(
                update(tables.idempotency)
                .where(tables.idempotency.c.key == key, tables.idempotency.c.at < stale)
                .values(at=now())
            )
            return bool(result.rowcount)

        return await self.write(again)


def audit_values(row: dict[str, Any]) -> dict[str, Any]:
    """An audit row as stored: every column, text cleaned and clipped (a command's text is
    at most Slack's 4,000 characters, but nothing a client sends is stored unbounded)."""
    row = dict(row)
    row.setdefault("at", now())
    if not isinstance(row.get("arguments"), str):
        row["arguments"] = json.dumps(row.get("arguments"), default=str)
    values = {c.name: row.get(c.name) for c in tables.audit.columns if c.name != "id"}
    for name in ("arguments", "detail"):
        if isinstance(values[name], str):
            values[name] = clean_text(values[name])[:4000]
    return clean_row(values)


def _unlinked(team_id: str, channel_id: str) -> str:
    return f"unlinked:{team_id}:{channel_id}"[:255]
