"""The timers table and the anchors table: what the bot will say later, and the messages it
keeps up to date in place. Plain rows; what they mean is bot/commands/timers.py's."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, TypeVar

from pydantic import BaseModel, Field
from sqlalchemy import Connection, bindparam, delete, insert, select

from bot.store import tables
from bot.store.direct import Direct
from bot.store.engine import Database, clean_row, json_copy
from bot.store.seen import Changes

PEERS_KIND = "timer"  # in the notices to the other processes (bot/store/peers.py)
W = TypeVar("W")


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
    """With `store.reuse` (SQLite: this process is the store's one user) a timer and an anchor
    are kept in memory once read or written, written through: every change the bot makes
    reads its incident's reminder, a read per command that was 6 % of its CPU (issue 16).

    On PostgreSQL the same while `store.reuse`: every write tells the other processes, which
    drop the key (bot/store/peers.py). What a read or a write found is kept only where its
    key did not change while it ran (bot/store/seen.py), judged key by key: with one count
    for every key, each timer another process re-armed (one per change it made) kept this
    process from keeping any read under way, and every read went to the database (issue 29,
    `python -m bench.processes`, docs/performance.md)."""

    _LIMIT = 20_000  # entries: past it the memory starts again empty, not a leak

    def __init__(self, store: Database, *, shared: bool = False) -> None:
        """`shared`: reused on PostgreSQL too, told of the other processes' changes. Only the
        runtime's one (bot/commands/timers.py): two of them on one store are one process to
        the others, and never hear each other."""
        self.store = store
        self._shared = shared or store.cache
        self._timers: dict[str, Timer | None] = {}
        self._anchors: dict[str, tuple[str, str] | None] = {}
        self._changes: Changes[tuple[str, str]] = Changes()  # ("timer" | "anchor", key)
        if store.peers is not None and shared:
            store.peers.on(PEERS_KIND, self._dropped, self._reset)
        # One upsert, built once: an UPDATE-then-INSERT let two processes arming the same
        # reminder at the same moment both insert, and one of them failed on the key.
        changed = ("kind", "due_at", "payload", "updated_at")
        upsert = store.dialect.insert(tables.timers).values(
            {name: bindparam(name) for name in ("key", *changed)}
        )
        self._upsert = Direct(
            upsert.on_conflict_do_update(
                index_elements=["key"], set_={name: upsert.excluded[name] for name in changed}
            )
        )

    def _kept(self, what: str) -> dict[str, Any]:
        return self._timers if what == "timer" else self._anchors

    def _keep(self, what: str, key: str, value: Any) -> None:
        if not self._reusing():
            return
        kept = self._kept(what)
        if len(kept) >= self._LIMIT:
            self._reset()
        kept[key] = value

    def _reusing(self) -> bool:
        return self._shared and self.store.reuse

    def _tell(self, conn: Connection, what: str, key: str) -> None:
        if self.store.peers is not None:
            self.store.peers.tell_in(conn, PEERS_KIND, [(what, key)])

    def _dropped(self, keys: list[tuple[str, str]]) -> None:
        for what, key in keys:
            self._changes.changed((what, key))
            self._kept(what).pop(key, None)

    def _reset(self) -> None:
        self._changes.reset()
        self._timers.clear()
        self._anchors.clear()

    async def _read(self, what: str, key: str, work: Callable[[Connection], W]) -> W:
        """A read, kept where its key did not change while it ran."""
        began = self._changes.seen((what, key))
        found = await self.store.read(work, quick=True)
        if self._changes.seen((what, key)) == began:
            self._keep(what, key, found)
        return found

    async def _written(self, what: str, key: str, work: Callable[[Connection], W], value: Any) -> W:
        """The write, then `value` kept where the key did not change meanwhile (another
        process's notice may be for a later commit than this one: the next read asks)."""
        self._kept(what).pop(key, None)
        done, alone = await self._changes.written((what, key), self.store.write(work, quick=True))
        if alone:
            self._keep(what, key, value)
        return done

    async def set(self, timer: Timer) -> None:
        """Create or replace (a reminder re-armed by an update moves, it does not add)."""
        key = timer.key[:255]
        values = {
            "kind": timer.kind,
            "due_at": timer.due_at,
            "payload": clean_row(timer.payload),
            "updated_at": self.store.clock.now(),
        }

        def work(conn: Connection) -> None:
            self._upsert.execute(conn, {"key": key, **values})
            self._tell(conn, "timer", key)

        due = timer.due_at.astimezone(UTC)  # as a read would give it back
        kept = Timer(key=key, kind=timer.kind, due_at=due, payload=values["payload"])
        await self._written("timer", key, work, kept)

    async def get(self, key: str, *, fresh: bool = False) -> Timer | None:
        """`fresh`: from the store whatever is kept, for a decision that must rest on the
        row itself (a firing: the row may have been moved by anyone, a hand in the database
        included)."""
        key = key[:255]
        if not fresh and self._reusing() and key in self._timers:
            found = self._timers[key]
            return _copy(found) if found is not None else None

        def work(conn: Connection) -> Timer | None:
            row = conn.execute(select(tables.timers).where(tables.timers.c.key == key)).first()
            return _timer(row) if row is not None else None

        found = await self._read("timer", key, work)
        return _copy(found) if found is not None else None

    async def cancel(self, key: str) -> bool:
        key = key[:255]

        def work(conn: Connection) -> bool:
            self._tell(conn, "timer", key)
            return bool(conn.execute(delete(tables.timers).where(tables.timers.c.key == key)).rowcount)

        return await self._written("timer", key, work, None)

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
        key = key[:255]
        if self._reusing() and key in self._anchors:
            return self._anchors[key]

        def work(conn: Connection) -> tuple[str, str] | None:
            row = conn.execute(select(tables.anchors).where(tables.anchors.c.key == key)).first()
            return (row.channel_id, row.ts) if row is not None else None

        return await self._read("anchor", key, work)

    async def set_anchor(self, key: str, channel_id: str, ts: str) -> None:
        key = key[:255]
        at = self.store.clock.now()

        def work(conn: Connection) -> None:
            conn.execute(delete(tables.anchors).where(tables.anchors.c.key == key))
            conn.execute(insert(tables.anchors).values(key=key, channel_id=channel_id, ts=ts, at=at))
            self._tell(conn, "anchor", key)

        await self._written("anchor", key, work, (channel_id, ts))


def _timer(row: Any) -> Timer:
    return Timer(key=row.key, kind=row.kind, due_at=row.due_at, payload=row.payload or {})


def _copy(timer: Timer) -> Timer:
    """A kept timer handed out: its own payload, so a caller that changes it changes nothing
    kept."""
    payload = json_copy(timer.payload)
    return Timer.model_construct(key=timer.key, kind=timer.kind, due_at=timer.due_at, payload=payload)
