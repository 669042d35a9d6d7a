"""Integrity under real conditions: simultaneous commands, replays, bad bytes.

Everything goes through signed requests to the running app; the state is read back three
ways (the `info` answer, the pinned card as last redrawn at the fake Slack, the store's own
tables) and they must agree.
"""

from __future__ import annotations

import asyncio
import json
from datetime import timedelta

from bot.providers.builtin import tables as builtin_tables
from bot.slack.server import RUNTIME
from bot.store import tables
from tests.conftest import SECRET, RunningBot, make_settings, running_bot
from tests.helpers import store_rows, text_of, wait_until
from tests.slackfake import FakeSlack, block_actions, interaction_body, sign, slash_body

TRIALS = 20


def redrawn(bot: RunningBot, channel: str) -> bool:
    """The latest redraw of the card in `channel` shows the three changes."""
    updates = [c for c in bot.slack.of("chat.update") if c.params["channel"] == channel]
    return bool(updates) and all(s in text_of(updates[-1].params) for s in ("fixing", "SEV1", "<@U222>"))


async def test_three_commands_at_once_leave_info_card_and_store_agreeing(
    fake_slack: FakeSlack, database_url: str
) -> None:
    """20 incidents, each sent `status fixing`, `sev 1` and `lead` at the same moment."""
    settings = make_settings(fake_slack, database_url, incident_declare_limit=0)  # 20 declares in a row
    async with running_bot(fake_slack, settings) as bot:
        channels = []
        for n in range(TRIALS):
            _, channel = await bot.declare(f"Race {n} sev:3")
            channels.append(channel)
        await bot.settled()
        before = len(bot.slack.answers())
        sent = []
        for channel in channels:
            for text in ("status fixing", "sev 1", "lead <@U222|bea>"):
                sent.append(bot.command(text, channel=channel))
        acks = await asyncio.gather(*sent)
        assert [r.status for r, _ in acks] == [200] * (3 * TRIALS)
        await bot.slack.wait_for(before + 3 * TRIALS)
        await bot.settled()
        # Card redraws coalesce to one a second per incident: the last ones may come after.
        await wait_until(lambda: all(redrawn(bot, channel) for channel in channels), what="the cards redrawn")

        incidents = {r["number"]: r for r in await store_rows(bot, builtin_tables.incidents)}
        roles = {
            (r["incident"], r["role"]): r["user_id"] for r in await store_rows(bot, builtin_tables.roles)
        }
        cards = {r["channel_id"]: r["ts"] for r in await store_rows(bot, tables.cards)}
        failures = [a for a in bot.slack.answers()[before:] if "⚠️" in text_of(a.params)]
        assert failures == []
        for number, channel in enumerate(channels, start=1):
            row = incidents[number]
            assert (row["status"], row["severity"], roles[(number, "lead")]) == ("fixing", "SEV1", "U222")
            info = text_of(await bot.run("info", channel=channel))
            updates = [c for c in bot.slack.of("chat.update") if c.params["ts"] == cards[channel]]
            card = text_of(updates[-1].params)
            for shown in (info, card):
                assert "fixing" in shown and "SEV1" in shown and "<@U222>" in shown, shown


async def test_a_replayed_slash_command_runs_once(fake_slack: FakeSlack, sqlite_url: str) -> None:
    async with running_bot(fake_slack, make_settings(fake_slack, sqlite_url)) as bot:
        _, channel = await bot.declare("Replays")
        await bot.settled()
        body = slash_body(
            "followup Write the postmortem",
            response_url=bot.slack.response_url("f"),
            channel=channel,
            trigger="111.222.replayed",
        )
        headers = sign(SECRET, body)
        first = await bot.post(body, headers)
        await bot.settled()
        again = await bot.post(body, headers)  # the same request, byte for byte
        await bot.settled()
        assert (first.status, again.status) == (200, 200)
        followups = await store_rows(bot, builtin_tables.followups)
        assert [f["title"] for f in followups] == ["Write the postmortem"]
        answered = [a for a in bot.slack.answers() if "Write the postmortem" in text_of(a.params)]
        assert len(answered) == 1


async def test_a_replayed_declare_makes_one_channel(fake_slack: FakeSlack, sqlite_url: str) -> None:
    async with running_bot(fake_slack, make_settings(fake_slack, sqlite_url)) as bot:
        body = slash_body("declare Payments down", response_url=bot.slack.response_url(), trigger="9.9.decl")
        for _ in range(3):
            assert (await bot.post(body, sign(SECRET, body))).status == 200
            await bot.settled()
        assert len(bot.slack.of("conversations.create")) == 1
        assert len(await store_rows(bot, tables.links)) == 1
        assert len(await store_rows(bot, builtin_tables.incidents)) == 1
        cards = [c for c in bot.slack.of("chat.postMessage") if "Payments down" in text_of(c.params)]
        assert len(cards) == 1


