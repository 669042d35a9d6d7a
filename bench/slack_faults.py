"""Slack failing a share of the bot's answer calls, measured against the same load with
Slack well, in one run: is every acked command answered exactly once, and what do the
retries cost the answer's time?

The fake Slack fails chat.postMessage, chat.update and chat.postEphemeral at the given
rate with 429 (Retry-After 0), 5xx, `internal_error`, `fatal_error`, a dropped connection
before the call, and one dropped after the message was posted (tests/slackfake.py
`flake`); each call fails at most twice, as Slack's faults come and go.

    .venv/bin/python -m bench.slack_faults [--rate 0.3] [-n 200]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import tempfile
from collections import Counter
from pathlib import Path
from typing import Any

from bench.harness import MENTION, App, TimedSlack, pct, run_load
from bench.scenarios import incidentio_bot, link_channels
from tests.conftest import serve

METHODS = {"chat.postMessage", "chat.update", "chat.postEphemeral"}
# A 429 asks for its Retry-After (the fake's default, 1 s): part of the answer's time below.
KINDS = ("429", "500", "internal_error", "fatal_error", "drop", "drop_after")


def answers_per_user(slack: TimedSlack, users: set[str]) -> Counter[str]:
    """How many answers reached each command's user: a channel message naming them, or a
    post to their command's response_url (where the bot falls back to)."""
    seen: Counter[str] = Counter()
    for call in slack.calls:
        if call.error or call.method not in ("chat.postMessage", "chat.postEphemeral", "response_url"):
            continue
        named = set(MENTION.findall(json.dumps(call.params)))
        if call.method == "response_url":
            named.add(slack.by_response.get(call.headers.get("X-Bench-Path", ""), ""))
        if call.method == "chat.postEphemeral":
            named.add(str(call.params.get("user", "")))
        for user in named & users:
            seen[user] += 1
    return seen


async def bench(rate: float, commands: int) -> dict[str, Any]:
    slack = TimedSlack()
    slack_runner, slack.url = await serve(slack.app())
    report: dict[str, Any] = {"rate": rate, "commands": commands}
    with tempfile.TemporaryDirectory() as tmp:
        fake, fake_runner, app = await incidentio_bot(slack, Path(tmp))
        try:
            async with app:
                channels = await link_channels(app, slack, fake, 8, first=500)
                report["well"] = await _run(app, slack, channels, commands, "well")
                slack.flake(METHODS, rate, seed=7, kinds=KINDS)
                report["failing"] = await _run(app, slack, channels, commands, "flaky")
                report["faults_dealt"] = dict(Counter(slack.flaky.dealt)) if slack.flaky else {}
                slack.flaky = None
        finally:
            await fake_runner.cleanup()
            await slack_runner.cleanup()
    well, failing = report["well"], report["failing"]
    if well["answer_p50_ms"] and failing["answer_p50_ms"]:
        report["answer_p50_ratio"] = round(failing["answer_p50_ms"] / well["answer_p50_ms"], 2)
    return report


async def _run(app: App, slack: TimedSlack, channels: list[str], commands: int, tag: str) -> dict[str, Any]:
    plan = [
        (
            "status monitoring" if (n // len(channels)) % 2 else "status fixing again",
            channels[n % len(channels)],
        )
        for n in range(commands)
    ]
    result = await run_load(app, slack, plan, 16, tag)
    await asyncio.sleep(2.0)  # late retries land before counting; the bench measures, it asserts nothing
    users = {f"Ubench{tag}{n}" for n in range(commands)}
    seen = answers_per_user(slack, users)
    counts = Counter(seen[user] for user in users)
    return {
        "answered_once": counts.get(1, 0),
        "never": counts.get(0, 0),
        "twice_or_more": sum(v for k, v in counts.items() if k > 1),
        "acked": commands,
        "answer_p50_ms": round(pct(result.answer_ms, 50) or 0, 1),
        "answer_p99_ms": round(pct(result.answer_ms, 99) or 0, 1),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.slack_faults", description=__doc__)
    parser.add_argument("--rate", type=float, default=0.3)
    parser.add_argument("-n", "--commands", type=int, default=200)
    args = parser.parse_args(argv)
    print(json.dumps(asyncio.run(bench(args.rate, args.commands)), indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
