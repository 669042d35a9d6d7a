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

import importlib
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from pydantic import BaseModel
from sqlalchemy import Connection, delete, insert, select, update
from sqlalchemy.exc import IntegrityError

from bot.domain import now
from bot.store import tables
from bot.store.db import Store, clean_row

log = logging.getLogger(__name__)


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


def decode(value: Any) -> Any:
    if isinstance(value, list):
        return [decode(v) for v in value]
    if not isinstance(value, dict):
        return value
    if "$model" in value:
        module, _, name = value["$model"].partition(":")
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


class Inbox:
    def __init__(self, store: Store, owner: str, lease: float = 15.0) -> None:
        self.store = store
        self.owner = owner[:64]
        self.lease = timedelta(seconds=lease)

    async def accept(self, key: str, kind: str, verb: str | None, payload: dict[str, Any]) -> bool:
        """Record the request; False when its key is already there (a replay)."""
        at = now()
        row = {
            "key": key[:255],
            "kind": kind,
            "verb": verb,
            "payload": clean_row(encode(payload)),
            "state": "pending",
            "applied": 0,
            "owner": self.owner,
            "lease_until": at + self.lease,
            "created_at": at,
        }
        try:
            await self.store.write(lambda conn: conn.execute(insert(tables.inbox).values(**row)))
        except IntegrityError:
            return False
        return True

    @staticmethod
    def mark_applied(conn: Connection, key: str) -> None:
        """Inside the transaction that made the change: so 'applied' is true exactly when
        the change is, and a restart knows not to make it again."""
        conn.execute(update(tables.inbox).where(tables.inbox.c.key == key).values(applied=1))

    async def finish(self, key: str, audit_row: dict[str, Any] | None) -> None:
        """Answered: the row is done and its audit row written, in one transaction."""
        values = {"state": "done", "done_at": now()}

        def work(conn: Connection) -> None:
            conn.execute(update(tables.inbox).where(tables.inbox.c.key == key).values(**values))
            if audit_row is not None:
                conn.execute(insert(tables.audit).values(**audit_row))

        try:
            await self.store.write(work)
        except Exception:
            # Once, never retried forever: the answer is out; at worst the row is answered
            # again after a restart ("done before the restart").
            log.exception("could not mark %s answered", key)

    async def renew(self) -> None:
        """Keep this process's pending rows ours."""
        until = now() + self.lease
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
        at = now()
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
        before = now() - older_than
        result = await self.store.write(
            lambda conn: conn.execute(
                delete(tables.inbox).where(tables.inbox.c.state == "done", tables.inbox.c.created_at < before)
            )
        )
        return int(result.rowcount or 0)

    async def rows(self) -> list[dict[str, Any]]:
        """Every row, for tests and `check`."""

        def work(conn: Connection) -> list[dict[str, Any]]:
            return [dict(r._mapping) for r in conn.execute(select(tables.inbox))]

        return await self.store.read(work)
