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
from bot.commands.refs import Target
from bot.commands.results import (
    AskDuplicate,
    AskInvite,
    AskRelink,
    AskStatusPage,
    Card,
    Nudge,
    Paged,
    PageRing,
    Reminder,
    Result,
    SameDeclared,
    card,
)
from bot.commands.retro import AskRetro, Document
from bot.domain import Capability, FollowUp, Incident, Person, Pulse, StatusPost
from bot.present import present
from bot.providers import firehydrant, incidentio, pagerduty
from bot.providers.base import NoDirectory
from bot.providers.builtin import BuiltinProvider
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
# The incident in each phase, led and leaderless: each card offers different buttons.
INCIDENTS = [
    INCIDENT.model_copy(update={"status": status, "pulse": Pulse(lead_role="lead"), "roles": roles})
    for status in ("triage", "investigating", "resolved")
    for roles in ({}, {"lead": Person(slack_id="U1")})
]


# What each adapter really offers (the set above gives the built-in one every capability,
# so that every button is built somewhere).
BUILTIN = frozenset(c for c in Capability if c not in BuiltinProvider.unsupported)
REAL_SETS = CAPABILITY_SETS | {"builtin": BUILTIN}


def cards(sets: dict[str, frozenset[Capability]] = CAPABILITY_SETS) -> list[Result]:
    """Every card the bot can draw: each provider's capabilities, each phase."""
    at = INCIDENT.created_at
    return [card(i, capabilities, at) for capabilities in sets.values() for i in INCIDENTS]


def menu_options(blocks: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [
        option
        for block in blocks
        for element in block.get("elements", [])
        if element.get("type") == "overflow"
        for option in element["options"]
    ]


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
        # The questions asked before a second declare of one title, and before a re-link.
        SameDeclared(
            verb="declare", text="x", provider="builtin", incident_id="1", reference="INC-1", name="x"
        ),
        AskRelink(
            verb="link", text="INC-2", provider="builtin", incident_id="2", reference="INC-2", leaves="INC-1"
        ),
        # The question asked before a large user group is invited.
        AskInvite(
            verb="invite",
            text="<!subteam^S1|@eng>",
            provider="builtin",
            incident_id="1",
            reference="INC-1",
            groups={"eng": 60},
            threshold=50,
        ),
        # The questions asked before a duplicate is marked, and before a status page post.
        AskDuplicate(
            verb="duplicate",
            text="INC-1",
            provider="builtin",
            incident_id="2",
            reference="INC-2",
            of_reference="INC-1",
            of_name="x",
            provider_label="Built-in",
            merges=False,
        ),
        AskStatusPage(
            verb="statuspage",
            text="Payments degraded",
            provider="incidentio",
            incident_id="01X",
            reference="INC-1",
            page="Acme Status",
            provider_label="incident.io",
            post=StatusPost(title="Payments degraded", message="Payments degraded", status="investigating"),
        ),
        # A page's answer: page someone else, and escalate where the provider does.
        Paged(
            reference="INC-1",
            actor=Person(slack_id="U1"),
            target="Database",
            provider_label="PagerDuty",
            on=Target(provider="pagerduty", incident_id="P1", reference="#1"),
            capabilities=frozenset({Capability.PAGE, Capability.ESCALATE}),
        ),
        # A built-in page's DM, with its Acknowledge button.
        PageRing(incident=INCIDENT, page_id=1, channel_id="C1", actor=Person(slack_id="U1"), via="primary"),
        # The question before a retro canvas is written again: replace it, or a new one.
        AskRetro(
            verb="retro",
            provider="builtin",
            incident_id="1",
            reference="INC-1",
            document=Document(kind="canvas", id="F1", url="https://x.slack.com/docs/T1/F1"),
        ),
    ]


def emitted() -> tuple[set[str], set[str], set[str]]:
    """(button action_ids, view callback_ids, type-ahead action_ids) the bot can build."""
    buttons: set[str] = set()
    for result in cards() + notices():
        blocks = render_blocks(present(result))
        for block in blocks:
            buttons |= {e["action_id"] for e in block.get("elements", []) if e.get("type") == "button"}
        # A menu's option stands for its verb's button: the same listener takes it.
        buttons |= {ids.verb_action(json.loads(o["value"])["v"]) for o in menu_options(blocks)}
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
    for built in cards():
        assert block_problems(render_blocks(present(built))) == []
    for notice in notices():
        assert block_problems(render_blocks(present(notice))) == []
    for view in built_views():
        assert view_problems(view) == [], view["callback_id"]


def test_every_card_fits_a_phone_and_drops_nothing_its_provider_offers() -> None:
    """At most five buttons in a row, the rest in one menu; every button the phase offers
    is in one or the other."""
    for built in cards(REAL_SETS):
        assert isinstance(built, Card)
        [actions] = [b for b in render_blocks(present(built)) if b["type"] == "actions"]
        kinds = [e["type"] for e in actions["elements"]]
        assert kinds.count("button") <= 5 and kinds.count("overflow") <= 1, kinds
        shown = [e["action_id"] for e in actions["elements"] if e["type"] == "button"]
        shown += [ids.verb_action(json.loads(o["value"])["v"]) for o in menu_options([actions])]
        assert len(shown) == len(built.buttons) + len(built.menu), (built.incident.status, shown)


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

    options = {o["value"]: o for built in cards() for o in menu_options(render_blocks(present(built)))}
    assert options
    for value, option in sorted(options.items()):
        payload = block_actions(
            {"action_id": ids.MENU_ACTION, "type": "overflow", "selected_option": option},
            user="U111",
            channel="C111",
            message_ts="1.2",
            response_url=bot.slack.response_url("menu"),
        )
        assert (await bot.interact(payload))[0] == 200, value

    # The check can fail: an id nobody registered is refused.
    stray = block_actions(
        {"action_id": "verb.nothing", "value": target},
        user="U111",
        channel="C111",
        message_ts="1.2",
        response_url=bot.slack.response_url("act"),
    )
    assert (await bot.interact(stray))[0] == 404
