"""Real `serve` processes: killed mid-load, and two of them sharing one PostgreSQL database.

Nothing here reaches into a process: commands go in as signed HTTP requests, answers are
read at the fake Slack, and the outcome is read from the database afterwards.
"""

from __future__ import annotations

import asyncio
import re
import subprocess
import sys
from collections import Counter
from datetime import timedelta
from pathlib import Path
from typing import Any

import aiohttp
from sqlalchemy import select, update

from bot.clock import SYSTEM  # the bot processes' clock: they run on the real one
from bot.providers.builtin import tables as builtin_tables
from bot.store import tables
from bot.store.db import Store
from tests.conftest import PROVIDER_TOKEN, SECRET, _fresh_postgres, provider_fake
from tests.helpers import clean_env, free_port, text_of, wait_until
from tests.slackfake import FakeSlack, sign, slash_body

LOAD = 300
CONCURRENCY = 16
KILL_AFTER = 100  # acks


class Serve:
    """One `python -m bot serve` process."""

    def __init__(self, env: dict[str, str], cwd: Path) -> None:
        self.port = free_port()
        self.env = env | {"PORT": str(self.port)}
        self.cwd = cwd
        self.process: asyncio.subprocess.Process | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/slack/events"

    async def start(self) -> None:
        self.process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bot",
            "serve",
            env=self.env,
            cwd=self.cwd,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        async with aiohttp.ClientSession() as session:

            async def healthy() -> bool:
                try:
                    async with session.get(f"http://127.0.0.1:{self.port}/healthz") as health:
                        return health.status == 200
                except aiohttp.ClientConnectionError:
                    return False

            await wait_until(healthy, what="serve answering /healthz")

    async def ticks(self) -> float:
        """How many looks for due timers the process has done (its /metrics)."""
        async with aiohttp.ClientSession() as session:
            async with session.get(f"http://127.0.0.1:{self.port}/metrics") as page:
                text = await page.text()
        [count] = re.findall(r"^incident_bot_timer_ticks_total (\S+)$", text, re.MULTILINE)
        return float(count)

    def kill(self) -> None:
        assert self.process is not None
        self.process.kill()  # SIGKILL: no clean-up of any kind

    async def stop(self) -> None:
        if self.process is not None and self.process.returncode is None:
            self.process.terminate()
            await self.process.wait()


def bot_env(fake_slack: FakeSlack, database_url: str) -> dict[str, str]:
    return clean_env(
        SLACK_BOT_TOKEN="xoxb-test",
        SLACK_SIGNING_SECRET=SECRET,
        SLACK_API_URL=fake_slack.api_url,
        DATABASE_URL=database_url,
        INBOX_LEASE="2",  # a dead process's requests are taken over within 2 s
    )


async def send(session: aiohttp.ClientSession, url: str, body: str) -> int:
    async with session.post(url, data=body, headers=sign(SECRET, body)) as response:
        return response.status


async def read_rows(database_url: str, table: Any) -> list[dict[str, Any]]:
    store = Store(database_url)
    try:
        return await store.read(lambda conn: [dict(r._mapping) for r in conn.execute(select(table))])
    finally:
        await store.close()


async def declare(fake_slack: FakeSlack, session: aiohttp.ClientSession, url: str, name: str) -> str:
    before, answers = len(fake_slack.of("conversations.invite")), len(fake_slack.answers())
    body = slash_body(f"declare {name}", response_url=fake_slack.response_url())
    assert await send(session, url, body) == 200
    await fake_slack.wait_for(answers + 2)  # the answer and the card
    await fake_slack.wait_for(before + 1, "conversations.invite")
    return fake_slack.of("conversations.invite")[-1].params["channel"]


