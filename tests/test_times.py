"""Time phrases mean what was typed, in the typist's zone, on a fixed clock: the interval
each phrase gives is asserted, in zones east and west of UTC, with a 30-minute DST shift,
and across DST changes."""

from __future__ import annotations

from contextlib import AbstractAsyncContextManager as AsyncContextManager
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.clock import FixedClock
from bot.commands.timeparse import TimeError, describe, parse_moment, parse_span
from bot.providers.builtin import tables as builtin_tables
from tests.conftest import RunningBot, make_settings, running_bot
from tests.helpers import store_rows, text_of
from tests.slackfake import FakeSlack

ZONES = [
    "UTC",
    "Asia/Tokyo",
    "Asia/Kolkata",
    "America/New_York",
    "America/Los_Angeles",
    "Australia/Lord_Howe",
]


def at(zone: str, *when: int) -> datetime:
    return datetime(*when, tzinfo=ZoneInfo(zone))


def wall(span_start: datetime, zone: str) -> tuple[int, int, int]:
    local = span_start.astimezone(ZoneInfo(zone))
    return local.day, local.hour, local.minute


@pytest.mark.parametrize("zone", ZONES)
def test_from_to_with_clock_times_is_the_next_start_and_the_first_end_after_it(zone: str) -> None:
    now = at(zone, 2026, 11, 23, 16, 58)  # a Monday, mid-afternoon where the typist is
    span = parse_span("from 18:00 to 22:00", zone, now.astimezone(UTC))
    assert wall(span.start, zone) == (23, 18, 0) and wall(span.end, zone) == (23, 22, 0)
    assert span.duration == timedelta(hours=4)

    span = parse_span("from 14:00 to 15:00", zone, now.astimezone(UTC))  # 14:00 is past: tomorrow's
    assert wall(span.start, zone) == (24, 14, 0) and span.duration == timedelta(hours=1)

    span = parse_span("from 22:00 to 02:00", zone, now.astimezone(UTC))  # across midnight
    assert wall(span.start, zone) == (23, 22, 0) and wall(span.end, zone) == (24, 2, 0)
    assert span.duration == timedelta(hours=4)


@pytest.mark.parametrize("zone", ZONES)
def test_an_early_morning_span_rolls_to_tomorrow_rather_than_being_refused(zone: str) -> None:
    now = at(zone, 2026, 11, 23, 2, 58)
    span = parse_span("from 01:00 to 02:00", zone, now.astimezone(UTC))
    assert wall(span.start, zone) == (24, 1, 0) and span.duration == timedelta(hours=1)


@pytest.mark.parametrize("zone", ZONES)
def test_other_forms_in_each_zone(zone: str) -> None:
    now = at(zone, 2026, 11, 23, 9, 30).astimezone(UTC)
    assert parse_span("for 2h", zone, now).duration == timedelta(hours=2)
    span = parse_span("until 9am tomorrow", zone, now)
    assert span.start == now and wall(span.end, zone) == (24, 9, 0)
    span = parse_span("from friday 14:00 for 2h", zone, now)
    assert wall(span.start, zone) == (27, 14, 0) and span.duration == timedelta(hours=2)
    span = parse_span("from 6pm to 7:30pm", zone, now)
    assert wall(span.start, zone) == (23, 18, 0) and span.duration == timedelta(minutes=90)


@pytest.mark.parametrize("zone", ZONES)
def test_a_past_time_is_refused_with_the_interval_understood(zone: str) -> None:
    now = at(zone, 2026, 11, 23, 9, 30).astimezone(UTC)
    with pytest.raises(TimeError) as refused:
        parse_span("until yesterday", zone, now)
    assert "I read that as Mon 23 Nov 09:30" in str(refused.value) and "already over" in str(refused.value)


