"""Small values the bot keeps by key between changes (the `kept` table): what it last set
on a channel, so it sets it again only when it changes, and the ids of what it made, so
running it again updates the same thing rather than making a second one."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from sqlalchemy import Connection, delete, insert, select, update

from bot.domain import stamped_later
from bot.store import tables
from bot.store.engine import Database, json_copy
from bot.store.seen import Changes

PEERS_KIND = "kept"  # in the notices to the other processes (bot/store/peers.py)


class Kept:
    """Reused while `db.reuse`, written through: every command's card reads its status page
    incident here and every change sets the channel's topic through `swap`, a read and a
    transaction per command each otherwise. On PostgreSQL a value another process changed
    is dropped here (bot/store/peers.py), and a read begun before a change is not kept."""

    _LIMIT = 20_000  # entries: past it the memory starts again empty, not a leak

    def __init__(self, db: Database) -> None:
        self.db = db
        self._kept: dict[str, dict[str, Any] | None] = {}
        self._changes: Changes[str] = Changes()
        self._stamps: dict[str, str] = {}  # `advance`'s, where this process is the store's one user
        if db.peers is not None:
            db.peers.on(PEERS_KIND, self._dropped, self._reset)

    def _dropped(self, keys: list[list[str]]) -> None:
        for (key,) in keys:
            self._changes.changed(key)
            self._kept.pop(key, None)

    def _reset(self) -> None:
        self._changes.reset()
        self._kept.clear()

    def _tell(self, conn: Connection, key: str) -> None:
        if self.db.peers is not None:
            self.db.peers.tell_in(conn, PEERS_KIND, [(key,)])

    def _keep(self, key: str, value: dict[str, Any] | None) -> None:
        if len(self._kept) >= self._LIMIT:
            self._reset()
        self._kept[key] = json_copy(value)

    async def get(self, key: str) -> dict[str, Any] | None:
        key = key[:255]
        if self.db.reuse and key in self._kept:
            return json_copy(self._kept[key])
        began, reuse = self._changes.seen(key), self.db.reuse
        table = tables.kept
        value = await self.db.read(
            lambda conn: conn.execute(select(table.c.value).where(table.c.key == key)).scalar(), quick=True
        )
        found = dict(value) if isinstance(value, dict) else None
        if reuse and self._changes.seen(key) == began:
            self._keep(key, found)
        return found

    async def put(self, key: str, value: dict[str, Any]) -> None:
        key = key[:255]

        def work(conn: Connection) -> None:
            self._put(conn, key, value)
            self._tell(conn, key)

        await self._written(key, work, value)

    async def swap(self, key: str, value: dict[str, Any], *, stamp: str | None = None) -> bool:
        """Keep `value` under `key`; False where it was already that (nothing to do): what
        lets a topic be set only when it changes, read and written in one transaction.

        `stamp` (an ISO time: when the provider last changed what `value` shows) keeps the
        newest: False, and nothing written, where what is kept was stamped later. Two
        processes redraw one incident, and a redraw held back by Slack's pace can end after
        the other's newer one: unstamped, it put the older topic back for good (issue 29,
        `bench.processes`). The row is locked while it is compared (PostgreSQL), so two
        swaps at once are taken one after the other."""
        key = key[:255]
        if stamp is not None:
            value = {**value, STAMP: stamp}
        if self.db.reuse and key in self._kept:
            verdict = _against(self._kept[key], value)
            if verdict is not None and not verdict[1]:
                return verdict[0]

        def work(conn: Connection) -> tuple[bool, dict[str, Any] | None]:
            found = _locked(conn, key)
            verdict = _against(found, value)
            if verdict is not None and not verdict[1]:
                return verdict[0], found
            self._put(conn, key, value)
            self._tell(conn, key)
            return verdict is None, value

        return bool(await self._swapped(key, work))

    async def advance(self, key: str, stamp: str) -> bool:
        """Keep `stamp` (bot/domain.py `incident_stamp`) under `key`; False, and nothing
        kept, where a later one is kept already: what lets a card's redraw of an older
        state, held back by Slack's pace in one process, not go over another process's
        newer one. In memory alone where this process is the store's one user (SQLite): its
        own redraws are ordered already (bot/slack/cards.py), and a restart forgets nothing
        that matters."""
        key = key[:255]
        if self.db.cache:
            kept = self._stamps.get(key)
            if kept is not None and stamped_later(kept, stamp):
                return False
            if len(self._stamps) >= self._LIMIT:
                self._stamps.clear()
            self._stamps[key] = stamp
            return True
        if self.db.reuse and key in self._kept:
            known = (self._kept[key] or {}).get(STAMP)
            if known is not None and stamped_later(known, stamp):
                return False
            if known == stamp:
                return True

        def work(conn: Connection) -> tuple[bool, dict[str, Any] | None]:
            found = _locked(conn, key)
            known = (found or {}).get(STAMP)
            if known is not None and stamped_later(known, stamp):
                return False, found
            if known != stamp:
                self._put(conn, key, {STAMP: stamp})
                self._tell(conn, key)
            return True, {STAMP: stamp}

        return bool(await self._swapped(key, work))

    async def forget(self, key: str) -> None:
        key = key[:255]

        def work(conn: Connection) -> None:
            table = tables.kept
            conn.execute(delete(table).where(table.c.key == key))
            self._tell(conn, key)

        await self._written(key, work, None)

    async def _written(self, key: str, work: Any, value: dict[str, Any] | None) -> Any:
        """The write, with `value` what it leaves under `key` (`_swapped`)."""
        return await self._swapped(key, lambda conn: (work(conn), value))

    async def _swapped(
        self, key: str, work: Callable[[Connection], tuple[Any, dict[str, Any] | None]]
    ) -> Any:
        """The write (`work` gives its result and what the row holds after), then what it
        left kept: a read of the key under way is not kept, and neither is what the row
        holds where the key changed meanwhile (another process's notice may be for a later
        commit than this one's): the next read asks the store then."""
        self._kept.pop(key, None)
        (done, holds), alone = await self._changes.written(key, self.db.write(work, quick=True))
        if self.db.reuse and alone:  # as a read gives it back (a tuple a list, say)
            self._keep(key, None if holds is None else json.loads(json.dumps(holds)))
        return done

    def _put(self, conn: Connection, key: str, value: dict[str, Any]) -> None:
        table = tables.kept
        at = self.db.clock.now()
        done = conn.execute(update(table).where(table.c.key == key).values(value=value, updated_at=at))
        if not done.rowcount:
            conn.execute(insert(table).values(key=key, value=value, updated_at=at))


STAMP = "_at"  # the stamp's place in a stamped value (`swap`)
Holds = dict[str, Any] | None  # what a row holds after a write


def _locked(conn: Connection, key: str) -> dict[str, Any] | None:
    """The value under `key`, its row locked until the transaction ends (PostgreSQL; SQLite
    has one writer anyway), so two compare-and-writes of one key go one after the other."""
    row = conn.execute(select(tables.kept.c.value).where(tables.kept.c.key == key).with_for_update()).scalar()
    return dict(row) if isinstance(row, dict) else None


def _against(found: dict[str, Any] | None, value: dict[str, Any]) -> tuple[bool, bool] | None:
    """What `swap` does where `found` is kept: None, write and say it changed; else (changed,
    write): (False, False) where it already says so or says something newer, (False, True)
    where it says the same, stamped earlier (the newer stamp is kept, nothing to do)."""
    if found is None:
        return None
    stamp, kept = value.get(STAMP), found.get(STAMP)
    if stamp is not None and kept is not None and stamped_later(kept, stamp):
        return False, False
    if {k: v for k, v in found.items() if k != STAMP} == {k: v for k, v in value.items() if k != STAMP}:
        return False, stamp is not None and stamp != kept
    return None
