"""Two bot processes on one PostgreSQL database against one, each bot with a CPU of its own.

    .venv/bin/python -m bench.processes [-n 1500] [-c 64] [--cpu 0.4] [--rounds 2]

The question (issue 29) is whether a second process adds what it brings, or whether the
processes hold each other up through the database they share: the advisory locks that
order one incident's changes across processes, the listener that drops what another
process changed, the inbox rows. On a machine whose cores are shared with the load
generator, the fakes and PostgreSQL, two bots only take cores from the rest, and the
result says more about the machine than about the bot. So each bot runs in a CPU slice of
its own, a cgroup capped at `--cpu` of a core (the kernel's CFS quota): the same slice for
one bot and for each of two, with the rest of the machine left to everything else. A
quota is not a slower core: the bot runs for its share of each 100 ms and is then held
until the next, which shows in the answers' tail. The bot is meant to be the limit, and
each row says whether it was: each slice's share of its quota used, and the share of its
periods the kernel throttled it; the cores this process (load, fake Slack, fake
incident.io) and PostgreSQL used. A round whose slices were not at their quota, or whose
load process was near a whole core, is flagged.

The load is closed: `-c` workers each send a command and wait for its answer before the
next, so the figure is how many commands the processes finish per second with that many in
flight. The commands are `bench.spread`'s mix (what a big outage sends: status, severity
and lead changes whose values alternate, so each is a real write, updates, follow-ups,
tasks, `info`) over 16 linked incident.io channels. They go to the processes in turn, as a
load balancer in front of them would send them, and each incident's commands alternate
between the processes, so their turns on it cross through PostgreSQL. Rounds alternate one
and two processes, so a change in the machine's speed hits both; the figure to read is
each round's ratio, and their median.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import statistics
import tempfile
import time
from contextlib import AsyncExitStack
from pathlib import Path
from typing import Any

import aiohttp

from bench.__main__ import table
from bench.harness import BUSY, App, TimedSlack, cpu_seconds, pct, send, settled
from bench.pg import Stats, fresh_database
from bench.scenarios import incidentio_app, link_channels
from bench.spread import CHANGES, spread_plan
from tests.conftest import serve
from tests.fakes.incidentio import FakeIncidentIo
from tests.slackfake import Call

COLUMNS = ["round", "processes", "cpu_per_process", "commands", "answers", "busy", "answered_per_s",
           "answer_p50_ms", "answer_p99_ms", "cpu_ms_per_command", "provider_calls_per_command",
           "provider_writes", "transactions_per_command", "slice_core_shares", "throttled_share",
           "load_core_share", "postgres_core_share", "stale_topics", "stale_cards", "flag"]  # fmt: skip
PERIOD_US = 100_000  # the CFS period the quota is a share of
CHANNELS = 16
SLICE_AT_QUOTA = 0.9  # a slice that used less of its quota: the bot was not the limit
LOAD_NEAR_CORE = 0.8  # the load process near a whole core: it may have been the limit


class Slice:
    """A cgroup capped at a share of one core; a process put in it (all its threads) gets at
    most that share, whatever else runs on the machine. cgroup v2 (`cpu.max`) or v1
    (`cpu.cfs_quota_us`), whichever this machine mounts with the cpu controller."""

    def __init__(self, name: str, share: float) -> None:
        controllers = Path("/sys/fs/cgroup/cgroup.controllers")
        self.v2 = controllers.exists() and "cpu" in controllers.read_text().split()
        self.path = Path("/sys/fs/cgroup" if self.v2 else "/sys/fs/cgroup/cpu") / name
        self.share = share

    def __enter__(self) -> Slice:
        if self.v2:  # the root's children get the cpu controller only once it is handed down
            (self.path.parent / "cgroup.subtree_control").write_text("+cpu")
        self.path.mkdir(exist_ok=True)
        quota = int(self.share * PERIOD_US)
        if self.v2:
            (self.path / "cpu.max").write_text(f"{quota} {PERIOD_US}")
        else:
            (self.path / "cpu.cfs_period_us").write_text(str(PERIOD_US))
            (self.path / "cpu.cfs_quota_us").write_text(str(quota))
        return self

    def __exit__(self, *exc: object) -> None:
        try:
            self.path.rmdir()  # only once its processes are gone; a leftover is harmless
        except OSError:
            pass

    def put(self, pid: int) -> None:
        (self.path / "cgroup.procs").write_text(str(pid))

    def throttled(self) -> tuple[int, int]:
        """(periods the slice ran in, periods it was throttled in), from cpu.stat."""
        stat = dict(line.split() for line in (self.path / "cpu.stat").read_text().splitlines())
        return int(stat["nr_periods"]), int(stat["nr_throttled"])


class WaitedSlack(TimedSlack):
    """The timed fake Slack, waking the load's worker whose command was just answered."""

    def __init__(self) -> None:
        super().__init__()
        self.waiting: dict[str, asyncio.Event] = {}
        self.topics: dict[str, str] = {}  # channel → the topic the bots set last
        self.cards: dict[str, str] = {}  # channel → the card's text as last redrawn

    def _record(self, call: Call) -> None:
        super()._record(call)
        if call.method == "conversations.setTopic" and not call.error:
            self.topics[call.params["channel"]] = call.params["topic"]
        if call.method == "chat.update" and not call.error:
            self.cards[call.params["channel"]] = call.params.get("text", "")
        for user, event in list(self.waiting.items()):
            if user in self.answered:
                event.set()
                del self.waiting[user]


