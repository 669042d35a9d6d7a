"""A reference inside free text is text; another incident is named only where the grammar
puts one, and acting on it is said loudly (and asked first where it is hard to undo).

Signed slash commands and clicks to the running app; the state checked in the built-in
provider's own tables afterwards, not only in the answer's words."""

from __future__ import annotations

import json
from typing import Any

from bot.providers.builtin import tables as builtin_tables
from bot.store import tables
from tests.conftest import RunningBot, provider_bot
from tests.helpers import store_rows, text_of
from tests.slackfake import FakeSlack, block_actions


async def two_incidents(bot: RunningBot) -> tuple[str, str]:
    """INC-1 and INC-2, each with its own channel; returns (channel of INC-1, of INC-2)."""
    _, first = await bot.declare("Checkout failing")
    _, second = await bot.declare("Search slow")
    await bot.settled()
    return first, second


async def incident_rows(bot: RunningBot) -> dict[int, dict[str, Any]]:
    return {row["number"]: row for row in await store_rows(bot, builtin_tables.incidents)}


async def timeline_of(bot: RunningBot, number: int) -> list[str]:
    rows = await store_rows(bot, builtin_tables.timeline)
    return [row["text"] for row in rows if row["incident"] == number]


async def test_a_reference_at_the_end_of_a_note_is_text(bot: RunningBot) -> None:
    first, _ = await two_incidents(bot)
    answer = await bot.run("resolve duplicate of INC-2", channel=first)
    await bot.settled()
    rows = await incident_rows(bot)
    assert rows[1]["status"] == "resolved", text_of(answer)  # this channel's incident
    assert rows[2]["status"] != "resolved"  # the one named in the note is untouched
    assert any("duplicate of INC-2" in text for text in await timeline_of(bot, 1))
    assert not any("duplicate of" in text for text in await timeline_of(bot, 2))


async def test_updates_and_followups_mentioning_an_incident_stay_in_this_one(bot: RunningBot) -> None:
    first, _ = await two_incidents(bot)
    await bot.run("update this looks like a repeat of INC-2", channel=first)
    await bot.run("followup Add regression test for the bug seen in INC-2", channel=first)
    await bot.settled()
    assert any("repeat of INC-2" in text for text in await timeline_of(bot, 1))
    assert not any("repeat of" in text for text in await timeline_of(bot, 2))
    followups = await store_rows(bot, builtin_tables.followups)
    assert [(f["incident"], f["title"]) for f in followups] == [
        (1, "Add regression test for the bug seen in INC-2")
    ]


async def test_naming_another_incident_on_purpose_acts_on_it_and_says_so(bot: RunningBot) -> None:
    first, second = await two_incidents(bot)
    answer = await bot.run("update incident:INC-2 rollback done", channel=first)
    await bot.settled()
    said = text_of(answer)
    assert "This acted on INC-2" in said and "not on this channel's incident INC-1" in said
    assert said.index("This acted on INC-2") < said.index("rollback done")  # said first
    assert any("rollback done" in text for text in await timeline_of(bot, 2))
    assert not any("rollback done" in text for text in await timeline_of(bot, 1))
    # the other incident's own channel hears who did it, from where
    told = [c for c in bot.slack.of("chat.postMessage") if c.params["channel"] == second]
    assert any("ran" in text_of(c.params) and first in text_of(c.params) for c in told)


async def test_resolving_another_incident_by_reference_asks_first(bot: RunningBot) -> None:
    first, second = await two_incidents(bot)
    asked = await bot.run("resolve INC-2 fixed by rollback", channel=first)
    await bot.settled()
    rows = await incident_rows(bot)
    assert rows[2]["status"] != "resolved", text_of(asked)  # nothing was done yet
    assert rows[1]["status"] != "resolved"  # nor to this channel's incident
    assert "Nothing was done yet" in text_of(asked) and asked.get("response_type") == "ephemeral"
    buttons = [e for b in asked.get("blocks", []) if b["type"] == "actions" for e in b["elements"]]
    [button] = buttons
    assert button["action_id"] == "verb.resolve" and "confirm" in button
    assert json.loads(button["value"])["r"] == "INC-2"
    assert json.loads(button["value"])["t"] == "fixed by rollback"  # the note goes with it

    before = len(bot.slack.answers())
    payload = block_actions(
        button, user="U111", channel=first, message_ts="1.1", response_url=bot.slack.response_url("ask")
    )
    assert (await bot.interact(payload))[0] == 200
    await bot.settled()
    rows = await incident_rows(bot)
    assert rows[2]["status"] == "resolved" and rows[1]["status"] != "resolved"
    [done] = [
        a for a in bot.slack.answers()[before:] if a.method == "response_url" or a.params["channel"] == first
    ]
    assert "This acted on INC-2" in text_of(done.params)
    told = [a for a in bot.slack.answers()[before:] if a.params.get("channel") == second]
    assert any("/incident resolve fixed by rollback" in text_of(a.params) for a in told)
    assert any("fixed by rollback" in text for text in await timeline_of(bot, 2))