def test_across_dst_changes_spans_are_real_time() -> None:
    # New York springs forward at 02:00 on 8 March 2026: 01:00 to 03:00 is one real hour.
    span = parse_span("from 1am to 3am", "America/New_York", at("America/New_York", 2026, 3, 7, 20, 0))
    assert span.duration == timedelta(hours=1)
    # "for 2h" from 01:00 that night ends at 04:00 on the wall, two real hours later.
    span = parse_span("from 1am for 2h", "America/New_York", at("America/New_York", 2026, 3, 7, 20, 0))
    assert span.duration == timedelta(hours=2) and wall(span.end, "America/New_York") == (8, 4, 0)
    # Lord Howe moves by 30 minutes (02:00 → 02:30) on 4 October 2026.
    span = parse_span("from 1am to 3am", "Australia/Lord_Howe", at("Australia/Lord_Howe", 2026, 10, 3, 20, 0))
    assert span.duration == timedelta(minutes=90)
    # Falling back (New York, 1 November 2026): 00:30 to 03:00 is three and a half hours.
    span = parse_span("from 00:30 to 3am", "America/New_York", at("America/New_York", 2026, 10, 31, 20, 0))
    assert span.duration == timedelta(hours=3, minutes=30)


@settings(max_examples=200, deadline=None)
@given(
    zone=st.sampled_from(ZONES),
    minutes=st.integers(0, 366 * 24 * 60),
    start=st.integers(0, 23),
    length=st.integers(1, 23),
)
def test_a_clock_span_is_never_longer_than_typed_and_always_ahead(
    zone: str, minutes: int, start: int, length: int
) -> None:
    now = datetime(2026, 1, 1, tzinfo=UTC) + timedelta(minutes=minutes)
    end = (start + length) % 24
    span = parse_span(f"from {start:02d}:00 to {end:02d}:00", zone, now)
    assert span.start >= now - timedelta(minutes=1)
    assert span.start - now < timedelta(days=1, hours=1)  # the next occurrence, not a later one
    # Real time may differ from the wall by a DST shift, never by more.
    assert abs(span.duration - timedelta(hours=length)) <= timedelta(hours=1)


# Day words, at fixed moments: what each phrase means, or its refusal ----------------------
WEDNESDAY = (2026, 11, 25, 10, 0)  # a Wednesday, mid-morning where the typist is

