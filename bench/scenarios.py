"""The bot against the incident.io fake: provider latency from 0 to hung, and finding a
channel's incident among 10,000. The fake answers as incident.io does (tests/fakes/);
here it skips the spec check so the figures are the bot's, not openapi-core's."""

from __future__ import annotations

import asyncio
import math
import time
from collections import Counter
from pathlib import Path
from typing import Any

import aiohttp

from bench.harness import App, TimedSlack, answers, rss_mb, run_load, send
from tests.conftest import serve
from tests.fakes.incidentio import FakeIncidentIo

KEY = "bench-incidentio-key"
# (label, seconds the fake waits before each answer, commands, concurrency)
LATENCIES = [
    ("0 ms", 0.0, 400, 16),
    # The ack must not feel the provider: 2 s answers at concurrency 64 beside 0 ms ones.
    ("0 ms, c=64", 0.0, 512, 64),
    ("2 s, c=64", 2.0, 512, 64),
    ("500 ms", 0.5, 64, 16),
    ("5 s", 5.0, 16, 16),
    ("hung 30 s", 30.0, 16, 16),
]
# What the bot says when the provider did not answer in time (bot/providers/http.py, service).
NO_ANSWER = ("did not answer", "may or may not have taken effect")


def incidentio_app(name: str, slack: TimedSlack, workdir: Path, fake: FakeIncidentIo, **env: str) -> App:
    """The bot as a process, its default provider the incident.io fake."""
    return App(
        name,
        ["bot", "serve"],
        slack,
        workdir,
        INCIDENT_PROVIDER="incidentio",
        INCIDENTIO_API_KEY=KEY,
        INCIDENTIO_API_URL=fake.url,
        **env,
    )


async def incidentio_bot(slack: TimedSlack, workdir: Path) -> tuple[FakeIncidentIo, Any, App]:
    fake = FakeIncidentIo()
    fake.validate = False
    runner, fake.url = await serve(fake.app())
    return fake, runner, incidentio_app("bot-incidentio", slack, workdir, fake)


async def link_channels(
    app: App, slack: TimedSlack, fake: FakeIncidentIo, count: int, first: int = 0
) -> list[str]:
    """Incidents at the fake, each linked to its channel through the bot itself."""
    channels = []
    expected = slack.answers_seen + count
    async with aiohttp.ClientSession() as session:
        for n in range(first, first + count):
            channel = f"CIO{n:04d}"
            incident = fake.add_incident(f"Bench incident {n}", channel=channel, status="Investigating")
            await send(session, app, slack, f"link {incident['reference']}", f"Ubenchlink{n}", channel)
            channels.append(channel)
        await answers(slack, expected, within=30)
    return channels


