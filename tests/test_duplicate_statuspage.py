"""`duplicate` and `statuspage` end to end: signed slash commands and clicks to the running
app, every provider request checked by the fakes against the provider's OpenAPI document.

Both are asked first: the question changes nothing (the store, the fakes and Slack are read
back), and only its button acts. A duplicate moves this incident's channels to the other
and tells both; a status page incident is made once and updated after, and the card links it.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator

import pytest

from bot.providers.builtin import tables as builtin_tables
from bot.store import tables
from tests.conftest import ProviderBot, RunningBot, provider_bot
from tests.fakes.firehydrant import FakeFireHydrant
from tests.fakes.incidentio import STATUSES, FakeIncidentIo
from tests.fakes.pagerduty import FakePagerDuty
from tests.helpers import buttons_of, click_element, open_modal, store_rows, submit, text_of, wait_until
from tests.slackfake import FakeSlack, block_actions

HERE = "C0DUPHERE"  # the duplicate's channel
THERE = "C0DUPTHERE"  # the channel of the incident that goes on


async def click_on(bot: RunningBot, element: dict, *, channel: str, message_ts: str) -> None:
    """A click on a question's button; each question is its own message (`message_ts`), so
    two clicks on two questions are two clicks, not one clicked twice."""
    payload = block_actions(
        {"action_id": element["action_id"], "value": element["value"]},
        user="U111",
        channel=channel,
        message_ts=message_ts,
        response_url=bot.slack.response_url("click"),
    )
    assert (await bot.interact(payload))[0] == 200
    await bot.settled()


async def links(bot: RunningBot) -> dict[str, str]:
    return {r["channel_id"]: r["reference"] for r in await store_rows(bot, tables.links)}


def said_in(slack: FakeSlack, channel: str) -> list[str]:
    return [text_of(c.params) for c in slack.of("chat.postMessage") if c.params["channel"] == channel]


async def builtin_status(bot: RunningBot, number: int) -> str:
    rows = await store_rows(bot, builtin_tables.incidents)
    return next(r["status"] for r in rows if r["number"] == number)


# duplicate at the built-in provider -----------------------------------------------------------
async def test_duplicate_asks_first_and_changes_nothing_until_the_button(bot: RunningBot) -> None:
    await bot.declare("Checkout is failing")
    _, here = await bot.declare("Payments erroring")
    await bot.settled()
    before_links, before_posts = await links(bot), len(bot.slack.of("chat.postMessage"))
    status = await builtin_status(bot, 2)
    asked = await bot.run("duplicate INC-1", channel=here)
    said = text_of(asked)
    assert "Mark INC-2 a duplicate of" in said and "INC-1: Checkout is failing" in said
    assert (
        "Nothing happens until you click the button." in said
        and "resolved, with a note pointing at INC-1" in said
    )
    assert asked["response_type"] == "ephemeral"
    button = buttons_of(asked)["verb.duplicate"]
    assert button["confirm"] and json.loads(button["value"])["r"] == "INC-2"
    await bot.settled()
    assert await links(bot) == before_links
    assert await builtin_status(bot, 2) == status != "resolved"
    assert len(bot.slack.of("chat.postMessage")) == before_posts


async def test_the_question_from_another_channel_says_the_whole_command_to_type_again(
    bot: RunningBot,
) -> None:
    await bot.declare("Checkout is failing")
    await bot.declare("Payments erroring")
    asked = text_of(await bot.run("duplicate INC-1 incident:INC-2", channel="C0GENERAL"))
    assert "type `/incident duplicate INC-1 incident:INC-2` again: I ask once" in asked
    again = text_of(await bot.run("duplicate INC-1 incident:INC-2", channel="C0GENERAL"))
    assert "marked INC-2" in again and "duplicate of" in again
    assert await builtin_status(bot, 2) == "resolved"


async def test_the_button_resolves_it_moves_the_channel_and_tells_both(bot: RunningBot) -> None:
    _, there = await bot.declare("Checkout is failing")
    _, here = await bot.declare("Payments erroring")
    asked = await bot.run("duplicate INC-1", channel=here)
    pins = len(bot.slack.of("pins.add"))
    await click_element(bot, buttons_of(asked)["verb.duplicate"], user="U111", channel=here)

    assert await builtin_status(bot, 2) == "resolved"
    notes = [r["text"] for r in await store_rows(bot, builtin_tables.timeline) if r["incident"] == 2]
    assert any("Duplicate of INC-1: Checkout is failing" in n for n in notes)
    assert (await links(bot))[here] == "INC-1"
    cards = {r["channel_id"]: r["incident_id"] for r in await store_rows(bot, tables.cards)}
    assert cards[here] == cards[there]  # this channel's card is INC-1's now, pinned
    assert len(bot.slack.of("pins.add")) == pins + 1
    here_said = "\n".join(said_in(bot.slack, here))
    assert "marked INC-2 a duplicate of" in here_said and "so this channel now follows it: INC-1" in here_said
    there_said = "\n".join(said_in(bot.slack, there))
    assert "marked INC-2 (Payments erroring) a duplicate of this incident, INC-1" in there_said


async def test_naming_the_incident_itself_is_refused_and_changes_nothing(bot: RunningBot) -> None:
    _, here = await bot.declare("Payments erroring")
    await bot.settled()
    status = await builtin_status(bot, 1)
    answer = await bot.run("duplicate INC-1", channel=here)
    said = text_of(answer)
    assert "is this incident itself" in said and "Nothing was changed" in said
    assert "verb.duplicate" not in buttons_of(answer)
    assert await builtin_status(bot, 1) == status != "resolved"
    assert (await links(bot))[here] == "INC-1"


# duplicate at PagerDuty: a merge -------------------------------------------------------------
@pytest.fixture
async def pd(fake_slack: FakeSlack, sqlite_url: str) -> AsyncIterator[ProviderBot]:
    async with provider_bot("pagerduty", fake_slack, sqlite_url) as pb:
        yield pb


def pd_fake(pb: ProviderBot) -> FakePagerDuty:
    assert isinstance(pb.fake, FakePagerDuty)
    return pb.fake


async def test_pagerduty_merges_the_duplicate_into_the_other_after_the_button(pd: ProviderBot) -> None:
    fake = pd_fake(pd)
    survivor, duplicate = fake.add_incident("Checkout is failing"), fake.add_incident("Checkout 5xx")
    await pd.bot.run("link pd:1", channel=THERE)
    await pd.bot.run("link pd:2", channel=HERE)
    asked = await pd.bot.run("duplicate pd:1", channel=HERE)
    assert "is merged into" in text_of(asked) and "Nothing happens until you click the button." in text_of(
        asked
    )
    assert fake.of("PUT", r"/incidents/.*/merge") == []

    await click_element(pd.bot, buttons_of(asked)["verb.duplicate"], user="U111", channel=HERE)
    [merge] = fake.of("PUT", f"/incidents/{survivor['id']}/merge")
    assert merge.body == {"source_incidents": [{"id": duplicate["id"], "type": "incident_reference"}]}
    assert merge.headers["From"] == "bot@example.com"
    assert duplicate["status"] == "resolved" and survivor["status"] == "triggered"
    assert (await links(pd.bot))[HERE] == (await links(pd.bot))[THERE]
    assert any("merged into" in s and "is resolved" in s for s in said_in(pd.bot.slack, HERE))
    assert any(
        "a duplicate of this incident" in s and "merged here" in s for s in said_in(pd.bot.slack, THERE)
    )


async def test_an_incident_at_another_provider_is_refused_and_changes_nothing(pd: ProviderBot) -> None:
    fake = pd_fake(pd)
    fake.add_incident("Checkout is failing")
    await pd.bot.run("link pd:1", channel=HERE)
    answer = text_of(await pd.bot.run("duplicate builtin:INC-1", channel=HERE))
    assert "builtin:INC-1 is at Built-in" in answer and "at the same provider" in answer
    assert "Nothing was changed" in answer
    await pd.bot.settled()
    assert fake.writes() == []
    assert (await links(pd.bot))[HERE] == "#1"


# duplicate at incident.io and FireHydrant: resolved with a note -------------------------------
@pytest.fixture
async def io(fake_slack: FakeSlack, sqlite_url: str) -> AsyncIterator[ProviderBot]:
    async with provider_bot("incidentio", fake_slack, sqlite_url) as pb:
        yield pb


def io_fake(pb: ProviderBot) -> FakeIncidentIo:
    assert isinstance(pb.fake, FakeIncidentIo)
    return pb.fake


async def test_incidentio_resolves_the_duplicate_with_a_note_pointing_at_the_other(io: ProviderBot) -> None:
    fake = io_fake(io)
    fake.add_incident("Checkout is failing", channel=THERE)
    duplicate = fake.add_incident("Checkout 5xx", channel=HERE)
    await io.bot.run("link INC-1", channel=THERE)
    await io.bot.run("link INC-2", channel=HERE)
    asked = await io.bot.run("duplicate INC-1", channel=HERE)
    assert "No merge at incident.io" in text_of(asked)
    assert fake.of("POST", "/v2/incident_updates") == []

    await click_element(io.bot, buttons_of(asked)["verb.duplicate"], user="U111", channel=HERE)
    [resolved] = fake.of("POST", "/v2/incident_updates")
    assert resolved.body["incident_id"] == duplicate["id"]
    assert resolved.body["to_incident_status_id"] == next(
        s["id"] for s in STATUSES if s["category"] == "learning"
    )
    assert resolved.body["message"].startswith("Duplicate of INC-1: Checkout is failing")
    assert (await links(io.bot))[HERE] == "INC-1"
    assert any("a duplicate of this incident, INC-1" in s for s in said_in(io.bot.slack, THERE))


@pytest.fixture
async def fh(fake_slack: FakeSlack, sqlite_url: str) -> AsyncIterator[ProviderBot]:
    async with provider_bot("firehydrant", fake_slack, sqlite_url) as pb:
        yield pb


def fh_fake(pb: ProviderBot) -> FakeFireHydrant:
    assert isinstance(pb.fake, FakeFireHydrant)
    return pb.fake


async def test_firehydrant_resolves_the_duplicate_and_notes_the_other(fh: ProviderBot) -> None:
    fake = fh_fake(fh)
    survivor = fake.add_incident("Checkout is failing")
    duplicate = fake.add_incident("Checkout 5xx")
    await fh.bot.run(f"link firehydrant:{survivor['id']}", channel=THERE)
    await fh.bot.run(f"link firehydrant:{duplicate['id']}", channel=HERE)
    asked = await fh.bot.run(f"duplicate firehydrant:{survivor['id']}", channel=HERE)
    assert "No merge at FireHydrant" in text_of(asked)
    await click_element(fh.bot, buttons_of(asked)["verb.duplicate"], user="U111", channel=HERE)
    assert len(fake.of("PUT", f"/v1/incidents/{duplicate['id']}/resolve")) == 1
    notes = [n["body"] for n in fake.notes if n["incident"] == duplicate["id"]]
    assert any(n.startswith("Duplicate of") and "Checkout is failing" in n for n in notes)
    assert (await links(fh.bot))[HERE] == (await links(fh.bot))[THERE]


# statuspage at incident.io: asked, made, then updated -----------------------------------------
async def test_statuspage_is_asked_first_then_made_then_updated_and_linked_on_the_card(
    io: ProviderBot,
) -> None:
    fake = io_fake(io)
    fake.add_incident("Checkout is failing", channel=HERE)
    await io.bot.run("link INC-1", channel=HERE)
    asked = await io.bot.run('statuspage "Payments degraded" component:api', channel=HERE)
    said = text_of(asked)
    assert "Publish INC-1 on Acme Status" in said and "Nothing was published yet." in said
    assert "Payments degraded" in said and "API (degraded performance)" in said and "investigating" in said
    assert asked["response_type"] == "ephemeral"
    await io.bot.settled()
    assert fake.of("POST", "/v2/status_page_incidents") == []

    await click_element(io.bot, buttons_of(asked)["verb.statuspage"], user="U111", channel=HERE)
    [made] = fake.of("POST", "/v2/status_page_incidents")
    api = fake.status_components[0]["id"]
    assert made.body["status_page_id"] == fake.status_pages[0]["id"]
    assert made.body["name"] == "Payments degraded" and made.body["message"] == "Payments degraded"
    assert made.body["component_statuses"] == [
        {"component_id": api, "component_status": "degraded_performance"}
    ]
    assert made.body["idempotency_key"] and made.body["notify_subscribers"] is True
    [sid] = fake.status_page_incidents
    url = f"https://status.acme.example/incidents/{sid}"
    assert any("published INC-1" in s and url in s for s in said_in(io.bot.slack, HERE))
    await wait_until(
        lambda: any(url in text_of(c.params) for c in io.bot.slack.of("chat.update")),
        what="the card redrawn with the status page's link",
    )
    card = text_of(await io.bot.run("info", channel=HERE))
    assert url in card and "on the status page Acme Status" in card

    again = await io.bot.run("statuspage Rolled back, recovering state:monitoring", channel=HERE)
    assert "Post this update on Acme Status" in text_of(again) and "Payments degraded" in text_of(again)
    await click_on(io.bot, buttons_of(again)["verb.statuspage"], channel=HERE, message_ts="2.2")
    assert len(fake.of("POST", "/v2/status_page_incidents")) == 1  # updated, not made again
    [update] = fake.of("POST", "/v2/status_page_incident_updates")
    assert update.body["status_page_incident_id"] == sid
    assert (
        update.body["message"] == "Rolled back, recovering" and update.body["incident_status"] == "monitoring"
    )
    assert update.body["component_statuses"] == [
        {"component_id": api, "component_status": "degraded_performance"}
    ]


async def test_a_component_that_matches_nothing_lists_those_there_are(io: ProviderBot) -> None:
    fake = io_fake(io)
    fake.add_incident("Checkout is failing", channel=HERE)
    await io.bot.run("link INC-1", channel=HERE)
    answer = await io.bot.run("statuspage Payments degraded component:database", channel=HERE)
    said = text_of(answer)
    assert "“database” is not a component here" in said and "`API`" in said and "`Web app`" in said
    assert "verb.statuspage" not in buttons_of(answer)
    await io.bot.settled()
    assert fake.writes() == []


async def test_with_several_status_pages_it_asks_which_and_publishes_on_the_one_named(
    io: ProviderBot,
) -> None:
    """A public post on the wrong page is not taken back: with two pages and no `page:`, it is
    refused with both names; `page:` picks one, whose own components are the ones matched."""
    fake = io_fake(io)
    internal = fake.add_status_page("Acme Internal", ["Payments API", "Ledger"])
    fake.add_incident("Checkout is failing", channel=HERE)
    await io.bot.run("link INC-1", channel=HERE)

    which = text_of(await io.bot.run("statuspage Payments degraded", channel=HERE))
    assert "incident.io has 2 status pages: say which with `page:`" in which
    assert "`Acme Status`" in which and "`Acme Internal`" in which and "Nothing was published" in which
    elsewhere = text_of(
        await io.bot.run("statuspage Payments degraded page:internal component:web", channel=HERE)
    )
    assert "“web” is not a component here" in elsewhere and "`Ledger`" in elsewhere  # that page's own
    assert "`Web app`" not in elsewhere
    unknown = text_of(await io.bot.run("statuspage Payments degraded page:public", channel=HERE))
    assert "“public” is not a status page here" in unknown

    asked = await io.bot.run("statuspage Payments degraded page:internal component:ledger", channel=HERE)
    assert "Publish INC-1 on Acme Internal" in text_of(asked)
    await io.bot.settled()
    assert fake.of("POST", "/v2/status_page_incidents") == []
    await click_element(io.bot, buttons_of(asked)["verb.statuspage"], user="U111", channel=HERE)
    [made] = fake.of("POST", "/v2/status_page_incidents")
    ledger = next(c["id"] for c in fake.status_components if c["name"] == "Ledger")
    assert made.body["status_page_id"] == internal["id"]
    assert made.body["component_statuses"] == [
        {"component_id": ledger, "component_status": "degraded_performance"}
    ]

    # Its updates go to that page, named or not; another page named is refused.
    moved = text_of(await io.bot.run('statuspage Recovering page:"Acme Status"', channel=HERE))
    assert "INC-1 is on Acme Internal already" in moved and "Nothing was published" in moved
    again = await io.bot.run("statuspage Recovering state:monitoring", channel=HERE)
    assert "Post this update on Acme Internal" in text_of(again)
    await click_on(io.bot, buttons_of(again)["verb.statuspage"], channel=HERE, message_ts="2.2")
    [update] = fake.of("POST", "/v2/status_page_incident_updates")
    assert update.body["status_page_incident_id"] == next(iter(fake.status_page_incidents))
    assert update.body["component_statuses"] == [
        {"component_id": ledger, "component_status": "degraded_performance"}
    ]
    assert len(fake.of("POST", "/v2/status_page_incidents")) == 1


# statuspage at FireHydrant: the page added once, each message a public note -------------------
async def test_firehydrant_adds_its_status_page_once_and_posts_public_notes(fh: ProviderBot) -> None:
    fake = fh_fake(fh)
    incident = fake.add_incident("Checkout is failing")
    await fh.bot.run(f"link firehydrant:{incident['id']}", channel=HERE)
    refused = text_of(await fh.bot.run("statuspage Payments degraded component:api", channel=HERE))
    assert "`component:` names nothing there" in refused

    asked = await fh.bot.run("statuspage Payments degraded", channel=HERE)
    assert "Publish" in text_of(asked) and "Acme Status" in text_of(asked)
    assert fake.of("POST", r"/v1/incidents/.*/status_pages") == []
    await click_element(fh.bot, buttons_of(asked)["verb.statuspage"], user="U111", channel=HERE)
    [added] = fake.of("POST", f"/v1/incidents/{incident['id']}/status_pages")
    assert added.body == {
        "integration_slug": "nunc",
        "integration_id": "nunc-1",
        "title": "Payments degraded",
    }
    [page] = fake.incident_status_pages[incident["id"]]

    again = await fh.bot.run("statuspage Fixed, watching", channel=HERE)
    await click_on(fh.bot, buttons_of(again)["verb.statuspage"], channel=HERE, message_ts="2.2")
    assert len(fake.of("POST", r"/v1/incidents/.*/status_pages")) == 1
    public = [n for n in fake.notes if n["visibility"] == "open_to_public"]
    assert [n["body"] for n in public] == ["Payments degraded", "Fixed, watching"]
    assert all(n["status_pages"] == [{"id": page["id"], "integration_slug": "nunc"}] for n in public)


async def test_firehydrant_with_two_status_pages_publishes_on_the_one_named(fh: ProviderBot) -> None:
    fake = fh_fake(fh)
    fake.nunc_connections.append({"id": "nunc-2", "company_name": "Acme", "title": "Acme Internal"})
    incident = fake.add_incident("Checkout is failing")
    await fh.bot.run(f"link firehydrant:{incident['id']}", channel=HERE)
    which = text_of(await fh.bot.run("statuspage Payments degraded", channel=HERE))
    assert "FireHydrant has 2 status pages: say which with `page:`" in which and "`Acme Internal`" in which
    asked = await fh.bot.run("statuspage Payments degraded page:internal", channel=HERE)
    assert "Acme Internal" in text_of(asked)
    await fh.bot.settled()
    assert fake.writes() == []
    await click_element(fh.bot, buttons_of(asked)["verb.statuspage"], user="U111", channel=HERE)
    [added] = fake.of("POST", f"/v1/incidents/{incident['id']}/status_pages")
    assert added.body["integration_id"] == "nunc-2"


# where there is no status page ----------------------------------------------------------------
async def test_pagerduty_says_there_is_no_status_page_here_and_what_to_do(pd: ProviderBot) -> None:
    pd_fake(pd).add_incident("Checkout is failing")
    await pd.bot.run("link pd:1", channel=HERE)
    answer = text_of(await pd.bot.run("statuspage Payments degraded", channel=HERE))
    assert "does not post to PagerDuty status pages" in answer and "update to:stakeholders" in answer
    await pd.bot.settled()
    assert pd_fake(pd).writes() == []


async def test_the_builtin_provider_says_it_has_no_status_page(bot: RunningBot) -> None:
    _, channel = await bot.declare("Payments erroring")
    said = text_of(await bot.run("statuspage Payments degraded", channel=channel))
    assert "no public status page" in said and "/incident update" in said


async def test_the_same_duplicate_typed_again_after_the_question_is_done(bot: RunningBot) -> None:
    """Where there is no button to click (the shell), or someone would rather type: asked once."""
    await bot.declare("Checkout is failing")
    _, here = await bot.declare("Payments erroring")
    first = await bot.run("duplicate INC-1", channel=here)
    assert "verb.duplicate" in buttons_of(first)
    await bot.settled()
    assert await builtin_status(bot, 2) != "resolved"
    again = text_of(await bot.run("duplicate INC-1", channel=here))
    assert "marked INC-2 a duplicate of" in again
    await bot.settled()
    assert await builtin_status(bot, 2) == "resolved"
    assert (await links(bot))[here] == "INC-1"


async def test_the_statuspage_form_asks_before_it_publishes_as_typed_words_do(io: ProviderBot) -> None:
    fake = io_fake(io)
    fake.add_incident("Checkout is failing", channel=HERE)
    await io.bot.run("link INC-1", channel=HERE)
    view_id, view = await open_modal(io.bot, "statuspage", HERE)
    assert view["callback_id"] == "form.statuspage"
    before = len(io.bot.slack.answers())
    answers = {"message": "Payments degraded", "component": "web", "state": "identified"}
    assert await submit(io.bot, view_id, view, answers) == {}
    [*_, asked] = await io.bot.slack.wait_for(before + 1)
    said = text_of(asked.params)
    assert "Nothing was published yet." in said and "Web app (degraded performance)" in said
    await io.bot.settled()
    assert fake.of("POST", "/v2/status_page_incidents") == []

    await click_on(io.bot, buttons_of(asked.params)["verb.statuspage"], channel=HERE, message_ts="3.3")
    [made] = fake.of("POST", "/v2/status_page_incidents")
    web = fake.status_components[1]["id"]
    assert made.body["incident_status"] == "identified" and made.body["message"] == "Payments degraded"
    assert made.body["component_statuses"] == [
        {"component_id": web, "component_status": "degraded_performance"}
    ]


async def test_a_duplicate_of_a_resolved_incident_is_refused_and_changes_nothing(bot: RunningBot) -> None:
    _, there = await bot.declare("Checkout is failing")
    _, here = await bot.declare("Payments erroring")
    await bot.run("resolve", channel=there)
    await bot.settled()
    said = text_of(await bot.run("duplicate INC-1", channel=here))
    assert "INC-1 is resolved" in said and "Nothing was changed" in said
    assert await builtin_status(bot, 2) != "resolved"
    assert (await links(bot))[here] == "INC-2"
