"""Commands that may not be what was meant are asked before they are done, through signed
Slack requests at the built-in provider: a second declare of the same title by the same
person minutes later, and `link` in a channel linked to another incident. Each question
changes nothing (the store's rows are read back), and its button does it on purpose."""

from __future__ import annotations

import json

from bot.providers.builtin import tables as builtin_tables
from bot.slack.server import RUNTIME
from bot.store import tables
from tests.conftest import RunningBot, make_settings, running_bot
from tests.helpers import buttons_of, click_element, store_rows, text_of
from tests.slackfake import FakeSlack


async def incidents(bot: RunningBot) -> list[str]:
    return [r["name"] for r in await store_rows(bot, builtin_tables.incidents)]


async def links(bot: RunningBot) -> dict[str, str]:
    return {r["channel_id"]: r["reference"] for r in await store_rows(bot, tables.links)}


# duplicate declares ---------------------------------------------------------------------
async def test_the_same_title_declared_again_is_asked_once_with_a_link_to_the_first(bot: RunningBot) -> None:
    _, first_channel = await bot.declare("Checkout is failing")
    created = len(bot.slack.of("conversations.create"))
    asked = await bot.run("declare checkout is failing!")
    said = text_of(asked)
    assert "You declared" in said and "INC-1: Checkout is failing" in said
    assert f"<#{first_channel}" in said and "Is this the same incident? Nothing was declared yet." in said
    assert asked["response_type"] == "ephemeral"
    assert await incidents(bot) == ["Checkout is failing"]
    assert len(bot.slack.of("conversations.create")) == created
    button = buttons_of(asked)["verb.declare"]
    assert json.loads(button["value"])["t"] == "checkout is failing!"
    # Asked once: typed again, it is declared.
    again, _ = await bot.declare("checkout is failing!")
    assert "INC-2" in text_of(again)
    await bot.settled()
    assert await incidents(bot) == ["Checkout is failing", "checkout is failing!"]
    outcomes = [(r["verb"], r["outcome"]) for r in await bot.app[RUNTIME].store.audit.rows()]
    assert outcomes == [("declare", "ok"), ("declare", "asked"), ("declare", "ok")]


async def test_the_questions_button_declares_it_anyway(bot: RunningBot) -> None:
    await bot.declare("Search is slow")
    asked = await bot.run("declare Search is slow sev:2")
    assert "Is this the same incident?" in text_of(asked)
    assert len(await incidents(bot)) == 1
    before = len(bot.slack.of("conversations.create"))
    await click_element(bot, buttons_of(asked)["verb.declare"], user="U111", channel="C111")
    assert await incidents(bot) == ["Search is slow", "Search is slow"]
    assert len(bot.slack.of("conversations.create")) == before + 1
    severities = [r["severity"] for r in await store_rows(bot, builtin_tables.incidents)]
    assert severities[1] is not None  # the button declared what was typed, options and all


async def test_another_title_or_another_person_is_declared_without_a_question(bot: RunningBot) -> None:
    await bot.declare("Checkout is failing")
    assert "INC-2" in text_of((await bot.declare("Checkout is slow"))[0])
    assert "INC-3" in text_of((await bot.declare("Checkout is failing", user="U222"))[0])
    await bot.settled()
    assert len(await incidents(bot)) == 3


async def test_a_declare_refused_for_its_severity_leaves_the_corrected_one_unasked(bot: RunningBot) -> None:
    """`sev:9` refused, then typed right: nothing was declared, so nothing is asked about."""
    refused = text_of(await bot.run("declare Checkout down sev:9"))
    assert "past the end of the severities" in refused
    assert await incidents(bot) == []
    declared = text_of(await bot.run("declare Checkout down sev1"))
    assert "Is this the same incident" not in declared and "already" not in declared, declared
    assert await incidents(bot) == ["Checkout down"]


async def test_a_resolved_first_incident_is_not_asked_about(bot: RunningBot) -> None:
    _, channel = await bot.declare("Checkout is failing")
    await bot.run("resolve", channel=channel)
    assert "INC-2" in text_of((await bot.declare("Checkout is failing"))[0])
    await bot.settled()
    assert len(await incidents(bot)) == 2