async def latency_scenarios(
    app: App, slack: TimedSlack, fake: FakeIncidentIo, latencies: list[tuple[str, float, int, int]]
) -> list[dict[str, Any]]:
    """Status changes while the provider takes 0 ms, 500 ms, 5 s, or hangs for 30 s."""
    channels = await link_channels(app, slack, fake, 16, first=100)
    rows = []
    for label, latency, commands, concurrency in latencies:
        fake.latency = latency
        before = len(fake.requests)
        # Each channel's commands alternate, so every one is a real move and a write (the
        # same status twice is answered without one; `again` allows the step back).
        plan = [
            (
                "status monitoring" if (n // len(channels)) % 2 else "status fixing again",
                channels[n % len(channels)],
            )
            for n in range(commands)
        ]
        tag = "io" + "".join(ch for ch in label if ch.isalnum()) + "x"
        result = await run_load(app, slack, plan, concurrency, tag)
        fake.latency = 0.0
        users = [f"Ubench{tag}{n}" for n in range(commands)]
        told = sum(any(word in slack.outcome.get(u, "") for word in NO_ANSWER) for u in users)
        summary = result.summary()
        rows.append(
            {
                "scenario": f"incident.io {label}",
                "commands": commands,
                "concurrency": concurrency,
                "ack_p50_ms": summary["ack_p50_ms"],
                "ack_p99_ms": summary["ack_p99_ms"],
                "ack_max_ms": summary["ack_max_ms"],
                "acks_over_3s": summary["acks_over_3s"],
                "answered": summary["answered"],
                "answer_p50_ms": summary["answer_p50_ms"],
                "answer_p99_ms": summary["answer_p99_ms"],
                "told_no_answer": told,
                "provider_calls_per_command": round((len(fake.requests) - before) / commands, 2),
            }
        )
    return rows


async def resolution(app: App, slack: TimedSlack, fake: FakeIncidentIo, live: int) -> dict[str, Any]:
    """An unlinked channel whose incident is the last of `live` live ones: how many list
    calls the first command costs, and the next one."""
    for n in range(live):
        fake.add_incident(f"Background incident {n}", status="Investigating")
    target = fake.add_incident("The one in this channel", channel="CRESOLVE", status="Fixing")
    total = len([i for i in fake.incidents.values() if i["incident_status"]["category"] != "closed"])
    figures: dict[str, Any] = {"live_incidents": total, "bound": math.ceil(total / 250)}
    async with aiohttp.ClientSession() as session:
        for phase in ("cold", "warm"):
            before, count = len(fake.requests), slack.answers_seen + 1
            user = f"Ubenchres{phase}"
            _, started = await send(session, app, slack, "info", user, "CRESOLVE", channel_name="war-room")
            await answers(slack, count, within=120)
            took = time.perf_counter() - started
            calls = Counter(r.path for r in fake.requests[before:] if r.method == "GET")
            figures[f"{phase}_list_calls"] = calls.get("/v2/incidents", 0)
            figures[f"{phase}_answer_ms"] = round(took * 1000, 1)
            figures[f"{phase}_found"] = target["reference"] in slack.texts[count - 1]
    return figures


async def pending_memory(
    app: App, slack: TimedSlack, fake: FakeIncidentIo, commands: int = 512, latency: float = 2.0
) -> dict[str, Any]:
    """Memory per command acked and not yet answered: `commands` sent at once while
    incident.io takes `latency` to answer each read (`followups`: a read every time, and no
    per-incident lock, so all of them are pending together)."""
    channels = await link_channels(app, slack, fake, 16, first=200)
    expected = slack.answers_seen + len(channels)
    async with aiohttp.ClientSession() as session:  # warm: the catalogues, the links, the code
        for n, channel in enumerate(channels):
            await send(session, app, slack, "followups", f"Ubenchmemwarm{n}", channel)
        await answers(slack, expected, within=30)
    await asyncio.sleep(0.5)
    before = rss_mb(app.pid)[0]
    fake.latency = latency
    answered_before = slack.answers_seen
    peak, most_pending, acked = before, 0, 0
    connector = aiohttp.TCPConnector(limit=commands)
    async with aiohttp.ClientSession(connector=connector) as session:

        async def one(n: int) -> None:
            nonlocal acked
            await send(session, app, slack, "followups", f"Ubenchmem{n}", channels[n % len(channels)])
            acked += 1

        sending = asyncio.gather(*(one(n) for n in range(commands)))
        deadline = time.perf_counter() + 120
        while slack.answers_seen - answered_before < commands and time.perf_counter() < deadline:
            pending = acked - (slack.answers_seen - answered_before)
            if pending >= most_pending:
                most_pending = pending
                peak = max(peak, rss_mb(app.pid)[0])
            await asyncio.sleep(0.02)
        await sending
    fake.latency = 0.0
    return {
        "commands": commands,
        "provider_latency_s": latency,
        "most_pending": most_pending,
        "rss_before_mb": round(before, 1),
        "rss_peak_mb": round(peak, 1),
        "kb_per_pending_command": round((peak - before) * 1024 / max(most_pending, 1), 1),
        "answered": slack.answers_seen - answered_before,
    }
