"""What every bench run needs: the apps as processes, a fake Slack that stamps when each
command's answer arrives, the load loop, and the figures (percentiles, RSS, CPU)."""

from __future__ import annotations

import asyncio
import json
import os
import re
import socket
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import web

from tests.slackfake import Call, FakeSlack, sign, slash_body

SECRET = "bench-signing-secret"
BUSY = "is busy right now"  # the answer past the backlog (bot/commands/pipeline.py)
MENTION = re.compile(r"<@(U\w+)>")
ROOT = Path(__file__).resolve().parent.parent
STARTUP_PATIENCE = 180.0  # seconds a bot process may take to answer /healthz before the run gives up
STOP_PATIENCE = 5.0  # seconds a stopped bot may take to exit before it is killed


class TimedSlack(FakeSlack):
    """The recording fake Slack, stamping when each command's answer arrives: a message
    that mentions the command's user, or a post to the command's own response_url."""

    def __init__(self) -> None:
        super().__init__()
        self.answered: dict[str, float] = {}
        self.outcome: dict[str, str] = {}  # user → the answer's text
        self.by_response: dict[str, str] = {}  # response_url path → user
        self.answers_seen = 0
        self.texts: list[str] = []  # every answer's text, in order
        self.methods: Counter[str] = Counter()
        self.keep_calls = True

    def _record(self, call: Call) -> None:
        self.methods[call.method] += 1
        if call.method in ("chat.postMessage", "response_url") and not call.error:
            self.answers_seen += 1
            text = json.dumps(call.params.get("blocks", ""), ensure_ascii=False) + call.params.get("text", "")
            self.texts.append(text)
            users = set(MENTION.findall(text))
            if call.method == "response_url" and call.headers.get("X-Bench-Path") in self.by_response:
                users.add(self.by_response[call.headers["X-Bench-Path"]])
            for user in users:
                if user not in self.answered:
                    self.answered[user] = time.perf_counter()
                    self.outcome[user] = text
        if self.keep_calls:
            super()._record(call)

    async def _response(self, request: web.Request) -> web.Response:
        body = await request.json()
        self._record(Call("response_url", body, {"X-Bench-Path": request.path}))
        return web.Response(text="ok")


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
    cpu_seconds: float = 0.0
    slow_acks: int = 0  # over 3 s: Slack would have shown the user an error
    busy: int = 0  # answered "busy" (past the backlog): acked and answered, never run
    slack_calls: Counter[str] = field(default_factory=Counter)

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
            # Commands run and answered: a "busy" answer (past the backlog) is counted apart.
            "answered_per_s": round((self.answered - self.busy) / self.seconds, 1) if self.seconds else None,
            "acks_over_3s": self.slow_acks,
            "answered_busy": self.busy,
            "cpu_ms_per_command": round(1000 * self.cpu_seconds / self.commands, 2)
            if self.commands
            else None,
            "rss_peak_mb": round(self.rss_peak_mb, 1),
            "rss_growth_mb": round(self.rss_end_mb - self.rss_start_mb, 1),
            "slack_calls_per_command": {
                m: round(n / self.commands, 2) for m, n in sorted(self.slack_calls.items())
            },
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


