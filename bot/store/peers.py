"""What the other bot processes on one PostgreSQL store changed, told by LISTEN/NOTIFY, so that
each process can reuse what it read (a channel's link, an incident) and still never serve
what another process has since changed.

Why: without it, a process sharing the store could trust nothing it had read before, and
every command read its channel's link from the database and its incident from the
provider again (issue 29: twice the provider reads of one SQLite process). Each process
LISTENs on one channel; a write that changes a link NOTIFYs inside its own transaction (so
the notice goes out exactly when the change is committed), and a change to an incident
(the bot's own, or a webhook's refresh) is told as soon as it is known. A listener drops
its entries for the keys it is told, and ignores its own notices.

A notice missed is a stale entry kept, so reuse is on only while the listening connection
is up and known to be: when it is lost (closed, or a heartbeat unanswered), every entry is
dropped and every read goes to the store or the provider until it is back, and once more
on its return (what was told meanwhile went to nobody). `epoch` counts those turns, so a
read that began on one side of a turn is never kept on the other.
"""

from __future__ import annotations

import asyncio
import json
import logging
import uuid
from collections.abc import Callable, Iterable
from typing import Any

from sqlalchemy import Connection, func, select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from bot.outage import unavailable

log = logging.getLogger(__name__)
CHANNEL = "incident_bot_changes"
# Seconds between two checks that the listening connection still answers, and how long one
# may take: a connection cut off without a FIN (a partition) is otherwise never seen as lost.
HEARTBEAT = 2.0
HEARTBEAT_WAIT = 1.0
RETRY_FIRST, RETRY_LONGEST = 0.1, 2.0  # seconds between tries to listen again
MAX_PAYLOAD = 7000  # PostgreSQL refuses a notice over 8000 bytes: a longer batch is split

Drop = Callable[[list[Any]], None]  # the keys another process changed
Reset = Callable[[], None]  # everything: notices may have been missed


