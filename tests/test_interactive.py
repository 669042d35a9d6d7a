"""Buttons, modals and type-ahead through Slack's front door: signed block_actions,
view_submission and block_suggestion payloads to the running app; the card, the views
and the answers checked at the recording fake Slack (which refuses Block Kit over
Slack's limits: tests/blockkit.py)."""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator

import pytest

from bot.providers.facets import offered
from bot.slack.server import RUNTIME
from tests.conftest import ProviderBot, RunningBot, provider_bot
from tests.helpers import buttons_of, card_post, click, menu_of, open_modal, shown_buttons, submit, text_of
from tests.slackfake import FakeSlack, block_actions, block_suggestion

ALL_BUTTONS = {
    "verb.task",
    "verb.page",
    "verb.reassign",
    "verb.ack",
    "verb.resolve",
    "verb.status",
    "verb.severity",
    "verb.assign",
    "verb.followup",
    "verb.update",
    "verb.override",
    "verb.unlink",
}


def select_options(view: dict, block_id: str) -> list[str]:
    block = next(b for b in view["blocks"] if b.get("block_id") == block_id)
    return [o["value"] for o in block["element"].get("options", [])]


# the card ---------------------------------------------------------------------------------
# The built-in provider keeps follow-ups only, and has roles rather than one assignee. A
# new incident's card: nobody has acknowledged it; follow-ups come once someone is on it.
BUILTIN_NEW = (
    ["verb.status", "verb.ack", "verb.resolve", "verb.page", "verb.update"],
    ["verb.severity", "verb.assign", "verb.override", "verb.unlink"],
)
# Acknowledged: no Acknowledge (it could only be refused); Unlink stays in the menu.
BUILTIN_ACTIVE = (
    ["verb.status", "verb.resolve", "verb.severity", "verb.assign", "verb.update"],
    ["verb.page", "verb.followup", "verb.override", "verb.unlink"],
)


async def test_declare_pins_a_card_with_every_button_and_changes_redraw_it_in_place(bot: RunningBot) -> None:
    _, channel = await bot.declare("Checkout is failing")
    card = card_post(bot.slack, channel)
    assert (shown_buttons(card.params), menu_of(card.params)) == BUILTIN_NEW
    [pin] = await bot.slack.wait_for(1, "pins.add")
    assert pin.params == {"channel": channel, "timestamp": card.response["ts"]}
    confirms = {a: b.get("confirm") for a, b in buttons_of(card.params).items()}
    assert confirms["verb.resolve"]  # asks first; Unlink, in the menu, asks once picked
    assert confirms["verb.ack"] is None

    await bot.run("status monitoring", channel=channel)
    [update] = await bot.slack.wait_for(1, "chat.update")
    assert update.params["channel"] == channel and update.params["ts"] == card.response["ts"]
    assert "monitoring" in text_of(update.params) and "triage" not in text_of(update.params)
    assert (shown_buttons(update.params), menu_of(update.params)) == BUILTIN_ACTIVE

    # `info` where the card is: the asker gets it privately; no new copy in the channel, no
    # re-pin, and no redraw of a card that already shows what was read.
    await bot.settled()  # the change's own follow-ups (its topic) done before counting
    calls = len(bot.slack.calls)
    answer = await bot.run("info", channel=channel)
    await bot.settled()
    assert answer["response_type"] == "ephemeral" and "monitoring" in text_of(answer)
    assert (shown_buttons(answer), menu_of(answer)) == BUILTIN_ACTIVE
    assert [c.method for c in bot.slack.calls[calls:]] == ["response_url"]
    assert card_post(bot.slack, channel).response["ts"] == card.response["ts"]
    await bot.run("sev 1", channel=channel)
    [_, second] = await bot.slack.wait_for(2, "chat.update")
    assert second.params["ts"] == card.response["ts"]  # the pinned card is still the one redrawn


