"""incident.io end to end: signed slash command → the requests at incident.io (each checked
against its official OpenAPI document by the fake) → the message in Slack."""

from __future__ import annotations

import math
from collections.abc import AsyncIterator

import pytest

from bot.slack.server import RUNTIME
from tests.conftest import ProviderBot, provider_bot
from tests.fakes.incidentio import STATUSES, FakeIncidentIo, user
from tests.helpers import text_of
from tests.slackfake import FakeSlack

CHANNEL = "C0INC1"


@pytest.fixture
async def io(fake_slack: FakeSlack, sqlite_url: str) -> AsyncIterator[ProviderBot]:
    async with provider_bot("incidentio", fake_slack, sqlite_url) as running:
        yield running


def fake(pb: ProviderBot) -> FakeIncidentIo:
    assert isinstance(pb.fake, FakeIncidentIo)
    return pb.fake


async def linked(pb: ProviderBot, status: str = "Triage") -> dict:
    incident = fake(pb).add_incident("Checkout is failing", channel=CHANNEL, status=status)
    answer = await pb.bot.run(f"link {incident['reference']}", channel=CHANNEL)
    assert "Checkout is failing" in text_of(answer)
    return incident


async def test_link_and_info_show_incident_ios_own_names_and_link(io: ProviderBot) -> None:
    incident = await linked(io)
    card = text_of(await io.bot.run("info", channel=CHANNEL))
    assert "INC-1" in card and "Triage" in card and incident["permalink"] in card
    assert io.fake.writes() == []


async def test_status_by_prefix_ack_and_resolve_each_cost_one_write(io: ProviderBot) -> None:
    incident = await linked(io)
    path = f"/v2/incidents/{incident['id']}/actions/edit"

    assert "Investigating" in text_of(await io.bot.run("ack", channel=CHANNEL))
    assert "Monitoring" in text_of(await io.bot.run("status mon", channel=CHANNEL))
    # Back from Monitoring to Investigating is refused, and costs no write.
    assert "is a step back" in text_of(await io.bot.run("ack", channel=CHANNEL))
    assert "Documenting" in text_of(await io.bot.run("resolve", channel=CHANNEL))
    edits = fake(io).of("POST", path)
    by_name = {s["id"]: s["name"] for s in STATUSES}
    assert [by_name[e.body["incident"]["incident_status_id"]] for e in edits] == [
        "Investigating",
        "Monitoring",
        "Documenting",  # resolve = the first post-incident status, not closed
    ]
    assert all(e.body["notify_incident_channel"] is True for e in edits)
    assert len(fake(io).writes()) == 3


async def test_resolve_with_words_is_one_incident_update_with_the_new_status(io: ProviderBot) -> None:
    incident = await linked(io, status="Fixing")
    answer = text_of(await io.bot.run("resolve rolled back the deploy", channel=CHANNEL))
    assert "Documenting" in answer
    [update] = fake(io).of("POST", "/v2/incident_updates")
    assert update.body["incident_id"] == incident["id"]
    assert update.body["message"] == "rolled back the deploy"
    assert update.body["idempotency_key"]
    assert fake(io).incidents[incident["id"]]["incident_status"]["name"] == "Documenting"


async def test_unknown_status_lists_incident_ios_real_names_and_changes_nothing(io: ProviderBot) -> None:
    await linked(io)
    answer = text_of(await io.bot.run("status sideways", channel=CHANNEL))
    assert "Monitoring" in answer and "Investigating" in answer
    assert fake(io).writes() == []


async def test_a_common_word_maps_to_incident_ios_status_and_says_so(io: ProviderBot) -> None:
    incident = await linked(io)
    answer = text_of(await io.bot.run("status mitigated", channel=CHANNEL))
    assert "“mitigated” is Monitoring at incident.io" in answer
    assert fake(io).incidents[incident["id"]]["incident_status"]["name"] == "Monitoring"


