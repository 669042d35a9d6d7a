"""Reads reused between commands (bot/commands/fresh.py), against the incident.io fake:
a command right after another costs no read, the bot's own change is what the next
command sees, a webhook makes the next command read again, a refusal never rests on a
reused read, and several processes sharing PostgreSQL reuse reads and hear each other's
changes."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import pytest

from bot.commands.fresh import FreshIncidents
from bot.domain import Incident
from bot.slack.server import RUNTIME
from tests.conftest import (
    ProviderBot,
    _fresh_postgres,
    make_settings,
    provider_bot,
    provider_fake,
    provider_settings,
    running_bot,
)
from tests.helpers import (
    HOOKS_CHANNEL,
    IO_SECRET,
    deliver,
    io_headers,
    linked,
    set_status,
    status_event,
    text_of,
    wait_until,
)
from tests.slackfake import FakeSlack

CHANNEL = HOOKS_CHANNEL  # the channel `linked` links


@pytest.fixture
async def io(fake_slack: FakeSlack, sqlite_url: str) -> AsyncIterator[ProviderBot]:
    async with provider_bot("incidentio", fake_slack, sqlite_url, incidentio_webhook_secret=IO_SECRET) as pb:
        yield pb


def reads(pb: ProviderBot, incident: dict) -> int:
    return len(pb.fake.of("GET", f"/v2/incidents/({incident['id']}|{incident['reference'].split('-')[-1]})"))


async def test_commands_one_after_another_read_the_incident_once(io: ProviderBot) -> None:
    incident = await linked(io)
    before = reads(io, incident)

    assert "Investigating" in text_of(await io.bot.run("info", channel=CHANNEL))
    assert "Monitoring" in text_of(await io.bot.run("status mon", channel=CHANNEL))
    roles = text_of(await io.bot.run("roles", channel=CHANNEL))
    info = text_of(await io.bot.run("info", channel=CHANNEL))
    await io.bot.run("update Error rate is back to normal", channel=CHANNEL)

    # One read for five commands; the status the change left is what the next ones show.
    assert reads(io, incident) - before == 1
    assert "Monitoring" in info and "Incident Lead" in roles
    assert [w.path for w in io.fake.writes()] == [
        f"/v2/incidents/{incident['id']}/actions/edit",
        "/v2/incident_updates",
    ]


async def test_a_webhook_makes_the_next_command_read_again(io: ProviderBot) -> None:
    incident = await linked(io)
    assert "Investigating" in text_of(await io.bot.run("info", channel=CHANNEL))
    set_status(io, incident, "Fixing", "2026-11-23T10:00:00Z")
    body = status_event(incident, "Fixing")
    assert await deliver(io, "incidentio", body, io_headers(body, msg_id="msg_fresh_1")) == 200
    before = reads(io, incident)

    assert "Fixing" in text_of(await io.bot.run("info", channel=CHANNEL))
    # The webhook's own read is the one reused: the command itself read nothing.
    assert reads(io, incident) == before


async def test_a_refusal_is_checked_against_the_provider_before_it_is_given(io: ProviderBot) -> None:
    incident = await linked(io)
    assert "Monitoring" in text_of(await io.bot.run("status monitoring", channel=CHANNEL))
    # Moved back in incident.io's UI, and no webhook told the bot.
    set_status(io, incident, "Investigating", "2026-11-23T11:00:00Z")
    before = reads(io, incident)

    answer = text_of(await io.bot.run("status monitoring", channel=CHANNEL))

    # The reused read said "already Monitoring"; the provider said otherwise, and won.
    assert "already" not in answer and "Monitoring" in answer
    assert reads(io, incident) == before + 1
    assert io.fake.incidents[incident["id"]]["incident_status"]["name"] == "Monitoring"


async def test_processes_sharing_postgresql_reuse_reads_and_see_each_others_changes(
    fake_slack: FakeSlack,
) -> None:
    """Two bots on one PostgreSQL database and one incident.io: each reuses its reads as one
    SQLite process does, and a change through one is what the other's next command shows
    (it heard of it: bot/store/peers.py)."""
    url = await _fresh_postgres()
    async with provider_fake("incidentio") as fake:
        settings = make_settings(fake_slack, url, **provider_settings("incidentio", fake.url))
        async with running_bot(fake_slack, settings) as one, running_bot(fake_slack, settings) as other:
            incident = await linked(ProviderBot(one, fake))
            assert "Investigating" in text_of(await other.run("info", channel=CHANNEL))
            before = reads(ProviderBot(one, fake), incident)
            for _ in range(3):
                assert "Investigating" in text_of(await other.run("info", channel=CHANNEL))
            assert reads(ProviderBot(one, fake), incident) == before  # reused, as on SQLite

            peers = other.app[RUNTIME].store.peers
            assert peers is not None
            heard = peers.received
            assert "Monitoring" in text_of(await one.run("status monitoring", channel=CHANNEL))
            await wait_until(lambda: peers.received > heard, what="the other process told")
            assert "Monitoring" in text_of(await other.run("info", channel=CHANNEL))


class SlowProvider:
    """Just enough of a provider for the cache: its reads take a while, and can be held."""

    name = "slow"

    def __init__(self) -> None:
        self.status = "Investigating"
        self.reads = 0
        self.gate = asyncio.Event()
        self.gate.set()

    async def get_incident(self, incident_id: str) -> Incident:
        self.reads += 1
        seen = self.status
        await self.gate.wait()
        return incident(seen)


def incident(status: str) -> Incident:
    return Incident(
        provider="slow",
        id="01HXFULLID",
        reference="INC-12",
        name="Checkout",
        status=status,
        created_at=datetime(2026, 11, 23, tzinfo=UTC),
    )


async def test_a_read_under_way_when_the_bot_changes_the_incident_is_not_kept() -> None:
    provider: Any = SlowProvider()
    fresh = FreshIncidents(60)
    provider.gate.clear()
    reading = asyncio.create_task(fresh.get(provider, "12"))  # begun before the change
    await wait_until(lambda: provider.reads == 1, what="the read under way, held at the gate")
    fresh.put(incident("Monitoring"), asked_as="12")  # the bot's change, answered first
    provider.gate.set()
    assert (await reading).status == "Investigating"  # what that read saw, handed to its asker

    assert (await fresh.get(provider, "12")).status == "Monitoring"
    assert (await fresh.get(provider, "01HXFULLID")).status == "Monitoring"
    assert provider.reads == 1


async def test_concurrent_misses_share_one_read_and_forget_reaches_every_name() -> None:
    provider: Any = SlowProvider()
    fresh = FreshIncidents(60)
    got = await asyncio.gather(*(fresh.get(provider, "12") for _ in range(20)))
    assert {i.status for i in got} == {"Investigating"} and provider.reads == 1

    await fresh.get(provider, "01HXFULLID")
    assert provider.reads == 2  # asked by its own id for the first time
    provider.status = "Fixing"
    fresh.forget("slow", "01HXFULLID")  # a webhook names it by its full id
    assert (await fresh.get(provider, "12")).status == "Fixing"
    assert provider.reads == 3


async def test_with_no_seconds_every_read_goes_to_the_provider() -> None:
    provider: Any = SlowProvider()
    fresh = FreshIncidents(0)
    fresh.put(incident("Monitoring"))
    assert (await fresh.get(provider, "12")).status == "Investigating"
    await fresh.get(provider, "12")
    assert provider.reads == 2


async def test_a_read_begun_before_a_webhook_is_not_handed_to_those_who_ask_after_it() -> None:
    provider: Any = SlowProvider()
    fresh = FreshIncidents(60)
    provider.gate.clear()
    early = asyncio.create_task(fresh.get(provider, "12"))  # begun before the change
    await wait_until(lambda: provider.reads == 1, what="the early read, held at the gate")
    provider.status = "Resolved"  # changed at the provider …
    fresh.forget("slow", "12")  # … and its webhook arrives while the early read is under way
    later = asyncio.create_task(fresh.get(provider, "12"))  # asked after the webhook
    await wait_until(lambda: provider.reads == 2, what="a read of its own for the later caller")
    provider.gate.set()
    assert (await later).status == "Resolved"
    assert (await early).status in ("Investigating", "Resolved")  # its own asker's, whatever it saw
    assert (await fresh.get(provider, "12")).status == "Resolved"  # and what is kept is the new


async def test_a_joined_read_cancelled_with_its_asker_is_read_again_for_the_joiner() -> None:
    provider: Any = SlowProvider()
    fresh = FreshIncidents(60)
    provider.gate.clear()
    owner = asyncio.create_task(fresh.get(provider, "12"))
    await wait_until(lambda: provider.reads == 1, what="the first read, held at the gate")
    started = asyncio.Event()

    async def join() -> Incident:
        started.set()  # from here it runs on into `get` until it waits on the read under way
        return await fresh.get(provider, "12")

    joiner = asyncio.create_task(join())
    await started.wait()  # back here only once the joiner waits: it has joined the read
    owner.cancel()  # its asker's timeout
    await wait_until(lambda: provider.reads == 2, what="the joiner's own read")
    provider.gate.set()
    assert (await joiner).status == "Investigating"
    assert owner.cancelled()