async def test_info_where_the_card_is_behind_redraws_it_and_by_reference_pins_nothing(
    fake_slack: FakeSlack, sqlite_url: str
) -> None:
    from tests.helpers import HOOKS_CHANNEL as CHANNEL
    from tests.helpers import linked, set_status

    async with provider_bot("incidentio", fake_slack, sqlite_url) as io:
        incident = await linked(io)
        card = card_post(io.bot.slack, CHANNEL)
        set_status(io, incident, "Fixing", "2030-01-01T10:00:00Z")  # changed in incident.io's UI
        updates = len(io.bot.slack.of("chat.update"))
        answer = await io.bot.run("info", channel=CHANNEL)
        assert answer["response_type"] == "ephemeral" and "Fixing" in text_of(answer)
        [*_, redraw] = await io.bot.slack.wait_for(updates + 1, "chat.update")
        assert redraw.params["ts"] == card.response["ts"] and "Fixing" in text_of(redraw.params)
        await io.bot.run("info", channel=CHANNEL)  # nothing new: the card is not redrawn again
        await io.bot.settled()
        assert len(io.bot.slack.of("chat.update")) == updates + 1
        # By reference from a channel that is not the incident's: a private answer, no card
        # posted or pinned there.
        pins, posts = len(io.bot.slack.of("pins.add")), len(io.bot.slack.of("chat.postMessage"))
        answer = await io.bot.run(f"info {incident['reference']}", channel="C0ELSEWHERE")
        await io.bot.settled()
        assert answer["response_type"] == "ephemeral" and "Fixing" in text_of(answer)
        assert len(io.bot.slack.of("pins.add")) == pins
        assert len(io.bot.slack.of("chat.postMessage")) == posts


# modals for typed verbs -----------------------------------------------------------------
async def test_typed_verb_without_arguments_opens_a_modal_with_the_providers_names(bot: RunningBot) -> None:
    _, channel = await bot.declare("Checkout is failing")
    view_id, view = await open_modal(bot, "status", channel)
    assert view["callback_id"] == "form.status"
    assert select_options(view, "status") == [
        "triage",
        "investigating",
        "fixing",
        "monitoring",
        "resolved",
        "closed",
    ]
    assert json.loads(view["private_metadata"])["t"]  # the incident it was opened for
    before = len(bot.slack.answers())
    assert await submit(bot, view_id, view, {"status": "monitoring", "note": "db failed over"}) == {}
    [*_, answer] = await bot.slack.wait_for(before + 1)
    assert "moved the incident to monitoring" in text_of(answer.params)
    assert "db failed over" in text_of(answer.params)
    assert "monitoring" in text_of(await bot.run("info", channel=channel))


async def test_a_modal_acts_on_the_incident_it_was_opened_for_even_after_a_relink(bot: RunningBot) -> None:
    from tests.helpers import click_element

    _, first = await bot.declare("Checkout is failing")
    await bot.declare("Search is slow")
    view_id, view = await open_modal(bot, "severity", first)
    asked = await bot.run("link INC-2", channel=first)  # someone relinks the channel meanwhile,
    await click_element(bot, buttons_of(asked)["verb.link"], user="U111", channel=first)  # on purpose
    before = len(bot.slack.answers())
    await submit(bot, view_id, view, {"severity": view["blocks"][1]["element"]["options"][0]["value"]})
    await bot.slack.wait_for(before + 1)
    one = text_of(await bot.run("info INC-1", channel=first))
    two = text_of(await bot.run("info INC-2", channel=first))
    assert "SEV1" in one and "SEV1" not in two


async def test_every_verb_with_required_arguments_opens_its_modal(bot: RunningBot) -> None:
    from bot.slack.ids import form_verbs

    _, channel = await bot.declare("Checkout is failing")
    await bot.run("schedule primary <@U222|bea> every 1w", channel=channel)
    builtin = bot.app[RUNTIME].service.default_provider
    lacks = {v.name for v in form_verbs() if v.capability and v.capability not in offered(builtin)}
    assert {"task", "reassign"} <= lacks  # what the built-in provider lacks
    for verb in form_verbs():
        _, view = await open_modal(bot, verb.name, channel)
        assert view["callback_id"] == f"form.{verb.name}", verb.name
        if verb.name in lacks:  # what the built-in provider lacks: it says so
            assert "submit" not in view and "/incident " in text_of(view)
            continue
        assert any(b["type"] == "input" for b in view["blocks"]), verb.name
        assert view.get("submit"), verb.name


