"""`retro`: the retrospective draft written in the incident's channel, through signed
slash commands and clicks to the running app. The fake Slack keeps the canvases and files
the bot made (tests/slackfake.py), so each test reads the document Slack would hold."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from bot.clock import FixedClock
from bot.commands import retro as drafts
from bot.domain import FollowUp, Incident, Person, TimelineEntry
from bot.present.retro import retro_markdown
from bot.slack.server import RUNTIME
from tests.conftest import RunningBot, make_settings, provider_bot, running_bot
from tests.fakes.incidentio import FakeIncidentIo
from tests.helpers import card_post, click, click_element, shown_buttons, text_of
from tests.slackfake import FakeSlack

START = datetime(2026, 11, 30, 14, 0, tzinfo=UTC)
NO_CANVAS = "free_teams_cannot_create_non_channel_canvases"


@pytest.fixture
async def clocked(fake_slack: FakeSlack, sqlite_url: str) -> AsyncIterator[tuple[RunningBot, FixedClock]]:
    clock = FixedClock(START)
    async with running_bot(fake_slack, make_settings(fake_slack, sqlite_url), clock) as running:
        yield running, clock


async def lived(bot: RunningBot, clock: FixedClock) -> str:
    """An incident from declared to resolved, with roles and a follow-up: its channel."""
    _, channel = await bot.declare('Checkout down sev:SEV2 summary:"5xx on /pay for card payments"')
    clock.advance(minutes=5)
    await bot.run("ack", channel=channel)  # 14:05
    await bot.run("assign comms <@U222|bea>", channel=channel)
    clock.advance(minutes=20)
    await bot.run("status monitoring rolled back 4.2", channel=channel)  # 14:25
    await bot.run("followup Add DB failover alert <@U333|sam> due:2026-12-04", channel=channel)
    clock.advance(minutes=35)
    await bot.run("resolve error rate is back to normal", channel=channel)  # 15:00
    return channel


def only_canvas(slack: FakeSlack) -> tuple[str, dict[str, Any]]:
    [(canvas_id, canvas)] = slack.canvases.items()
    return canvas_id, canvas


# the built-in provider ------------------------------------------------------------------------
async def test_the_retro_is_a_canvas_with_durations_roles_timeline_followups_and_links(
    clocked: tuple[RunningBot, FixedClock],
) -> None:
    bot, clock = clocked
    channel = await lived(bot, clock)
    clock.advance(minutes=10)
    answer = await bot.run("retro", channel=channel)

    canvas_id, canvas = only_canvas(bot.slack)
    [made] = bot.slack.of("canvases.create")
    assert made.params["channel_id"] == channel  # tabbed in the channel (free plans require it)
    assert canvas["title"] == "Retro: INC-1 Checkout down"
    assert canvas["access"] == {channel: "write"}  # the channel's people may fill it in
    text = canvas["markdown"]
    assert text.startswith("# Retro: INC-1 Checkout down\n")
    assert "## Summary\n\n5xx on /pay for card payments\n" in text
    assert "- Severity: SEV2" in text and "- Status: resolved" in text
    assert "holds no impact for this incident" in text  # said plainly: nothing recorded
    # Durations: declared → acknowledged → mitigated → resolved, each after the one before.
    assert "| Declared | 2026-11-30 14:00 UTC | — | — |" in text
    assert "| Acknowledged | 2026-11-30 14:05 UTC | 5m | 5m |" in text
    assert "| Mitigated | 2026-11-30 14:25 UTC | 25m | 20m |" in text
    assert "| Resolved | 2026-11-30 15:00 UTC | 1h | 35m |" in text
    assert "Resolved 1h after it was declared." in text
    # Who held which role: canvas mentions.
    assert "- Lead: ![](@U111)" in text and "- Comms: ![](@U222)" in text
    # The timeline, as `timeline` reads it, oldest first.
    order = ["declared: Checkout down", "status: investigating", "rolled back 4.2", "error rate is back"]
    at = [text.index(words) for words in order]
    assert at == sorted(at), text
    assert "- 2026-11-30 14:05 UTC · status: investigating" in text
    # The follow-up with its owner and due date.
    assert "- [ ] #1 Add DB failover alert: ![](@U333), due Fri 2026-12-04" in text
    # Links: the channel.
    assert f"- The incident's channel: ![](#{channel})" in text
    assert "_A draft written by the incident bot on 2026-11-30 15:10 UTC" in text

    # Told in the channel, with the canvas's link.
    assert answer.get("response_type") == "in_channel" or answer["_via"] == "chat.postMessage"
    said = text_of(answer)
    assert "wrote the retro draft of INC-1" in said
    assert f"https://test.slack.com/docs/T111/{canvas_id}" in said
    # And bookmarked at the top of the channel, beside the incident's own bookmarks.
    retro_marks = [m for m in bot.slack.bookmarks.get(channel, {}).values() if m["title"] == "Retro"]
    assert retro_marks == [{"title": "Retro", "link": f"https://test.slack.com/docs/T111/{canvas_id}"}]


async def test_retro_again_edits_the_same_canvas(clocked: tuple[RunningBot, FixedClock]) -> None:
    bot, clock = clocked
    channel = await lived(bot, clock)
    await bot.run("retro", channel=channel)
    canvas_id, _ = only_canvas(bot.slack)
    clock.advance(minutes=30)
    await bot.run("followup Write the customer note <@U222|bea>", channel=channel)
    again = text_of(await bot.run("retro replace", channel=channel))

    assert len(bot.slack.of("canvases.create")) == 1  # one document, however often it is run
    [edit] = bot.slack.of("canvases.edit")
    assert edit.params["canvas_id"] == canvas_id
    same_id, canvas = only_canvas(bot.slack)
    assert same_id == canvas_id and canvas["edits"] == 1
    assert "#2 Write the customer note: ![](@U222), no due date" in canvas["markdown"]
    assert "brought the retro draft of INC-1 up to date" in again and canvas_id in again
    kept = await bot.app[RUNTIME].store.kept.get(drafts.key("builtin", "1"))
    assert kept is not None and kept["id"] == canvas_id and kept["kind"] == "canvas"


async def test_retro_again_over_a_canvas_asks_before_it_replaces_what_people_wrote(
    clocked: tuple[RunningBot, FixedClock],
) -> None:
    """People write in the canvas (what went well, what to change): `retro` again asks, and
    changes nothing until the question's *Replace it* (or `retro replace` typed)."""
    bot, clock = clocked
    channel = await lived(bot, clock)
    await bot.run("retro", channel=channel)
    canvas_id, _ = only_canvas(bot.slack)
    asked = await bot.run("retro", channel=channel)
    said = text_of(asked)
    assert "The retro draft of INC-1 is written already" in said
    assert (
        "replaces all of it, with whatever people wrote there since" in said
        and "Nothing was changed yet" in said
    )
    assert "`/incident retro replace`" in said and "`/incident retro new`" in said
    assert asked["response_type"] == "ephemeral"
    await bot.settled()
    assert bot.slack.of("canvases.edit") == [] and len(bot.slack.of("canvases.create")) == 1
    elements = [e for b in asked["blocks"] if b["type"] == "actions" for e in b["elements"]]
    assert [(e["action_id"], e["text"]["text"]) for e in elements] == [
        ("verb.retro", "Replace it"),
        ("verb.retro", "Write a new one"),
    ]
    await click_element(bot, elements[0], user="U111", channel=channel)
    [edit] = bot.slack.of("canvases.edit")
    assert edit.params["canvas_id"] == canvas_id


