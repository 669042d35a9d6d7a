"""On-call you can inspect and undo, at the built-in provider: `overrides` lists upcoming
overrides numbered, `override cancel #n` removes one, an overlapping override says what it
overlaps and whom it replaces. Sent as signed slash commands; the state is read back from
the provider. (incident.io and PagerDuty: tests/test_incidentio.py, tests/test_pagerduty.py.)"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from bot.slack.server import RUNTIME
from tests.conftest import RunningBot, make_settings, running_bot
from tests.helpers import text_of
from tests.slackfake import FakeSlack


@pytest.fixture
async def admin_bot(fake_slack: FakeSlack, sqlite_url: str) -> AsyncIterator[RunningBot]:
    async with running_bot(
        fake_slack, make_settings(fake_slack, sqlite_url, incident_admins=["UADMIN"])
    ) as bot:
        yield bot


async def rotation(bot: RunningBot) -> None:
    said = await bot.run("schedule primary <@U111|ana> <@U222|bea> weekly")
    assert "primary" in text_of(said)


async def stored(bot: RunningBot) -> list[tuple[str, int]]:
    service = bot.app[RUNTIME].service
    found = await service.providers["builtin"].list_overrides(None, service.clock.now())
    return sorted((o.person.slack_id, int((o.end - o.start).total_seconds() // 3600)) for o in found)


async def test_overrides_are_listed_numbered_and_cancelled_by_number(bot: RunningBot) -> None:
    await rotation(bot)
    await bot.run("override primary me for 2h", user="U333")
    await bot.run("override primary me from tomorrow 9am to tomorrow 5pm", user="U444")
    listed = text_of(await bot.run("overrides"))
    assert "#1 *primary*: <@U333>" in listed and "#2 *primary*: <@U444>" in listed
    assert "/incident override cancel #1" in listed
    cancelled = text_of(await bot.run("override cancel #2", user="U444"))
    assert "cancelled <@U444>'s override on primary" in cancelled
    assert await stored(bot) == [("U333", 2)]
    assert "#1 *primary*: <@U333>" in text_of(await bot.run("override list primary"))


async def test_cancel_refuses_a_number_not_listed_and_changes_nothing(bot: RunningBot) -> None:
    await rotation(bot)
    await bot.run("override primary me for 2h", user="U333")
    refused = text_of(await bot.run("override cancel #4"))
    assert "There is no override #4 (1 upcoming)" in refused and "/incident overrides" in refused
    which = text_of(await bot.run("override cancel"))
    assert "Say which, like `/incident override cancel #2`" in which
    assert await stored(bot) == [("U333", 2)]


async def test_an_overlapping_override_says_what_it_overlaps_and_whom_it_replaces(bot: RunningBot) -> None:
    await rotation(bot)  # ana is on call now
    first = text_of(await bot.run("override primary me for 4h", user="U333"))
    assert "While it lasts it replaces <@U111>" in first and "overlaps" not in first
    second = text_of(await bot.run("override primary me for 2h", user="U444"))
    assert "While it lasts it replaces <@U333>" in second
    assert "⚠️ It overlaps <@U333>'s override" in second and "this one wins where they meet" in second
    assert await stored(bot) == [("U333", 4), ("U444", 2)]  # both kept: the later wins while it lasts
    assert "<@U444>" in text_of(await bot.run("oncall primary"))


async def test_only_admins_or_its_person_cancel_someone_elses_override(admin_bot: RunningBot) -> None:
    bot = admin_bot
    await bot.run("schedule primary <@U111|ana> <@U222|bea> weekly", user="UADMIN")
    await bot.run("override primary me for 2h", user="U333")
    refused = text_of(await bot.run("override cancel #1", user="U444"))
    assert "Only the bot's admins, or the person an override puts on call, can cancel it" in refused
    assert await stored(bot) == [("U333", 2)]
    assert "cancelled" in text_of(await bot.run("override cancel #1", user="U333"))
    assert await stored(bot) == []


async def rows(bot: RunningBot) -> list[dict]:
    from bot.providers.builtin import tables as builtin_tables
    from tests.helpers import store_rows

    return await store_rows(bot, builtin_tables.overrides)


async def test_the_same_override_typed_twice_is_made_once(bot: RunningBot) -> None:
    await rotation(bot)
    first = text_of(await bot.run("override primary <@U333|cy> for 2h"))
    assert "override #1" in first
    again = text_of(await bot.run("override primary <@U333|cy> for 2h"))
    assert "already on call on primary then, by override #1" in again and "nothing was added" in again
    assert "/incident override cancel #1" in again
    # Inside the one there: adds nothing either. Someone else, or a longer span, is made.
    inside = text_of(await bot.run("override primary <@U333|cy> for 1h"))
    assert "by override #1" in inside
    assert len(await rows(bot)) == 1
    assert "override #2" in text_of(await bot.run("override primary <@U333|cy> for 5h"))
    assert "override #3" in text_of(await bot.run("override primary <@U444|dee> for 2h"))
    assert await stored(bot) == [("U333", 2), ("U333", 5), ("U444", 2)]


async def test_numbers_stay_put_so_cancelling_down_a_list_removes_the_ones_named(bot: RunningBot) -> None:
    await rotation(bot)
    await bot.run("override primary <@U333|cy> from 10:00 tomorrow to 11:00 tomorrow")
    await bot.run("override primary <@U444|dee> from 12:00 tomorrow to 13:00 tomorrow")
    await bot.run("override primary <@U555|eve> from 14:00 tomorrow to 15:00 tomorrow")
    listed = text_of(await bot.run("overrides"))
    assert "#1 *primary*: <@U333>" in listed and "#3 *primary*: <@U555>" in listed
    assert "(#1)" in text_of(await bot.run("override cancel #1"))
    assert "(#2)" in text_of(await bot.run("override cancel #2"))  # dee's, not eve's
    assert [r["user_id"] for r in await rows(bot)] == ["U555"]
    refused = text_of(await bot.run("override cancel #1"))  # typed again: gone, nothing else taken
    assert "There is no override #1 (1 upcoming)" in refused
    assert [r["user_id"] for r in await rows(bot)] == ["U555"]
    listed = text_of(await bot.run("overrides"))
    assert "#3 *primary*: <@U555>" in listed and "#1 " not in listed
    assert "/incident override cancel #3" in listed
    # A new one gets a number never given before.
    assert "override #4" in text_of(await bot.run("override primary <@U333|cy> for 2h"))


async def test_a_cancelled_overrides_number_is_never_given_to_the_next(bot: RunningBot) -> None:
    """The last one cancelled, then a new one: SQLite gave the new row the cancelled one's
    id, and with it its number, so a late `cancel #2` removed the new override."""
    await rotation(bot)
    await bot.run("override primary <@U333|cy> from 18:00 tomorrow to 19:00 tomorrow")
    await bot.run("override primary <@U444|dee> from 20:00 tomorrow to 21:00 tomorrow")
    assert "(#2)" in text_of(await bot.run("override cancel #2"))
    assert "override #3" in text_of(
        await bot.run("override primary <@U555|eve> from 22:00 tomorrow to 23:00 tomorrow")
    )
    refused = text_of(await bot.run("override cancel #2"))  # typed late: nothing else taken
    assert "There is no override #2 (2 upcoming)" in refused
    assert [r["user_id"] for r in await rows(bot)] == ["U333", "U555"]
    # Every one cancelled: the next still counts on.
    assert "(#1)" in text_of(await bot.run("override cancel #1"))
    assert "(#3)" in text_of(await bot.run("override cancel #3"))
    assert await rows(bot) == []
    assert "override #4" in text_of(
        await bot.run("override primary <@U666|fay> from 22:00 tomorrow to 23:00 tomorrow")
    )
    assert "There is no override #3" in text_of(await bot.run("override cancel #3"))
    assert [r["user_id"] for r in await rows(bot)] == ["U666"]


async def test_an_overlap_is_said_once_per_override_overlapped(bot: RunningBot) -> None:
    await rotation(bot)
    for typed in (
        "<@U333|cy> from tomorrow 10:00 to tomorrow 13:00",
        "<@U444|dee> from tomorrow 12:00 to tomorrow 15:00",
        "<@U555|eve> from tomorrow 9:00 to tomorrow 11:00",
        "<@U777|gus> from tomorrow 16:00 to tomorrow 17:00",  # apart: not mentioned
    ):
        assert "on call for primary" in text_of(await bot.run(f"override primary {typed}"))
    said = await bot.run("override primary <@U666|fay> from tomorrow 10:30 to tomorrow 14:00")
    section = said["blocks"][0]["text"]["text"]
    overlaps = [line for line in section.split("\n") if "⚠️ It overlaps" in line]
    assert len(overlaps) == 3 and len(set(overlaps)) == 3, overlaps
    said_as = {
        who: [line for line in overlaps if who in line]
        for who in ("<@U333>'s override #1", "<@U444>'s override #2", "<@U555>'s override #3")
    }
    assert all(len(found) == 1 for found in said_as.values()), overlaps
    assert "U777" not in section and section.count("lists them to cancel one") == 1
    assert len(await rows(bot)) == 5


async def test_a_number_follows_its_override_when_the_provider_gives_it_a_new_id(sqlite_url: str) -> None:
    """incident.io re-creates an override it reshapes, under a new id: the same override
    (schedule, person, span) keeps its number; one never seen before gets a new one."""
    from datetime import UTC, datetime, timedelta

    from bot.domain import Override, Person, Schedule
    from bot.store.db import Store

    store = Store(sqlite_url)
    await store.start()
    try:
        start = datetime(2030, 1, 1, 9, tzinfo=UTC)

        def override(id_: str, who: str, hours: int = 2) -> Override:
            person = Person(slack_id=who)
            return Override(
                id=id_,
                schedule=Schedule(id="S", name="Primary"),
                person=person,
                start=start,
                end=start + timedelta(hours=hours),
            )

        first = await store.override_numbers.number("incidentio", [override("a", "U1"), override("b", "U2")])
        assert [o.number for o in first] == [1, 2]
        again = await store.override_numbers.number("incidentio", [override("b2", "U2"), override("c", "U3")])
        assert [o.number for o in again] == [2, 3]  # b's number under its new id; c is new
        later = await store.override_numbers.number("incidentio", [override("a", "U1", hours=3)])
        assert [o.number for o in later] == [1]  # its id is the one it was numbered by
    finally:
        await store.close()


@pytest.mark.parametrize("name", ["pagerduty", "incidentio"])
async def test_at_remote_providers_a_duplicate_is_refused_and_numbers_stay_put(
    name: str, fake_slack: FakeSlack, sqlite_url: str
) -> None:
    """The store numbers the providers' overrides as it does the built-in ones: the second
    override typed the same is not sent, and after cancelling #1 the other is still #2."""
    from tests.conftest import provider_bot

    path = {"pagerduty": "/schedules/PSCHED1/overrides", "incidentio": "/v2/schedule_overrides"}[name]
    async with provider_bot(name, fake_slack, sqlite_url) as pb:
        assert "override #1" in text_of(
            await pb.bot.run("override prim <@U444|sam> from tomorrow 9am to tomorrow 11am")
        )
        again = text_of(await pb.bot.run("override prim <@U444|sam> from tomorrow 9am to tomorrow 11am"))
        assert "by override #1" in again and "nothing was added" in again
        assert "override #2" in text_of(
            await pb.bot.run("override prim <@U333|cy> from tomorrow 1pm to tomorrow 3pm")
        )
        assert len(pb.fake.of("POST", path)) == 2  # the duplicate never reached the provider
        assert "(#1)" in text_of(await pb.bot.run("override cancel #1"))
        listed = text_of(await pb.bot.run("overrides"))
        assert "#2 *Primary*: <@U333>" in listed and "#1 " not in listed
        assert "There is no override #1" in text_of(await pb.bot.run("override cancel #1"))
        assert "(#2)" in text_of(await pb.bot.run("override cancel #2"))
        assert "No upcoming overrides" in text_of(await pb.bot.run("overrides"))


async def test_an_override_the_provider_lists_twice_is_listed_and_overlapped_once(
    fake_slack: FakeSlack, sqlite_url: str
) -> None:
    """A provider may list one override twice (on two pages of its list): it is one
    override, with one number, and a new one overlapping it says so once."""
    from tests.conftest import provider_bot

    async with provider_bot("pagerduty", fake_slack, sqlite_url) as pb:
        fake: Any = pb.fake
        assert "override #1" in text_of(
            await pb.bot.run("override prim <@U444|sam> from tomorrow 9am to tomorrow 11am")
        )
        fake.overrides.append(dict(fake.overrides[0]))  # listed twice from now on
        listed = text_of(await pb.bot.run("overrides"))
        assert listed.count("<@U444>") == 1 and "#1 *Primary*: <@U444>" in listed, listed
        said = await pb.bot.run("override prim <@U333|cy> from tomorrow 10am to tomorrow noon")
        section = said["blocks"][0]["text"]["text"]
        overlaps = [line for line in section.split("\n") if "⚠️ It overlaps" in line]
        assert len(overlaps) == 1 and "<@U444>'s override #1" in overlaps[0], section
        assert "override #2" in section
        assert len(fake.of("POST", "/schedules/PSCHED1/overrides")) == 2
