"""The incident channel kept tidy, through Slack's front door: its topic follows the
incident (set only when its words change, after a command or a provider's webhook), its
bookmarks hold the incident's page and its call (`call <link>`, edited in place when it
changes), and it is archived a while after resolution (INCIDENT_ARCHIVE_AFTER), with a
word the day before, and unarchived, where Slack lets the bot, when the incident reopens.

Slack's side is read at the fake Slack (topics, bookmarks and archived channels as Slack
keeps them); each provider's fake checks every request against the provider's spec. The
archive runs on a fixed clock the test moves (bot/clock.py), `Pipeline.tick` being what
the running bot calls every INCIDENT_TIMER_TICK seconds."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from bot.clock import FixedClock
from bot.config import ConfigError, load_settings
from bot.slack.server import PIPELINE
from tests.conftest import RunningBot, make_settings, provider_bot, running_bot
from tests.helpers import (
    HOOKS_CHANNEL,
    IO_SECRET,
    deliver,
    io_headers,
    linked,
    set_status,
    status_event,
    text_of,
)
from tests.slackfake import FakeSlack

START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)  # a Monday, on the hour
ELSEWHERE = "C111"  # the channel commands come from unless told: not the incident's


def topic_calls(slack: FakeSlack, channel: str) -> list[str]:
    """Each topic the bot asked Slack to set in `channel`, none refused."""
    calls = [c for c in slack.of("conversations.setTopic") if c.params["channel"] == channel]
    assert [c.error for c in calls if c.error] == []
    return [c.params["topic"] for c in calls]


def marks(slack: FakeSlack, channel: str) -> list[tuple[str, str]]:
    """The channel's bookmarks as Slack shows them: (title, link)."""
    return sorted((m["title"], m["link"]) for m in slack.bookmarks.get(channel, {}).values())


def said_in(slack: FakeSlack, channel: str, words: str) -> list[str]:
    found = [text_of(c.params) for c in slack.of("chat.postMessage") if c.params.get("channel") == channel]
    return [text for text in found if words in text]


def reference_in(answer: dict) -> str:
    found = re.search(r"INC-\d+", text_of(answer))
    assert found, text_of(answer)
    return found[0]


# the topic ----------------------------------------------------------------------------------
async def test_the_topic_follows_the_incident_and_is_set_only_when_its_words_change(bot: RunningBot) -> None:
    _, channel = await bot.declare("Checkout is failing")
    await bot.settled()
    # Whoever declares leads until someone else does.
    assert topic_calls(bot.slack, channel) == ["Triage · no severity · Lead: @u111"]

    await bot.run("status investigating", channel=channel)
    await bot.settled()
    assert topic_calls(bot.slack, channel)[-1] == "Investigating · no severity · Lead: @u111"

    await bot.run("lead <@U222|bea>", channel=channel)
    await bot.run("sev 2", channel=channel)
    await bot.settled()
    assert bot.slack.topics[channel] == "Investigating · SEV2 · Lead: @bea"
    set_so_far = len(topic_calls(bot.slack, channel))

    # An update redraws the card but leaves the topic's words as they were; the same status
    # again changes nothing at all.
    redraws = len(bot.slack.of("chat.update"))
    await bot.run("update Rollback done, error rate falling", channel=channel)
    await bot.run("status investigating", channel=channel)
    await bot.settled()
    assert len(bot.slack.of("chat.update")) > redraws
    assert len(topic_calls(bot.slack, channel)) == set_so_far

    await bot.run("resolve fixed by rollback", channel=channel)
    await bot.settled()
    assert topic_calls(bot.slack, channel)[-1] == "Resolved · SEV2 · Lead: @bea"
    assert len(topic_calls(bot.slack, channel)) == set_so_far + 1


async def test_a_topic_slack_refused_is_tried_again_at_the_next_change(bot: RunningBot) -> None:
    bot.slack.errors["conversations.setTopic"] = "restricted_action"
    answer, channel = await bot.declare("Search is slow")
    assert "Search is slow" in text_of(answer)  # the declare itself is answered as ever
    await bot.settled()
    assert channel not in bot.slack.topics
    bot.slack.errors.pop("conversations.setTopic")
    await bot.run("sev 3", channel=channel)
    await bot.settled()
    assert bot.slack.topics[channel] == "Triage · SEV3 · Lead: @u111"


