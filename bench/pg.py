"""The bot's CPU per command on PostgreSQL beside SQLite, in one run, and what PostgreSQL
is asked for it: connections opened, transactions per command, provider calls per command.

    .venv/bin/python -m bench.pg -n 2000 -c 64

Each store gets the same bot (`serve`, incident.io's mix on 16 linked channels, the fake
answering at once), a warm-up load and then the measured one. The PostgreSQL database
(`--database`, made afresh) is the bot's alone, so its `pg_stat_database` counts are the
bot's: `sessions` for connections opened, `xact_commit + xact_rollback` for transactions.
Everything shares the machine's cores; the ratio in one run is the figure to read.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import tempfile
import time
from pathlib import Path
from typing import Any

import asyncpg  # type: ignore[import-untyped]

from bench.__main__ import IO_MIX, table
from bench.harness import App, TimedSlack, run_load
from bench.scenarios import KEY, link_channels
from tests.conftest import serve
from tests.fakes.incidentio import FakeIncidentIo

SERVER = "postgresql://postgres@127.0.0.1:5432"
COLUMNS = ["store", "commands", "concurrency", "cpu_ms_per_command", "answered_per_s", "answer_p50_ms",
           "answer_p99_ms", "provider_calls_per_command", "connections_opened",
           "transactions_per_command"]  # fmt: skip


async def fresh_database(name: str) -> None:
    conn = await asyncpg.connect(f"{SERVER}/postgres")
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()


class Stats:
    """The bench database's counters, read on one connection opened before the first look
    (so it is not counted): what the bot asked of PostgreSQL between two looks."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.conn: asyncpg.Connection | None = None

    async def look(self) -> tuple[int, int]:
        if self.conn is None:
            self.conn = await asyncpg.connect(f"{SERVER}/postgres")
        # A backend reports its counts within a second of going idle: wait that out.
        await asyncio.sleep(1.2)
        await self.conn.execute("SELECT pg_stat_clear_snapshot()")
        row = await self.conn.fetchrow(
            "SELECT sessions, xact_commit + xact_rollback AS xacts FROM pg_stat_database WHERE datname = $1",
            self.name,
        )
        assert row is not None
        return int(row["sessions"]), int(row["xacts"])

    async def close(self) -> None:
        if self.conn is not None:
            await self.conn.close()


async def one_store(
    slack: TimedSlack,
    fake: FakeIncidentIo,
    workdir: Path,
    name: str,
    url: str,
    first_channel: int,
    commands: int,
    concurrency: int,
    stats: Stats | None,
    root: Path | None,
    pool_max: int | None = None,
) -> dict[str, Any]:
    extra = {"PYTHONPATH": str(root)} if root else {}
    if pool_max is not None:
        extra["DATABASE_POOL_MAX"] = str(pool_max)
    app = App(
        f"bot-{name}",
        ["bot", "serve"],
        slack,
        workdir,
        INCIDENT_PROVIDER="incidentio",
        INCIDENTIO_API_KEY=KEY,
        INCIDENTIO_API_URL=fake.url,
        DATABASE_URL=url,
        AUTO_MIGRATE="true",
        **extra,
    )
    async with app:
        channels = await link_channels(app, slack, fake, 16, first=first_channel)
        plan = [(IO_MIX[n % len(IO_MIX)], channels[n % len(channels)]) for n in range(commands)]
        tag = f"{name}{first_channel}"  # a user per command, never one of an earlier load's
        await run_load(app, slack, plan, concurrency, f"{tag}warm")  # the caches, the pool
        before = await stats.look() if stats else (0, 0)
        reads = len(fake.requests)
        summary = (await run_load(app, slack, plan, concurrency, f"{tag}x")).summary()
        after = await stats.look() if stats else (0, 0)
        summary |= {
            "store": name,
            "provider_calls_per_command": round((len(fake.requests) - reads) / commands, 2),
            "connections_opened": after[0] - before[0] if stats else None,
            # The looks are made on the postgres database: none of them is counted here.
            "transactions_per_command": round((after[1] - before[1]) / commands, 2) if stats else None,
        }
        return summary


async def bench(
    commands: int,
    concurrency: int,
    database: str,
    rounds: int,
    root: Path | None = None,
    pool_max: int | None = None,
) -> dict[str, Any]:
    slack = TimedSlack()
    slack.keep_calls = False
    runner, slack.url = await serve(slack.app())
    fake = FakeIncidentIo()
    fake.validate = False
    fake_runner, fake.url = await serve(fake.app())
    rows: list[dict[str, Any]] = []
    try:
        with tempfile.TemporaryDirectory() as tmp:
            for n in range(rounds):  # alternated, so a change in the machine's speed hits both
                await fresh_database(database)
                stats = Stats(database)
                try:
                    sqlite = f"sqlite+aiosqlite:///{Path(tmp) / f'bench{n}.db'}"
                    rows.append(
                        await one_store(
                            slack,
                            fake,
                            Path(tmp),
                            "sqlite",
                            sqlite,
                            1000 * n,
                            commands,
                            concurrency,
                            None,
                            root,
                        )
                    )
                    pg = f"postgresql+asyncpg://postgres@127.0.0.1:5432/{database}"
                    rows.append(
                        await one_store(
                            slack,
                            fake,
                            Path(tmp),
                            "postgresql",
                            pg,
                            1000 * n + 500,
                            commands,
                            concurrency,
                            stats,
                            root,
                            pool_max,
                        )
                    )
                finally:
                    await stats.close()
    finally:
        await fake_runner.cleanup()
        await runner.cleanup()
    ratios = [
        round(pg["cpu_ms_per_command"] / lite["cpu_ms_per_command"], 2)
        for lite, pg in zip(rows[::2], rows[1::2], strict=True)
    ]
    return {"runs": rows, "cpu_ratio_postgresql_to_sqlite": ratios}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.pg", description=__doc__)
    parser.add_argument("-n", "--commands", type=int, default=2000, help="commands per measured load")
    parser.add_argument("-c", "--concurrency", type=int, default=64)
    parser.add_argument("--rounds", type=int, default=2, help="SQLite then PostgreSQL, this many times")
    parser.add_argument("--database", default="bench_pg", help="made afresh on 127.0.0.1:5432")
    parser.add_argument("--out", type=Path, default=None)
    parser.add_argument("--pool-max", type=int, default=None, help="DATABASE_POOL_MAX for the bot")
    parser.add_argument(
        "--bot-root",
        type=Path,
        default=None,
        help="run the bot from this tree (an older commit, for a before)",
    )
    args = parser.parse_args(argv)
    started = time.perf_counter()
    report = asyncio.run(
        bench(args.commands, args.concurrency, args.database, args.rounds, args.bot_root, args.pool_max)
    )
    print(table(report["runs"], COLUMNS))
    print(f"\nCPU per command, PostgreSQL / SQLite, each round: {report['cpu_ratio_postgresql_to_sqlite']}")
    print(f"the bench took {time.perf_counter() - started:.0f} s")
    if args.out:
        args.out.write_text(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
