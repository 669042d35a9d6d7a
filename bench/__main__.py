"""`python -m bench`: how fast the bot acks and answers, beside a bare Bolt app, same run.

Both apps run as real `serve` processes on 127.0.0.1; this process plays Slack: it sends
signed slash commands at a fixed concurrency and serves the recording Web API the apps
answer to. Everything shares this machine's cores, so ratios to the bare app in the same
run are what mean something, not absolute figures.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import socket
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp

from tests.slackfake import Call, FakeSlack, sign, slash_body

SECRET = "bench-signing-secret"
MENTION = re.compile(r"<@(Ubench\w+)>")
# The realistic mix on linked channels: mostly status traffic, some reads.
MIX = [
    "ack",
    "status monitoring",
    "sev 2",
    "update Still looking into it",
    "status investigating",
    "info",
    "lead me",
    "roles",
]


class TimedSlack(FakeSlack):
    """The recording fake Slack, stamping when each command's answer arrives."""

    def __init__(self) -> None:
        super().__init__()
        self.answered: dict[str, float] = {}
        self.answers_seen = 0
        self.keep_calls = True

    def _record(self, call: Call) -> None:
        if call.method in ("chat.postMessage", "response_url") and not call.error:
            self.answers_seen += 1
            text = json.dumps(call.params.get("blocks", "")) + call.params.get("text", "")
            for user in set(MENTION.findall(text)):
                self.answered.setdefault(user, time.perf_counter())
        if self.keep_calls:
            super()._record(call)


@dataclass
class Result:
    app: str
    concurrency: int
    commands: int
    ack_ms: list[float] = field(default_factory=list)
    answer_ms: list[float] = field(default_factory=list)
    answered: int = 0
    seconds: float = 0.0
    rss_start_mb: float = 0.0
    rss_end_mb: float = 0.0
    rss_peak_mb: float = 0.0
    slow_acks: int = 0  # over 3 s: Slack would have shown the user an error

    def summary(self) -> dict[str, Any]:
        return {
            "app": self.app,
            "concurrency": self.concurrency,
            "commands": self.commands,
            "ack_p50_ms": pct(self.ack_ms, 50),
            "ack_p95_ms": pct(self.ack_ms, 95),
            "ack_p99_ms": pct(self.ack_ms, 99),
            "ack_max_ms": round(max(self.ack_ms), 1) if self.ack_ms else None,
            "answer_p50_ms": pct(self.answer_ms, 50),
            "answer_p99_ms": pct(self.answer_ms, 99),
            "answered": self.answered,
            "answered_per_s": round(self.answered / self.seconds, 1) if self.seconds else None,
            "acks_over_3s": self.slow_acks,
            "rss_peak_mb": round(self.rss_peak_mb, 1),
            "rss_growth_mb": round(self.rss_end_mb - self.rss_start_mb, 1),
        }


def pct(values: list[float], p: int) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, int(len(ordered) * p / 100))], 1)


def rss_mb(pid: int) -> tuple[float, float]:
    """(current, peak) resident memory of a process, from /proc."""
    fields = dict(
        line.split(":", 1) for line in Path(f"/proc/{pid}/status").read_text().splitlines() if ":" in line
    )
    return int(fields["VmRSS"].split()[0]) / 1024, int(fields["VmHWM"].split()[0]) / 1024


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class App:
    def __init__(self, name: str, module: list[str], slack: FakeSlack, workdir: Path) -> None:
        self.name, self.module, self.slack, self.workdir = name, module, slack, workdir
        self.port = free_port()
        self.process: asyncio.subprocess.Process | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def __aenter__(self) -> App:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "INCIDENT", "DATABASE"))}
        env.update(
            SLACK_BOT_TOKEN="xoxb-bench",
            SLACK_SIGNING_SECRET=SECRET,
            SLACK_API_URL=self.slack.api_url,
            PORT=str(self.port),
            DATABASE_URL=f"sqlite+aiosqlite:///{self.workdir / (self.name + '.db')}",
            PYTHONPATH=str(Path(__file__).resolve().parent.parent),
        )
        self.process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            *self.module,
            env=env,
            cwd=self.workdir,
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.DEVNULL,
        )
        async with aiohttp.ClientSession() as session:
            for _ in range(300):
                try:
                    async with session.get(f"{self.url}/healthz") as response:
                        if response.status == 200:
                            return self
                except aiohttp.ClientConnectionError:
                    await asyncio.sleep(0.05)
        raise RuntimeError(f"{self.name} did not start")

    async def __aexit__(self, *exc: object) -> None:
        assert self.process is not None
        self.process.terminate()
        await self.process.wait()


