"""The store's engine: SQLite (default) or PostgreSQL through one SQL layer, one
transaction per call. The repositories (links, cards, audit, claims, inbox, timers) and the
built-in provider's tables all run their queries through it."""

from __future__ import annotations

import asyncio
import logging
import sqlite3
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import AbstractContextManager
from types import ModuleType
from typing import Any, TypeVar

from sqlalchemy import Connection, Engine, create_engine, event, make_url
from sqlalchemy.dialects import postgresql as postgresql_dialect
from sqlalchemy.dialects import sqlite as sqlite_dialect
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine
from sqlalchemy.pool import StaticPool

from bot.clock import SYSTEM, Clock
from bot.domain import clean_text
from bot.outage import Outage, mark, unavailable
from bot.store.peers import Peers

T = TypeVar("T")


class NotNow:
    """`Database.run_now` could not run the transaction at once."""


NOT_NOW = NotNow()
log = logging.getLogger(__name__)


def clean_row(value: Any) -> Any:
    """`clean_text` on every string in a row, a JSON value included."""
    if isinstance(value, str):
        return clean_text(value)
    if isinstance(value, dict):
        return {k: clean_row(v) for k, v in value.items()}
    if isinstance(value, list):
        return [clean_row(v) for v in value]
    return value


def json_copy(value: Any) -> Any:
    """A copy of JSON's kinds of value (what a payload or a kept value holds), for a cache
    to hand out: dicts and lists anew, the rest (never changed in place) as they are. Not
    pydantic's or `copy`'s deep copy, which cost several times this on every command's card
    (docs/performance.md, "The figures behind the code's choices")."""
    if isinstance(value, dict):
        return {k: json_copy(v) for k, v in value.items()}
    if isinstance(value, list):
        return [json_copy(v) for v in value]
    return value


# Commits between two checkpoints of the WAL into the database file, done in the store's
# thread on a connection of its own: SQLite's own checkpoint runs inside whichever commit
# crosses its threshold, and with quick transactions on the event loop that would stall
# every request for its fsyncs; on the shared connection it made them wait their turn.
CHECKPOINT_EVERY = 250
# The log's size past which a checkpoint also takes the loop's connection for the frames
# committed while it ran. That step fsyncs the database file with the connection held, and
# every ack that came meanwhile waited for it (docs/performance.md, "The figures behind the
# code's choices"). Without it, a log written without a pause never starts over, so it is kept
# for a log this large; the file is cut back to this size when the log starts over.
WAL_LIMIT = 16 * 1024 * 1024
# PostgreSQL's pool (see Database): beside the commands' connections, those the process holds
# for its whole life, the advisory locks' (bot/store/locks.py) and the listener's
# (bot/store/peers.py), and how long a transaction may wait for a free connection.
POOL_HELD = 2
POOL_WAIT = 5.0
# Beside the work slots' transactions: the inbox's batch, the audit's, the timers' round and
# the lease's renewal, each one transaction at a time.
POOL_BESIDE = 4


def pool_for(work_slots: int, most: int) -> int:
    """Connections for transactions: one per work slot and per background writer, at most
    `most` (DATABASE_POOL_MAX: PostgreSQL's max_connections is shared by every process)."""
    return max(1, min(work_slots + POOL_BESIDE, most))


def _sqlite_pragmas(dbapi_connection: Any, _record: object) -> None:
    """WAL: readers don't wait for the writer, and a commit appends instead of rewriting;
    synchronous=NORMAL is WAL's durable-on-crash setting (a power cut may lose the last commit,
    a killed process loses nothing). No automatic checkpoint: see CHECKPOINT_EVERY."""
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA wal_autocheckpoint=0")
    cursor.execute(f"PRAGMA journal_size_limit={WAL_LIMIT}")
    cursor.close()


def checkpoint(conn: sqlite3.Connection, lock: AbstractContextManager[object]) -> bool:
    """The checkpoint's step, on `conn` (the store thread's own connection): PASSIVE without
    `lock` (the loop's connection's), which copies what was committed before it started; past
    WAL_LIMIT of log, PASSIVE again under `lock`, for what was committed meanwhile, so that the
    log is complete in the file and the next commit starts it over (and cuts the file back to
    WAL_LIMIT: journal_size_limit). True where it took the lock."""
    _, frames, _ = conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
    page_size = int(conn.execute("PRAGMA page_size").fetchone()[0])
    if frames * page_size <= WAL_LIMIT:
        return False
    with lock:
        conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
    return True