class Peers:
    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine
        self.origin = uuid.uuid4().hex[:12]  # this process, in its own notices
        self.live = False
        self.epoch = 0
        self._drops: dict[str, list[Drop]] = {}
        self._resets: list[Reset] = []
        self._conn: AsyncConnection | None = None
        self._using = asyncio.Lock()  # one statement at a time on the listening connection
        self._lost = asyncio.Event()
        self._keeper: asyncio.Task[None] | None = None
        self._outbox: dict[str, list[Any]] = {}
        self._sender: asyncio.Task[None] | None = None
        self.received = 0  # notices from other processes acted on (tests, metrics)
        self.backend: int | None = None  # the listening connection's server pid (pg_stat_activity)

    def on(self, kind: str, drop: Drop, reset: Reset) -> None:
        """`drop` gets the keys of `kind` another process changed; `reset` runs at every
        turn of `epoch` (see the module)."""
        self._drops.setdefault(kind, []).append(drop)
        self._resets.append(reset)

    async def start(self) -> None:
        """Listen now, where the database lets it (else reuse stays off until it does)."""
        if self._keeper is None:
            await self._listen()
            self._keeper = asyncio.get_running_loop().create_task(self._keep())

    # -- telling ---------------------------------------------------------------------------

    def tell_in(self, conn: Connection, kind: str, keys: list[Any]) -> None:
        """In the caller's transaction: delivered when it commits, never if it rolls back."""
        for payload in self._payloads(kind, keys):
            conn.execute(select(func.pg_notify(CHANNEL, payload)))

    def tell(self, kind: str, keys: list[Any]) -> None:
        """Soon, on the listening connection (or the pool's while it is down): what a command
        changes at a provider has no transaction of ours to ride on. Told in batches, one
        statement for what came meanwhile."""
        self._outbox.setdefault(kind, []).extend(keys)
        if self._sender is None or self._sender.done():
            self._sender = asyncio.get_running_loop().create_task(self._send())

    def _payloads(self, kind: str, keys: list[Any]) -> list[str]:
        out: list[str] = []
        batch: list[Any] = []
        for key in keys:
            batch.append(key)
            if len(json.dumps(batch)) > MAX_PAYLOAD and len(batch) > 1:
                out.append(json.dumps([self.origin, kind, batch[:-1]]))
                batch = [key]
        if batch:
            out.append(json.dumps([self.origin, kind, batch]))
        return out

    async def _send(self) -> None:
        while self._outbox:
            outbox, self._outbox = self._outbox, {}
            payloads = [p for kind, keys in outbox.items() for p in self._payloads(kind, keys)]
            try:
                await self._notify(payloads)
            except Exception as exc:
                # The others keep what they read for the cache's seconds at the most
                # (bot/commands/fresh.py), as for a change made in the provider's own UI.
                # An outage is told once, by the store (bot/outage.py), not once a batch.
                level = logging.DEBUG if unavailable(exc) else logging.WARNING
                log.log(level, "could not tell the other bot processes of a change: %s", type(exc).__name__)

    async def _notify(self, payloads: list[str]) -> None:
        query = "SELECT pg_notify($1, p) FROM unnest($2::text[]) AS p"
        async with self._using:
            if self.live and self._conn is not None:
                raw = await self._conn.get_raw_connection()
                await raw.driver_connection.execute(query, CHANNEL, payloads)  # type: ignore[union-attr]  # asyncpg's own connection: set on PostgreSQL
                return
        async with self._engine.connect() as conn:
            raw = await conn.get_raw_connection()
            await raw.driver_connection.execute(query, CHANNEL, payloads)  # type: ignore[union-attr]  # asyncpg's own connection: set on PostgreSQL

    # -- listening -------------------------------------------------------------------------

    def _received(self, _conn: object, _pid: int, _channel: str, payload: str) -> None:
        try:
            origin, kind, keys = json.loads(payload)
        except ValueError:
            return
        if origin == self.origin:
            return
        drops = self._drops.get(kind, [])
        if drops:
            self.received += 1
        for drop in drops:
            drop(as_keys(keys))

    def _terminated(self, _conn: object) -> None:
        """At once, not at the keeper's next turn: nothing kept is handed out from here on."""
        self._lost.set()
        self._down()

    def _down(self) -> None:
        if self.live:
            log.warning(
                "lost the connection that hears other processes' changes: reusing no read until it is back"
            )
            self._turn(False)

    def _turn(self, live: bool) -> None:
        self.live = live
        self.epoch += 1
        for reset in self._resets:
            reset()

    async def _listen(self) -> bool:
        conn: AsyncConnection | None = None
        try:
            conn = await self._engine.connect()
            conn = await conn.execution_options(isolation_level="AUTOCOMMIT")
            raw = await conn.get_raw_connection()
            driver: Any = raw.driver_connection
            await driver.add_listener(CHANNEL, self._received)
            driver.add_termination_listener(self._terminated)
            self.backend = int(driver.get_server_pid())
        except Exception as exc:
            log.info("not listening for other processes' changes yet: %s", type(exc).__name__)
            if conn is not None:
                await _close(conn)
            return False
        self._conn = conn
        self._lost.clear()
        self._turn(True)
        return True

    async def _lose(self) -> None:
        self._down()
        conn, self._conn = self._conn, None
        if conn is not None:
            await _close(conn)

    async def _keep(self) -> None:
        """Up: a heartbeat every HEARTBEAT seconds, or at once when the connection says it
        closed. Down: tries to listen again, more and more slowly."""
        retry = RETRY_FIRST
        while True:
            if self._conn is None:
                await asyncio.sleep(retry)
                if await self._listen():
                    log.info("hearing other processes' changes again: reads are reused again")
                    retry = RETRY_FIRST
                else:
                    retry = min(retry * 2, RETRY_LONGEST)
                continue
            try:
                await asyncio.wait_for(self._lost.wait(), HEARTBEAT)
            except TimeoutError:
                if await self._beat():
                    continue
            await self._lose()

    async def _beat(self) -> bool:
        conn = self._conn
        if conn is None:
            return False
        try:
            async with asyncio.timeout(HEARTBEAT_WAIT), self._using:
                raw = await conn.get_raw_connection()
                await raw.driver_connection.fetchval("SELECT 1")  # type: ignore[union-attr]  # asyncpg's own connection: set on PostgreSQL
        except Exception:
            return False
        return not self._lost.is_set()

    async def close(self) -> None:
        for task in (self._keeper, self._sender):
            if task is not None:
                task.cancel()
                await asyncio.gather(task, return_exceptions=True)
        self._keeper = None
        self.live = False
        conn, self._conn = self._conn, None
        if conn is not None:
            await _close(conn)


async def _close(conn: AsyncConnection) -> None:
    """Invalidated, never handed back to the pool: it would go on listening for whoever
    checked it out next."""
    try:
        await conn.invalidate()
        await conn.close()
    except Exception:
        log.debug("the listening connection was already gone", exc_info=True)


def as_keys(values: Iterable[Any]) -> list[Any]:
    """The keys as they were told: JSON turned their tuples into lists."""
    return [tuple(v) if isinstance(v, list) else v for v in values]
