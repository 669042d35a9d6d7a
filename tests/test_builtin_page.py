"""The built-in provider's page, end to end through signed Slack requests: the rotation's
on-call person gets a DM (conversations.open, then chat.postMessage to the D… channel) with
an Acknowledge button; the click stops the page, tells the channel and redraws the DM; no
answer pages them again after INCIDENT_PAGE_TIMEOUT, then the next person of the rotation.

The clock is the runtime's one, handed in fixed and moved by the test; `Pipeline.tick`
fires what is due, as the running bot does every INCIDENT_TIMER_TICK seconds. What the
people and the channel see is read at the fake Slack."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select, update

from bot.clock import FixedClock
from bot.domain import Person
from bot.slack.server import PIPELINE, RUNTIME
from bot.store import tables
from tests.blockkit import block_problems
from tests.conftest import RunningBot, make_settings, running_bot
from tests.helpers import click_element, text_of, wait_until
from tests.slackfake import Call, FakeSlack

START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)  # a Monday, on the hour
BEA_DM, CY_DM = "D222", "D333"  # the fake Slack's DM channel of U222, of U333


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(START)


@pytest.fixture
async def bot(fake_slack: FakeSlack, sqlite_url: str, clock: FixedClock) -> AsyncIterator[RunningBot]:
    async with running_bot(fake_slack, make_settings(fake_slack, sqlite_url), clock) as running:
        yield running


@pytest.fixture
async def any_bot(fake_slack: FakeSlack, database_url: str, clock: FixedClock) -> AsyncIterator[RunningBot]:
    """On SQLite and on PostgreSQL, where the store keeps nothing in memory."""
    async with running_bot(fake_slack, make_settings(fake_slack, database_url), clock) as running:
        yield running


async def tick(bot: RunningBot) -> int:
    fired = await bot.app[PIPELINE].tick()
    await bot.settled()
    return fired


async def with_rotation(bot: RunningBot) -> str:
    """A rotation with bea on call now and cy next, and an incident: its channel."""
    await bot.run("schedule primary <@U222|bea> <@U333|cy> every 1w", channel="C111")
    _, channel = await bot.declare("Checkout down sev:SEV2")
    return channel


def posted(slack: FakeSlack, channel: str, marker: str = "") -> list[Call]:
    return [
        c
        for c in slack.of("chat.postMessage")
        if c.params.get("channel") == channel and marker in text_of(c.params)
    ]


def redrawn(slack: FakeSlack, channel: str, marker: str) -> list[Call]:
    return [
        c
        for c in slack.of("chat.update")
        if c.params.get("channel") == channel and marker in text_of(c.params)
    ]


def button(call: Call, label: str) -> dict:
    for block in call.params.get("blocks", []):
        for element in block.get("elements", []):
            if element.get("type") == "button" and element["text"]["text"] == label:
                return element
    raise AssertionError(f"no {label} button in {text_of(call.params)}")


def card_context(call: Call) -> str:
    return " ".join(
        e.get("text", "") for b in call.params["blocks"] if b["type"] == "context" for e in b["elements"]
    )


async def test_a_rotation_page_dms_its_on_call_person_with_an_acknowledge_button(bot: RunningBot) -> None:
    channel = await with_rotation(bot)
    answer = text_of(await bot.run("page primary the checkout pods are crash-looping", channel=channel))
    assert "paged <@U222>" in answer and "on call for primary" in answer
    assert "paged again, then the next person of primary" in answer
    await bot.settled()
    [opened] = bot.slack.of("conversations.open")
    assert opened.params["users"] == "U222"
    [dm] = posted(bot.slack, BEA_DM)
    said = text_of(dm.params)
    assert "You are paged" in said and "INC-1: Checkout down" in said and "SEV2" in said
    assert f"<#{channel}>" in said and "crash-looping" in said and "<@U111>" in said
    assert button(dm, "Acknowledge")["action_id"] == "verb.answer"
    assert ["U222"] in [str(c.params["users"]).split(",") for c in bot.slack.of("conversations.invite")]
    assert posted(bot.slack, CY_DM) == []  # the next person is not paged yet


async def test_the_acknowledge_click_stops_the_page_tells_the_channel_and_redraws_the_dm(
    any_bot: RunningBot, clock: FixedClock
) -> None:
    bot = any_bot
    channel = await with_rotation(bot)
    await bot.run("page primary", channel=channel)
    await bot.settled()
    [dm] = posted(bot.slack, BEA_DM)
    clock.advance(minutes=2)
    await click_element(bot, button(dm, "Acknowledge"), user="U222", channel=BEA_DM)
    await wait_until(lambda: posted(bot.slack, channel, "acknowledged the page"), what="the channel told")
    [told] = posted(bot.slack, channel, "acknowledged the page")
    assert "<@U222> acknowledged the page for INC-1" in text_of(told.params)
    assert "answered after 2m" in text_of(told.params)
    await wait_until(lambda: redrawn(bot.slack, BEA_DM, "Acknowledged"), what="the DM redrawn")
    [ack_dm] = redrawn(bot.slack, BEA_DM, "Acknowledged")
    assert ack_dm.params["ts"] == dm.response["ts"]
    assert "verb.answer" not in text_of(ack_dm.params)  # no button left to click

    clock.advance(minutes=30)  # long past the time-out: nobody is paged again
    await tick(bot)
    assert len(posted(bot.slack, BEA_DM)) == 1 and posted(bot.slack, CY_DM) == []

    # A second click (the same button later) changes nothing and says so.
    await click_element(bot, button(dm, "Acknowledge"), user="U222", channel=BEA_DM)
    assert len(posted(bot.slack, channel, "acknowledged the page")) == 1
    assert "acknowledged already" in text_of(bot.slack.answers()[-1].params)


async def test_someone_else_cannot_acknowledge_a_page_that_was_not_theirs(bot: RunningBot) -> None:
    channel = await with_rotation(bot)
    await bot.run("page primary", channel=channel)
    await bot.settled()
    [dm] = posted(bot.slack, BEA_DM)
    await click_element(bot, button(dm, "Acknowledge"), user="U111", channel=BEA_DM)
    assert "not sent to you" in text_of(bot.slack.answers()[-1].params)
    assert posted(bot.slack, channel, "acknowledged the page") == []


async def test_no_answer_pages_again_then_the_next_person_of_the_rotation(
    bot: RunningBot, clock: FixedClock
) -> None:
    channel = await with_rotation(bot)
    await bot.run("page primary", channel=channel)
    await bot.settled()
    clock.advance(minutes=4)
    await tick(bot)
    assert len(posted(bot.slack, BEA_DM)) == 1  # not yet: the time-out is 5 minutes

    clock.advance(minutes=1)
    assert await tick(bot) == 1
    [_, again] = posted(bot.slack, BEA_DM)
    assert "Paged again" in text_of(again.params) and button(again, "Acknowledge")
    [said] = posted(bot.slack, channel, "hasn't acknowledged")
    assert "<@U222> hasn't acknowledged the page for INC-1 in 5m: paged again" in text_of(said.params)
    assert posted(bot.slack, CY_DM) == []

    clock.advance(minutes=5)
    assert await tick(bot) == 1
    [to_cy] = posted(bot.slack, CY_DM)
    assert "You are paged" in text_of(to_cy.params)
    assert ["U333"] in [str(c.params["users"]).split(",") for c in bot.slack.of("conversations.invite")]
    [moved] = posted(bot.slack, channel, "didn't acknowledge")
    assert "paging <@U333>, next in primary," in text_of(moved.params)
    assert redrawn(bot.slack, BEA_DM, "next person on call was paged")  # bea's DMs say so
    assert len(posted(bot.slack, BEA_DM)) == 2  # bea is not paged a third time
    await wait_until(
        lambda: redrawn(bot.slack, channel, "<@U333> (primary) paged 09:10 UTC"), what="the card naming cy"
    )

    # cy acknowledges the page that reached them: it stops there.
    await click_element(bot, button(to_cy, "Acknowledge"), user="U333", channel=CY_DM)
    await wait_until(lambda: posted(bot.slack, channel, "<@U333> acknowledged"), what="cy's answer told")
    clock.advance(minutes=30)
    await tick(bot)
    assert len(posted(bot.slack, CY_DM)) == 1


async def test_a_page_nobody_answers_ends_with_the_channel_told(bot: RunningBot, clock: FixedClock) -> None:
    channel = await with_rotation(bot)
    await bot.run("page primary", channel=channel)
    await bot.settled()
    for _ in range(4):  # bea, bea again, cy, cy again
        clock.advance(minutes=5)
        await tick(bot)
    assert len(posted(bot.slack, BEA_DM)) == 2 and len(posted(bot.slack, CY_DM)) == 2
    clock.advance(minutes=5)
    await tick(bot)
    [over] = posted(bot.slack, channel, "Nobody acknowledged")
    assert "nobody else to page in primary" in text_of(over.params)
    clock.advance(minutes=30)
    await tick(bot)
    assert len(posted(bot.slack, BEA_DM)) == 2 and len(posted(bot.slack, CY_DM)) == 2


async def test_a_pending_re_page_survives_a_restart(
    fake_slack: FakeSlack, database_url: str, clock: FixedClock
) -> None:
    """On SQLite and PostgreSQL: the re-page is a row of the store, not a task of the process."""
    settings = make_settings(fake_slack, database_url)
    async with running_bot(fake_slack, settings, clock) as first:
        channel = await with_rotation(first)
        await first.run("page primary", channel=channel)
        await first.settled()
    assert len(posted(fake_slack, BEA_DM)) == 1
    clock.advance(minutes=5)
    async with running_bot(fake_slack, settings, clock) as second:
        await tick(second)  # the new process's own ticker may have fired it first: once either way
        await wait_until(lambda: len(posted(fake_slack, BEA_DM)) == 2, what="bea paged again")
        assert "Paged again" in text_of(posted(fake_slack, BEA_DM)[-1].params)
        assert len(posted(fake_slack, channel, "hasn't acknowledged")) == 1


async def test_paging_the_same_target_twice_within_minutes_pages_once_and_says_so(
    bot: RunningBot, clock: FixedClock
) -> None:
    channel = await with_rotation(bot)
    await bot.run("page primary", channel=channel)
    await bot.settled()
    clock.advance(minutes=1)
    again = text_of(await bot.run("page primary", channel=channel, user="U333"))
    assert "not paged again" in again
    await bot.settled()
    assert len(posted(bot.slack, BEA_DM)) == 1 and len(bot.slack.of("conversations.open")) == 1


async def test_a_person_named_is_paged_by_dm_and_only_paged_again(bot: RunningBot, clock: FixedClock) -> None:
    channel = await with_rotation(bot)
    answer = text_of(await bot.run("page <@U333|cy>", channel=channel))
    assert "paged <@U333> by DM" in answer and "next person" not in answer
    await bot.settled()
    assert len(posted(bot.slack, CY_DM)) == 1
    for _ in range(3):
        clock.advance(minutes=5)
        await tick(bot)
    assert len(posted(bot.slack, CY_DM)) == 2 and posted(bot.slack, BEA_DM) == []
    assert posted(bot.slack, channel, "Nobody acknowledged")


async def test_a_name_that_is_no_rotation_lists_the_rotations_and_pages_nobody(bot: RunningBot) -> None:
    channel = await with_rotation(bot)
    answer = text_of(await bot.run("page storage", channel=channel))
    assert "“storage” is not a" in answer and "`primary`" in answer
    await bot.settled()
    assert bot.slack.of("conversations.open") == []


async def test_the_card_shows_the_open_page_and_then_its_acknowledgement(
    bot: RunningBot, clock: FixedClock
) -> None:
    channel = await with_rotation(bot)
    await bot.run("page primary", channel=channel)
    await bot.settled()
    await wait_until(lambda: redrawn(bot.slack, channel, "📟 Paged"), what="the card redrawn with the page")
    card = redrawn(bot.slack, channel, "📟 Paged")[-1]
    assert "<@U222> (primary) paged 09:00 UTC, not acknowledged yet" in card_context(card)
    clock.advance(minutes=3)
    [dm] = posted(bot.slack, BEA_DM)
    await click_element(bot, button(dm, "Acknowledge"), user="U222", channel=BEA_DM)
    await wait_until(
        lambda: redrawn(bot.slack, channel, "acknowledged 09:03 UTC"), what="the card shows the answer"
    )
    card = redrawn(bot.slack, channel, "acknowledged 09:03 UTC")[-1]
    assert "not acknowledged yet" not in card_context(card)


async def test_the_card_shows_three_pages_at_most_and_counts_the_rest(bot: RunningBot) -> None:
    channel = await with_rotation(bot)
    for user in ("U222|bea", "U333|cy", "U444|dan", "U555|eve"):
        await bot.run(f"page <@{user}>", channel=channel)
        await bot.settled()
    await wait_until(
        lambda: redrawn(bot.slack, channel, "and 1 more"), what="the card counting the fourth page"
    )
    card = redrawn(bot.slack, channel, "and 1 more")[-1]
    line = card_context(card)
    assert line.count("not acknowledged yet") == 3 and "<@U555>" in line and "<@U222>" not in line
    assert block_problems(card.params["blocks"]) == []


# escalate: the next person now ---------------------------------------------------------------
async def test_escalate_pages_the_next_person_of_the_rotation_now_and_skips_the_re_page(
    any_bot: RunningBot, clock: FixedClock
) -> None:
    bot = any_bot
    channel = await with_rotation(bot)
    await bot.run("page primary", channel=channel)
    await bot.settled()
    [to_bea] = posted(bot.slack, BEA_DM)
    clock.advance(minutes=1)
    answer = text_of(await bot.run("escalate", channel=channel))
    assert "<@U111> escalated the page for INC-1: paging <@U333> (level 2 of primary) now" in answer
    assert "instead of <@U222>" in answer
    await bot.settled()
    [to_cy] = posted(bot.slack, CY_DM)
    assert "You are paged" in text_of(to_cy.params) and button(to_cy, "Acknowledge")
    assert ["U333"] in [str(c.params["users"]).split(",") for c in bot.slack.of("conversations.invite")]
    [moved] = redrawn(bot.slack, BEA_DM, "<@U111> escalated the page: <@U333> is paged now")  # bea's DM
    assert moved.params["ts"] == to_bea.response["ts"]
    await wait_until(
        lambda: redrawn(bot.slack, channel, "<@U333> (primary) paged 09:01 UTC"), what="the card naming cy"
    )

    # bea's second ring (due 09:05) was the step skipped: it never comes; cy's comes at 09:06.
    clock.advance(minutes=4)
    assert await tick(bot) == 0
    assert len(posted(bot.slack, BEA_DM)) == 1 and len(posted(bot.slack, CY_DM)) == 1
    clock.advance(minutes=1)
    assert await tick(bot) == 1
    [_, again] = posted(bot.slack, CY_DM)
    assert "Paged again" in text_of(again.params)
    assert len(posted(bot.slack, BEA_DM)) == 1


async def test_escalate_with_everyone_tried_says_so_and_pages_nobody(bot: RunningBot) -> None:
    channel = await with_rotation(bot)
    await bot.run("page primary", channel=channel)
    await bot.settled()
    await bot.run("escalate", channel=channel)
    await bot.settled()
    answer = text_of(await bot.run("escalate", channel=channel))
    assert "Everyone in primary was paged for INC-1 already (@bea, @cy): nobody else to escalate to" in answer
    assert "Nothing was changed" in answer
    await bot.settled()
    assert len(posted(bot.slack, BEA_DM)) == 1 and len(posted(bot.slack, CY_DM)) == 1


async def test_escalate_to_a_level_is_that_place_in_the_rotation_or_a_clear_no(bot: RunningBot) -> None:
    channel = await with_rotation(bot)
    await bot.run("page primary", channel=channel)
    await bot.settled()
    too_far = text_of(await bot.run("escalate 3", channel=channel))
    assert "primary has 2 people in its order: there is no level 3" in too_far
    now = text_of(await bot.run("escalate 1", channel=channel))
    assert "@bea (level 1 of primary) is being paged for INC-1 now" in now
    bad = text_of(await bot.run("escalate soon", channel=channel))
    assert "is not a level" in bad
    await bot.settled()
    assert posted(bot.slack, CY_DM) == []  # none of those paged anyone
    answer = text_of(await bot.run("escalate 2", channel=channel))
    assert "paging <@U333> (level 2 of primary) now" in answer
    await bot.settled()
    assert len(posted(bot.slack, CY_DM)) == 1


async def test_escalate_a_page_to_a_person_by_name_says_nobody_is_next(bot: RunningBot) -> None:
    channel = await with_rotation(bot)
    await bot.run("page <@U333|cy>", channel=channel)
    await bot.settled()
    answer = text_of(await bot.run("escalate", channel=channel))
    assert "went to @cy by name, not through a rotation: nobody is next in line" in answer
    await bot.settled()
    assert posted(bot.slack, BEA_DM) == [] and len(posted(bot.slack, CY_DM)) == 1


# a page's request run again after a restart ---------------------------------------------------
async def left_unanswered(bot: RunningBot, key: str) -> None:
    """What a process stopped before its answer leaves: the request's row pending, owned by
    a process that is gone (the page made, or not, as it was)."""
    values = {"state": "pending", "owner": "dead-process", "lease_until": START - timedelta(hours=1)}
    await bot.app[RUNTIME].store.write(
        lambda conn: conn.execute(update(tables.inbox).where(tables.inbox.c.key == key).values(**values))
    )


async def answered(bot: RunningBot, key: str) -> bool:
    inbox = bot.app[PIPELINE].inbox
    assert inbox is not None
    return {r["key"]: r["state"] for r in await inbox.rows()}.get(key) == "done"


async def page_rows(bot: RunningBot) -> list:
    return await bot.app[RUNTIME].store.read(lambda conn: list(conn.execute(select(tables.pages)).all()))


async def test_a_page_replayed_after_a_restart_records_and_dms_nobody_twice(
    fake_slack: FakeSlack, database_url: str, clock: FixedClock
) -> None:
    """The bot stopped after the page went out and before its request was answered: the
    next start runs the request again; it finds the page its request made, and the DM is
    redrawn in place, not sent again."""
    settings = make_settings(fake_slack, database_url)
    async with running_bot(fake_slack, settings, clock) as first:
        channel = await with_rotation(first)
        await first.run("page primary", channel=channel, trigger="page.1")
        await first.settled()
        await left_unanswered(first, "command:T111:page.1")
    [dm] = posted(fake_slack, BEA_DM)
    async with running_bot(fake_slack, settings, clock) as second:
        await second.app[PIPELINE].recover(all_pending=True)
        await wait_until(lambda: answered(second, "command:T111:page.1"), what="the replay answered")
        await second.settled()
        assert len(posted(fake_slack, channel, "paged <@U222>")) == 1  # its answer found, not said again
        assert len(posted(fake_slack, BEA_DM)) == 1 and len(fake_slack.of("conversations.open")) == 1
        assert [c.params["ts"] for c in fake_slack.of("chat.update") if c.params["channel"] == BEA_DM] == [
            dm.response["ts"]
        ]
        assert len(await page_rows(second)) == 1
        # The re-page goes on as it was: bea once more at 09:05, not twice.
        clock.advance(minutes=5)
        await tick(second)
        assert len(posted(fake_slack, BEA_DM)) == 2


async def test_a_page_whose_dm_never_went_out_before_a_restart_dms_once_on_replay(
    fake_slack: FakeSlack, sqlite_url: str, clock: FixedClock
) -> None:
    """The page recorded, its DM not sent (the process stopped first: here, Slack refusing
    it): the replay sends that DM, once, under the page made, and records no second page."""
    settings = make_settings(fake_slack, sqlite_url)
    async with running_bot(fake_slack, settings, clock) as first:
        channel = await with_rotation(first)
        fake_slack.errors["conversations.open"] = "fatal_error"
        await first.run("page primary", channel=channel, trigger="page.2")
        await first.settled()
        del fake_slack.errors["conversations.open"]
        await left_unanswered(first, "command:T111:page.2")
    assert posted(fake_slack, BEA_DM) == []
    async with running_bot(fake_slack, settings, clock) as second:
        await second.app[PIPELINE].recover(all_pending=True)
        await wait_until(lambda: answered(second, "command:T111:page.2"), what="the replay answered")
        await second.settled()
        assert len(posted(fake_slack, BEA_DM)) == 1
        assert len(await page_rows(second)) == 1


# a user group paged -----------------------------------------------------------------------------
async def test_a_user_group_paged_is_named_whole_in_the_channel_lines(
    bot: RunningBot, clock: FixedClock
) -> None:
    members = [f"U{n}00" for n in range(1, 8)]  # seven people: five named, "and 2 more"
    bot.slack.groups["S0SRE"] = members
    bot.slack.handles["S0SRE"] = "sre"
    channel = await with_rotation(bot)
    await bot.run("page <!subteam^S0SRE|@sre>", channel=channel)
    await bot.settled()
    clock.advance(minutes=5)
    await tick(bot)
    [again] = posted(bot.slack, channel, "acknowledged the page for INC-1 in 5m")
    said = text_of(again.params)
    assert all(f"<@{u}>" in said for u in members[:5]) and "and 2 more haven't acknowledged" in said
    assert "<@U600>" not in said
    clock.advance(minutes=5)
    await tick(bot)
    [over] = posted(bot.slack, channel, "Nobody acknowledged")
    said = text_of(over.params)
    assert all(f"<@{u}>" in said for u in members[:5]) and "and 2 more were paged twice" in said


# escalate, the edges ------------------------------------------------------------------------------
DEE_DM = "D444"  # the fake Slack's DM channel of U444


async def test_escalate_replayed_after_a_restart_pages_nobody_more(
    fake_slack: FakeSlack, database_url: str, clock: FixedClock
) -> None:
    """Nothing at the built-in provider marks an escalation made: run again after a restart,
    it says what is known, and the third person of the rotation is not paged."""
    settings = make_settings(fake_slack, database_url)
    async with running_bot(fake_slack, settings, clock) as first:
        await first.run("schedule primary <@U222|bea> <@U333|cy> <@U444|dee> every 1w", channel="C111")
        _, channel = await first.declare("Checkout down sev:SEV2")
        await first.run("page primary", channel=channel)
        await first.run("escalate", channel=channel, trigger="esc.1")
        await first.settled()
        await left_unanswered(first, "command:T111:esc.1")
    assert len(posted(fake_slack, CY_DM)) == 1
    async with running_bot(fake_slack, settings, clock) as second:
        await second.app[PIPELINE].recover(all_pending=True)
        await wait_until(lambda: answered(second, "command:T111:esc.1"), what="the replay answered")
        await second.settled()
        assert posted(fake_slack, DEE_DM) == [] and len(posted(fake_slack, CY_DM)) == 1
        [page] = await page_rows(second)
        assert page.person_id == "U333" and page.tried == ["U222", "U333"]


async def test_escalate_on_a_resolved_incident_pages_nobody(bot: RunningBot) -> None:
    channel = await with_rotation(bot)
    await bot.run("page primary", channel=channel)
    await bot.run("resolve rolled back", channel=channel)
    await bot.settled()
    said = text_of(await bot.run("escalate", channel=channel))
    assert "INC-1 is resolved: nobody more is paged for it" in said and "Nothing was changed" in said
    await bot.settled()
    assert posted(bot.slack, CY_DM) == []


async def test_two_pages_through_one_rotation_never_both_move_to_one_person(
    bot: RunningBot, clock: FixedClock
) -> None:
    channel = await with_rotation(bot)
    await bot.run("schedule backup <@U333|cy> <@U444|dee> every 1w", channel="C111")
    await bot.run("page primary", channel=channel)  # bea, then cy
    await bot.run("page backup", channel=channel)  # cy now
    await bot.settled()
    assert len(posted(bot.slack, CY_DM)) == 1
    said = text_of(await bot.run("escalate", channel=channel))
    # backup's page moves on to dee; primary's would go to cy, who is paged already.
    assert "paging <@U444> (level 2 of backup) now" in said
    assert "@cy is being paged for INC-1 already, by another page: the page through primary stays" in said
    await bot.settled()
    assert len(posted(bot.slack, CY_DM)) == 1 and len(posted(bot.slack, DEE_DM)) == 1
    pages = {r.target: r.person_id for r in await page_rows(bot)}
    assert pages == {"primary": "U222", "backup": "U444"}


async def test_a_page_moved_since_it_was_read_is_not_moved_again(bot: RunningBot) -> None:
    """The re-page and `escalate` read a page, then change it: the second to change it,
    reading it as it was, changes nothing (the store compares its ring and its person)."""
    channel = await with_rotation(bot)
    await bot.run("page primary", channel=channel)
    await bot.settled()
    pages = bot.app[RUNTIME].store.pages
    [read] = [p for p in await pages.of_incident("builtin", "1")]
    cy = Person(slack_id="U333", name="cy")
    moved = await pages.rang(read.id, cy, 1, ["U222", "U333"], moved=True, was=read)
    assert moved is not None and moved.person == cy
    again = await pages.rang(read.id, read.person or cy, 2, read.tried, was=read)  # as read before
    assert again is None
    [now] = await pages.of_incident("builtin", "1")
    assert (now.person, now.rings, now.tried) == (cy, 1, ["U222", "U333"])


async def test_paged_twice_one_acknowledgement_answers_both_pages(bot: RunningBot, clock: FixedClock) -> None:
    """bea paged through the rotation and by name for one incident: her one click is the
    answer to both, or the other would page her again, then cy."""
    channel = await with_rotation(bot)
    await bot.run("page primary", channel=channel)
    await bot.run("page <@U222|bea>", channel=channel)
    await bot.settled()
    first, _ = posted(bot.slack, BEA_DM)
    await click_element(bot, button(first, "Acknowledge"), user="U222", channel=BEA_DM)
    await wait_until(lambda: posted(bot.slack, channel, "acknowledged the page"), what="the channel told")
    await bot.settled()
    assert {r.state for r in await page_rows(bot)} == {"acknowledged"}
    assert len(posted(bot.slack, channel, "acknowledged the page")) == 1  # told once
    await wait_until(lambda: len(redrawn(bot.slack, BEA_DM, "Acknowledged")) == 2, what="both DMs redrawn")
    clock.advance(minutes=30)
    await tick(bot)
    assert len(posted(bot.slack, BEA_DM)) == 2 and posted(bot.slack, CY_DM) == []


async def test_page_on_a_resolved_incident_pages_nobody(bot: RunningBot) -> None:
    channel = await with_rotation(bot)
    await bot.run("resolve rolled back", channel=channel)
    await bot.settled()
    said = text_of(await bot.run("page <@U333|cy>", channel=channel))
    assert "INC-1 is resolved: nobody is paged for it" in said and "/incident reopen" in said
    await bot.settled()
    assert posted(bot.slack, CY_DM) == [] and await page_rows(bot) == []
    assert bot.slack.of("conversations.open") == []


async def test_a_page_for_another_incident_says_whose_channel_they_were_invited_to(bot: RunningBot) -> None:
    first = await with_rotation(bot)
    _, second = await bot.declare("Search slow")
    said = text_of(await bot.run("page <@U333|cy> INC-1", channel=second))
    assert "invited to INC-1's channel" in said and "invited to this channel" not in said, said
    await bot.settled()
    assert ["U333"] in [str(c.params["users"]).split(",") for c in bot.slack.of("conversations.invite")]
    invited_to = {
        c.params["channel"] for c in bot.slack.of("conversations.invite") if "U333" in c.params["users"]
    }
    assert invited_to == {first}
