"""FireHydrant end to end: signed slash command → the requests at FireHydrant (each checked
against its official OpenAPI document) → the message in Slack."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from tests.conftest import ProviderBot, provider_bot
from tests.fakes.firehydrant import FakeFireHydrant, user
from tests.helpers import text_of
from tests.slackfake import FakeSlack

CHANNEL = "C0FH1"


@pytest.fixture
async def fh(fake_slack: FakeSlack, sqlite_url: str) -> AsyncIterator[ProviderBot]:
    async with provider_bot("firehydrant", fake_slack, sqlite_url) as running:
        yield running


def fake(pb: ProviderBot) -> FakeFireHydrant:
    assert isinstance(pb.fake, FakeFireHydrant)
    return pb.fake


async def linked(pb: ProviderBot) -> dict:
    incident = fake(pb).add_incident("Checkout is failing", channel=CHANNEL)
    answer = text_of(await pb.bot.run(f"link fh:{incident['id']}", channel=CHANNEL))
    assert "Checkout is failing" in answer and "#1" in answer
    return incident


async def test_info_shows_milestone_by_name_and_link(fh: ProviderBot) -> None:
    incident = await linked(fh)
    card = text_of(await fh.bot.run("info", channel=CHANNEL))
    assert "Started" in card and incident["incident_url"] in card
    assert fh.fake.writes() == []


async def test_status_is_milestones_resolve_and_close_have_their_own_calls(fh: ProviderBot) -> None:
    incident = await linked(fh)
    iid = incident["id"]
    assert "Acknowledged" in text_of(await fh.bot.run("ack", channel=CHANNEL))
    assert "Mitigated" in text_of(await fh.bot.run("status mitig", channel=CHANNEL))
    assert "Resolved" in text_of(await fh.bot.run("resolve", channel=CHANNEL))
    assert "Closed" in text_of(await fh.bot.run("status closed", channel=CHANNEL))
    bulk = fh.fake.of("PUT", f"/v1/incidents/{iid}/milestones/bulk_update")
    assert [b.body["milestones"][0]["type"] for b in bulk] == ["acknowledged", "mitigated"]
    assert len(fh.fake.of("PUT", f"/v1/incidents/{iid}/resolve")) == 1
    assert len(fh.fake.of("PUT", f"/v1/incidents/{iid}/close")) == 1


async def test_severity_and_priority_by_slug(fh: ProviderBot) -> None:
    incident = await linked(fh)
    assert "SEV1" in text_of(await fh.bot.run("sev 1", channel=CHANNEL))
    await fh.bot.run("severity p2", channel=CHANNEL)
    patches = fh.fake.of("PATCH", f"/v1/incidents/{incident['id']}")
    assert [p.body for p in patches] == [{"severity": "SEV1"}, {"priority": "P2"}]


async def test_roles_by_email_and_notes(fh: ProviderBot) -> None:
    incident = await linked(fh)
    assert "<@U222>" in text_of(await fh.bot.run("lead <@U222|bea>", channel=CHANNEL))
    # `communications` is the start of a word of *Communications Lead*, not of the name.
    assert "<@U333>" in text_of(await fh.bot.run("assign communications <@U333|cy>", channel=CHANNEL))
    posts = fh.fake.of("POST", f"/v1/incidents/{incident['id']}/role_assignments")
    assert [p.body["user_id"] for p in posts] == [fake(fh).users["U222"]["id"], fake(fh).users["U333"]["id"]]
    assert posts[0].body["incident_role_id"] == fake(fh).roles[0]["id"]  # Commander leads
    assert "Rollback done" in text_of(await fh.bot.run("update Rollback done", channel=CHANNEL))
    [note] = fh.fake.of("POST", f"/v1/incidents/{incident['id']}/notes")
    assert note.body == {"body": "Rollback done", "visibility": "private_to_org"}


async def test_followups_are_follow_up_tickets_related_to_the_incident(fh: ProviderBot) -> None:
    incident = await linked(fh)
    added = text_of(await fh.bot.run("followup Add DB failover alert <@U444|sam>", channel=CHANNEL))
    assert "Add DB failover alert" in added
    [create] = fh.fake.of("POST", "/v1/ticketing/tickets")
    assert create.body["related_to"] == f"incident/{incident['id']}" and create.body["type"] == "follow_up"
    await fh.bot.run("followup Write the postmortem", channel=CHANNEL)
    assert "#2 Write the postmortem" in text_of(await fh.bot.run("followups", channel=CHANNEL))
    assert "completed" in text_of(await fh.bot.run("followup done #2", channel=CHANNEL))
    [patch] = fh.fake.of("PATCH", r"/v1/ticketing/tickets/[\w-]+")
    assert patch.body == {"state": "done"}


async def test_oncall_and_override_as_a_shift(fh: ProviderBot) -> None:
    everyone = text_of(await fh.bot.run("oncall"))
    assert "Primary" in everyone and "<@U222>" in everyone and "<@U444>" in everyone
    assert "<@U333>" in text_of(await fh.bot.run("override prim <@U333|cy> for 2h"))
    [shift] = fh.fake.of("POST", r"/v1/teams/[\w-]+/on_call_schedules/[\w-]+/shifts")
    assert shift.body["user_id"] == fake(fh).users["U333"]["id"]
    assert "<@U333>" in text_of(await fh.bot.run("oncall primary"))


async def test_declare_once_per_request_though_firehydrant_has_no_idempotency_key(fh: ProviderBot) -> None:
    answer, channel = await fh.bot.declare("Payments down sev:1")
    [create] = fh.fake.of("POST", "/v1/incidents")
    assert create.body == {"name": "Payments down", "severity": "SEV1"}
    assert f"<#{channel}>" in answer["text"]
    assert "Payments down" in text_of(await fh.bot.run("info", channel=channel))


async def test_channel_is_found_by_channel_id_and_remembered(fh: ProviderBot) -> None:
    for n in range(1, 451):
        fake(fh).add_incident(f"incident {n}", channel=f"C{n:07d}")
    answer = text_of(await fh.bot.run("info", channel="C0000420"))
    assert "incident 420" in answer
    assert len(fh.fake.of("GET", "/v1/incidents")) == 3  # 200 a page
    fh.fake.requests.clear()
    await fh.bot.run("info", channel="C0000420")
    assert fh.fake.of("GET", "/v1/incidents") == []


async def test_tasks_are_the_incidents_tasks_added_listed_and_done(fh: ProviderBot) -> None:
    incident = await linked(fh)
    path = f"/v1/incidents/{incident['id']}/tasks"
    added = text_of(await fh.bot.run("task Check replica lag <@U333|cy>", channel=CHANNEL))
    assert "added task" in added and "#1 Check replica lag" in added and "<@U333>" in added
    [create] = fake(fh).of("POST", path)
    assert create.body == {"title": "Check replica lag", "state": "open", "assignee_id": user("U333")["id"]}
    await fh.bot.run("task Page the DB team", channel=CHANNEL)
    listing = text_of(await fh.bot.run("tasks", channel=CHANNEL))
    assert "Tasks on" in listing and "#1 Check replica lag" in listing and "#2 Page the DB team" in listing
    done = text_of(await fh.bot.run("task done #2", channel=CHANNEL))
    assert "completed task" in done
    [patch] = fake(fh).of("PATCH", f"{path}/{fake(fh).tasks[1]['id']}")
    assert patch.body == {"state": "done"}
    assert "no task #9" in text_of(await fh.bot.run("task done #9", channel=CHANNEL))
    assert fake(fh).tickets == []  # tasks are not follow-ups


async def test_an_update_to_stakeholders_is_not_sent_as_a_private_note(fh: ProviderBot) -> None:
    await linked(fh)
    answer = text_of(await fh.bot.run("update to:stakeholders Payments are back", channel=CHANNEL))
    assert "status page" in answer
    assert fake(fh).writes() == []


async def test_a_role_is_named_by_any_of_its_words(fh: ProviderBot) -> None:
    incident = await linked(fh)
    answer = text_of(await fh.bot.run("assign commander <@U333|cy>", channel=CHANNEL))
    assert "Incident Commander" in answer and "<@U333>" in answer
    [post] = fh.fake.of("POST", f"/v1/incidents/{incident['id']}/role_assignments")
    assert post.body["incident_role_id"] == fake(fh).roles[0]["id"]
    unclear = text_of(await fh.bot.run("assign co <@U444|sam>", channel=CHANNEL))  # commander? comms?
    assert "could be `Incident Commander`, `Communications Lead`" in unclear and len(fh.fake.writes()) == 1


async def test_reopen_removes_the_milestones_after_the_one_it_goes_back_to(fh: ProviderBot) -> None:
    incident = await linked(fh)
    iid = incident["id"]
    await fh.bot.run("status mitigated", channel=CHANNEL)
    await fh.bot.run("resolve", channel=CHANNEL)
    answer = text_of(await fh.bot.run("reopen errors are back", channel=CHANNEL))
    assert "reopened the incident (it was Resolved, now Mitigated)" in answer
    assert fake(fh).incidents[iid]["current_milestone"] == "mitigated"
    last = fh.fake.of("PUT", f"/v1/incidents/{iid}/milestones/bulk_update")[-1]
    assert [(m["type"], m.get("remove", False)) for m in last.body["milestones"]] == [
        ("mitigated", False),
        ("resolved", True),
    ]
    [note] = fh.fake.of("POST", f"/v1/incidents/{iid}/notes")
    assert note.body["body"] == "errors are back"


async def test_overrides_are_not_offered_with_firehydrants_reason(fh: ProviderBot) -> None:
    answer = text_of(await fh.bot.run("override cancel #1"))
    assert "FireHydrant's API has no list of a schedule's coverage shifts" in answer
    assert fh.fake.writes() == []
