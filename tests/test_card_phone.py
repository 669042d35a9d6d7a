"""The incident card as a phone shows it (issue 30, items 12-16), through signed Slack
requests: what the fake Slack received (the card's buttons, its overflow menu, its fields)
and the state afterwards (the provider's recorded requests, the store)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import pytest

from bot.clock import FixedClock
from bot.commands.timers import latest_key
from bot.slack import ids
from bot.slack.server import RUNTIME
from tests.blockkit import block_problems
from tests.conftest import RunningBot, make_settings, provider_bot, running_bot
from tests.fakes.incidentio import FakeIncidentIo
from tests.helpers import buttons_of, card_post, click, menu_of, shown_buttons, text_of
from tests.slackfake import FakeSlack, block_actions

CHANNEL = "C0INC1"
START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


@pytest.fixture
async def bot(fake_slack: FakeSlack, sqlite_url: str) -> AsyncIterator[RunningBot]:
    """conftest's `bot`, on a fixed clock: "due in 30m" is exactly that."""
    async with running_bot(fake_slack, make_settings(fake_slack, sqlite_url), FixedClock(START)) as running:
        yield running


def fields_of(message: dict[str, Any]) -> dict[str, str]:
    """The card's fields, label → value, as Slack shows them."""
    found = {}
    for block in message.get("blocks", []):
        for field in block.get("fields", []):
            label, _, value = field["text"].partition("\n")
            found[label.strip("*")] = value
    return found


def phone_sized(message: dict[str, Any]) -> None:
    """One row on a phone: at most five buttons, and one menu for the rest."""
    for block in message.get("blocks", []):
        if block.get("type") == "actions":
            kinds = [e["type"] for e in block["elements"]]
            assert kinds.count("button") <= 5 and kinds.count("overflow") <= 1, kinds
    assert block_problems(message["blocks"]) == []


async def latest_card(slack: FakeSlack, channel: str, updates: int) -> dict[str, Any]:
    """The pinned card as its `updates`-th redraw left it."""
    [*_, redraw] = await slack.wait_for(updates, "chat.update")
    assert redraw.params["channel"] == channel
    return redraw.params


# 12, 13, 15: the built-in provider -------------------------------------------------------------
async def test_the_cards_buttons_follow_the_incident_and_it_shows_lead_update_and_next_update(
    bot: RunningBot,
) -> None:
    _, channel = await bot.declare("Checkout is failing sev:SEV1")
    card = card_post(bot.slack, channel)
    phone_sized(card.params)
    assert shown_buttons(card.params) == [
        "verb.status",
        "verb.ack",
        "verb.resolve",
        "verb.page",
        "verb.update",
    ]
    assert menu_of(card.params) == ["verb.severity", "verb.assign", "verb.override", "verb.unlink"]
    fields = fields_of(card.params)
    assert fields["Lead"] == "<@U111>"  # the declarer leads from the first minute
    assert fields["Next update"] == "due in 30m (Mon 02 Mar 09:30 UTC)"  # SEV1: the reminder's 30 minutes
    [footer] = [b["elements"][0]["text"] for b in card.params["blocks"] if b["type"] == "context"][-1:]
    assert "builtin" not in footer and "Built-in" not in footer and footer.startswith("INC-1")

    # Acknowledged: no Acknowledge left to click (it could only be refused).
    await bot.run("ack", channel=channel)
    acked = await latest_card(bot.slack, channel, 1)
    phone_sized(acked)
    assert "verb.ack" not in buttons_of(acked) and "verb.resolve" in shown_buttons(acked)

    # The latest update, its text and when, first thing on the card.
    await bot.run("update Rolled back 4.2, error rate falling", channel=channel)
    updated = await latest_card(bot.slack, channel, 2)
    assert "Latest update" in text_of(updated) and "Rolled back 4.2, error rate falling" in text_of(updated)
    assert "ago, <@U111>" in text_of(updated)
    assert fields_of(updated)["Next update"].startswith("due in 30m")
    kept = await bot.app[RUNTIME].service.timers.store.get(latest_key("builtin", "1"))
    assert kept is not None and kept.payload["text"] == "Rolled back 4.2, error rate falling"

    # Resolved: Reopen instead of Resolve, no Acknowledge, no next update.
    await bot.run("resolve", channel=channel)
    resolved = await latest_card(bot.slack, channel, 3)
    phone_sized(resolved)
    assert shown_buttons(resolved)[0] == "verb.reopen"
    assert not {"verb.ack", "verb.resolve"} & set(buttons_of(resolved))
    assert "resolved after" in text_of(resolved) and "Next update" not in fields_of(resolved)
    assert "Rolled back 4.2" in text_of(resolved)  # the latest update stays
    before = len(bot.slack.answers())
    reopen = block_actions(
        buttons_of(resolved)["verb.reopen"],
        user="U111",
        channel=channel,
        message_ts=card.response["ts"],
        response_url=bot.slack.response_url("reopen"),
    )
    assert (await bot.interact(reopen))[0] == 200
    [*_, answer] = await bot.slack.wait_for(before + 1)
    assert "reopened the incident (it was resolved, now investigating)" in text_of(answer.params)
    assert "investigating" in text_of(await bot.run("info", channel=channel))