# phrase → (start: days from today, hour), (end: days from today, hour); None: refused
DAY_PHRASES: dict[str, tuple[tuple[int, int], tuple[int, int]] | None] = {
    "from tomorrow 9am to tomorrow 5pm": ((1, 9), (1, 17)),
    "from 9am tomorrow to 5pm tomorrow": ((1, 9), (1, 17)),
    "from tomorrow 9:00 until tomorrow 17:00": ((1, 9), (1, 17)),
    "tomorrow 9am to 5pm": ((1, 9), (1, 17)),
    "9am to 5pm tomorrow": ((1, 9), (1, 17)),
    "tomorrow from 9am to 5pm": ((1, 9), (1, 17)),
    "tomorrow 9am-5pm": ((1, 9), (1, 17)),
    "from 22:00 to 02:00 tomorrow": ((0, 22), (1, 2)),
    "from today 18:00 to tomorrow 02:00": ((0, 18), (1, 2)),
    "from friday 9am to friday 5pm": ((2, 9), (2, 17)),
    "from 9am on friday to 5pm on friday": ((2, 9), (2, 17)),
    "from next friday 9am to next friday 5pm": ((9, 9), (9, 17)),
    "next friday from 9am to 5pm": ((9, 9), (9, 17)),
    "9am-5pm next friday": ((9, 9), (9, 17)),  # the README's
    "from this friday 9am to this friday 5pm": ((2, 9), (2, 17)),
    "from next thursday 9am to next thursday 5pm": ((8, 9), (8, 17)),
    "from monday 9am to friday 5pm": ((5, 9), (9, 17)),
    "from noon to 2pm": ((0, 12), (0, 14)),
    "until noon": ((0, 10), (0, 12)),
    "until midnight": ((0, 10), (1, 0)),
    "from now until 5pm": ((0, 10), (0, 17)),
    "from tomorrow 22:00 to 06:00": ((1, 22), (2, 6)),
    "from dec 24 9am to dec 24 5pm": ((29, 9), (29, 17)),
    "from 2026-12-24 09:00 to 17:00": ((29, 9), (29, 17)),
    "from 10am tomorrow for 3h": ((1, 10), (1, 13)),
    "until friday midnight": None,  # as Friday begins or as it ends: asked
    "from friday for 2h": None,
    "until 9am next monday": ((0, 10), (5, 9)),
    # A day alone would be its first minute: asked for a time, never guessed.
    "until friday": None,
    "until next friday": None,
    "from friday to sunday": None,
    "until tomorrow": None,
    "from dec 24 to dec 26": None,
    "friday 9-5": None,
    "from 9 to 5": None,
    "this weekend": None,
    # A day said once at the end is both ends' (never the end's alone), or refused.
    "from 9am to 5pm on 2026-12-03": ((8, 9), (8, 17)),
    "from 01:00 to 03:00 on 2026-12-03": ((8, 1), (8, 3)),
    "from 9am to 5pm on dec 3": ((8, 9), (8, 17)),
    "from 9am to 5pm on Dec 3rd": ((8, 9), (8, 17)),
    "9am-5pm on 3 december": ((8, 9), (8, 17)),
    "from 9am to 5pm 2026-12-03": ((8, 9), (8, 17)),
    "on 2026-12-03 from 9am to 5pm": ((8, 9), (8, 17)),
    "from 9am to 5pm on friday": ((2, 9), (2, 17)),
    "from 22:00 to 02:00 on friday": ((1, 22), (2, 2)),  # the night into Friday, not a week
    "from 22:00 to 02:00 next friday": ((8, 22), (9, 2)),
    "from 22:00 to 02:00 on 2026-12-03": ((7, 22), (8, 2)),
    "from 9am to 5pm on jan 5": ((41, 9), (41, 17)),  # the nearest Jan 5: next year's
    "from 9am to 5pm in 3 days": None,
    "from 9am to 5pm on the 5th": None,
    "from 9am to 5pm on 03/12": None,  # 3 December or March 12: asked
    "from 9am to 5pm on 2026-02-30": None,
    "from 9am to 5pm on nov 1": None,  # this year's, already over: not next year's
    "from 22:00 to midnight on friday": None,
}


def local_wall(moment: datetime, zone: str, today: datetime) -> tuple[int, int]:
    local = moment.astimezone(ZoneInfo(zone))
    return (local.date() - today.date()).days, local.hour


@pytest.mark.parametrize("zone", ZONES)
@pytest.mark.parametrize("phrase", DAY_PHRASES)
def test_day_phrases_mean_the_days_named_or_are_refused(zone: str, phrase: str) -> None:
    now = at(zone, *WEDNESDAY)
    expected = DAY_PHRASES[phrase]
    if expected is None:
        with pytest.raises(TimeError):
            parse_span(phrase, zone, now.astimezone(UTC))
        return
    span = parse_span(phrase, zone, now.astimezone(UTC))
    assert (local_wall(span.start, zone, now), local_wall(span.end, zone, now)) == expected


