"""Messages into the incident's timeline (📌, its removal, the message shortcut, each a
signed request as Slack sends it), and `timeline` read back."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

import pytest

from bot.clock import FixedClock
from bot.domain import Capability
from bot.providers import facets
from bot.slack import ids
from bot.slack.requests import reaction_request
from bot.slack.server import PIPELINE, RUNTIME, start_socket_mode
from tests.conftest import SECRET, RunningBot, make_settings, provider_bot, running_bot
from tests.helpers import free_port, text_of, wait_until
from tests.slackfake import FakeSlack, interaction_body, sign, slash_body

START = datetime(2026, 11, 30, 14, 0, tzinfo=UTC)
FIXTURES = Path(__file__).parent / "specs" / "slack" / "fixtures" / "bolt-python"
SAID = "1796047320.000100"  # 14:02 UTC: the message people pin
EVENT_TIME = 1796047400


@pytest.fixture
async def clocked(fake_slack: FakeSlack, sqlite_url: str) -> AsyncIterator[tuple[RunningBot, FixedClock]]:
    clock = FixedClock(START)
    async with running_bot(fake_slack, make_settings(fake_slack, sqlite_url), clock) as running:
        yield running, clock


def reaction_body(
    kind: str, *, user: str, channel: str, ts: str = SAID, emoji: str = "pushpin", event_id: str
) -> str:
    """A reaction_added / reaction_removed callback, shaped as Slack's Events API sends it
    (docs.slack.dev/reference/events/reaction_added)."""
    return json.dumps(
        {
            "token": "unused",
            "team_id": "T111",
            "api_app_id": "A111",
            "type": "event_callback",
            "event_id": event_id,
            "event_time": EVENT_TIME,
            "authorizations": [{"team_id": "T111", "user_id": "UBOT", "is_bot": True}],
            "event": {
                "type": kind,
                "user": user,
                "reaction": emoji,
                "item_user": "U222",
                "item": {"type": "message", "channel": channel, "ts": ts},
                "event_ts": f"{EVENT_TIME}.000200",
            },
        }
    )


async def react(bot: RunningBot, *, added: bool = True, retry: int = 0, **kwargs: Any) -> int:
    kind = "reaction_added" if added else "reaction_removed"
    if kwargs.get("emoji", "pushpin") == "pushpin":
        bot.slack.react(kwargs["channel"], kwargs.get("ts", SAID), "pushpin", kwargs["user"], added=added)
    body = reaction_body(kind, **kwargs)
    headers = sign(SECRET, body) | {"Content-Type": "application/json"}
    if retry:
        headers |= {"X-Slack-Retry-Num": str(retry), "X-Slack-Retry-Reason": "http_timeout"}
    response = await bot.post(body, headers)
    await bot.settled()
    return response.status


def say(
    slack: FakeSlack, channel: str, ts: str = SAID, text: str = "found it: the deploy at 14:02", **more: Any
) -> None:
    slack.messages.setdefault(channel, []).append(
        {"type": "message", "ts": ts, "user": "U222", "text": text, **more}
    )


async def timeline_rows(bot: RunningBot) -> list[Any]:
    return [
        e for e in await bot.app[RUNTIME].service.providers["builtin"].timeline("1") if e.kind == "message"
    ]


async def test_a_pin_puts_the_message_in_the_timeline_once_however_many_react(
    clocked: tuple[RunningBot, FixedClock],
) -> None:
    bot, _ = clocked
    _, channel = await bot.declare("Checkout down")
    say(bot.slack, channel, files=[{"id": "F1", "name": "error-rate.png"}])
    assert await react(bot, user="U111", channel=channel, event_id="Ev1") == 200
    assert await react(bot, user="U111", channel=channel, event_id="Ev1", retry=1) == 200  # Slack's retry
    await react(bot, user="U333", channel=channel, event_id="Ev2")  # someone else's 📌
    [entry] = await timeline_rows(bot)
    assert entry.author is not None and entry.author.slack_id == "U222"  # who said it
    assert entry.at == datetime.fromtimestamp(float(SAID), UTC)  # when it was said
    assert "found it: the deploy at 14:02" in entry.text and "[files: error-rate.png]" in entry.text
    assert f"https://test.slack.com/archives/{channel}/p{SAID.replace('.', '')}" in entry.text
    history = [c for c in bot.slack.of("conversations.history") if c.params.get("latest")]
    assert history and all(
        c.params["latest"] == SAID
        and c.params["limit"] in ("1", 1)
        and c.params["inclusive"] in ("1", "true", True)
        for c in history
    )
    told = bot.slack.of("chat.postEphemeral")
    assert [c.params["user"] for c in told] == ["U111", "U333"]  # privately, each reactor once
    assert "Added that message to INC-1's timeline" in text_of(told[0].params)
    assert "already in INC-1's timeline" in text_of(told[1].params)
    posted = [c for c in bot.slack.of("chat.postMessage") if c.params.get("channel") == channel]
    assert not any("timeline" in text_of(c.params) for c in posted)  # no post in the channel


async def test_another_emoji_or_a_channel_of_no_incident_does_nothing(
    clocked: tuple[RunningBot, FixedClock],
) -> None:
    bot, _ = clocked
    _, channel = await bot.declare("Checkout down")
    say(bot.slack, channel)
    say(bot.slack, "CRANDOM")
    assert await react(bot, user="U111", channel=channel, emoji="eyes", event_id="Ev1") == 200
    assert await react(bot, user="U111", channel="CRANDOM", event_id="Ev2") == 200
    assert await timeline_rows(bot) == []
    assert bot.slack.of("chat.postEphemeral") == []  # nobody is told "not linked" for a 📌


async def test_removing_the_last_pin_soon_after_takes_it_out(clocked: tuple[RunningBot, FixedClock]) -> None:
    bot, clock = clocked
    _, channel = await bot.declare("Checkout down")
    say(bot.slack, channel)
    await react(bot, user="U111", channel=channel, event_id="Ev1")
    await react(bot, user="U333", channel=channel, event_id="Ev2")
    await react(bot, added=False, user="U111", channel=channel, event_id="Ev3")
    assert len(await timeline_rows(bot)) == 1  # U333's 📌 is still on it
    assert "still on that message" in text_of(bot.slack.of("chat.postEphemeral")[-1].params)
    clock.advance(minutes=2)
    await react(bot, added=False, user="U333", channel=channel, event_id="Ev4")
    assert await timeline_rows(bot) == []
    assert "Took that message out of INC-1's timeline" in text_of(
        bot.slack.of("chat.postEphemeral")[-1].params
    )
    await react(bot, user="U111", channel=channel, event_id="Ev5")  # pinned again: in again
    assert len(await timeline_rows(bot)) == 1
    clock.advance(minutes=11)
    await react(bot, added=False, user="U111", channel=channel, event_id="Ev6")
    assert len(await timeline_rows(bot)) == 1  # too late: it stays, and the reactor is told
    assert "over 10 minutes ago, so it stays" in text_of(bot.slack.of("chat.postEphemeral")[-1].params)


async def test_the_message_shortcut_adds_a_reply_in_a_thread(clocked: tuple[RunningBot, FixedClock]) -> None:
    bot, _ = clocked
    _, channel = await bot.declare("Checkout down")
    say(bot.slack, channel, text="is it the deploy?")
    reply = "1796047380.000300"
    say(bot.slack, channel, ts=reply, text="yes: rolled back at 14:03", thread_ts=SAID)
    payload = json.loads((FIXTURES / "shortcut.message_shortcut_body.json").read_text())
    payload |= {
        "callback_id": ids.PIN_SHORTCUT,
        "message_ts": reply,
        "response_url": bot.slack.response_url(),
    }
    payload["channel"]["id"] = channel
    payload["user"]["id"] = "U111"
    payload["message"] |= {"ts": reply, "thread_ts": SAID, "text": "yes: rolled back at 14:03"}
    payload["team"]["id"] = "T111"
    body = interaction_body(payload)
    for _ in range(2):  # a replay of the same shortcut (its trigger_id) acts once
        response = await bot.post(body, sign(SECRET, body))
        assert response.status == 200
        await bot.settled()
    [entry] = await timeline_rows(bot)
    assert "yes: rolled back at 14:03" in entry.text
    [answer] = [c for c in bot.slack.answers() if c.url == payload["response_url"]]
    assert "Added that message to INC-1's timeline" in text_of(answer.params)
    assert bot.slack.of("conversations.replies")


async def test_timeline_lists_the_incident_newest_last_to_the_asker(
    clocked: tuple[RunningBot, FixedClock],
) -> None:
    bot, clock = clocked
    _, channel = await bot.declare("Checkout down")
    say(bot.slack, channel)
    clock.advance(minutes=1)
    await bot.run("sev 2", channel=channel)
    clock.advance(minutes=1)
    await bot.run("update rolled back", channel=channel)
    await react(bot, user="U111", channel=channel, event_id="Ev1")
    clock.advance(minutes=1)
    await bot.run("status monitoring", channel=channel)
    shown = await bot.run("timeline", channel=channel)
    assert shown["_via"] == "response_url" and shown.get("response_type") != "in_channel"
    text = text_of(shown)
    order = ["SEV2", "rolled back", "found it: the deploy at 14:02", "monitoring"]
    at = [text.index(word) for word in order]
    assert at == sorted(at), text  # newest last (the message by when it was said)


async def test_timeline_is_bounded_with_the_earlier_ones_counted(
    clocked: tuple[RunningBot, FixedClock],
) -> None:
    bot, clock = clocked
    _, channel = await bot.declare("Checkout down")
    for n in range(35):
        clock.advance(minutes=1)
        await bot.run(f"update step {n}", channel=channel)
    text = text_of(await bot.run("timeline", channel=channel))
    assert "step 34" in text and "step 4:" not in text and "earlier" in text
    before = len(await bot.app[RUNTIME].service.providers["builtin"].timeline("1"))
    assert f"and {before - 30} earlier" in text


async def test_at_pagerduty_a_pin_is_a_note_taken_back_by_deleting_it(
    fake_slack: FakeSlack, sqlite_url: str
) -> None:
    async with provider_bot("pagerduty", fake_slack, sqlite_url) as pb:
        fake: Any = pb.fake
        incident = fake.add_incident("Checkout down")
        bot, channel = pb.bot, "C0PAGER"
        await bot.run(f"link pd:{incident['incident_number']}", channel=channel)
        say(bot.slack, channel, files=[{"id": "F1", "name": "error-rate.png"}])
        await react(bot, user="U111", channel=channel, event_id="Ev1")
        await react(bot, user="U333", channel=channel, event_id="Ev2")
        pinned = [n for n in fake.notes if n["content"].startswith("Pinned from Slack")]
        assert len(pinned) == 1 and pinned[0]["incident"] == incident["id"]  # once, checked by the spec
        assert (
            "found it: the deploy at 14:02" in pinned[0]["content"]
            and "error-rate.png" in pinned[0]["content"]
        )
        assert "at PagerDuty" in text_of(bot.slack.of("chat.postEphemeral")[0].params)
        shown = text_of(await bot.run("timeline", channel=channel))
        assert "trigger: Triggered through the API." in shown and "found it: the deploy" in shown
        assert "from PagerDuty" in shown
        await react(bot, added=False, user="U111", channel=channel, event_id="Ev3")
        await react(bot, added=False, user="U333", channel=channel, event_id="Ev4")
        assert not [
            n for n in fake.notes if n["content"].startswith("Pinned from Slack")
        ]  # DELETE …/notes/{id}
        assert "Took that message out" in text_of(bot.slack.of("chat.postEphemeral")[-1].params)


async def test_at_firehydrant_a_pin_is_a_note_whose_event_is_deleted_to_take_it_back(
    fake_slack: FakeSlack, sqlite_url: str
) -> None:
    async with provider_bot("firehydrant", fake_slack, sqlite_url) as pb:
        fake: Any = pb.fake
        incident = fake.add_incident("Checkout down")
        bot, channel = pb.bot, "C0HYDRANT"
        await bot.run(f"link fh:{incident['id']}", channel=channel)
        await bot.run("update rolled back the deploy", channel=channel)
        say(bot.slack, channel)
        await react(bot, user="U111", channel=channel, event_id="Ev1")
        await react(bot, user="U111", channel=channel, event_id="Ev1", retry=1)
        pinned = [n for n in fake.notes if n["body"].startswith("Pinned from Slack")]
        assert len(pinned) == 1 and "found it: the deploy at 14:02" in pinned[0]["body"]
        shown = text_of(await bot.run("timeline", channel=channel))
        assert "from FireHydrant" in shown and "incident status: Started" in shown
        assert "note: rolled back the deploy" in shown and "message: Pinned from Slack" in shown
        await react(bot, added=False, user="U111", channel=channel, event_id="Ev2")
        assert not [n for n in fake.notes if n["body"].startswith("Pinned from Slack")]
        assert [n["body"] for n in fake.notes] == ["rolled back the deploy"]  # the update stays


async def test_at_incidentio_a_pin_is_a_timeline_item_which_its_api_cannot_delete(
    fake_slack: FakeSlack, sqlite_url: str
) -> None:
    async with provider_bot("incidentio", fake_slack, sqlite_url) as pb:
        fake: Any = pb.fake
        bot, channel = pb.bot, "C0INCIO"
        incident = fake.add_incident("Checkout down", channel=channel)
        await bot.run(f"link {incident['reference']}", channel=channel)
        await bot.run("update rolled back the deploy", channel=channel)
        say(bot.slack, channel, files=[{"id": "F1", "name": "error-rate.png"}])
        await react(bot, user="U111", channel=channel, event_id="Ev1")
        await react(bot, user="U333", channel=channel, event_id="Ev2")
        [item] = fake.timeline_items  # once, however many reacted; checked against the spec
        assert item["title"] == "Slack: found it: the deploy at 14:02"
        assert item["timestamp"] == "2026-11-30T14:02:00.000100Z"  # when it was said
        assert "<@U222> in Slack" in item["description"] and "[files: error-rate.png]" in item["description"]
        assert f"/archives/{channel}/p" in item["description"]
        shown = text_of(await bot.run("timeline", channel=channel))
        assert "from incident.io" in shown and "rolled back the deploy" in shown and "found it" in shown
        await react(bot, added=False, user="U111", channel=channel, event_id="Ev3")
        await react(bot, added=False, user="U333", channel=channel, event_id="Ev4")
        assert len(fake.timeline_items) == 1
        said = text_of(bot.slack.of("chat.postEphemeral")[-1].params)
        assert "cannot delete a timeline item" in said


async def test_where_the_provider_keeps_no_timeline_to_read_it_is_what_the_bot_did(
    clocked: tuple[RunningBot, FixedClock],
) -> None:
    bot, clock = clocked
    _, channel = await bot.declare("Checkout down")
    provider = bot.app[RUNTIME].service.providers["builtin"]
    provider.unsupported = {**provider.unsupported, Capability.TIMELINE: "kept nowhere the bot reads"}
    facets._offered.pop(provider, None)  # as an adapter without the facet would be
    clock.advance(minutes=1)
    await bot.run("sev 2", channel=channel)
    await bot.run("roles", channel=channel)  # a read: not part of the record
    clock.advance(minutes=1)
    await bot.run("update rolled back", channel=channel)
    text = text_of(await bot.run("timeline", channel=channel))
    assert "as done through the bot" in text and "roles:" not in text
    assert text.index("severity: sev 2") < text.index("update: update rolled back")


async def test_over_socket_mode_a_pin_and_the_shortcut_take_the_same_path(
    fake_slack: FakeSlack, sqlite_url: str
) -> None:
    settings = make_settings(fake_slack, sqlite_url, slack_app_token="xapp-test", port=free_port())
    handler, runner = await start_socket_mode(settings, host="127.0.0.1")
    try:
        await wait_until(lambda: bool(fake_slack.sockets), what="the socket connected")
        payload = dict(parse_qsl(slash_body("declare Checkout down", response_url=fake_slack.response_url())))
        await fake_slack.send_envelope("slash_commands", payload)
        await wait_until(lambda: bool(fake_slack.of("conversations.invite")), what="the channel made")
        channel = fake_slack.of("conversations.invite")[-1].params["channel"]
        say(fake_slack, channel)
        fake_slack.react(channel, SAID, "pushpin", "U111")
        event = json.loads(reaction_body("reaction_added", user="U111", channel=channel, event_id="EvS1"))
        await fake_slack.send_envelope("events_api", event)
        await wait_until(lambda: bool(fake_slack.of("chat.postEphemeral")), what="the reactor told")
        shortcut = json.loads((FIXTURES / "shortcut.message_shortcut_body.json").read_text())
        shortcut |= {
            "callback_id": ids.PIN_SHORTCUT,
            "message_ts": SAID,
            "response_url": fake_slack.response_url(),
        }
        shortcut["channel"]["id"], shortcut["user"]["id"], shortcut["team"]["id"] = channel, "U333", "T111"
        await fake_slack.send_envelope("interactive", shortcut)
        await wait_until(
            lambda: any(c.url == shortcut["response_url"] for c in fake_slack.answers()),
            what="the shortcut answered",
        )
        await runner.app[PIPELINE].idle()
        entries = await runner.app[RUNTIME].service.providers["builtin"].timeline("1")
        assert [e.kind for e in entries].count("message") == 1
        [answer] = [c for c in fake_slack.answers() if c.url == shortcut["response_url"]]
        assert "already in INC-1's timeline" in text_of(answer.params)
    finally:
        await handler.close_async()
        await runner.cleanup()


@pytest.mark.parametrize(
    "event",
    [
        {"type": "reaction_added", "user": "U1", "reaction": "pushpin", "item": {"type": "file"}},
        {"type": "reaction_added", "user": "U1", "reaction": "pushpin", "item": {"type": "message", "ts": 5}},
        {"type": "reaction_added", "user": None, "reaction": "pushpin", "item": {"type": "message"}},
        {"type": "reaction_added", "user": "U1", "reaction": "pushpin", "item": "C1"},
        {"type": "reaction_added", "user": "U1", "reaction": ["pushpin"], "item": {}},
    ],
)
def test_a_reaction_of_another_shape_is_no_request(event: dict[str, Any]) -> None:
    assert reaction_request({"type": "event_callback", "event": event}, "pushpin") is None


async def test_pin_typed_with_the_messages_link(clocked: tuple[RunningBot, FixedClock]) -> None:
    bot, _ = clocked
    _, channel = await bot.declare("Checkout down")
    say(bot.slack, channel)
    link = f"https://test.slack.com/archives/{channel}/p{SAID.replace('.', '')}"
    said = await bot.run(f"pin <{link}>", channel=channel)
    assert "Added that message to INC-1's timeline" in text_of(said) and said["_via"] == "response_url"
    assert len(await timeline_rows(bot)) == 1
    wrong = await bot.run("pin yesterday", channel=channel)
    assert "Give the message's link" in text_of(wrong)
    assert len(await timeline_rows(bot)) == 1