async def test_override_modal_refuses_an_end_before_its_start_and_changes_nothing(bot: RunningBot) -> None:
    await bot.run("schedule primary <@U222|bea> every 1w")
    view_id, view = await open_modal(bot, "override", "C111")
    kinds = {b["block_id"]: b["element"]["type"] for b in view["blocks"] if b["type"] == "input"}
    assert kinds == {
        "schedule": "static_select",
        "user": "users_select",
        "when.start": "datetimepicker",
        "when.end": "datetimepicker",
    }
    start = int(time.time()) + 3600
    answer = await submit(
        bot,
        view_id,
        view,
        {"schedule": "primary", "user": "U333", "when.start": start, "when.end": start - 600},
    )
    assert answer["response_action"] == "errors" and set(answer["errors"]) == {"when.end"}
    assert "before the start" in answer["errors"]["when.end"]
    overrides = text_of(await bot.run("overrides primary"))
    assert "<@U333>" not in overrides and "primary" in overrides.lower()

    before = len(bot.slack.answers())
    fine = {"schedule": "primary", "user": "U333", "when.start": start, "when.end": start + 7200}
    assert await submit(bot, view_id, view, fine) == {}
    [*_, done] = await bot.slack.wait_for(before + 1)
    assert "on call for primary" in text_of(done.params) and "(2h)" in text_of(done.params)


async def test_a_missing_required_field_is_named_on_the_field(bot: RunningBot) -> None:
    _, channel = await bot.declare("Checkout is failing")
    view_id, view = await open_modal(bot, "assign", channel)
    answer = await submit(bot, view_id, view, {"role": "comms"})
    assert answer == {"response_action": "errors", "errors": {"user": "Needed."}}


async def test_a_submitted_modal_is_acted_on_once_even_if_slack_sends_it_twice(bot: RunningBot) -> None:
    _, channel = await bot.declare("Checkout is failing")
    view_id, view = await open_modal(bot, "followup", channel)
    before = len(bot.slack.answers())
    answers = {"title": "Add a failover alert", "assignee": "U222", "due": "2030-01-04"}
    await submit(bot, view_id, view, answers)
    await submit(bot, view_id, view, answers)
    await bot.slack.wait_for(before + 1)
    listing = text_of(await bot.run("followups", channel=channel))
    assert listing.count("Add a failover alert") == 1 and "04 Jan" in listing


# buttons ----------------------------------------------------------------------------------
async def test_ack_button_acts_at_once_and_a_double_click_acts_once(bot: RunningBot) -> None:
    _, channel = await bot.declare("Checkout is failing")
    card = card_post(bot.slack, channel)
    before = len(bot.slack.answers())
    same_ts = f"{time.time():.6f}"
    assert (await click(bot, card, "verb.ack", action_ts=same_ts))[0] == 200
    assert (await click(bot, card, "verb.ack", action_ts=same_ts))[0] == 200
    answers = await bot.slack.wait_for(before + 2)
    said = [text_of(a.params) for a in answers[before:]]
    assert sum("moved the incident to investigating" in s for s in said) == 1
    assert sum("clicked twice" in s for s in said) == 1
    rows = [r for r in await bot.app[RUNTIME].store.audit.rows() if r["verb"] == "ack"]
    assert len(rows) == 1  # one run of the verb, so one write at the provider