async def test_sigkill_mid_load_loses_no_acked_command_and_does_none_twice(
    fake_slack: FakeSlack, database_url: str, tmp_path: Path
) -> None:
    bot = Serve(bot_env(fake_slack, database_url), tmp_path)
    await bot.start()
    acked: set[int] = set()
    try:
        async with aiohttp.ClientSession() as session:
            channel = await declare(fake_slack, session, bot.url, "Crash test")
            room = asyncio.Semaphore(CONCURRENCY)

            async def one(i: int) -> None:
                body = slash_body(
                    f"followup task-{i:03d}-x",
                    response_url=fake_slack.response_url(f"t{i:03d}-"),
                    channel=channel,
                    trigger=f"{i}.crash.trigger",
                )
                async with room:
                    try:
                        if await send(session, bot.url, body) == 200:
                            acked.add(i)
                    except aiohttp.ClientError:
                        pass  # the process is gone: not acked
                    if len(acked) >= KILL_AFTER and bot.process and bot.process.returncode is None:
                        bot.kill()

            await asyncio.gather(*(one(i) for i in range(LOAD)))
            assert bot.process is not None
            await bot.process.wait()
            assert KILL_AFTER <= len(acked) < LOAD, len(acked)

            await bot.start()  # the same database: it answers what the dead one left
            pattern = re.compile(r"task-(\d{3})-x")

            def answered() -> Counter[int]:
                return Counter(
                    int(n) for a in fake_slack.answers() for n in pattern.findall(text_of(a.params))[:1]
                )

            await wait_until(lambda: acked <= set(answered()), what="every acked command answered")

            async def all_recorded() -> bool:
                rows = await read_rows(database_url, tables.inbox)
                return all(r["state"] == "done" for r in rows)

            # Each answer is recorded right after it is given: stopped in between, a row is
            # left for the next start (which finds the answer given, and gives no second).
            await wait_until(all_recorded, what="every answer recorded in the inbox")
    finally:
        await bot.stop()

    got = answered()
    assert acked - set(got) == set(), "acked but never answered"
    assert [n for n in acked if got[n] > 1] == [], "answered twice"
    followups = Counter(
        int(pattern.search(f["title"])[1]) for f in await read_rows(database_url, builtin_tables.followups)
    )
    assert acked - set(followups) == set(), "acked but never applied (and answered as if)"
    assert [n for n, times in followups.items() if times > 1] == [], "applied twice"
    numbers = sorted(f["number"] for f in await read_rows(database_url, builtin_tables.followups))
    assert numbers == list(range(1, len(numbers) + 1))
    pending = [r for r in await read_rows(database_url, tables.inbox) if r["state"] != "done"]
    assert pending == []


async def test_two_processes_on_one_postgres_number_and_assign_without_failures(
    fake_slack: FakeSlack, tmp_path: Path
) -> None:
    url = await _fresh_postgres()
    first, second = Serve(bot_env(fake_slack, url), tmp_path), Serve(bot_env(fake_slack, url), tmp_path)
    await first.start()
    await second.start()
    try:
        async with aiohttp.ClientSession() as session:
            channel = await declare(fake_slack, session, first.url, "Two processes")
            before = len(fake_slack.answers())
            bodies = [
                slash_body(f"followup item-{i:02d}", response_url=fake_slack.response_url(), channel=channel)
                for i in range(40)
            ]
            targets = [first.url if i % 2 else second.url for i in range(40)]
            statuses = await asyncio.gather(
                *(send(session, u, b) for u, b in zip(targets, bodies, strict=True))
            )
            assert statuses == [200] * 40
            answers = (await fake_slack.wait_for(before + 40))[before:]
            assert [a for a in answers if "⚠️" in text_of(a.params)] == []

            for pair in range(5):
                before = len(fake_slack.answers())
                leads = [
                    slash_body(
                        f"lead <@UA{pair}|ann>", response_url=fake_slack.response_url(), channel=channel
                    ),
                    slash_body(
                        f"lead <@UB{pair}|ben>", response_url=fake_slack.response_url(), channel=channel
                    ),
                ]
                sent = await asyncio.gather(
                    send(session, first.url, leads[0]), send(session, second.url, leads[1])
                )
                assert list(sent) == [200, 200]
                both = [text_of(a.params) for a in (await fake_slack.wait_for(before + 2))[before:]]
                assert all("⚠️" not in t and "lead" in t for t in both), both
                assert {f"<@UA{pair}>" in t or f"<@UB{pair}>" in t for t in both} == {True}
                holder = [r for r in await read_rows(url, builtin_tables.roles) if r["role"] == "lead"]
                timeline = [t for t in await read_rows(url, builtin_tables.timeline) if t["kind"] == "role"]
                last = max(timeline, key=lambda t: t["id"])
                assert holder[0]["user_name"] in last["text"], (holder, last)  # the last lead wins
    finally:
        await first.stop()
        await second.stop()

    numbers = sorted(f["number"] for f in await read_rows(url, builtin_tables.followups))
    assert numbers == list(range(1, 41))