async def test_severity_roles_and_update(io: ProviderBot) -> None:
    incident = await linked(io)
    assert "Major" in text_of(await io.bot.run("sev maj", channel=CHANNEL))
    assert "<@U222>" in text_of(await io.bot.run("lead <@U222|bea>", channel=CHANNEL))
    assert "<@U333>" in text_of(await io.bot.run("assign comm <@U333|cy>", channel=CHANNEL))
    roles = text_of(await io.bot.run("roles", channel=CHANNEL))
    assert "Incident Lead: <@U222>" in roles and "Communications: <@U333>" in roles
    assignments = [
        e.body["incident"]["incident_role_assignments"][0]
        for e in fake(io).writes()
        if "incident_role_assignments" in e.body.get("incident", {})
    ]
    assert [a["assignee"] for a in assignments] == [{"slack_user_id": "U222"}, {"slack_user_id": "U333"}]
    assert "Rollback done" in text_of(await io.bot.run("update Rollback done", channel=CHANNEL))
    [update] = fake(io).of("POST", "/v2/incident_updates")
    assert update.body == {
        "incident_id": incident["id"],
        "idempotency_key": update.body["idempotency_key"],
        "message": "Rollback done",
    }


async def test_someone_without_an_incident_io_account_gets_a_clear_answer(io: ProviderBot) -> None:
    await linked(io)
    answer = text_of(await io.bot.run("followup Add alert <@U999|zed>", channel=CHANNEL))
    assert "@zed has no incident.io account" in answer
    assert fake(io).of("POST", "/v3/follow_ups") == []


async def test_followups_are_v3_and_numbered(io: ProviderBot) -> None:
    incident = await linked(io)
    added = text_of(
        await io.bot.run("followup Add DB failover alert <@U444|sam> due:2030-01-04", channel=CHANNEL)
    )
    assert "Add DB failover alert" in added and "<@U444>" in added
    [create] = fake(io).of("POST", "/v3/follow_ups")
    assert create.body["incident_id"] == incident["id"]
    assert create.body["assignee_id"] == fake(io).users["U444"]["id"]
    assert "2030-01-04" in create.body["description"]
    await io.bot.run("followup Write the postmortem", channel=CHANNEL)
    listed = text_of(await io.bot.run("followups", channel=CHANNEL))
    assert "#1 Add DB failover alert" in listed and "#2 Write the postmortem" in listed
    assert "completed" in text_of(await io.bot.run("followup done #2", channel=CHANNEL))
    [put] = fake(io).of("PUT", r"/v3/follow_ups/\w+")
    assert put.body == {"title": "Write the postmortem", "status": "completed"}
    assert fake(io).of("POST", "/v2/follow_ups") == []  # v2 is removed on 2026-12-31


async def test_outstanding_follow_ups_are_open_with_their_due_date_read_back(io: ProviderBot) -> None:
    """incident.io calls an open follow-up "outstanding", and keeps no due date: the bot
    writes it in the description and reads it back; `followup done` lists them, and
    `followup done <title>` completes that one rather than adding "done …"."""
    await linked(io)
    await io.bot.run("followup Add DB failover alert <@U444|sam> due:2030-01-04", channel=CHANNEL)
    await io.bot.run("followup Write the runbook", channel=CHANNEL)
    listed = text_of(await io.bot.run("followups", channel=CHANNEL))
    assert "2030" in listed or "Jan" in listed, listed  # its due date, read back
    assert "[outstanding]" not in listed
    pick = text_of(await io.bot.run("followup done", channel=CHANNEL))
    assert "#1 Add DB failover alert" in pick and "#2 Write the runbook" in pick, pick
    posts = len(fake(io).of("POST", "/v3/follow_ups"))
    done = text_of(await io.bot.run("followup done Write the runbook", channel=CHANNEL))
    assert "completed" in done, done
    assert len(fake(io).of("POST", "/v3/follow_ups")) == posts  # no follow-up titled "done …"
    [put] = fake(io).of("PUT", r"/v3/follow_ups/\w+")
    assert put.body == {"title": "Write the runbook", "status": "completed"}
    # Its owner is nudged from its due date on, as at the built-in provider.
    await io.bot.settled()
    nudges = [t for t in await io.bot.app[RUNTIME].service.timers.store.all() if t.kind == "nudge"]
    assert [(t.payload["owner"], t.due_at.date().isoformat()) for t in nudges] == [("U444", "2030-01-04")]


