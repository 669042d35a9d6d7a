"""The durable intake: an acked request is in the store before its 200, until its answer is out.

Why: a crash, a deploy or an OOM kill between the ack and the answer used to lose the
command in silence (a fifth of them under load). Now the bot that starts next finds every
row still `pending` and either runs it again, where that is provably safe, or tells the
person that it may or may not have taken effect. The row's key is Slack's own id of the
request (trigger_id, view id and hash), so a replayed request finds its row and does
nothing: the same dedupe for every process sharing the database.

Ownership across processes is a lease: the process working on a row renews it every few
seconds; a row whose lease ran out belongs to a process that died, and the first other
process to claim it (a conditional UPDATE) takes it over.
"""

from __future__ import annotations

import asyncio
import importlib
import json
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Generic, TypeVar

from pydantic import BaseModel
from sqlalchemy import Connection, bindparam, delete, insert, select, update
from sqlalchemy.dialects import postgresql as postgresql_dialect
from sqlalchemy.dialects import sqlite as sqlite_dialect

from bot.outage import unavailable
from bot.store import tables
from bot.store.audit import AUDIT_COLUMNS
from bot.store.direct import Direct
from bot.store.engine import Database, NotNow, clean_row

log = logging.getLogger(__name__)
# Every command runs these: built once, run with their values (SQLAlchemy builds and keys a
# statement made per call at every call), on SQLite on the driver's cursor (direct.py).
APPLIED = Direct(update(tables.inbox).where(tables.inbox.c.key == bindparam("applied_key")).values(applied=1))
FINISHED = Direct(
    update(tables.inbox)
    .where(tables.inbox.c.key == bindparam("done_key"))
    .values(state="done", done_at=bindparam("done_at"))
)
AUDITED = Direct(insert(tables.audit).values({name: bindparam(name) for name in AUDIT_COLUMNS}))
# The accept: on SQLite one row at a time, each told by its rowcount; on PostgreSQL the
# batch in one INSERT, the rows it took told by RETURNING.
_ACCEPTED = ("key", "kind", "verb", "payload", "state", "applied", "owner", "lease_until", "created_at")
# A key already there is a replay, and nothing is written; except over a tombstone (a
# request refused while the database was away, see Inbox) by a later request of the same key,
# such as a provider's webhook sent again: that one is taken. The refused request's own copy,
# landing late, has the tombstone's created_at, and is not.
_SQLITE_ACCEPT = sqlite_dialect.insert(tables.inbox).values({name: bindparam(name) for name in _ACCEPTED})
_POSTGRES_ACCEPT = postgresql_dialect.insert(tables.inbox)


def _over_tombstone(statement: Any) -> dict[str, Any]:
    revived = {name: statement.excluded[name] for name in _ACCEPTED if name != "key"}
    where = (tables.inbox.c.state == "refused") & (statement.excluded.created_at > tables.inbox.c.created_at)
    return {"index_elements": ["key"], "set_": revived | {"done_at": None}, "where": where}


ACCEPT_ONE = Direct(_SQLITE_ACCEPT.on_conflict_do_update(**_over_tombstone(_SQLITE_ACCEPT)))
ACCEPT_MANY = _POSTGRES_ACCEPT.on_conflict_do_update(**_over_tombstone(_POSTGRES_ACCEPT)).returning(
    tables.inbox.c.key
)
# ("accept", the row) or ("finish", (key, audit row or None)): one queue for both.
_Write = tuple[str, Any]
Item = TypeVar("Item")
Out = TypeVar("Out")


