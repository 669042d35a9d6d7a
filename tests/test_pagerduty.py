"""PagerDuty end to end: signed slash command → the requests at PagerDuty (each checked
against its official OpenAPI document, corrected in memory) → the message in Slack."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from tests.conftest import ProviderBot, provider_bot
from tests.fakes.pagerduty import FakePagerDuty
from tests.helpers import text_of
from tests.slackfake import FakeSlack

CHANNEL = "C0PD1"


@pytest.fixture
async def pd(fake_slack: FakeSlack, sqlite_url: str) -> AsyncIterator[ProviderBot]:
    async with provider_bot("pagerduty", fake_slack, sqlite_url) as running:
        yield running


def fake(pb: ProviderBot) -> FakePagerDuty:
    assert isinstance(pb.fake, FakePagerDuty)
    return pb.fake


async def linked(pb: ProviderBot) -> dict:
    incident = fake(pb).add_incident("Checkout is failing")
    answer = text_of(await pb.bot.run(f"link pd:{incident['incident_number']}", channel=CHANNEL))
    assert "Checkout is failing" in answer and "#1" in answer
    return incident


async def test_info_shows_pagerdutys_status_assignee_and_link(pd: ProviderBot) -> None:
    incident = await linked(pd)
    card = text_of(await pd.bot.run("info", channel=CHANNEL))
    assert "triggered" in card and incident["html_url"] in card
    assert "<@U222>" in card  # the assignee, found in Slack by email
    assert pd.fake.writes() == []


async def test_ack_and_resolve_are_puts_with_the_from_header(pd: ProviderBot) -> None:
    incident = await linked(pd)
    assert "acknowledged" in text_of(await pd.bot.run("ack", channel=CHANNEL))
    assert "resolved" in text_of(await pd.bot.run("resolve rolled back", channel=CHANNEL))
    puts = fake(pd).of("PUT", f"/incidents/{incident['id']}")
    assert [p.body["incident"]["status"] for p in puts] == ["acknowledged", "resolved"]
    assert puts[1].body["incident"]["resolution"] == "rolled back"
    assert all(p.headers["From"] == "bot@example.com" for p in puts)
    assert all(p.headers["Accept"] == "application/vnd.pagerduty+json;version=2" for p in puts)
    assert len(fake(pd).writes()) == 2


async def test_resolving_twice_says_it_already_is_and_writes_nothing(pd: ProviderBot) -> None:
    incident = await linked(pd)
    await pd.bot.run("resolve", channel=CHANNEL)
    answer = text_of(await pd.bot.run("resolve", channel=CHANNEL))
    assert "already resolved" in answer and "Nothing was changed" in answer
    assert len(fake(pd).of("PUT", f"/incidents/{incident['id']}")) == 1  # the second wrote nothing


async def test_reopen_acknowledges_the_resolved_incident_once(pd: ProviderBot) -> None:
    incident = await linked(pd)
    refused = text_of(await pd.bot.run("reopen", channel=CHANNEL))
    assert "is open (triggered): there is nothing to reopen" in refused and fake(pd).writes() == []
    await pd.bot.run("resolve", channel=CHANNEL)
    answer = text_of(await pd.bot.run("reopen", channel=CHANNEL))
    assert "reopened the incident (it was resolved, now acknowledged)" in answer
    puts = fake(pd).of("PUT", f"/incidents/{incident['id']}")
    assert [p.body["incident"]["status"] for p in puts] == ["resolved", "acknowledged"]  # not re-paged
    assert fake(pd).incidents[incident["id"]]["status"] == "acknowledged"


async def test_priority_and_urgency(pd: ProviderBot) -> None:
    incident = await linked(pd)
    assert "P1" in text_of(await pd.bot.run("sev p1", channel=CHANNEL))
    assert "P1" in text_of(await pd.bot.run("severity low", channel=CHANNEL))
    puts = fake(pd).of("PUT", f"/incidents/{incident['id']}")
    assert puts[0].body["incident"]["priority"] == {"id": "PPRI1", "type": "priority_reference"}
    assert puts[1].body["incident"]["urgency"] == "low"


async def test_an_update_to_stakeholders_is_a_status_update_sent_once(pd: ProviderBot) -> None:
    incident = await linked(pd)
    answer = text_of(await pd.bot.run("update to:stakeholders Payments are back", channel=CHANNEL))
    assert "Stakeholder update on" in answer and "Payments are back" in answer
    [sent] = fake(pd).of("POST", f"/incidents/{incident['id']}/status_updates")
    assert sent.body == {"message": "Payments are back"} and sent.headers["From"] == "bot@example.com"
    assert fake(pd).of("POST", f"/incidents/{incident['id']}/notes") == []
    typo = text_of(await pd.bot.run("update to:everyone Payments are back", channel=CHANNEL))
    assert "`to:timeline` or `to:stakeholders`" in typo
    assert len(fake(pd).writes()) == 1


async def test_override_on_a_shift_based_schedule_replaces_each_shift_in_the_window(pd: ProviderBot) -> None:
    fake(pd).add_v3_schedule("PV3SCH1", "Payments", on_call="U222", shift_hours=4)
    answer = text_of(await pd.bot.run("override payments <@U444|sam> for 6h"))
    assert "<@U444>" in answer and "on call for Payments" in answer and "(6h)" in answer
    [create] = fake(pd).of("POST", "/v3/schedules/PV3SCH1/overrides")
    items = create.body["overrides"]
    assert len(items) >= 2  # six hours cross at least one 4-hour handover
    assert all(i["rotation_id"] == "RPV3SCH1" for i in items)
    assert all(i["overridden_member"] == {"type": "user_member", "user_id": "PU222AAAA"} for i in items)
    assert all(i["overriding_member"] == {"type": "user_member", "user_id": "PU444AAAA"} for i in items)
    starts = sorted(i["start_time"] for i in items)
    ends = sorted(i["end_time"] for i in items)
    assert all(a == b for a, b in zip(ends[:-1], starts[1:], strict=True))  # back to back, no gap
    assert fake(pd).of("POST", "/schedules/PV3SCH1/overrides") == []  # never the classic endpoint
    classic = text_of(await pd.bot.run("override prim <@U444|sam> for 2h"))
    assert "<@U444>" in classic and len(fake(pd).of("POST", "/schedules/PSCHED1/overrides")) == 1


async def test_reassign_hands_the_incident_to_someone_found_by_email(pd: ProviderBot) -> None:
    incident = await linked(pd)
    answer = text_of(await pd.bot.run("reassign <@U333|cy>", channel=CHANNEL))
    assert "handed the incident to <@U333>" in answer
    [put] = fake(pd).of("PUT", f"/incidents/{incident['id']}")
    assert put.body["incident"]["assignments"] == [
        {"assignee": {"id": "PU333AAAA", "type": "user_reference"}}
    ]
    assert put.headers["From"] == "bot@example.com"
    assert "<@U333>" in text_of(await pd.bot.run("info", channel=CHANNEL))


async def test_update_is_a_note(pd: ProviderBot) -> None:
    incident = await linked(pd)
    assert "Rollback done" in text_of(await pd.bot.run("update Rollback done", channel=CHANNEL))
    [note] = fake(pd).of("POST", f"/incidents/{incident['id']}/notes")
    assert note.body["note"]["content"].startswith("Rollback done")
    assert note.headers["From"] == "bot@example.com"


@pytest.mark.parametrize(
    "command",
    [
        "assign comms <@U333|cy>",
        "lead <@U333|cy>",
        "followup Add alert",
        "followups",
        "task Check lag",
        "tasks",
    ],
)
async def test_roles_and_followups_are_not_offered_and_say_where_to_go(pd: ProviderBot, command: str) -> None:
    incident = await linked(pd)
    answer = text_of(await pd.bot.run(command, channel=CHANNEL))
    assert "PagerDuty's API has no" in answer and incident["html_url"] in answer
    assert fake(pd).writes() == []


async def test_oncall_maps_people_to_slack_by_email_once_per_schedule(pd: ProviderBot) -> None:
    answer = text_of(await pd.bot.run("oncall"))
    assert "Primary" in answer and "<@U222>" in answer and "Database" in answer and "<@U444>" in answer
    assert answer.count("<@U222>") == 1  # listed once, though PagerDuty lists each escalation level
    [oncalls] = fake(pd).of("GET", "/oncalls")
    assert sorted(v for k, v in oncalls.query if k == "schedule_ids[]") == ["PSCHED1", "PSCHED2"]


async def test_override_on_a_classic_schedule_checks_each_items_status(pd: ProviderBot) -> None:
    answer = text_of(await pd.bot.run("override prim <@U444|sam> for 2h"))
    assert "<@U444>" in answer
    [create] = fake(pd).of("POST", "/schedules/PSCHED1/overrides")
    [item] = create.body["overrides"]
    assert item["user"] == {"id": "PU444AAAA", "type": "user_reference"}
    fake(pd).refuse_overrides = True
    # Another one (the same again is refused by the bot itself, before PagerDuty hears of it).
    refused = text_of(await pd.bot.run("override prim <@U444|sam> for 5h"))
    assert "did not create the override" in refused and "Override must end after its start" in refused


async def test_overrides_listed_and_cancelled_on_a_classic_schedule(pd: ProviderBot) -> None:
    await pd.bot.run("override prim <@U444|sam> for 2h")
    await pd.bot.run("override prim <@U333|cy> from tomorrow 9am to tomorrow 5pm")
    listed = text_of(await pd.bot.run("overrides"))
    assert "#1 *Primary*:" in listed and "#2 *Primary*:" in listed
    gets = fake(pd).of("GET", "/schedules/PSCHED1/overrides")
    assert gets and all(g.arg("since") and g.arg("until") for g in gets)
    assert "(it had begun, so it ends now)" in text_of(await pd.bot.run("override cancel #1"))
    [cut] = fake(pd).of("DELETE", "/schedules/PSCHED1/overrides/POVR1")
    assert cut.headers["From"] == "bot@example.com"
    # Numbers stay put: #1 is the cut-short one still, and the later one is #2, as listed.
    assert "There is no override #1" in text_of(await pd.bot.run("override cancel #1"))
    assert [o["id"] for o in fake(pd).overrides] == ["POVR1", "POVR2"]
    assert "ends now" not in text_of(await pd.bot.run("override cancel #2"))  # the later one, removed
    assert [o["id"] for o in fake(pd).overrides] == ["POVR1"]  # only the cut-short one is left


async def test_overrides_on_a_shift_based_schedule_say_where_to_go(pd: ProviderBot) -> None:
    fake(pd).add_v3_schedule("PV3SCH1", "Payments", on_call="U222", shift_hours=4)
    answer = text_of(await pd.bot.run("overrides payments"))
    assert "shift-based PagerDuty schedule" in answer and "Schedules → Payments" in answer
    assert fake(pd).writes() == []


async def test_someone_unknown_at_pagerduty_gets_a_clear_answer(pd: ProviderBot) -> None:
    answer = text_of(await pd.bot.run("override prim <@U999|zed> for 2h"))
    assert "has no PagerDuty account" in answer
    assert fake(pd).writes() == []


async def test_declare_on_the_configured_service_with_incident_key(pd: ProviderBot) -> None:
    answer, channel = await pd.bot.declare("Payments down sev:p1")
    [create] = fake(pd).of("POST", "/incidents")
    body = create.body["incident"]
    assert body["service"] == {"id": "PSERV01", "type": "service_reference"}
    assert body["incident_key"] and body["priority"]["id"] == "PPRI1"
    assert f"<#{channel}>" in answer["text"]
    assert "Payments down" in text_of(await pd.bot.run("info", channel=channel))


async def test_help_in_a_pagerduty_channel_offers_only_what_pagerduty_can_do(pd: ProviderBot) -> None:
    await linked(pd)
    answer = text_of(await pd.bot.run("help", channel=CHANNEL))
    assert "/incident ack" in answer and "/incident oncall" in answer
    assert "/incident assign" not in answer and "/incident followup " not in answer
    missing = "assign, lead, statuspage, roles, followup, followups, task, tasks"
    assert f"Not offered by PagerDuty's API: {missing}" in answer


async def test_the_card_keeps_the_assignees_mention_after_a_change(pd: ProviderBot) -> None:
    """A write's answer names assignees by reference only (no email): the one read whole
    before keeps their Slack mention on the card, not "User U222"."""
    incident = pd.fake.add_incident("Checkout down")  # type: ignore[attr-defined]
    await pd.bot.run(f"link pd:{incident['incident_number']}", channel="C0PDCARD")
    await pd.bot.settled()
    await pd.bot.run("ack", channel="C0PDCARD")
    await pd.bot.settled()
    [*_, drawn] = [c for c in pd.bot.slack.of("chat.update") if c.params.get("channel") == "C0PDCARD"]
    assert "*Assigned*\\n<@U222>" in text_of(drawn.params), text_of(drawn.params)


async def test_status_with_an_incident_number_after_it_names_that_incident(pd: ProviderBot) -> None:
    """`status resolved #1` in the channel of #1: it was resolved with "#1" as its note. The
    number names the incident, as `pd:1` does: #1 resolved with no note; and `#2`, typed in
    the same channel, names #2, never the channel's own."""
    incident = await linked(pd)
    other = fake(pd).add_incident("Search is slow")
    answer = text_of(await pd.bot.run(f"status resolved #{incident['incident_number']}", channel=CHANNEL))
    assert "resolved" in answer and incident["status"] == "resolved", answer
    assert fake(pd).of("POST", f"/incidents/{incident['id']}/notes") == []
    # As `pd:2` does: #2 is another incident, whose responders alone (or an admin) may.
    writes = len(fake(pd).writes())
    about = text_of(await pd.bot.run(f"status acknowledged #{other['incident_number']}", channel=CHANNEL))
    assert f"change the status of #{other['incident_number']}" in about, about
    assert len(fake(pd).writes()) == writes and incident["status"] == "resolved"