async def test_tasks_are_v3_actions_and_numbered_apart_from_follow_ups(io: ProviderBot) -> None:
    incident = await linked(io)
    await io.bot.run("followup Write the postmortem", channel=CHANNEL)
    added = text_of(await io.bot.run("task Check replica lag <@U444|sam>", channel=CHANNEL))
    assert "added task" in added and "#1 Check replica lag" in added and "<@U444>" in added
    [create] = fake(io).of("POST", "/v3/actions")
    assert create.body == {
        "incident_id": incident["id"],
        "description": "Check replica lag",
        "assignee_id": fake(io).users["U444"]["id"],
    }
    await io.bot.run("task Page the DB team", channel=CHANNEL)
    listed = text_of(await io.bot.run("tasks", channel=CHANNEL))
    assert "#1 Check replica lag" in listed and "#2 Page the DB team" in listed and "postmortem" not in listed
    assert "completed task" in text_of(await io.bot.run("task done #1", channel=CHANNEL))
    [put] = fake(io).of("PUT", r"/v3/actions/\w+")
    assert put.body == {"description": "Check replica lag", "status": "completed"}
    assert [f["status"] for f in fake(io).followups] == ["outstanding"]


async def test_a_follow_up_or_a_task_is_two_calls_the_incident_not_read_again(io: ProviderBot) -> None:
    """incident.io's incident does not list its follow-ups: the read the command began with
    serves its answer and card, so a provider slowed by the outage is asked twice, not three
    times (the write, and the list that numbers the new item)."""
    incident = await linked(io)
    await io.bot.run("info", channel=CHANNEL)
    await io.bot.settled()
    for typed, kind in (
        ("followup Write the postmortem", "follow_ups"),
        ("task Check replica lag", "actions"),
    ):
        fake(io).requests.clear()
        added = text_of(await io.bot.run(typed, channel=CHANNEL))
        await io.bot.settled()
        assert "on INC-1: #1 " in added, added
        assert [(r.method, r.path) for r in fake(io).requests] == [
            ("POST", f"/v3/{kind}"),
            ("GET", f"/v3/{kind}"),
        ], fake(io).requests
    assert fake(io).of("GET", f"/v2/incidents/{incident['id']}") == []


async def test_someone_without_a_slack_link_at_incident_io_is_found_by_email(io: ProviderBot) -> None:
    await linked(io)
    unlinked = {k: v for k, v in user("U555").items() if k != "slack_user_id"}
    fake(io).users["U555"] = unlinked  # their incident.io account is not tied to Slack
    answer = text_of(await io.bot.run("followup Rotate the keys <@U555|eve>", channel=CHANNEL))
    assert "Rotate the keys" in answer
    [create] = fake(io).of("POST", "/v3/follow_ups")
    assert create.body["assignee_id"] == unlinked["id"]
    lookups = [dict(s.query) for s in fake(io).of("GET", "/v2/users")]
    assert {"slack_user_id": "U555"} in lookups and {"email": "u555@example.com"} in lookups


async def test_an_update_to_stakeholders_is_an_incident_update(io: ProviderBot) -> None:
    incident = await linked(io)
    answer = text_of(await io.bot.run("update to:stakeholders Payments are back", channel=CHANNEL))
    assert "Stakeholder update on" in answer
    [sent] = fake(io).of("POST", "/v2/incident_updates")
    assert sent.body["incident_id"] == incident["id"] and sent.body["message"] == "Payments are back"


async def test_oncall_and_override_with_layer_and_nested_user(io: ProviderBot) -> None:
    everyone = text_of(await io.bot.run("oncall"))
    assert (
        "Primary" in everyone and "<@U222>" in everyone and "Database" in everyone and "<@U444>" in everyone
    )
    answer = text_of(await io.bot.run("override prim <@U444|sam> for 2h"))
    assert "<@U444>" in answer
    [override] = fake(io).of("POST", "/v2/schedule_overrides")
    primary = fake(io).schedules[0]
    rotation = primary["config"]["rotations"][0]
    assert override.body["schedule_id"] == primary["id"]
    assert override.body["rotation_id"] == rotation["id"]
    assert override.body["layer_id"] == rotation["layers"][0]["id"]
    assert override.body["user"] == {"slack_user_id": "U444"}
    assert "<@U444>" in text_of(await io.bot.run("oncall primary"))


