"""The bot's one clock.

Every moment the bot stamps, compares or shows ("running for 2h", an override "for 2h", a
follow-up due "tomorrow", a reminder's due time, an inbox lease) is read from the `Clock`
the runtime builds (bot/runtime.py) and hands to the store, the providers and the command
service, which hand it on. One clock, so that a test which sets it sees every layer agree
on "now", and a path that read the wall clock behind its back would show as a wrong time.

It imports nothing of the bot's, so anything may take one. Durations measured for metrics
(`time.perf_counter`) and in-memory cache ages (`time.monotonic`) are not moments and stay
where they are measured.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Protocol


class Clock(Protocol):
    def now(self) -> datetime:
        """This moment, aware, in UTC."""
        ...


class SystemClock:
    """The machine's wall clock: what a running bot uses, and the default of every piece
    built without one (a piece built alone in a test or a script still tells the time)."""

    def now(self) -> datetime:
        return datetime.now(UTC)


SYSTEM = SystemClock()


class FixedClock:
    """A clock that moves only when told: a test sets the moment and advances it past a
    reminder's span instead of waiting, and the result does not depend on when it runs."""

    def __init__(self, at: datetime) -> None:
        self.at = _aware(at)

    def now(self) -> datetime:
        return self.at

    def set(self, at: datetime) -> None:
        self.at = _aware(at)

    def advance(self, delta: timedelta | None = None, **parts: float) -> datetime:
        """Forward by `delta` and/or timedelta's own keywords (`minutes=31`); the new moment."""
        self.at += (delta or timedelta()) + timedelta(**parts)
        return self.at


def _aware(at: datetime) -> datetime:
    # A naive moment would be read as the machine's local time by whatever compares it:
    # refused here, where the mistake is made, rather than found as an hour off later.
    if at.tzinfo is None:
        raise ValueError("a clock's moment must be aware (give it a tzinfo, e.g. UTC)")
    return at.astimezone(UTC)
