"""The big incident, measured: many people acting on one incident at once while incident.io
(the fake) takes 0, 0.5 or 2 s to answer, and a quiet incident's change while another is hot.

Each figure is a ratio within one run, so the machine's speed cancels out:
- a burst of N people on one incident (statuses, severities, leads, updates, follow-ups),
  last answer against the time the burst's largest same-field group takes sent one after
  another (what must wait for each other: the floor for the whole burst);
- a change on a quiet incident while 80 changes are queued on a hot one, against the same
  change with nothing else going on.

    .venv/bin/python -m bench.burst [--latency 0 0.5 2] [--people 10 30]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import tempfile
from pathlib import Path
from typing import Any

import aiohttp

from bench.harness import App, TimedSlack, run_load, send
from bench.scenarios import incidentio_bot, link_channels
from tests.conftest import serve

# What N people type in the first minutes of a big incident, in turn.
MIX = (
    ("status", "status fixing again"),
    ("severity", "sev critical"),
    ("update", "update Error rate still climbing, looking at the deploy"),
    ("status", "status monitoring"),
    ("roles", "lead <@U0LEAD|lead>"),
    ("followup", "followup Add an alert on checkout errors"),
    ("severity", "sev major"),
    ("update", "update Rolled back, watching"),
)


def burst_plan(people: int, channel: str) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    """(everyone's commands, the largest group of them that change the same field)."""
    plan = [MIX[n % len(MIX)] for n in range(people)]
    groups: dict[str, list[str]] = {}
    for field, text in plan:
        if field not in ("update", "followup"):  # appends conflict with nothing
            groups.setdefault(field, []).append(text)
    largest = max(groups.values(), key=len)
    return [(text, channel) for _, text in plan], [(text, channel) for text in largest]


async def bench(latencies: list[float], people: list[int]) -> dict[str, Any]:
    slack = TimedSlack()
    slack_runner, slack.url = await serve(slack.app())
    report: dict[str, Any] = {"burst": [], "quiet_beside_hot": None}
    with tempfile.TemporaryDirectory() as tmp:
        fake, fake_runner, app = await incidentio_bot(slack, Path(tmp))
        try:
            async with app:
                await _bursts(app, slack, fake, latencies, people, report)
                await _quiet_beside_hot(app, slack, fake, report)
        finally:
            await fake_runner.cleanup()
            await slack_runner.cleanup()
    return report


async def _bursts(
    app: App, slack: TimedSlack, fake: Any, latencies: list[float], people: list[int], report: dict[str, Any]
) -> None:
    first = 300
    for latency in latencies:
        for count in people:
            hot, alone = await link_channels(app, slack, fake, 2, first=first)
            first += 2
            warm = [(text, channel) for channel in (hot, alone) for text in ("sev minor", "status fixing")]
            await run_load(app, slack, warm, 2, f"w{first}")  # the catalogues read before timing
            fake.latency = latency
            everyone, same_field = burst_plan(count, hot)
            tag = f"b{int(latency * 1000)}x{count}"
            burst = await run_load(app, slack, everyone, len(everyone), tag + "all")
            floor = await run_load(app, slack, [(t, alone) for t, _ in same_field], 1, tag + "seq")
            fake.latency = 0.0
            report["burst"].append(
                {
                    "provider_s": latency,
                    "people": count,
                    "last_answer_s": round(burst.seconds, 2),
                    "same_field_in_sequence_s": round(floor.seconds, 2),
                    "ratio": round(burst.seconds / floor.seconds, 2) if floor.seconds else None,
                    "answered": f"{burst.answered}/{len(everyone)}",
                }
            )


async def _quiet_beside_hot(app: App, slack: TimedSlack, fake: Any, report: dict[str, Any]) -> None:
    hot, quiet = await link_channels(app, slack, fake, 2, first=400)
    warm = [("sev critical", quiet), ("sev critical", hot)]
    await run_load(app, slack, warm, 2, "qwarm")  # the catalogues read before timing
    fake.latency = 0.5
    alone = await run_load(app, slack, [("sev minor", quiet)], 1, "qalone")
    queued = [(("sev critical", "sev major")[n % 2], hot) for n in range(80)]
    hot_task = asyncio.create_task(run_load(app, slack, queued, len(queued), "qhot"))
    await asyncio.sleep(1.0)  # the hot queue forms; the bench measures, it asserts nothing
    # Timed by its own answer: the hot queue's answers arrive meanwhile too.
    user = "Ubenchquietbeside"
    async with aiohttp.ClientSession() as session:
        _, started = await send(session, app, slack, "sev major", user, quiet)
    while user not in slack.answered:
        await asyncio.sleep(0.005)
    beside_s = slack.answered[user] - started
    await hot_task
    fake.latency = 0.0
    alone_s = alone.answer_ms[0] / 1000
    report["quiet_beside_hot"] = {
        "provider_s": 0.5,
        "hot_queue": len(queued),
        "alone_s": round(alone_s, 3),
        "beside_hot_s": round(beside_s, 3),
        "ratio": round(beside_s / alone_s, 2),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.burst", description=__doc__)
    parser.add_argument("--latency", type=float, nargs="+", default=[0.0, 0.5, 2.0])
    parser.add_argument("--people", type=int, nargs="+", default=[10, 30])
    args = parser.parse_args(argv)
    report = asyncio.run(bench(args.latency, args.people))
    print(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
