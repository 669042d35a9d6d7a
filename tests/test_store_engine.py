"""SQLite's one connection, shared by the event loop (quick transactions) and the store's
thread (everything else): who runs what, in which order, and that nothing a batch wrote is
lost when a waiter goes away."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Connection, insert, select

from bot.store import engine, tables
from bot.store.engine import Database
from bot.store.inbox import Inbox
from tests.helpers import wait_until


@pytest.fixture
async def db(tmp_path: Path) -> Database:
    store = Database(f"sqlite+aiosqlite:///{tmp_path / 'bot.db'}")
    await store.write(lambda conn: tables.metadata.create_all(conn))
    yield store  # type: ignore[misc]
    await store.close()


def _idempotency(conn: Connection, key: str) -> None:
    from bot.clock import SYSTEM

    conn.execute(insert(tables.idempotency).values(key=key, at=SYSTEM.now()))


async def _keys(db: Database) -> list[str]:
    return await db.read(lambda conn: [r.key for r in conn.execute(select(tables.idempotency.c.key))])


async def test_quick_runs_on_the_loop_and_the_rest_in_the_store_thread(db: Database) -> None:
    loop_thread = threading.get_ident()
    seen: dict[str, int] = {}

    def where(name: str) -> object:
        return lambda conn: seen.setdefault(name, threading.get_ident())

    await db.write(where("quick write"), quick=True)
    await db.read(where("quick read"), quick=True)
    await db.write(where("write"))
    await db.read(where("read"))
    assert seen["quick write"] == seen["quick read"] == loop_thread
    assert seen["write"] == seen["read"] != loop_thread


def _not_now(db: Database, monkeypatch: pytest.MonkeyPatch) -> list[object]:
    """Every time a quick transaction found the connection taken (and went to the thread)."""
    found: list[object] = []
    run_now = db.run_now

    def spy(*args: Any, **kwargs: Any) -> Any:
        result = run_now(*args, **kwargs)
        if result is engine.NOT_NOW:
            found.append(result)
        return result

    monkeypatch.setattr(db, "run_now", spy)
    return found


async def test_a_quick_one_waits_its_turn_when_the_thread_holds_the_connection(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The loop never waits on the lock: a quick transaction that finds the connection busy
    goes to the thread, after the one under way, and the loop meanwhile runs other work."""
    started, release = threading.Event(), threading.Event()
    order: list[str] = []

    def slow(conn: Connection) -> None:
        started.set()
        assert release.wait(10)
        _idempotency(conn, "slow")
        order.append("slow")

    def quick(conn: Connection) -> None:
        _idempotency(conn, "quick")
        order.append("quick")

    slow_one = asyncio.ensure_future(db.write(slow))
    assert await asyncio.to_thread(started.wait, 10)
    not_now = _not_now(db, monkeypatch)
    quick_one = asyncio.ensure_future(db.write(quick, quick=True))
    await wait_until(lambda: len(not_now) == 1, what="the quick one handed to the thread")
    assert order == [] and not quick_one.done()  # the loop was free to run this line
    release.set()
    await asyncio.gather(slow_one, quick_one)
    assert order == ["slow", "quick"]
    assert sorted(await _keys(db)) == ["quick", "slow"]