async def test_declare_at_incident_io_with_an_idempotency_key(io: ProviderBot) -> None:
    answer, channel = await io.bot.declare("Payments down sev:critical")
    [create] = fake(io).of("POST", "/v2/incidents")
    assert create.body["visibility"] == "public" and create.body["idempotency_key"]
    assert create.body["name"] == "Payments down"
    [incident] = fake(io).incidents.values()
    assert incident["severity"]["name"] == "Critical"
    lead = incident["incident_role_assignments"][0]
    assert lead["role"]["role_type"] == "lead" and lead["assignee"]["slack_user_id"] == "U111"
    assert f"<#{channel}>" in answer["text"]
    assert "INC-1" in text_of(await io.bot.run("info", channel=channel))


async def test_declare_private_is_a_private_incident_at_incident_io(io: ProviderBot) -> None:
    fake(io).channel_on_declare = "C0IOPRIV"  # incident.io makes the channel itself
    io.bot.slack.outside.add("C0IOPRIV")  # …and the bot is not in it yet
    _, channel = await io.bot.declare("private Payroll export leaking")
    [create] = fake(io).of("POST", "/v2/incidents")
    assert create.body["visibility"] == "private" and create.body["name"] == "Payroll export leaking"
    assert channel == "C0IOPRIV" and io.bot.slack.of("conversations.create") == []
    assert [j.params["channel"] for j in io.bot.slack.of("conversations.join")] == ["C0IOPRIV"]
    await io.bot.settled()
    assert any(p.params["channel"] == "C0IOPRIV" and not p.error for p in io.bot.slack.of("pins.add"))


async def test_channel_named_inc_n_is_found_and_remembered(io: ProviderBot) -> None:
    fake(io).add_incident("Older", channel="C0OTHER")
    incident = fake(io).add_incident("Queue backlog", channel="C0Q")
    answer = text_of(await io.bot.run("info", channel="C0Q", channel_name="inc-2-queue-backlog"))
    assert "Queue backlog" in answer
    assert fake(io).of("GET", "/v2/incidents") == []  # found by its number, no list
    fake(io).requests.clear()
    await io.bot.run("sev minor", channel="C0Q", channel_name="inc-2-queue-backlog")
    catalogues = ("/v1/severities",)
    assert [r.path for r in fake(io).requests if r.path not in catalogues] == [
        f"/v2/incidents/{incident['id']}/actions/edit"
    ]


@pytest.mark.parametrize("live", [600])
async def test_channel_among_many_incidents_costs_a_page_per_250_cold_and_none_warm(
    io: ProviderBot, live: int
) -> None:
    for n in range(1, live + 1):
        fake(io).add_incident(f"incident {n}", channel=f"C{n:07d}")
    target = f"C{live - 3:07d}"
    assert f"incident {live - 3}" in text_of(
        await io.bot.run("info", channel=target, channel_name="war-room")
    )
    lists = fake(io).of("GET", "/v2/incidents")
    assert len(lists) <= math.ceil(live / 250)
    assert all(r.arg("page_size") == "250" for r in lists)
    fake(io).requests.clear()
    await io.bot.run("info", channel=target, channel_name="war-room")
    assert fake(io).of("GET", "/v2/incidents") == []


async def test_a_channel_no_provider_knows_gets_the_link_guidance(io: ProviderBot) -> None:
    fake(io).add_incident("Elsewhere", channel="C0ELSE")
    answer = text_of(await io.bot.run("info", channel="C0NONE"))
    assert "link" in answer
    assert fake(io).writes() == []


async def test_declare_uses_the_channel_incident_io_made_itself(io: ProviderBot) -> None:
    fake(io).channel_on_declare = "C0IOMADE"
    answer = await io.bot.run("declare Search is slow")
    await io.bot.slack.wait_for(1, "chat.postMessage")
    assert io.bot.slack.of("conversations.create") == []
    [invite] = io.bot.slack.of("conversations.invite")
    assert invite.params["channel"] == "C0IOMADE"
    assert "<#C0IOMADE>" in answer["text"]
    assert "Search is slow" in text_of(await io.bot.run("info", channel="C0IOMADE"))


