"""`python -m bench`: how fast the bot acks and answers, beside a bare Bolt app, same run.

Every app runs as a real `serve` process on 127.0.0.1; this process plays Slack (signed
slash commands at a fixed concurrency, and the recording Web API they answer to) and
incident.io (the tests' fake, with a latency knob). Everything shares this machine's
cores, so ratios to the bare app in the same run mean more than absolute figures.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

import aiohttp

from bench.harness import App, TimedSlack, answers, run_load, send, settled
from bench.scenarios import (
    LATENCIES,
    incidentio_bot,
    latency_scenarios,
    link_channels,
    pending_memory,
    resolution,
)
from tests.conftest import serve

# The realistic mix on linked channels: mostly status traffic, some reads.
MIX = ["ack", "status monitoring", "sev 2", "update Still looking into it", "status investigating again",
       "info", "lead me", "roles"]  # fmt: skip
IO_MIX = [
    "ack",
    "status monitoring",
    "sev major",
    "update Still looking into it",
    "info",
    "lead <@U222|bea>",
    "roles",
]


async def setup_incidents(app: App, slack: TimedSlack, channels: int) -> list[str]:
    """Declare incidents through the bot itself; return their channels (linked)."""
    before = len(slack.of("conversations.invite"))
    async with aiohttp.ClientSession() as session:
        for n in range(channels):
            await send(session, app, slack, f"declare Bench incident {n}", "Usetup", "CSETUP")
        for _ in range(400):
            if len(slack.of("conversations.invite")) >= before + channels:
                break
            await asyncio.sleep(0.05)
    return [call.params["channel"] for call in slack.of("conversations.invite")][before : before + channels]


async def calls_per_verb(
    app: App, slack: TimedSlack, channels: list[str], mix: list[str], provider: Any = None
) -> dict[str, dict[str, float]]:
    """What one command of each verb costs, warm and on its own: Slack calls and provider
    calls. Repeats go to different incidents, and each verb waits until the bot is done
    with it, its cards' redraws included, so every command's own redraw is counted (under
    load, redraws coalesce)."""
    out: dict[str, dict[str, float]] = {}
    async with aiohttp.ClientSession() as session:

        async def one(text: str, user: str, channel: str) -> None:
            count = slack.answers_seen + 1
            await send(session, app, slack, text, user, channel)
            await answers(slack, count)

        for n, text in enumerate(mix):  # warm every cache first
            await one(text, f"Uwarm{app.name}{n}", channels[0])
        # Back to the first status, so each counted status command is a real move (a move to
        # the status it has, or backwards, is answered without a write or a redraw).
        await one("status triage again", f"Ureset{app.name}", channels[0])
        await settled(app)
        for v, text in enumerate(mix):
            slack_before = Counter(slack.methods)
            provider_before = len(provider.requests) if provider else 0
            for r, channel in enumerate(channels):
                await one(text, f"Ucalls{app.name}{v}x{r}", channel)
            await settled(app)
            counted = {
                m: round(n / len(channels), 2) for m, n in (Counter(slack.methods) - slack_before).items()
            }
            if provider:
                paths = Counter(f"{q.method} {q.template}" for q in provider.requests[provider_before:])
                counted |= {f"provider {p}": round(n / len(channels), 2) for p, n in paths.items()}
            out[text.split()[0] if text.split()[0] not in ("status", "sev") else text] = dict(
                sorted(counted.items())
            )
    return out


def table(rows: list[dict[str, Any]], columns: list[str]) -> str:
    widths = [max(len(c), *(len(str(r.get(c))) for r in rows)) for c in columns]
    lines = [" | ".join(c.ljust(w) for c, w in zip(columns, widths, strict=True))]
    lines.append("-|-".join("-" * w for w in widths))
    lines += [" | ".join(str(r.get(c)).ljust(w) for c, w in zip(columns, widths, strict=True)) for r in rows]
    return "\n".join(lines)


LOAD_COLUMNS = ["app", "concurrency", "commands", "ack_p50_ms", "ack_p95_ms", "ack_p99_ms", "ack_max_ms",
                "answer_p50_ms", "answer_p99_ms", "answered_per_s", "answered_busy", "acks_over_3s",
                "cpu_ms_per_command", "rss_peak_mb", "rss_growth_mb"]  # fmt: skip
SCENARIO_COLUMNS = ["scenario", "commands", "concurrency", "ack_p50_ms", "ack_p99_ms", "ack_max_ms",
                    "acks_over_3s", "answered", "answer_p50_ms", "answer_p99_ms", "told_no_answer",
                    "provider_calls_per_command"]  # fmt: skip


async def bench(
    commands: int,
    concurrencies: list[int],
    channels: int,
    out: Path | None,
    *,
    incidents: int = 10_000,
    latencies: list[tuple[str, float, int, int]] = LATENCIES,
    provider_timeout: float | None = None,
    pending: tuple[int, float] = (512, 2.0),
    redraw_seconds: float | None = None,
) -> dict[str, Any]:
    """`redraw_seconds`: the bots' INCIDENT_CARD_REDRAW_SECONDS, where not the default (the
    smoke test's 0 spares it the waits; the figures are the default's)."""
    redraw = {} if redraw_seconds is None else {"INCIDENT_CARD_REDRAW_SECONDS": str(redraw_seconds)}
    slack = TimedSlack()
    runner, slack.url = await serve(slack.app())
    report: dict[str, Any] = {"machine": {"cores": os.cpu_count()}, "runs": [], "ratios": []}
    report |= {"incidentio_runs": [], "incidentio_ratios": []}
    try:
        with tempfile.TemporaryDirectory() as tmp:
            workdir = Path(tmp)
            async with App("bare-bolt", ["bench.bare_app"], slack, workdir) as bare:

                async def beside_bare(
                    app: App, plan: list[tuple[str, str]], concurrency: int, key: str
                ) -> None:
                    """One load on `app` and the same number of commands on the bare app, in turn."""
                    bare_plan = [("ack", f"CB{n % channels}") for n in range(len(plan))]
                    ours = (await run_load(app, slack, plan, concurrency, f"{key}{concurrency}x")).summary()
                    floor = (
                        await run_load(bare, slack, bare_plan, concurrency, f"f{key}{concurrency}x")
                    ).summary()
                    report[f"{key}runs"] += [ours, floor]
                    report[f"{key}ratios"].append(
                        {
                            "concurrency": concurrency,
                            "ack_p99_ratio": round(ours["ack_p99_ms"] / floor["ack_p99_ms"], 2),
                            "answered_per_s_ratio": round(
                                ours["answered_per_s"] / floor["answered_per_s"], 2
                            ),
                            "cpu_per_command_ratio": round(
                                ours["cpu_ms_per_command"] / floor["cpu_ms_per_command"], 2
                            ),
                        }
                    )

                async with App("bot", ["bot", "serve"], slack, workdir, **redraw) as bot:
                    linked = await setup_incidents(bot, slack, max(channels, 3))
                    report["calls_per_command"] = await calls_per_verb(bot, slack, linked[:3], MIX)
                    slack.keep_calls = False  # the load runs record timings only
                    for concurrency in concurrencies:
                        plan = [(MIX[n % len(MIX)], linked[n % len(linked)]) for n in range(commands)]
                        await beside_bare(bot, plan, concurrency, "")
                slack.keep_calls = True
                fake, fake_runner, app = await incidentio_bot(slack, workdir)
                if provider_timeout is not None:
                    app.env["PROVIDER_TIMEOUT"] = str(provider_timeout)
                app.env |= redraw
                try:
                    async with app:
                        io_channels = await link_channels(app, slack, fake, max(channels, 3))
                        report["incidentio_calls_per_command"] = await calls_per_verb(
                            app, slack, io_channels[:3], IO_MIX, provider=fake
                        )
                        slack.keep_calls = False
                        for concurrency in concurrencies:
                            plan = [
                                (IO_MIX[n % len(IO_MIX)], io_channels[n % len(io_channels)])
                                for n in range(commands)
                            ]
                            before = len(fake.requests)
                            await beside_bare(app, plan, concurrency, "incidentio_")
                            report["incidentio_runs"][-2]["provider_calls_per_command"] = round(
                                (len(fake.requests) - before) / commands, 2
                            )
                        report["scenarios"] = await latency_scenarios(app, slack, fake, latencies)
                        report["pending_memory"] = await pending_memory(app, slack, fake, *pending)
                        report["resolution"] = await resolution(app, slack, fake, incidents)
                finally:
                    await fake_runner.cleanup()
    finally:
        await runner.cleanup()
    print_report(report)
    if out:
        out.write_text(json.dumps(report, indent=2))
        print(f"\nwritten to {out}")
    return report


def print_report(report: dict[str, Any]) -> None:
    print("Built-in provider on SQLite, beside a bare Bolt app that acks and posts one message:\n")
    print(table(report["runs"], LOAD_COLUMNS))
    print()
    for ratio in report["ratios"]:
        print(
            f"concurrency {ratio['concurrency']}: ack p99 ours/bare = {ratio['ack_p99_ratio']}, "
            f"answered/s ours/bare = {ratio['answered_per_s_ratio']}"
        )
    for run in report["runs"]:
        if run["app"] == "bot":
            calls = run["slack_calls_per_command"]
            print(f"Slack calls per command under load (c={run['concurrency']}): {calls}")
    print("\nCalls per command, warm, one at a time (built-in provider):")
    for verb, methods in report["calls_per_command"].items():
        print(f"  {verb:22} {methods}")
    print("\nCalls per command, warm, one at a time (incident.io):")
    for verb, methods in report["incidentio_calls_per_command"].items():
        print(f"  {verb:22} {methods}")
    print("\nincident.io at 0 ms, its mix on linked channels, beside the bare Bolt app:\n")
    print(table(report["incidentio_runs"], [*LOAD_COLUMNS, "provider_calls_per_command"]))
    for ratio in report["incidentio_ratios"]:
        print(
            f"concurrency {ratio['concurrency']}: ack p99 ours/bare = {ratio['ack_p99_ratio']}, "
            f"answered/s ours/bare = {ratio['answered_per_s_ratio']}, "
            f"CPU per command ours/bare = {ratio['cpu_per_command_ratio']}"
        )
    print("\nincident.io answering slowly, or not at all (status changes):\n")
    print(table(report["scenarios"], SCENARIO_COLUMNS))
    m = report["pending_memory"]
    print(
        f"\nMemory per pending command: {m['commands']} `followups` at once, incident.io answering in "
        f"{m['provider_latency_s']} s: at most {m['most_pending']} pending, RSS {m['rss_before_mb']} → "
        f"{m['rss_peak_mb']} MB, {m['kb_per_pending_command']} KB each ({m['answered']} answered)."
    )
    r = report["resolution"]
    print(
        f"\nFinding an unlinked channel's incident among {r['live_incidents']} live ones at incident.io: "
        f"{r['cold_list_calls']} list calls cold (bound: ⌈{r['live_incidents']}/250⌉ = {r['bound']}), "
        f"answered in {r['cold_answer_ms']} ms; {r['warm_list_calls']} warm, "
        f"answered in {r['warm_answer_ms']} ms."
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("-n", "--commands", type=int, default=10_000, help="commands per load run")
    parser.add_argument("-c", "--concurrency", type=int, nargs="+", default=[4, 64])
    parser.add_argument("--channels", type=int, default=20, help="linked incident channels")
    parser.add_argument("--incidents", type=int, default=10_000, help="live incidents for the resolution run")
    parser.add_argument("--out", type=Path, default=Path("bench/results.json"))
    args = parser.parse_args(argv)
    started = time.perf_counter()
    asyncio.run(bench(args.commands, args.concurrency, args.channels, args.out, incidents=args.incidents))
    print(f"the whole bench took {time.perf_counter() - started:.0f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