async def test_the_questions_write_a_new_one_leaves_the_first_canvas_and_keeps_the_new(
    clocked: tuple[RunningBot, FixedClock],
) -> None:
    bot, clock = clocked
    channel = await lived(bot, clock)
    await bot.run("retro", channel=channel)
    [first_id] = list(bot.slack.canvases)
    written = bot.slack.canvases[first_id]["markdown"]
    asked = await bot.run("retro", channel=channel)
    elements = [e for b in asked["blocks"] if b["type"] == "actions" for e in b["elements"]]
    [beside] = [e for e in elements if e["text"]["text"] == "Write a new one"]
    await click_element(bot, beside, user="U111", channel=channel)
    assert len(bot.slack.canvases) == 2 and bot.slack.of("canvases.edit") == []
    assert bot.slack.canvases[first_id]["markdown"] == written
    [second_id] = [c for c in bot.slack.canvases if c != first_id]
    kept = await bot.app[RUNTIME].store.kept.get(drafts.key("builtin", "1"))
    assert kept is not None and kept["id"] == second_id


async def test_retro_new_writes_a_second_canvas_and_leaves_the_first_as_it_is(
    clocked: tuple[RunningBot, FixedClock],
) -> None:
    bot, clock = clocked
    channel = await lived(bot, clock)
    await bot.run("retro", channel=channel)
    [(first_id, first)] = bot.slack.canvases.items()
    written = first["markdown"]
    said = text_of(await bot.run("retro new", channel=channel))
    assert "wrote the retro draft of INC-1" in said
    assert len(bot.slack.canvases) == 2 and bot.slack.of("canvases.edit") == []
    assert bot.slack.canvases[first_id]["markdown"] == written  # untouched
    [second_id] = [c for c in bot.slack.canvases if c != first_id]
    kept = await bot.app[RUNTIME].store.kept.get(drafts.key("builtin", "1"))
    assert kept is not None and kept["id"] == second_id  # the next `retro` is about the new one
    await bot.run("retro replace", channel=channel)
    [edit] = bot.slack.of("canvases.edit")
    assert edit.params["canvas_id"] == second_id


