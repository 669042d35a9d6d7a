"""Every verb through Slack's front door: signed slash commands to the running app, and
the Web API calls it made checked at the recording fake Slack."""

from __future__ import annotations

import time
from datetime import UTC, datetime

from bot.clock import FixedClock
from bot.slack.server import RUNTIME
from tests.blocktext import texts
from tests.conftest import SECRET, RunningBot, make_settings, running_bot
from tests.helpers import text_of
from tests.slackfake import FakeSlack, sign, slash_body


def mrkdwn_of(answer: dict) -> list[str]:
    """The fallback text and every mrkdwn text: where a mention would ping."""
    return [answer.get("text", ""), *texts(answer.get("blocks", []), mrkdwn_only=True)]


async def test_help_answers_ephemerally_with_every_verb(bot: RunningBot) -> None:
    response, _ = await bot.command("help")
    assert response.status == 200
    [answer] = await bot.slack.wait_for(1)
    assert answer.method == "response_url"
    assert answer.params["response_type"] == "ephemeral"
    body = text_of(answer.params)
    for verb in ("declare", "status", "override", "oncall", "followup", "unlink"):
        assert f"/incident {verb}" in body


async def test_declare_creates_channel_invites_links_and_posts_card(bot: RunningBot) -> None:
    answer = await bot.run('declare Checkout is failing sev:1 summary:"5xx on /pay"')
    await bot.slack.wait_for(1, "chat.postMessage")
    [create] = bot.slack.of("conversations.create")
    assert create.params["name"] == "inc-1-checkout-is-failing"
    [invite] = bot.slack.of("conversations.invite")
    assert invite.params["users"] == "U111"
    channel_id = invite.params["channel"]
    [card] = [c for c in bot.slack.of("chat.postMessage") if c.params["channel"] == channel_id]
    card_text = text_of(card.params)
    assert "INC-1: Checkout is failing" in card_text and "SEV1" in card_text and "5xx on /pay" in card_text
    assert "<@U111>" in card_text  # the declarer leads
    assert answer["_via"] == "response_url" and answer["response_type"] == "ephemeral"
    assert f"<#{channel_id}>" in answer["text"]
    # Linked: a command in the new channel acts on INC-1.
    info = await bot.run("info", channel=channel_id)
    assert info["_via"] == "response_url" and "INC-1: Checkout is failing" in text_of(info)


async def test_declare_takes_a_free_name_when_the_channel_exists(bot: RunningBot) -> None:
    bot.slack.taken_names.add("inc-1-db-down")
    await bot.declare("DB down")
    names = [c.params["name"] for c in bot.slack.of("conversations.create")]
    assert names == ["inc-1-db-down", "inc-1-db-down-2"]


async def test_incident_lifecycle_every_verb(bot: RunningBot) -> None:
    _, channel = await bot.declare("Checkout is failing sev:1")

    async def run(text: str) -> str:
        answer = await bot.run(text, channel=channel)
        assert answer.get("channel", channel) == channel
        return text_of(answer)

    assert "investigating" in await run("ack")
    assert "SEV2" in await run("sev 2")
    assert "SEV3" in await run("severity minor")
    assert "<@U222>" in await run("lead <@U222|bea>")
    assert "<@U333>" in await run("assign comms <@U333|cy>")
    roles = await run("roles")
    assert "lead: <@U222>" in roles and "comms: <@U333>" in roles and "scribe: nobody" in roles
    added = await run("followup Add DB failover alert <@U444|sam> due:2030-01-04")
    assert "Add DB failover alert" in added and "<@U444>" in added and "04 Jan" in added
    assert "#1 Add DB failover alert" in await run("followups")
    assert "completed" in await run("followup done #1")
    assert "Rollback done" in await run("update Rollback done, error rate falling")
    assert "monitoring" in await run("status mon")
    assert "resolved" in await run("resolve fixed by rollback")
    card = await run("info")
    assert "resolved" in card and "<@U222>" in card


