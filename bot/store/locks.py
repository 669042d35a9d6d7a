"""Changes to one incident, one at a time: in this process, and across the processes that
share a PostgreSQL store.

Why: two people changing INC-3 through two bot processes at the same moment made two
overlapping writes at the provider, each process holding only its own lock. The built-in
provider locks its incident's row in the change's transaction; an incident at a remote
provider has no row of ours to lock, so a session-level advisory lock stands in for one.
It is held through the provider's HTTP calls, so it lives on one connection per process
that does nothing else: a pooled connection held that long per change would starve the
store (the inbox and the audit share its pool). The connection asks without waiting
(`pg_try_advisory_lock`) and the caller polls, so one busy incident never blocks the
others'. A process that dies drops its connection, and PostgreSQL frees its locks.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

log = logging.getLogger(__name__)
_TRY = text("SELECT pg_try_advisory_lock(hashtextextended(:key, 0))")
_FREE = text("SELECT pg_advisory_unlock(hashtextextended(:key, 0))")
FIRST_WAIT, LONGEST_WAIT = 0.005, 0.05  # seconds between tries while another process holds it


class KeyedLocks:
    """A lock per key, forgotten when nobody holds or waits for it."""

    def __init__(self) -> None:
        self._locks: dict[str, tuple[asyncio.Lock, int]] = {}

    @asynccontextmanager
    async def hold(self, key: str) -> AsyncIterator[None]:
        lock, users = self._locks.get(key, (None, 0))
        if lock is None:
            lock = asyncio.Lock()
        self._locks[key] = (lock, users + 1)
        try:
            async with lock:
                yield
        finally:
            lock, users = self._locks[key]
            if users == 1:
                del self._locks[key]
            else:
                self._locks[key] = (lock, users - 1)


class IncidentLocks:
    def __init__(self, engine: AsyncEngine | None) -> None:
        """`engine`: the PostgreSQL store's; None (SQLite: one process) locks in-process only."""
        self._local = KeyedLocks()
        self._engine = engine
        self._conn: AsyncConnection | None = None
        self._using = asyncio.Lock()  # one statement at a time on the one connection

    @asynccontextmanager
    async def hold(self, key: str, *, across_processes: bool) -> AsyncIterator[None]:
        async with self._local.hold(key):
            held = across_processes and self._engine is not None and await self._acquire(f"incident:{key}")
            try:
                yield
            finally:
                if held:
                    await self._release(f"incident:{key}")

    async def _acquire(self, key: str) -> bool:
        """Wait for the lock; False when the database cannot be asked (the change then goes
        on, serialised in this process only: refusing every change while the database
        blips would be worse in an outage)."""
        wait = FIRST_WAIT
        while True:
            try:
                async with self._using:
                    conn = await self._connection()
                    if (await conn.execute(_TRY, {"key": key})).scalar():
                        return True
            except Exception as exc:
                log.warning("could not take the lock on %s across processes: %s", key, type(exc).__name__)
                await self._drop()
                return False
            await asyncio.sleep(wait)
            wait = min(wait * 2, LONGEST_WAIT)

    async def _release(self, key: str) -> None:
        try:
            async with self._using:
                conn = await self._connection()
                await conn.execute(_FREE, {"key": key})
        except Exception as exc:
            # Dropping the connection frees every lock it held: none is left behind.
            log.warning("could not free the lock on %s: %s", key, type(exc).__name__)
            await self._drop()

    async def _connection(self) -> AsyncConnection:
        if self._conn is None:
            assert self._engine is not None
            conn = await self._engine.connect()
            # No transaction left open between statements ("idle in transaction").
            self._conn = await conn.execution_options(isolation_level="AUTOCOMMIT")
        return self._conn

    async def _drop(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            try:
                await conn.close()
            except Exception:
                log.info("the lock connection was already gone")

    async def close(self) -> None:
        async with self._using:
            await self._drop()
