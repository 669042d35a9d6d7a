"""The database goes away as it does in an outage: through a proxy in front of PostgreSQL
that refuses (a restart), blackholes (a partition), or lets a COMMIT through and then goes
silent (the commit made, its answer lost). Commands go in signed, as Slack sends them.

What must hold (issue 29): the ack is the honest answer ("the bot's database isn't
answering"), never a hang or a 500; a command refused so is never run, not after the
database is back and not by the next process; no traceback, one line when the outage
starts and one when it ends; /readyz says so and /healthz does not; and once the database
is back, the next command is answered.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import sqlite3
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from urllib.parse import parse_qsl

import pytest
from sqlalchemy import Connection, make_url, select, text, update
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.ext.asyncio import create_async_engine

from bot.clock import SYSTEM
from bot.outage import away, mark, unavailable
from bot.providers.builtin import tables as builtin_tables
from bot.slack.server import PIPELINE, RUNTIME, start_socket_mode
from bot.store import tables
from bot.store.db import Store
from bot.store.engine import Database
from bot.store.inbox import Inbox
from tests.conftest import POSTGRES_URL, RunningBot, make_settings, provider_bot, running_bot
from tests.helpers import (
    IO_SECRET,
    card_post,
    click,
    deliver,
    free_port,
    io_headers,
    linked,
    set_status,
    status_event,
    text_of,
    wait_until,
)
from tests.pgproxy import PgProxy
from tests.slackfake import FakeSlack, slash_body

AWAY = "database isn't answering"


@pytest.fixture
async def postgres_url() -> AsyncIterator[str]:
    """A database of this test's own on the test server: the others' tests, on `test`, may
    run at the same time, and this one reads every row of its tables."""
    name = f"outage_{os.getpid()}"
    server = create_async_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")
    try:
        async with server.connect() as conn:
            await conn.execute(text(f"DROP DATABASE IF EXISTS {name}"))
            await conn.execute(text(f"CREATE DATABASE {name}"))
        yield make_url(POSTGRES_URL).set(database=name).render_as_string(hide_password=False)
        async with server.connect() as conn:
            await conn.execute(text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
    finally:
        await server.dispose()


@pytest.fixture
async def proxy(postgres_url: str) -> AsyncIterator[PgProxy]:
    proxy = PgProxy(postgres_url)
    await proxy.start()
    try:
        yield proxy
    finally:
        await proxy.close()


def outage_settings() -> dict[str, object]:
    # A small bound, so the partition's refusals come quickly; the bound is the setting's.
    return {"incident_ack_db_timeout": 0.5, "auto_migrate": True, "incident_timer_tick": 0}


async def ack(bot: RunningBot, text: str, trigger: str) -> tuple[int, dict | None, str]:
    """`/incident <text>`, signed: the ack's status and body, and the response_url it carried."""
    response, url = await bot.command(text, trigger=trigger)
    raw = await response.text()
    return response.status, json.loads(raw) if raw else None, url


def refused(status: int, body: dict | None) -> bool:
    return (
        status == 200
        and body is not None
        and body.get("response_type") == "ephemeral"
        and AWAY in text_of(body)
        and "try again in a minute" in text_of(body).lower()
    )


async def status_of(bot: RunningBot, path: str) -> tuple[int, dict]:
    async with bot.session.get(f"{bot.url}{path}") as response:
        return response.status, await response.json()


async def rows(url: str, table: object) -> list[dict]:
    """The database's own rows, read past the proxy and the bot."""
    engine = create_async_engine(url)
    try:
        async with engine.connect() as conn:
            return [dict(r._mapping) for r in (await conn.execute(select(table)))]  # type: ignore[call-overload]
    finally:
        await engine.dispose()


