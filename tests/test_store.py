"""The store and the built-in provider, on SQLite and on PostgreSQL (the same code)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest

from bot.commands.invocation import Invocation
from bot.commands.results import Changed, Declared, Failure, OnCallList, Usage
from bot.commands.service import CommandService
from bot.config import Settings
from bot.domain import DeclareRequest, Link, NotFound, Person, Rejected
from bot.providers.builtin import BuiltinProvider
from bot.shell import ShellWorkspace
from bot.store.db import Store

BEA = Person(slack_id="U1", name="bea")
SAM = Person(slack_id="U2", name="sam")


@pytest.fixture
async def store(database_url: str) -> AsyncIterator[Store]:
    store = Store(database_url)
    await store.start()
    yield store
    await store.close()


@pytest.fixture
def provider(store: Store) -> BuiltinProvider:
    return BuiltinProvider(store, ["lead", "comms", "scribe"])


async def test_incident_lifecycle(provider: BuiltinProvider) -> None:
    incident = await provider.declare(DeclareRequest(name="DB down", severity="SEV1", declared_by=BEA))
    second = await provider.declare(DeclareRequest(name="Other", declared_by=BEA))
    assert (incident.reference, second.reference) == ("INC-1", "INC-2")
    assert incident.status == "triage" and incident.severity == "SEV1"
    await provider.set_status(incident.id, "investigating", BEA)
    await provider.set_severity(incident.id, "SEV2", BEA)
    await provider.assign_role(incident.id, "lead", SAM, BEA)
    await provider.assign_role(incident.id, "lead", BEA, BEA)  # replaces, not adds
    due = datetime(2030, 1, 4, tzinfo=UTC)
    item = await provider.add_followup(incident.id, "Add alert", SAM, due, BEA)
    await provider.add_followup(incident.id, "Write postmortem", None, None, BEA)
    await provider.post_update(incident.id, "Rollback done", BEA)
    done = await provider.complete_followup(incident.id, item.number, BEA)
    resolved = await provider.set_status(incident.id, "resolved", BEA, note="fixed")
    assert resolved.status == "resolved" and resolved.resolved_at is not None
    assert resolved.severity == "SEV2" and resolved.roles == {"lead": BEA}
    assert [(f.number, f.title, f.state) for f in resolved.followups] == [
        (1, "Add alert", "done"),
        (2, "Write postmortem", "open"),
    ]
    assert done.due == due and done.assignee == SAM
    kinds = [e.kind for e in await provider.timeline(incident.id)]
    assert kinds == [
        "declared",
        "status",
        "severity",
        "role",
        "role",
        "followup",
        "followup",
        "update",
        "followup",
        "status",
    ]
    assert (await provider.get_incident(second.id)).status == "triage"  # untouched
    # Read back cold, through Core, by a provider that remembers nothing: what each change
    # wrote (on SQLite on the driver's cursor, bot/store/direct.py) is what it answered.
    cold = BuiltinProvider(provider.store, ["lead", "comms", "scribe"])
    assert await cold.get_incident(incident.id) == resolved
    entries = await cold.timeline(incident.id)
    assert (entries[3].text, entries[3].author, entries[4].text) == ("lead: sam", BEA, "lead: bea")
    # Stored as Core stores a time (declare's created_at), so SQL compares them right.
    query = "SELECT created_at, updated_at, resolved_at FROM builtin_incidents WHERE number = 1"
    stored = await provider.store.read(lambda conn: conn.exec_driver_sql(query).one())
    assert {type(value) for value in stored} == {type(stored[0])}
    if isinstance(stored[0], str):  # SQLite: text, one format
        assert {len(value) for value in stored} == {len(stored[0])} and stored[0] < stored[1]


async def test_refusals_change_nothing(provider: BuiltinProvider) -> None:
    incident = await provider.declare(DeclareRequest(name="X", declared_by=BEA))
    with pytest.raises(Rejected):
        await provider.set_status(incident.id, "exploded", BEA)
    with pytest.raises(Rejected):
        await provider.assign_role(incident.id, "chef", BEA, BEA)
    with pytest.raises(NotFound):
        await provider.get_incident("99")
    with pytest.raises(NotFound):
        await provider.complete_followup(incident.id, 7, BEA)
    after = await provider.get_incident(incident.id)
    assert after.status == "triage" and after.roles == {}
    assert len(await provider.timeline(incident.id)) == 1


async def test_declare_is_idempotent_on_its_key(provider: BuiltinProvider) -> None:
    request = DeclareRequest(name="Dup", declared_by=BEA, idempotency_key="trigger-1")
    results = await asyncio.gather(*(provider.declare(request) for _ in range(3)), return_exceptions=True)
    ids = {r.id for r in results if not isinstance(r, BaseException)}
    assert len(ids) == 1, results


async def test_schedules_overrides_and_oncall(provider: BuiltinProvider) -> None:
    start = datetime.now(UTC) - timedelta(hours=1)
    await provider.save_schedule("primary", [BEA, SAM], timedelta(days=1), start)
    [now_on] = await provider.oncall("primary", datetime.now(UTC))
    assert now_on.person == BEA and now_on.until == start + timedelta(days=1)
    o_start = datetime.now(UTC) - timedelta(minutes=5)
    await provider.create_override("primary", SAM, o_start, o_start + timedelta(hours=2), BEA)
    [now_on] = await provider.oncall(None, datetime.now(UTC))
    assert now_on.person == SAM and now_on.is_override and now_on.until == o_start + timedelta(hours=2)
    await provider.save_schedule("primary", [SAM], timedelta(days=7), start)  # replace, keep id
    assert [s.name for s in await provider.schedules()] == ["primary"]
    with pytest.raises(NotFound):
        await provider.oncall("secondary", datetime.now(UTC))


async def test_links_audit_and_idempotency_keys(store: Store) -> None:
    await store.links.link(Link("T1", "C1", "builtin", "1", "INC-1"), "U1")
    await store.links.link(Link("T1", "C1", "builtin", "2", "INC-2"), "U1")  # relink replaces
    assert (await store.links.get("T1", "C1")) == Link("T1", "C1", "builtin", "2", "INC-2")
    assert await store.links.get("T2", "C1") is None
    assert [link.channel_id for link in await store.links.channels_for("builtin", "2")] == ["C1"]
    assert await store.links.unlink("T1", "C1") and not await store.links.unlink("T1", "C1")
    assert await store.claims.claim("k1") and not await store.claims.claim("k1")
    await store.audit.record(user_id="U1", verb="ack", arguments="ack", outcome="ok", duration_ms=1.5)
    [row] = await store.audit.rows()
    assert (row["verb"], row["outcome"], row["duration_ms"]) == ("ack", "ok", 1.5)
    assert row["at"].tzinfo is not None


async def test_command_service_runs_a_whole_incident(store: Store) -> None:
    settings = Settings(_env_file=None, database_url=store.url)  # type: ignore[call-arg]
    workspace = ShellWorkspace()
    service = CommandService(settings, store, {"builtin": BuiltinProvider(store, ["lead"])}, workspace)

    async def run(text: str, channel: str = "general") -> object:
        reply = await service.run(Invocation(text=text, user_id="bea", user_name="bea", channel_id=channel))
        return reply.result

    declared = await run("declare Checkout down sev:2")
    assert isinstance(declared, Declared) and declared.channel_name == "inc-1-checkout-down"
    channel = declared.channel_id
    assert isinstance(await run("ack", channel), Changed)
    usage = await run("status nope", channel)
    assert isinstance(usage, Usage) and "not a status" in usage.error.message
    assert isinstance(await run("resolve", channel), Changed)
    assert isinstance(await run("oncall"), OnCallList)
    gone = await run("info INC-9")
    assert isinstance(gone, Failure) and gone.changed == "no" and "INC-9" in gone.what
    rows = await store.audit.rows()
    assert [r["outcome"] for r in rows] == ["ok", "ok", "usage", "ok", "ok", "failed"]


async def test_timers_kept_in_memory_follow_every_commit(store: Store) -> None:
    """On SQLite a timer once read or written is answered from memory (no statement); it
    must still follow every change, including a change that lands while a read is under
    way. On PostgreSQL, shared by several processes, every read goes to the database."""
    from sqlalchemy import event

    from bot.store.timers import Timer, TimerStore

    statements: list[str] = []
    engine = store.sync_engine if store.sync_engine is not None else store.engine.sync_engine  # type: ignore[union-attr]
    event.listen(engine, "before_cursor_execute", lambda *args: statements.append(args[2]))
    timers, other = TimerStore(store), TimerStore(store)  # `other`: a second process
    due = datetime(2030, 1, 4, 9, tzinfo=UTC)
    assert await timers.get("remind:builtin:1") is None
    await timers.set(Timer(key="remind:builtin:1", kind="remind", due_at=due, payload={"n": 1}))
    statements.clear()
    got = await timers.get("remind:builtin:1")
    assert got is not None and (got.due_at, got.payload) == (due, {"n": 1})
    assert (statements == []) is store.cache
    got.payload["n"] = 99  # what a caller does to its copy is not what is kept
    assert (await timers.get("remind:builtin:1")).payload == {"n": 1}  # type: ignore[union-attr]
    nested = {"entry": {"text": "Rolled back", "tags": ["db"]}}
    await timers.set(Timer(key="latest:builtin:1", kind="latest", due_at=due, payload=nested))
    copy = await timers.get("latest:builtin:1")
    assert copy is not None and copy.payload == nested
    copy.payload["entry"]["tags"].append("changed")  # deep inside its copy, too
    again = await timers.get("latest:builtin:1")
    assert again is not None and again.payload == {"entry": {"text": "Rolled back", "tags": ["db"]}}
    await timers.cancel("latest:builtin:1")

    # A change from elsewhere: seen at once where nothing is kept, never on SQLite's one process.
    await other.set(Timer(key="remind:builtin:1", kind="remind", due_at=due, payload={"n": 2}))
    seen = await timers.get("remind:builtin:1")
    assert seen is not None and seen.payload == ({"n": 1} if store.cache else {"n": 2})
    await timers.cancel("remind:builtin:1")

    # Reads racing writes: whatever order they run in, what is kept is the last commit (on
    # SQLite, the order they were sent in; PostgreSQL runs them side by side).
    for n in range(20):
        key = f"nudge:builtin:1:{n}"
        await asyncio.gather(
            timers.get(key),
            timers.set(Timer(key=key, kind="nudge", due_at=due, payload={"n": n})),
            timers.get(key),
            timers.set(Timer(key=key, kind="nudge", due_at=due + timedelta(hours=1), payload={"n": -n})),
            timers.get(key),
        )
        kept = await timers.get(key)
        assert kept is not None and kept == await TimerStore(store).get(key)  # as the database has it
        if store.cache:
            assert (kept.due_at, kept.payload) == (due + timedelta(hours=1), {"n": -n})
        assert await timers.cancel(key) and await timers.get(key) is None
    assert {t.key for t in await timers.all()} == set()
    await timers.set_anchor("announce:builtin:1", "C1", "1.2")
    statements.clear()
    assert await timers.anchor("announce:builtin:1") == ("C1", "1.2")
    assert (statements == []) is store.cache