async def send(
    session: aiohttp.ClientSession, app: App, slack: FakeSlack, text: str, user: str, channel: str
) -> tuple[int, float]:
    body = slash_body(text, response_url=slack.response_url(), user=user, channel=channel)
    started = time.perf_counter()
    async with session.post(f"{app.url}/slack/events", data=body, headers=sign(SECRET, body)) as response:
        await response.read()
        return response.status, started


async def setup_incidents(app: App, slack: TimedSlack, channels: int) -> list[str]:
    """Declare incidents through the bot itself; return their channels (linked)."""
    async with aiohttp.ClientSession() as session:
        for n in range(channels):
            await send(session, app, slack, f"declare Bench incident {n}", "Usetup", "CSETUP")
        for _ in range(200):
            if len(slack.of("conversations.invite")) >= channels:
                break
            await asyncio.sleep(0.05)
    return [call.params["channel"] for call in slack.of("conversations.invite")][:channels]


async def run_load(
    app: App, slack: TimedSlack, commands: list[tuple[str, str]], concurrency: int, tag: str
) -> Result:
    assert app.process is not None
    result = Result(app=app.name, concurrency=concurrency, commands=len(commands))
    result.rss_start_mb = rss_mb(app.process.pid)[0]
    sent: dict[str, float] = {}
    queue: asyncio.Queue[tuple[int, str, str]] = asyncio.Queue()
    for n, (text, channel) in enumerate(commands):
        queue.put_nowait((n, text, channel))
    before = slack.answers_seen
    connector = aiohttp.TCPConnector(limit=concurrency)
    began = time.perf_counter()
    async with aiohttp.ClientSession(connector=connector) as session:

        async def worker() -> None:
            while not queue.empty():
                n, text, channel = queue.get_nowait()
                user = f"Ubench{tag}{n}"
                status, started = await send(session, app, slack, text, user, channel)
                acked = time.perf_counter()
                sent[user] = started
                result.ack_ms.append((acked - started) * 1000)
                result.slow_acks += (acked - started) > 3.0
                if status != 200:
                    raise RuntimeError(f"{app.name} answered {status} to {text!r}")

        await asyncio.gather(*(worker() for _ in range(concurrency)))
        deadline = time.perf_counter() + 60
        while slack.answers_seen - before < len(commands) and time.perf_counter() < deadline:
            await asyncio.sleep(0.01)
    last = max((slack.answered.get(u, began) for u in sent), default=began)
    result.seconds = last - began
    result.answered = slack.answers_seen - before
    result.answer_ms = [(slack.answered[u] - t) * 1000 for u, t in sent.items() if u in slack.answered]
    current, result.rss_peak_mb = rss_mb(app.process.pid)
    result.rss_end_mb = current
    return result


async def calls_per_verb(app: App, slack: TimedSlack, channel: str) -> dict[str, dict[str, float]]:
    """Slack calls one command of each verb costs, warm (after one of each has run)."""
    out: dict[str, dict[str, float]] = {}
    async with aiohttp.ClientSession() as session:
        for text in MIX:
            await send(session, app, slack, text, "Uwarm", channel)
        await asyncio.sleep(0.3)
        for text in MIX:
            before = len(slack.calls)
            repeats = 5
            for _ in range(repeats):
                seen = slack.answers_seen
                await send(session, app, slack, text, "Uwarm", channel)
                while slack.answers_seen == seen:
                    await asyncio.sleep(0.005)
                # The card is redrawn after the answer: wait until Slack hears nothing more.
                quiet = len(slack.calls)
                await asyncio.sleep(0.05)
                while len(slack.calls) != quiet:
                    quiet = len(slack.calls)
                    await asyncio.sleep(0.05)
            methods = Counter(c.method for c in slack.calls[before:])
            out[text.split()[0] if text.split()[0] != "status" else text] = {
                m: round(n / repeats, 2) for m, n in sorted(methods.items())
            }
    return out