@settings(max_examples=200, deadline=None)
@given(
    zone=st.sampled_from(ZONES),
    minutes=st.integers(0, 366 * 24 * 60),
    start=st.integers(0, 22),
    length=st.integers(1, 23),
    day=st.sampled_from(["tomorrow", "next monday", "next friday", "next sunday"]),
)
def test_a_day_named_at_both_ends_is_one_day(
    zone: str, minutes: int, start: int, length: int, day: str
) -> None:
    """ "from <day> 9am to <day> 5pm" is 8 hours on that day, never the day after's 5pm."""
    now = datetime(2026, 1, 1, tzinfo=UTC) + timedelta(minutes=minutes)
    end = min(start + length, 23)
    span = parse_span(f"from {day} {start:02d}:00 to {day} {end:02d}:00", zone, now)
    local_now = now.astimezone(ZoneInfo(zone))
    begins, ends = span.start.astimezone(ZoneInfo(zone)), span.end.astimezone(ZoneInfo(zone))
    assert begins.date() == ends.date()
    if day == "tomorrow":
        assert (begins.date() - local_now.date()).days == 1
    else:  # the named weekday of next week (weeks run Monday to Sunday)
        assert begins.strftime("%A").lower() == day.split()[1]
        monday = local_now.date() - timedelta(days=local_now.weekday())
        assert 7 <= (begins.date() - monday).days <= 13
    assert abs(span.duration - timedelta(hours=end - start)) <= timedelta(hours=1)


def test_next_friday_on_a_wednesday_is_next_weeks_and_friday_alone_this_weeks() -> None:
    now = at("UTC", *WEDNESDAY)
    assert parse_moment("next friday", "UTC", now) == at("UTC", 2026, 12, 4, 0, 0)
    assert parse_moment("friday", "UTC", now) == at("UTC", 2026, 11, 27, 0, 0)
    assert parse_moment("this friday", "UTC", now) == at("UTC", 2026, 11, 27, 0, 0)
    assert parse_moment("next wednesday", "UTC", now) == at("UTC", 2026, 12, 2, 0, 0)


def test_a_date_far_off_or_in_another_year_is_shown_with_its_year() -> None:
    now = at("UTC", *WEDNESDAY)
    assert describe(at("UTC", 2026, 12, 4, 9, 0), "UTC", now) == "Fri 04 Dec 09:00 UTC"
    assert describe(at("UTC", 2027, 1, 4, 9, 0), "UTC", now) == "Mon 04 Jan 2027 09:00 UTC"
    assert describe(at("UTC", 2026, 3, 4, 9, 0), "UTC", now) == "Wed 04 Mar 2026 09:00 UTC"
    with pytest.raises(TimeError) as refused:
        parse_span("until 2025-12-01 09:00", "UTC", now)
    assert "Mon 01 Dec 2025 09:00" in str(refused.value)


# Through signed Slack requests, on a fixed clock, in the typist's zone ----------------------
def on_clock(
    fake_slack: FakeSlack, sqlite_url: str, moment: datetime, zone: str
) -> AsyncContextManager[RunningBot]:
    fake_slack.timezones.update({"U111": zone, "U333": zone})
    return running_bot(fake_slack, make_settings(fake_slack, sqlite_url), FixedClock(moment))


async def overrides_stored(bot: RunningBot) -> list[tuple[datetime, datetime]]:
    return [(r["start"], r["end"]) for r in await store_rows(bot, builtin_tables.overrides)]


async def test_tomorrow_to_tomorrow_in_tokyo_is_eight_hours_through_slack(
    fake_slack: FakeSlack, sqlite_url: str
) -> None:
    now = at("Asia/Tokyo", 2026, 11, 25, 10, 0)  # Wednesday
    async with on_clock(fake_slack, sqlite_url, now, "Asia/Tokyo") as bot:
        await bot.run("schedule secondary <@U222|bea> every 1w")
        said = text_of(await bot.run("override secondary <@U333|cy> from tomorrow 9am to tomorrow 5pm"))
        assert "Thu 26 Nov 09:00 JST to Thu 26 Nov 17:00 JST (8h)" in said
        assert await overrides_stored(bot) == [(at("UTC", 2026, 11, 26, 0, 0), at("UTC", 2026, 11, 26, 8, 0))]
        refused = text_of(await bot.run("override secondary <@U333|cy> until friday"))
        assert (
            "is a day: say when on it" in refused and "Usage: `/incident override &lt;schedule&gt;" in refused
        )
        assert len(await overrides_stored(bot)) == 1  # nothing made