async def test_reopening_another_incident_by_reference_asks_first(bot: RunningBot) -> None:
    """Reopened by mistake an incident pages its on-call again: from another incident's
    channel it is asked, as resolve is, and nothing changes before the button."""
    first, second = await two_incidents(bot)
    await bot.run("resolve", channel=second)
    await bot.settled()
    asked = await bot.run("reopen INC-2", channel=first)
    await bot.settled()
    assert "Nothing was done yet" in text_of(asked)
    assert (await incident_rows(bot))[2]["status"] == "resolved"
    [button] = [e for b in asked.get("blocks", []) if b["type"] == "actions" for e in b["elements"]]
    assert button["action_id"] == "verb.reopen"


async def test_status_by_reference_asks_and_keeps_the_words(bot: RunningBot) -> None:
    first, _ = await two_incidents(bot)
    asked = await bot.run("status monitoring INC-2", channel=first)
    assert (await incident_rows(bot))[2]["status"] != "monitoring"
    [button] = [e for b in asked.get("blocks", []) if b["type"] == "actions" for e in b["elements"]]
    assert json.loads(button["value"]).get("t") == "monitoring"
    payload = block_actions(
        button, user="U111", channel=first, message_ts="1.2", response_url=bot.slack.response_url("ask")
    )
    assert (await bot.interact(payload))[0] == 200
    await bot.settled()
    assert (await incident_rows(bot))[2]["status"] == "monitoring"


async def test_a_reference_from_an_unlinked_channel_needs_no_question(bot: RunningBot) -> None:
    await two_incidents(bot)
    answer = await bot.run("resolve INC-2", channel="CNOTLINKED")
    await bot.settled()
    assert (await incident_rows(bot))[2]["status"] == "resolved", text_of(answer)


async def test_a_reference_after_free_text_in_an_unlinked_channel_is_told_where_it_goes(
    bot: RunningBot,
) -> None:
    """`update rollback started INC-1` from a channel with no incident: the reference is
    text there, so the answer says the same words with the reference where it names one."""
    await two_incidents(bot)
    before = await timeline_of(bot, 1)
    cases = {
        "update rollback started INC-1": "/incident update INC-1 rollback started",
        "status fixing bad deploy INC-1": "/incident status fixing INC-1 bad deploy",
        "followup check the alerts INC-1": "/incident followup INC-1 check the alerts",
    }
    for typed, retyped in cases.items():
        said = text_of(await bot.run(typed, channel="CNOTLINKED"))
        assert f"Name the incident before them: `{retyped}`" in said, said
    await bot.settled()
    assert await timeline_of(bot, 1) == before and await store_rows(bot, builtin_tables.followups) == []
    # Typed as the answer says, it is done there.
    await bot.run("update INC-1 rollback started", channel="CNOTLINKED")
    await bot.settled()
    assert any("rollback started" in text for text in await timeline_of(bot, 1))


async def test_two_incidents_named_at_once_are_refused(bot: RunningBot) -> None:
    first, _ = await two_incidents(bot)
    answer = await bot.run("resolve incident:INC-1 incident:INC-2 done", channel=first)
    await bot.settled()
    assert "Name one incident" in text_of(answer)
    assert all(row["status"] != "resolved" for row in (await incident_rows(bot)).values())