class Database:
    """Every transaction is one function over a sync `Connection`, handed over whole:

    - SQLite (the default): one connection on a sync engine, used by one thread at a time
      (a lock), so writers never wait on each other's locks. A `quick` transaction (a few
      rows by key: the inbox, a card, a link, a timer) runs right where it is awaited, on
      the event loop, when the connection is free: SQLite's own work is far less than
      handing it to another thread, a wake-up and the GIL passed back and forth with the
      loop, which was most of the ack's wait under load (docs/performance.md, "The figures
      behind the code's choices"). Anything else, and a quick one that finds the connection in use, runs in
      the store's one thread, in turn.
    - PostgreSQL: run with `run_sync` on the async engine (asyncpg), for several bot
      processes sharing one store.

    `cache`: the repositories keep what they read in memory, written through. Right only where this
    process is the store's one user: SQLite, never PostgreSQL shared by several bot
    processes, where another process may relink a channel at any time. There, what another
    process changed is heard (`peers`, LISTEN/NOTIFY), and the links and the incidents are
    reused while it is (`reuse`); `cache=False` turns that off too.
    """

    def __init__(
        self,
        url: str,
        cache: bool | None = None,
        clock: Clock = SYSTEM,
        *,
        connect_timeout: float | None = None,
        pool: int | None = None,
    ) -> None:
        """`pool` (PostgreSQL): connections for transactions, opened at `start` and kept
        (`pool_size`); None leaves SQLAlchemy's default, for a store opened for a moment
        (`migrate`, a test's look at the rows)."""
        self.url = url
        self.pool: int | None = None
        # PostgreSQL: what the other processes changed (bot/store/peers.py), so reads can be
        # reused there too; None on SQLite, where `cache` says it all.
        self.peers: Peers | None = None
        # Whether the database answers, as the last transaction found it: one line when it
        # stops, one when it is back (bot/outage.py), and the readiness check's answer.
        self.outage = Outage()
        # What every repository on this engine stamps its rows with (bot/clock.py): the
        # runtime's one clock, so a test's clock dates the rows the timers then compare.
        self.clock = clock
        sqlite = url.startswith("sqlite")
        # A SQLite file has one bot process (docs/deployment.md): at start, whatever it left pending
        # in the inbox is this process's to answer. PostgreSQL may be shared by several.
        self.single_process = sqlite
        self.cache = sqlite if cache is None else cache
        self.engine: AsyncEngine | None = None
        self.sync_engine: Engine | None = None
        self._conn: Connection | None = None  # SQLite: the one connection, held under _lock
        self._lock = threading.Lock()
        self._commits = 0
        self._checkpointing = False
        self._checkpointer: sqlite3.Connection | None = None  # the store thread's own
        self._file: str | None = None  # SQLite on disk: what the checkpointer opens
        if sqlite:
            sync_url = make_url(url).set(drivername="sqlite")
            memory = sync_url.database in (None, "", ":memory:")
            kwargs: dict[str, Any] = {"connect_args": {"timeout": 15, "check_same_thread": False}}
            kwargs |= {"poolclass": StaticPool} if memory else {"pool_size": 1, "max_overflow": 0}
            self.sync_engine = create_engine(sync_url, **kwargs)
            if not memory:
                self._file = sync_url.database
                event.listen(self.sync_engine, "connect", _sqlite_pragmas)
            self._thread = ThreadPoolExecutor(1, thread_name_prefix="store")
        else:
            # asyncpg waits a minute for a connection by default: to a partitioned server that
            # is a minute of every transaction's wait, the ack's included.
            connect = {"timeout": connect_timeout} if connect_timeout else {}
            # A pool of `pool` connections and no overflow: an overflow connection is closed
            # as soon as it is handed back, and with more commands at once than the pool held
            # (SQLAlchemy's default is 5 + 10) connections were opened and closed all the time.
            # A connection is never waited for longer than POOL_WAIT: past it, the connections
            # are stuck (a partition), and the wait is the outage's, told as one.
            sized = {} if pool is None else {"pool_size": pool + POOL_HELD, "max_overflow": 0}
            self.pool = None if pool is None else pool + POOL_HELD
            self.engine = create_async_engine(url, connect_args=connect, pool_timeout=POOL_WAIT, **sized)
            if cache is not False:
                self.peers = Peers(self.engine)

    @property
    def reuse(self) -> bool:
        """Whether what was read may be kept and reused now: on SQLite with `cache`, on
        PostgreSQL while this process hears every other one's changes."""
        return self.cache or (self.peers is not None and self.peers.live)

    async def open_pool(self) -> None:
        """Every connection of the pool opened now, and listening for the other processes:
        a burst then waits for no connect, and the steady load opens none (bench/pg.py)."""
        if self.engine is None:
            return
        if self.pool is not None:
            conns = []
            try:
                for _ in range(self.pool):
                    conns.append(await self.engine.connect())
                    await conns[-1].get_raw_connection()  # connected, not only checked out
            except Exception as exc:
                log.info("opened %d of %d connections at start: %s", len(conns), self.pool, exc)
            finally:
                for conn in conns:
                    await conn.close()
        if self.peers is not None:
            await self.peers.start()

    @property
    def dialect(self) -> ModuleType:
        """SQLAlchemy's dialect module for this store, for what Core spells per dialect
        (`insert(...).on_conflict_do_…`)."""
        return sqlite_dialect if self.sync_engine is not None else postgresql_dialect

    async def read(
        self,
        work: Callable[[Connection], T],
        on_commit: Callable[[T], object] | None = None,
        *,
        quick: bool = False,
    ) -> T:
        return await self._run(work, write=False, on_commit=on_commit, quick=quick)

    async def write(
        self,
        work: Callable[[Connection], T],
        on_commit: Callable[[T], object] | None = None,
        *,
        quick: bool = False,
    ) -> T:
        """`work` runs in one transaction, committed if it returns, rolled back if it raises.

        `on_commit` runs once the commit succeeded, before any later transaction starts on
        SQLite (under the connection's lock): the place to update a cache, so the next change
        is built on this one and never on a snapshot from before it.

        `quick`: a few rows by key, nothing that grows with the data; on SQLite it may run on
        the calling (event loop) thread, which waits for it."""
        return await self._run(work, write=True, on_commit=on_commit, quick=quick)

    async def _run(
        self,
        work: Callable[[Connection], T],
        *,
        write: bool,
        on_commit: Callable[[T], object] | None = None,
        quick: bool = False,
    ) -> T:
        try:
            result = await self._transaction(work, write=write, on_commit=on_commit, quick=quick)
        except Exception as exc:
            if unavailable(exc):
                self.outage.failed(exc)
                mark(exc)
            raise
        if self.outage.since is not None:
            self.outage.answered()
        return result

    async def ping(self, seconds: float) -> str | None:
        """None when a `SELECT 1` is answered within `seconds`; else why not, in a few words."""
        try:
            async with asyncio.timeout(seconds):
                await self.read(lambda conn: conn.exec_driver_sql("SELECT 1").scalar())
        except TimeoutError:
            self.outage.failed(TimeoutError(f"no answer within {seconds:g} s"))
            return f"the database did not answer within {seconds:g} s"
        except Exception as exc:
            if not unavailable(exc):
                raise
            return "the database isn't answering"
        return None

    async def _transaction(
        self,
        work: Callable[[Connection], T],
        *,
        write: bool,
        on_commit: Callable[[T], object] | None = None,
        quick: bool = False,
    ) -> T:
        if quick:
            now = self.run_now(work, write=write, on_commit=on_commit)
            if not isinstance(now, NotNow):
                return now
        if self.sync_engine is not None:
            result = await asyncio.get_running_loop().run_in_executor(
                self._thread, self._locked, work, write, on_commit
            )
            if write:
                self._count_commit()
            return result
        assert self.engine is not None
        async with self.engine.begin() if write else self.engine.connect() as conn:
            result = await conn.run_sync(work)
        if on_commit is not None:
            on_commit(result)
        return result

    def run_now(
        self, work: Callable[[Connection], T], *, write: bool, on_commit: Callable[[T], object] | None = None
    ) -> T | NotNow:
        """The transaction here and now, on the calling thread, if it can be: SQLite, with the
        connection free. NotNow otherwise (PostgreSQL, or the store's thread is using it), and
        nothing was done. For callers that must not be suspended half-way: a task cancelled
        while it waits for the store's thread could not hand out what a batch wrote."""
        if self.sync_engine is None or not self._lock.acquire(blocking=False):
            return NOT_NOW
        try:
            result = self._sync(work, write, on_commit)
        finally:
            self._lock.release()
        if write:
            self._count_commit()
        return result

    def _locked(
        self, work: Callable[[Connection], T], write: bool, on_commit: Callable[[T], object] | None
    ) -> T:
        with self._lock:
            return self._sync(work, write, on_commit)

    def _count_commit(self) -> None:
        """Every CHECKPOINT_EVERY commits, a checkpoint in the store's thread (PASSIVE: it
        copies what it can and never waits on, or blocks, a writer)."""
        self._commits += 1
        if self._file is not None and self._commits >= CHECKPOINT_EVERY and not self._checkpointing:
            self._commits = 0
            self._checkpointing = True
            asyncio.get_running_loop().run_in_executor(self._thread, self._checkpoint)

    def _checkpoint(self) -> None:
        """In the store's thread, on its own connection, without the lock: a PASSIVE
        checkpoint copies the log's frames into the database file (and waits for its fsyncs,
        10 to 15 ms here) while the loop goes on committing. Where no commit came while it
        ran, the next commit starts the log over. Under a load without a pause one always
        does, and the log grows; past WAL_LIMIT, the frames committed meanwhile are copied
        too, under the lock, so the log is complete in the file and starts over."""
        assert self._file is not None
        try:
            if self._checkpointer is None:
                self._checkpointer = sqlite3.connect(self._file, timeout=15, check_same_thread=False)
                self._checkpointer.execute("PRAGMA synchronous=NORMAL")
            checkpoint(self._checkpointer, self._lock)
        except sqlite3.Error:
            # Not fatal: the WAL grows until the next checkpoint does its work.
            log.warning("could not checkpoint the SQLite write-ahead log", exc_info=True)
            self._close_checkpointer()
        finally:
            # Here, not in a callback on the loop: a loop whose every await completes at once
            # (quick writes back to back) would never run it, and never checkpoint again.
            self._checkpointing = False

    def _close_checkpointer(self) -> None:
        if self._checkpointer is not None:
            self._checkpointer.close()
            self._checkpointer = None

    def _connection(self) -> Connection:
        # The connection stays checked out: a pool checkout and reset per transaction cost
        # more than a small transaction's own SQL (issue 16's profile). A connection that
        # failed is dropped, and the next transaction opens a new one.
        if self._conn is None:
            assert self.sync_engine is not None
            self._conn = self.sync_engine.connect()
        return self._conn

    def _sync(
        self, work: Callable[[Connection], T], write: bool, on_commit: Callable[[T], object] | None
    ) -> T:
        """Under `_lock`, on whichever thread holds it."""
        conn = self._connection()
        try:
            if write:
                with conn.begin():
                    result = work(conn)
            else:
                try:
                    result = work(conn)
                finally:
                    conn.rollback()  # a read ends its snapshot: WAL keeps no reader pinned
        except Exception:
            if conn.invalidated or conn.closed:
                self._drop()
            raise
        if on_commit is not None:
            on_commit(result)
        return result

    def _drop(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def _dispose(self) -> None:
        self._close_checkpointer()
        with self._lock:
            self._drop()
        assert self.sync_engine is not None
        self.sync_engine.dispose()

    async def close(self) -> None:
        if self.sync_engine is not None:
            await asyncio.get_running_loop().run_in_executor(self._thread, self._dispose)
            self._thread.shutdown(wait=False)
        if self.peers is not None:
            await self.peers.close()
        if self.engine is not None:
            await self.engine.dispose()
