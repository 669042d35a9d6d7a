"""Who is on call at time t: a rotation, with overrides on top. Pure, so it is easy to test."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from bot.domain import Person


@dataclass(frozen=True)
class Shift:
    person: Person
    start: datetime
    end: datetime
    created: datetime  # of two overlapping overrides, the later one wins


@dataclass(frozen=True)
class Rotation:
    users: tuple[Person, ...]
    handover: timedelta
    start: datetime

    def shift_at(self, at: datetime) -> Shift | None:
        if not self.users or at < self.start:
            return None
        index = int((at - self.start) / self.handover)
        begin = self.start + index * self.handover
        return Shift(self.users[index % len(self.users)], begin, begin + self.handover, self.start)


def on_call(rotation: Rotation, overrides: list[Shift], at: datetime) -> tuple[Shift | None, bool]:
    """The shift in force at `at`, cut short where an override begins; and whether it is one.

    The returned shift's `end` is the next moment the answer changes, which is what
    "until" in the reply must say.
    """
    active = [o for o in overrides if o.start <= at < o.end]
    if active:
        winner = max(active, key=lambda o: o.created)
        later = [o.start for o in overrides if o.created > winner.created and at < o.start < winner.end]
        return Shift(winner.person, winner.start, min([winner.end, *later]), winner.created), True
    shift = rotation.shift_at(at)
    if shift is None:
        return None, False
    end = min([shift.end, *(o.start for o in overrides if o.start > at)])
    return Shift(shift.person, shift.start, end, shift.created), False