async def test_the_topic_follows_a_change_made_at_incidentio(fake_slack: FakeSlack, sqlite_url: str) -> None:
    async with provider_bot("incidentio", fake_slack, sqlite_url, incidentio_webhook_secret=IO_SECRET) as io:
        incident = await linked(io)
        assert fake_slack.topics[HOOKS_CHANNEL].startswith("Investigating · ")
        set_status(io, incident, "Fixing", "2026-11-23T10:00:00Z")
        body = status_event(incident, "Fixing")
        assert await deliver(io, "incidentio", body, io_headers(body, msg_id="msg_topic_1")) == 200
        assert fake_slack.topics[HOOKS_CHANNEL].startswith("Fixing · ")
        assert len(topic_calls(fake_slack, HOOKS_CHANNEL)) == 2
        # The same state told again (a second event about it): the topic is not set again.
        body = status_event(incident, "Fixing")
        assert await deliver(io, "incidentio", body, io_headers(body, msg_id="msg_topic_2")) == 200
        assert len(topic_calls(fake_slack, HOOKS_CHANNEL)) == 2


# bookmarks and `call` -----------------------------------------------------------------------
async def test_call_bookmarks_the_link_and_a_second_call_edits_it(bot: RunningBot) -> None:
    _, channel = await bot.declare("Checkout is failing")
    answer = await bot.run("call <https://meet.example.com/abc-defg-hij>", channel=channel)
    await bot.settled()
    assert "set the call" in text_of(answer) and "meet.example.com/abc-defg-hij" in text_of(answer)
    assert marks(bot.slack, channel) == [("Join the call", "https://meet.example.com/abc-defg-hij")]

    await bot.run("call https://meet.example.com/new-room", channel=channel)
    await bot.settled()
    assert marks(bot.slack, channel) == [("Join the call", "https://meet.example.com/new-room")]
    assert len(bot.slack.of("bookmarks.add")) == 1 and len(bot.slack.of("bookmarks.edit")) == 1

    # The same link again: nothing to change at Slack.
    await bot.run("call https://meet.example.com/new-room", channel=channel)
    await bot.settled()
    assert len(bot.slack.of("bookmarks.add")) + len(bot.slack.of("bookmarks.edit")) == 2


async def test_call_refuses_what_is_not_a_link(bot: RunningBot) -> None:
    _, channel = await bot.declare("Checkout is failing")
    answer = text_of(await bot.run("call war-room", channel=channel))
    assert "`war-room` is not a link" in answer and "https://" in answer
    assert "Usage: `/incident call" in text_of(await bot.run("call the usual room", channel=channel))
    await bot.settled()
    assert bot.slack.of("bookmarks.add") == []


async def test_a_bookmark_removed_by_someone_is_added_again(bot: RunningBot) -> None:
    _, channel = await bot.declare("Checkout is failing")
    await bot.run("call https://meet.example.com/one", channel=channel)
    await bot.settled()
    bot.slack.bookmarks[channel].clear()  # someone removed it in Slack
    await bot.run("call https://meet.example.com/two", channel=channel)
    await bot.settled()
    assert marks(bot.slack, channel) == [("Join the call", "https://meet.example.com/two")]


