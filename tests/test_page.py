"""`page` and `escalate` end to end: the request that reached the provider's fake (checked
against its official OpenAPI document), who was invited at the fake Slack, nobody paged
twice, and the answer told in the channel when PagerDuty's webhook says they replied."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import update

from bot.clock import SYSTEM
from bot.commands.parsed import GroupRef, ParsedCommand, UserRef
from bot.commands.parser import parse
from bot.commands.pipeline import Pipeline
from bot.slack.server import PIPELINE, RUNTIME
from bot.store import tables
from tests.conftest import (
    ProviderBot,
    RunningBot,
    make_settings,
    provider_bot,
    provider_fake,
    provider_settings,
    running_bot,
)
from tests.fakes.firehydrant import FakeFireHydrant
from tests.fakes.incidentio import FakeIncidentIo
from tests.fakes.pagerduty import FakePagerDuty, user
from tests.fakes.server import Fault
from tests.fakes.specs import SPECS
from tests.helpers import (
    IO_SECRET,
    PD_SECRET,
    deliver,
    io_example,
    io_headers,
    pd_signed,
    text_of,
    wait_until,
)
from tests.slackfake import FakeSlack

CHANNEL = "C0PAGE1"


@pytest.fixture
async def pd(fake_slack: FakeSlack, sqlite_url: str) -> AsyncIterator[ProviderBot]:
    async with provider_bot("pagerduty", fake_slack, sqlite_url, pagerduty_webhook_secret=PD_SECRET) as pb:
        yield pb


@pytest.fixture
async def io(fake_slack: FakeSlack, sqlite_url: str) -> AsyncIterator[ProviderBot]:
    async with provider_bot("incidentio", fake_slack, sqlite_url, incidentio_webhook_secret=IO_SECRET) as pb:
        yield pb


def io_fake(pb: ProviderBot) -> FakeIncidentIo:
    assert isinstance(pb.fake, FakeIncidentIo)
    return pb.fake


async def io_linked(pb: ProviderBot) -> dict:
    incident = io_fake(pb).add_incident("Checkout is failing", channel=CHANNEL, status="Triage")
    await pb.bot.run(f"link {incident['reference']}", channel=CHANNEL)
    return incident


def fake(pb: ProviderBot) -> FakePagerDuty:
    assert isinstance(pb.fake, FakePagerDuty)
    return pb.fake


async def linked(pb: ProviderBot) -> dict:
    incident = fake(pb).add_incident("Checkout is failing")
    await pb.bot.run(f"link pd:{incident['incident_number']}", channel=CHANNEL)
    return incident


def invited(slack: FakeSlack, channel: str) -> list[list[str]]:
    calls = [c for c in slack.of("conversations.invite") if c.params["channel"] == channel]
    return [str(c.params["users"]).split(",") for c in calls]


def said_in(slack: FakeSlack, channel: str) -> list[str]:
    return [text_of(c.params) for c in slack.of("chat.postMessage") if c.params["channel"] == channel]


def test_page_reads_a_person_a_group_or_a_name() -> None:
    person = parse("page <@U222|bea> the database is down")
    assert isinstance(person, ParsedCommand) and person.verb == "page"
    assert person.args["who"] == UserRef(id="U222", name="bea")
    assert person.args["message"] == "the database is down"
    group = parse("page <!subteam^S0SRE|@sre-team>")
    assert isinstance(group, ParsedCommand) and group.args["who"] == GroupRef(id="S0SRE", handle="sre-team")
    named = parse("page database")
    assert isinstance(named, ParsedCommand) and named.args["who"] == "database"


async def test_page_a_person_is_a_responder_request_with_the_requester_and_an_invite(
    pd: ProviderBot,
) -> None:
    incident = await linked(pd)
    answer = text_of(await pd.bot.run("page <@U333|cy> replica lag on db-2", channel=CHANNEL))
    assert "paged" in answer and "<@U333>" in answer and "PagerDuty" in answer
    [sent] = fake(pd).of("POST", f"/incidents/{incident['id']}/responder_requests")
    assert sent.headers["From"] == "bot@example.com"
    assert sent.body["requester_id"] == fake(pd).from_user["id"]
    assert sent.body["responder_request_targets"] == [
        {"responder_request_target": {"id": fake(pd).users["U333"]["id"], "type": "user_reference"}}
    ]
    assert "replica lag on db-2" in sent.body["message"] and "#1" in sent.body["message"]
    assert invited(pd.bot.slack, CHANNEL)[-1] == ["U333"]
    assert "<@U333> invited to this channel" in answer


async def test_page_an_escalation_policy_by_any_word_of_its_name(pd: ProviderBot) -> None:
    incident = await linked(pd)
    answer = text_of(await pd.bot.run("page database", channel=CHANNEL))
    assert "Database Primary" in answer
    [sent] = fake(pd).of("POST", f"/incidents/{incident['id']}/responder_requests")
    assert sent.body["responder_request_targets"] == [
        {"responder_request_target": {"id": "PESC02", "type": "escalation_policy_reference"}}
    ]


async def test_a_name_that_matches_nothing_lists_the_policies_and_pages_nobody(pd: ProviderBot) -> None:
    await linked(pd)
    answer = text_of(await pd.bot.run("page storage", channel=CHANNEL))
    assert "“storage” is not a policy to page here" in answer
    assert "`Checkout`" in answer and "`Database Primary`" in answer and "`Network`" in answer
    assert fake(pd).responder_requests == []


async def test_the_same_target_twice_within_minutes_pages_once_and_says_so(pd: ProviderBot) -> None:
    await linked(pd)
    await pd.bot.run("page <@U333|cy>", channel=CHANNEL)
    again = text_of(await pd.bot.run("page <@U333|cy>", channel=CHANNEL, user="U222"))
    assert "not paged again" in again
    assert len(fake(pd).responder_requests) == 1
    assert invited(pd.bot.slack, CHANNEL)[-1] == ["U333"] and len(invited(pd.bot.slack, CHANNEL)) == 1
    await pd.bot.run("page network", channel=CHANNEL)  # another target is another page
    assert len(fake(pd).responder_requests) == 2


async def test_a_page_that_went_out_says_so_when_slack_refuses_the_invite(pd: ProviderBot) -> None:
    await linked(pd)
    pd.bot.slack.errors["conversations.invite"] = "cant_invite"
    answer = text_of(await pd.bot.run("page <@U333|cy>", channel=CHANNEL))
    assert "paged <@U333>" in answer and "couldn't invite them here" in answer
    assert len(fake(pd).responder_requests) == 1


async def test_a_refused_page_says_what_failed_and_a_retry_may_page(pd: ProviderBot) -> None:
    incident = await linked(pd)
    del fake(pd).users["U333"]  # no PagerDuty account with cy's email
    refused = text_of(await pd.bot.run("page <@U333|cy>", channel=CHANNEL))
    assert "PagerDuty" in refused and "paged" not in refused.split("\n")[0].lower()
    assert fake(pd).responder_requests == []
    fake(pd).users["U333"] = user("U333")  # an account made for them meanwhile
    await pd.bot.run("page <@U333|cy>", channel=CHANNEL)
    assert [r["incident"] for r in fake(pd).responder_requests] == [incident["id"]]


async def test_a_page_that_timed_out_is_not_sent_again_by_a_retry(pd: ProviderBot) -> None:
    await linked(pd)
    fake(pd).faults.append(Fault("POST", r"/incidents/.*/responder_requests", "timeout"))
    first = text_of(await pd.bot.run("page <@U333|cy>", channel=CHANNEL))
    assert "may" in first.lower()
    seen = len(fake(pd).of("POST", r"/incidents/.*/responder_requests"))
    again = text_of(await pd.bot.run("page <@U333|cy>", channel=CHANNEL))
    assert "may or may not have gone out" in again and "Check at PagerDuty before paging again" in again
    assert len(fake(pd).of("POST", r"/incidents/.*/responder_requests")) == seen == 1


async def test_escalate_sets_the_next_escalation_level(pd: ProviderBot) -> None:
    incident = await linked(pd)
    answer = text_of(await pd.bot.run("escalate", channel=CHANNEL))
    assert "level 2" in answer
    assert fake(pd).escalation_levels[incident["id"]] == 2
    await pd.bot.run("escalate", channel=CHANNEL)
    assert fake(pd).escalation_levels[incident["id"]] == 3
    await pd.bot.run("escalate 2", channel=CHANNEL)
    puts = fake(pd).of("PUT", f"/incidents/{incident['id']}")
    assert [p.body["incident"]["escalation_level"] for p in puts] == [2, 3, 2]


async def test_the_responder_replying_is_told_in_the_channel(pd: ProviderBot) -> None:
    incident = await linked(pd)
    await pd.bot.run("page database", channel=CHANNEL)
    await pd.bot.settled()
    before = len(said_in(pd.bot.slack, CHANNEL))
    example: dict[str, Any] = json.loads(
        (SPECS / "pagerduty" / "webhooks" / "incident.priority_updated.json").read_text()
    )
    data = json.loads((SPECS / "pagerduty" / "webhooks" / "data" / "incident_responder.json").read_text())
    data["incident"]["id"] = incident["id"]
    data["state"] = "joined"
    example["event"] |= {"id": "01RESPONDER", "event_type": "incident.responder.replied", "data": data}
    body = json.dumps(example).encode()
    assert await deliver(pd, "pagerduty", body, pd_signed(body, PD_SECRET)) == 200
    [notice] = said_in(pd.bot.slack, CHANNEL)[before:]
    assert "Maeve" in notice and "joined" in notice
    assert await deliver(pd, "pagerduty", body, pd_signed(body, PD_SECRET)) == 200  # the same event
    assert await deliver(pd, "pagerduty", body, pd_signed(body, "wrong")) == 401
    assert len(said_in(pd.bot.slack, CHANNEL)) == before + 1


def responder_event(incident: dict, event_type: str, state: str, policy: str, event_id: str) -> bytes:
    """PagerDuty's own example delivery (incident_responder data), about this incident and
    the policy named, as PagerDuty sends it."""
    example: dict[str, Any] = json.loads(
        (SPECS / "pagerduty" / "webhooks" / "incident.priority_updated.json").read_text()
    )
    data = json.loads((SPECS / "pagerduty" / "webhooks" / "data" / "incident_responder.json").read_text())
    data["incident"]["id"] = incident["id"]
    data["escalation_policy"]["id"] = policy
    data["state"] = state
    example["event"] |= {"id": event_id, "event_type": event_type, "data": data}
    return json.dumps(example).encode()


def card_contexts(slack: FakeSlack, channel: str) -> list[str]:
    """The context lines of each card redrawn in the channel, oldest first."""
    return [
        " ".join(
            e.get("text", "") for b in c.params["blocks"] if b["type"] == "context" for e in b["elements"]
        )
        for c in slack.of("chat.update")
        if c.params.get("channel") == channel
    ]


async def test_the_card_shows_a_page_and_pagerdutys_responder_replied_updates_it(pd: ProviderBot) -> None:
    incident = await linked(pd)
    await pd.bot.run("page database", channel=CHANNEL)
    await pd.bot.settled()
    await wait_until(
        lambda: any("Database Primary paged" in c for c in card_contexts(pd.bot.slack, CHANNEL)),
        what="the card redrawn with the page",
    )
    assert "not acknowledged yet" in card_contexts(pd.bot.slack, CHANNEL)[-1]
    body = responder_event(incident, "incident.responder.replied", "joined", "PESC02", "01REPLIED")
    assert await deliver(pd, "pagerduty", body, pd_signed(body, PD_SECRET)) == 200
    await wait_until(
        lambda: "Maeve (Database Primary) acknowledged" in card_contexts(pd.bot.slack, CHANNEL)[-1],
        what="the card showing Maeve's answer",
    )
    assert "not acknowledged yet" not in card_contexts(pd.bot.slack, CHANNEL)[-1]


async def test_responder_added_for_the_bots_own_request_adds_no_second_line(pd: ProviderBot) -> None:
    incident = await linked(pd)
    await pd.bot.run("page database", channel=CHANNEL)
    await pd.bot.settled()
    before = len(said_in(pd.bot.slack, CHANNEL))
    body = responder_event(incident, "incident.responder.added", "pending", "PESC02", "01ADDED")
    assert await deliver(pd, "pagerduty", body, pd_signed(body, PD_SECRET)) == 200
    assert len(said_in(pd.bot.slack, CHANNEL)) == before  # the answer to `page` said it already
    await wait_until(
        lambda: "Maeve (Database Primary) paged" in card_contexts(pd.bot.slack, CHANNEL)[-1],
        what="the card naming whom the page reached",
    )
    # A responder added in PagerDuty itself, through a policy the bot did not page, is news.
    other = responder_event(incident, "incident.responder.added", "pending", "PESC99", "01ADDED2")
    assert await deliver(pd, "pagerduty", other, pd_signed(other, PD_SECRET)) == 200
    [notice] = said_in(pd.bot.slack, CHANNEL)[before:]
    assert "Maeve was asked to help" in notice


async def test_escalate_at_the_built_in_provider_with_no_page_open_says_to_page_first(
    bot: RunningBot,
) -> None:
    """The built-in provider escalates its own pages (tests/test_builtin_page.py): with none
    open there is nobody to move on to, and the answer says what to do."""
    _, channel = await bot.declare("Checkout down")
    answer = text_of(await bot.run("escalate", channel=channel))
    assert "No page is open for INC-1: page someone first with `/incident page &lt;rotation&gt;`" in answer
    assert "Nothing was changed" in answer
    await bot.settled()
    assert bot.slack.of("conversations.open") == []


# incident.io ----------------------------------------------------------------------------------
async def test_incidentio_pages_an_escalation_path_linked_to_the_incident_with_a_key(io: ProviderBot) -> None:
    incident = await io_linked(io)
    answer = text_of(await io.bot.run("page database the primary is down", channel=CHANNEL))
    assert "Database on-call" in answer and "incident.io" in answer
    [sent] = io.fake.of("POST", "/v2/escalations")
    assert sent.body["escalation_path_id"] == "01PATHDB" and "user_ids" not in sent.body
    assert sent.body["incident_id"] == incident["id"]
    assert sent.body["idempotency_key"] and "INC-1" in sent.body["title"]
    assert "the primary is down" in sent.body["description"]


async def test_incidentio_pages_people_by_their_incidentio_ids_and_invites_them(io: ProviderBot) -> None:
    await io_linked(io)
    await io.bot.run("page <@U333|cy>", channel=CHANNEL)
    [sent] = io.fake.of("POST", "/v2/escalations")
    assert sent.body["user_ids"] == [io_fake(io).users["U333"]["id"]]
    assert "escalation_path_id" not in sent.body
    assert invited(io.bot.slack, CHANNEL)[-1] == ["U333"]


async def test_incidentio_retry_of_a_page_sends_the_same_key_and_pages_once(io: ProviderBot) -> None:
    await io_linked(io)
    io.fake.faults.append(Fault("POST", "/v2/escalations", "500"))
    await io.bot.run("page network", channel=CHANNEL)
    sent = io.fake.of("POST", "/v2/escalations")
    assert len(sent) == 2 and len({s.body["idempotency_key"] for s in sent}) == 1  # retried, same key
    assert len(io_fake(io).escalations) == 1


async def test_a_page_that_failed_unknown_is_never_said_to_have_been_paged(io: ProviderBot) -> None:
    """Every try answered 500: it may or may not have gone out. The same page typed again
    is held (it could page twice), and the answer says why, not that they were paged."""
    await io_linked(io)
    io.fake.faults.append(Fault("POST", "/v2/escalations", "500", times=5))
    first = text_of(await io.bot.run("page network", channel=CHANNEL))
    assert "may or may not" in first, first
    sent = len(io.fake.of("POST", "/v2/escalations"))
    again = text_of(await io.bot.run("page network", channel=CHANNEL))
    assert "failed a moment ago and may or may not have gone out" in again, again
    assert "was paged" not in again and "were paged" not in again
    assert len(io.fake.of("POST", "/v2/escalations")) == sent  # nothing sent a second time


async def test_incidentio_page_acknowledged_is_told_in_the_channel(io: ProviderBot) -> None:
    incident = await io_linked(io)
    await io.bot.run("page database", channel=CHANNEL)
    await io.bot.settled()
    before = len(said_in(io.bot.slack, CHANNEL))
    event = "public_escalation.escalation_status_updated_v1"
    example = io_example(event)
    payload = example[event]
    payload["new_status"] = "acked"
    payload["escalation"]["related_incidents"][0]["id"] = incident["id"]
    body = json.dumps(example).encode()
    headers = io_headers(body, msg_id="msg_escalation_acked")
    assert await deliver(io, "incidentio", body, headers) == 200
    [notice] = said_in(io.bot.slack, CHANNEL)[before:]
    assert "Database CPU is high was acknowledged by Lisa Karlin Curtis" in notice
    assert await deliver(io, "incidentio", body, headers) == 200  # the same delivery again
    assert len(said_in(io.bot.slack, CHANNEL)) == before + 1


async def test_incidentio_escalation_acked_moves_the_page_on_the_card(io: ProviderBot) -> None:
    incident = await io_linked(io)
    await io.bot.run("page database", channel=CHANNEL)
    await io.bot.settled()
    await wait_until(
        lambda: any("Database on-call paged" in c for c in card_contexts(io.bot.slack, CHANNEL)),
        what="the card redrawn with the page",
    )
    [escalation] = io_fake(io).escalations.values()
    event = "public_escalation.escalation_status_updated_v1"
    example = io_example(event)
    payload = example[event]
    payload["new_status"] = "acked"
    payload["escalation"]["id"] = escalation["id"]  # the page the bot made
    payload["escalation"]["related_incidents"][0]["id"] = incident["id"]
    body = json.dumps(example).encode()
    assert await deliver(io, "incidentio", body, io_headers(body, msg_id="msg_acked_card")) == 200
    await wait_until(
        lambda: (
            "Lisa Karlin Curtis (Database on-call) acknowledged" in card_contexts(io.bot.slack, CHANNEL)[-1]
        ),
        what="the card showing who acknowledged",
    )


async def test_incidentio_escalate_says_what_to_do_instead(io: ProviderBot) -> None:
    await io_linked(io)
    answer = text_of(await io.bot.run("escalate", channel=CHANNEL))
    assert "escalate again from the incident's page" in answer
    assert io.fake.writes() == []


# FireHydrant ----------------------------------------------------------------------------------
@pytest.fixture
async def fh(fake_slack: FakeSlack, sqlite_url: str) -> AsyncIterator[ProviderBot]:
    async with provider_bot("firehydrant", fake_slack, sqlite_url) as pb:
        yield pb


async def fh_linked(pb: ProviderBot) -> dict:
    assert isinstance(pb.fake, FakeFireHydrant)
    incident = pb.fake.add_incident("Checkout is failing", channel=CHANNEL)
    await pb.bot.run(f"link fh:{incident['id']}", channel=CHANNEL)
    return incident


async def test_firehydrant_pages_a_team_by_assigning_it(fh: ProviderBot) -> None:
    incident = await fh_linked(fh)
    assert isinstance(fh.fake, FakeFireHydrant)
    answer = text_of(await fh.bot.run("page data", channel=CHANNEL))
    assert "Database" in answer and "FireHydrant" in answer and "no Signals" not in answer
    [sent] = fh.fake.of("POST", f"/v1/incidents/{incident['id']}/team_assignments")
    assert sent.body == {"team_id": "team-db"}
    assert fh.fake.team_assignments == [(incident["id"], "team-db")]


async def test_firehydrant_a_team_without_signals_is_assigned_and_said_to_page_nobody(
    fh: ProviderBot,
) -> None:
    await fh_linked(fh)
    answer = text_of(await fh.bot.run("page facilities", channel=CHANNEL))
    assert "no Signals on-call" in answer and "paged nobody" in answer


async def test_firehydrant_a_person_is_refused_with_the_teams_to_page(fh: ProviderBot) -> None:
    await fh_linked(fh)
    answer = text_of(await fh.bot.run("page <@U333|cy>", channel=CHANNEL))
    assert "pages teams, not people" in answer and "`Database`" in answer and "invite" in answer
    assert fh.fake.of("POST", r"/v1/incidents/.*/team_assignments") == []
    assert "escalation level" in text_of(await fh.bot.run("escalate", channel=CHANNEL))


async def test_a_group_paged_after_one_of_its_people_pages_only_the_others(io: ProviderBot) -> None:
    """`page @bea`, then `page @sre-leads` (bea and cy) minutes later: bea was paged a
    second time. Each person is paged once in the minutes a page holds: the group pages cy
    alone, and the answer says bea was not paged again; the group once more pages nobody."""
    await io_linked(io)
    io.bot.slack.groups["S0LEADS"] = ["U222", "U333"]
    ids = {u: io_fake(io).users[u]["id"] for u in ("U222", "U333")}
    await io.bot.run("page <@U222|bea>", channel=CHANNEL)
    answer = text_of(await io.bot.run("page <!subteam^S0LEADS|@sre-leads>", channel=CHANNEL))
    first, second = io.fake.of("POST", "/v2/escalations")
    assert (first.body["user_ids"], second.body["user_ids"]) == ([ids["U222"]], [ids["U333"]])
    assert "paged for" in answer and "not paged again" in answer and "<@U222>" in answer, answer
    again = text_of(await io.bot.run("page <!subteam^S0LEADS|@sre-leads>", channel=CHANNEL))
    assert "not paged again" in again and len(io.fake.of("POST", "/v2/escalations")) == 2, again


@pytest.mark.parametrize(
    ("second_page", "replay_pages"),
    [
        # A group minutes after one of its people: cy alone, and the replay cy again
        # under the same key (incident.io dedupes it), never bea, whom it had left out.
        ("page <!subteam^S0LEADS|@sre-leads>", [["U333"]]),
        # The same person again: answered "paged already", and the replay pages nobody.
        ("page <@U222|bea>", []),
    ],
)
async def test_a_page_replayed_after_a_restart_pages_whom_its_first_run_chose(
    fake_slack: FakeSlack, sqlite_url: str, second_page: str, replay_pages: list[list[str]]
) -> None:
    """`page @bea`, then a second page; the bot stops before the second one's answer, and
    the next start runs that request again: it pages whom its first run chose, no one else."""
    async with provider_fake("incidentio") as io:
        assert isinstance(io, FakeIncidentIo)
        settings = make_settings(fake_slack, sqlite_url, **provider_settings("incidentio", io.url))
        fake_slack.groups["S0LEADS"] = ["U222", "U333"]
        ids = {u: io.users[u]["id"] for u in ("U222", "U333")}
        key = "command:T111:page.2"
        async with running_bot(fake_slack, settings) as first:
            incident = io.add_incident("Checkout is failing", channel=CHANNEL, status="Triage")
            await first.run(f"link {incident['reference']}", channel=CHANNEL)
            await first.run("page <@U222|bea>", channel=CHANNEL, trigger="page.1")
            await first.run(second_page, channel=CHANNEL, trigger="page.2")
            await first.settled()
            gone = SYSTEM.now() - timedelta(hours=1)
            stopped = {"state": "pending", "owner": "dead-process", "lease_until": gone}
            await first.app[RUNTIME].store.write(
                lambda conn: conn.execute(
                    update(tables.inbox).where(tables.inbox.c.key == key).values(**stopped)
                )
            )
        before = [s.body["user_ids"] for s in io.of("POST", "/v2/escalations")]
        async with running_bot(fake_slack, settings) as second:
            pipeline = second.app[PIPELINE]
            assert isinstance(pipeline, Pipeline) and pipeline.inbox is not None
            await pipeline.recover(all_pending=True)
            inbox = pipeline.inbox

            async def answered() -> bool:
                return {r["key"]: r["state"] for r in await inbox.rows()}.get(key) == "done"

            await wait_until(answered, what="the replay answered")
            await second.settled()
        replayed = [s.body["user_ids"] for s in io.of("POST", "/v2/escalations")][len(before) :]
        assert replayed == [[ids[u] for u in people] for people in replay_pages]
        assert len(io.escalations) == len(before)  # nobody paged a second time


async def test_one_of_a_group_whose_page_failed_unknown_is_said_so_not_paged_again(io: ProviderBot) -> None:
    """bea's page got no answer (it may have gone out); `page @sre-leads` then pages cy and
    says bea's page may or may not have gone out, never that bea was paged."""
    await io_linked(io)
    io.bot.slack.groups["S0LEADS"] = ["U222", "U333"]
    io.fake.faults.append(Fault("POST", "/v2/escalations", "500", times=5))
    assert "may or may not" in text_of(await io.bot.run("page <@U222|bea>", channel=CHANNEL))
    answer = text_of(await io.bot.run("page <!subteam^S0LEADS|@sre-leads>", channel=CHANNEL))
    assert io_fake(io).escalations and len(io_fake(io).escalations) == 1, answer  # cy's, alone
    assert "A page to <@U222> failed a moment ago and may or may not have gone out" in answer, answer
    assert "<@U222> was paged" not in answer
