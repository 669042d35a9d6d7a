"""The Slack surface beyond the slash command, as Slack sends it: `link` in a channel the
bot is not in (it joins, then posts and pins the card), `declare private`, and
`@incident …` mentions (signed Events API callbacks, retried as Slack retries them)."""

from __future__ import annotations

import json
import time

import aiohttp

from bot.slack.server import RUNTIME
from tests.conftest import SECRET, RunningBot, make_settings, running_bot
from tests.helpers import text_of
from tests.slackfake import FakeSlack, sign


def mention_body(text: str, *, user: str = "U111", channel: str = "C111", event_id: str = "Ev1") -> str:
    """An app_mention event callback with the fields Slack sends."""
    ts = f"{time.time():.6f}"
    return json.dumps(
        {
            "token": "unused",
            "team_id": "T111",
            "api_app_id": "A111",
            "type": "event_callback",
            "event_id": event_id,
            "event_time": int(time.time()),
            "authorizations": [{"team_id": "T111", "user_id": "UBOT", "is_bot": True}],
            "event": {
                "type": "app_mention",
                "user": user,
                "text": text,
                "ts": ts,
                "channel": channel,
                "event_ts": ts,
                "team": "T111",
            },
        }
    )


async def mention(bot: RunningBot, text: str, *, retry: int = 0, **kwargs: str) -> aiohttp.ClientResponse:
    body = mention_body(text, **kwargs)
    headers = sign(SECRET, body) | {"Content-Type": "application/json"}
    if retry:
        headers |= {"X-Slack-Retry-Num": str(retry), "X-Slack-Retry-Reason": "http_timeout"}
    return await bot.post(body, headers)


async def test_link_joins_a_public_channel_then_posts_and_pins_the_card(bot: RunningBot) -> None:
    await bot.declare("Checkout down")
    bot.slack.outside.add("CPUBLIC")
    said = await bot.run("link INC-1", channel="CPUBLIC")
    assert "linked this channel" in text_of(said) and said["_via"] == "chat.postMessage"
    [join] = bot.slack.of("conversations.join")
    assert join.params["channel"] == "CPUBLIC" and "CPUBLIC" not in bot.slack.outside
    await bot.settled()
    assert [p.params["channel"] for p in bot.slack.of("pins.add") if not p.error][-1] == "CPUBLIC"


async def test_link_in_a_private_channel_says_to_invite_the_bot(bot: RunningBot) -> None:
    await bot.declare("Checkout down")
    bot.slack.private_channels.add("GPRIV")
    bot.slack.outside.add("GPRIV")
    said = await bot.run("link INC-1", channel="GPRIV")
    assert "invite me with `/invite @incident`" in text_of(said) and said["_via"] == "response_url"
    links = await bot.app[RUNTIME].service.store.links.channels_for("builtin", "1")
    assert "GPRIV" in {link.channel_id for link in links}  # linked all the same


async def test_declare_private_makes_a_private_channel(bot: RunningBot) -> None:
    answer, channel = await bot.declare("private Payroll export leaking")
    [created] = bot.slack.of("conversations.create")
    assert created.params["is_private"] in (True, "true", "1")
    assert created.params["name"] == "inc-1-payroll-export-leaking" and channel.startswith("G")
    assert "Its private channel" in text_of(answer) and "only those invited see it" in text_of(answer)
    incident = await bot.app[RUNTIME].service.providers["builtin"].get_incident("1")
    assert incident.name == "Payroll export leaking"
    _, public = await bot.declare("Private networking down")  # the name's own word, capitalised
    assert bot.slack.of("conversations.create")[-1].params.get("is_private") in (False, "false", "0", None)
    assert public.startswith("C")


async def test_a_mention_is_answered_like_the_slash_command_once_though_retried(bot: RunningBot) -> None:
    first = await mention(bot, "<@UBOT> help")
    assert first.status == 200
    [answer] = await bot.slack.wait_for(1, "chat.postEphemeral")
    assert answer.params["user"] == "U111" and answer.params["channel"] == "C111"
    assert "/incident declare" in text_of(answer.params)
    again = await mention(bot, "<@UBOT> help", retry=1)  # Slack's retry: same event_id
    assert again.status == 200
    await bot.settled()
    assert len(bot.slack.of("chat.postEphemeral")) == 1


async def test_a_mention_in_the_incident_channel_runs_the_verb_there(bot: RunningBot) -> None:
    _, channel = await bot.declare("Checkout down")
    await mention(bot, "hey <@UBOT|incident>: status fixing", channel=channel, event_id="Ev2")
    await bot.settled()
    incident = await bot.app[RUNTIME].service.providers["builtin"].get_incident("1")
    assert incident.status == "fixing"
    await mention(bot, "<@UBOT> statsu fixing", channel=channel, event_id="Ev3")  # a typo
    await bot.settled()
    typo = bot.slack.of("chat.postEphemeral")[-1]
    assert "Did you mean `status`?" in text_of(typo.params) and typo.params["user"] == "U111"


async def test_a_bots_own_message_or_an_unsigned_mention_does_nothing(bot: RunningBot) -> None:
    body = json.loads(mention_body("<@UBOT> declare Loop", event_id="Ev4"))
    body["event"]["bot_id"] = "BBOT"
    raw = json.dumps(body)
    response = await bot.post(raw, sign(SECRET, raw) | {"Content-Type": "application/json"})
    assert response.status == 200
    unsigned = mention_body("<@UBOT> declare Forged", event_id="Ev5")
    forged = await bot.post(unsigned, {"Content-Type": "application/json"})
    assert forged.status == 401
    await bot.settled()
    assert bot.slack.of("conversations.create") == [] and bot.slack.of("chat.postEphemeral") == []


async def test_a_configured_command_name_is_the_one_every_answer_shows(
    fake_slack: FakeSlack, sqlite_url: str
) -> None:
    """INCIDENT_COMMAND=/inc: the examples, usage lines and provider reasons all say /inc."""
    settings = make_settings(fake_slack, sqlite_url, incident_command="/inc")
    async with running_bot(fake_slack, settings) as bot:
        _, channel = await bot.declare("Checkout is failing")
        said = {
            "followups": text_of(await bot.run("followups", channel=channel)),
            "tasks": text_of(await bot.run("tasks", channel=channel)),  # the built-in provider has none
            "oncall": text_of(await bot.run("oncall")),
            "help": text_of(await bot.run("help")),
            "usage": text_of(await bot.run("sev banana", channel=channel)),
        }
        assert "`/inc followup &lt;what&gt; @who due:friday`" in said["followups"]
        assert "use `/inc followup`" in said["tasks"]
        assert "/inc schedule primary" in said["oncall"]
        assert "/inc declare" in said["help"] and "`/inc " in said["usage"], said["usage"]
        everything = [text_of(a.params) for a in bot.slack.answers()]
        assert [t for t in everything if "/incident" in t] == []
