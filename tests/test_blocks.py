"""Block Kit output: user text escaped, and Slack's limits held for long and odd input."""

from __future__ import annotations

from datetime import UTC, datetime

from bot.commands import results as r
from bot.commands.parsed import UsageError
from bot.doc import Doc, Section, T, User
from bot.domain import Capability, FollowUp, Incident, OnCall, Person, Schedule
from bot.present import present
from bot.slack.blocks import escape, render_blocks, render_text
from tests.blockkit import message_problems, view_problems
from tests.blocktext import texts

NOW = datetime(2026, 11, 22, tzinfo=UTC)


def incident(name: str = "DB down", **extra: object) -> Incident:
    values: dict[str, object] = dict(
        provider="builtin", id="1", reference="INC-1", name=name, status="triage", created_at=NOW
    )
    values.update(extra)
    return Incident(**values)  # type: ignore[arg-type]


def test_escape_order() -> None:
    assert escape("a & <b> &lt;") == "a &amp; &lt;b&gt; &amp;lt;"


def test_user_text_is_escaped_but_our_mentions_are_not() -> None:
    doc = Doc([T("x")], [Section([[User("U1", "bea"), T(" said <!channel> & <@U2>")]])])
    [block] = render_blocks(doc)
    assert block["text"]["text"] == "<@U1> said &lt;!channel&gt; &amp; &lt;@U2&gt;"
    assert block["text"]["verbatim"] is True


def check_limits(blocks: list[dict], text: str) -> None:
    assert 0 < len(blocks) <= 50
    assert len(text) <= 3000
    assert message_problems({"text": text, "blocks": blocks}) == []


def test_long_names_many_followups_and_non_latin_text_stay_within_limits() -> None:
    many = [
        FollowUp(id=str(n), number=n, title="修复数据库故障 " * 40, assignee=Person(slack_id="U1"))
        for n in range(1, 400)
    ]
    big = incident(
        name="Ошибка оплаты 🔥 " * 30,
        summary="ملخص " * 2000,
        followups=many,
        roles={f"role{n}": Person(slack_id=f"U{n}") for n in range(30)},
    )
    crowd = [Person(slack_id=f"U{n:05d}", name="Зоя " * 20) for n in range(5000)]
    schedules = [
        Schedule(id=str(n), name="расписание " * 20 + str(n), users=crowd, handover_seconds=604800)
        for n in range(300)
    ]
    results = [
        r.Card(incident=big, at=NOW),
        r.card(big, frozenset(Capability), NOW),
        r.Schedules(schedules=schedules, tz="Asia/Tokyo"),
        r.OnCallList(
            entries=[OnCall(schedule=s, person=crowd[n]) for n, s in enumerate(schedules)], tz="UTC", at=NOW
        ),
        r.Roles(incident=big, role_names=[f"role{n}" for n in range(30)]),
        r.Changed(incident=big, actor=crowd[0], what="made {person} lead", person=crowd[1], note="ж" * 5000),
        r.NotSupported(
            provider_label="PagerDuty", verb="assign", reason="x" * 4000, url="https://x/" + "y" * 3000
        ),
        r.FollowUps(incident=big, followups=many),
        r.UpdatePosted(incident=big, text="x" * 3900, actor=Person(slack_id="U1")),
        r.Usage(error=UsageError(message="é" * 5000, usage="/incident x")),
        r.Failure(what="ü" * 4000),
    ]
    for result in results:
        doc = present(result)
        check_limits(render_blocks(doc), render_text(doc))


def test_followup_list_is_cut_with_a_count_not_silently() -> None:
    many = [FollowUp(id=str(n), number=n, title=f"item {n}") for n in range(1, 31)]
    text = "\n".join(texts(render_blocks(present(r.FollowUps(incident=incident(), followups=many)))))
    assert "#20 item 20" in text and "#21 item 21" not in text and "and 10 more" in text


def test_modals_hold_slacks_limits_with_300_long_statuses_and_5000_users() -> None:
    from bot.commands.registry import lookup
    from bot.slack.modals import Meta, form_view

    statuses = [f"Состояние {n} " + "ü" * 300 for n in range(300)]
    big = form_view(lookup("status"), Meta("status", "C1"), {"status": statuses})  # type: ignore[arg-type]
    assert view_problems(big) == []
    assert big["blocks"][0]["element"]["type"] == "external_select"
    few = form_view(lookup("status"), Meta("status", "C1"), {"status": statuses[:100]})  # type: ignore[arg-type]
    assert view_problems(few) == []
    assert few["blocks"][0]["element"]["type"] == "static_select"
    # People are never a static list: Slack's own user select holds any workspace.
    assign = form_view(lookup("assign"), Meta("assign", "C1"), {"role": ["lead"]})  # type: ignore[arg-type]
    assert {b["element"]["type"] for b in assign["blocks"]} == {"static_select", "users_select"}
    long_url = Meta("status", "C1", response_url="https://hooks.slack.com/" + "x" * 4000)
    assert view_problems(form_view(lookup("status"), long_url, {"status": ["a"]})) == []  # type: ignore[arg-type]
