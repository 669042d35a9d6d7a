"""Every action_id and callback_id any built block or view can emit is handled by the
running app, and every handler the app registers is reachable from some block.

The ids are collected from what the bot really builds (cards for each provider's
capabilities, every verb's modal with short and long catalogues); the handling is
proven over HTTP: Bolt answers 404 to an interaction no listener takes."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from bot.commands import forms
from bot.commands.results import Nudge, Reminder, Result, card
from bot.domain import Capability, FollowUp, Incident
from bot.present import present
from bot.providers import firehydrant, incidentio, pagerduty
from bot.providers.base import NoDirectory
from bot.providers.facets import offered
from bot.slack import ids
from bot.slack.blocks import render_blocks
from bot.slack.modals import Meta, form_view
from tests.blockkit import block_problems, view_problems
from tests.conftest import RunningBot
from tests.slackfake import block_actions, block_suggestion, view_submission

_NOWHERE = "http://127.0.0.1:9"  # never called: only what each adapter offers is read
CAPABILITY_SETS = {
    "builtin": frozenset(Capability),
    "incidentio": offered(incidentio.build("k", _NOWHERE)),
    "pagerduty": offered(
        pagerduty.build("k", _NOWHERE, from_email="a@example.com", service_id="PS", directory=NoDirectory())
    ),
    "firehydrant": offered(firehydrant.build("k", _NOWHERE, directory=NoDirectory())),
}
INCIDENT = Incident(
    provider="builtin", id="INC-1", reference="INC-1", name="x", status="triage", created_at=datetime.now(UTC)
)


def built_views() -> list[dict[str, Any]]:
    """Every modal, with each choice short (a static select) and long (a type-ahead)."""
    views = []
    for verb in ids.form_verbs():
        for size in (3, 101):
            choices = {f.key: [f"name {n}" for n in range(size)] for f in forms.fields(verb) if f.choices}
            views.append(form_view(verb, Meta(verb.name, "C1"), choices))
    return views


def notices() -> list[Result]:
    """The bot's own notices that carry buttons (a reminder's, a follow-up's nudge)."""
    item = FollowUp(id="1", number=1, title="x", due=datetime.now(UTC))
    return [
        Reminder(incident=INCIDENT, quiet_for=1900, every=1800, command="/incident"),
        Nudge(incident=INCIDENT, followup=item, command="/incident"),
    ]


def emitted() -> tuple[set[str], set[str], set[str]]:
    """(button action_ids, view callback_ids, type-ahead action_ids) the bot can build."""
    buttons: set[str] = set()
    at = INCIDENT.created_at
    built = [card(INCIDENT, capabilities, at) for capabilities in CAPABILITY_SETS.values()] + notices()
    for result in built:
        for block in render_blocks(present(result)):
            buttons |= {e["action_id"] for e in block.get("elements", []) if e.get("type") == "button"}
    callbacks, suggestions = set(), set()
    for view in built_views():
        callbacks.add(view["callback_id"])
        for block in view["blocks"]:
            element = block.get("element") or {}
            if element.get("type") == "external_select":
                suggestions.add(element["action_id"])
            elif block.get("type") == "input":
                assert element["action_id"] == ids.INPUT_ACTION  # never dispatched: no handler needed
                assert not block.get("dispatch_action")
    return buttons, callbacks, suggestions


def test_every_registered_handler_is_reachable_from_a_built_block() -> None:
    buttons, callbacks, suggestions = emitted()
    assert buttons == {ids.verb_action(v.name) for v in ids.button_verbs()}
    assert callbacks == {ids.form_callback(v.name) for v in ids.form_verbs()}
    assert suggestions == {ids.choose_action(c) for c in forms.Choices}


def test_every_built_card_and_modal_is_within_block_kit_limits() -> None:
    for capabilities in CAPABILITY_SETS.values():
        assert block_problems(render_blocks(present(card(INCIDENT, capabilities, INCIDENT.created_at)))) == []
    for notice in notices():
        assert block_problems(render_blocks(present(notice))) == []
    for view in built_views():
        assert view_problems(view) == [], view["callback_id"]


async def test_the_running_app_handles_every_id_a_block_or_view_can_emit(bot: RunningBot) -> None:
    buttons, _, suggestions = emitted()
    target = ids.encode_target("builtin", "INC-404", "INC-404")
    for action_id in sorted(buttons):
        payload = block_actions(
            {"action_id": action_id, "value": target},
            user="U111",
            channel="C111",
            message_ts="1.2",
            response_url=bot.slack.response_url("act"),
        )
        assert (await bot.interact(payload))[0] == 200, action_id
    for view in built_views():
        status, body = await bot.interact(view_submission(view, "V1", {}, user="U111"))
        assert status == 200, view["callback_id"]
        assert json.loads(body)["response_action"] == "errors"  # required fields left empty
    for action_id in sorted(suggestions):
        view = next(v for v in built_views() if action_id in json.dumps(v))
        status, body = await bot.interact(block_suggestion(view, "V1", action_id, "x", "", user="U111"))
        assert status == 200 and "options" in json.loads(body), action_id

    # The check can fail: an id nobody registered is refused.
    stray = block_actions(
        {"action_id": "verb.nothing", "value": target},
        user="U111",
        channel="C111",
        message_ts="1.2",
        response_url=bot.slack.response_url("act"),
    )
    assert (await bot.interact(stray))[0] == 404
