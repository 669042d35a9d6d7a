"""The bot's own notices, on a clock the test moves: update reminders, follow-up nudges,
on-call handovers and the announcement line. Commands and clicks go in signed; what the
channel sees is read at the fake Slack. The clock is the runtime's one (bot/clock.py),
handed in fixed: the incident's dates, the parser's "tomorrow" and what is due all follow
it, whenever the test runs. `Pipeline.tick` is what the running bot calls every
INCIDENT_TIMER_TICK seconds."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest

from bot.clock import FixedClock
from bot.slack.server import PIPELINE, RUNTIME
from tests.conftest import RunningBot, make_settings, running_bot
from tests.helpers import click_element, text_of
from tests.slackfake import Call, FakeSlack

START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)  # a Monday, on the hour


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(START)


@pytest.fixture
async def bot(fake_slack: FakeSlack, sqlite_url: str, clock: FixedClock) -> AsyncIterator[RunningBot]:
    """conftest's `bot`, on the fixed clock."""
    async with running_bot(fake_slack, make_settings(fake_slack, sqlite_url), clock) as running:
        yield running


async def tick(bot: RunningBot) -> int:
    fired = await bot.app[PIPELINE].tick()
    await bot.settled()
    return fired


def posts_in(slack: FakeSlack, channel: str, marker: str) -> list[Call]:
    return [
        c
        for c in slack.of("chat.postMessage")
        if c.params.get("channel") == channel and marker in text_of(c.params)
    ]


def button(call: Call, label: str) -> dict:
    for block in call.params["blocks"]:
        for element in block.get("elements", []):
            if element.get("type") == "button" and element["text"]["text"] == label:
                return element
    raise AssertionError(f"no {label} button in {text_of(call.params)}")


async def test_update_reminder_fires_once_stops_for_snooze_and_update_and_ends_at_resolve(
    bot: RunningBot,
    clock: FixedClock,
) -> None:
    _, channel = await bot.declare("Checkout down sev:SEV1")
    assert await tick(bot) == 0  # nothing is due yet
    clock.advance(minutes=29)
    await tick(bot)
    assert posts_in(bot.slack, channel, "No update") == []

    clock.advance(minutes=2)  # 31 min without an update, at SEV1 (30 min)
    assert await tick(bot) == 1
    [reminder] = posts_in(bot.slack, channel, "No update")
    assert "for 31m" in text_of(reminder.params) and "SEV1" in text_of(reminder.params)
    clock.advance(minutes=1)
    await tick(bot)  # once: the next only after another quiet 30 min
    assert len(posts_in(bot.slack, channel, "No update")) == 1

    await click_element(bot, button(reminder, "Snooze 1 hour"), user="U111", channel=channel)
    said = [a for a in bot.slack.answers() if "snoozed update reminders" in text_of(a.params)]
    assert len(said) == 1
    clock.advance(minutes=59)  # past the 30 min, inside the hour's snooze
    await tick(bot)
    assert len(posts_in(bot.slack, channel, "No update")) == 1
    clock.advance(minutes=2)
    await tick(bot)
    assert len(posts_in(bot.slack, channel, "No update")) == 2  # the snooze is over

    await bot.run("update Rolled back, watching errors", channel=channel)
    clock.advance(minutes=29)
    await tick(bot)
    assert len(posts_in(bot.slack, channel, "No update")) == 2  # an update restarts the wait

    await bot.run("resolve", channel=channel)
    clock.advance(hours=5)
    await tick(bot)
    assert len(posts_in(bot.slack, channel, "No update")) == 2
    timers = await bot.app[RUNTIME].service.timers.store.all()
    assert [t.key for t in timers if t.kind == "remind"] == []


async def test_no_reminders_below_the_configured_severities(bot: RunningBot, clock: FixedClock) -> None:
    _, channel = await bot.declare("Slow search sev:SEV3")
    clock.advance(hours=6)
    await tick(bot)
    assert posts_in(bot.slack, channel, "No update") == []
    await bot.run("sev 2", channel=channel)  # SEV2: 60 min
    clock.advance(minutes=61)
    await tick(bot)
    assert len(posts_in(bot.slack, channel, "No update")) == 1