async def test_where_canvases_are_refused_it_is_a_markdown_file_replaced_when_run_again(
    clocked: tuple[RunningBot, FixedClock],
) -> None:
    bot, clock = clocked
    bot.slack.canvases_refused = NO_CANVAS
    channel = await lived(bot, clock)
    first = text_of(await bot.run("retro", channel=channel))

    assert bot.slack.canvases == {} and len(bot.slack.of("canvases.create")) == 1  # tried, refused
    [(file_id, shared)] = bot.slack.files.items()
    assert shared["channel_id"] == channel and shared["name"] == "retro-INC-1.md"
    assert shared["title"] == "Retro: INC-1 Checkout down"
    [upload] = bot.slack.of("upload")  # the bytes went to the URL Slack gave, on the fake
    assert upload.params["file_id"] == file_id
    content = shared["content"]
    assert "| Mitigated | 2026-11-30 14:25 UTC | 25m | 20m |" in content
    assert "- Lead: u111" in content and "![](@" not in content  # names: a file has no mentions
    assert "#1 Add DB failover alert: sam, due Fri 2026-12-04" in content
    assert "wrote the retro draft of INC-1" in first and NO_CANVAS in first
    assert f"https://test.slack.com/files/UBOT/{file_id}/retro-INC-1.md" in first

    clock.advance(minutes=5)
    await bot.run("update the customer note went out", channel=channel)
    second = text_of(await bot.run("retro", channel=channel))
    [deleted] = bot.slack.of("files.delete")
    assert deleted.params["file"] == file_id  # the old file goes once the new one is shared
    [(new_id, replacement)] = bot.slack.files.items()
    assert new_id != file_id and "the customer note went out" in replacement["content"]
    assert "replaced the retro draft of INC-1 with a new file" in second
    # One Retro bookmark, moved to the new file rather than a second one added.
    retro_marks = [m for m in bot.slack.bookmarks.get(channel, {}).values() if m["title"] == "Retro"]
    assert retro_marks == [
        {"title": "Retro", "link": f"https://test.slack.com/files/UBOT/{new_id}/retro-INC-1.md"}
    ]
    kept = await bot.app[RUNTIME].store.kept.get(drafts.key("builtin", "1"))
    assert kept is not None and kept == {
        "kind": "file",
        "id": new_id,
        "url": f"https://test.slack.com/files/UBOT/{new_id}/retro-INC-1.md",
        "channel_id": channel,
    }


