"""Who may do what, through signed requests: typed from the incident's channel or by
reference from another, clicked, and with a policy file; refusals change nothing."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest

from bot.providers.builtin import tables as builtin_tables
from bot.slack.server import RUNTIME
from bot.store import tables
from tests.conftest import RunningBot, make_settings, running_bot
from tests.helpers import buttons_of, card_post, clean_env, click, open_modal, store_rows, submit, text_of
from tests.slackfake import Call, FakeSlack, block_actions

ADMIN, LEAD, MEMBER, HOLDER, OUTSIDER = "UADMIN", "U111", "UMEM", "UHOLD", "UOUT"
ELSEWHERE = "COTHER"


@asynccontextmanager
async def incident(fake_slack: FakeSlack, url: str, **extra: object) -> AsyncIterator[tuple[RunningBot, str]]:
    """INC-1 declared by LEAD; MEMBER in its channel; HOLDER holds comms but is not in it."""
    settings = make_settings(fake_slack, url, incident_admins=[ADMIN], **extra)
    async with running_bot(fake_slack, settings) as bot:
        _, channel = await bot.declare("Checkout failing", user=LEAD)
        fake_slack.members.setdefault(channel, set()).add(MEMBER)
        assert "comms" in text_of(await bot.run(f"assign comms <@{HOLDER}|hal>", user=LEAD, channel=channel))
        await bot.settled()
        yield bot, channel


def refused(answer: dict) -> bool:
    return "⚠️ Only " in text_of(answer)


# (typed, by reference from another channel) → who may: the default policy's table.
RESPONDERS = {ADMIN, LEAD, MEMBER, HOLDER}
MATRIX = [
    ("status fixing INC-1", RESPONDERS),
    ("resolve incident:INC-1 pwned", RESPONDERS),
    ("sev 4 INC-1", RESPONDERS),
    ("lead me INC-1", RESPONDERS),
    ("assign scribe me INC-1", RESPONDERS),
    ("followup Write the review incident:INC-1", RESPONDERS),
    ("update incident:INC-1 Rolled back", RESPONDERS),
    ("info INC-1", {ADMIN, LEAD, MEMBER, HOLDER, OUTSIDER}),
    ("schedule primary <@UOUT|out> every 1w", {ADMIN}),
]


@pytest.mark.parametrize(("typed", "allowed"), MATRIX, ids=[m[0].split()[0] for m in MATRIX])
async def test_each_verb_by_reference_from_another_channel(
    fake_slack: FakeSlack, sqlite_url: str, typed: str, allowed: set[str]
) -> None:
    async with incident(fake_slack, sqlite_url) as (bot, channel):
        for actor in (OUTSIDER, MEMBER, HOLDER, LEAD, ADMIN):
            timeline = len(await store_rows(bot, builtin_tables.timeline))
            posted = len([c for c in bot.slack.of("chat.postMessage") if c.params["channel"] == channel])
            answer = await bot.run(typed, user=actor, channel=ELSEWHERE)
            await bot.settled()
            assert refused(answer) == (actor not in allowed), (actor, text_of(answer))
            told = [c for c in bot.slack.of("chat.postMessage") if c.params["channel"] == channel][posted:]
            if refused(answer):
                assert len(await store_rows(bot, builtin_tables.timeline)) == timeline  # nothing changed
                assert told == []
            elif typed.startswith(("info", "schedule")):
                assert told == []
            else:  # a change by reference: the incident's own channel is told who, what, where
                assert any(
                    f"<@{actor}> ran" in text_of(c.params) and ELSEWHERE in text_of(c.params) for c in told
                )
        rows = await bot.app[RUNTIME].store.audit.rows()
        assert sum(r["outcome"] == "refused" for r in rows) == 5 - len(allowed)


async def test_in_the_incidents_channel_responders_may_and_admin_verbs_need_an_admin(
    fake_slack: FakeSlack, database_url: str
) -> None:
    async with incident(fake_slack, database_url) as (bot, channel):
        assert not refused(await bot.run("sev 2", user=MEMBER, channel=channel))
        assert refused(await bot.run("unlink", user=MEMBER, channel=channel))
        # Re-pointing a linked channel is what unlink guards.
        await bot.declare("Another one", user=LEAD)
        assert refused(await bot.run("link INC-2", user=MEMBER, channel=channel))
        assert not refused(await bot.run("link INC-2", user=OUTSIDER, channel="CNEW"))  # unlinked: anyone
        assert not refused(await bot.run("unlink", user=ADMIN, channel=channel))
        links = {r["channel_id"]: r["incident_id"] for r in await store_rows(bot, tables.links)}
        assert channel not in links and links["CNEW"] == "2"


async def test_an_admin_group_member_is_an_admin(fake_slack: FakeSlack, sqlite_url: str) -> None:
    fake_slack.groups["S0ADMINS"] = ["UGROUPED"]
    async with incident(fake_slack, sqlite_url, incident_admin_group="S0ADMINS") as (bot, channel):
        assert refused(await bot.run("schedule primary <@UOUT|out> every 1w", user=MEMBER, channel=channel))
        answer = await bot.run("schedule primary <@UOUT|out> every 1w", user="UGROUPED", channel=channel)
        assert not refused(answer) and "primary" in text_of(answer)


async def test_an_override_for_someone_else_is_for_admins_or_whoever_is_on_call(
    fake_slack: FakeSlack, sqlite_url: str
) -> None:
    async with incident(fake_slack, sqlite_url) as (bot, channel):
        await bot.run("schedule primary <@UANA|ana> every 1w", user=ADMIN, channel=channel)
        assert refused(await bot.run("override primary <@UOUT|out> for 7d", user=MEMBER, channel=channel))
        # Ana is on call: she may hand over to someone else.
        assert not refused(await bot.run("override primary <@UBOB|bob> for 1h", user="UANA", channel=channel))
        assert not refused(await bot.run("override primary me for 2h", user=OUTSIDER, channel=channel))
        overrides = await store_rows(bot, builtin_tables.overrides)
        assert sorted(o["user_id"] for o in overrides) == ["UBOB", "UOUT"]


async def test_a_policy_file_changes_the_outcome_for_typed_commands_and_clicks(
    fake_slack: FakeSlack, sqlite_url: str, tmp_path: Path
) -> None:
    policy = tmp_path / "policy.toml"
    policy.write_text('resolve = "lead"\ninfo = "responders"\n')
    async with incident(fake_slack, sqlite_url, incident_policy=str(policy)) as (bot, channel):
        answer = await bot.run("resolve done", user=MEMBER, channel=channel)
        assert refused(answer) and "lead" in text_of(answer) and "@u111" in text_of(answer)
        assert refused(await bot.run("info INC-1", user=OUTSIDER, channel=ELSEWHERE))
        card = next(c for c in bot.slack.of("chat.postMessage") if c.params["channel"] == channel)
        resolve = next(
            e
            for b in card.params["blocks"]
            if b["type"] == "actions"
            for e in b["elements"]
            if e["action_id"] == "verb.resolve"
        )
        for user, expect_refused in ((MEMBER, True), (LEAD, False)):
            before = len(bot.slack.answers())
            payload = block_actions(
                {"action_id": "verb.resolve", "value": resolve["value"]},
                user=user,
                channel=channel,
                message_ts=card.response["ts"],
                response_url=bot.slack.response_url("click"),
            )
            assert (await bot.interact(payload))[0] == 200
            [answer_call] = (await bot.slack.wait_for(before + 1))[before:]
            assert refused(answer_call.params) == expect_refused, text_of(answer_call.params)
        statuses = [r["status"] for r in await store_rows(bot, builtin_tables.incidents)]
        assert statuses == ["resolved"]


async def test_declares_are_limited_per_person(fake_slack: FakeSlack, sqlite_url: str) -> None:
    settings = make_settings(fake_slack, sqlite_url, incident_declare_limit=3)
    async with running_bot(fake_slack, settings) as bot:
        for n in range(3):
            await bot.declare(f"Outage {n}")
        await bot.settled()
        assert "in the last minute" in text_of(await bot.run("declare Outage 3"))
        assert len(bot.slack.of("conversations.create")) == 3
        assert "Declared" in text_of(await bot.run("declare Someone else's", user="U222"))


async def test_check_prints_the_effective_policy_and_names_a_wrong_file(tmp_path: Path) -> None:
    policy = tmp_path / "policy.toml"
    policy.write_text('resolve = "lead"\n')
    env = clean_env(INCIDENT_POLICY=str(policy), INCIDENT_ADMINS="UADMIN", DATABASE_URL="sqlite:///check.db")

    async def check() -> str:
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bot", "check", env=env, stdout=subprocess.PIPE, cwd=tmp_path
        )
        out, _ = await process.communicate()
        return out.decode()

    out = await check()
    assert "resolve    lead" in out and "status     responders" in out and "unlink     admins" in out
    policy.write_text('resolve = "whoever"\n')
    out = await check()
    assert "INCIDENT_POLICY" in out and "whoever" in out and "Traceback" not in out


async def test_a_modal_submitted_by_someone_no_longer_allowed_is_refused_and_changes_nothing(
    fake_slack: FakeSlack, sqlite_url: str, tmp_path: Path
) -> None:
    """The policy is checked when the modal comes back, not only when it opened: the lead
    opens the severity form, hands the lead over, then submits it."""

    policy = tmp_path / "policy.toml"
    policy.write_text('sev = "lead"\n')
    async with incident(fake_slack, sqlite_url, incident_policy=str(policy)) as (bot, channel):
        view_id, view = await open_modal(bot, "severity", channel, user=LEAD)
        assert "lead" in text_of(await bot.run(f"lead <@{MEMBER}|mem>", user=LEAD, channel=channel))
        await bot.settled()
        before = len(bot.slack.answers())
        assert await submit(bot, view_id, view, {"severity": "SEV1"}, user=LEAD) == {}
        [answer] = (await bot.slack.wait_for(before + 1))[before:]
        said = text_of(answer.params)
        assert "can change the severity of INC-1." in said and "Ask @mem." in said, said
        await bot.settled()
        [row] = await store_rows(bot, builtin_tables.incidents)
        assert row["severity"] != "SEV1"
        rows = await bot.app[RUNTIME].store.audit.rows()
        assert [r["verb"] for r in rows if r["outcome"] == "refused"] == ["severity"]
        # The new lead submitting the same form is allowed.
        view_id, view = await open_modal(bot, "severity", channel, user=MEMBER)
        await submit(bot, view_id, view, {"severity": "SEV1"}, user=MEMBER)
        await bot.settled()
        [row] = await store_rows(bot, builtin_tables.incidents)
        assert row["severity"] == "SEV1"


# Every card button of the built-in provider, with a policy that gives the verb to the lead
# only: a member's click is refused (at once, or in the modal instead of a form); the
# lead's goes ahead. `override` is not of an incident (its own rule is tested above).
CARD_VERBS = ["status", "ack", "resolve", "severity", "assign", "followup", "update", "unlink"]


@pytest.mark.parametrize("verb", CARD_VERBS)
async def test_each_card_button_obeys_the_policy(
    fake_slack: FakeSlack, sqlite_url: str, tmp_path: Path, verb: str
) -> None:

    policy = tmp_path / "policy.toml"
    policy.write_text(f'{verb} = "lead"\n')
    async with incident(fake_slack, sqlite_url, incident_policy=str(policy)) as (bot, channel):
        card = card_post(bot.slack, channel)
        if verb == "followup":  # offered once someone is on it: the card redrawn acknowledged
            await bot.run("ack", user=LEAD, channel=channel)
            await bot.settled()
            card = [c for c in bot.slack.of("chat.update") if c.params["channel"] == channel][-1]
        assert f"verb.{verb}" in buttons_of(card.params)  # on the card, as a button or in its menu
        for user, allowed in ((MEMBER, False), (LEAD, True)):
            answers, views = len(bot.slack.answers()), len(bot.slack.of("views.update"))
            assert (await click(bot, card, f"verb.{verb}", user=user))[0] == 200  # a button or a menu pick
            if verb == "unlink":  # picked from the menu, it asks first: its question's button acts
                [question] = (await bot.slack.wait_for(answers + 1))[answers:]
                answers = len(bot.slack.answers())
                asked = Call("chat.postMessage", {**question.params, "channel": channel}, {})
                asked.response = {"ts": "2.2"}
                assert (await click(bot, asked, "verb.unlink", user=user))[0] == 200
            if verb in ("status", "severity", "assign", "followup", "update"):
                [*_, shown] = await bot.slack.wait_for(views + 1, "views.update")
                said, form = text_of(shown.params["view"]), bool(shown.params["view"].get("submit"))
                assert form == allowed and ("⚠️ Only" in said) != allowed, (user, said)
            else:
                [answer] = (await bot.slack.wait_for(answers + 1))[answers:]
                assert refused(answer.params) != allowed, (user, text_of(answer.params))
        await bot.settled()
        rows = await bot.app[RUNTIME].store.audit.rows()
        assert [(r["user_id"], r["verb"]) for r in rows if r["outcome"] == "refused"] == [(MEMBER, verb)]