# re-linking a linked channel ------------------------------------------------------------
async def test_link_in_a_linked_channel_asks_says_what_becomes_of_the_first_and_changes_nothing(
    bot: RunningBot,
) -> None:
    _, first = await bot.declare("Checkout is failing")
    _, second = await bot.declare("Search is slow")
    await bot.settled()
    pins = len(bot.slack.of("pins.add"))
    asked = await bot.run("link INC-2", channel=first)
    said = text_of(asked)
    assert "This channel is linked to *INC-1*. Move it to *INC-2*? Nothing was changed yet." in said
    assert (
        "If you move it, INC-1 itself stays as it is" in said
        and "INC-1 would be left with no channel" in said
    )
    assert "/incident unlink" in said and asked["response_type"] == "ephemeral"
    assert await links(bot) == {first: "INC-1", second: "INC-2"}
    assert len(bot.slack.of("pins.add")) == pins
    button = buttons_of(asked)["verb.link"]
    assert button["confirm"] and json.loads(button["value"])["r"] == "INC-2"

    await click_element(bot, button, user="U111", channel=first)
    assert await links(bot) == {first: "INC-2", second: "INC-2"}
    assert len(bot.slack.of("pins.add")) == pins + 1  # INC-2's card pinned in its place


async def test_relinking_says_which_channels_the_first_keeps(bot: RunningBot) -> None:
    _, first = await bot.declare("Checkout is failing")
    await bot.declare("Search is slow")
    await bot.run("link INC-1", channel="CWAR")  # a second channel follows INC-1
    said = text_of(await bot.run("link INC-2", channel=first))
    assert "INC-1 would keep its other channel: <#CWAR" in said
    assert (await links(bot))[first] == "INC-1"


async def test_link_again_to_the_same_incident_or_after_unlink_is_not_asked(bot: RunningBot) -> None:
    _, first = await bot.declare("Checkout is failing")
    await bot.declare("Search is slow")
    assert "linked this channel to the incident" in text_of(await bot.run("link INC-1", channel=first))
    assert "unlinked" in text_of(await bot.run("unlink", channel=first))
    assert "linked this channel to the incident" in text_of(await bot.run("link INC-2", channel=first))
    assert (await links(bot))[first] == "INC-2"


async def test_with_admins_a_member_is_refused_and_an_admin_is_asked(
    fake_slack: FakeSlack, sqlite_url: str
) -> None:
    settings = make_settings(fake_slack, sqlite_url, incident_admins=["UADMIN"])
    async with running_bot(fake_slack, settings) as bot:
        _, first = await bot.declare("Checkout is failing")
        await bot.declare("Search is slow")
        refused = text_of(await bot.run("link INC-2", user="UMEMBER", channel=first))
        assert "Only" in refused and "Nothing changed: this channel stays with INC-1." in refused
        asked = await bot.run("link INC-2", user="UADMIN", channel=first)
        assert "Move it to *INC-2*?" in text_of(asked)
        assert (await links(bot))[first] == "INC-1"
        await click_element(bot, buttons_of(asked)["verb.link"], user="UMEMBER", channel=first)
        assert (await links(bot))[first] == "INC-1"  # the button is checked as the command is
        await click_element(bot, buttons_of(asked)["verb.link"], user="UADMIN", channel=first)
        assert (await links(bot))[first] == "INC-2"


async def test_the_same_declare_sent_twice_at_once_makes_one_incident_and_one_question(
    bot: RunningBot,
) -> None:
    """Two declares a moment apart run side by side: the second may find the first still
    being made, with no channel yet. Asked all the same, never a second incident."""
    before = len(bot.slack.answers())
    for _ in range(2):
        response, _ = await bot.command("declare Payments are failing")
        assert response.status == 200
    await bot.settled()
    await bot.slack.wait_for(before + 3)  # the first's answer and card, the second's question
    assert await incidents(bot) == ["Payments are failing"]
    said = [text_of(a.params) for a in bot.slack.answers()[before:]]
    assert sum("Is this the same incident?" in s for s in said) == 1, said
    assert len(bot.slack.of("conversations.create")) == 1