async def test_a_canvas_deleted_meanwhile_is_made_again(clocked: tuple[RunningBot, FixedClock]) -> None:
    bot, clock = clocked
    channel = await lived(bot, clock)
    await bot.run("retro", channel=channel)
    bot.slack.canvases.clear()  # someone deleted it in Slack
    said = text_of(await bot.run("retro replace", channel=channel))
    assert len(bot.slack.of("canvases.create")) == 2 and len(bot.slack.canvases) == 1
    assert "deleted, so this is a new one" in said


async def test_the_card_offers_the_retro_once_resolved_and_its_click_writes_it(
    clocked: tuple[RunningBot, FixedClock],
) -> None:
    bot, clock = clocked
    _, channel = await bot.declare("Checkout down")
    card = card_post(bot.slack, channel)
    assert "verb.retro" not in shown_buttons(card.params)  # not while it is being fought
    clock.advance(minutes=40)
    await bot.run("resolve", channel=channel)
    [*_, redraw] = await bot.slack.wait_for(1, "chat.update")
    closed = redraw.params
    assert shown_buttons(closed) == ["verb.reopen", "verb.followup", "verb.update", "verb.retro"]
    before = len(bot.slack.answers())
    pressed = bot.slack.of("chat.postMessage")[-1]
    pressed.params = closed  # the card as its redraw left it, clicked where it is
    assert (await click(bot, pressed, "verb.retro"))[0] == 200
    [*_, answer] = await bot.slack.wait_for(before + 1)
    assert "wrote the retro draft of INC-1" in text_of(answer.params)
    _, canvas = only_canvas(bot.slack)
    assert "| Resolved | 2026-11-30 14:40 UTC | 40m | 40m |" in canvas["markdown"]
    assert "| Acknowledged | not recorded | — | — |" in canvas["markdown"]  # resolved straight away


async def test_postmortem_is_suggested_as_retro(clocked: tuple[RunningBot, FixedClock]) -> None:
    bot, _ = clocked
    _, channel = await bot.declare("Checkout down")
    for word in ("postmortem", "pir"):
        said = text_of(await bot.run(word, channel=channel))
        assert "retro" in said, said
    assert bot.slack.canvases == {}  # suggested, never run


# incident.io, end to end -------------------------------------------------------------------------
async def test_at_incident_io_the_retro_has_its_roles_followups_and_page(
    fake_slack: FakeSlack, sqlite_url: str
) -> None:
    channel = "C0INCIO"
    async with provider_bot("incidentio", fake_slack, sqlite_url) as io:
        fake = io.fake
        assert isinstance(fake, FakeIncidentIo)
        incident = fake.add_incident("Checkout down", channel=channel, status="Triage")
        await io.bot.run(f"link {incident['reference']}", channel=channel)
        await io.bot.run("lead <@U222|bea>", channel=channel)
        await io.bot.run("followup Add DB failover alert <@U333|sam> due:2026-12-04", channel=channel)
        await io.bot.run("update rolled back the deploy", channel=channel)
        await io.bot.run("resolve", channel=channel)
        said = text_of(await io.bot.run("retro", channel=channel))
        _, canvas = only_canvas(fake_slack)
        text = canvas["markdown"]
        assert "# Retro: INC-1 Checkout down" in text
        assert "Incident lead: ![](@U222)" in text.replace("Incident Lead", "Incident lead")
        assert "- [ ] #1 Add DB failover alert: ![](@U333)" in text  # outstanding there: still open
        assert "rolled back the deploy" in text and "_From incident.io, oldest first._" in text
        assert "- The incident at incident.io: [INC-1](https://app.incident.io/acme/incidents/1)" in text
        assert "incident.io holds no impact" in text
        assert "wrote the retro draft of INC-1" in said
        # A second run edits it; the provider is read, never written, for the retro.
        writes = len(fake.writes())
        await io.bot.run("retro replace", channel=channel)
        assert len(fake_slack.of("canvases.create")) == 1 and len(fake_slack.of("canvases.edit")) == 1
        assert len(fake.writes()) == writes