async def test_restart_partition_and_lost_commit_are_refused_in_the_ack_and_never_run(
    fake_slack: FakeSlack, proxy: PgProxy, postgres_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    settings = make_settings(fake_slack, proxy.url, **outage_settings())
    refusals: dict[str, str] = {}  # trigger → the response_url its command carried
    async with running_bot(fake_slack, settings) as bot:
        _, channel = await bot.declare("Before the outage")
        card = card_post(fake_slack, channel)
        assert await status_of(bot, "/readyz") == (200, {"ok": True})

        # A restart: every connection cut, every new one refused.
        proxy.refusing()
        status, body, refusals["restart.1"] = await ack(bot, "declare Refused while restarting", "restart.1")
        assert refused(status, body), body
        ready, why = await status_of(bot, "/readyz")
        assert ready == 503 and "database" in why["reason"]
        assert await status_of(bot, "/healthz") == (200, {"ok": True})
        proxy.passing()
        assert "declare" in text_of(await bot.run("help"))  # the next command after its return

        # A partition: links held open, nothing answered, new links never answered.
        proxy.blackholing()
        status, body, refusals["partition.1"] = await ack(bot, "declare Refused, partitioned", "partition.1")
        assert refused(status, body), body
        status, body, refusals["partition.2"] = await ack(bot, "declare Refused again", "partition.2")
        assert refused(status, body), body
        # A click: its ack carries no message, so the answer follows it at once, unrun.
        said = len(fake_slack.answers())
        assert (await click(bot, card, "verb.ack"))[0] == 200
        [*_, answer] = await fake_slack.wait_for(said + 1)
        assert AWAY in text_of(answer.params) and answer.params.get("response_type") == "ephemeral"
        refusals["click"] = str(answer.url)
        ready, why = await status_of(bot, "/readyz")
        assert ready == 503 and "database" in why["reason"]
        assert await status_of(bot, "/healthz") == (200, {"ok": True})
        proxy.passing()  # what was held flows now, as a healed network delivers it
        assert "declare" in text_of(await bot.run("help"))

        # The COMMIT reaches the server, its answer never comes back: the row is there, yet
        # the person was told nothing was done.
        await bot.settled()  # nothing else of the bot's under way: the next COMMIT is the accept's
        proxy.partitioning_after_commit(b"INSERT INTO inbox")
        status, body, refusals["lost.1"] = await ack(bot, "declare Committed but never heard", "lost.1")
        assert refused(status, body), body

        async def landed() -> bool:
            inbox = {r["key"]: r["state"] for r in await rows(postgres_url, tables.inbox)}
            return inbox.get("command:T111:lost.1") == "pending"

        await wait_until(landed, what="the accept's COMMIT made at the server")
        proxy.passing()
        assert "declare" in text_of(await bot.run("help"))

        assert await bot.app[PIPELINE].inbox.settled(10)  # type: ignore[union-attr]
        await bot.settled()

    # The next process, on the same database, taking over whatever the first left pending.
    engine = create_async_engine(postgres_url)
    try:
        async with engine.begin() as conn:
            await conn.execute(update(tables.inbox).values(lease_until=SYSTEM.now()))
    finally:
        await engine.dispose()
    async with running_bot(fake_slack, make_settings(fake_slack, postgres_url)) as second:
        await second.app[PIPELINE].recover()
        await second.settled()
        assert "declare" in text_of(await second.run("help"))

    inbox = {r["key"]: r["state"] for r in await rows(postgres_url, tables.inbox)}
    for trigger, url in refusals.items():
        assert inbox.get(f"command:T111:{trigger}") in (None, "refused"), trigger
        answered = [c for c in fake_slack.calls if c.url == url]
        if trigger == "click":  # its one answer is the refusal itself
            assert len(answered) == 1 and AWAY in text_of(answered[0].params)
        else:
            assert not answered, f"{trigger} was answered after its refusal"
    declared = [(r["name"], r["status"]) for r in await rows(postgres_url, builtin_tables.incidents)]
    assert [name for name, _ in declared] == ["Before the outage"]
    assert declared[0][1] not in ("investigating", "Investigating")  # the click's ack never made
    assert not [r for r in await rows(postgres_url, tables.audit) if r["verb"] == "ack"]
    assert inbox["command:T111:lost.1"] == "refused"  # the row that landed, tombstoned

    # No traceback; one line as each outage began and one as it ended.
    assert [r.getMessage() for r in caplog.records if r.exc_info or "Traceback" in r.getMessage()] == []
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR] == []
    outage = [(r.levelname, r.getMessage()) for r in caplog.records if r.name == "bot.outage"]
    assert [level for level, _ in outage] == ["WARNING", "INFO"] * 3, outage