async def test_two_processes_on_one_postgres_fire_a_due_reminder_once(
    fake_slack: FakeSlack, tmp_path: Path
) -> None:
    """Both processes look for due timers ten times a second; the reminder is posted once,
    and the timer moves on to the next quiet half hour."""
    url = await _fresh_postgres()
    env = bot_env(fake_slack, url) | {"INCIDENT_TIMER_TICK": "0.1"}
    first, second = Serve(env, tmp_path), Serve(env, tmp_path)
    await first.start()
    await second.start()
    try:
        async with aiohttp.ClientSession() as session:
            channel = await declare(fake_slack, session, first.url, "Two tickers sev:SEV1")
            # The clock, moved in the store: the last update 31 minutes ago, due now.
            store = Store(url)
            past = SYSTEM.now() - timedelta(minutes=31)

            def due_now(conn: Any) -> int:
                [row] = conn.execute(select(tables.timers).where(tables.timers.c.kind == "remind")).all()
                payload = row.payload | {"last_update": past.isoformat()}
                return conn.execute(
                    update(tables.timers)
                    .where(tables.timers.c.key == row.key)
                    .values(due_at=past + timedelta(minutes=30), payload=payload)
                ).rowcount

            try:
                assert await store.write(due_now) == 1
            finally:
                await store.close()

            def reminders() -> list[Any]:
                return [
                    c
                    for c in fake_slack.of("chat.postMessage")
                    if c.params.get("channel") == channel and "No update" in text_of(c.params)
                ]

            await wait_until(lambda: bool(reminders()), what="the reminder posted")
            # Fifteen more looks for due timers by each process: a second firing would show.
            looked = [await first.ticks(), await second.ticks()]

            async def fifteen_more() -> bool:
                counts = [await first.ticks(), await second.ticks()]
                return all(count >= n + 15 for count, n in zip(counts, looked, strict=True))

            await wait_until(fifteen_more, what="fifteen more looks for due timers by each process")
            assert len(reminders()) == 1
    finally:
        await first.stop()
        await second.stop()
    [timer] = [t for t in await read_rows(url, tables.timers) if t["kind"] == "remind"]
    assert timer["due_at"] > SYSTEM.now() + timedelta(minutes=29)
    firings = [r for r in await read_rows(url, tables.inbox) if r["kind"] == "timer"]
    assert len(firings) == 1 and firings[0]["state"] == "done"


def peak_rss_mb(process: asyncio.subprocess.Process) -> float:
    """The process's peak resident memory so far (VmHWM), in MB."""
    status = Path(f"/proc/{process.pid}/status").read_text()
    [kb] = re.findall(r"^VmHWM:\s+(\d+) kB", status, re.MULTILINE)
    return int(kb) / 1024


