"""The timers table and the anchors table: what the bot will say later, and the messages it
keeps up to date in place. Plain rows; what they mean is bot/commands/timers.py's."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel, Field
from sqlalchemy import Connection, bindparam, delete, insert, select

from bot.store import tables
from bot.store.direct import Direct
from bot.store.engine import Database, clean_row, json_copy

PEERS_KIND = "timer"  # in the notices to the other processes (bot/store/peers.py)


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
    Each entry is set in `on_commit`, in the store's one thread, so entries follow the
    order of the commits, never a read that began before a change.

    On PostgreSQL the same while `store.reuse`: every write tells the other processes, which
    drop the key (bot/store/peers.py), and a read that began before a drop is not kept."""

    _LIMIT = 20_000  # entries: past it the memory starts again empty, not a leak

    def __init__(self, store: Database, *, shared: bool = False) -> None:
        """`shared`: reused on PostgreSQL too, told of the other processes' changes. Only the
        runtime's one (bot/commands/timers.py): two of them on one store are one process to
        the others, and never hear each other."""
        self.store = store
        self._shared = shared or store.cache
        self._timers: dict[str, Timer | None] = {}
        self._anchors: dict[str, tuple[str, str] | None] = {}
        self._drops = 0  # bumped at every change seen: a read begun before one is not kept
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

    def _keep(self, kept: dict[str, Any], key: str, value: Any, began: int | None = None) -> None:
        """`began`: a read's, kept only if nothing changed since it began."""
        if not self._reusing() or (began is not None and began != self._drops):
            return
        if len(kept) >= self._LIMIT:
            kept.clear()
        kept[key] = value

    def _reusing(self) -> bool:
        return self._shared and self.store.reuse

    def _wrote(self, kept: dict[str, Any], key: str, value: Any) -> None:
        self._drops += 1
        self._keep(kept, key, value)

    def _tell(self, conn: Connection, what: str, key: str) -> None:
        if self.store.peers is not None:
            self.store.peers.tell_in(conn, PEERS_KIND, [(what, key)])

    def _dropped(self, keys: list[tuple[str, str]]) -> None:
        self._drops += 1
        for what, key in keys:
            (self._timers if what == "timer" else self._anchors).pop(key, None)

    def _reset(self) -> None:
        self._drops += 1
        self._timers.clear()
        self._anchors.clear()

    async def set(self, timer: Timer) -> None:
        """Create or replace (a reminder re-armed by an update moves, it does not add)."""
        values = {
            "kind": timer.kind,
            "due_at": timer.due_at,
            "payload": clean_row(timer.payload),
            "updated_at": self.store.clock.now(),
        }

        def work(conn: Connection) -> None:
            self._upsert.execute(conn, {"key": timer.key[:255], **values})
            self._tell(conn, "timer", timer.key[:255])

        due = timer.due_at.astimezone(UTC)  # as a read would give it back
        kept = Timer(key=timer.key[:255], kind=timer.kind, due_at=due, payload=values["payload"])
        await self.store.write(
            work, on_commit=lambda _: self._wrote(self._timers, kept.key, kept), quick=True
        )

    async def get(self, key: str, *, fresh: bool = False) -> Timer | None:
        """`fresh`: from the store whatever is kept, for a decision that must rest on the
        row itself (a firing: the row may have been moved by anyone, a hand in the database
        included)."""
        key = key[:255]
        if not fresh and self._reusing() and key in self._timers:
            found = self._timers[key]
            return _copy(found) if found is not None else None
        began = self._drops

        def work(conn: Connection) -> Timer | None:
            row = conn.execute(select(tables.timers).where(tables.timers.c.key == key)).first()
            return _timer(row) if row is not None else None

        found = await self.store.read(
            work, on_commit=lambda found: self._keep(self._timers, key, found, began), quick=True
        )
        return _copy(found) if found is not None else None

    async def cancel(self, key: str) -> bool:
        key = key[:255]

        def work(conn: Connection) -> bool:
            self._tell(conn, "timer", key)
            return bool(conn.execute(delete(tables.timers).where(tables.timers.c.key == key)).rowcount)

        return await self.store.write(
            work, on_commit=lambda _: self._wrote(self._timers, key, None), quick=True
        )

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
        began = self._drops

        def work(conn: Connection) -> tuple[str, str] | None:
            row = conn.execute(select(tables.anchors).where(tables.anchors.c.key == key)).first()
            return (row.channel_id, row.ts) if row is not None else None

        return await self.store.read(
            work, on_commit=lambda found: self._keep(self._anchors, key, found, began), quick=True
        )

    async def set_anchor(self, key: str, channel_id: str, ts: str) -> None:
        key = key[:255]
        at = self.store.clock.now()

        def work(conn: Connection) -> None:
            conn.execute(delete(tables.anchors).where(tables.anchors.c.key == key))
            conn.execute(insert(tables.anchors).values(key=key, channel_id=channel_id, ts=ts, at=at))
            self._tell(conn, "anchor", key)

        await self.store.write(
            work, on_commit=lambda _: self._wrote(self._anchors, key, (channel_id, ts)), quick=True
        )


def _timer(row: Any) -> Timer:
    return Timer(key=row.key, kind=row.kind, due_at=row.due_at, payload=row.payload or {})


def _copy(timer: Timer) -> Timer:
    """A kept timer handed out: its own payload, so a caller that changes it changes nothing
    kept."""
    payload = json_copy(timer.payload)
    return Timer.model_construct(key=timer.key, kind=timer.kind, due_at=timer.due_at, payload=payload)