@asynccontextmanager
async def held(store: Database) -> AsyncIterator[None]:
    """SQLite's store thread busy with one long transaction until the block ends."""
    started, release = threading.Event(), threading.Event()

    def hold(conn: Connection) -> None:
        started.set()
        assert release.wait(60)

    holding = asyncio.ensure_future(store.write(hold))
    try:
        assert await asyncio.to_thread(started.wait, 60)
        yield
    finally:
        release.set()
        await holding


async def test_sqlite_busy_past_the_bound_is_refused_in_the_ack_and_never_run(
    fake_slack: FakeSlack, sqlite_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    """SQLite's store thread held (a long transaction, a file locked by another program): the
    ack's write waits in line past the bound, is refused, and when the line moves on its row
    is never written as a request to run, not even by the recovery a restart runs."""
    caplog.set_level(logging.INFO)
    settings = make_settings(fake_slack, sqlite_url, **outage_settings())
    async with running_bot(fake_slack, settings) as bot:
        assert "declare" in text_of(await bot.run("help"))
        async with held(bot.app[RUNTIME].store):
            status, body, url = await ack(bot, "declare Refused while the store was held", "held.1")
            assert refused(status, body), body
            ready, why = await status_of(bot, "/readyz")
            assert ready == 503 and "database" in why["reason"]
            assert await status_of(bot, "/healthz") == (200, {"ok": True})
        assert "declare" in text_of(await bot.run("help"))
        async with bot.session.get(f"{bot.url}/metrics") as page:
            counted = [line for line in (await page.text()).splitlines() if 'outcome="unavailable"' in line]
            assert counted and 'verb="declare"' in counted[0]  # counted, for alerts
        pipeline = bot.app[PIPELINE]
        assert pipeline.inbox is not None and await pipeline.inbox.settled(10)
        await pipeline.recover(all_pending=True)  # what the next start of a SQLite bot runs
        await bot.settled()
        inbox = {r["key"]: r["state"] for r in await pipeline.inbox.rows()}
        assert inbox["command:T111:held.1"] == "refused"  # its tombstone
        assert not [c for c in fake_slack.calls if c.url == url]
        assert not fake_slack.of("conversations.create")
        assert await status_of(bot, "/readyz") == (200, {"ok": True})

    assert [r.getMessage() for r in caplog.records if r.exc_info or r.levelno >= logging.ERROR] == []
    outage = [r.levelname for r in caplog.records if r.name == "bot.outage"]
    assert outage == ["WARNING", "INFO"]


async def test_socket_mode_acks_the_refusal_in_the_envelope(fake_slack: FakeSlack, sqlite_url: str) -> None:
    """Over Socket Mode the refusal is the envelope's ack payload, as the 200's body is over HTTP."""
    settings = make_settings(
        fake_slack, sqlite_url, slack_app_token="xapp-test", port=free_port(), **outage_settings()
    )
    handler, runner = await start_socket_mode(settings, host="127.0.0.1")
    try:
        await wait_until(lambda: bool(fake_slack.sockets), what="the socket connected")
        url = fake_slack.response_url()
        payload = dict(parse_qsl(slash_body("declare Refused over the socket", response_url=url)))
        async with held(runner.app[RUNTIME].store):
            envelope_id = await fake_slack.send_envelope("slash_commands", payload)
            [ack] = await fake_slack.wait_for(1, "socket_ack")
        assert ack.params["envelope_id"] == envelope_id
        assert refused(200, ack.params["payload"]), ack.params
        await runner.app[PIPELINE].idle()
        assert not [c for c in fake_slack.calls if c.url == url]
        assert not fake_slack.of("conversations.create")
    finally:
        await handler.close_async()
        await runner.cleanup()


async def test_a_webhook_refused_while_the_store_is_held_is_taken_when_sent_again(
    fake_slack: FakeSlack, sqlite_url: str
) -> None:
    """A provider's webhook refused with a 503 is sent again by the provider, with the same
    delivery id: its tombstone does not make the second delivery a replay, and the change
    is told once."""
    async with provider_bot(
        "incidentio", fake_slack, sqlite_url, incidentio_webhook_secret=IO_SECRET, **outage_settings()
    ) as pb:
        incident = await linked(pb)
        told = len(fake_slack.of("chat.postMessage"))
        set_status(pb, incident, "Fixing", "2026-11-23T10:00:00Z")
        body = status_event(incident, "Fixing")
        headers = io_headers(body, msg_id="msg_refused_1")
        async with held(pb.bot.app[RUNTIME].store):
            async with pb.bot.session.post(
                f"{pb.bot.url}/webhooks/incidentio", data=body, headers=headers
            ) as response:
                assert response.status == 503
        pipeline = pb.bot.app[PIPELINE]
        assert pipeline.inbox is not None and await pipeline.inbox.settled(10)
        inbox = {r["key"]: r["state"] for r in await pipeline.inbox.rows()}
        assert inbox["webhook:incidentio:msg_refused_1"] == "refused"  # its tombstone
        assert len(fake_slack.of("chat.postMessage")) == told  # nothing was told for it
        assert await deliver(pb, "incidentio", body, headers) == 200  # the provider's retry
        notices = [text_of(c.params) for c in fake_slack.of("chat.postMessage")[told:]]
        assert len(notices) == 1 and "Fixing" in notices[0]
        assert await deliver(pb, "incidentio", body, headers) == 200  # and then a replay
        assert len(fake_slack.of("chat.postMessage")) == told + 1


def test_an_outage_is_told_from_a_bug() -> None:
    """Only the database's absence is spared its traceback: a wrong query still has one."""
    assert unavailable(ConnectionRefusedError(111, "Connect call failed"))
    assert unavailable(TimeoutError())
    assert unavailable(OperationalError("INSERT", {}, sqlite3.OperationalError("database is locked")))
    assert not unavailable(OperationalError("SELECT", {}, sqlite3.OperationalError("no such table: inbox")))
    assert not unavailable(IntegrityError("INSERT", {}, sqlite3.IntegrityError("UNIQUE constraint failed")))
    assert not unavailable(ValueError("a bug"))
    # Elsewhere, only what the store raised for it: Slack's or a provider's network error is not.
    slack_down = ConnectionRefusedError(111, "Connect call failed")
    assert not away(slack_down)
    mark(slack_down)  # as the store does, having found the database away
    assert away(slack_down)


async def test_an_answer_recorded_while_the_database_is_away_is_recorded_when_it_is_back(
    proxy: PgProxy, caplog: pytest.LogCaptureFixture
) -> None:
    """A command acked before the outage and answered during it: its row is marked done once
    the database answers again (not left pending for a restart to answer a second time),
    and meanwhile nothing is logged but the outage's two lines."""
    caplog.set_level(logging.INFO)
    store = Store(proxy.url, connect_timeout=0.5)
    await store.start(migrate=True)
    inbox = Inbox(store, "answering", bound=0.5)
    try:
        assert await inbox.accept("command:T1:acked", "command", "help", {"n": 1})
        proxy.refusing()
        await inbox.finish("command:T1:acked", None)  # no exception, no traceback
        assert not await inbox.settled(0)  # owed
        proxy.passing()
        assert await inbox.settled(10)
        assert {r["key"]: r["state"] for r in await inbox.rows()} == {"command:T1:acked": "done"}
    finally:
        await inbox.close(1)
        await store.close()
    assert [r.getMessage() for r in caplog.records if r.exc_info or r.levelno >= logging.ERROR] == []
    assert [r.levelname for r in caplog.records if r.name == "bot.outage"] == ["WARNING", "INFO"]
