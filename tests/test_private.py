"""A private incident (`declare private …`) is its channel's members' and the admins', through
signed requests: anyone else asking about it (`info`, `timeline`, `retro`), linking it to
another channel or listing the open incidents learns nothing of it and changes nothing."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import pytest

from bot.providers.builtin import tables as builtin_tables
from bot.slack.server import RUNTIME
from bot.store import tables
from tests.conftest import RunningBot, make_settings, provider_bot, running_bot
from tests.helpers import buttons_of, card_post, click_element, store_rows, text_of
from tests.slackfake import FakeSlack

ADMIN, LEAD, MEMBER, OUTSIDER = "UADMIN", "U111", "UMEM", "UOUT"
GENERAL = "CGENERAL"  # a public channel
SECRET_TEXT = "payroll-2026.csv"


@asynccontextmanager
async def private_incident(fake_slack: FakeSlack, url: str) -> AsyncIterator[tuple[RunningBot, str]]:
    """INC-1 declared private by LEAD, with an update; MEMBER invited to its channel."""
    settings = make_settings(fake_slack, url, incident_admins=[ADMIN])
    async with running_bot(fake_slack, settings) as bot:
        _, channel = await bot.declare("private Payroll export leaking sev1", user=LEAD)
        await bot.run(f"update leaked file is {SECRET_TEXT}", user=LEAD, channel=channel)
        fake_slack.members.setdefault(channel, set()).add(MEMBER)
        await bot.settled()
        yield bot, channel


def said_nothing_of_it(answer: dict) -> bool:
    text = text_of(answer)
    return "Payroll" not in text and SECRET_TEXT not in text


async def state(bot: RunningBot) -> tuple[object, ...]:
    """What a refused command must leave as it was: the incident at the provider (its row and
    its timeline), the store's links, and everything posted or pinned in Slack."""
    links = sorted((r["channel_id"], r["incident_id"]) for r in await store_rows(bot, tables.links))
    return (
        await store_rows(bot, builtin_tables.incidents),
        len(await store_rows(bot, builtin_tables.timeline)),
        links,
        len(bot.slack.of("chat.postMessage")),
        len(bot.slack.of("pins.add")),
        len(bot.slack.of("conversations.join")),
    )


async def test_info_timeline_and_retro_are_refused_to_those_outside_its_channel(
    fake_slack: FakeSlack, sqlite_url: str
) -> None:
    async with private_incident(fake_slack, sqlite_url) as (bot, _channel):
        before = await state(bot)
        for typed in ("info INC-1", "timeline INC-1", "retro INC-1", "status fixing INC-1"):
            answer = await bot.run(typed, user=OUTSIDER, channel=GENERAL)
            await bot.settled()
            assert "INC-1 is private" in text_of(answer), (typed, text_of(answer))
            assert "invite you" in text_of(answer)
            assert said_nothing_of_it(answer), (typed, text_of(answer))
        assert await state(bot) == before  # nothing posted, pinned, linked or written
        rows = await bot.app[RUNTIME].store.audit.rows()
        assert sum(r["outcome"] == "refused" for r in rows) == 4
        for who in (MEMBER, ADMIN):  # its channel's member, and an admin, by reference from #general
            shown = await bot.run("info INC-1", user=who, channel=GENERAL)
            assert "Payroll export leaking" in text_of(shown) and SECRET_TEXT in text_of(shown), who
            told = await bot.run("timeline INC-1", user=who, channel=GENERAL)
            assert SECRET_TEXT in text_of(told), who


async def test_link_to_a_public_channel_is_refused_to_those_outside_its_channel(
    fake_slack: FakeSlack, database_url: str
) -> None:
    async with private_incident(fake_slack, database_url) as (bot, channel):
        before = await state(bot)
        answer = await bot.run("link INC-1", user=OUTSIDER, channel=GENERAL)
        await bot.settled()
        assert "INC-1 is private" in text_of(answer) and said_nothing_of_it(answer), text_of(answer)
        assert "/incident link INC-1` in this channel" in text_of(answer)  # how to, on purpose
        assert await state(bot) == before  # no card in #general, no pin, the links unchanged
        assert not [c for c in bot.slack.of("chat.postMessage") if c.params["channel"] == GENERAL]
        links = await bot.app[RUNTIME].service.store.links.channels_for("builtin", "1")
        assert [link.channel_id for link in links] == [channel]
        # #general is no channel of the incident: the outsider is no responder there either.
        again = await bot.run("status resolved", user=OUTSIDER, channel=GENERAL)
        await bot.settled()
        assert "isn't linked" in text_of(again), text_of(again)
        incident = await bot.app[RUNTIME].service.providers["builtin"].get_incident("1")
        assert incident.status != "resolved"
        # One of its members links it there on purpose: the card is posted and pinned.
        await bot.run("link INC-1", user=MEMBER, channel=GENERAL)
        await bot.settled()
        assert SECRET_TEXT in text_of(card_post(bot.slack, GENERAL).params)
        links = await bot.app[RUNTIME].service.store.links.channels_for("builtin", "1")
        assert {link.channel_id for link in links} == {channel, GENERAL}