async def test_a_menu_pick_runs_its_verb_as_its_button_would(bot: RunningBot) -> None:
    _, channel = await bot.declare("Checkout is failing")
    card = card_post(bot.slack, channel)
    # Severity needs a choice: picked from the menu, its modal opens for the card's incident.
    updated = len(bot.slack.of("views.update"))
    assert (await click(bot, card, "verb.severity"))[0] == 200
    [*_, filled] = await bot.slack.wait_for(updated + 1, "views.update")
    assert filled.params["view"]["callback_id"] == ids.form_callback("severity")
    assert json.loads(json.loads(filled.params["view"]["private_metadata"])["t"])["r"] == "INC-1"
    # An option naming no verb with a button is out of date, and nothing runs.
    before = len(bot.slack.answers())
    stray = block_actions(
        {
            "action_id": ids.MENU_ACTION,
            "type": "overflow",
            "selected_option": {
                "text": {"type": "plain_text", "text": "x"},
                "value": ids.encode_target("builtin", "1", "INC-1", verb="roles"),
            },
        },
        user="U111",
        channel=channel,
        message_ts=card.response["ts"],
        response_url=bot.slack.response_url("stray"),
    )
    assert (await bot.interact(stray))[0] == 200
    [*_, answer] = await bot.slack.wait_for(before + 1)
    assert "out of date" in text_of(answer.params)


async def test_answers_name_no_internal_provider(bot: RunningBot) -> None:
    _, channel = await bot.declare("Checkout is failing")
    answer = text_of(await bot.run("status mitigated", channel=channel))
    assert "monitoring" in answer and "Built-in" not in answer and "builtin" not in answer
    helped = text_of(await bot.run("help task", channel=channel))
    assert "Built-in" not in helped and "Not available here" in helped


# 16: reads answer the asker ---------------------------------------------------------------------
async def test_reads_answer_only_the_asker(bot: RunningBot) -> None:
    _, channel = await bot.declare("Checkout is failing")
    await bot.run("schedule primary <@U111|ana> every 1w", channel="C111")
    for read in ("oncall", "followups", "schedule", "oncall primary"):
        answer = await bot.run(read, channel=channel)
        assert answer.get("response_type") == "ephemeral", (read, answer["_via"], text_of(answer))
    saved = await bot.run("schedule secondary <@U111|ana> every 1w", channel="C111")
    assert saved.get("response_type") != "ephemeral"  # a change: the channel sees it


# 13, 14, 16: incident.io -------------------------------------------------------------------------
async def test_at_incident_io_no_lead_yet_offers_taking_it_and_resolved_is_resolved(
    fake_slack: FakeSlack, sqlite_url: str
) -> None:
    async with provider_bot("incidentio", fake_slack, sqlite_url) as io:
        fake = io.fake
        assert isinstance(fake, FakeIncidentIo)
        incident = fake.add_incident("Checkout is failing", channel=CHANNEL, status="Triage")
        await io.bot.run(f"link {incident['reference']}", channel=CHANNEL)
        card = card_post(fake_slack, CHANNEL)
        phone_sized(card.params)
        assert fields_of(card.params)["Incident lead"] == "no lead yet"
        assert shown_buttons(card.params)[0] == "verb.lead"
        assert "incident.io · INC-1" in text_of(card.params)

        # Take the lead: one click, and incident.io records the lead.
        before = len(fake_slack.answers())
        assert (await click(io.bot, card, "verb.lead", user="U222"))[0] == 200
        [*_, answer] = await fake_slack.wait_for(before + 1)
        assert "made <@U222> Incident Lead" in text_of(answer.params)
        [edit] = fake.of("POST", f"/v2/incidents/{incident['id']}/actions/edit")
        [assignment] = edit.body["incident"]["incident_role_assignments"]
        assert assignment["assignee"] == {"slack_user_id": "U222"}
        led = await latest_card(fake_slack, CHANNEL, 1)
        assert fields_of(led)["Incident lead"] == "<@U222>" and "verb.lead" not in buttons_of(led)

        # Resolved is resolved: the card says so, offers neither Resolve nor Acknowledge,
        # and no Reopen (incident.io cannot take it back out of post-incident).
        await io.bot.run("resolve", channel=CHANNEL)
        assert fake.incidents[incident["id"]]["incident_status"]["name"] == "Documenting"
        resolved = await latest_card(fake_slack, CHANNEL, 2)
        phone_sized(resolved)
        assert "resolved after" in text_of(resolved) and "running for" not in text_of(resolved)
        assert not {"verb.ack", "verb.resolve", "verb.reopen"} & set(buttons_of(resolved))
        writes = len(fake.writes())
        said = text_of(await io.bot.run("reopen", channel=CHANNEL))
        assert "cannot take an incident out of post-incident" in said and "nothing to reopen" not in said
        assert len(fake.writes()) == writes
        assert "already" in text_of(await io.bot.run("resolve", channel=CHANNEL))
        back = text_of(await io.bot.run("status investigating", channel=CHANNEL))
        assert "would reopen it" in back and "cannot take an incident out of post-incident" in back
        assert "/incident reopen" not in back  # not offered here: never suggested
        assert len(fake.writes()) == writes


