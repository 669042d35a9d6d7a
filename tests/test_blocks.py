"""Block Kit output: user text escaped, and Slack's limits held for long and odd input."""

from __future__ import annotations

from datetime import UTC, datetime

from bot.commands import results as r
from bot.commands.parser import UsageError
from bot.doc import Doc, Section, T, User
from bot.present import present
from bot.providers.base import FollowUp, Incident, Person
from bot.slack.blocks import escape, render_blocks, render_text
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
    for block in blocks:
        if block["type"] == "header":
            assert len(block["text"]["text"]) <= 150
        if block["type"] == "section":
            if "text" in block:
                assert len(block["text"]["text"]) <= 3000
            assert len(block.get("fields", [])) <= 10
            assert all(len(f["text"]) <= 2000 for f in block.get("fields", []))
        if block["type"] == "context":
            assert len(block["elements"]) <= 10


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
    results = [
        r.Card(incident=big),
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
