"""Words as people say them in an outage, at every provider: `sev 1`, `p1`, `status
investigating` at PagerDuty, `assign ic @bob`, `link #7`, a note on a refused change,
and verbs the bot does not have.

Each phrase is sent as a signed slash command to the running app; what it did is read
back afterwards from the provider fake's recorded requests or the built-in store's rows,
not only from the answer's words."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from bot.providers.builtin import tables as builtin_tables
from bot.store import tables as store_tables
from tests.conftest import ProviderBot, RunningBot, provider_bot
from tests.fakes.incidentio import ROLES as IO_ROLES
from tests.fakes.incidentio import SEVERITIES as IO_SEVERITIES
from tests.helpers import store_rows, text_of
from tests.slackfake import FakeSlack

CHANNEL = "C0SAYING"


# the built-in provider ---------------------------------------------------------------------
async def incident_row(bot: RunningBot, number: int = 1) -> dict[str, Any]:
    rows = await store_rows(bot, builtin_tables.incidents)
    return next(row for row in rows if row["number"] == number)


async def roles_of(bot: RunningBot, number: int = 1) -> dict[str, str]:
    rows = await store_rows(bot, builtin_tables.roles)
    return {row["role"]: row["user_id"] for row in rows if row["incident"] == number}


async def timeline_of(bot: RunningBot, number: int = 1) -> list[str]:
    rows = await store_rows(bot, builtin_tables.timeline)
    return [row["text"] for row in rows if row["incident"] == number]


# the providers' fakes ----------------------------------------------------------------------
@pytest.fixture
async def pd(fake_slack: FakeSlack, sqlite_url: str) -> AsyncIterator[ProviderBot]:
    async with provider_bot("pagerduty", fake_slack, sqlite_url) as running:
        yield running


@pytest.fixture
async def io(fake_slack: FakeSlack, sqlite_url: str) -> AsyncIterator[ProviderBot]:
    async with provider_bot("incidentio", fake_slack, sqlite_url) as running:
        yield running


@pytest.fixture
async def fh(fake_slack: FakeSlack, sqlite_url: str) -> AsyncIterator[ProviderBot]:
    async with provider_bot("firehydrant", fake_slack, sqlite_url) as running:
        yield running


async def pd_linked(pb: ProviderBot, status: str = "triggered") -> dict:
    fake: Any = pb.fake
    incident = fake.add_incident("Checkout is failing", status=status)
    answer = await pb.bot.run(f"link pd:{incident['incident_number']}", channel=CHANNEL)
    assert "Checkout is failing" in text_of(answer)
    return incident


async def io_linked(pb: ProviderBot, status: str = "Triage") -> dict:
    fake: Any = pb.fake
    incident = fake.add_incident("Checkout is failing", channel=CHANNEL, status=status)
    assert "Checkout is failing" in text_of(
        await pb.bot.run(f"link {incident['reference']}", channel=CHANNEL)
    )
    return incident


async def fh_linked(pb: ProviderBot) -> dict:
    fake: Any = pb.fake
    incident = fake.add_incident("Checkout is failing", channel=CHANNEL)
    assert "Checkout is failing" in text_of(await pb.bot.run(f"link fh:{incident['id']}", channel=CHANNEL))
    return incident


def pd_puts(pb: ProviderBot, incident: dict) -> list[dict]:
    fake: Any = pb.fake
    return [p.body["incident"] for p in fake.of("PUT", f"/incidents/{incident['id']}")]


def io_edits(pb: ProviderBot, incident: dict) -> list[dict]:
    fake: Any = pb.fake
    return [e.body["incident"] for e in fake.of("POST", f"/v2/incidents/{incident['id']}/actions/edit")]


# 4. severity as people say it --------------------------------------------------------------
@pytest.mark.parametrize(
    ("typed", "severity"),
    [
        ("sev p1", "SEV1"),
        ("sev1", "SEV1"),  # one word: the verb and its argument
        ("sev-2", "SEV2"),
        ("p3", "SEV3"),
        ("severity P-2", "SEV2"),
        ("sev 4", "SEV4"),
        ("sev SEV 2", "SEV2"),  # as the card writes it, with a space
        ("severity p 3", "SEV3"),
    ],
)
async def test_numbered_severities_map_by_rank_at_the_built_in_provider(
    bot: RunningBot, typed: str, severity: str
) -> None:
    _, channel = await bot.declare("Checkout down")
    answer = text_of(await bot.run(typed, channel=channel))
    assert (await incident_row(bot))["severity"] == severity, answer


async def test_sev_0_says_the_scale_counts_from_1(bot: RunningBot) -> None:
    _, channel = await bot.declare("Checkout down sev 3")
    answer = text_of(await bot.run("sev0", channel=channel))
    assert "count from 1, the most severe: `SEV1`" in answer
    assert (await incident_row(bot))["severity"] == "SEV3"


async def test_declare_with_p1_sets_the_first_severity_and_keeps_the_name(bot: RunningBot) -> None:
    answer, _ = await bot.declare("db down p1")
    row = await incident_row(bot)
    assert (row["name"], row["severity"]) == ("db down", "SEV1"), text_of(answer)


async def test_a_rank_past_the_scale_is_refused_with_the_scale(bot: RunningBot) -> None:
    _, channel = await bot.declare("Checkout down sev 2")
    answer = text_of(await bot.run("sev 9", channel=channel))
    assert "past the end" in answer and "`SEV1`, `SEV2`, `SEV3`, `SEV4`" in answer
    assert (await incident_row(bot))["severity"] == "SEV2"


@pytest.mark.parametrize(("typed", "name"), [("sev 1", "Critical"), ("p2", "Major"), ("sev3", "Minor")])
async def test_numbered_severities_map_by_rank_at_incident_io(io: ProviderBot, typed: str, name: str) -> None:
    incident = await io_linked(io)
    answer = text_of(await io.bot.run(typed, channel=CHANNEL))
    wanted = next(s["id"] for s in IO_SEVERITIES if s["name"] == name)
    assert [e.get("severity_id") for e in io_edits(io, incident)] == [wanted], answer
    assert f"set the severity to {name}" in answer and "not a severity" not in answer


async def test_declare_sev_1_at_incident_io_is_critical(io: ProviderBot) -> None:
    fake: Any = io.fake
    await io.bot.run("declare Checkout down sev 1")
    [created] = fake.of("POST", "/v2/incidents")
    critical = next(s["id"] for s in IO_SEVERITIES if s["name"] == "Critical")
    assert created.body["severity_id"] == critical and created.body["name"] == "Checkout down"


@pytest.mark.parametrize(("typed", "priority"), [("sev 1", "PPRI1"), ("sev2", "PPRI2"), ("p3", "PPRI3")])
async def test_numbered_severities_are_priorities_at_pagerduty(
    pd: ProviderBot, typed: str, priority: str
) -> None:
    incident = await pd_linked(pd)
    answer = text_of(await pd.bot.run(typed, channel=CHANNEL))
    assert "Did you mean" not in answer
    assert [p.get("priority") for p in pd_puts(pd, incident)] == [
        {"id": priority, "type": "priority_reference"}
    ], answer


async def test_declare_p1_at_pagerduty_opens_it_at_p1(pd: ProviderBot) -> None:
    fake: Any = pd.fake
    await pd.bot.run("declare db down p1")
    [created] = fake.of("POST", "/incidents")
    assert created.body["incident"]["priority"]["id"] == "PPRI1"
    assert created.body["incident"]["title"] == "db down"


@pytest.mark.parametrize(("typed", "slug"), [("sev 1", "SEV1"), ("p1", "P1"), ("sev-2", "SEV2")])
async def test_severities_and_priorities_at_firehydrant(fh: ProviderBot, typed: str, slug: str) -> None:
    incident = await fh_linked(fh)
    fake: Any = fh.fake
    answer = text_of(await fh.bot.run(typed, channel=CHANNEL))
    [patch] = fake.of("PATCH", f"/v1/incidents/{incident['id']}")
    assert slug in patch.body.values(), (answer, patch.body)


# 5. status words ---------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("typed", "status"), [("investigating", "acknowledged"), ("mitigated", "acknowledged")]
)
async def test_common_status_words_map_at_pagerduty(pd: ProviderBot, typed: str, status: str) -> None:
    incident = await pd_linked(pd)
    answer = text_of(await pd.bot.run(f"status {typed}", channel=CHANNEL))
    assert [p["status"] for p in pd_puts(pd, incident)] == [status], answer
    assert f"“{typed}” is {status}" in answer


async def test_fixed_and_monitoring_map_at_pagerduty_too(pd: ProviderBot) -> None:
    incident = await pd_linked(pd)
    await pd.bot.run("status monitoring", channel=CHANNEL)
    await pd.bot.run("status fixed", channel=CHANNEL)
    assert [p["status"] for p in pd_puts(pd, incident)] == ["acknowledged", "resolved"]


@pytest.mark.parametrize(
    ("typed", "status"),
    [("acknowledged", "investigating"), ("identified", "fixing"), ("watching", "monitoring")],
)
async def test_other_providers_status_words_map_at_the_built_in_one(
    bot: RunningBot, typed: str, status: str
) -> None:
    _, channel = await bot.declare("Checkout down")
    answer = text_of(await bot.run(f"status {typed}", channel=channel))
    assert (await incident_row(bot))["status"] == status, answer


async def test_all_clear_resolves_and_back_to_steps_back_on_purpose(bot: RunningBot) -> None:
    _, channel = await bot.declare("Checkout down")
    await bot.run("status monitoring", channel=channel)
    back = text_of(await bot.run("status back to investigating", channel=channel))
    assert (await incident_row(bot))["status"] == "investigating", back
    done = text_of(await bot.run("status all clear errors back to normal", channel=channel))
    assert (await incident_row(bot))["status"] == "resolved", done
    assert "“all clear” is resolved" in done and "errors back to normal" in done


async def test_resolved_and_acknowledged_map_at_incident_io(io: ProviderBot) -> None:
    incident = await io_linked(io)
    fake: Any = io.fake
    await io.bot.run("status acknowledged", channel=CHANNEL)
    assert fake.incidents[incident["id"]]["incident_status"]["name"] == "Investigating"
    await io.bot.run("status resolved", channel=CHANNEL)
    assert fake.incidents[incident["id"]]["incident_status"]["name"] == "Documenting"


async def test_monitoring_is_mitigated_at_firehydrant(fh: ProviderBot) -> None:
    incident = await fh_linked(fh)
    fake: Any = fh.fake
    answer = text_of(await fh.bot.run("status monitoring", channel=CHANNEL))
    assert "“monitoring” is Mitigated" in answer
    assert fake.of("PUT", f"/v1/incidents/{incident['id']}/milestones/bulk_update"), answer


async def test_help_status_lists_the_providers_own_statuses(pd: ProviderBot) -> None:
    await pd_linked(pd)
    answer = text_of(await pd.bot.run("help status", channel=CHANNEL))
    assert "Statuses at PagerDuty: triggered, acknowledged, resolved" in answer
    assert "mitigated → acknowledged" in answer
    fake: Any = pd.fake
    assert fake.writes() == []


async def test_help_status_at_the_built_in_provider_lists_its_statuses(bot: RunningBot) -> None:
    answer = text_of(await bot.run("help status"))
    assert "Statuses here: triage, investigating, fixing, monitoring, resolved, closed" in answer


# 6. roles ------------------------------------------------------------------------------------
@pytest.mark.parametrize("typed", ["assign commander <@U222|bob>", "assign ic <@U222|bob>"])
async def test_the_lead_by_its_other_names_at_the_built_in_provider(bot: RunningBot, typed: str) -> None:
    _, channel = await bot.declare("Checkout down")
    answer = text_of(await bot.run(typed, channel=channel))
    assert (await roles_of(bot))["lead"] == "U222", answer


async def test_assign_with_the_person_first(bot: RunningBot) -> None:
    _, channel = await bot.declare("Checkout down")
    answer = text_of(await bot.run("assign <@U333|sam> comms", channel=channel))
    assert (await roles_of(bot)).get("comms") == "U333", answer


@pytest.mark.parametrize("typed", ["assign comms to <@U333|sam>", "assign <@U333|sam> as comms"])
async def test_assign_with_a_little_word_between(bot: RunningBot, typed: str) -> None:
    _, channel = await bot.declare("Checkout down")
    answer = text_of(await bot.run(typed, channel=channel))
    assert (await roles_of(bot)).get("comms") == "U333", answer


async def test_assign_without_a_role_says_the_role_is_missing_and_lists_them(bot: RunningBot) -> None:
    _, channel = await bot.declare("Checkout down")
    before = await roles_of(bot)
    answer = text_of(await bot.run("assign <@U444|bea>", channel=channel))
    assert "Which role should @bea have?" in answer and "`lead`, `comms`, `scribe`" in answer
    assert "needs an user" not in answer and "needs a user" not in answer
    assert await roles_of(bot) == before


async def test_a_roles_shortform_picks_it_at_incident_io(io: ProviderBot) -> None:
    incident = await io_linked(io)
    answer = text_of(await io.bot.run("assign comms <@U333|cat>", channel=CHANNEL))
    [edit] = io_edits(io, incident)
    [assignment] = edit["incident_role_assignments"]
    comms = next(r["id"] for r in IO_ROLES if r["shortform"] == "comms")
    assert assignment == {"incident_role_id": comms, "assignee": {"slack_user_id": "U333"}}, answer


async def test_the_commander_is_the_lead_at_incident_io(io: ProviderBot) -> None:
    incident = await io_linked(io)
    await io.bot.run("assign ic <@U222|bob>", channel=CHANNEL)
    [edit] = io_edits(io, incident)
    lead = next(r["id"] for r in IO_ROLES if r["role_type"] == "lead")
    assert edit["incident_role_assignments"][0]["incident_role_id"] == lead


# 7. PagerDuty references -------------------------------------------------------------------
@pytest.mark.parametrize("typed", ["link 1", "link #1"])
async def test_link_by_the_number_a_pagerduty_card_shows(pd: ProviderBot, typed: str) -> None:
    fake: Any = pd.fake
    incident = fake.add_incident("Checkout is failing")
    answer = text_of(await pd.bot.run(typed, channel=CHANNEL))
    links = await store_rows(pd.bot, store_tables.links)
    assert [(row["provider"], row["incident_id"]) for row in links] == [("pagerduty", incident["id"])], answer


async def test_a_bare_number_inside_a_note_stays_text(pd: ProviderBot) -> None:
    incident = await pd_linked(pd)
    fake: Any = pd.fake
    other = fake.add_incident("Search slow")
    await pd.bot.run(f"update looks like #{other['incident_number']}", channel=CHANNEL)
    notes = [n for n in fake.notes if "looks like" in n["content"]]
    assert [n["incident"] for n in notes] == [incident["id"]]
    links = await store_rows(pd.bot, store_tables.links)
    assert [row["incident_id"] for row in links] == [incident["id"]]  # the channel stays where it was


# 8. a note on a refused change is kept -----------------------------------------------------
async def test_a_note_on_a_status_already_set_is_posted_as_an_update(bot: RunningBot) -> None:
    _, channel = await bot.declare("Checkout down")
    await bot.run("status fixing", channel=channel)
    answer = text_of(await bot.run("status fixing we found the bad deploy", channel=channel))
    assert "already fixing" in answer and "posted as an update" in answer
    assert "we found the bad deploy" in await timeline_of(bot)
    assert (await incident_row(bot))["status"] == "fixing"


async def test_a_note_on_resolving_a_resolved_incident_is_kept(bot: RunningBot) -> None:
    _, channel = await bot.declare("Checkout down")
    await bot.run("resolve", channel=channel)
    answer = text_of(await bot.run("resolve rolled back the deploy", channel=channel))
    assert "already resolved" in answer and "posted as an update" in answer
    assert "rolled back the deploy" in await timeline_of(bot)


async def test_a_note_on_a_backwards_move_is_kept_and_the_status_is_not_moved(bot: RunningBot) -> None:
    _, channel = await bot.declare("Checkout down")
    await bot.run("status monitoring", channel=channel)
    answer = text_of(await bot.run("status investigating errors are back", channel=channel))
    assert "step back" in answer and "posted as an update" in answer
    assert "errors are back" in await timeline_of(bot)
    assert (await incident_row(bot))["status"] == "monitoring"


async def test_a_note_on_reopening_an_open_incident_is_kept(bot: RunningBot) -> None:
    _, channel = await bot.declare("Checkout down")
    answer = text_of(await bot.run("reopen errors are back", channel=channel))
    assert "nothing to reopen" in answer and "posted as an update" in answer
    assert "errors are back" in await timeline_of(bot)


async def test_a_note_on_an_acknowledged_incident_at_pagerduty_is_a_note(pd: ProviderBot) -> None:
    incident = await pd_linked(pd, status="acknowledged")
    fake: Any = pd.fake
    answer = text_of(await pd.bot.run("status acknowledged bad deploy found", channel=CHANNEL))
    assert "posted as an update" in answer and pd_puts(pd, incident) == []
    [note] = [n["content"] for n in fake.notes if n["incident"] == incident["id"]]
    assert note.startswith("bad deploy found")


# 10. verbs the bot does not have -----------------------------------------------------------
@pytest.mark.parametrize(
    ("typed", "said"),
    [
        # The built-in provider escalates its own pages: with none open, it says what to do.
        ("escalate", "No page is open for INC-1: page someone first with `/incident page &lt;rotation&gt;`"),
        ("paging", "I don't know `paging`. Did you mean `page`?"),
        ("close", "I don't know `close`. Did you mean `resolve`?"),
        ("clsoe", "Did you mean `resolve`?"),  # the synonym, then spelling
    ],
)
async def test_unknown_verbs_get_what_was_meant_and_change_nothing(
    bot: RunningBot, typed: str, said: str
) -> None:
    _, channel = await bot.declare("Checkout down")
    before = await timeline_of(bot)
    answer = text_of(await bot.run(typed, channel=channel))
    assert said in answer
    assert "Did you mean `update`" not in answer and "Did you mean `declare`" not in answer
    assert await timeline_of(bot) == before
    assert (await incident_row(bot))["status"] == "triage"


async def test_oncall_me_says_where_i_am_on_call(bot: RunningBot) -> None:
    await bot.run("schedule primary <@U111|ana> <@U222|bea> every 1w")
    mine = text_of(await bot.run("oncall me", user="U111"))
    assert "primary" in mine and "<@U111>" in mine and "not a schedule" not in mine
    theirs = text_of(await bot.run("oncall me", user="U333"))
    assert "You are not on call on any schedule now" in theirs and "<@U111>" in theirs
    assert [row["name"] for row in await store_rows(bot, builtin_tables.schedules)] == ["primary"]


async def test_a_roles_own_shortform_picks_it_at_incident_io_where_no_common_word_would(
    io: ProviderBot, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`ops` is neither a prefix of "Operations" nor a common word for a role: only the
    role's shortform at incident.io says what it is."""
    operations = {
        **IO_ROLES[2],
        "id": "01HRL0000000000000000000009",
        "name": "Operations",
        "shortform": "ops",
    }
    monkeypatch.setattr("tests.fakes.incidentio.ROLES", [*IO_ROLES, operations])
    incident = await io_linked(io)
    answer = text_of(await io.bot.run("assign ops <@U333|cat>", channel=CHANNEL))
    assert [e["incident_role_assignments"] for e in io_edits(io, incident)] == [
        [{"incident_role_id": operations["id"], "assignee": {"slack_user_id": "U333"}}]
    ], answer


async def test_the_lead_at_incident_io_is_its_lead_role_wherever_it_is_listed(
    io: ProviderBot, monkeypatch: pytest.MonkeyPatch
) -> None:
    """incident.io lists its roles in its own order: the lead is the one of type lead."""
    monkeypatch.setattr("tests.fakes.incidentio.ROLES", [IO_ROLES[2], IO_ROLES[0], IO_ROLES[1]])
    incident = await io_linked(io)
    lead = next(r for r in IO_ROLES if r["role_type"] == "lead")
    await io.bot.run("assign ic <@U222|bob>", channel=CHANNEL)
    await io.bot.run("lead <@U333|cat>", channel=CHANNEL)
    assert [e["incident_role_assignments"][0]["incident_role_id"] for e in io_edits(io, incident)] == [
        lead["id"],
        lead["id"],
    ]
