"""Words as on-call engineers type them, sent as signed slash commands: the resulting
state is read back from the bot's own provider, and the answer from the fake Slack."""

from __future__ import annotations

import re

import pytest

from bot.slack.server import RUNTIME
from tests.conftest import RunningBot
from tests.test_slack_e2e import text_of


async def incident_of(bot: RunningBot, number: int = 1):  # type: ignore[no-untyped-def]
    return await bot.app[RUNTIME].service.providers["builtin"].get_incident(str(number))


@pytest.mark.parametrize(
    ("typed", "severity", "name"),
    [
        ("Payments API returning 500s sev 1", "SEV1", "Payments API returning 500s"),
        ("Payments API returning 500s sev1", "SEV1", "Payments API returning 500s"),
        ("SEV-2 Payments API returning 500s", "SEV2", "Payments API returning 500s"),
        ("Payments API down --sev 1", "SEV1", "Payments API down"),
        ("Checkout down critical", "SEV1", "Checkout down"),
        ("Critical path latency", None, "Critical path latency"),  # a word of the name stays
        ("Search slow sev:3", "SEV3", "Search slow"),
    ],
)
async def test_severity_is_read_anywhere_in_declare(
    bot: RunningBot, typed: str, severity: str | None, name: str
) -> None:
    _, channel = await bot.declare(typed)
    incident = await incident_of(bot)
    assert (incident.severity, incident.name) == (severity, name)
    created = bot.slack.of("conversations.create")[-1].params["name"]  # named from the name alone
    assert channel and not re.search(r"sev-?\d|critical$", created), created


async def test_due_dates_without_a_colon_and_in_the_past_refused(bot: RunningBot) -> None:
    _, channel = await bot.declare("Disk full")
    said = await bot.run("followup Add disk alert due next friday", channel=channel)
    assert "Add disk alert" in text_of(said) and "due" in text_of(said)
    said = await bot.run("followup Clean logs due in 3 days", channel=channel)
    said = await bot.run("followup Fix the due date bug", channel=channel)  # "due" of the title
    refused = await bot.run("followup Rotate keys due:yesterday", channel=channel)
    assert "in the past" in text_of(refused)
    items = {f.title: f.due for f in await bot.app[RUNTIME].service.providers["builtin"].list_followups("1")}
    assert set(items) == {"Add disk alert", "Clean logs", "Fix the due date bug"}
    assert items["Add disk alert"] is not None and items["Add disk alert"].weekday() == 4
    assert items["Clean logs"] is not None and items["Fix the due date bug"] is None


async def test_followup_done_lists_open_ones_or_completes_several(bot: RunningBot) -> None:
    _, channel = await bot.declare("Disk full")
    for title in ("A", "B", "C"):
        await bot.run(f"followup {title}", channel=channel)
    listed = await bot.run("followup done", channel=channel)
    assert "Which one?" in text_of(listed) and "#3 C" in text_of(listed)
    done = await bot.run("followup done #1 #3", channel=channel)
    assert "completed follow-ups #1, #3" in text_of(done)
    states = {
        f.number: f.state for f in await bot.app[RUNTIME].service.providers["builtin"].list_followups("1")
    }
    assert states == {1: "done", 2: "open", 3: "done"}  # and no follow-up titled "done"


async def test_status_moves_are_not_repeated_nor_silently_backwards(bot: RunningBot) -> None:
    _, channel = await bot.declare("Checkout down")
    await bot.run("status fixing", channel=channel)
    refused = await bot.run("ack", channel=channel)
    assert "already at fixing" in text_of(refused) and "Nothing was changed" in text_of(refused)
    assert (await incident_of(bot)).status == "fixing"
    await bot.run("resolved", channel=channel)  # the word people type
    assert (await incident_of(bot)).status == "resolved"
    again = await bot.run("resolve", channel=channel)
    assert "already resolved" in text_of(again)
    refused = await bot.run("ack", channel=channel)
    assert "would reopen it" in text_of(refused) and "status investigating again" in text_of(refused)
    assert (await incident_of(bot)).status == "resolved"
    await bot.run("status investigating again", channel=channel)
    assert (await incident_of(bot)).status == "investigating"


@pytest.mark.parametrize(
    ("typed", "seconds"),
    [
        ("weekly", 604800),
        ("every week", 604800),
        ("daily", 86400),
        ("every 2 weeks", 1209600),
        ("every 12h", 43200),
    ],
)
async def test_rotation_intervals_as_people_say_them(bot: RunningBot, typed: str, seconds: int) -> None:
    said = await bot.run(f"schedule primary <@U111|ana> <@U222|bea> {typed}")
    assert "primary" in text_of(said)
    [saved] = await bot.app[RUNTIME].service.providers["builtin"].schedules()
    assert saved.handover_seconds == seconds
