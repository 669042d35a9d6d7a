"""Words as on-call engineers type them, sent as signed slash commands: the resulting
state is read back from the bot's own provider, and the answer from the fake Slack."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from bot.slack.server import RUNTIME
from tests.conftest import RunningBot
from tests.helpers import click_element, text_of


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
    # In Slack, each open one is a button: a click completes that one.
    buttons = [e for b in listed["blocks"] if b["type"] == "actions" for e in b["elements"]]
    assert [e["text"]["text"] for e in buttons] == ["Done #1", "Done #2", "Done #3"]
    await click_element(bot, buttons[1], user="U111", channel=channel)
    done = await bot.run("followup done #1 #3", channel=channel)
    assert "completed follow-ups #1, #3" in text_of(done)
    states = {
        f.number: f.state for f in await bot.app[RUNTIME].service.providers["builtin"].list_followups("1")
    }
    assert states == {1: "done", 2: "done", 3: "done"}  # and no follow-up titled "done"


async def test_followup_done_by_its_title_completes_it_and_done_twice_says_so(bot: RunningBot) -> None:
    _, channel = await bot.declare("Disk full")
    for title in ("Add alert 2", "Clean logs"):
        await bot.run(f"followup {title}", channel=channel)
    done = text_of(await bot.run("followup done Add alert 2", channel=channel))
    assert "completed follow-up" in done and "#1 Add alert 2" in done, done
    again = text_of(await bot.run("followup done #1", channel=channel))
    assert "Follow-up #1 of INC-1 is done already: nothing to change" in again and "completed" not in again
    twice = text_of(await bot.run("followup done Add alert 2", channel=channel))
    assert "is done already: nothing to change" in twice, twice  # not a new "done Add alert 2"
    # Words that name no open follow-up are a new one's title, as before.
    await bot.run("followup close the firewall port", channel=channel)
    items = {
        f.title: f.state for f in await bot.app[RUNTIME].service.providers["builtin"].list_followups("1")
    }
    assert items == {"Add alert 2": "done", "Clean logs": "open", "close the firewall port": "open"}
    # An exact title done already is not taken for a longer open one beginning so.
    await bot.run("followup Clean logs on db-2", channel=channel)
    await bot.run("followup done Clean logs", channel=channel)
    again = text_of(await bot.run("followup done Clean logs", channel=channel))
    assert "is done already" in again, again
    items = {
        f.title: f.state for f in await bot.app[RUNTIME].service.providers["builtin"].list_followups("1")
    }
    assert items["Clean logs on db-2"] == "open" and items["Clean logs"] == "done"


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
    assert "would reopen it" in text_of(refused) and "/incident reopen" in text_of(refused)
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


async def test_reopen_goes_back_to_investigating_and_only_when_closed(bot: RunningBot) -> None:
    _, channel = await bot.declare("Checkout down")
    refused = await bot.run("reopen", channel=channel)
    assert "is open (triage): there is nothing to reopen" in text_of(refused)
    await bot.run("resolve", channel=channel)
    answer = await bot.run("reopen errors are back", channel=channel)
    assert "reopened the incident (it was resolved, now investigating)" in text_of(answer)
    incident = await incident_of(bot)
    assert incident.status == "investigating" and incident.resolved_at is None and not incident.closed


@pytest.mark.parametrize(
    ("typed", "status", "said"),
    [
        ("mitigated", "monitoring", "“mitigated” is monitoring"),
        ("stable", "monitoring", "“stable” is monitoring"),
        ("fixed", "resolved", "“fixed” is resolved"),
        ("mon", "monitoring", None),  # a prefix is what was typed: nothing to explain
    ],
)
async def test_common_status_words_map_and_the_answer_says_so(
    bot: RunningBot, typed: str, status: str, said: str | None
) -> None:
    _, channel = await bot.declare("Checkout down")
    answer = text_of(await bot.run(f"status {typed}", channel=channel))
    assert (await incident_of(bot)).status == status
    assert (said in answer) if said else ("” is " not in answer)


@pytest.mark.parametrize(
    ("typed", "said"),
    [
        ("followup Add alert owner:@sam", "`followup` doesn't take `owner:`; it takes `due:`."),
        ("task Check lag due:friday", "`task` doesn't take `due:`; it takes no key:value options."),
        ("declare Disk full sevrity:1", "`declare` doesn't take `sevrity:`; it takes `sev:`, `summary:`."),
    ],
)
async def test_an_unknown_key_says_which_keys_exist_and_changes_nothing(
    bot: RunningBot, typed: str, said: str
) -> None:
    _, channel = await bot.declare("Checkout down")
    answer = text_of(await bot.run(typed, channel=channel))
    assert said in answer
    provider = bot.app[RUNTIME].service.providers["builtin"]
    assert await provider.list_followups("1") == []
    assert len(bot.slack.of("conversations.create")) == 1  # no second incident


async def test_words_with_a_colon_stay_text(bot: RunningBot) -> None:
    _, channel = await bot.declare("Checkout down severity:1")
    assert (await incident_of(bot)).severity == "SEV1"  # severity: is sev:
    await bot.run("update error:db down, see https://status.example.com/a:b", channel=channel)
    timeline = await bot.app[RUNTIME].service.providers["builtin"].timeline("1")
    assert "error:db down, see https://status.example.com/a:b" in [e.text for e in timeline]


@pytest.mark.parametrize("zone", ["UTC", "Asia/Kolkata", "America/New_York"])
async def test_a_rotation_without_from_hands_over_on_the_hour_with_someone_on_now(
    bot: RunningBot, zone: str
) -> None:
    bot.slack.timezones["U111"] = zone
    said = text_of(await bot.run("schedule primary <@U111|ana> <@U222|bea> every 1w"))
    [saved] = await bot.app[RUNTIME].service.providers["builtin"].schedules()
    assert saved.start is not None and (saved.start.minute, saved.start.second) == (0, 0)
    assert 0 <= (datetime.now(UTC) - saved.start).total_seconds() < 3600
    first = (saved.start + timedelta(weeks=1)).astimezone(ZoneInfo(zone))
    assert "On call from now: <@U111>" in said and first.strftime("%H:%M") in said
    oncall = text_of(await bot.run("oncall primary"))
    assert "<@U111>" in oncall


async def test_a_rotation_starting_later_says_nobody_is_on_call_until_then(bot: RunningBot) -> None:
    bot.slack.timezones["U111"] = "Asia/Tokyo"
    said = text_of(await bot.run('schedule primary <@U111|ana> <@U222|bea> weekly from:"tomorrow 9am"'))
    assert "nobody is on call on primary" in said and "09:00 JST" in said
    assert "/incident override primary @someone until" in said
    assert "nobody is on call" in text_of(await bot.run("oncall primary"))