# the draft from typed data ------------------------------------------------------------------------
def _incident(**more: Any) -> Incident:
    return Incident(
        provider="pagerduty",
        id="PINC1",
        reference="PD-1",
        name="Queue backlog",
        status="acknowledged",
        created_at=START,
        url="https://acme.pagerduty.com/incidents/PINC1",
        **more,
    )


def test_steps_read_each_providers_words_and_an_open_incident_is_not_resolved() -> None:
    entries = [
        TimelineEntry(at=START + timedelta(minutes=3), kind="acknowledge", text="Acknowledged by Bea."),
        TimelineEntry(at=START + timedelta(minutes=9), kind="update", text="status Monitoring · holding"),
        TimelineEntry(at=START + timedelta(minutes=7), kind="note", text="resolved: not a status"),
    ]
    steps = {s.name: s.at for s in drafts.steps_of(_incident(), entries)}
    assert steps == {
        "declared": START,
        "acknowledged": START + timedelta(minutes=3),
        "mitigated": START + timedelta(minutes=9),
        "resolved": None,
    }


def test_the_draft_says_plainly_what_the_provider_does_not_hold() -> None:
    draft = drafts.assemble(
        _incident(),
        [],
        followups=None,
        has_roles=False,
        provider_label="PagerDuty",
        timeline_source="from PagerDuty",
        channel_id="C0PAGER",
        channel_name="inc-1-queue",
        command="/inc",
        at=START + timedelta(hours=2),
        tz="Europe/Paris",
    )
    text = retro_markdown(draft, canvas=False)
    assert "No summary was written at PagerDuty" in text
    assert "PagerDuty holds no impact for this incident" in text
    assert "| Acknowledged | not reached | — | — |" in text and "| Resolved | not reached | — | — |" in text
    assert "Not resolved yet: open for 2h." in text
    assert "| Declared | 2026-11-30 15:00 CET | — | — |" in text  # the asker's zone
    assert "keeps no roles" in text and "keeps no follow-ups: list them here" in text
    assert "- Nothing in the timeline." in text
    assert "- The incident's channel: #inc-1-queue" in text
    assert "`/inc retro` writes a new file from the incident in its place" in text  # the command as set
    assert "`/inc retro` asks before it writes it again" in retro_markdown(draft, canvas=True)


def test_someones_words_cannot_mention_or_break_the_tables() -> None:
    entry = TimelineEntry(
        at=START, kind="note", text="see ![](@U999) | col\nnext line", author=Person(slack_id="", name="Bea")
    )
    followup = FollowUp(id="1", number=1, title="Fix | it", state="completed")
    draft = drafts.assemble(
        _incident(summary="line one\n\nline two"),
        [entry],
        followups=[followup],
        has_roles=True,
        provider_label="PagerDuty",
        timeline_source="from PagerDuty",
        channel_id=None,
        channel_name=None,
        command="/incident",
        at=START,
        tz="UTC",
    )
    text = retro_markdown(draft, canvas=True)
    assert "see !\\[](@U999) \\| col next line (Bea)" in text
    assert "- [x] #1 Fix \\| it: no owner yet, no due date (completed)" in text
    assert "line one line two" in text and "- Nobody held a role." in text


# PagerDuty and FireHydrant: what each holds, and what it does not -------------------------------
async def test_at_pagerduty_the_retro_says_it_keeps_no_roles_or_followups(
    fake_slack: FakeSlack, sqlite_url: str
) -> None:
    channel = "C0PAGER"
    async with provider_bot("pagerduty", fake_slack, sqlite_url) as pb:
        fake: Any = pb.fake
        incident = fake.add_incident("Queue backlog")
        await pb.bot.run(f"link pd:{incident['incident_number']}", channel=channel)
        await pb.bot.run("resolve", channel=channel)
        said = text_of(await pb.bot.run("retro", channel=channel))
        _, canvas = only_canvas(fake_slack)
        text = canvas["markdown"]
        assert "# Retro: PD-1 Queue backlog" in text or "Queue backlog" in text.splitlines()[0]
        assert "keeps no roles" in text and "keeps no follow-ups" in text
        assert "- Service: Checkout" in text and "holds no impact" not in text  # the incident's service
        assert "trigger: Triggered through the API." in text and "resolve: Resolved." in text
        assert f"({incident['html_url']})" in text and "The incident at PagerDuty" in text
        assert "wrote the retro draft" in said