async def test_a_reference_with_arguments_missing_opens_no_form_for_the_channels_incident(
    bot: RunningBot,
) -> None:
    first, _ = await two_incidents(bot)
    opened = len(bot.slack.of("views.open"))
    response, _ = await bot.command("update incident:INC-2", channel=first, trigger="1.2.form")
    assert response.status == 200
    await bot.settled()
    assert len(bot.slack.of("views.open")) == opened  # a form would act on INC-1
    [answer] = bot.slack.answers()[-1:]
    assert "Type it in full" in text_of(answer.params)


async def test_the_question_carries_the_words_as_typed(bot: RunningBot) -> None:
    first, _ = await two_incidents(bot)
    asked = await bot.run('resolve INC-2 "incident:INC-1" was the cause', channel=first)
    [button] = [e for b in asked.get("blocks", []) if b["type"] == "actions" for e in b["elements"]]
    value = json.loads(button["value"])
    assert value["r"] == "INC-2" and value["t"] == '"incident:INC-1" was the cause'
    payload = block_actions(
        button, user="U111", channel=first, message_ts="1.3", response_url=bot.slack.response_url("ask")
    )
    assert (await bot.interact(payload))[0] == 200
    await bot.settled()
    rows = await incident_rows(bot)
    assert rows[2]["status"] == "resolved" and rows[1]["status"] != "resolved"
    assert any("was the cause" in text and "incident:INC-1" in text for text in await timeline_of(bot, 2))


async def test_the_channels_own_incident_named_by_its_number_is_not_another(
    fake_slack: FakeSlack, sqlite_url: str
) -> None:
    """incident.io: the link holds the incident's own id (a ULID), a typed INC-12 its number:
    the same incident, asked nothing and told nothing of another."""
    async with provider_bot("incidentio", fake_slack, sqlite_url) as pb:
        incident = pb.fake.add_incident("Checkout down", channel="CIO1")  # type: ignore[attr-defined]
        await pb.bot.run(f"link {incident['reference']}", channel="CIO1")
        fake_slack.members.setdefault("CIO1", set()).add("U111")  # a responder, in the channel
        answer = await pb.bot.run(f"resolve {incident['reference']} rolled back", channel="CIO1")
        await pb.bot.settled()
        said = text_of(answer)
        assert "Nothing was done yet" not in said and "This acted on" not in said, said
        assert pb.fake.writes(), said


async def test_link_by_the_number_the_built_in_card_shows(bot: RunningBot) -> None:
    await two_incidents(bot)
    for typed, channel in (("#2", "C0NUM1"), ("2", "C0NUM2")):
        answer = await bot.run(f"link {typed}", channel=channel)
        assert "linked this channel" in text_of(answer), text_of(answer)
    links = {row["channel_id"]: row["reference"] for row in await store_rows(bot, tables.links)}
    assert links["C0NUM1"] == links["C0NUM2"] == "INC-2"


async def test_link_by_number_at_firehydrant_says_to_link_its_url(
    fake_slack: FakeSlack, sqlite_url: str
) -> None:
    """FireHydrant's card shows `#7`, but its API finds incidents by id only: refused, saying how."""
    async with provider_bot("firehydrant", fake_slack, sqlite_url) as pb:
        answer = text_of(await pb.bot.run("link #7", channel="C0FH7"))
        assert "can't find an incident by its number" in answer and "URL" in answer, answer
        assert not [row for row in await store_rows(pb.bot, tables.links) if row["channel_id"] == "C0FH7"]


async def test_the_channels_own_pagerduty_incident_named_by_its_number_is_this_one(
    fake_slack: FakeSlack, sqlite_url: str
) -> None:
    """`pd:1` in #1's own channel: the link knows it as PINC…, the number is the same
    incident; the change is made, not refused as another incident's or asked about."""
    async with provider_bot("pagerduty", fake_slack, sqlite_url) as pb:
        incident = pb.fake.add_incident("Checkout down")  # type: ignore[attr-defined]
        await pb.bot.run("link pd:1", channel="C0PD1")
        await pb.bot.settled()
        said = text_of(await pb.bot.run("status acknowledged pd:1", channel="C0PD1"))
        assert "Only the incident's responders" not in said and "not this channel's" not in said, said
        assert "Nothing was done yet" not in said, said
        await pb.bot.settled()
        puts = [s.body["incident"] for s in pb.fake.of("PUT", f"/incidents/{incident['id']}")]
        assert [p.get("status") for p in puts] == ["acknowledged"]