async def test_followup_nudge_dms_its_owner_daily_until_snoozed_or_done(
    bot: RunningBot, clock: FixedClock
) -> None:
    _, channel = await bot.declare("Disk full sev:SEV3")
    await bot.run("followup Add a disk alert <@U222|bea> due:tomorrow", channel=channel)
    await tick(bot)
    assert posts_in(bot.slack, "U222", "Follow-up #1") == []  # not due yet

    clock.advance(days=2)
    assert await tick(bot) == 1
    [nudge] = posts_in(bot.slack, "U222", "Follow-up #1")
    assert "Add a disk alert" in text_of(nudge.params)
    await tick(bot)
    assert len(posts_in(bot.slack, "U222", "Follow-up #1")) == 1  # once a day
    clock.advance(days=1, minutes=1)
    await tick(bot)
    assert len(posts_in(bot.slack, "U222", "Follow-up #1")) == 2

    # Bea is not in the channel, but owns the follow-up: her DM's buttons work for her.
    await click_element(bot, button(nudge, "Snooze a week"), user="U222", channel="D222")
    clock.advance(days=6)
    await tick(bot)
    assert len(posts_in(bot.slack, "U222", "Follow-up #1")) == 2
    await click_element(bot, button(nudge, "Done"), user="U222", channel="D222")
    done = [
        a
        for a in bot.slack.answers()
        if "#1" in text_of(a.params) and "Add a disk alert" in text_of(a.params)
    ]
    assert done, "the Done click was answered"
    clock.advance(days=9)
    await tick(bot)
    assert len(posts_in(bot.slack, "U222", "Follow-up #1")) == 2
    followups = await bot.run("followups", channel=channel)
    assert "done" in text_of(followups).lower() or "[closed]" in text_of(followups).lower()


async def test_snoozing_a_follow_up_that_does_not_exist_says_so(bot: RunningBot) -> None:
    _, channel = await bot.declare("Disk full sev:SEV3")
    await bot.run("followup Add a disk alert <@U222|bea> due:tomorrow", channel=channel)
    said = text_of(await bot.run("snooze #99", channel=channel))
    assert "INC-1 has no follow-up #99: `/incident followups` lists them" in said
    kept = text_of(await bot.run("snooze #1", channel=channel))
    assert "no follow-up" not in kept


async def test_handover_is_posted_in_the_schedules_channel_when_on_call_changes(
    bot: RunningBot, clock: FixedClock
) -> None:
    saved = await bot.run("schedule primary <@U111|ana> <@U222|bea> every 1h", channel="C111")
    assert "primary" in text_of(saved)
    # The rotation is anchored on the clock's hour when it was saved: the clock moves on
    # to 10 minutes into the first shift.
    [primary] = await bot.app[RUNTIME].service.default_provider.schedules()
    assert primary.start is not None
    clock.set(primary.start + timedelta(minutes=10))
    answer = await bot.run("schedule primary channel:<#C0SRE|sre>", channel="C111")
    assert "will be posted in" in text_of(answer)
    clock.advance(seconds=5)
    await tick(bot)  # learns who is on now (ana): nothing to say yet
    assert posts_in(bot.slack, "C0SRE", "On call for") == []
    clock.advance(minutes=61)
    await tick(bot)
    [handover] = posts_in(bot.slack, "C0SRE", "On call for")
    assert "<@U222>" in text_of(handover.params) and "taking over from" in text_of(handover.params)
    await tick(bot)
    assert len(posts_in(bot.slack, "C0SRE", "On call for")) == 1
    await bot.run("schedule primary channel:off", channel="C111")
    clock.advance(minutes=61)
    await tick(bot)
    assert len(posts_in(bot.slack, "C0SRE", "On call for")) == 1


async def test_schedule_channel_refuses_what_is_not_a_channel(bot: RunningBot) -> None:
    await bot.run("schedule primary <@U111|ana> every 1w", channel="C111")
    answer = await bot.run("schedule primary channel:sre-team", channel="C111")
    assert "is not a channel" in text_of(answer)
    assert await bot.app[RUNTIME].service.timers.store.all() == []