async def test_a_span_across_the_spring_change_is_labelled_in_real_hours(
    fake_slack: FakeSlack, sqlite_url: str
) -> None:
    zone = "America/New_York"  # springs forward at 02:00 on 8 March 2026
    async with on_clock(fake_slack, sqlite_url, at(zone, 2026, 3, 7, 20, 0), zone) as bot:
        await bot.run("schedule primary <@U222|bea> every 1w")
        said = text_of(await bot.run("override primary me from 00:00 to 06:00"))
        assert "Sun 08 Mar 00:00 EST to Sun 08 Mar 06:00 EDT (5h)" in said
        [(start, end)] = await overrides_stored(bot)
        assert end - start == timedelta(hours=5)


async def test_due_next_friday_on_a_wednesday_is_next_weeks_and_a_far_due_date_has_its_year(
    fake_slack: FakeSlack, sqlite_url: str
) -> None:
    async with on_clock(fake_slack, sqlite_url, at("UTC", *WEDNESDAY), "UTC") as bot:
        _, channel = await bot.declare("Disk full")
        said = text_of(await bot.run("followup Add disk alert due next friday", channel=channel))
        assert "(due Fri 04 Dec)" in said
        await bot.run("followup Clean logs due:friday", channel=channel)
        far = text_of(await bot.run("followup Plan the DR drill due:2027-03-01", channel=channel))
        assert "(due Mon 01 Mar 2027)" in far  # another year: said
        due = {r["title"]: r["due"].date() for r in await store_rows(bot, builtin_tables.followups)}
        assert due == {
            "Add disk alert": date(2026, 12, 4),
            "Clean logs": date(2026, 11, 27),
            "Plan the DR drill": date(2027, 3, 1),
        }
        assert "(due Mon 01 Mar 2027)" in text_of(await bot.run("followups", channel=channel))


async def test_a_slashed_or_past_due_date_is_refused_and_due_month_day_unquoted_is_the_date(
    fake_slack: FakeSlack, sqlite_url: str
) -> None:
    """`due:04/12` was read month-first (12 April next year), `due:Nov 1` moved to next
    year, and `due:Dec 10` made the title "… 10" due on 3 December next year."""
    async with on_clock(fake_slack, sqlite_url, at("UTC", *WEDNESDAY), "UTC") as bot:
        _, channel = await bot.declare("Disk full")
        slashed = text_of(await bot.run("followup Add alert due:04/12", channel=channel))
        assert "“04/12” could be 4 Dec or Apr 12: write the date as 2026-12-04 or Dec 4" in slashed
        assert "Usage: `/incident followup" in slashed
        assert "could be 10 Dec or Oct 12" in text_of(
            await bot.run("followup Add alert due:10/12", channel=channel)
        )
        assert "write the date as 2026-12-04" in text_of(
            await bot.run("followup Add alert due 04/12", channel=channel)
        )
        past = text_of(await bot.run("followup Old one due:Nov 1", channel=channel))
        assert "`due:Nov 1` is Sun 01 Nov, in the past: pick a date from today on" in past
        assert "is a month: say the day too" in text_of(
            await bot.run("followup Month due:dec", channel=channel)
        )
        said = text_of(await bot.run("followup Rotate keys due:Dec 10", channel=channel))
        assert "Rotate keys (due Thu 10 Dec)" in said
        await bot.run('followup Rotate certs due:"Dec 10"', channel=channel)
        due = {r["title"]: r["due"].date() for r in await store_rows(bot, builtin_tables.followups)}
        assert due == {"Rotate keys": date(2026, 12, 10), "Rotate certs": date(2026, 12, 10)}