def process_of(n: int, channels: int, processes: int) -> int:
    """Which process command n goes to: in turn, and shifted by one at each pass over the
    channels (command n goes to channel n mod `channels`), so each incident's commands
    alternate between the processes; plain turns would give each process its own channels
    whenever their count is even."""
    return (n + n // channels) % processes


def postgres_cpu() -> dict[int, float]:
    """CPU seconds of each PostgreSQL server process, from /proc."""
    out = {}
    for comm in Path("/proc").glob("[0-9]*/comm"):
        try:
            if comm.read_text().strip() == "postgres":
                out[int(comm.parent.name)] = cpu_seconds(int(comm.parent.name))
        except (OSError, ValueError):
            continue  # gone meanwhile
    return out


def stale_topics(slack: WaitedSlack, fake: FakeIncidentIo, channels: list[str]) -> dict[str, list[str]]:
    """Channels whose topic, once the bots hold nothing more, does not show the status and
    severity the provider holds: channel → [the topic shown, what the provider holds]."""
    stale = {}
    for channel in channels:
        incident = next(i for i in fake.incidents.values() if i["slack_channel_id"] == channel)
        status = incident["incident_status"]["name"]
        severity = incident.get("severity", {}).get("name") or "no severity"
        holds = f"{status[:1].upper()}{status[1:]} · {severity} · "
        if not slack.topics.get(channel, "").startswith(holds):
            stale[channel] = [slack.topics.get(channel, ""), holds]
    return stale


def stale_cards(slack: WaitedSlack, fake: FakeIncidentIo, channels: list[str]) -> dict[str, list[str]]:
    """Channels whose card, as last redrawn, does not show the status the provider holds (its
    text ends with it: `INC-1: Bench incident 100 (Fixing)`)."""
    stale = {}
    for channel in channels:
        incident = next(i for i in fake.incidents.values() if i["slack_channel_id"] == channel)
        status = incident["incident_status"]["name"]
        holds = f"({status[:1].upper()}{status[1:]})"
        if channel in slack.cards and not slack.cards[channel].endswith(holds):
            stale[channel] = [slack.cards[channel], holds]
    return stale


def own_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


async def closed_load(
    apps: list[App], slices: list[Slice], slack: WaitedSlack, fake: FakeIncidentIo, stats: Stats | None,
    plan: list[tuple[str, str]], concurrency: int, tag: str,
) -> dict[str, Any]:  # fmt: skip
    channels = sorted({channel for _, channel in plan})
    """`concurrency` workers, each sending its next command only once the last is answered.
    CPU and throttling are read when the last answer came; answers, provider requests and
    transactions once the bots hold nothing more (the cards' redraws after the last answer
    included: chat.update is paced to its tier, bot/slack/calls.py)."""
    _, xacts_before = await stats.look() if stats else (0, 0)
    queue: asyncio.Queue[tuple[int, str, str]] = asyncio.Queue()
    for n, (text, channel) in enumerate(plan):
        queue.put_nowait((n, text, channel))
    answer_ms: list[float] = []
    users: list[str] = []
    cpu_before = [cpu_seconds(app.pid) for app in apps]
    throttled_before = [s.throttled() for s in slices]
    own_before, pg_before = own_cpu(), postgres_cpu()
    requests_before, writes_before = len(fake.requests), len(fake.writes())
    answers_before = slack.answers_seen
    connector = aiohttp.TCPConnector(limit=concurrency * 2)
    began = time.perf_counter()
    async with aiohttp.ClientSession(connector=connector) as session:

        async def worker() -> None:
            while not queue.empty():
                n, text, channel = queue.get_nowait()
                user = f"Uproc{tag}{n}"
                users.append(user)
                answered = slack.waiting[user] = asyncio.Event()
                app = apps[process_of(n, CHANNELS, len(apps))]
                status, started = await send(session, app, slack, text, user, channel)
                if status != 200:
                    raise RuntimeError(f"{app.name} answered {status} to {text!r}")
                await asyncio.wait_for(answered.wait(), 120)
                answer_ms.append((slack.answered[user] - started) * 1000)

        async with asyncio.TaskGroup() as workers:  # one failing stops the others
            for _ in range(concurrency):
                workers.create_task(worker())
        seconds = time.perf_counter() - began
    used = [cpu_seconds(app.pid) - before for app, before in zip(apps, cpu_before, strict=True)]
    own = own_cpu() - own_before
    pg = sum(t - pg_before.get(pid, 0.0) for pid, t in postgres_cpu().items())
    periods = throttled = 0
    for s, (p0, t0) in zip(slices, throttled_before, strict=True):
        p1, t1 = s.throttled()
        periods, throttled = periods + p1 - p0, throttled + t1 - t0
    # An answer posted twice would have come by now: no process holds anything more, twice
    # over (a process's last work may be another's answer).
    for _ in range(2):
        for app in apps:
            await settled(app)
    _, xacts_after = await stats.look() if stats else (0, 0)
    stale = stale_topics(slack, fake, channels)
    cards = stale_cards(slack, fake, channels)
    shares = [round(u / seconds / s.share, 2) for u, s in zip(used, slices, strict=False)]
    load_share = round(own / seconds, 2)
    flag = []
    if slices and min(shares) < SLICE_AT_QUOTA:
        flag.append("a slice under its quota")
    if load_share > LOAD_NEAR_CORE:
        flag.append("the load near a core")
    return {
        "commands": len(plan),
        "answers": slack.answers_seen - answers_before,
        "busy": sum(BUSY in slack.outcome.get(user, "") for user in users),
        "answered_per_s": round(len(plan) / seconds, 1),
        "answer_p50_ms": pct(answer_ms, 50),
        "answer_p99_ms": pct(answer_ms, 99),
        "cpu_ms_per_command": round(1000 * sum(used) / len(plan), 2),
        "provider_calls_per_command": round((len(fake.requests) - requests_before) / len(plan), 2),
        "provider_writes": len(fake.writes()) - writes_before,
        # The counts are read from the postgres database: none of the looks is counted.
        "transactions_per_command": round((xacts_after - xacts_before) / len(plan), 2) if stats else None,
        "slice_core_shares": shares or None,  # of each slice's quota, what its bot used
        "throttled_share": round(throttled / periods, 2) if periods else None,
        "load_core_share": load_share,
        "postgres_core_share": round(pg / seconds, 2),
        "stale_topics": len(stale),
        "stale": stale,  # in the report file, not the table
        "stale_cards": len(cards),
        "stale_card": cards,
        "flag": ", ".join(flag) or None,
    }


async def one_round(
    n: int, processes: int, share: float, slack: WaitedSlack, fake: FakeIncidentIo, workdir: Path,
    database: str, load: tuple[int, int], count_transactions: bool,
) -> dict[str, Any]:  # fmt: skip
    """`load`: (commands, concurrency)."""
    commands, concurrency = load
    await fresh_database(database)
    url = f"postgresql+asyncpg://postgres@127.0.0.1:5432/{database}"
    stats = Stats(database) if count_transactions else None
    async with AsyncExitStack() as stack:
        if stats:
            stack.push_async_callback(stats.close)
        names = [f"incident-bench-{os.getpid()}-{k}" for k in range(processes)]
        slices = [stack.enter_context(Slice(name, share)) for name in names] if share else []
        apps = []
        for k in range(processes):
            app = incidentio_app(f"bot{k}", slack, workdir, fake, DATABASE_URL=url, AUTO_MIGRATE="true")
            apps.append(await stack.enter_async_context(app))
            if slices:
                slices[k].put(app.pid)
        channels = await link_channels(apps[0], slack, fake, CHANNELS, first=1000 * n + 100 * processes)
        # One plan for the warm-up and the load, so each field's values go on alternating.
        # The warm-up is a whole number of passes over the channels: the load's command 0
        # goes to process 0 on channel 0, in one round as in the next.
        warm = CHANNELS * max(1, commands // 4 // CHANNELS)
        plan, kinds, _, _ = spread_plan(warm + commands, channels)
        tag = f"{n}p{processes}"
        await closed_load(apps, slices, slack, fake, stats, plan[:warm], concurrency, f"{tag}warm")
        row = await closed_load(apps, slices, slack, fake, stats, plan[warm:], concurrency, tag)
    measured = kinds[warm:]
    return (
        {"round": n, "processes": processes, "cpu_per_process": share}
        | row
        | {
            "appends": sum(kind in ("update", "followup", "task") for kind in measured),
            "changes": sum(kind in CHANGES for kind in measured),
        }
    )


async def bench(
    commands: int, concurrency: int, share: float, rounds: int, database: str, count_transactions: bool = True
) -> dict[str, Any]:
    """`count_transactions`: read PostgreSQL's counts around each load, which takes a
    second's wait each time (a backend reports within a second of going idle)."""
    slack = WaitedSlack()
    slack.keep_calls = False
    runner, slack.url = await serve(slack.app())
    fake = FakeIncidentIo()
    fake.validate = False
    fake_runner, fake.url = await serve(fake.app())
    rows: list[dict[str, Any]] = []
    load, counted = (commands, concurrency), count_transactions
    try:
        with tempfile.TemporaryDirectory() as tmp:
            for n in range(rounds):
                for processes in (1, 2) if n % 2 == 0 else (2, 1):
                    rows.append(
                        await one_round(n, processes, share, slack, fake, Path(tmp), database, load, counted)
                    )
    finally:
        await fake_runner.cleanup()
        await runner.cleanup()
    by_round: dict[int, dict[int, float]] = {}
    for row in rows:
        by_round.setdefault(row["round"], {})[row["processes"]] = row["answered_per_s"]
    ratios = [round(r[2] / r[1], 2) for _, r in sorted(by_round.items())]
    return {"runs": rows, "two_to_one_answered_per_s": ratios}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.processes", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)  # fmt: skip
    parser.add_argument("-n", "--commands", type=int, default=1500, help="commands per measured load")
    parser.add_argument("-c", "--concurrency", type=int, default=64, help="commands in flight")
    parser.add_argument(
        "--cpu", type=float, default=0.4, help="each bot's CPU slice, in cores; 0: none (the machine decides)"
    )
    parser.add_argument("--rounds", type=int, default=2, help="one process and two, this many times")
    parser.add_argument("--database", default="bench_processes", help="made afresh on 127.0.0.1:5432")
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args(argv)
    try:
        if args.cpu:
            Slice("incident-bench-probe", args.cpu).__enter__().__exit__()
    except OSError as error:
        print(f"bench.processes needs a cgroup it can write for each bot's CPU slice (or --cpu 0): {error}")
        return 2
    started = time.perf_counter()
    report = asyncio.run(bench(args.commands, args.concurrency, args.cpu, args.rounds, args.database))
    print(table(report["runs"], COLUMNS))
    ratios = report["two_to_one_answered_per_s"]
    print(f"\nanswered/s, two processes / one, each round: {ratios}; median {statistics.median(ratios)}")
    print(f"the bench took {time.perf_counter() - started:.0f} s")
    if args.out:
        args.out.write_text(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