async def test_list_leaves_a_private_incident_out_for_those_outside_its_channel(
    fake_slack: FakeSlack, sqlite_url: str
) -> None:
    async with private_incident(fake_slack, sqlite_url) as (bot, _channel):
        await bot.declare("Checkout down", user=LEAD)
        await bot.settled()
        listed = await bot.run("list", user=OUTSIDER, channel=GENERAL)
        assert "Checkout down" in text_of(listed) and said_nothing_of_it(listed), text_of(listed)
        assert "1 open incident" in text_of(listed)
        assert "Not in this list: 1 private incident" in text_of(listed)
        for who in (MEMBER, ADMIN):
            listed = await bot.run("list", user=who, channel=GENERAL)
            assert "Payroll export leaking" in text_of(listed) and "2 open incidents" in text_of(listed)
            assert "private incident" not in text_of(listed)


async def test_a_button_of_its_card_clicked_outside_its_channel_is_refused(
    fake_slack: FakeSlack, sqlite_url: str
) -> None:
    async with private_incident(fake_slack, sqlite_url) as (bot, channel):
        buttons = buttons_of(card_post(bot.slack, channel).params)
        before, answered = await state(bot), len(bot.slack.answers())
        await click_element(bot, buttons["verb.resolve"], user=OUTSIDER, channel=GENERAL)
        [told] = bot.slack.answers()[answered:]
        assert "INC-1 is private" in text_of(told.params) and said_nothing_of_it(told.params)
        # A modal's button: the modal opened at once (Slack's trigger lasts 3 s) says only that.
        await click_element(bot, buttons["verb.status"], user=OUTSIDER, channel=GENERAL)
        modal = bot.slack.of("views.update")[-1].params["view"]
        assert "INC-1 is private" in json.dumps(modal) and "Payroll" not in json.dumps(modal)
        assert await state(bot) == before
        await click_element(bot, buttons["verb.resolve"], user=MEMBER, channel=GENERAL)
        incident = await bot.app[RUNTIME].service.providers["builtin"].get_incident("1")
        assert incident.status == "resolved"  # its member may, from anywhere


async def test_a_duplicate_of_a_private_incident_is_refused_to_those_outside_its_channel(
    fake_slack: FakeSlack, sqlite_url: str
) -> None:
    """Marked its duplicate, a public incident's channel would follow the private one: its
    card, its updates and its verbs. Refused to an outsider, and nothing moves."""
    async with private_incident(fake_slack, sqlite_url) as (bot, _channel):
        _, public = await bot.declare("Checkout down", user=OUTSIDER)
        await bot.settled()
        before = await state(bot)
        for _ in range(2):  # asked once, typed again: refused both times, never done
            answer = await bot.run("duplicate INC-1", user=OUTSIDER, channel=public)
            assert "INC-1 is private" in text_of(answer) and said_nothing_of_it(answer), text_of(answer)
        await bot.settled()
        assert await state(bot) == before


@pytest.mark.parametrize("provider", ["incidentio", "pagerduty"])
async def test_a_private_incident_named_by_its_number_at_a_provider_is_refused_to_outsiders(
    fake_slack: FakeSlack, sqlite_url: str, provider: str
) -> None:
    """At incident.io and PagerDuty the number typed (`INC-1`, `PAGERDUTY:1`) is not the id
    the incident is kept under: it is refused all the same."""
    async with provider_bot(provider, fake_slack, sqlite_url) as pb:
        _, channel = await pb.bot.declare("private Payroll export leaking", user=LEAD)
        await pb.bot.run(f"update leaked file is {SECRET_TEXT}", user=LEAD, channel=channel)
        await pb.bot.settled()
        named = "INC-1" if provider == "incidentio" else "PAGERDUTY:1"
        for typed in (f"info {named}", f"timeline {named}"):
            answer = await pb.bot.run(typed, user=OUTSIDER, channel=GENERAL)
            assert "is private" in text_of(answer) and said_nothing_of_it(answer), (typed, text_of(answer))
        shown = await pb.bot.run(f"info {named}", user=LEAD, channel=GENERAL)  # its lead, a member
        assert "Payroll export leaking" in text_of(shown)