async def test_buttons_that_need_input_open_their_modal_for_the_cards_incident(bot: RunningBot) -> None:
    _, channel = await bot.declare("Checkout is failing")
    card = card_post(bot.slack, channel)
    for action_id in ("verb.severity", "verb.assign", "verb.update"):
        updated = len(bot.slack.of("views.update"))
        assert (await click(bot, card, action_id))[0] == 200
        [*_, filled] = await bot.slack.wait_for(updated + 1, "views.update")
        meta = json.loads(filled.params["view"]["private_metadata"])
        assert json.loads(meta["t"])["r"] == "INC-1", action_id


async def test_unlink_button_unlinks_and_resolve_button_resolves(bot: RunningBot) -> None:
    _, channel = await bot.declare("Checkout is failing")
    card = card_post(bot.slack, channel)
    before = len(bot.slack.answers())
    await click(bot, card, "verb.resolve")
    [*_, resolved] = await bot.slack.wait_for(before + 1)
    assert "moved the incident to resolved" in text_of(resolved.params)
    # Unlink is in the menu, whose options carry no confirm: picked, it asks first.
    await click(bot, card, "verb.unlink")
    [*_, asked] = await bot.slack.wait_for(before + 2)
    assert "Untie this channel" in text_of(asked.params) and "Nothing was done yet" in text_of(asked.params)
    assert "isn't linked" not in text_of(await bot.run("info", channel=channel))
    button = buttons_of(asked.params)["verb.unlink"]
    assert button["type"] == "button" and button["style"] == "danger"
    payload = block_actions(
        button, user="U111", channel=channel, message_ts="7.7", response_url=bot.slack.response_url("u")
    )
    assert (await bot.interact(payload))[0] == 200
    [*_, unlinked] = await bot.slack.wait_for(before + 4)
    assert "unlinked this channel from INC-1" in text_of(unlinked.params)
    assert "isn't linked" in text_of(await bot.run("info", channel=channel))


async def test_a_button_from_an_unknown_incident_or_version_answers_plainly(bot: RunningBot) -> None:
    payload = block_actions(
        {"action_id": "verb.ack", "value": "not json"},
        user="U111",
        channel="C111",
        message_ts="1.2",
        response_url=bot.slack.response_url("act"),
    )
    assert (await bot.interact(payload))[0] == 200
    [answer] = await bot.slack.wait_for(1)
    assert "out of date" in text_of(answer.params)


# incident.io: catalogues, people, and provider writes ---------------------------------
CHANNEL = "C0INC1"


@pytest.fixture
async def io(fake_slack: FakeSlack, sqlite_url: str) -> AsyncIterator[ProviderBot]:
    async with provider_bot("incidentio", fake_slack, sqlite_url) as running:
        yield running


async def linked(pb: ProviderBot) -> dict:
    incident = pb.fake.add_incident("Checkout is failing", channel=CHANNEL, status="Triage")  # type: ignore[attr-defined]
    await pb.bot.run(f"link {incident['reference']}", channel=CHANNEL)
    return incident


async def test_300_long_non_latin_statuses_become_a_type_ahead_and_work(io: ProviderBot) -> None:
    from tests.fakes.incidentio import _status, ulid

    names = [f"状態 {n:03d} " + "ü" * 200 for n in range(300)]
    io.fake.status_catalogue += [_status(ulid("SX", n), name, "live", 10 + n) for n, name in enumerate(names)]  # type: ignore[attr-defined]
    incident = await linked(io)
    view_id, view = await open_modal(io.bot, "status", CHANNEL)
    [block] = [b for b in view["blocks"] if b.get("block_id") == "status"]
    assert block["element"]["type"] == "external_select"
    status, body = await io.bot.interact(
        block_suggestion(view, view_id, block["element"]["action_id"], "status", "状態 12", user="U111")
    )
    assert status == 200
    options = json.loads(body)["options"]
    assert 1 <= len(options) <= 100
    assert all(len(o["text"]["text"]) <= 75 and len(o["value"]) <= 150 for o in options)
    assert options[0]["value"].startswith("状態 120")
    everything = json.loads(
        (
            await io.bot.interact(
                block_suggestion(view, view_id, block["element"]["action_id"], "status", "", user="U111")
            )
        )[1]
    )
    assert len(everything["options"]) == 100  # never more than Slack shows

    before = len(io.bot.slack.answers())
    assert await submit(io.bot, view_id, view, {"status": options[0]["value"]}) == {}
    await io.bot.slack.wait_for(before + 1)
    [edit] = io.fake.of("POST", f"/v2/incidents/{incident['id']}/actions/edit")
    assert edit.body["incident"]["incident_status_id"] == ulid("SX", 120)