async def test_reopen_is_refused_with_incident_ios_reason_and_writes_nothing(io: ProviderBot) -> None:
    await linked(io, status="Closed")
    answer = text_of(await io.bot.run("reopen", channel=CHANNEL))
    assert "does not move a closed incident back to live" in answer and "declare" in answer
    # Said as a step back on purpose, it is the same reopen, refused the same way.
    for typed in ("status investigating again", "status back to investigating"):
        said = text_of(await io.bot.run(typed, channel=CHANNEL))
        assert "would reopen it" in said and "declare" in said, (typed, said)
    assert fake(io).writes() == []


async def test_overrides_listed_and_cancelled_with_incident_ios_delete(io: ProviderBot) -> None:
    await io.bot.run("override prim <@U444|sam> for 2h")
    second = text_of(await io.bot.run("override prim <@U333|cy> from tomorrow 9am to tomorrow 5pm"))
    assert "While it lasts it replaces" in second and "overlaps" not in second
    listed = text_of(await io.bot.run("overrides primary"))
    assert "#1 *Primary*: <@U444>" in listed and "#2 *Primary*: <@U333>" in listed
    primary = fake(io).schedules[0]
    assert all(r.arg("schedule_id") == primary["id"] for r in fake(io).of("GET", "/v2/schedule_overrides"))
    target = fake(io).overrides[1]["id"]
    answer = text_of(await io.bot.run("override cancel primary #2"))
    assert "cancelled <@U333>'s override on Primary" in answer
    assert len(fake(io).of("DELETE", f"/v2/schedule_overrides/{target}")) == 1
    assert [o["user"]["slack_user_id"] for o in fake(io).overrides] == ["U444"]
    overlap = text_of(await io.bot.run("override prim <@U333|cy> for 1h"))
    assert "⚠️ It overlaps <@U444>'s override" in overlap


async def test_a_note_on_a_verb_incident_io_does_not_offer_is_kept_as_an_update(io: ProviderBot) -> None:
    incident = await linked(io, status="Closed")
    answer = text_of(await io.bot.run("reopen errors are back", channel=CHANNEL))
    assert "does not move a closed incident back to live" in answer, answer
    assert "Your note is posted as an update" in answer and "errors are back" in answer
    posted = [(u["incident_id"], u["message"]) for u in fake(io).updates]
    assert posted == [(incident["id"], "errors are back")]
    assert fake(io).incidents[incident["id"]]["incident_status"]["name"] == "Closed"  # not reopened


async def test_the_number_typed_after_a_change_names_that_incident(io: ProviderBot) -> None:
    """`sev critical #N` and `status … #N`: the incident's number, as a card shows it, names
    the incident (INC-N at incident.io), not a leftover word nor a note."""
    incident = await linked(io)
    number = incident["reference"].removeprefix("INC-")
    answer = text_of(await io.bot.run(f"sev critical #{number}", channel=CHANNEL))
    assert incident["severity"]["name"] == "Critical", answer
    text_of(await io.bot.run(f"status fixing #{number}", channel=CHANNEL))
    assert incident["incident_status"]["name"] == "Fixing"
    updates = fake(io).of("POST", "/v2/incident_updates")
    assert all(f"#{number}" not in str(u.body.get("message")) for u in updates)


async def test_a_reference_after_a_status_phrase_moves_nothing_and_says_how(io: ProviderBot) -> None:
    """`status back to investigating INC-2` in INC-1's channel: the words after the status
    are its note, so INC-1 was moved back with "INC-2" as its note. Now refused, with
    `incident:` to name the other one, and nothing written."""
    incident = await linked(io, status="Fixing")
    other = fake(io).add_incident("Search is slow", status="Fixing")
    for typed in (other["reference"], "#" + other["reference"].removeprefix("INC-")):
        answer = text_of(await io.bot.run(f"status back to investigating {typed}", channel=CHANNEL))
        assert f"`{typed}` after the status reads as the note" in answer, answer
        assert "incident:INC-3" in answer
    assert fake(io).writes() == []
    assert incident["incident_status"]["name"] == other["incident_status"]["name"] == "Fixing"
    # Named with `incident:`, it is the one named (whose responders alone, or an admin, may).
    for named in (
        f"status back to investigating incident:{other['reference']}",
        f"status {other['reference']} back to investigating",  # right after the verb
    ):
        said = text_of(await io.bot.run(named, channel=CHANNEL))
        assert f"change the status of {other['reference']}" in said, said
    assert incident["incident_status"]["name"] == "Fixing"
