"""Who is on call: the rotation, overrides on top, and when the answer next changes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from bot.domain import Person
from bot.providers.rotation import Rotation, Shift, on_call

T0 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)  # a Monday
ANA, BOB, CY = (Person(slack_id=x, name=x) for x in ("ana", "bob", "cy"))
WEEKLY = Rotation((ANA, BOB, CY), timedelta(weeks=1), T0)


def test_rotation_hands_over_in_order_and_wraps() -> None:
    for week, who in enumerate([ANA, BOB, CY, ANA]):
        shift, is_override = on_call(WEEKLY, [], T0 + timedelta(weeks=week, hours=1))
        assert shift is not None and shift.person == who and not is_override
        assert shift.end == T0 + timedelta(weeks=week + 1)


def test_nobody_before_the_rotation_starts() -> None:
    assert on_call(WEEKLY, [], T0 - timedelta(seconds=1)) == (None, False)


def test_override_wins_and_ends_the_answer_at_its_end() -> None:
    o = Shift(CY, T0 + timedelta(hours=2), T0 + timedelta(hours=4), T0)
    shift, is_override = on_call(WEEKLY, [o], T0 + timedelta(hours=3))
    assert shift is not None and (shift.person, shift.end, is_override) == (CY, o.end, True)
    before, _ = on_call(WEEKLY, [o], T0 + timedelta(hours=1))
    assert before is not None and before.person == ANA and before.end == o.start  # "until" is exact
    after, is_override = on_call(WEEKLY, [o], T0 + timedelta(hours=4))
    assert after is not None and after.person == ANA and not is_override


def test_later_override_wins_where_two_overlap() -> None:
    first = Shift(BOB, T0, T0 + timedelta(hours=8), T0)
    second = Shift(CY, T0 + timedelta(hours=2), T0 + timedelta(hours=3), T0 + timedelta(minutes=1))
    assert on_call(WEEKLY, [first, second], T0 + timedelta(hours=2, minutes=30))[0].person == CY  # type: ignore[union-attr]
    shift = on_call(WEEKLY, [first, second], T0 + timedelta(hours=1))[0]
    assert shift is not None and shift.person == BOB and shift.end == second.start