def encode(value: Any) -> Any:
    """JSON for the payload, keeping the types a command carries (models, times, spans),
    so the row can be run again as it was."""
    if isinstance(value, BaseModel):
        kind = type(value)
        fields = {name: encode(getattr(value, name)) for name in kind.model_fields}
        return {"$model": f"{kind.__module__}:{kind.__qualname__}", "fields": fields}
    if isinstance(value, datetime):
        return {"$datetime": value.isoformat()}
    if isinstance(value, timedelta):
        return {"$seconds": value.total_seconds()}
    if isinstance(value, dict):
        return {str(k): encode(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [encode(v) for v in value]
    return value


# Where a model named in a row written by an earlier version lives now: a row still pending
# across an upgrade is run by the new code (the parser's data types moved to their own
# module, bot/commands/parsed.py, and its token to bot/commands/tokens.py).
MOVED = {
    "bot.commands.parser:UserRef": "bot.commands.parsed:UserRef",
    "bot.commands.parser:GroupRef": "bot.commands.parsed:GroupRef",
    "bot.commands.parser:ParsedCommand": "bot.commands.parsed:ParsedCommand",
    "bot.commands.parser:UsageError": "bot.commands.parsed:UsageError",
    "bot.commands.parser:Token": "bot.commands.tokens:Token",
}


def decode(value: Any) -> Any:
    if isinstance(value, list):
        return [decode(v) for v in value]
    if not isinstance(value, dict):
        return value
    if "$model" in value:
        path = str(value["$model"])
        module, _, name = MOVED.get(path, path).partition(":")
        if not module.startswith("bot."):
            raise ValueError(f"not one of ours: {module}")
        kind = getattr(importlib.import_module(module), name)
        return kind.model_construct(**{k: decode(v) for k, v in value["fields"].items()})
    if "$datetime" in value:
        return datetime.fromisoformat(value["$datetime"])
    if "$seconds" in value:
        return timedelta(seconds=value["$seconds"])
    return {k: decode(v) for k, v in value.items()}


@dataclass
class Entry:
    key: str
    kind: str
    verb: str | None
    payload: dict[str, Any]
    applied: bool
    created_at: datetime


class GroupCommit(Generic[Item, Out]):
    """Items that arrive together are written in one transaction, by one statement where
    it can: the inbox is written before every ack and after every answer, and a commit
    (and a hand-off to the store's thread) per request was most of a command's cost
    (bench/). A batch that fails is written again one item at a time, so one bad row costs
    only its own."""

    def __init__(
        self, store: Database, work: Callable[[Connection, list[Item]], list[Out]], bound: float | None = None
    ) -> None:
        self.store = store
        self.work = work
        # PostgreSQL: how long one batch may take. A batch stuck on a partitioned server would
        # otherwise hold every later item, the acks' included, until the network gave up.
        self.bound = bound if store.sync_engine is None else None
        self._queue: list[tuple[Item, asyncio.Future[Out]]] = []
        self._running = False
        self._drainer: asyncio.Task[None] | None = None

    async def run(self, item: Item) -> Out:
        """With nothing being written, the queue (this item with it) is written at once,
        where the store can (SQLite, connection free: on the loop, so the ack waits for no
        other task). Otherwise, and for items that come while a batch is under way in the
        store's thread, a task writes the next batch."""
        future: asyncio.Future[Out] = asyncio.get_running_loop().create_future()
        self._queue.append((item, future))
        if not self._running:
            self._running = True
            if self._write_now():
                self._running = False
            else:
                self._drainer = asyncio.get_running_loop().create_task(self._drain())
        return await future

    def _write_now(self) -> bool:
        """Synchronous, so no cancellation can stop it between writing a batch and handing
        out its results."""
        batch = self._queue
        items = [item for item, _ in batch]
        try:
            results = self.store.run_now(lambda conn: self.work(conn, items), write=True)
        except Exception:
            return False  # rolled back: the task tries the batch again, then one at a time
        if isinstance(results, NotNow):
            return False
        self._queue = []
        for (_, future), result in zip(batch, results, strict=True):
            _settle(future, result)
        return True

    def _work_on(self, items: list[Item]) -> Callable[[Connection], list[Out]]:
        return lambda conn: self.work(conn, items)

    async def _drain(self) -> None:
        try:
            while self._queue:
                batch, self._queue = self._queue, []
                items = [item for item, _ in batch]
                try:
                    results = await self._write(items)
                except Exception as exc:
                    if unavailable(exc):
                        # Written one at a time, each would wait out the same outage in turn.
                        for _, future in batch:
                            if not future.done():
                                future.set_exception(exc)
                        continue
                    for item, future in batch:
                        try:
                            [one] = await self._write([item])
                            _settle(future, one)
                        except Exception as exc:
                            if not future.done():
                                future.set_exception(exc)
                    continue
                for (_, future), result in zip(batch, results, strict=True):
                    _settle(future, result)
        finally:
            self._running = False

    async def _write(self, items: list[Item]) -> list[Out]:
        if self.bound is None:
            return await self.store.write(self._work_on(items), quick=True)
        async with asyncio.timeout(self.bound):
            return await self.store.write(self._work_on(items), quick=True)


def _settle(future: asyncio.Future[Out], result: Out) -> None:
    """A waiter that went away (its request cancelled) has a cancelled future: its row is
    written all the same, and the rest of the batch still gets its answers."""
    if not future.done():
        future.set_result(result)


class Inbox:
    """`bound`: how long one write of the queue may take on PostgreSQL (the ack's own wait
    on the database, INCIDENT_ACK_DB_TIMEOUT).

    A request the ack gave up on (the database refused, or did not answer in time) was told
    "nothing was done", and must never be run; yet its row may still be written: the batch
    it was in was under way, or its COMMIT reached a partitioned server and only the answer
    was lost. So an accept that does not return leaves a tombstone owed: the row, marked
    `refused`, written over a pending copy of itself (or in its place, so a copy that lands
    later finds the key taken), retried until the database takes it. Until then the key is
    left out of any batch not yet written, and this process's lease keeps the row from the
    others. What remains: a process stopped, or cut off for longer than its lease, before
    the tombstone is written, with the row committed unbeknown to it."""

    def __init__(self, store: Database, owner: str, lease: float = 15.0, bound: float | None = None) -> None:
        self.store = store
        self.owner = owner[:64]
        self.lease = timedelta(seconds=lease)
        # Rows accepted and rows answered share one queue, so one commit carries both: with a
        # few commands at once, one's answer lands while another's ack waits (bench/).
        self._writes: GroupCommit[_Write, bool | None] = GroupCommit(store, self._write_rows, bound)
        self._bound = self._writes.bound
        # Owed to the database once it answers again: tombstones (key → the refused row),
        # and answers it could not record (key → the audit row or None).
        self._refused: dict[str, dict[str, Any]] = {}
        self._unfinished: dict[str, dict[str, Any] | None] = {}
        self._settler: asyncio.Task[None] | None = None

    def _write_rows(self, conn: Connection, items: list[_Write]) -> list[bool | None]:
        accepted = iter(self._insert_rows(conn, [row for kind, row in items if kind == "accept"]))
        finished = [row for kind, row in items if kind == "finish"]
        if finished:
            self._finish_rows(conn, finished)
        return [next(accepted) if kind == "accept" else None for kind, _ in items]

    def _insert_rows(self, conn: Connection, rows: list[dict[str, Any]]) -> list[bool]:
        """One INSERT for the batch; a key already there (a replay) is not returned. The same
        key twice in one batch (a request sent twice at the same moment) is one row: the
        first of the two is accepted, the second is its replay."""
        if not rows:
            return []
        first: dict[str, dict[str, Any]] = {}
        for row in rows:
            gave_up = self._refused.get(row["key"])
            if gave_up is None or gave_up["created_at"] != row["created_at"]:  # else never written now
                first.setdefault(row["key"], row)
        if not first:
            return [False] * len(rows)
        if conn.dialect.name == "sqlite":
            inserted = {key for key, row in first.items() if ACCEPT_ONE.execute(conn, row)}
        else:
            inserted = {r.key for r in conn.execute(ACCEPT_MANY, list(first.values()))}
        return [row["key"] in inserted and first[row["key"]] is row for row in rows]

    def _finish_rows(self, conn: Connection, items: list[Any]) -> None:
        """`items`: (key, audit row or None) each."""
        at = self.store.clock.now()
        done = [{"done_key": key, "done_at": at} for key, _ in items]
        audits = [audit for _, audit in items if audit is not None]
        FINISHED.executemany(conn, done)
        if audits:
            AUDITED.executemany(conn, audits)

    async def accept(self, key: str, kind: str, verb: str | None, payload: dict[str, Any]) -> bool:
        """Record the request; False when its key is already there (a replay)."""
        at = self.store.clock.now()
        row = {
            "key": key[:255],
            "kind": kind,
            "verb": verb,
            "payload": payload if "\\u0000" not in json.dumps(payload) else clean_row(payload),
            "state": "pending",
            "applied": 0,
            "owner": self.owner,
            "lease_until": at + self.lease,
            "created_at": at,
        }
        try:
            return bool(await self._writes.run(("accept", row)))
        except BaseException:  # refused, failed or given up on (cancelled): it may yet be written
            self._refused[key[:255]] = row | {"state": "refused", "done_at": at}
            self._settle_later()
            raise

    @staticmethod
    def mark_applied(conn: Connection, key: str) -> None:
        """Inside the transaction that made the change: so 'applied' is true exactly when
        the change is, and a restart knows not to make it again."""
        APPLIED.execute(conn, {"applied_key": key})

    async def finish(self, key: str, audit_row: dict[str, Any] | None) -> None:
        """Answered: the row is done and its audit row written, in one transaction."""
        try:
            await self._writes.run(("finish", (key, audit_row)))
        except Exception as exc:
            if unavailable(exc):  # said once, by the store's outage line; written when it is back
                self._unfinished[key] = audit_row
                self._settle_later()
                return
            # Once, never retried forever: the answer is out; at worst the row is answered
            # again after a restart ("it was done").
            log.exception("could not mark %s answered", key)

    def _settle_later(self) -> None:
        if self._settler is None or self._settler.done():
            self._settler = asyncio.get_running_loop().create_task(self._settle())

    async def _settle(self) -> None:
        """Write what is owed, again and again, until the database takes it."""
        pause = 0.05
        while self._refused or self._unfinished:
            refused, unfinished = dict(self._refused), dict(self._unfinished)
            try:
                async with asyncio.timeout(self._bound):
                    await self.store.write(self._owed_work(refused, unfinished))
            except Exception as exc:
                if not unavailable(exc):
                    owed = len(refused) + len(unfinished)
                    log.exception("could not record %d refused or answered requests", owed)
                    for key in refused:
                        self._refused.pop(key, None)
                    for key in unfinished:
                        self._unfinished.pop(key, None)
                    continue
                await asyncio.sleep(pause)
                pause = min(pause * 2, 1.0)
                continue
            for key in refused:
                self._refused.pop(key, None)
            for key in unfinished:
                self._unfinished.pop(key, None)

    def _owed_work(
        self, refused: dict[str, dict[str, Any]], unfinished: dict[str, dict[str, Any] | None]
    ) -> Callable[[Connection], None]:
        return lambda conn: self._write_owed(conn, refused, unfinished)

    def _write_owed(
        self,
        conn: Connection,
        refused: dict[str, dict[str, Any]],
        unfinished: dict[str, dict[str, Any] | None],
    ) -> None:
        if refused:
            dialect = sqlite_dialect if conn.dialect.name == "sqlite" else postgresql_dialect
            tombstone = dialect.insert(tables.inbox)
            conn.execute(
                tombstone.on_conflict_do_update(
                    index_elements=["key"],
                    set_={"state": "refused", "done_at": tombstone.excluded.done_at},
                    # Only its own copy: a row of the same key from another request stays.
                    where=(tables.inbox.c.state == "pending")
                    & (tables.inbox.c.owner == tombstone.excluded.owner)
                    & (tables.inbox.c.created_at == tombstone.excluded.created_at),
                ),
                list(refused.values()),
            )
        if unfinished:
            self._finish_rows(conn, list(unfinished.items()))

    async def settled(self, seconds: float) -> bool:
        """Until what is owed is written, for `seconds` at the most; whether it was."""
        if self._settler is not None and not self._settler.done():
            await asyncio.wait([self._settler], timeout=seconds)
        return not (self._refused or self._unfinished)

    async def close(self, seconds: float) -> None:
        """Give what is owed `seconds` to be written; what is not is said, in one line."""
        if not await self.settled(seconds):
            log.warning(
                "stopping with %d refused and %d answered requests not yet marked so in the database",
                len(self._refused),
                len(self._unfinished),
            )
        if self._settler is not None:
            self._settler.cancel()
            await asyncio.gather(self._settler, return_exceptions=True)

    async def renew(self) -> None:
        """Keep this process's pending rows ours."""
        until = self.store.clock.now() + self.lease
        await self.store.write(
            lambda conn: conn.execute(
                update(tables.inbox)
                .where(tables.inbox.c.owner == self.owner, tables.inbox.c.state == "pending")
                .values(lease_until=until)
            )
        )

    async def claim_orphans(self, *, all_pending: bool = False) -> list[Entry]:
        """Take over pending rows whose owner stopped renewing them (with `all_pending`,
        every pending row of another owner: a SQLite store has one process, this one)."""
        at = self.store.clock.now()
        until = at + self.lease

        def work(conn: Connection) -> list[Entry]:
            query = select(tables.inbox).where(
                tables.inbox.c.state == "pending", tables.inbox.c.owner != self.owner
            )
            if not all_pending:
                query = query.where(tables.inbox.c.lease_until < at)
            taken = []
            for row in conn.execute(query.order_by(tables.inbox.c.created_at)).all():
                claimed = conn.execute(
                    update(tables.inbox)
                    .where(
                        tables.inbox.c.key == row.key,
                        tables.inbox.c.owner == row.owner,
                        tables.inbox.c.state == "pending",
                    )
                    .values(owner=self.owner, lease_until=until)
                )
                if claimed.rowcount:
                    taken.append(
                        Entry(row.key, row.kind, row.verb, row.payload, bool(row.applied), row.created_at)
                    )
            return taken

        return await self.store.write(work)

    async def prune(self, older_than: timedelta) -> int:
        """Forget answered rows; kept well past Slack's 5-minute signature window, so a
        replay inside it is still recognised."""
        before = self.store.clock.now() - older_than
        result = await self.store.write(
            lambda conn: conn.execute(
                delete(tables.inbox).where(
                    tables.inbox.c.state.in_(("done", "refused")), tables.inbox.c.created_at < before
                )
            )
        )
        return int(result.rowcount or 0)

    async def rows(self) -> list[dict[str, Any]]:
        """Every row, for tests and `check`."""

        def work(conn: Connection) -> list[dict[str, Any]]:
            return [dict(r._mapping) for r in conn.execute(select(tables.inbox))]

        return await self.store.read(work)