async def test_a_person_unknown_at_incident_io_is_named_on_the_field_and_nothing_is_sent(
    io: ProviderBot,
) -> None:
    await linked(io)
    view_id, view = await open_modal(io.bot, "assign", CHANNEL)
    assert "Communications" in select_options(view, "role")
    writes = len(io.fake.writes())
    answer = await submit(io.bot, view_id, view, {"role": select_options(view, "role")[0], "user": "U999"})
    assert answer["response_action"] == "errors" and "incident.io" in answer["errors"]["user"]
    assert len(io.fake.writes()) == writes


async def test_a_status_incident_io_does_not_have_is_refused_on_the_field(io: ProviderBot) -> None:
    await linked(io)
    view_id, view = await open_modal(io.bot, "status", CHANNEL)
    writes = len(io.fake.writes())
    answer = await submit(io.bot, view_id, view, {"status": "Nonexistent"})
    assert answer["response_action"] == "errors" and "status" in answer["errors"]
    assert len(io.fake.writes()) == writes


async def test_a_double_click_on_resolve_sends_one_write_to_incident_io(io: ProviderBot) -> None:
    incident = await linked(io)
    card = card_post(io.bot.slack, CHANNEL)
    same_ts = f"{time.time():.6f}"
    before = len(io.bot.slack.answers())
    await click(io.bot, card, "verb.resolve", action_ts=same_ts)
    await click(io.bot, card, "verb.resolve", action_ts=same_ts)
    await io.bot.slack.wait_for(before + 2)
    assert len(io.fake.of("POST", f"/v2/incidents/{incident['id']}/actions/edit")) == 1


@pytest.mark.parametrize(
    ("name", "absent", "shown"),
    [
        # Triggered: nobody is on it. PagerDuty has one assignee, not roles.
        (
            "pagerduty",
            {"verb.assign", "verb.followup", "verb.task"},
            ["status", "ack", "resolve", "page", "update"],
        ),
        # Started, and nobody leads: taking the lead comes first.
        ("firehydrant", {"verb.reassign"}, ["lead", "status", "ack", "resolve", "update"]),
        # Investigating: acknowledged already, so no Acknowledge.
        ("incidentio", {"verb.reassign", "verb.ack"}, ["lead", "status", "resolve", "severity", "update"]),
    ],
)
async def test_the_card_offers_only_what_the_provider_can_do(
    name: str, absent: set[str], shown: list[str], fake_slack: FakeSlack, sqlite_url: str
) -> None:
    async with provider_bot(name, fake_slack, sqlite_url) as pb:
        incident = pb.fake.add_incident("Checkout is failing")  # type: ignore[attr-defined]
        reference = {
            "incidentio": incident.get("reference"),
            "pagerduty": f"pd:{incident.get('incident_number')}",
        }
        await pb.bot.run(f"link {reference.get(name) or 'fh:' + incident['id']}", channel="C0LINK")
        card = card_post(fake_slack, "C0LINK")
        assert shown_buttons(card.params) == [f"verb.{v}" for v in shown]
        assert set(buttons_of(card.params)) <= ALL_BUTTONS | {"verb.lead"}
        assert not set(buttons_of(card.params)) & absent
        assert "verb.unlink" in menu_of(card.params)


async def test_a_modal_in_an_unlinked_channel_says_how_to_link_instead_of_a_form(bot: RunningBot) -> None:
    _, view = await open_modal(bot, "status", "C0NOTHING")
    assert "submit" not in view and not any(b["type"] == "input" for b in view["blocks"])
    assert "isn't linked" in text_of(view) and "/incident link" in text_of(view)