async def test_every_answer_in_channel_goes_through_chat_post_message(bot: RunningBot) -> None:
    _, channel = await bot.declare("Payments slow")
    answer = await bot.run("ack", channel=channel)
    assert answer["_via"] == "chat.postMessage"
    post = bot.slack.of("chat.postMessage")[-1]
    assert post.headers["Authorization"] == "Bearer xoxb-test-token"


async def test_oncall_schedule_and_override_in_users_timezone(fake_slack: FakeSlack, sqlite_url: str) -> None:
    # On the runtime's clock, at 10:00 in Paris: "for 2h" from now ends before the evening's
    # 18:00 to 22:00 (on the wall clock, an evening run made the two overlap).
    clock = FixedClock(datetime(2026, 12, 2, 9, 0, tzinfo=UTC))
    async with running_bot(fake_slack, make_settings(fake_slack, sqlite_url), clock) as bot:
        bot.slack.timezones["U111"] = "Europe/Paris"
        saved = text_of(await bot.run("schedule primary <@U1|ana> <@U2|bob> every 1w"))
        assert "primary" in saved and "<@U1>" in saved and "<@U2>" in saved
        assert "<@U1>" in text_of(await bot.run("oncall primary"))
        override = text_of(await bot.run("override primary <@U2|bob> from 18:00 to 22:00"))
        assert "18:00 CET" in override and "22:00 CET" in override and "(4h)" in override
        assert bot.slack.of("users.info")[0].params["user"] == "U111"
        now_override = text_of(await bot.run("override primary <@U2|bob> for 2h"))
        assert "(2h)" in now_override and "10:00 CET" in now_override, now_override
        oncall = text_of(await bot.run("oncall"))
        assert "<@U2>" in oncall and "override" in oncall


async def test_link_and_unlink(bot: RunningBot) -> None:
    await bot.declare("Search is down")
    card = text_of(await bot.run("link INC-1", channel="C999"))
    assert "INC-1: Search is down" in card and "linked" in card
    assert "INC-1" in text_of(await bot.run("info", channel="C999"))
    assert "unlinked" in text_of(await bot.run("unlink", channel="C999"))
    assert "isn't linked" in text_of(await bot.run("info", channel="C999"))


async def test_unlinked_channel_gets_guidance_and_explicit_reference_works(bot: RunningBot) -> None:
    answer = await bot.run("status resolved")
    assert answer["response_type"] == "ephemeral" and "/incident link" in text_of(answer)
    await bot.declare("Login broken")
    resolved = text_of(await bot.run("status resolved INC-1"))
    assert "resolved" in resolved and "INC-1" in resolved


async def test_typo_gets_usage_of_nearest_verb_and_changes_nothing(bot: RunningBot) -> None:
    _, channel = await bot.declare("Login broken")
    answer = await bot.run("stauts resolved", channel=channel)
    assert answer["response_type"] == "ephemeral"
    assert "Did you mean `status`" in answer["text"] and "/incident status &lt;status&gt;" in text_of(answer)
    bad_status = await bot.run("status fxd", channel=channel)
    assert "“fxd” is not a status here" in bad_status["text"] and "`monitoring`" in bad_status["text"]
    card = text_of(await bot.run("info", channel=channel))
    assert "triage" in card  # still where it was


async def test_user_text_cannot_ping_anyone(bot: RunningBot) -> None:
    _, channel = await bot.declare("<!channel> &lt;!here&gt; everything *down*")
    answer = await bot.run("update paging <!subteam^S1|@oncall> & <!here>", channel=channel)
    assert "@oncall &amp; @here" in text_of(answer)
    for call in bot.slack.answers():
        for text in mrkdwn_of(call.params):
            assert "<!" not in text, text  # no broadcast, no group ping
    card = next(c for c in bot.slack.of("chat.postMessage") if "everything" in text_of(c.params))
    assert "@channel &lt;!here&gt; everything *down*" in card.params["text"]


