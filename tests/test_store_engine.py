"""SQLite's one connection, shared by the event loop (quick transactions) and the store's
thread (everything else): who runs what, in which order, and that nothing a batch wrote is
lost when a waiter goes away."""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path

import pytest
from sqlalchemy import Connection, insert, select

from bot.store import engine, tables
from bot.store.engine import Database
from bot.store.inbox import Inbox


@pytest.fixture
async def db(tmp_path: Path) -> Database:
    store = Database(f"sqlite+aiosqlite:///{tmp_path / 'bot.db'}")
    await store.write(lambda conn: tables.metadata.create_all(conn))
    yield store  # type: ignore[misc]
    await store.close()


def _idempotency(conn: Connection, key: str) -> None:
    from bot.domain import now

    conn.execute(insert(tables.idempotency).values(key=key, at=now()))


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


async def test_a_quick_one_waits_its_turn_when_the_thread_holds_the_connection(db: Database) -> None:
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
    quick_one = asyncio.ensure_future(db.write(quick, quick=True))
    await asyncio.sleep(0.05)
    assert order == [] and not quick_one.done()  # the loop was free to run this line
    release.set()
    await asyncio.gather(slow_one, quick_one)
    assert order == ["slow", "quick"]
    assert sorted(await _keys(db)) == ["quick", "slow"]


async def test_a_cancelled_waiter_loses_nobody_elses_answer(db: Database) -> None:
    """Accepts queued behind a busy store thread are written as one batch by a task; one
    caller going away (a client that hung up) leaves the others their answers, and its own
    row is written all the same (the next replay of it is recognised)."""
    inbox = Inbox(db, "me")
    started, release = threading.Event(), threading.Event()

    def hold(conn: Connection) -> None:
        started.set()
        assert release.wait(10)

    holding = asyncio.ensure_future(db.write(hold))
    assert await asyncio.to_thread(started.wait, 10)
    accepts = [asyncio.ensure_future(inbox.accept(f"k{n}", "command", "ack", {"n": n})) for n in range(3)]
    await asyncio.sleep(0.05)
    accepts[1].cancel()
    release.set()
    await holding
    # A bounded wait: before, the cancelled waiter's future stopped the batch's hand-out, and
    # the callers after it waited for ever.
    first, third = await asyncio.wait_for(asyncio.gather(accepts[0], accepts[2]), 10)
    assert first is True and third is True
    assert sorted(r["key"] for r in await inbox.rows()) == ["k0", "k1", "k2"]
    assert await inbox.accept("k1", "command", "ack", {"n": 1}) is False  # a replay


async def test_the_write_ahead_log_stays_bounded_under_load(tmp_path: Path, monkeypatch) -> None:
    """SQLite's own checkpoint is off (it would run inside a commit on the loop). The store's
    thread checkpoints every CHECKPOINT_EVERY commits without the lock; under a steady load a
    commit always comes while it runs, so the log never starts over by itself and grows.
    Past WAL_LIMIT a checkpoint also takes the lock for the rest: the log starts over, and
    its file is cut back."""
    monkeypatch.setattr(engine, "CHECKPOINT_EVERY", 20)

    async def load(wal_limit: int, name: str) -> int:
        monkeypatch.setattr(engine, "WAL_LIMIT", wal_limit)
        db = Database(f"sqlite+aiosqlite:///{tmp_path / name}")
        await db.write(lambda conn: tables.metadata.create_all(conn))
        for n in range(1500):  # a commit every millisecond or so, as under load
            await db.write(lambda conn, n=n: _idempotency(conn, f"k{n}"), quick=True)
            await asyncio.sleep(0.001)
        size = (tmp_path / f"{name}-wal").stat().st_size
        assert len(await _keys(db)) == 1500
        await db.close()
        return size

    bounded = await load(128 * 1024, "bounded.db")
    never_locked = await load(10**12, "never_locked.db")
    assert bounded < 1024 * 1024 < 2 * 1024 * 1024 < never_locked


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
         "at": datetime(2026, 11, 23, 10, 0, 0, 123456, tzinfo=UTC)}
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
