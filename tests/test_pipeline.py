"""The command pipeline on its own: no Slack, no HTTP. A real command service on the
built-in provider and a real inbox (SQLite), with the one port the pipeline speaks to,
`Delivery`, implemented here as a recorder. What it must hold: every admitted request gets
exactly one answer and its row is done; a replay does nothing; past the backlog the answer
is "busy" and nothing is stored; a missing argument asks for a form; an answer that cannot
be delivered still closes the row; a row a stopped process left is answered once, by
what is known about it."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import select

from bot.commands.invocation import Invocation
from bot.commands.parsed import ParsedCommand
from bot.commands.parser import parse
from bot.commands.pipeline import Admission, Pipeline, Request, Resend, Route, _payload, _verb_of
from bot.commands.registry import Verb
from bot.commands.results import Changed, Declared, Failure, Reply, Restarted, Result
from bot.config import Settings
from bot.providers.builtin import tables as builtin_tables
from bot.runtime import Runtime, build_runtime
from bot.shell import ShellWorkspace
from bot.store.inbox import Inbox
from tests.helpers import PATIENCE, wait_until


class Recorder:
    """The `Delivery` port, keeping what the pipeline handed it."""

    def __init__(self, fail: bool = False) -> None:
        self.fail = fail
        self.delivered: list[tuple[str | None, Reply, Resend | None]] = []
        self.forms: list[str] = []
        self.said: list[Result] = []
        self.followed: list[Reply] = []

    async def deliver(self, route: Route, reply: Reply, key: str | None, resend: Resend | None) -> None:
        if self.fail:
            raise ConnectionError("Slack is unreachable")
        self.delivered.append((key, reply, resend))

    async def follow(self, route: Route, reply: Reply, key: str | None) -> None:
        self.followed.append(reply)

    async def form(self, request: Request, verb: Verb) -> None:
        self.forms.append(verb.name)

    async def say(self, route: Route, result: Result) -> None:
        self.said.append(result)


@pytest.fixture
async def runtime(tmp_path: Path) -> AsyncIterator[Runtime]:
    settings = Settings(  # type: ignore[call-arg]
        _env_file=None, database_url=f"sqlite+aiosqlite:///{tmp_path / 'store.db'}", incident_timer_tick=0
    )
    built = await build_runtime(settings, ShellWorkspace())
    yield built
    await built.close()


def command(key: str, text: str, channel: str = "general", kind: str = "command") -> Request:
    return Request(
        key=key,
        kind=kind,  # type: ignore[arg-type]
        invocation=Invocation(text=text, user_id="bea", user_name="bea", channel_id=channel, request_id=key),
        route=Route(team_id="T0", channel_id=channel, user_id="bea", response_url=f"https://hooks/{key}"),
        forms=True,
    )


async def send(pipeline: Pipeline, request: Request) -> Admission:
    admission = await pipeline.admit(request)
    pipeline.start(request, admission)
    return admission


async def states(runtime: Runtime) -> dict[str, str]:
    return {row["key"]: row["state"] for row in await runtime.inbox.rows()}


async def incidents(runtime: Runtime) -> list[tuple[str, str]]:
    def work(conn: object) -> list[tuple[str, str]]:
        rows = conn.execute(select(builtin_tables.incidents))  # type: ignore[attr-defined]
        return [(r.name, r.status) for r in rows]

    return await runtime.store.read(work)


async def declared_channel(runtime: Runtime, pipeline: Pipeline, recorder: Recorder) -> str:
    await send(pipeline, command("k-declare", "declare Checkout down sev:2"))
    await pipeline.idle()
    [(_, reply, _)] = [d for d in recorder.delivered if d[0] == "k-declare"]
    assert isinstance(reply.result, Declared)
    return reply.result.channel_id


async def test_an_admitted_command_gets_one_answer_and_its_row_and_audit_are_written(
    runtime: Runtime,
) -> None:
    recorder = Recorder()
    pipeline = Pipeline(runtime.service, recorder, runtime.inbox, single_process=True)
    channel = await declared_channel(runtime, pipeline, recorder)

    assert await send(pipeline, command("k-ack", "ack", channel)) is Admission.ACCEPTED
    await pipeline.idle()

    answers = [(key, type(reply.result).__name__) for key, reply, _ in recorder.delivered]
    assert answers == [("k-declare", "Declared"), ("k-ack", "Changed")]
    assert [resend for _, _, resend in recorder.delivered] == [None, None]
    assert await states(runtime) == {"k-declare": "done", "k-ack": "done"}
    assert await incidents(runtime) == [("Checkout down", "investigating")]
    audit = [(row["verb"], row["outcome"]) for row in await runtime.store.audit.rows()]
    assert audit == [("declare", "ok"), ("ack", "ok")]
    # The change redraws the incident's card after the answer is recorded.
    assert any(reply.refresh is not None for reply in recorder.followed)


async def test_the_same_request_sent_twice_at_once_is_run_once(runtime: Runtime) -> None:
    recorder = Recorder()
    pipeline = Pipeline(runtime.service, recorder, runtime.inbox, single_process=True)
    twice = [command("k-1", "declare Payments failing"), command("k-1", "declare Payments failing")]

    admissions = await asyncio.gather(*(pipeline.admit(r) for r in twice))
    for request, admission in zip(twice, admissions, strict=True):
        pipeline.start(request, admission)
    await pipeline.idle()

    assert sorted(admissions) == sorted([Admission.ACCEPTED, Admission.REPLAY])
    assert [key for key, _, _ in recorder.delivered] == ["k-1"]
    assert [name for name, _ in await incidents(runtime)] == ["Payments failing"]


async def test_past_the_backlog_the_answer_is_busy_and_nothing_is_stored(runtime: Runtime) -> None:
    recorder = Recorder()
    pipeline = Pipeline(runtime.service, recorder, runtime.inbox, single_process=True, backlog=1)

    first = await send(pipeline, command("k-first", "declare One"))
    second = await send(pipeline, command("k-second", "declare Two"))
    await pipeline.idle()

    assert (first, second) == (Admission.ACCEPTED, Admission.BUSY)
    [busy] = recorder.said
    assert isinstance(busy, Failure) and "busy" in busy.what and busy.changed == "no"
    assert [key for key, _, _ in recorder.delivered] == ["k-first"]
    assert await states(runtime) == {"k-first": "done"}
    assert [name for name, _ in await incidents(runtime)] == ["One"]


async def test_a_verb_missing_its_argument_asks_for_a_form_and_changes_nothing(runtime: Runtime) -> None:
    recorder = Recorder()
    pipeline = Pipeline(runtime.service, recorder, runtime.inbox, single_process=True)
    channel = await declared_channel(runtime, pipeline, recorder)

    await send(pipeline, command("k-status", "status", channel))
    await pipeline.idle()

    assert recorder.forms == ["status"]
    assert [key for key, _, _ in recorder.delivered] == ["k-declare"]
    assert await states(runtime) == {"k-declare": "done", "k-status": "done"}
    [(_, status)] = await incidents(runtime)
    assert status == "triage"

    # Where the transport has no forms, the same words get the usage line instead.
    typed = command("k-typed", "status", channel)
    typed.forms = False
    await send(pipeline, typed)
    await pipeline.idle()
    assert recorder.forms == ["status"]
    [(_, reply, _)] = [d for d in recorder.delivered if d[0] == "k-typed"]
    assert reply.outcome == "usage"


async def test_an_answer_that_cannot_be_delivered_still_closes_its_row(runtime: Runtime) -> None:
    recorder = Recorder(fail=True)
    pipeline = Pipeline(runtime.service, recorder, runtime.inbox, single_process=True)

    await send(pipeline, command("k-lost", "declare Search slow"))
    await pipeline.idle()

    # The change was made once and is not made again by the next start: the row is done.
    assert await states(runtime) == {"k-lost": "done"}
    assert [name for name, _ in await incidents(runtime)] == ["Search slow"]
    again = Pipeline(runtime.service, Recorder(), runtime.inbox, single_process=True)
    assert await again.recover(all_pending=True) == 0


async def left_pending(runtime: Runtime, request: Request, *, applied: bool) -> None:
    """What a process killed mid-command leaves: its row pending, owned by the dead process."""
    dead = Inbox(runtime.store, owner="dead-process", lease=0.0)
    assert await dead.accept(request.key or "", request.kind, _verb_of(request), _payload(request))
    if applied:
        await runtime.store.write(lambda conn: Inbox.mark_applied(conn, request.key or ""))


async def test_a_row_left_by_a_stopped_process_is_answered_by_what_is_known(runtime: Runtime) -> None:
    recorder = Recorder()
    pipeline = Pipeline(runtime.service, recorder, runtime.inbox, single_process=True)
    channel = await declared_channel(runtime, pipeline, recorder)

    # The built-in provider records "applied" in the change's own transaction: a row marked
    # applied is answered "it was done", and one not marked is done now, once.
    await left_pending(runtime, command("k-ack", "ack", channel), applied=True)
    await left_pending(runtime, command("k-sev", "sev 1", channel, kind="button"), applied=False)
    await pipeline.open()
    await pipeline.idle()
    await pipeline.close(1)

    answers = {key: (reply.result, resend) for key, reply, resend in recorder.delivered}
    restarted, resend = answers["k-ack"]
    assert isinstance(restarted, Restarted) and restarted.changed == "yes" and restarted.text == "ack"
    # A slash command's private answer may replace one given before the crash; a click's may not.
    assert resend is not None and resend.key == "k-ack" and resend.replaceable
    redone, resend = answers["k-sev"]
    assert isinstance(redone, Changed) and redone.incident.severity == "SEV1"
    assert resend is not None and not resend.replaceable
    assert await states(runtime) == {"k-declare": "done", "k-ack": "done", "k-sev": "done"}
    # Nothing was done twice: the ack was not run again.
    [(_, status)] = await incidents(runtime)
    assert status == "triage"


async def test_a_click_left_pending_by_the_version_before_the_parser_split_is_run_after_it(
    runtime: Runtime,
) -> None:
    """A row written before the parser's types moved to bot/commands/parsed.py names them
    where they were (`bot.commands.parser:UserRef`): across the upgrade it is still read and
    run, not marked done unanswered."""
    recorder = Recorder()
    pipeline = Pipeline(runtime.service, recorder, runtime.inbox, single_process=True)
    channel = await declared_channel(runtime, pipeline, recorder)
    parsed = parse("assign comms <@U222|cy>")
    assert isinstance(parsed, ParsedCommand)
    click = command("k-comms", "", channel, kind="button").model_copy(update={"parsed": parsed})
    written = json.dumps(_payload(click)).replace('"bot.commands.parsed:', '"bot.commands.parser:')
    payload = json.loads(written)
    assert '"bot.commands.parser:UserRef"' in json.dumps(payload)  # as the earlier version wrote it
    dead = Inbox(runtime.store, owner="dead-process", lease=0.0)
    assert await dead.accept("k-comms", "button", "assign", payload)
    await pipeline.open()
    await pipeline.idle()
    await pipeline.close(1)
    [(_, reply, _)] = [d for d in recorder.delivered if d[0] == "k-comms"]
    assert isinstance(reply.result, Changed), reply.result
    roles = await runtime.store.read(
        lambda conn: {r.role: r.user_id for r in conn.execute(select(builtin_tables.roles))}
    )
    assert roles.get("comms") == "U222", roles


class Gated(Recorder):
    """Answers only once the gate opens: the requests before it stay pending (`held`: the
    keys of those that reached it)."""

    def __init__(self) -> None:
        super().__init__()
        self.gate = asyncio.Event()
        self.held: list[str | None] = []

    async def deliver(self, route: Route, reply: Reply, key: str | None, resend: Resend | None) -> None:
        self.held.append(key)
        await self.gate.wait()
        await super().deliver(route, reply, key, resend)


async def test_with_every_slot_taken_an_ack_waits_only_while_the_process_is_short_of_cpu(
    runtime: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Slots all taken by requests waiting on something else (a slow provider, here a closed
    gate): the loop is idle and the ack goes at once. Slots all taken and the loop behind
    (each turn of it slower than LOOP_BEHIND): the ack waits for a slot, in line, and never
    longer than ROOM_WAIT; then it is admitted, not answered "busy".

    Nothing here depends on the machine's speed: whether a turn of the loop was slow is
    decided by LOOP_BEHIND against turns that take no time (set far above them) or 10 ms
    of CPU each (set at its own 5 ms); ROOM_WAIT is set past any wait of the test where the
    ack must come for another reason; waits are counted in turns of the loop, not seconds."""
    from bot.commands import backpressure

    monkeypatch.setattr(backpressure, "ROOM_WAIT", 3600.0)  # only a free slot or a quick turn lets an ack go
    recorder = Gated()
    pipeline = Pipeline(runtime.service, recorder, runtime.inbox, single_process=True, slots=2)
    for key in ("k-1", "k-2"):
        assert await send(pipeline, command(key, "help")) is Admission.ACCEPTED
    await wait_until(lambda: sorted(recorder.held) == ["k-1", "k-2"], what="both held at the gate")
    assert pipeline.pending == 2 and recorder.delivered == []

    # Idle loop (however slow the machine, a turn counts as quick): admitted while the two
    # are still pending, not after ROOM_WAIT.
    monkeypatch.setattr(backpressure, "LOOP_BEHIND", 60.0)
    assert await asyncio.wait_for(pipeline.admit(command("k-3", "help")), PATIENCE) is Admission.ACCEPTED
    assert pipeline.pending == 2 and recorder.delivered == []

    # A loop kept behind: every turn takes 10 ms of CPU, twice LOOP_BEHIND.
    monkeypatch.setattr(backpressure, "LOOP_BEHIND", 0.005)
    loop, behind, turns = asyncio.get_running_loop(), True, 0

    def hog() -> None:
        nonlocal turns
        turns += 1
        time.sleep(0.01)
        if behind:
            loop.call_soon(hog)

    loop.call_soon(hog)
    waiting = asyncio.ensure_future(pipeline.admit(command("k-4", "help")))
    start = turns
    await wait_until(lambda: turns >= start + 30, what="thirty slow turns of the loop")
    assert not waiting.done()  # in line while both slots are taken
    recorder.gate.set()  # the two answer: slots free
    assert await asyncio.wait_for(waiting, PATIENCE) is Admission.ACCEPTED
    assert {key for key, _, _ in recorder.delivered} == {"k-1", "k-2"}

    # Behind and no slot coming: admitted after ROOM_WAIT, not held for ever.
    monkeypatch.setattr(backpressure, "ROOM_WAIT", 0.2)
    recorder.gate.clear()
    for key in ("k-5", "k-6"):
        pipeline.start(command(key, "help"), await pipeline.admit(command(key, "help")))
    assert await asyncio.wait_for(pipeline.admit(command("k-7", "help")), PATIENCE) is Admission.ACCEPTED
    behind = False
    recorder.gate.set()
    await pipeline.idle()
