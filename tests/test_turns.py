"""The big incident: many changes at once on one incident, a provider that holds every
write until the test lets it go (the fake's gate), and a quiet incident beside it.

What is in progress at the provider at once is read off the fake while it holds the writes,
so nothing here depends on how fast the machine is: only on what waits for what."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from tests.conftest import ProviderBot, provider_bot
from tests.fakes.incidentio import SEVERITIES
from tests.fakes.server import Seen
from tests.helpers import text_of, wait_until
from tests.slackfake import FakeSlack

HOT, QUIET = "CHOT", "CQUIET"


@pytest.fixture
async def io(fake_slack: FakeSlack, sqlite_url: str) -> AsyncIterator[ProviderBot]:
    # Three work slots: the hot incident's change at the provider and two of its queue would
    # take them all, were a command waiting for its turn to hold one.
    # The gate holds writes for as long as a test needs: no timeout may run out meanwhile.
    async with provider_bot(
        "incidentio",
        fake_slack,
        sqlite_url,
        incident_work_slots=3,
        incident_command_timeout=300,
        provider_timeout=300,
    ) as running:
        try:
            yield running
        finally:
            if running.fake.gate is not None:
                running.fake.gate.set()  # a failed test leaves nothing held for the teardown


async def linked(pb: ProviderBot, name: str, channel: str) -> dict:
    incident = pb.fake.add_incident(name, channel=channel)  # type: ignore[attr-defined]
    assert name in text_of(await pb.bot.run(f"link {incident['reference']}", channel=channel))
    await pb.bot.run("info", channel=channel)  # the catalogues read once, before the gate closes
    await pb.bot.settled()
    return incident


def edits_of(pb: ProviderBot, incident: dict) -> list[dict]:
    return [s.body["incident"] for s in pb.fake.of("POST", f"/v2/incidents/{incident['id']}/actions/edit")]


def severity_named(pb: ProviderBot, incident: dict) -> str:
    return pb.fake.incident(incident["id"])["severity"]["name"]  # type: ignore[attr-defined]


async def acked(pb: ProviderBot, text: str, channel: str) -> None:
    response, _ = await pb.bot.command(text, channel=channel)
    assert response.status == 200


async def test_a_quiet_incident_is_not_held_up_by_a_hot_one(io: ProviderBot) -> None:
    hot = await linked(io, "Checkout down", HOT)
    quiet = await linked(io, "Search slow", QUIET)
    io.fake.gate = asyncio.Event()
    answers = len(io.bot.slack.answers())
    for severity in ("critical", "major", "minor", "critical"):
        await acked(io, f"sev {severity}", HOT)
    await wait_until(lambda: len(io.fake.gated) == 1, what="the hot incident's first change at the provider")

    await acked(io, "sev minor", QUIET)
    # Both slots would be taken by the hot incident's queue if waiting held one: the quiet
    # change reaches the provider while the hot one's first change is still held there.
    await wait_until(lambda: len(io.fake.gated) == 2, what="the quiet incident's change at the provider")
    assert sorted(s.params["id"] for s in io.fake.gated) == sorted([hot["id"], quiet["id"]])

    io.fake.gate.set()
    await io.bot.settled(60)
    assert severity_named(io, hot) == "Critical" and severity_named(io, quiet) == "Minor"
    assert len(io.bot.slack.answers()) - answers >= 5  # every command answered
    assert len(edits_of(io, hot)) == 4 and len(edits_of(io, quiet)) == 1  # each made once


async def test_updates_and_followups_do_not_wait_behind_a_severity_change(io: ProviderBot) -> None:
    hot = await linked(io, "Checkout down", HOT)
    io.fake.gate = asyncio.Event()
    await acked(io, "sev critical", HOT)
    await wait_until(lambda: len(io.fake.gated) == 1, what="the severity change at the provider")
    await acked(io, "update Rolled back the deploy", HOT)
    await acked(io, "followup Add an alert on checkout errors", HOT)
    # Appends conflict with nothing: all three are at the provider at once.
    await wait_until(lambda: len(io.fake.gated) == 3, what="the update and follow-up beside the change")
    assert {s.path for s in io.fake.gated} == {
        f"/v2/incidents/{hot['id']}/actions/edit",
        "/v2/incident_updates",
        "/v3/follow_ups",
    }
    io.fake.gate.set()
    await io.bot.settled(60)
    assert severity_named(io, hot) == "Critical"
    updates = io.fake.of("POST", "/v2/incident_updates")
    assert [s.body["message"] for s in updates] == ["Rolled back the deploy"]
    assert len(io.fake.of("POST", "/v3/follow_ups")) == 1


async def test_changes_to_one_field_keep_their_order_and_the_card_ends_on_the_last(io: ProviderBot) -> None:
    hot = await linked(io, "Checkout down", HOT)
    io.fake.gate = asyncio.Event()
    typed = ["minor", "critical", "major", "minor", "major"]
    for severity in typed:
        await acked(io, f"sev {severity}", HOT)
    await wait_until(lambda: len(io.fake.gated) == 1, what="the first change at the provider")
    assert len(io.fake.gated) == 1  # one change to the severity at a time
    io.fake.gate.set()
    await io.bot.settled(60)
    ids = {s["name"].lower(): s["id"] for s in SEVERITIES}
    assert [edit["severity_id"] for edit in edits_of(io, hot)] == [ids[name] for name in typed]
    assert severity_named(io, hot) == "Major"
    redraws = [c for c in io.bot.slack.of("chat.update") if c.params.get("channel") == HOT]
    cards = [c for c in io.bot.slack.of("chat.postMessage") if c.params.get("channel") == HOT]
    last = (redraws or cards)[-1]
    assert "Major" in text_of(last.params), text_of(last.params)


def status_named(pb: ProviderBot, incident: dict) -> str:
    return pb.fake.incident(incident["id"])["incident_status"]["name"]  # type: ignore[attr-defined]


async def test_an_older_answer_arriving_last_does_not_take_the_card_back(io: ProviderBot) -> None:
    """A status change and a severity change run beside each other (different parts). The
    status change is made first, but its answer, which still shows the old severity, comes
    back last: the card and `info` end on the newest state the provider told of, with both
    changes, not on the answer that arrived last."""
    hot = await linked(io, "Checkout down", HOT)
    release = asyncio.Event()
    edit = f"/v2/incidents/{hot['id']}/actions/edit"

    def status_change(seen: Seen) -> asyncio.Event | None:
        changes = seen.body.get("incident") if isinstance(seen.body, dict) else None
        return release if seen.path == edit and "incident_status_id" in (changes or {}) else None

    io.fake.hold_answer = status_change
    try:
        await acked(io, "status monitoring", HOT)
        await wait_until(lambda: len(io.fake.held) == 1, what="the status change made, its answer held")
        assert status_named(io, hot) == "Monitoring"
        await acked(io, "sev critical", HOT)
        await wait_until(
            lambda: any("Critical" in text_of(c.params) for c in io.bot.slack.answers()),
            what="the severity change answered while the status change's answer is held",
        )
        assert len(io.fake.held) == 1  # the status change still unanswered: the order is set
    finally:
        release.set()
    await io.bot.settled(60)
    assert (status_named(io, hot), severity_named(io, hot)) == ("Monitoring", "Critical")
    drawn = [c for c in io.bot.slack.of("chat.update") if c.params.get("channel") == HOT]
    assert drawn, "the card was redrawn"
    last = text_of(drawn[-1].params)
    assert "Critical" in last and "Monitoring" in last, last
    shown = text_of(await io.bot.run("info", channel=HOT))
    assert "Critical" in shown and "Monitoring" in shown, shown


@pytest.fixture
async def pd(fake_slack: FakeSlack, sqlite_url: str) -> AsyncIterator[ProviderBot]:
    async with provider_bot(
        "pagerduty", fake_slack, sqlite_url, incident_command_timeout=300, provider_timeout=300
    ) as running:
        yield running


async def test_at_pagerduty_an_older_answer_arriving_last_does_not_take_the_card_back(
    pd: ProviderBot,
) -> None:
    """As at incident.io: PagerDuty dates each edit (`updated_at`), and the older answer, the
    status change's, held until after the priority change was answered, loses to it."""
    hot = pd.fake.add_incident("Checkout down")  # type: ignore[attr-defined]
    assert "Checkout down" in text_of(await pd.bot.run(f"link #{hot['incident_number']}", channel=HOT))
    await pd.bot.run("info", channel=HOT)  # the priorities read once, before the answer is held
    await pd.bot.settled()
    release = asyncio.Event()

    def status_change(seen: Seen) -> asyncio.Event | None:
        changes = seen.body.get("incident") if isinstance(seen.body, dict) else None
        return release if seen.method == "PUT" and "status" in (changes or {}) else None

    pd.fake.hold_answer = status_change
    try:
        await acked(pd, "status acknowledged", HOT)
        await wait_until(lambda: len(pd.fake.held) == 1, what="the status change made, its answer held")
        assert hot["status"] == "acknowledged"
        await acked(pd, "sev P1", HOT)
        await wait_until(
            lambda: any("P1" in text_of(c.params) for c in pd.bot.slack.answers()),
            what="the priority change answered while the status change's answer is held",
        )
        assert len(pd.fake.held) == 1
    finally:
        release.set()
    await pd.bot.settled(60)
    assert (hot["status"], hot["priority"]["name"]) == ("acknowledged", "P1")
    drawn = [c for c in pd.bot.slack.of("chat.update") if c.params.get("channel") == HOT]
    assert drawn, "the card was redrawn"
    last = text_of(drawn[-1].params)
    assert "*Status*\\nacknowledged" in last and "*Severity*\\nP1" in last, last
    shown = text_of(await pd.bot.run("info", channel=HOT))
    assert "*Status*\\nacknowledged" in shown and "*Severity*\\nP1" in shown, shown


async def test_a_burst_of_updates_is_at_the_provider_all_at_once(
    fake_slack: FakeSlack, sqlite_url: str
) -> None:
    """A burst of appends, more than a small connection pool holds: every one is at the
    provider at once, one connection each, none waiting for another's answer. With the pool
    capped below the work slots (it was 100), a big incident's burst of updates queued for
    connections, each batch behind the last one's provider time."""
    burst, slots = 120, 150
    async with provider_bot(
        "incidentio",
        fake_slack,
        sqlite_url,
        incident_work_slots=slots,
        incident_command_timeout=300,
        provider_timeout=300,
    ) as io:
        hot = await linked(io, "Checkout down", HOT)
        io.fake.gate = asyncio.Event()
        try:
            for n in range(burst):
                await acked(io, f"update Still looking, note {n}", HOT)
            await wait_until(lambda: len(io.fake.gated) == burst, what=f"all {burst} updates at the provider")
        finally:
            io.fake.gate.set()
        await io.bot.settled(60)
        made = io.fake.of("POST", "/v2/incident_updates")
        assert {s.body["incident_id"] for s in made} == {hot["id"]}
        said = sorted(s.body["message"] for s in made)
        assert said == sorted(f"Still looking, note {n}" for n in range(burst))
