"""`invite` and `list` through Slack's front door: invites checked at the fake Slack (who
was invited, into which channel, nobody twice, a large group asked first, the policy
file's auto-invites on declare and on a severity rise), and `list` across providers at
once, with the requests each provider fake (validated against its official spec) was sent."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from bot.commands.parsed import GroupRef, ParsedCommand, UserRef
from bot.commands.parser import parse
from bot.commands.policy import Policy, PolicyError
from bot.domain import DeclareRequest, Person
from bot.slack.server import RUNTIME
from tests.conftest import RunningBot, make_settings, provider_bot, running_bot
from tests.fakes.incidentio import ROLES, FakeIncidentIo, user
from tests.helpers import buttons_of, click_element, open_modal, submit, text_of
from tests.slackfake import FakeSlack

SRE = "S0SRE"  # @sre-leads: three people, one of them the declarer
ENG = "S0ENG"  # @eng: 60 people, more than an invite takes without asking


def groups(slack: FakeSlack) -> None:
    slack.groups[SRE] = ["U111", "U222", "U333"]
    slack.handles[SRE] = "sre-leads"
    slack.groups[ENG] = [f"UE{n:03d}" for n in range(60)]
    slack.handles[ENG] = "eng"


def invited(slack: FakeSlack, channel: str) -> list[list[str]]:
    """Each invite call into `channel`, its users; none may have failed."""
    calls = [c for c in slack.of("conversations.invite") if c.params["channel"] == channel]
    assert [c.error for c in calls if c.error] == []
    return [c.params["users"].split(",") for c in calls]


# parsing ------------------------------------------------------------------------------------
def test_a_user_group_mention_keeps_its_id() -> None:
    parsed = parse("invite <@U222|bea>, <!subteam^S0SRE|@sre-leads> and @sam")
    assert isinstance(parsed, ParsedCommand) and parsed.verb == "invite"
    assert parsed.args["person"] == [
        UserRef(id="U222", name="bea"),
        GroupRef(id="S0SRE", handle="sre-leads"),
        UserRef(name="sam"),
    ]
    assert "S0SRE" not in parsed.text  # free text stays plain words: it never pings


@pytest.mark.parametrize(
    ("text", "said"),
    [
        ("invite bob", "`bob` is not a person or a user group"),
        ("invite", "`invite` needs a person"),
        ("list everything", "`list everything` shows"),
    ],
)
def test_invite_and_list_refuse_what_they_cannot_read(text: str, said: str) -> None:
    parsed = parse(text)
    if said.startswith("`list"):
        assert isinstance(parsed, ParsedCommand) and parsed.args == {"whose": "everything"}
        return  # the handler refuses it (tested below through Slack)
    assert not isinstance(parsed, ParsedCommand) and said in parsed.message


def test_list_has_its_alias_and_the_old_words_suggest_it() -> None:
    assert isinstance(incidents := parse("incidents mine"), ParsedCommand) and incidents.verb == "list"
    ls = parse("ls")
    assert not isinstance(ls, ParsedCommand) and ls.suggestion == "list"


# invite ---------------------------------------------------------------------------------------
async def test_invite_people_and_a_group_each_once(bot: RunningBot) -> None:
    groups(bot.slack)
    _, channel = await bot.declare("Checkout is failing")
    assert invited(bot.slack, channel) == [["U111"]]  # the declarer, by declare
    answer = await bot.run("invite <@U444|dee> <!subteam^S0SRE|@sre-leads> <@U444|dee>", channel=channel)
    # One call: the declarer (in already, and in the group) left out, dee once.
    assert invited(bot.slack, channel)[1:] == [["U444", "U222", "U333"]]
    said = text_of(answer)
    assert answer["_via"] == "chat.postMessage" and answer["channel"] == channel  # the channel hears it
    # dee was named, not brought by the group: only the group's own are said to be its.
    assert "<@U111> invited <@U444>, and <@U222>, <@U333> (from @sre-leads)." in said
    assert "<@U111> was here already." in said
    # Again: everyone is in, so no call at all, and only the asker hears so.
    again = await bot.run("invite <!subteam^S0SRE|@sre-leads>", channel=channel)
    assert len(invited(bot.slack, channel)) == 2
    assert again["response_type"] == "ephemeral"
    assert "<@U111>, <@U222>, <@U333> were here already." in text_of(again)


async def test_a_typed_handle_is_looked_up_as_a_group(bot: RunningBot) -> None:
    groups(bot.slack)
    _, channel = await bot.declare("Search is slow")
    await bot.run("invite @sre-leads", channel=channel)
    assert invited(bot.slack, channel)[1:] == [["U222", "U333"]]
    nobody = await bot.run("invite @nobody-by-that-name", channel=channel)
    assert "I can't find @nobody-by-that-name" in text_of(nobody)
    assert len(invited(bot.slack, channel)) == 2


async def test_a_large_group_is_asked_first_and_its_button_invites_it(bot: RunningBot) -> None:
    groups(bot.slack)
    _, channel = await bot.declare("Everything is down")
    asked = await bot.run("invite <!subteam^S0ENG|@eng>", channel=channel)
    said = text_of(asked)
    assert asked["response_type"] == "ephemeral"
    assert "@eng has 60 people: over 50" in said and "Nobody was invited yet." in said
    assert invited(bot.slack, channel) == [["U111"]]
    button = buttons_of(asked)["verb.invite"]
    assert json.loads(button["value"])["t"] == "<!subteam^S0ENG|@eng>"  # the group's id kept
    await click_element(bot, button, user="U111", channel=channel)
    [*_, call] = invited(bot.slack, channel)
    assert sorted(call) == sorted(bot.slack.groups[ENG])
    await bot.settled()
    rows = await bot.app[RUNTIME].store.audit.rows()
    assert [r["outcome"] for r in rows if r["verb"] == "invite"] == ["asked", "ok"]


async def test_a_large_group_typed_again_after_the_question_is_invited(bot: RunningBot) -> None:
    groups(bot.slack)
    _, channel = await bot.declare("Everything is down")
    await bot.run("invite <!subteam^S0ENG|@eng>", channel=channel)
    assert len(invited(bot.slack, channel)) == 1
    await bot.run("invite <!subteam^S0ENG|@eng>", channel=channel)
    assert len(invited(bot.slack, channel)[-1]) == 60


async def test_inviting_is_for_responders(bot: RunningBot) -> None:
    _, channel = await bot.declare("Checkout is failing")
    refused = await bot.run("invite <@U444|dee> INC-1", channel="C999", user="U999")
    assert "Only the incident's responders" in text_of(refused)
    assert invited(bot.slack, channel) == [["U111"]]
    # A responder may, from elsewhere too: into the incident's own channel.
    await bot.run("invite <@U444|dee> INC-1", channel="C999", user="U111")
    assert invited(bot.slack, channel)[1:] == [["U444"]]


# auto-invite ----------------------------------------------------------------------------------
POLICY = """
[auto_invite]
SEV1 = ["@sre-leads"]
sev3 = ["U777"]
"""


async def test_the_policy_invites_by_severity_on_declare_and_on_a_rise(
    fake_slack: FakeSlack, sqlite_url: str, tmp_path: Path
) -> None:
    groups(fake_slack)
    policy = tmp_path / "policy.toml"
    policy.write_text(POLICY)
    settings = make_settings(fake_slack, sqlite_url, incident_policy=str(policy))
    async with running_bot(fake_slack, settings) as bot:
        _, first = await bot.declare("Checkout is failing sev:2")
        assert invited(bot.slack, first) == [["U111"]]  # SEV2 has nobody to invite
        raised = len(bot.slack.of("chat.postMessage"))
        await bot.run("sev 1", channel=first)
        await bot.settled()
        assert invited(bot.slack, first)[1:] == [["U222", "U333"]]  # the declarer is in already
        [told] = [
            c
            for c in bot.slack.of("chat.postMessage")[raised:]
            if c.params["channel"] == first and "@sre-leads" in text_of(c.params)
        ]
        assert "Invited <@U222>, <@U333> (from @sre-leads): INC-1 is SEV1" in text_of(told.params)
        # Lowered to a level with a list: not a rise, nobody is invited.
        await bot.run("sev 3", channel=first)
        await bot.settled()
        assert len(invited(bot.slack, first)) == 2
        # Declared at that level: its list is invited with the declarer.
        _, second = await bot.declare("Search is slow sev:3")
        await bot.settled()
        assert invited(bot.slack, second) == [["U111"], ["U777"]]


def test_a_wrong_auto_invite_is_refused_when_the_file_is_read(tmp_path: Path) -> None:
    policy = tmp_path / "policy.toml"
    policy.write_text('resolve = "lead"\n[auto_invite]\nSEV1 = ["sre-leads"]\n')
    with pytest.raises(PolicyError, match=r"auto_invite\.SEV1"):
        Policy.load(str(policy))
    policy.write_text('resolve = "lead"\n[auto_invite]\nSEV1 = ["@sre-leads", "U0123ABC"]\n')
    loaded = Policy.load(str(policy))
    assert loaded.auto_invite == {"SEV1": ("@sre-leads", "U0123ABC")}
    assert loaded.level("resolve").value == "lead"
    assert "auto-invite at SEV1: @sre-leads, U0123ABC" in loaded.describe()


# list -----------------------------------------------------------------------------------------
async def test_list_shows_the_open_incidents_of_two_providers_at_once(
    fake_slack: FakeSlack, sqlite_url: str
) -> None:
    async with provider_bot("incidentio", fake_slack, sqlite_url) as io:
        fake = io.fake
        assert isinstance(fake, FakeIncidentIo)
        payments = fake.add_incident("Payments are slow", channel="CPAY")
        payments["incident_role_assignments"] = [{"role": ROLES[1], "assignee": user("U222")}]
        fake.add_incident("Old outage", status="Closed")
        builtin = io.bot.app[RUNTIME].service.providers["builtin"]
        me = Person(slack_id="U111")
        mine = await builtin.declare(DeclareRequest(name="Queue backlog", severity="SEV2", declared_by=me))
        await builtin.assign_role(mine.id, "lead", me, me)  # type: ignore[attr-defined]
        await builtin.declare(DeclareRequest(name="Disk filling", declared_by=me))
        done = await builtin.declare(DeclareRequest(name="Fixed", declared_by=me))
        await builtin.set_status(done.id, "resolved", me)

        answer = await io.bot.run("list", channel="C777")
        said = text_of(answer)
        assert answer["response_type"] == "ephemeral"
        assert said.count("INC-") == 3, said  # two built-in, one at incident.io: none closed
        assert "INC-1: Payments are slow" in said and "at incident.io" in said
        assert "lead <@U222>" in said and "<#CPAY" in said
        assert "INC-1: Queue backlog" in said and "SEV2" in said and "lead <@U111>" in said
        assert "Old outage" not in said and "Fixed" not in said
        [sent] = fake.of("GET", "/v2/incidents")
        assert sorted(v for k, v in sent.query if k == "status_category[one_of]") == ["live", "triage"]
        assert sent.arg("page_size") == "20" and sent.arg("sort_by") == "created_at_newest_first"

        yours = text_of(await io.bot.run("list mine", channel="C777"))
        assert "Queue backlog" in yours and "Payments" not in yours and "Disk filling" not in yours
        theirs = text_of(await io.bot.run("incidents mine", channel="C777", user="U222"))
        assert "Payments are slow" in theirs and "Queue backlog" not in theirs
        wrong = text_of(await io.bot.run("list everything", channel="C777"))
        assert "`/incident list mine` yours" in wrong


async def test_list_counts_what_it_does_not_show(bot: RunningBot) -> None:
    builtin = bot.app[RUNTIME].service.providers["builtin"]
    for n in range(23):
        await builtin.declare(DeclareRequest(name=f"Outage {n}", declared_by=Person(slack_id="U111")))
    said = text_of(await bot.run("list"))
    assert "23 open incidents, newest first" in said
    assert said.count("Outage ") == 20 and "Outage 22" in said
    assert re.search(r"Outage [012]\b", said) is None  # the oldest three are counted, not shown
    assert "… and 3 more" in said


async def test_list_at_pagerduty_asks_for_the_open_statuses(fake_slack: FakeSlack, sqlite_url: str) -> None:
    async with provider_bot("pagerduty", fake_slack, sqlite_url) as pd:
        pd.fake.add_incident("Checkout 500s")  # type: ignore[attr-defined]
        pd.fake.add_incident("Yesterday's", status="resolved")  # type: ignore[attr-defined]
        said = text_of(await pd.bot.run("list"))
        assert "#1: Checkout 500s" in said and "at PagerDuty" in said and "triggered" in said
        assert "Yesterday's" not in said and "lead User U222" in said  # the first assignee
        [sent] = pd.fake.of("GET", "/incidents")
        assert [v for k, v in sent.query if k == "statuses[]"] == ["triggered", "acknowledged"]
        assert sent.arg("total") == "true"


async def test_list_at_firehydrant_asks_for_the_milestones_before_resolved(
    fake_slack: FakeSlack, sqlite_url: str
) -> None:
    async with provider_bot("firehydrant", fake_slack, sqlite_url) as fh:
        fh.fake.add_incident("Login loops", milestone="investigating")  # type: ignore[attr-defined]
        fh.fake.add_incident("Over", milestone="resolved")  # type: ignore[attr-defined]
        said = text_of(await fh.bot.run("list"))
        assert "#1: Login loops" in said and "at FireHydrant" in said and "Investigating" in said
        assert "Over" not in said
        [sent] = fh.fake.of("GET", "/v1/incidents")
        assert (
            sent.arg("current_milestones")
            == "started,detected,acknowledged,investigating,identified,mitigated"
        )
        assert sent.arg("archived") == "false"


async def test_invite_typed_alone_opens_a_people_picker(bot: RunningBot) -> None:
    _, channel = await bot.declare("Checkout is failing")
    view_id, view = await open_modal(bot, "invite", channel)
    [picker] = [b for b in view["blocks"] if b.get("type") == "input"]
    assert picker["element"]["type"] == "multi_users_select"
    await submit(bot, view_id, view, {picker["block_id"]: ["U444", "U111"]})
    await bot.settled()
    assert invited(bot.slack, channel)[1:] == [["U444"]]


async def test_someone_who_joined_meanwhile_does_not_stop_the_others_being_invited(bot: RunningBot) -> None:
    _, channel = await bot.declare("Checkout is failing")
    await bot.run("invite <@U222|bea>", channel=channel)  # the channel's members read, and kept a minute
    bot.slack.members[channel].add("U444")  # dee joins by herself, unseen by the bot
    answer = await bot.run("invite <@U444|dee> <@U555|eve>", channel=channel)
    calls = [c for c in bot.slack.of("conversations.invite") if c.params["channel"] == channel]
    # Slack refused the call for dee, in already; eve was invited by a second call.
    assert [(c.params["users"], c.error) for c in calls[2:]] == [
        ("U444,U555", "already_in_channel"),
        ("U555", None),
    ]
    assert "U555" in bot.slack.members[channel] and "I couldn't" not in text_of(answer)