async def test_a_cancelled_waiter_loses_nobody_elses_answer(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Accepts queued behind a busy store thread are written as one batch by a task; one
    caller going away (its ack gave up) leaves the others their answers. Its own row is a
    tombstone: never acked, so never run (issue 29); the same request sent again is taken
    then, once, and a replay of that one is recognised."""
    inbox = Inbox(db, "me")
    started, release = threading.Event(), threading.Event()

    def hold(conn: Connection) -> None:
        started.set()
        assert release.wait(10)

    holding = asyncio.ensure_future(db.write(hold))
    assert await asyncio.to_thread(started.wait, 10)
    not_now = _not_now(db, monkeypatch)
    accepts = [asyncio.ensure_future(inbox.accept(f"k{n}", "command", "ack", {"n": n})) for n in range(3)]
    # The batch tried at once, then handed to the thread by its task, all three waiting in it.
    await wait_until(lambda: len(not_now) == 2, what="the batch handed to the thread")
    assert not any(a.done() for a in accepts)
    accepts[1].cancel()
    release.set()
    await holding
    # A bounded wait: before, the cancelled waiter's future stopped the batch's hand-out, and
    # the callers after it waited for ever.
    first, third = await asyncio.wait_for(asyncio.gather(accepts[0], accepts[2]), 10)
    assert first is True and third is True
    assert await inbox.settled(10)
    states = {r["key"]: r["state"] for r in await inbox.rows()}
    assert states == {"k0": "pending", "k1": "refused", "k2": "pending"}
    assert await inbox.accept("k1", "command", "ack", {"n": 1}) is True  # sent again: taken
    assert await inbox.accept("k1", "command", "ack", {"n": 1}) is False  # a replay


class _Recording(sqlite3.Connection):
    """The checkpointer's connection, keeping the checkpoints it ran and whether the loop's
    connection's lock was held meanwhile."""

    turn: _Turn | None = None

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.checkpoints: list[tuple[str, bool]] = []

    def execute(self, sql: str, *args: Any) -> sqlite3.Cursor:
        if sql.startswith("PRAGMA wal_checkpoint"):
            held = self.turn is not None and self.turn.held
            self.checkpoints.append((sql.removeprefix("PRAGMA wal_checkpoint"), held))
        return super().execute(sql, *args)


class _Turn:
    """The loop's connection's lock, as the checkpoint takes it. Taking it waits for the
    transaction under way on that connection: here `reader`, which ends."""

    def __init__(self, lock: threading.Lock, reader: sqlite3.Connection) -> None:
        self.lock, self.reader = lock, reader
        self.taken = 0
        self.held = False

    def __enter__(self) -> None:
        self.reader.rollback()
        self.lock.acquire()
        self.taken += 1
        self.held = True

    def __exit__(self, *_: object) -> None:
        self.held = False
        self.lock.release()


async def _checkpoint_a_busy_log(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, wal_limit: int
) -> dict[str, Any]:
    """A log written without a pause, and the checkpoint's step run on it (engine.checkpoint).
    Commits that come while a checkpoint runs are past what it copies; a reader's snapshot
    stops it short of them the same way, and here stands for them: it is open while the
    checkpoint runs unlocked, and ends when the checkpoint takes the loop's lock (no commit
    runs under it). Then the next commit, and what the log became."""
    monkeypatch.setattr(engine, "CHECKPOINT_EVERY", 10**9)  # only the test's own checkpoint
    monkeypatch.setattr(engine, "WAL_LIMIT", wal_limit)
    file, wal = tmp_path / "bot.db", tmp_path / "bot.db-wal"
    db = Database(f"sqlite+aiosqlite:///{file}")
    await db.write(lambda conn: tables.metadata.create_all(conn))
    for n in range(50):
        await db.write(lambda conn, n=n: _idempotency(conn, f"before{n}"), quick=True)
    reader = sqlite3.connect(file, isolation_level=None)
    reader.execute("BEGIN")
    assert reader.execute("SELECT count(*) FROM idempotency").fetchone() == (50,)
    for n in range(50):  # committed while the checkpoint runs
        await db.write(lambda conn, n=n: _idempotency(conn, f"during{n}"), quick=True)
    checkpointer = sqlite3.connect(file, factory=_Recording)
    assert isinstance(checkpointer, _Recording)
    checkpointer.turn = turn = _Turn(db._lock, reader)
    grown = wal.stat().st_size
    took_the_lock = engine.checkpoint(checkpointer, turn)
    reader.rollback()
    reader.close()
    await db.write(lambda conn: _idempotency(conn, "after"), quick=True)  # the next commit
    result = {
        "took_the_lock": took_the_lock,
        "turns": turn.taken,
        "checkpoints": checkpointer.checkpoints,
        "grown": grown,
        "wal_size": wal.stat().st_size,
        # A checkpoint of its own reports the frames in the log (it runs last: it changes nothing asserted).
        "log_frames": sqlite3.connect(file).execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()[1],
        "keys": len(await _keys(db)),
    }
    checkpointer.close()
    await db.close()
    return result


async def test_past_wal_limit_the_checkpoint_takes_the_lock_and_the_log_starts_over_cut_back(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """SQLite's own checkpoint is off (it would run inside a commit on the loop); the store's
    thread checkpoints without the lock, and under a steady load a commit always comes while
    it runs, so the log never starts over by itself. Past WAL_LIMIT the checkpoint also takes
    the lock for the rest: the next commit starts the log over, and its file is cut back to
    WAL_LIMIT (journal_size_limit)."""
    limit = 64 * 1024
    after = await _checkpoint_a_busy_log(tmp_path, monkeypatch, limit)
    assert after["grown"] > 4 * limit  # the log was well past the limit
    assert after["took_the_lock"] is True and after["turns"] == 1
    assert after["checkpoints"] == [("(PASSIVE)", False), ("(PASSIVE)", True)]
    assert after["log_frames"] <= 4  # the next commit's, at the log's start
    assert 0 < after["wal_size"] <= limit
    assert after["keys"] == 101


async def test_under_wal_limit_the_checkpoint_leaves_the_lock_and_a_busy_log_goes_on(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Without the locked step (the log under WAL_LIMIT), what was committed while the
    checkpoint ran is not in the file: the next commit appends, and the log grows."""
    after = await _checkpoint_a_busy_log(tmp_path, monkeypatch, 10**12)
    assert after["took_the_lock"] is False and after["turns"] == 0
    assert after["checkpoints"] == [("(PASSIVE)", False)]
    assert after["log_frames"] > 100  # every commit's frames, none started over
    assert after["wal_size"] > after["grown"]
    assert after["keys"] == 101


async def test_every_checkpoint_every_commits_the_store_thread_checkpoints(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The connection has SQLite's own checkpoint off and the log's size limit set; every
    CHECKPOINT_EVERY commits, quick or not, the store's thread runs the checkpoint's step on
    its own connection with the loop's connection's lock, and then the next one can run."""
    monkeypatch.setattr(engine, "CHECKPOINT_EVERY", 20)
    real = engine.checkpoint
    seen: list[tuple[str, sqlite3.Connection, object]] = []

    def checkpoint(conn: sqlite3.Connection, lock: AbstractContextManager[object]) -> bool:
        seen.append((threading.current_thread().name, conn, lock))
        return real(conn, lock)

    monkeypatch.setattr(engine, "checkpoint", checkpoint)
    db = Database(f"sqlite+aiosqlite:///{tmp_path / 'bot.db'}")
    await db.write(lambda conn: tables.metadata.create_all(conn))  # commit 1
    names = ("wal_autocheckpoint", "journal_size_limit")
    pragmas = await db.read(lambda conn: [conn.exec_driver_sql(f"PRAGMA {p}").scalar() for p in names])
    assert pragmas == [0, engine.WAL_LIMIT]

    async def commits(first: int, count: int) -> None:
        for n in range(first, first + count):
            await db.write(lambda conn, n=n: _idempotency(conn, f"k{n}"), quick=n % 2 == 0)
        await db.read(lambda conn: None)  # in the store's thread, after a checkpoint queued there

    await commits(0, 18)
    assert seen == []
    await commits(18, 1)  # the 20th commit
    assert [(name.startswith("store"), conn, lock) for name, conn, lock in seen] == [
        (True, db._checkpointer, db._lock)
    ]
    await commits(19, 19)
    assert len(seen) == 1
    await commits(38, 1)
    assert len(seen) == 2
    assert len(await _keys(db)) == 39
    await db.close()


async def test_the_inbox_on_sqlites_cursor_stores_what_core_would(db: Database, tmp_path: Path) -> None:
    """The inbox's three statements skip `Connection.execute` on SQLite (bot/store/direct.py),
    with SQLAlchemy's own SQL and value processors: byte for byte the rows Core writes, read
    back through Core as the same values, and a replay still finds its row."""
    import sqlite3
    from datetime import UTC, datetime

    from sqlalchemy import update

    from bot.store.audit import audit_values

    payload = {"text": "status résolu ✅", "options": {"again": [1, 2.5, None, True]}, "empty": {}}
    audit = audit_values(
        {"team_id": "T1", "channel_id": "C1", "user_id": "U1", "verb": "status", "arguments": {"to": "é"},
         "provider": "incidentio", "incident": "INC-1", "outcome": "changed", "duration_ms": 12.5,
         "at": datetime(2026, 11, 23, 10, 0, 0, 123456, tzinfo=UTC)},
        datetime(2000, 1, 1, tzinfo=UTC),  # unused: the row carries its own moment
    )  # fmt: skip
    inbox = Inbox(db, "owner-1")
    started = datetime.now(UTC)
    assert await inbox.accept("key-1", "command", "status", payload)
    assert not await inbox.accept("key-1", "command", "status", payload)  # a replay
    await inbox.finish("key-1", audit)
    [ours] = await inbox.rows()

    core = Database(f"sqlite+aiosqlite:///{tmp_path / 'core.db'}")
    await core.write(lambda conn: tables.metadata.create_all(conn))

    def by_core(conn: Connection) -> None:
        row = {k: v for k, v in ours.items() if k not in ("state", "done_at")} | {"state": "pending"}
        conn.execute(insert(tables.inbox), row)
        done = update(tables.inbox).where(tables.inbox.c.key == "key-1")
        conn.execute(done.values(state="done", done_at=ours["done_at"]))
        conn.execute(insert(tables.audit), audit)

    await core.write(by_core)
    await core.close()

    def raw(name: str, table: str) -> list[tuple[object, ...]]:
        with sqlite3.connect(tmp_path / name) as conn:
            return conn.execute(f"SELECT * FROM {table}").fetchall()

    assert raw("bot.db", "inbox") == raw("core.db", "inbox")
    assert raw("bot.db", "audit") == raw("core.db", "audit")
    assert ours["payload"] == payload and ours["state"] == "done"
    assert ours["created_at"].tzinfo is UTC and started <= ours["created_at"] <= ours["done_at"]


async def test_a_timer_upserted_on_sqlites_cursor_reads_back_through_core(db: Database) -> None:
    """The timer's upsert runs on the driver's cursor too: armed, then moved (the conflict
    branch), it reads back through Core, in a store that never saw it, as it was set."""
    from datetime import UTC, datetime, timedelta

    from bot.store.timers import Timer, TimerStore

    first = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)
    timers = TimerStore(db)
    await timers.set(Timer(key="remind:INC-1", kind="reminder", due_at=first, payload={"n": 1, "é": ["✅"]}))
    moved = first + timedelta(minutes=30)
    await timers.set(Timer(key="remind:INC-1", kind="reminder", due_at=moved, payload={"n": 2}))
    cold = TimerStore(Database(db.url, cache=False))
    [timer] = await cold.all()
    assert timer == Timer(key="remind:INC-1", kind="reminder", due_at=moved, payload={"n": 2})
    assert [t.key for t in await cold.due(moved)] == ["remind:INC-1"]
    assert await cold.due(moved - timedelta(seconds=1)) == []
    await cold.store.close()
