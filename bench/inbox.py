"""CPU per command spent on the durable inbox: the accept before the ack and the finish
after the answer, one after another, on a SQLite file as `serve` uses it.

    .venv/bin/python -m bench.inbox -n 3000

Prints CPU µs per accept+finish pair (the whole process: the loop and the store's thread)
and the size of the write-ahead log at the end. Every command pays this pair; issue 16's
profile found the hand-off of each to the store's thread costing more than SQLite's work.
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from pathlib import Path

from bot.store import tables
from bot.store.audit import audit_values
from bot.store.engine import Database
from bot.store.inbox import Inbox

PAYLOAD = {"text": "status resolved", "user": "U1", "channel": "C1", "options": {"again": [1, 2, 3]}}
AUDIT = {
    "team_id": "T1",
    "channel_id": "C1",
    "user_id": "U1",
    "verb": "status",
    "arguments": {"status": "resolved"},
    "provider": "incidentio",
    "incident": "INC-1",
    "outcome": "changed",
    "duration_ms": 12.5,
}


async def pairs(n: int) -> tuple[float, int]:
    with tempfile.TemporaryDirectory() as tmp:
        db = Database(f"sqlite+aiosqlite:///{Path(tmp) / 'bench.db'}")
        await db.write(lambda conn: tables.metadata.create_all(conn))
        inbox = Inbox(db, "bench")
        started = time.process_time()
        for i in range(n):
            assert await inbox.accept(f"key-{i}", "command", "status", PAYLOAD)
            await inbox.finish(f"key-{i}", audit_values(AUDIT, db.clock.now()))
        cpu = time.process_time() - started
        wal = (Path(tmp) / "bench.db-wal").stat().st_size
        await db.close()
    return cpu / n * 1e6, wal


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.inbox", description=__doc__)
    parser.add_argument("-n", "--pairs", type=int, default=3000)
    args = parser.parse_args(argv)
    per_pair, wal = asyncio.run(pairs(args.pairs))
    print(
        f"inbox accept + finish: {per_pair:.0f} µs CPU per pair over {args.pairs} pairs; "
        f"WAL {wal / 1e6:.1f} MB"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