async def test_at_firehydrant_milestones_give_the_durations(fake_slack: FakeSlack, sqlite_url: str) -> None:
    channel = "C0HYDRANT"
    async with provider_bot("firehydrant", fake_slack, sqlite_url) as fh:
        fake: Any = fh.fake
        incident = fake.add_incident("Checkout down")
        await fh.bot.run(f"link fh:{incident['id']}", channel=channel)
        await fh.bot.run("ack", channel=channel)
        await fh.bot.run("followup Add DB failover alert", channel=channel)
        await fh.bot.run("resolve", channel=channel)
        await fh.bot.run("retro", channel=channel)
        _, canvas = only_canvas(fake_slack)
        text = canvas["markdown"]
        assert "| Acknowledged | not reached" not in text and "| Acknowledged | not recorded" not in text
        assert "| Resolved | not reached" not in text
        assert "#1 Add DB failover alert: no owner yet" in text
        assert "The incident at FireHydrant" in text
        # FireHydrant's own retrospective, from the account's default template, started once.
        [theirs] = fake.retrospectives[incident["id"]]
        assert theirs["name"] == "Standard retrospective"
        assert "- FireHydrant's own retrospective, “Standard retrospective”: on [the incident's page" in text
        said = text_of(await fh.bot.run("retro replace", channel=channel))
        assert len(fake.retrospectives[incident["id"]]) == 1  # listed first: never a second
        assert "FireHydrant's own retrospective “Standard retrospective” is started too" in said


def test_on_every_provider_the_closed_card_offers_the_retro_within_a_phones_row() -> None:
    """tests/test_card_phone.py's rules (five buttons, a menu of five at most) hold with the
    retro's button in every phase, at every provider."""
    from bot.commands import registry
    from bot.domain import Capability, Phase
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
                assert len(shown) <= registry.PRIMARY_BUTTONS and len(menu) <= registry.MENU_OPTIONS
                assert ("retro" in [v.name for v in shown]) is (phase is Phase.CLOSED), (adapter, phase)
                assert "retro" not in [v.name for v in menu]