async def test_a_date_at_the_end_of_an_override_is_both_ends_day_or_refused(
    fake_slack: FakeSlack, sqlite_url: str
) -> None:
    """`… from 9am to 5pm on 2027-01-05` is eight hours that day: it was made from the next
    9am to that date's 5pm (a month long) without a word."""
    async with on_clock(fake_slack, sqlite_url, at("UTC", *WEDNESDAY), "UTC") as bot:
        await bot.run("schedule primary <@U222|bea> every 1w")
        said = text_of(await bot.run("override primary me from 9am to 5pm on 2027-01-05"))
        assert "Tue 05 Jan 2027 09:00 UTC to Tue 05 Jan 2027 17:00 UTC (8h)" in said
        said = text_of(await bot.run("override primary me from 01:00 to 03:00 on 2027-03-14"))
        assert "(2h)" in said
        said = text_of(await bot.run("override primary <@U333|cy> from 9am to 5pm on friday"))
        assert "Fri 27 Nov 09:00 UTC to Fri 27 Nov 17:00 UTC (8h)" in said
        assert await overrides_stored(bot) == [
            (at("UTC", 2027, 1, 5, 9, 0), at("UTC", 2027, 1, 5, 17, 0)),
            (at("UTC", 2027, 3, 14, 1, 0), at("UTC", 2027, 3, 14, 3, 0)),
            (at("UTC", 2026, 11, 27, 9, 0), at("UTC", 2026, 11, 27, 17, 0)),
        ]
        said_for = {}
        for unclear in (
            "from 9am to 5pm in 3 days",
            "from 9am to 5pm on 05/01",
            "from 9am to 5pm on the 5th",
        ):
            said_for[unclear] = text_of(await bot.run(f"override primary me {unclear}"))
            assert "Usage: `/incident override &lt;schedule&gt;" in said_for[unclear], unclear
        assert (
            "could be 5 Jan or May 1: write the date as 2027-01-05 or Jan 5"
            in said_for["from 9am to 5pm on 05/01"]
        )
        assert len(await overrides_stored(bot)) == 3  # nothing made


async def test_a_far_off_override_is_shown_with_its_year(fake_slack: FakeSlack, sqlite_url: str) -> None:
    async with on_clock(fake_slack, sqlite_url, at("UTC", *WEDNESDAY), "UTC") as bot:
        await bot.run("schedule primary <@U222|bea> every 1w")
        said = text_of(await bot.run("override primary me from 2027-06-01 09:00 to 2027-06-01 17:00"))
        assert "Tue 01 Jun 2027 09:00 UTC to Tue 01 Jun 2027 17:00 UTC (8h)" in said
        assert "Tue 01 Jun 2027 09:00" in text_of(await bot.run("overrides"))
        near = text_of(await bot.run("override primary me from tomorrow 9am to tomorrow 10am"))
        assert "Thu 26 Nov 09:00 UTC to Thu 26 Nov 10:00 UTC (1h)" in near
        assert len(await overrides_stored(bot)) == 2


def test_a_weekday_said_with_its_date_is_that_date_or_refused_when_it_is_not() -> None:
    now = at("Europe/London", 2026, 12, 3, 8, 0)  # a Thursday
    for phrase in (
        "from 9am to 5pm on monday 7 dec",
        "from 9am to 5pm on mon, dec 7",
        "from 9am to 5pm on Dec 7",
    ):
        span = parse_span(phrase, "Europe/London", now)
        assert (span.start.date(), span.end.date(), span.duration) == (
            date(2026, 12, 7),
            date(2026, 12, 7),
            timedelta(hours=8),
        ), phrase
    with pytest.raises(TimeError, match="7 Dec is a Monday"):
        parse_span("from 9am to 5pm on tuesday 7 dec", "Europe/London", now)


def test_a_day_of_the_month_without_its_month_is_refused_anywhere_in_the_phrase() -> None:
    now = at("UTC", 2026, 12, 3, 8, 0)
    for phrase in ("until 5pm on the 10th", "until the 10th at 5pm"):
        with pytest.raises(TimeError, match="needs its month"):
            parse_span(phrase, "UTC", now)
    assert parse_span("until 5pm on the 10th of december", "UTC", now).end == at("UTC", 2026, 12, 10, 17, 0)
