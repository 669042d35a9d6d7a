"""PostgreSQL as cheap as one SQLite process: a pool sized to the work that opens no
connection under a steady load, and links and incidents reused across commands while every
process hears the others' changes (bot/store/peers.py), never while it cannot.

Two stores on one database stand for two processes: each has its own engine, pool and
listening connection, as a process does. Nothing waits by sleeping: each step waits for the
condition it needs (a notice heard, the listener lost or back)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime

import pytest
from sqlalchemy import event, text
from sqlalchemy.ext.asyncio import create_async_engine

from bot.commands.fresh import FreshIncidents
from bot.domain import CardRef, Incident, Link, Person
from bot.slack.server import RUNTIME
from bot.store.db import Store
from bot.store.engine import POOL_HELD, pool_for
from bot.store.seen import Changes
from bot.store.timers import Timer, TimerStore
from tests.conftest import _fresh_postgres, make_settings, running_bot
from tests.helpers import wait_until
from tests.slackfake import FakeSlack

CHANNEL = ("T1", "C1")


@pytest.fixture
async def two() -> AsyncIterator[tuple[Store, Store]]:
    url = await _fresh_postgres()
    one, other = Store(url, pool=4), Store(url, pool=4)
    await one.start()
    await other.start()
    try:
        yield one, other
    finally:
        await one.close()
        await other.close()


def count_statements(store: Store) -> list[str]:
    """Every statement the store sends to the database, from now on."""
    seen: list[str] = []
    assert store.engine is not None

    @event.listens_for(store.engine.sync_engine, "before_cursor_execute")
    def _sent(conn: object, cursor: object, statement: str, *args: object) -> None:
        seen.append(statement)

    return seen


async def heard(store: Store, before: int, notices: int = 1) -> None:
    """Until `store` has heard `notices` more of the other's notices than `before`: a read
    while a notice is on its way is handed out but not kept, and reuse would not show."""
    peers = store.peers
    assert peers is not None
    await wait_until(lambda: peers.received >= before + notices, what="the other process's notice heard")


def received(store: Store) -> int:
    assert store.peers is not None
    return store.peers.received


def link(incident: str) -> Link:
    return Link(CHANNEL[0], CHANNEL[1], "builtin", incident, f"INC-{incident}")


async def test_a_link_is_reused_and_a_change_through_another_process_is_seen(
    two: tuple[Store, Store],
) -> None:
    one, other = two
    assert one.reuse and other.reuse
    before = received(other)
    await one.links.link(link("1"), "U1")
    await heard(other, before)
    assert (await other.links.get(*CHANNEL)) == link("1")
    sent = count_statements(other)
    for _ in range(3):
        assert (await other.links.get(*CHANNEL)) == link("1")
    assert sent == []  # reused: no transaction at all

    before = received(other)
    await one.links.link(link("2"), "U1")
    await heard(other, before)
    assert (await other.links.get(*CHANNEL)) == link("2")

    before = received(other)
    await one.links.unlink(*CHANNEL, "U1")
    await heard(other, before)
    assert (await other.links.get(*CHANNEL)) is None
    assert await other.links.was_unlinked(*CHANNEL)


async def test_with_its_listener_lost_a_process_reuses_nothing_until_it_is_back(
    two: tuple[Store, Store],
) -> None:
    one, other = two
    assert other.peers is not None and other.peers.backend is not None
    before = received(other)
    await one.links.link(link("1"), "U1")
    await heard(other, before)
    assert (await other.links.get(*CHANNEL)) == link("1")  # kept

    killer = create_async_engine(one.url)
    try:
        async with killer.connect() as conn:
            await conn.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": other.peers.backend})
    finally:
        await killer.dispose()
    await wait_until(lambda: not other.reuse, what="the lost listener seen")

    # A change the other process cannot hear of: read from the store, never from memory.
    await one.links.link(link("2"), "U1")
    sent = count_statements(other)
    assert (await other.links.get(*CHANNEL)) == link("2")
    assert (await other.links.get(*CHANNEL)) == link("2")
    assert len(sent) == 2  # each read went to the store

    await wait_until(lambda: other.reuse, what="listening again")
    assert (await other.links.get(*CHANNEL)) == link("2")  # kept again
    before = received(other)
    await one.links.link(link("3"), "U1")  # heard, now that it listens again
    await heard(other, before)
    sent.clear()
    assert (await other.links.get(*CHANNEL)) == link("3")
    assert (await other.links.get(*CHANNEL)) == link("3")
    assert len(sent) == 1  # read once, then reused


class Provider:
    """A provider both processes read the same incident from."""

    name = "peerprov"

    def __init__(self) -> None:
        self.status = "Investigating"
        self.reads = 0

    async def get_incident(self, incident_id: str) -> Incident:
        self.reads += 1
        return Incident(
            provider="peerprov",
            id=incident_id,
            reference=f"INC-{incident_id}",
            name="Checkout",
            status=self.status,
            created_at=datetime(2026, 11, 23, tzinfo=UTC),
        )


async def test_an_incident_changed_through_one_process_is_read_again_by_the_other(
    two: tuple[Store, Store],
) -> None:
    one, other = two
    provider = Provider()
    here, there = FreshIncidents(10, peers=one.peers), FreshIncidents(10, peers=other.peers)
    assert (await there.get(provider, "7")).status == "Investigating"  # type: ignore[arg-type]
    assert (await there.get(provider, "7")).status == "Investigating"  # type: ignore[arg-type]
    assert provider.reads == 1  # reused

    before = received(other)
    provider.status = "Monitoring"
    changed = await provider.get_incident("7")
    here.put(changed)  # the bot's own change, in the first process
    await heard(other, before)
    assert (await there.get(provider, "7")).status == "Monitoring"  # type: ignore[arg-type]

    before = received(other)
    provider.status = "Resolved"
    here.forget("peerprov", "7")  # a webhook's refresh, in the first process
    await heard(other, before)
    assert (await there.get(provider, "7")).status == "Resolved"  # type: ignore[arg-type]


async def test_a_read_under_way_when_the_other_process_changes_the_incident_is_not_kept(
    two: tuple[Store, Store],
) -> None:
    one, other = two
    provider = Provider()
    gate = asyncio.Event()
    plain = provider.get_incident

    async def held(incident_id: str) -> Incident:
        found = await plain(incident_id)
        await gate.wait()
        return found

    provider.get_incident = held  # type: ignore[method-assign]
    here, there = FreshIncidents(10, peers=one.peers), FreshIncidents(10, peers=other.peers)
    reading = asyncio.ensure_future(there.get(provider, "7"))  # type: ignore[arg-type]
    await wait_until(lambda: provider.reads == 1, what="the read under way")
    before = received(other)
    provider.status = "Monitoring"
    here.forget("peerprov", "7")
    await heard(other, before)
    gate.set()
    assert (await reading).status == "Investigating"  # handed to whoever asked before
    provider.get_incident = plain  # type: ignore[method-assign]
    assert (await there.get(provider, "7")).status == "Monitoring"  # type: ignore[arg-type]


async def test_a_steady_load_opens_no_connection(fake_slack: FakeSlack) -> None:
    """The same burst twice: the pool opened at start holds every connection the work needs,
    so neither round opens one (SQLAlchemy's default 5 + 10 overflow opened and closed them
    all the time)."""
    url = await _fresh_postgres()
    settings = make_settings(fake_slack, url, incident_work_slots=8, database_pool_max=20)
    async with running_bot(fake_slack, settings) as bot:
        store = bot.app[RUNTIME].store
        assert store.engine is not None
        pool = store.engine.sync_engine.pool
        assert store.pool == pool_for(8, 20) + POOL_HELD == pool.size()  # type: ignore[attr-defined]
        await bot.declare("Burst", channel="C0BURST")
        channel = fake_slack.of("conversations.invite")[-1].params["channel"]
        await bot.settled()
        opened: list[object] = []
        event.listen(store.engine.sync_engine, "connect", lambda *_: opened.append(1))

        async def burst(tag: str) -> int:
            before, answers = len(opened), len(fake_slack.answers())
            sent = await asyncio.gather(
                *(
                    bot.command(f"update Round {tag} step {n}", user=f"U{tag}{n}", channel=channel)
                    for n in range(24)
                )
            )
            assert all(response.status == 200 for response, _ in sent)
            await fake_slack.wait_for(answers + 24)
            await bot.settled()
            return len(opened) - before

        first = await burst("a")
        second = await burst("b")
        assert (first, second) == (0, 0)
        assert pool.checkedin() + pool.checkedout() <= pool.size()  # type: ignore[attr-defined]


async def test_cards_and_timers_changed_through_one_process_are_read_again_by_the_other(
    two: tuple[Store, Store],
) -> None:
    one, other = two
    here, there = TimerStore(one, shared=True), TimerStore(other, shared=True)
    due = datetime(2026, 11, 23, 10, tzinfo=UTC)
    before = received(other)
    await here.set(Timer(key="remind:1", kind="remind", due_at=due))
    await one.cards.set(CardRef(*CHANNEL, "100.1", "builtin", "1"))
    await heard(other, before, 2)
    assert (await there.get("remind:1")) is not None
    assert [c.ts for c in await other.cards.of("builtin", "1")] == ["100.1"]
    sent = count_statements(other)
    assert (await there.get("remind:1")) is not None
    assert [c.ts for c in await other.cards.of("builtin", "1")] == ["100.1"]
    assert sent == []  # both reused

    before = received(other)
    await here.cancel("remind:1")
    await one.cards.set(CardRef(*CHANNEL, "200.2", "builtin", "1"))  # the card posted again
    await heard(other, before, 2)
    assert (await there.get("remind:1")) is None
    assert [c.ts for c in await other.cards.of("builtin", "1")] == ["200.2"]


async def test_a_timer_read_under_way_is_kept_unless_its_own_key_changed_meanwhile(
    two: tuple[Store, Store],
) -> None:
    """Another process re-arms some timer with every change it makes. Before, any such
    notice kept every read under way from being kept, and with two processes at work nearly
    every timer read went to the database (issue 29, bench.processes). The read is held in
    PostgreSQL (the table locked from a third connection) while the notice comes."""
    one, other = two
    here, there = TimerStore(one, shared=True), TimerStore(other, shared=True)
    due = datetime(2026, 11, 23, 10, tzinfo=UTC)
    for key in ("remind:A", "remind:B"):
        await here.set(Timer(key=key, kind="remind", due_at=due))
    assert one.peers is not None and one.engine is not None

    async def read_while_told(told: str) -> list[str]:
        """Read remind:A while a notice for `told` comes; the statements a second read sends."""
        assert one.engine is not None and one.peers is not None
        before = received(other)
        one.peers.tell("timer", [("timer", "remind:A")])  # nothing of it kept: the read asks
        await heard(other, before)
        async with one.engine.connect() as blocker:
            await blocker.execute(text("LOCK TABLE timers IN ACCESS EXCLUSIVE MODE"))
            reading = asyncio.ensure_future(there.get("remind:A"))
            async with one.engine.connect() as probe:

                async def blocked() -> bool:
                    waits = await probe.execute(
                        text("SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock'")
                    )
                    return bool(waits.scalar())

                await wait_until(blocked, what="the read waiting on the lock")
            before = received(other)
            one.peers.tell("timer", [("timer", told)])  # as a write through one would
            await heard(other, before)
            await blocker.rollback()  # the lock goes; the read goes on
        assert (await reading) is not None
        sent = count_statements(other)
        assert (await there.get("remind:A")) is not None
        return sent

    assert await read_while_told("remind:B") == []  # another key's change: the read is kept
    assert await read_while_told("remind:A") != []  # its own: not kept, read again


async def test_kept_values_are_reused_and_a_change_through_another_process_is_seen(
    two: tuple[Store, Store],
) -> None:
    """Every card reads its status page incident from `kept`, and every change sets the
    topic through `swap`: reused, each costs no transaction; changed by another process,
    the new value is read, and a topic it set is not taken as this one's."""
    one, other = two
    key = "statuspage:builtin:1"
    before = received(other)
    await one.kept.put(key, {"id": "sp1", "page": "Public"})
    await heard(other, before)
    assert await other.kept.get(key) == {"id": "sp1", "page": "Public"}
    sent = count_statements(other)
    got = await other.kept.get(key)
    assert got == {"id": "sp1", "page": "Public"} and sent == []  # reused
    assert got is not None
    assert await other.kept.swap("topic:T1:C1", {"topic": "a"}) is True
    assert sent, "a new topic is written"
    written = len(sent)
    assert await other.kept.swap("topic:T1:C1", {"topic": "a"}) is False
    got["page"] = "changed by its reader"  # a copy: what is kept stays
    assert await other.kept.get(key) == {"id": "sp1", "page": "Public"}
    assert len(sent) == written  # the same topic again, and the read: no transaction

    before = received(other)
    await one.kept.put(key, {"id": "sp2", "page": "Public"})
    await one.kept.swap("topic:T1:C1", {"topic": "b"})  # the other process set the topic
    await heard(other, before, 2)
    assert await other.kept.get(key) == {"id": "sp2", "page": "Public"}
    assert await other.kept.swap("topic:T1:C1", {"topic": "a"}) is True  # "a" is news again
    before = received(other)
    await one.kept.forget(key)
    await heard(other, before)
    assert await other.kept.get(key) is None