async def test_incidentio_keeps_the_call_on_the_incident_and_its_page_is_bookmarked(
    fake_slack: FakeSlack, sqlite_url: str
) -> None:
    async with provider_bot("incidentio", fake_slack, sqlite_url, incidentio_webhook_secret=IO_SECRET) as io:
        incident = await linked(io)
        page = ("INC-1 at incident.io", incident["permalink"])
        assert marks(fake_slack, HOOKS_CHANNEL) == [page]
        answer = text_of(await io.bot.run("call https://zoom.us/j/123", channel=HOOKS_CHANNEL))
        await io.bot.settled()
        assert "Kept at incident.io too" in answer
        assert incident["call_url"] == "https://zoom.us/j/123"  # set through actions/edit
        edits = [s for s in io.fake.writes() if s.path.endswith("/actions/edit")]
        assert edits and edits[-1].body["incident"] == {"call_url": "https://zoom.us/j/123"}
        assert marks(fake_slack, HOOKS_CHANNEL) == sorted([page, ("Join the call", "https://zoom.us/j/123")])

        # Changed in incident.io itself (its UI), then told by a webhook: the bookmark follows.
        incident["call_url"] = "https://zoom.us/j/456"
        set_status(io, incident, "Fixing", _after(incident["updated_at"]))
        body = status_event(incident, "Fixing")
        assert await deliver(io, "incidentio", body, io_headers(body, msg_id="msg_call_1")) == 200
        assert marks(fake_slack, HOOKS_CHANNEL) == sorted([page, ("Join the call", "https://zoom.us/j/456")])
        assert len(fake_slack.of("bookmarks.add")) == 2  # the page and the call, each once


@pytest.mark.parametrize("name", ["pagerduty", "firehydrant"])
async def test_the_bot_keeps_the_call_where_the_provider_keeps_none(
    name: str, fake_slack: FakeSlack, sqlite_url: str
) -> None:
    channel = "C0TIDY"
    async with provider_bot(name, fake_slack, sqlite_url) as pb:
        fake: Any = pb.fake
        incident = fake.add_incident("Checkout is failing")
        ref = f"pd:{incident['incident_number']}" if name == "pagerduty" else f"fh:{incident['id']}"
        await pb.bot.run(f"link {ref}", channel=channel)
        await pb.bot.settled()
        assert fake_slack.topics[channel]  # set at the link
        # The incident's page at the provider, named as the card names the incident.
        page = (f"{_reference_of(fake_slack, channel)} at {_label(name)}", _page_of(incident, name))
        assert marks(fake_slack, channel) == [page]
        await pb.bot.run("call https://meet.example.com/war-room", channel=channel)
        await pb.bot.settled()
        assert ("Join the call", "https://meet.example.com/war-room") in marks(fake_slack, channel)
        # A later change redraws the card from the provider, which knows no call: the
        # bookmark stays as the bot keeps it.
        await pb.bot.run("ack", channel=channel)
        await pb.bot.settled()
        assert ("Join the call", "https://meet.example.com/war-room") in marks(fake_slack, channel)
        assert len(fake_slack.of("bookmarks.add")) == 2


def _after(stamp: str) -> str:
    """A moment after the incident's last change: a later change, as incident.io dates it."""
    return (datetime.fromisoformat(stamp) + timedelta(minutes=1)).isoformat().replace("+00:00", "Z")


def _page_of(incident: dict, name: str) -> str:
    return str(incident["html_url"] if name == "pagerduty" else incident.get("incident_url"))


def _label(name: str) -> str:
    return {"pagerduty": "PagerDuty", "firehydrant": "FireHydrant"}[name]


def _reference_of(slack: FakeSlack, channel: str) -> str:
    """The incident's reference, as the card in `channel` shows it (its header)."""
    card = next(c for c in slack.of("chat.postMessage") if c.params.get("channel") == channel)
    header = next(b for b in card.params["blocks"] if b["type"] == "header")
    return str(header["text"]["text"]).split(":")[0]


# archive ------------------------------------------------------------------------------------
@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(START)


@pytest.fixture
async def archiving(fake_slack: FakeSlack, sqlite_url: str, clock: FixedClock) -> AsyncIterator[RunningBot]:
    settings = make_settings(fake_slack, sqlite_url, incident_archive_after="7d")
    async with running_bot(fake_slack, settings, clock) as running:
        yield running


async def tick(bot: RunningBot) -> int:
    fired = await bot.app[PIPELINE].tick()
    await bot.settled()
    return fired