async def test_a_long_task_list_is_bounded_with_a_link_to_incident_ios_own(
    fake_slack: FakeSlack, sqlite_url: str
) -> None:
    async with provider_bot("incidentio", fake_slack, sqlite_url) as io:
        fake = io.fake
        assert isinstance(fake, FakeIncidentIo)
        incident = fake.add_incident("Checkout is failing", channel=CHANNEL)
        await io.bot.run(f"link {incident['reference']}", channel=CHANNEL)
        for n in range(1, 501):
            fake.actions.append(
                {
                    "id": f"01HAC{n:021d}",
                    "incident_id": incident["id"],
                    "creator": {},
                    "description": f"Check replica {n}",
                    "status": "outstanding",
                    "created_at": "2026-11-22T11:00:00Z",
                    "updated_at": "2026-11-22T11:00:00Z",
                }
            )
        answer = await io.bot.run("tasks", channel=CHANNEL)
        assert answer["response_type"] == "ephemeral"
        said = text_of(answer)
        assert "Tasks on INC-1 (500)" in said and "… and 480 more" in said
        assert incident["permalink"] in said and "Check replica 21" not in said
        assert block_problems(answer["blocks"]) == []


# 14: resolved is resolved at every provider ------------------------------------------------------
@pytest.mark.parametrize("name", ["pagerduty", "firehydrant"])
async def test_a_resolved_card_offers_reopen_and_reopen_does_it(
    name: str, fake_slack: FakeSlack, sqlite_url: str
) -> None:
    async with provider_bot(name, fake_slack, sqlite_url) as pb:
        incident = pb.fake.add_incident("Checkout is failing")  # type: ignore[attr-defined]
        reference = f"pd:{incident['incident_number']}" if name == "pagerduty" else f"fh:{incident['id']}"
        await pb.bot.run(f"link {reference}", channel=CHANNEL)
        card = card_post(fake_slack, CHANNEL)
        await pb.bot.run("resolve fixed by rolling back 4.2", channel=CHANNEL)
        resolved = await latest_card(fake_slack, CHANNEL, 1)
        phone_sized(resolved)
        assert "resolved after" in text_of(resolved)
        assert "Latest update" in text_of(resolved) and "fixed by rolling back 4.2" in text_of(resolved)
        assert shown_buttons(resolved)[0] == "verb.reopen"
        assert not {"verb.ack", "verb.resolve"} & set(buttons_of(resolved))
        writes = len(pb.fake.writes())
        before = len(fake_slack.answers())
        reopen = block_actions(
            buttons_of(resolved)["verb.reopen"],
            user="U111",
            channel=CHANNEL,
            message_ts=card.response["ts"],
            response_url=fake_slack.response_url("reopen"),
        )
        assert (await pb.bot.interact(reopen))[0] == 200
        [*_, answer] = await fake_slack.wait_for(before + 1)
        assert "reopened the incident" in text_of(answer.params)
        assert len(pb.fake.writes()) > writes
        reopened = await latest_card(fake_slack, CHANNEL, 2)
        assert "running for" in text_of(reopened) and "verb.resolve" in shown_buttons(reopened)


async def test_at_incident_io_resolved_after_counts_to_its_resolved_at_timestamp(
    fake_slack: FakeSlack, sqlite_url: str
) -> None:
    """incident.io has no resolved_at field: its "Resolved at" timestamp is when it was
    resolved, not the last edit (a follow-up or a summary added afterwards)."""
    async with provider_bot("incidentio", fake_slack, sqlite_url) as io:
        fake = io.fake
        assert isinstance(fake, FakeIncidentIo)
        incident = fake.add_incident("Checkout is failing", channel=CHANNEL, status="Documenting")
        incident["updated_at"] = "2026-11-22T14:00:00Z"  # edited five hours after it began
        incident["incident_timestamp_values"] = [
            {
                "incident_timestamp": {"id": "01HTS0000000000000000000001", "name": "Reported at", "rank": 1},
                "value": {"value": "2026-11-22T09:00:00Z"},
            },
            {
                "incident_timestamp": {"id": "01HTS0000000000000000000002", "name": "Resolved at", "rank": 2},
                "value": {"value": "2026-11-22T11:00:00Z"},
            },
        ]
        await io.bot.run(f"link {incident['reference']}", channel=CHANNEL)
        card = card_post(fake_slack, CHANNEL)
        assert fields_of(card.params)["Time"] == "resolved after 2h"