async def test_pages_are_reused_and_an_answer_through_another_process_is_seen(
    two: tuple[Store, Store],
) -> None:
    """Every card at a provider that pages reads the incident's pages: reused, that costs
    no transaction; a page answered through another process is read again, answered."""
    one, other = two
    before = received(other)
    page = await one.pages.add("builtin", "1", "people:U2", "bea", person=Person(slack_id="U2"))
    await heard(other, before)
    assert [p.state for p in await other.pages.of_incident("builtin", "1")] == ["paged"]
    sent = count_statements(other)
    assert [p.id for p in await other.pages.of_incident("builtin", "1")] == [page.id]
    assert sent == []  # reused

    before = received(other)
    assert await one.pages.answered(page.id, "acknowledged", Person(slack_id="U2"), datetime.now(UTC))
    await heard(other, before)
    assert [p.state for p in await other.pages.of_incident("builtin", "1")] == ["acknowledged"]
    # Its own write is seen at once, too.
    await other.pages.add("builtin", "1", "people:U3", "cy", person=Person(slack_id="U3"))
    assert [p.target for p in await other.pages.of_incident("builtin", "1")] == ["cy", "bea"]


async def test_a_write_keeps_its_value_only_where_its_key_did_not_change_meanwhile() -> None:
    """Another process's notice can arrive for a commit later than this process's own write,
    before that write is back: the value written must then not be kept. Another key's
    change, or none, leaves it kept; a reset (notices missed) never does."""
    changes: Changes[str] = Changes()

    async def write(noticed: Callable[[], None] | None) -> str:
        if noticed is not None:
            noticed()  # the other process's notice, heard before this write is back
        return "done"

    for noticed, kept in (
        (None, True),
        (lambda: changes.changed("topic:T1:C2"), True),
        (lambda: changes.changed("topic:T1:C1"), False),
        (changes.reset, False),
    ):
        done, alone = await changes.written("topic:T1:C1", write(noticed))
        assert (done, alone) == ("done", kept)
    # A read begun before a write of its key, ended after it, is not kept either.
    began = changes.seen("topic:T1:C1")
    await changes.written("topic:T1:C1", write(None))
    assert changes.seen("topic:T1:C1") != began