async def test_a_resolved_channel_is_warned_the_day_before_then_archived(
    archiving: RunningBot, clock: FixedClock
) -> None:
    bot = archiving
    _, channel = await bot.declare("Checkout is failing")
    await bot.run("resolve fixed by rollback", channel=channel)
    await bot.settled()

    clock.advance(days=5, hours=23)
    await tick(bot)
    assert said_in(bot.slack, channel, "will be archived") == []

    clock.advance(hours=1, minutes=1)  # six days after: the day before
    await tick(bot)
    [warning] = said_in(bot.slack, channel, "will be archived")
    assert "/incident reopen" in warning and "Mon 09 Mar 09:00 UTC" in warning
    assert bot.slack.of("conversations.archive") == []

    clock.advance(days=1)
    await tick(bot)
    assert channel in bot.slack.archived
    assert len(bot.slack.of("conversations.archive")) == 1
    await tick(bot)  # nothing more is due
    assert len(bot.slack.of("conversations.archive")) == 1


async def test_reopening_unarchives_or_says_where_slack_refuses(
    archiving: RunningBot, clock: FixedClock
) -> None:
    bot = archiving
    answer, channel = await bot.declare("Checkout is failing")
    reference = reference_in(answer)
    await bot.run("resolve", channel=channel)
    await bot.settled()
    clock.advance(days=7, minutes=1)
    await tick(bot)  # the warning: six days late, the archive a day from now at the least
    clock.advance(days=1, minutes=1)
    await tick(bot)
    assert channel in bot.slack.archived

    # As Slack does: archiving took the bot out, and a bot token cannot unarchive then.
    await bot.run(f"reopen {reference} errors are back", channel=ELSEWHERE)
    await bot.settled()
    [refused] = [c for c in bot.slack.of("conversations.unarchive") if c.params["channel"] == channel]
    assert refused.error == "not_in_channel"
    [told] = said_in(bot.slack, ELSEWHERE, "would not let the bot unarchive")
    assert "not_in_channel" in told and "Unarchive" in told

    # Still archived (someone may yet click Unarchive): resolved again, the bot archives it
    # again when due (Slack answers already_archived, which is as good), and this time
    # Slack lets the bot back in, as a workspace that allows it would.
    await bot.run(f"resolve {reference}", channel=ELSEWHERE)
    await bot.settled()
    clock.advance(days=8, minutes=2)
    await tick(bot)
    clock.advance(days=1)
    await tick(bot)
    assert [c.error for c in bot.slack.of("conversations.archive")] == [None, "already_archived"]
    bot.slack.members[channel].add("UBOT")
    await bot.run(f"reopen {reference}", channel=ELSEWHERE)
    await bot.settled()
    assert channel not in bot.slack.archived
    assert len(said_in(bot.slack, ELSEWHERE, "would not let the bot unarchive")) == 1


async def test_reopening_before_the_archive_cancels_it(archiving: RunningBot, clock: FixedClock) -> None:
    bot = archiving
    _, channel = await bot.declare("Checkout is failing")
    await bot.run("resolve", channel=channel)
    await bot.settled()
    clock.advance(days=6, minutes=1)
    await tick(bot)
    assert len(said_in(bot.slack, channel, "will be archived")) == 1
    await bot.run("reopen errors are back", channel=channel)
    await bot.settled()
    clock.advance(days=30)
    await tick(bot)
    assert bot.slack.of("conversations.archive") == []
    assert bot.slack.of("conversations.unarchive") == []  # never archived: nothing to undo


async def test_by_default_no_channel_is_archived(
    fake_slack: FakeSlack, sqlite_url: str, clock: FixedClock
) -> None:
    async with running_bot(fake_slack, make_settings(fake_slack, sqlite_url), clock) as bot:
        _, channel = await bot.declare("Checkout is failing")
        await bot.run("resolve", channel=channel)
        await bot.settled()
        clock.advance(days=60)
        await tick(bot)
        assert bot.slack.of("conversations.archive") == []
        assert said_in(bot.slack, channel, "will be archived") == []


def test_a_wrong_archive_setting_is_one_line_naming_it() -> None:
    with pytest.raises(ConfigError) as raised:
        load_settings(_env_file=None, incident_archive_after="a week")
    assert str(raised.value).startswith("INCIDENT_ARCHIVE_AFTER=a week: ")
    assert "7d" in str(raised.value)
    assert load_settings(_env_file=None, incident_archive_after="36h").archive_after() == timedelta(hours=36)
    assert load_settings(_env_file=None).archive_after() is None
