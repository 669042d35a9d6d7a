"""Who did what, when, and what came of it: one row per handled command or refusal.

Rows are queued and written by one writer in group commits: a transaction per command was a
measured share of each command's cost (bench/)."""

from __future__ import annotations

import asyncio
import json
import logging
from datetime import datetime
from functools import partial
from typing import Any

from sqlalchemy import Connection, insert, select

from bot.domain import clean_text
from bot.outage import log_failure
from bot.store import tables
from bot.store.engine import Database, clean_row

log = logging.getLogger(__name__)
# Audit rows waiting for their group commit, at the most; past it the oldest are dropped
# (and said so once), so a database that refuses writes cannot grow the bot's memory.
AUDIT_QUEUE = 10_000


class AuditLog:
    def __init__(self, db: Database) -> None:
        self.db = db
        self._queue: list[dict[str, Any]] = []
        self._lock = asyncio.Lock()
        self._wake = asyncio.Event()
        self._writer: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._writer = asyncio.create_task(self._write())

    async def stop(self) -> None:
        """Writes what is queued first. The writer is asked to stop, not cancelled: a
        transaction cut in half would be lost."""
        writer, self._writer = self._writer, None
        if writer is not None:
            self._wake.set()
            await writer
        try:
            await self.flush()
        except Exception:
            log.exception("stopping with %d audit rows unwritten", len(self._queue))

    async def record(self, **row: object) -> None:
        # Every row with every column, so one batch is one executemany.
        self._queue.append(audit_values(row, self.db.clock.now()))
        if len(self._queue) > AUDIT_QUEUE:
            dropped = len(self._queue) - AUDIT_QUEUE
            del self._queue[:dropped]
            log.error("the audit queue is full: dropped the %d oldest rows", dropped)
        if self._writer is None:  # not started (a store used without start): write now
            await self.flush()
        else:
            self._wake.set()

    async def _write(self) -> None:
        while self._writer is not None:
            await self._wake.wait()
            self._wake.clear()
            try:
                await self.flush()
            except Exception as exc:
                log_failure(log, exc, "the audit writer failed; it goes on with the next rows")
                await asyncio.sleep(1)

    async def flush(self) -> None:
        """One batch; if the batch fails, each row alone, and a row that cannot be written is
        logged once and skipped: one bad row must not wedge every row after it."""
        async with self._lock:
            batch, self._queue = self._queue, []
            if not batch:
                return
            try:
                await self.db.write(lambda conn: conn.execute(insert(tables.audit), batch), quick=True)
                return
            except Exception as exc:
                if len(batch) == 1:
                    log.error("skipped an audit row the database refused: %s", type(exc).__name__)
                    return
            for one in batch:
                try:
                    await self.db.write(partial(_insert_one, one), quick=True)
                except Exception as exc:
                    log.error("skipped an audit row the database refused: %s", type(exc).__name__)

    async def rows(self) -> list[dict[str, object]]:
        await self.flush()

        def work(conn: Connection) -> list[dict[str, object]]:
            return [dict(r._mapping) for r in conn.execute(select(tables.audit).order_by(tables.audit.c.id))]

        return await self.db.read(work)

    async def of_incident(self, provider: str, incident: str, limit: int) -> list[dict[str, object]]:
        """The changes made through the bot to one incident, oldest first, at most the
        newest `limit`: the timeline where the provider keeps none to read."""
        await self.flush()
        table = tables.audit

        def work(conn: Connection) -> list[dict[str, object]]:
            rows = conn.execute(
                select(table)
                .where(table.c.provider == provider, table.c.incident == incident, table.c.outcome == "ok")
                .order_by(table.c.id.desc())
                .limit(limit)
            )
            return [dict(r._mapping) for r in rows][::-1]

        return await self.db.read(work)


def _insert_one(row: dict[str, Any], conn: Connection) -> None:
    conn.execute(insert(tables.audit).values(**row))


AUDIT_COLUMNS = tuple(c.name for c in tables.audit.columns if c.name != "id")


def audit_values(row: dict[str, Any], at: datetime) -> dict[str, Any]:
    """An audit row as stored: every column, text cleaned and clipped (a command's text is
    at most Slack's 4,000 characters, but nothing a client sends is stored unbounded).
    `at`: the caller's clock's moment, for a row that does not carry its own."""
    row = dict(row)
    row.setdefault("at", at)
    if not isinstance(row.get("arguments"), str):
        row["arguments"] = json.dumps(row.get("arguments"), default=str)
    values = {name: row.get(name) for name in AUDIT_COLUMNS}
    for name in ("arguments", "detail"):
        text = values[name]
        if isinstance(text, str):
            values[name] = clean_text(text)[:4000]
    return clean_row(values)
