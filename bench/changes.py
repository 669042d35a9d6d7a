"""CPU per change of the built-in provider on a SQLite file, as `serve` makes them.

    .venv/bin/python -m bench.changes -n 2000

Prints µs of CPU per `set_severity`, `assign_role` and `post_update`, each run `-n` times
on one incident. Every built-in command in the bench's mix makes one of these; issue 16's
profile found SQLAlchemy's execute costing more than SQLite's own work in each.
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

from bot.domain import DeclareRequest, Person
from bot.providers.builtin import BuiltinProvider
from bot.store.db import Store

BEA = Person(slack_id="U1", name="bea")
SAM = Person(slack_id="U2", name="sam")


async def changes(n: int) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as tmp:
        store = Store(f"sqlite+aiosqlite:///{Path(tmp) / 'bench.db'}")
        await store.start()
        provider = BuiltinProvider(store, ["lead", "comms"])
        incident = await provider.declare(DeclareRequest(name="Bench", severity="SEV1", declared_by=BEA))
        ops: dict[str, Callable[[int], Awaitable[object]]] = {
            "set_severity": lambda i: provider.set_severity(incident.id, ("SEV1", "SEV2")[i % 2], BEA),
            "assign_role": lambda i: provider.assign_role(incident.id, "lead", (BEA, SAM)[i % 2], BEA),
            "post_update": lambda i: provider.post_update(incident.id, f"Update {i}", BEA),
        }
        out = {}
        for name, op in ops.items():
            started = time.process_time()
            for i in range(n):
                await op(i)
            out[name] = (time.process_time() - started) / n * 1e6
        await store.close()
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.changes", description=__doc__)
    parser.add_argument("-n", "--changes", type=int, default=2000)
    args = parser.parse_args(argv)
    per = asyncio.run(changes(args.changes))
    print(" / ".join(f"{name} {us:.0f}" for name, us in per.items()), "µs CPU per change")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