async def test_oversized_requests_leave_the_process_memory_bounded(
    fake_slack: FakeSlack, tmp_path: Path
) -> None:
    """200 MB of oversized requests: bodies over the limit refused before they are read,
    900 KB commands answered "too long" and kept nowhere. The process's peak memory grows
    by a few requests' worth, not by what was sent (a 1 MB command once cost 126 MB)."""
    serve = Serve(bot_env(fake_slack, f"sqlite:///{tmp_path}/rss.db"), tmp_path)
    await serve.start()
    assert serve.process is not None
    try:
        async with aiohttp.ClientSession() as session:
            channel = await declare(fake_slack, session, serve.url, "Memory")
            before = len(fake_slack.answers())
            assert (
                await send(
                    session,
                    serve.url,
                    slash_body("info", response_url=fake_slack.response_url(), channel=channel),
                )
                == 200
            )
            await fake_slack.wait_for(before + 1)
            baseline = peak_rss_mb(serve.process)

            huge = "x" * (4 * 1024 * 1024)
            big = [
                slash_body("update " + "y" * 900_000, response_url=fake_slack.response_url(), channel=channel)
                for _ in range(100)
            ]
            gate = asyncio.Semaphore(4)

            async def one(body: str) -> int:
                async with gate:
                    return await send(session, serve.url, body)

            before = len(fake_slack.answers())
            refused = await asyncio.gather(*(one(huge) for _ in range(25)))
            acked = await asyncio.gather(*(one(body) for body in big))
            assert set(refused) == {413} and set(acked) == {200}
            answers = (await fake_slack.wait_for(before + 100, within=60))[before:]
            assert all("too long" in text_of(a.params) for a in answers)
            grown = peak_rss_mb(serve.process) - baseline
    finally:
        await serve.stop()
    assert grown < 40, f"peak RSS grew by {grown:.0f} MB for 190 MB sent"
    audit = await read_rows(f"sqlite:///{tmp_path}/rss.db", tables.audit)
    assert max(len(r["arguments"] or "") for r in audit) <= 4000


async def test_two_processes_change_one_remote_incident_one_at_a_time(
    fake_slack: FakeSlack, tmp_path: Path
) -> None:
    """incident.io's incident has no row of ours to lock: ten severity changes sent to two
    processes at once reach the provider one at a time (each write takes 0.1 s at the fake,
    so any overlap would show), each once, each answered. (Updates are appends, which
    conflict with nothing: those may overlap, tests/test_turns.py.)"""
    url = await _fresh_postgres()
    async with provider_fake("incidentio") as fake:
        fake.write_latency = 0.1
        env = bot_env(fake_slack, url) | {
            "INCIDENT_PROVIDER": "incidentio",
            "INCIDENTIO_API_URL": fake.url,
            "INCIDENTIO_API_KEY": PROVIDER_TOKEN,
        }
        first, second = Serve(env, tmp_path), Serve(env, tmp_path)
        await first.start()
        await second.start()
        try:
            incident = fake.add_incident("Shared", channel="C0SHARED", status="Investigating")  # type: ignore[attr-defined]
            async with aiohttp.ClientSession() as session:
                before = len(fake_slack.answers())
                link = slash_body(
                    f"link {incident['reference']}",
                    response_url=fake_slack.response_url(),
                    channel="C0SHARED",
                )
                assert await send(session, first.url, link) == 200
                await fake_slack.wait_for(before + 1)
                writes = len(fake.writes())
                before = len(fake_slack.answers())
                bodies = [
                    slash_body(
                        f"sev {('critical', 'major', 'minor')[i % 3]}",
                        response_url=fake_slack.response_url(),
                        channel="C0SHARED",
                    )
                    for i in range(10)
                ]
                sent = await asyncio.gather(
                    *(send(session, (first, second)[i % 2].url, b) for i, b in enumerate(bodies))
                )
                assert sent == [200] * 10
                answers = (await fake_slack.wait_for(before + 10))[before:]
        finally:
            await first.stop()
            await second.stop()
    assert [text_of(a.params) for a in answers if "⚠️" in text_of(a.params)] == []
    assert len(fake.writes()) - writes == 10
    assert fake.most_writing == 1
