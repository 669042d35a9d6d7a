"""The parser: Slack's escaping, options, people, times; and, for any input, no exception."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from bot.commands import registry
from bot.commands.parsed import ParsedCommand, UsageError, UserRef
from bot.commands.parser import parse
from bot.commands.timeparse import TimeSpan

NOW = datetime(2026, 11, 22, 10, 0, tzinfo=UTC)


def ok(text: str, tz: str = "UTC") -> ParsedCommand:
    result = parse(text, tz=tz, now=NOW)
    assert isinstance(result, ParsedCommand), result
    return result


def bad(text: str) -> UsageError:
    result = parse(text, now=NOW)
    assert isinstance(result, UsageError), result
    return result


def test_empty_means_info() -> None:
    assert ok("").verb == "info"


def test_aliases_resolve_to_their_verb() -> None:
    assert ok("sev 2").verb == "severity"
    assert ok("acknowledge").verb == "ack"
    assert ok("STATUS monitoring").args == {"status": "monitoring"}


def test_slack_mentions_become_people_and_plain_text() -> None:
    parsed = ok("assign comms <@U123|bea>")
    assert parsed.args["user"] == UserRef(id="U123", name="bea")
    update = ok("update paged <!subteam^S1|@oncall> in <#C9|inc-4> &amp; <!channel> &lt;b&gt;")
    assert update.args["text"] == "paged @oncall in #inc-4 & @channel <b>"


def test_me_and_typed_names() -> None:
    assert ok("lead me").args["user"] == UserRef(me=True)
    assert ok("lead @me").args["user"] == UserRef(me=True)
    assert ok("lead @bea").args["user"] == UserRef(name="bea")


def test_options_and_quoted_strings() -> None:
    parsed = ok('declare Checkout is failing sev:1 summary:"5xx on /pay"')
    assert parsed.args["name"] == "Checkout is failing"
    assert parsed.options["sev"] == "1" and parsed.options["summary"] == "5xx on /pay"
    smart = ok("declare “DB down” sev:2")
    assert smart.args["name"] == "DB down"
    # A colon in free text that is not one of the verb's options stays text.
    assert ok("update error: db down").args["text"] == "error: db down"


def test_followup_assignee_anywhere_and_due_date_in_users_zone() -> None:
    parsed = ok("followup <@U9|sam> Add DB failover alert due:friday", tz="America/New_York")
    assert parsed.args["assignee"] == UserRef(id="U9", name="sam")
    assert parsed.args["title"] == "Add DB failover alert"
    due = parsed.options["due"]
    assert due.weekday() == 4 and str(due.tzinfo) == "America/New_York" and due > NOW


def test_durations_and_spans() -> None:
    span: TimeSpan = ok("override primary @bob for 2h").args["when"]
    assert span.start == NOW and span.end == NOW + timedelta(hours=2)
    assert ok("override primary @bob 90m").args["when"].duration == timedelta(minutes=90)
    evening = ok("override primary @bob from 18:00 to 22:00", tz="Europe/Paris").args["when"]
    assert (evening.start.hour, evening.end.hour, evening.duration) == (18, 22, timedelta(hours=4))
    night = ok("override primary @bob from 22:00 to 06:00", tz="Europe/Paris").args["when"]
    assert night.duration == timedelta(hours=8)
    until = ok("override primary @bob until 9am tomorrow", tz="Asia/Tokyo").args["when"]
    assert until.end.hour == 9 and str(until.end.tzinfo) == "Asia/Tokyo" and until.start == NOW


def test_trailing_reference_names_the_incident() -> None:
    parsed = ok("status resolved INC-3")
    assert parsed.args == {"status": "resolved"} and parsed.ref is not None and parsed.ref.id == "INC-3"
    assert ok("ack pd:Q1ABC").ref.provider == "pagerduty"  # type: ignore[union-attr]
    link = ok("link https://acme.pagerduty.com/incidents/Q1ABC").args["incident"]
    assert (link.provider, link.id) == ("pagerduty", "Q1ABC")


def test_typos_get_the_nearest_verbs_usage() -> None:
    error = bad("stauts resolved")
    assert error.suggestion == "status" and error.usage == "/incident status <status> [note]"
    assert "help" in bad("frobnicate").usage


def test_a_severity_glued_to_its_verb_is_the_verb_and_its_argument() -> None:
    for typed in ("sev1", "SEV-1", "p1", "severity2"):
        parsed = ok(typed)
        assert (parsed.verb, parsed.args) == ("severity", {"severity": typed})
    assert registry.read_verb("p2")[0] is registry.lookup("severity")  # the inbox reads it alike


def test_a_bare_number_is_a_reference_only_where_nothing_else_can_stand() -> None:
    link = ok("link #7").args["incident"]
    assert (link.provider, link.id, link.number) == (None, "7", True)
    assert ok("resolve duplicate of #7").ref is None and ok("status resolved 7").ref is None
    assert ok("update see #7").args == {"text": "see #7"}


def test_missing_and_extra_arguments_get_usage() -> None:
    assert "needs a status" in bad("status").message
    assert "not a person" in bad("lead bob").message
    assert "didn't expect" in bad("ack right now").message
    assert "already over" in bad("override primary @bob until 2020-01-01 10:00").message
    assert bad("override primary @bob whenever").usage.startswith("/incident override")
    assert bad("followup x due:someday").message.startswith("I couldn't read `due:someday`")


def test_end_before_start_is_refused() -> None:
    error = bad("override primary @bob from 2030-01-02 10:00 to 2030-01-01 09:00")
    assert "before the start" in error.message


mention = st.builds(
    lambda u, n: f"<@{u}|{n}>",
    st.text("UW0123456789ABC", min_size=1, max_size=9),
    st.text(min_size=0, max_size=8),
)
words = st.sampled_from(
    [
        *registry.BY_NAME,
        "sev:1",
        "due:friday",
        "for",
        "2h",
        "from",
        "to",
        "18:00",
        "INC-3",
        '"',
        "“",
        "&lt;",
        "<!channel>",
        "<#C1|x>",
        "me",
        "@bob",
        "every",
    ]
)
token = st.one_of(words, mention, st.text(max_size=12))


@settings(max_examples=400, deadline=None)
@given(st.lists(token, max_size=10).map(" ".join), st.sampled_from(["UTC", "Europe/Paris", "Bad/Zone"]))
def test_no_input_raises_and_every_rejection_is_a_usage_message(text: str, tz: str) -> None:
    result = parse(text, tz=tz, now=NOW)
    assert isinstance(result, ParsedCommand | UsageError)
    if isinstance(result, UsageError):
        assert result.message and result.usage.startswith("/incident")
    else:
        assert registry.lookup(result.verb) is not None


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=300))
def test_arbitrary_text_never_raises(text: str) -> None:
    assert isinstance(parse(text, now=NOW), ParsedCommand | UsageError)


def test_a_follow_ups_owner_is_the_mention_that_ends_or_begins_it() -> None:
    inside = ok("followup Talk to <@U333|sam> about the process")
    assert "assignee" not in inside.args and inside.args["title"] == "Talk to @sam about the process"
    assert ok("followup Add an alert <@U333|sam>").args["assignee"] == UserRef(id="U333", name="sam")
    first = ok("followup <@U333|sam> check the alerts")
    assert (
        first.args["assignee"] == UserRef(id="U333", name="sam") and first.args["title"] == "check the alerts"
    )
    due = ok("followup Add an alert <@U333|sam> due:2026-12-04")
    assert due.args["assignee"] == UserRef(id="U333", name="sam") and due.args["title"] == "Add an alert"
    two = bad("followup Tighten the SLO <@U333|sam> <@U444|bob>")
    assert "One owner only: name one of @sam, @bob" in two.message


def test_quotes_inside_free_text_are_kept_and_around_all_of_it_only_group_it() -> None:
    assert ok('update error is "connection refused" on db-2').args["text"] == (
        'error is "connection refused" on db-2'
    )
    assert ok("update “timeouts” again").args["text"] == "“timeouts” again"
    assert ok('update "rolled back"').args["text"] == "rolled back"
    assert ok('declare "DB down" sev:2').args["name"] == "DB down"


def test_a_time_after_a_due_day_is_not_left_in_the_title() -> None:
    parsed = ok("followup Tomorrow thing due:tomorrow 3pm")
    assert parsed.args["title"] == "Tomorrow thing" and parsed.options["due"] is not None
    assert ok("followup Call the vendor at 3pm due:friday").args["title"] == "Call the vendor at 3pm"


def test_due_to_is_a_reason_in_the_title_not_a_date() -> None:
    assert ok("followup Rebalance shards due to 2/3 replicas down").args["title"] == (
        "Rebalance shards due to 2/3 replicas down"
    )
    assert ok("followup Fix it due to 50/50 split").args["title"] == "Fix it due to 50/50 split"
    assert "could be" in bad("followup Fix it due 04/12").message


def test_a_number_alone_where_the_text_goes_names_the_incident() -> None:
    """`#1` is how a PagerDuty card shows an incident: typed alone where the text goes, it
    was posted as the note of the channel's own incident. It names incident #1, as `pd:1`
    would at the end."""
    said = ok("status resolved #1")
    assert said.args == {"status": "resolved"} and said.ref is not None
    assert (said.ref.id, said.ref.number) == ("1", True)
    assert "needs a text" in bad("update #12").message  # the number named, the text missing
    assert "say more than the number" in bad("declare #3").message  # declare names no incident
    # With more words it is text, as typed.
    assert ok("status resolved #1 rolled back").args == {"status": "resolved", "note": "#1 rolled back"}
    assert ok("update see #2 above").args == {"text": "see #2 above"}
    # After a verb's last word, too: `sev critical #3`, `ack #3` (which said "I didn't expect").
    for text in ("sev critical #3", "ack #3"):
        named = ok(text).ref
        assert named is not None and (named.id, named.number) == ("3", True), text
    # Quoted it is text, as typed; a channel named `#42` is a channel, not incident 42.
    quoted = ok('status resolved "#1"')
    assert quoted.ref is None and quoted.args == {"status": "resolved", "note": "#1"}
    assert ok("resolve <#C0CHAN|42>").ref is None
    # A reference right after the verb, before its words: never a status, a severity, a person.
    for text, args in (
        ("status INC-2 resolved", {"status": "resolved"}),
        ("sev INC-2 critical", {"severity": "critical"}),
        ("status pd:3 back to investigating", {"status": "back", "note": "to investigating"}),
    ):
        named = ok(text)
        assert named.ref is not None and named.args == args, text
    # Where the verb numbers its own things, `#2` is one of those (a follow-up, an override).
    assert ok("snooze #99").args == {"for": "#99"} and ok("snooze #99").ref is None
    assert ok("overrides #2").args == {"schedule": "#2"}
