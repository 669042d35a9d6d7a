"""The one clock (bot/clock.py), proved injected: a runtime built on a fixed clock, set
years away from any day the suite runs on, runs commands through the service as the shell
does. Every time it shows or stores follows that clock: the card's "running for", an
override "for 2h", a follow-up due "tomorrow", a rotation's start, a reminder's due time,
the rows the store stamps. A path that read the wall clock instead would be years off."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.clock import FixedClock
from bot.commands import results as r
from bot.commands.invocation import Invocation
from bot.commands.results import Reply
from bot.commands.timers import reminder_key
from bot.config import Settings
from bot.present import shown
from bot.providers.builtin import tables as builtin_tables
from bot.runtime import Runtime, build_runtime
from bot.shell import ShellWorkspace
from bot.textrender import render_text

START = datetime(2001, 2, 3, 9, 17, tzinfo=UTC)  # long past, and not on the hour


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(START)


@pytest.fixture
async def runtime(tmp_path: Path, clock: FixedClock) -> AsyncIterator[Runtime]:
    settings = Settings(_env_file=None, database_url=f"sqlite+aiosqlite:///{tmp_path / 'store.db'}")
    built = await build_runtime(settings, ShellWorkspace(), clock)
    yield built
    await built.close()


async def run(runtime: Runtime, text: str, channel: str = "general") -> Reply:
    invocation = Invocation(text=text, user_id="U111", user_name="ana", channel_id=channel, tz="UTC")
    reply = await runtime.service.run(invocation)
    assert reply.outcome == "ok", render_text(shown(reply.result, runtime.service.command))
    return reply


async def declare(runtime: Runtime, text: str) -> tuple[r.Declared, str]:
    reply = await run(runtime, f"declare {text}")
    assert isinstance(reply.result, r.Declared)
    return reply.result, reply.result.channel_id


def test_a_fixed_clock_moves_only_when_told_and_refuses_a_naive_moment() -> None:
    clock = FixedClock(START)
    assert clock.now() == START == clock.now()
    assert clock.advance(hours=2, minutes=5) == START + timedelta(hours=2, minutes=5) == clock.now()
    assert clock.advance(timedelta(days=1), seconds=1) == START + timedelta(
        days=1, hours=2, minutes=5, seconds=1
    )
    with pytest.raises(ValueError):
        FixedClock(datetime(2001, 2, 3, 9, 17))


async def test_the_card_and_what_the_store_stamps_follow_the_runtimes_clock(
    runtime: Runtime, clock: FixedClock
) -> None:
    declared, channel = await declare(runtime, "Checkout down sev:1")
    assert declared.incident.created_at == START
    # SEV1 is reminded after 30 quiet minutes: counted from the clock's moment of declaring.
    reminder = await runtime.service.timers.store.get(reminder_key("builtin", declared.incident.id))
    assert reminder is not None and reminder.due_at == START + timedelta(minutes=30)

    clock.advance(hours=2, minutes=5)
    info = await run(runtime, "info", channel)
    assert isinstance(info.result, r.Card) and info.result.at == START + timedelta(hours=2, minutes=5)
    assert "running for 2h 5m" in render_text(shown(info.result, runtime.service.command))

    clock.advance(minutes=10)
    resolved = await run(runtime, "resolve", channel)
    incident = getattr(resolved.result, "incident", None)
    assert incident is not None and incident.resolved_at == START + timedelta(hours=2, minutes=15)
    timeline = await runtime.store.read(
        lambda conn: [row.at for row in conn.execute(builtin_tables.timeline.select())]
    )
    assert timeline and min(timeline) == START and max(timeline) == START + timedelta(hours=2, minutes=15)
    audited = [row["at"] for row in await runtime.store.audit.rows()]
    assert audited == [START, START + timedelta(hours=2, minutes=5), START + timedelta(hours=2, minutes=15)]


async def test_times_typed_in_commands_are_read_from_the_runtimes_clock(
    runtime: Runtime, clock: FixedClock
) -> None:
    _, channel = await declare(runtime, "Disk full sev:1")
    added = (await run(runtime, "followup Add a disk alert <@U222|bea> due:tomorrow", channel)).result
    assert isinstance(added, r.FollowUpAdded) and added.followup.due is not None
    assert added.followup.due.astimezone(UTC).date() == (START + timedelta(days=1)).date()

    snoozed = (await run(runtime, "snooze 2h", channel)).result
    assert isinstance(snoozed, r.Snoozed) and snoozed.until == START + timedelta(hours=2)

    saved = (await run(runtime, "schedule primary <@U111|ana> <@U222|bea> every 1w")).result
    assert isinstance(saved, r.Schedules) and saved.schedules[0].start == START.replace(minute=0)

    clock.advance(minutes=1)
    created = (await run(runtime, "override primary me for 2h")).result
    assert isinstance(created, r.OverrideCreated)
    assert created.override.start == START + timedelta(minutes=1)
    assert created.override.end == START + timedelta(hours=2, minutes=1)
