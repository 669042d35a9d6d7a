"""On-call you can inspect and undo, at the built-in provider: `overrides` lists upcoming
overrides numbered, `override cancel #n` removes one, an overlapping override says what it
overlaps and whom it replaces. Sent as signed slash commands; the state is read back from
the provider. (incident.io and PagerDuty: tests/test_incidentio.py, tests/test_pagerduty.py.)"""

from __future__ import annotations

from collections.abc import AsyncIterator

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
