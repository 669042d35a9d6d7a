"""Time phrases mean what was typed, in the typist's zone, on a fixed clock: the interval
each phrase gives is asserted, in zones east and west of UTC, with a 30-minute DST shift,
and across DST changes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.commands.timeparse import TimeError, parse_span

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