async def test_announcement_line_is_posted_once_and_redrawn_as_the_incident_resolves(
    fake_slack: FakeSlack, sqlite_url: str
) -> None:
    settings = make_settings(fake_slack, sqlite_url, incident_announce_channel="C0ANN")
    async with running_bot(fake_slack, settings) as bot:
        _, channel = await bot.declare("Payments failing sev:SEV3")
        await bot.settled()
        [line] = [c for c in fake_slack.of("chat.postMessage") if c.params["channel"] == "C0ANN"]
        assert "🚨" in text_of(line.params) and "SEV3" in text_of(line.params)
        await bot.run("sev 1", channel=channel)
        await bot.run("resolve", channel=channel)
        await bot.settled()
        assert len([c for c in fake_slack.of("chat.postMessage") if c.params["channel"] == "C0ANN"]) == 1
        updates = [c for c in fake_slack.of("chat.update") if c.params["channel"] == "C0ANN"]
        assert [u.params["ts"] for u in updates] == [updates[0].params["ts"]] * 2
        assert "SEV1" in text_of(updates[0].params)
        assert "✅" in text_of(updates[-1].params) and "resolved" in text_of(updates[-1].params)


async def test_a_private_incident_is_never_in_the_announcement_channel(
    fake_slack: FakeSlack, sqlite_url: str
) -> None:
    settings = make_settings(fake_slack, sqlite_url, incident_announce_channel="C0ANN")
    async with running_bot(fake_slack, settings) as bot:
        _, channel = await bot.declare("private Payroll export leaking sev 1")
        await bot.run("sev 2", channel=channel)
        await bot.run("resolve", channel=channel)
        await bot.declare("Checkout down sev 1")  # a public one still is
        await bot.settled()
        announced = [c for c in fake_slack.calls if c.params.get("channel") == "C0ANN"]
        assert len(announced) == 1 and "Checkout down" in text_of(announced[0].params)
        assert all("Payroll" not in text_of(c.params) for c in announced)


async def test_a_notice_escapes_provider_text(bot: RunningBot, clock: FixedClock) -> None:
    _, channel = await bot.declare("<!channel> & <b>down</b> sev:SEV1")
    clock.advance(minutes=31)
    await tick(bot)
    [reminder] = posts_in(bot.slack, channel, "No update")
    rendered = json.dumps(reminder.params["blocks"])
    assert "<!channel>" not in rendered and "</b>" not in rendered and "&lt;/b&gt;" in rendered


async def test_a_nudge_for_a_follow_up_due_last_year_shows_the_year(
    bot: RunningBot, clock: FixedClock
) -> None:
    _, channel = await bot.declare("Certificate expiring sev:SEV3")
    await bot.run("followup Renew the certificate <@U222|bea> due:2026-12-30", channel=channel)
    clock.set(datetime(2027, 1, 4, 9, 0, tzinfo=UTC))  # into the next year
    assert await tick(bot) == 1
    [nudge] = posts_in(bot.slack, "U222", "Follow-up #1")
    assert "was due Wed 30 Dec 2026" in text_of(nudge.params)


async def test_a_handover_until_months_away_shows_the_year(bot: RunningBot, clock: FixedClock) -> None:
    await bot.run("schedule primary <@U111|ana> <@U222|bea> every 30w", channel="C111")
    [primary] = await bot.app[RUNTIME].service.default_provider.schedules()
    assert primary.start is not None
    clock.set(primary.start + timedelta(minutes=10))
    await bot.run("schedule primary channel:<#C0SRE|sre>", channel="C111")
    clock.advance(seconds=5)
    await tick(bot)  # learns who is on now (ana)
    clock.set(primary.start + timedelta(weeks=30, minutes=1))
    await tick(bot)
    [handover] = posts_in(bot.slack, "C0SRE", "On call for")
    until = primary.start + timedelta(weeks=60)  # bea's shift ends 30 weeks on: another year
    assert f"until {until:%a %d %b %Y %H:%M}" in text_of(handover.params)