async def test_a_replayed_click_acts_once_however_late(fake_slack: FakeSlack, sqlite_url: str) -> None:
    """The click's dedupe is Slack's own ids, not a time window: sent again after the
    double-click window it still does nothing."""
    async with running_bot(fake_slack, make_settings(fake_slack, sqlite_url)) as bot:
        _, channel = await bot.declare("Clicks")
        await bot.settled()
        card = bot.slack.of("chat.postMessage")[-1]
        resolve = next(
            e
            for b in card.params["blocks"]
            if b["type"] == "actions"
            for e in b["elements"]
            if e["action_id"] == "verb.resolve"
        )
        payload = block_actions(
            {"action_id": "verb.resolve", "value": resolve["value"]},
            user="U111",
            channel=channel,
            message_ts=card.response["ts"],
            response_url=bot.slack.response_url("click"),
            trigger="5.5.click",
            action_ts="1700000000.000001",
        )
        body = interaction_body(payload)
        assert (await bot.post(body, sign(SECRET, body))).status == 200
        await bot.settled()
        store = bot.app[RUNTIME].store
        # Past the double-click window: its record aged an hour, as waiting would.
        an_hour_ago = store.clock.now() - timedelta(hours=1)
        await store.write(lambda conn: conn.execute(tables.idempotency.update().values(at=an_hour_ago)))
        assert (await bot.post(body, sign(SECRET, body))).status == 200
        await bot.settled()
        timeline = await store_rows(bot, builtin_tables.timeline)
        assert [t["text"] for t in timeline if t["kind"] == "status"] == ["resolved"]


async def test_an_answer_given_just_before_a_crash_is_not_given_again(
    fake_slack: FakeSlack, database_url: str
) -> None:
    """A process killed after answering and before recording it leaves its inbox row
    pending. The next start takes the row over; the user must not hear twice, neither a
    channel answer (found by the request key in its metadata) nor a private one (replaced
    in place through the response_url)."""
    settings = make_settings(fake_slack, database_url)
    async with running_bot(fake_slack, settings) as bot:
        _, channel = await bot.declare("Crash window")
        await bot.settled()
        status, _ = await bot.command("status fixing", channel=channel, trigger="1.window.status")
        await bot.settled()
        info, info_url = await bot.command("info", channel=channel, trigger="2.window.info")
        await bot.settled()
        assert (status.status, info.status) == (200, 200)
        said = [a for a in bot.slack.answers() if "fixing" in text_of(a.params).lower()]
        assert [a.method for a in said] == ["chat.postMessage", "response_url"]
        assert said[0].params["metadata"]["event_payload"]["request"].endswith("1.window.status")
        store = bot.app[RUNTIME].store
        # What SIGKILL between the answer and its record leaves: the rows pending, their
        # owner gone (its lease run out).
        await store.write(
            lambda conn: conn.execute(
                tables.inbox.update()
                .where(tables.inbox.c.key.like("%.window.%"))
                .values(state="pending", owner="killed", lease_until=store.clock.now() - timedelta(minutes=1))
            )
        )
    before = len(fake_slack.answers())
    async with running_bot(fake_slack, settings) as bot:

        async def answered() -> bool:
            rows = await store_rows(bot, tables.inbox)
            return all(r["state"] == "done" for r in rows if ".window." in r["key"])

        await wait_until(answered, what="the rows the killed process left answered")
        await bot.settled()
        rows = [r for r in await store_rows(bot, tables.inbox) if ".window." in r["key"]]
        assert len(rows) == 2 and {r["state"] for r in rows} == {"done"}
    assert fake_slack.answers()[before:] == [], "an answer was given twice"
    looked = [c for c in fake_slack.of("conversations.history") if c.params.get("channel") == channel]
    assert len(looked) == 2 and not any(c.error for c in looked)
    replaced = [c for c in fake_slack.of("response_url") if c.url == info_url]
    assert [c.params.get("replace_original") for c in replaced] == [False, True]
    assert replaced[0].replaced and not replaced[1].error  # the same answer, in the same place
    assert sum(1 for a in fake_slack.answers() if a.url == info_url) == 1


async def test_a_nul_byte_is_answered_and_the_audit_log_keeps_recording(
    fake_slack: FakeSlack, database_url: str
) -> None:
    async with running_bot(fake_slack, make_settings(fake_slack, database_url)) as bot:
        _, channel = await bot.declare("Bytes")
        answer = await bot.run("followup bad\x00bytes\x07here", channel=channel)
        assert "badbyteshere" in text_of(answer)
        for n in range(3):
            await bot.run(f"followup after {n}", channel=channel)
        await bot.settled()
        rows = await bot.app[RUNTIME].store.audit.rows()
        arguments = [r["arguments"] for r in rows]
        assert "followup badbyteshere" in arguments
        assert sorted(arguments[-3:]) == ["followup after 0", "followup after 1", "followup after 2"]
        assert all("\x00" not in json.dumps(r, default=str) for r in rows)