def table(rows: list[dict[str, Any]]) -> str:
    columns = [
        "app",
        "concurrency",
        "commands",
        "ack_p50_ms",
        "ack_p95_ms",
        "ack_p99_ms",
        "ack_max_ms",
        "answer_p50_ms",
        "answer_p99_ms",
        "answered_per_s",
        "acks_over_3s",
        "rss_peak_mb",
        "rss_growth_mb",
    ]
    widths = [max(len(c), *(len(str(r.get(c))) for r in rows)) for c in columns]
    lines = [" | ".join(c.ljust(w) for c, w in zip(columns, widths, strict=True))]
    lines.append("-|-".join("-" * w for w in widths))
    for row in rows:
        lines.append(" | ".join(str(row.get(c)).ljust(w) for c, w in zip(columns, widths, strict=True)))
    return "\n".join(lines)


async def bench(commands: int, concurrencies: list[int], channels: int, out: Path | None) -> dict[str, Any]:
    slack = TimedSlack()
    from tests.conftest import serve

    runner, slack.url = await serve(slack.app())
    report: dict[str, Any] = {
        "machine": {"cores": os.cpu_count()},
        "runs": [],
        "ratios": [],
        "calls_per_command": {},
    }
    try:
        with tempfile.TemporaryDirectory() as tmp:
            workdir = Path(tmp)
            async with (
                App("bot", ["bot", "serve"], slack, workdir) as bot,
                App("bare-bolt", ["bench.bare_app"], slack, workdir) as bare,
            ):
                linked = await setup_incidents(bot, slack, channels)
                report["calls_per_command"] = await calls_per_verb(bot, slack, linked[0])
                slack.keep_calls = False  # the load runs record timings only
                for concurrency in concurrencies:
                    plan = [(MIX[n % len(MIX)], linked[n % len(linked)]) for n in range(commands)]
                    bare_plan = [("ack", f"CB{n % channels}") for n in range(commands)]
                    ours = await run_load(bot, slack, plan, concurrency, f"b{concurrency}x")
                    floor = await run_load(bare, slack, bare_plan, concurrency, f"f{concurrency}x")
                    report["runs"] += [ours.summary(), floor.summary()]
                    o, f = ours.summary(), floor.summary()
                    report["ratios"].append(
                        {
                            "concurrency": concurrency,
                            "ack_p99_ratio": round(o["ack_p99_ms"] / f["ack_p99_ms"], 2),
                            "answered_per_s_ratio": round(o["answered_per_s"] / f["answered_per_s"], 2),
                        }
                    )
    finally:
        await runner.cleanup()
    print(table(report["runs"]))
    print()
    for ratio in report["ratios"]:
        print(
            f"concurrency {ratio['concurrency']}: ack p99 ours/bare = {ratio['ack_p99_ratio']}, "
            f"answered/s ours/bare = {ratio['answered_per_s_ratio']}"
        )
    print()
    print("Slack calls per command, warm cache (built-in provider: no provider HTTP calls):")
    for verb, methods in report["calls_per_command"].items():
        print(f"  {verb:22} {methods}")
    if out:
        out.write_text(json.dumps(report, indent=2))
        print(f"\nwritten to {out}")
    return report


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("-n", "--commands", type=int, default=2000, help="commands per run")
    parser.add_argument("-c", "--concurrency", type=int, nargs="+", default=[4, 64])
    parser.add_argument("--channels", type=int, default=20, help="linked incident channels")
    parser.add_argument("--out", type=Path, default=Path("bench/results.json"))
    args = parser.parse_args(argv)
    asyncio.run(bench(args.commands, args.concurrency, args.channels, args.out))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
