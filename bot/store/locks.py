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
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Protocol

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

log = logging.getLogger(__name__)
_TRY = text("SELECT pg_try_advisory_lock(hashtextextended(:key, 0))")
_FREE = text("SELECT pg_advisory_unlock(hashtextextended(:key, 0))")
FIRST_WAIT, LONGEST_WAIT = 0.005, 0.05  # seconds between tries while another process holds it


class Waiting(Protocol):
    """Called around a wait for a turn: the caller's work slot given back meanwhile
    (bot/commands/slots.py), so a command that only waits holds none."""

    def __call__(self) -> AbstractAsyncContextManager[None]: ...


@asynccontextmanager
async def _no_wait() -> AsyncIterator[None]:
    yield


class Turn:
    """A place in one key's queue, taken the moment it is reserved and waited for later:
    changes keep the order they came in even when the work between (authorizing, reading)
    takes longer for one than for the next."""

    def __init__(self, owner: KeyedLocks, key: str, lock: asyncio.Lock) -> None:
        self._owner, self._key, self._lock = owner, key, lock
        # asyncio.Lock wakes its waiters in the order they asked: asking now keeps our place.
        self._asked = asyncio.ensure_future(lock.acquire())
        self._left = False

    async def reached(self, waiting: Waiting | None = None) -> None:
        """Until it is this turn; `waiting` wraps the wait, where there is one."""
        if self._asked.done() or waiting is None:
            await self._asked
            return
        async with waiting():
            await self._asked

    def leave(self) -> None:
        """Done, or never to be waited for (refused): the next in line goes."""
        if self._left:
            return
        self._left = True
        if self._asked.done() and not self._asked.cancelled() and self._asked.exception() is None:
            self._lock.release()
        else:
            self._asked.cancel()  # still waiting: the lock passes it over
        self._owner._forget(self._key)


class KeyedLocks:
    """A lock per key, forgotten when nobody holds or waits for it."""

    def __init__(self) -> None:
        self._locks: dict[str, tuple[asyncio.Lock, int]] = {}

    def reserve(self, key: str) -> Turn:
        lock, users = self._locks.get(key, (None, 0))
        if lock is None:
            lock = asyncio.Lock()
        self._locks[key] = (lock, users + 1)
        return Turn(self, key, lock)

    def _forget(self, key: str) -> None:
        lock, users = self._locks[key]
        if users == 1:
            del self._locks[key]
        else:
            self._locks[key] = (lock, users - 1)

    @asynccontextmanager
    async def hold(self, key: str, waiting: Waiting | None = None) -> AsyncIterator[None]:
        turn = self.reserve(key)
        try:
            await turn.reached(waiting)
            yield
        finally:
            turn.leave()


class IncidentLocks:
    def __init__(self, engine: AsyncEngine | None) -> None:
        """`engine`: the PostgreSQL store's; None (SQLite: one process) locks in-process only."""
        self._local = KeyedLocks()
        self._engine = engine
        self._conn: AsyncConnection | None = None
        self._using = asyncio.Lock()  # one statement at a time on the one connection

    def reserve(self, key: str) -> Turn:
        """A place in `key`'s queue in this process, taken now (see `hold`)."""
        return self._local.reserve(key)

    @asynccontextmanager
    async def hold(
        self,
        key: str,
        *,
        across_processes: bool,
        waiting: Waiting | None = None,
        turn: Turn | None = None,
    ) -> AsyncIterator[None]:
        """`key`'s turn: `turn` where the place was reserved earlier (it is left here)."""
        turn = turn or self._local.reserve(key)
        try:
            await turn.reached(waiting)
            held = (
                across_processes
                and self._engine is not None
                and await self._acquire(f"incident:{key}", waiting)
            )
            try:
                yield
            finally:
                if held:
                    await self._release(f"incident:{key}")
        finally:
            turn.leave()

    async def _acquire(self, key: str, waiting: Waiting | None = None) -> bool:
        """Wait for the lock; False when the database cannot be asked (the change then goes
        on, serialised in this process only: refusing every change while the database
        blips would be worse in an outage). Another process holding it: `waiting` wraps
        the polling, as it wraps the wait in this process."""
        got = await self._try(key)
        if got is not None:
            return got
        async with waiting() if waiting is not None else _no_wait():
            wait = FIRST_WAIT
            while True:
                await asyncio.sleep(wait)
                wait = min(wait * 2, LONGEST_WAIT)
                got = await self._try(key)
                if got is not None:
                    return got

    async def _try(self, key: str) -> bool | None:
        """True: taken; False: the database can't be asked; None: another process has it."""
        try:
            async with self._using:
                conn = await self._connection()
                if (await conn.execute(_TRY, {"key": key})).scalar():
                    return True
                return None
        except Exception as exc:
            log.warning("could not take the lock on %s across processes: %s", key, type(exc).__name__)
            await self._drop()
            return False

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
