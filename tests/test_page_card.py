"""The card's *Page someone* and its modal, at PagerDuty: the button where people are
brought in (a new incident, then the menu), a form with a person picker and one list of the
provider's escalation policies and the workspace's user groups, and its answers sent as the
typed `page` would be: checked at the spec-validated PagerDuty fake and the fake Slack."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from tests.conftest import ProviderBot, provider_bot
from tests.fakes.pagerduty import FakePagerDuty
from tests.helpers import PD_SECRET, buttons_of, card_post, click, menu_of, shown_buttons, submit, text_of
from tests.slackfake import FakeSlack

CHANNEL = "C0PGCARD"
SRE = "S0SRE"


@pytest.fixture
async def pd(fake_slack: FakeSlack, sqlite_url: str) -> AsyncIterator[ProviderBot]:
    fake_slack.groups[SRE] = ["U222", "U333"]
    fake_slack.handles[SRE] = "sre-leads"
    async with provider_bot("pagerduty", fake_slack, sqlite_url, pagerduty_webhook_secret=PD_SECRET) as pb:
        yield pb


def fake(pb: ProviderBot) -> FakePagerDuty:
    assert isinstance(pb.fake, FakePagerDuty)
    return pb.fake


async def page_form(pb: ProviderBot) -> tuple[str, dict, dict]:
    """The new incident's card, its Page someone clicked: the filled form and its view id."""
    incident = fake(pb).add_incident("Checkout is failing")
    await pb.bot.run(f"link pd:{incident['incident_number']}", channel=CHANNEL)
    card = card_post(pb.bot.slack, CHANNEL)
    assert "verb.page" in shown_buttons(card.params)  # triggered: paging people in comes first
    updated = len(pb.bot.slack.of("views.update"))
    assert (await click(pb.bot, card, "verb.page"))[0] == 200
    [*_, filled] = await pb.bot.slack.wait_for(updated + 1, "views.update")
    return filled.params["view_id"], filled.params["view"], incident


def inputs(view: dict) -> dict[str, dict]:
    return {b["block_id"]: b for b in view["blocks"] if b["type"] == "input"}


async def test_page_someone_opens_a_person_picker_and_a_list_of_policies_and_groups(pd: ProviderBot) -> None:
    view_id, view, incident = await page_form(pd)
    fields = inputs(view)
    assert fields["who.person"]["element"]["type"] == "users_select"
    named = [o["value"] for o in fields["who.name"]["element"]["options"]]
    assert {"Checkout", "Database Primary", "Network"} <= set(named) and "@sre-leads" in named
    assert fields["who.person"]["optional"] and fields["who.name"]["optional"]

    before = len(pd.bot.slack.answers())
    assert await submit(pd.bot, view_id, view, {"who.name": "Database Primary"}) == {}
    [*_, answer] = await pd.bot.slack.wait_for(before + 1)
    assert "Database Primary" in text_of(answer.params)
    [sent] = fake(pd).of("POST", f"/incidents/{incident['id']}/responder_requests")
    assert sent.body["responder_request_targets"] == [
        {"responder_request_target": {"id": "PESC02", "type": "escalation_policy_reference"}}
    ]


async def test_a_group_picked_in_the_form_pages_its_members(pd: ProviderBot) -> None:
    view_id, view, incident = await page_form(pd)
    assert await submit(pd.bot, view_id, view, {"who.name": "@sre-leads"}) == {}
    await pd.bot.settled()
    [sent] = fake(pd).of("POST", f"/incidents/{incident['id']}/responder_requests")
    paged = {t["responder_request_target"]["id"] for t in sent.body["responder_request_targets"]}
    assert paged == {fake(pd).users["U222"]["id"], fake(pd).users["U333"]["id"]}


async def test_the_form_refuses_both_or_neither_and_pages_nobody(pd: ProviderBot) -> None:
    view_id, view, incident = await page_form(pd)
    neither = await submit(pd.bot, view_id, view, {})
    assert (
        neither["response_action"] == "errors"
        and "pick a person or a name" in neither["errors"]["who.person"]
    )
    both = await submit(pd.bot, view_id, view, {"who.person": "U333", "who.name": "Network"})
    assert "Pick one" in both["errors"]["who.name"]
    nobody = await submit(pd.bot, view_id, view, {"who.person": "U999"})  # no PagerDuty account
    assert "no PagerDuty account" in nobody["errors"]["who.person"]
    await pd.bot.settled()
    assert fake(pd).of("POST", f"/incidents/{incident['id']}/responder_requests") == []


async def test_once_acknowledged_page_someone_is_in_the_cards_menu(pd: ProviderBot) -> None:
    _, _, _ = await page_form(pd)
    await pd.bot.run("ack", channel=CHANNEL)
    [*_, redraw] = await pd.bot.slack.wait_for(1, "chat.update")
    assert "verb.page" not in shown_buttons(redraw.params) and "verb.page" in menu_of(redraw.params)
    await pd.bot.run("resolve", channel=CHANNEL)
    await pd.bot.settled()
    [*_, closed] = pd.bot.slack.of("chat.update")
    assert "verb.page" not in buttons_of(closed.params) and "verb.page" not in menu_of(closed.params)


def test_only_what_gives_way_is_ever_left_off_a_full_card() -> None:
    """Slack's menu holds five: a verb the card should offer and neither its row nor its menu
    shows must be one declared `gives_way` (typed as well), at every provider and state."""
    from bot.commands import registry
    from bot.commands.registry import Phase
    from bot.domain import Capability
    from bot.providers import facets
    from bot.providers.builtin import BuiltinProvider
    from bot.providers.firehydrant import FireHydrantProvider
    from bot.providers.incidentio import IncidentIoProvider
    from bot.providers.pagerduty import PagerDutyProvider

    for adapter in (BuiltinProvider, IncidentIoProvider, PagerDutyProvider, FireHydrantProvider):
        can = frozenset(
            c
            for c in Capability
            if c not in adapter.unsupported
            and (c not in facets.FACETS or issubclass(adapter, facets.FACETS[c]))
        )
        for phase in Phase:
            for leaderless in (False, True):
                shown, menu = registry.buttons(can, phase, leaderless=leaderless)
                wanted = {
                    v.name
                    for v in registry.VERBS
                    if v.button
                    and v.on_card
                    and phase in v.card_in
                    and (v.capability is None or v.capability in can)
                }
                left_out = wanted - {v.name for v in (*shown, *menu)}
                assert all(registry.lookup(name).gives_way for name in left_out), (adapter, phase, left_out)
                page = registry.lookup("page")
                if phase is not Phase.CLOSED and page.capability in can:
                    assert page in (*shown, *menu), (adapter, phase, leaderless)