async def test_unsigned_wrongly_signed_and_stale_requests_are_refused(bot: RunningBot) -> None:
    body = slash_body("declare Should not exist", response_url=bot.slack.response_url())
    unsigned = await bot.post(body, {"Content-Type": "application/x-www-form-urlencoded"})
    wrong = await bot.post(body, sign("not-the-secret", body))
    stale = await bot.post(body, sign(SECRET, body, timestamp=int(time.time()) - 6 * 60))
    tampered_headers = sign(SECRET, body)
    tampered = await bot.post(body.replace("Should", "Would"), tampered_headers)
    assert [r.status for r in (unsigned, wrong, stale, tampered)] == [401, 401, 401, 401]
    # Nothing happened: no Slack calls at all, nothing in the store.
    assert [c.method for c in bot.slack.calls if c.method != "auth.test"] == []
    assert await bot.app[RUNTIME].store.audit.rows() == []


async def test_every_command_is_audited(bot: RunningBot) -> None:
    await bot.declare("Checkout down")
    await bot.run("nonsense words")
    await bot.settled()
    rows = await bot.app[RUNTIME].store.audit.rows()  # the running bot's own store
    assert [(r["verb"], r["outcome"]) for r in rows] == [("declare", "ok"), (None, "usage")]
    assert rows[0]["user_id"] == "U111" and rows[0]["arguments"] == "declare Checkout down"
    assert rows[0]["duration_ms"] > 0


async def test_not_in_channel_falls_back_to_response_url(bot: RunningBot) -> None:
    await bot.declare("API errors")
    await bot.run("link INC-1", channel="CPRIVATE")  # chat.postMessage works here
    bot.slack.errors["chat.postMessage"] = "not_in_channel"
    answer = await bot.run("ack", channel="CPRIVATE")
    assert answer["_via"] == "response_url" and answer["response_type"] == "in_channel"
    assert "investigating" in text_of(answer)


async def test_what_the_built_in_provider_lacks_is_said_plainly(bot: RunningBot) -> None:
    _, channel = await bot.declare("Checkout is failing")
    task = text_of(await bot.run("task Check replica lag", channel=channel))
    assert "keeps follow-ups, not tasks" in task and "/incident followup" in task
    update = text_of(await bot.run("update to:stakeholders Payments are back", channel=channel))
    assert "no subscribers" in update
    typo = text_of(await bot.run("update to:all Payments are back", channel=channel))
    assert "`to:timeline` or `to:stakeholders`" in typo
    timeline = text_of(await bot.run("update to:timeline Payments are back", channel=channel))
    assert "Update on INC-1" in timeline and "Payments are back" in timeline


async def test_answers_and_api_calls_reuse_one_connection(bot: RunningBot) -> None:
    """Bolt's respond and slack_sdk's client open a connection per call unless given a
    session; at Slack that is a TLS handshake per answer. Ten commands, one after another,
    must come over kept-alive connections, not ten new ones."""
    _, channel = await bot.declare("Checkout is failing")
    for n in range(10):  # `help` answers through the response_url, `roles` in the channel
        answer = await bot.run("roles" if n % 2 else "help", channel=channel)
        assert ("lead:" if n % 2 else "/incident declare") in text_of(answer)
    answers = [c for c in bot.slack.calls if c.method == "response_url"]
    posts = [c for c in bot.slack.calls if c.method == "chat.postMessage"]
    assert len(answers) >= 5 and len(posts) >= 5
    assert all(c.peer for c in answers + posts)
    assert len({c.peer for c in answers}) <= 2, {c.peer for c in answers}
    assert len({c.peer for c in posts}) <= 2, {c.peer for c in posts}


async def test_unlink_naming_another_incident_unlinks_nothing_and_says_which_is_here(bot: RunningBot) -> None:
    """`unlink INC-2` in INC-1's channel unlinked INC-1 and said "unlinked from INC-2"."""
    await bot.declare("Search is down")
    await bot.declare("Checkout is slow")
    assert "linked" in text_of(await bot.run("link INC-1", channel="C999"))
    said = text_of(await bot.run("unlink INC-2", channel="C999"))
    assert "This channel is linked to INC-1, not INC-2" in said, said
    assert "INC-1" in text_of(await bot.run("info", channel="C999"))  # still linked
    assert "isn't linked to an incident" in text_of(await bot.run("unlink INC-2", channel="C998"))
    assert "unlinked" in text_of(await bot.run("unlink INC-1", channel="C999"))