async def test_pagerdutys_reassign_button_opens_a_user_picker_and_reassigns(
    fake_slack: FakeSlack, sqlite_url: str
) -> None:
    async with provider_bot("pagerduty", fake_slack, sqlite_url) as pb:
        incident = pb.fake.add_incident("Checkout is failing")  # type: ignore[attr-defined]
        await pb.bot.run(f"link pd:{incident['incident_number']}", channel="C0PD")
        card = card_post(fake_slack, "C0PD")
        updated = len(fake_slack.of("views.update"))
        assert (await click(pb.bot, card, "verb.reassign"))[0] == 200
        [*_, filled] = await fake_slack.wait_for(updated + 1, "views.update")
        view, view_id = filled.params["view"], filled.params["view_id"]
        assert [b["element"]["type"] for b in view["blocks"] if b["type"] == "input"] == ["users_select"]
        unknown = await submit(pb.bot, view_id, view, {"user": "U999"})
        assert "no PagerDuty account" in unknown["errors"]["user"] and pb.fake.writes() == []
        before = len(fake_slack.answers())
        assert await submit(pb.bot, view_id, view, {"user": "U333"}) == {}
        [*_, answer] = await fake_slack.wait_for(before + 1)
        assert "handed the incident to <@U333>" in text_of(answer.params)
        [update] = await fake_slack.wait_for(1, "chat.update")  # the card shows the new assignee
        assert "<@U333>" in text_of(update.params)


async def test_a_modal_for_what_pagerduty_lacks_says_so_and_links_the_incident(
    fake_slack: FakeSlack, sqlite_url: str
) -> None:
    async with provider_bot("pagerduty", fake_slack, sqlite_url) as pb:
        incident = pb.fake.add_incident("Checkout is failing")  # type: ignore[attr-defined]
        await pb.bot.run(f"link pd:{incident['incident_number']}", channel="C0PD")
        _, view = await open_modal(pb.bot, "assign", "C0PD")
        assert "submit" not in view
        assert "PagerDuty" in text_of(view) and incident["html_url"] in text_of(view)
        assert pb.fake.writes() == []


async def test_when_the_modal_cannot_open_the_user_gets_the_usage_line(bot: RunningBot) -> None:
    bot.slack.errors["views.open"] = "expired_trigger_id"
    _, channel = await bot.declare("Checkout is failing")
    before = len(bot.slack.answers())
    await bot.command("severity", channel=channel)
    [*_, answer] = await bot.slack.wait_for(before + 1)
    assert answer.params["response_type"] == "ephemeral"
    assert "/incident severity &lt;severity&gt;" in text_of(answer.params)


async def test_declare_and_link_work_through_their_modals(bot: RunningBot) -> None:
    view_id, view = await open_modal(bot, "declare", "C111")
    assert select_options(view, "sev") == ["SEV1", "SEV2", "SEV3", "SEV4"]
    before = len(bot.slack.answers())
    await submit(bot, view_id, view, {"name": "Payments <!channel> down", "sev": "SEV2", "summary": "5xx"})
    await bot.slack.wait_for(before + 2)
    [created] = bot.slack.of("conversations.create")
    assert created.params["name"].startswith("inc-1-payments")
    card = card_post(bot.slack, bot.slack.of("conversations.invite")[-1].params["channel"])
    assert "SEV2" in text_of(card.params) and "&lt;!channel&gt;" in text_of(card.params)

    view_id, view = await open_modal(bot, "link", "C0OTHER")
    assert (await submit(bot, view_id, view, {"incident": "not a ref"}))["response_action"] == "errors"
    before = len(bot.slack.answers())
    assert await submit(bot, view_id, view, {"incident": "INC-1"}) == {}
    [*_, linked] = await bot.slack.wait_for(before + 1)
    assert "linked this channel" in text_of(linked.params)