def cpu_seconds(pid: int) -> float:
    """User plus system CPU time a process (all its threads) has used, from /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class App:
    """One app as a real process on 127.0.0.1, configured by environment as in production."""

    def __init__(self, name: str, module: list[str], slack: FakeSlack, workdir: Path, **env: str) -> None:
        self.name, self.module, self.slack, self.workdir, self.env = name, module, slack, workdir, env
        self.port = free_port()
        self.process: asyncio.subprocess.Process | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    async def __aenter__(self) -> App:
        prefixes = ("SLACK_", "INCIDENT", "DATABASE", "PAGERDUTY_", "FIREHYDRANT_", "PROVIDER_")
        env = {k: v for k, v in os.environ.items() if not k.startswith(prefixes)}
        env.update(
            SLACK_BOT_TOKEN="xoxb-bench",
            SLACK_SIGNING_SECRET=SECRET,
            SLACK_API_URL=self.slack.api_url,
            PORT=str(self.port),
            DATABASE_URL=f"sqlite+aiosqlite:///{self.workdir / (self.name + '.db')}",
            PYTHONPATH=str(ROOT),
        )
        env.update(self.env)
        self.process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            *self.module,
            env=env,
            cwd=self.workdir,
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.DEVNULL,
        )
        # Until it answers, or exits: a bound for a machine far slower than this one (the
        # tests run the bench pinned to one busy core), never a measure of its start-up.
        deadline = time.monotonic() + STARTUP_PATIENCE
        async with aiohttp.ClientSession() as session:
            while time.monotonic() < deadline and self.process.returncode is None:
                try:
                    async with session.get(f"{self.url}/healthz") as response:
                        if response.status == 200:
                            return self
                except aiohttp.ClientConnectionError:
                    await asyncio.sleep(0.05)
        said = "exited" if self.process.returncode is not None else "did not answer /healthz"
        raise RuntimeError(f"{self.name} did not start: {said}")

    async def __aexit__(self, *exc: object) -> None:
        """Stopped as in production (SIGTERM), but not waited on past a few seconds: a bot
        still holding work (pins paced to Slack's Tier 2 after a burst of links) would give it
        its whole grace, and what it holds is the bench's throwaway state."""
        assert self.process is not None
        self.process.terminate()
        try:
            await asyncio.wait_for(self.process.wait(), STOP_PATIENCE)
        except TimeoutError:
            self.process.kill()
            await self.process.wait()


async def send(
    session: aiohttp.ClientSession,
    app: App,
    slack: TimedSlack,
    text: str,
    user: str,
    channel: str,
    channel_name: str = "bench",
) -> tuple[int, float]:
    """One signed slash command; (HTTP status of the ack, when it was sent)."""
    response_url = slack.response_url()
    slack.by_response[response_url.removeprefix(slack.url)] = user
    body = slash_body(text, response_url=response_url, user=user, channel=channel, channel_name=channel_name)
    started = time.perf_counter()
    async with session.post(f"{app.url}/slack/events", data=body, headers=sign(SECRET, body)) as response:
        await response.read()
        return response.status, started


async def answers(slack: TimedSlack, count: int, within: float = 60.0) -> None:
    """Wait until Slack has seen `count` answers; a bench that hangs measures nothing."""
    deadline = time.perf_counter() + within
    while slack.answers_seen < count:
        if time.perf_counter() > deadline:
            raise RuntimeError(f"{slack.answers_seen} answers of {count} within {within} s")
        await asyncio.sleep(0.005)


async def settled(app: App, within: float = 300.0) -> None:
    """Until the bot has nothing in hand: every request answered and whatever it started
    (a card's redraw, the wait before it included) done, as its /metrics says
    (`incident_bot_inbox_backlog`, the requests the process holds). A signal, not a sleep;
    the bound is generous, as pins past Slack's burst are paced to 20 a minute."""
    deadline = time.perf_counter() + within
    async with aiohttp.ClientSession() as session:
        while True:
            async with session.get(f"{app.url}/metrics") as response:
                page = await response.text()
            gauge = "incident_bot_inbox_backlog "
            held = [line.split()[-1] for line in page.splitlines() if line.startswith(gauge)]
            if len(held) == 1 and float(held[0]) == 0:
                return
            if time.perf_counter() > deadline:
                raise RuntimeError(f"{app.name} still holds {held} requests after {within} s")
            # Not much oftener: each look costs the bot a page of metrics, CPU taken from
            # the work being waited for (in a CPU slice, bench.processes, most of it).
            await asyncio.sleep(0.05)


async def run_load(
    app: App, slack: TimedSlack, commands: list[tuple[str, str]], concurrency: int, tag: str
) -> Result:
    """Send `commands` ((text, channel) each) at `concurrency`; wait for every answer."""
    result = Result(app=app.name, concurrency=concurrency, commands=len(commands))
    result.rss_start_mb = rss_mb(app.pid)[0]
    cpu_before = cpu_seconds(app.pid)
    calls_before = Counter(slack.methods)
    answers_before = slack.answers_seen
    sent: dict[str, float] = {}
    queue: asyncio.Queue[tuple[int, str, str]] = asyncio.Queue()
    for n, (text, channel) in enumerate(commands):
        queue.put_nowait((n, text, channel))
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
        deadline = time.perf_counter() + 120
        while slack.answers_seen - answers_before < len(commands) and time.perf_counter() < deadline:
            await asyncio.sleep(0.01)
        result.seconds = time.perf_counter() - began
    # Answers that name their user (all but `info`'s card) time each command to its answer.
    result.answered = slack.answers_seen - answers_before
    result.answer_ms = [(slack.answered[u] - t) * 1000 for u, t in sent.items() if u in slack.answered]
    result.busy = sum(BUSY in slack.outcome.get(u, "") for u in sent)
    await asyncio.sleep(0.2)  # let the work after the answers (card redraws, audit) settle
    result.cpu_seconds = cpu_seconds(app.pid) - cpu_before
    result.slack_calls = Counter(slack.methods) - calls_before
    current, result.rss_peak_mb = rss_mb(app.pid)
    result.rss_end_mb = current
    return result