async def test_the_providers_own_stamps_and_impact_go_in_the_draft(
    fake_slack: FakeSlack, sqlite_url: str
) -> None:
    """incident.io's timestamps and impact field, FireHydrant's milestones and impacts: what
    the provider stamped wins over the timeline's reading, and its impact is listed."""
    async with provider_bot("incidentio", fake_slack, sqlite_url) as io:
        fake: Any = io.fake
        incident = fake.add_incident("Checkout down", channel="C0INCIO")
        incident["incident_timestamp_values"] = [
            {
                "incident_timestamp": {"id": "01TS1", "name": "Accepted at", "rank": 1},
                "value": {"value": "2026-11-22T09:04:00Z"},
            },
            {
                "incident_timestamp": {"id": "01TS2", "name": "Fixed at", "rank": 2},
                "value": {"value": "2026-11-22T09:31:00Z"},
            },
            {
                "incident_timestamp": {"id": "01TS3", "name": "Resolved at", "rank": 3},
                "value": {"value": "2026-11-22T10:00:00Z"},
            },
        ]
        incident["custom_field_entries"] = [
            {
                "custom_field": {
                    "id": "01CF1",
                    "name": "Customer impact",
                    "description": "",
                    "field_type": "text",
                    "options": [],
                },
                "values": [{"value_text": "EU card payments failed"}],
            },
            {
                "custom_field": {
                    "id": "01CF2",
                    "name": "Team",
                    "description": "",
                    "field_type": "text",
                    "options": [],
                },
                "values": [{"value_text": "Payments"}],
            },
        ]
        await io.bot.run(f"link {incident['reference']}", channel="C0INCIO")
        await io.bot.run("resolve", channel="C0INCIO")
        await io.bot.run("retro", channel="C0INCIO")
        _, canvas = only_canvas(fake_slack)
        text = canvas["markdown"]
        assert "| Acknowledged | 2026-11-22 09:04 UTC | 4m | 4m |" in text
        assert "| Mitigated | 2026-11-22 09:31 UTC | 31m | 27m |" in text
        assert "| Resolved | 2026-11-22 10:00 UTC | 1h | 29m |" in text
        assert "- Customer impact: EU card payments failed" in text and "Team: Payments" not in text
        assert "holds no impact" not in text

    fake_slack.canvases.clear()
    async with provider_bot("firehydrant", fake_slack, sqlite_url) as fh:
        fake = fh.fake
        incident = fake.add_incident("Checkout down")
        incident["customer_impact_summary"] = "Card payments failed for half an hour"
        incident["impacts"] = [
            {
                "id": "im1",
                "type": "service",
                "impact": {"id": "sv1", "name": "Checkout API"},
                "condition": {"id": "cd1", "name": "Degraded"},
            }
        ]
        incident["lifecycle_phases"] = [
            {
                "id": "ph1",
                "name": "Active",
                "milestones": [
                    {
                        "id": "m1",
                        "slug": "acknowledged",
                        "name": "Acknowledged",
                        "occurred_at": "2026-11-22T09:02:00Z",
                    },
                    {
                        "id": "m2",
                        "slug": "mitigated",
                        "name": "Mitigated",
                        "occurred_at": "2026-11-22T09:20:00Z",
                    },
                ],
            }
        ]
        await fh.bot.run(f"link fh:{incident['id']}", channel="C0HYDRANT")
        await fh.bot.run("retro", channel="C0HYDRANT")
        _, canvas = only_canvas(fake_slack)
        text = canvas["markdown"]
        assert "| Acknowledged | 2026-11-22 09:02 UTC | 2m | 2m |" in text
        assert "| Mitigated | 2026-11-22 09:20 UTC | 20m | 18m |" in text
        assert "| Resolved | not reached | — | — |" in text  # still open
        assert "- Service: Checkout API (Degraded)" in text
        assert "- Customers: Card payments failed for half an hour" in text


async def test_where_slack_takes_it_in_no_form_nothing_is_kept_and_the_answer_says_why(
    clocked: tuple[RunningBot, FixedClock],
) -> None:
    bot, clock = clocked
    channel = await lived(bot, clock)
    bot.slack.canvases_refused = "missing_scope"  # an app installed before the new scopes
    bot.slack.errors["files.getUploadURLExternal"] = "missing_scope"
    said = await bot.run("retro", channel=channel)
    assert "couldn't write the retro draft of INC-1" in text_of(said) and "missing_scope" in text_of(said)
    assert said.get("response_type") != "in_channel"  # a failure is told to the one who asked
    assert bot.slack.canvases == {} and bot.slack.files == {}
    assert await bot.app[RUNTIME].store.kept.get(drafts.key("builtin", "1")) is None


async def test_canvases_turned_off_after_the_first_draft_make_a_file_and_say_so(
    clocked: tuple[RunningBot, FixedClock],
) -> None:
    bot, clock = clocked
    channel = await lived(bot, clock)
    await bot.run("retro", channel=channel)
    bot.slack.canvases_refused = "canvas_disabled_user_team"
    said = text_of(await bot.run("retro replace", channel=channel))
    assert len(bot.slack.canvases) == 1 and len(bot.slack.files) == 1  # the canvas is left as it was
    assert "canvas_disabled_user_team" in said and "wrote the retro draft of INC-1" in said
    assert "deleted" not in said
    kept = await bot.app[RUNTIME].store.kept.get(drafts.key("builtin", "1"))
    assert kept is not None and kept["kind"] == "file"


async def test_a_word_retro_does_not_take_is_refused_and_writes_nothing(
    clocked: tuple[RunningBot, FixedClock],
) -> None:
    bot, clock = clocked
    channel = await lived(bot, clock)
    await bot.run("retro", channel=channel)
    said = text_of(await bot.run("retro banana", channel=channel))
    assert "“banana” is not something `/incident retro` takes" in said
    await bot.settled()
    assert bot.slack.of("canvases.edit") == [] and len(bot.slack.of("canvases.create")) == 1
