"""Work slots, and giving one back while waiting for an incident's turn.

A command waiting behind another change to the same incident does no work, so it must not
hold a slot: with every slot held by commands queued on one hot incident, a change to a
quiet incident waited for the hot one's whole queue (issue 29). Each request holds its
`Slot` while it runs and lends it back (`given_back`) for as long as it waits its turn.

A command coming back from its turn is served before commands that have not started: it
holds the incident's turn, and every later change to that incident waits on it. Queued
behind new arrivals instead, a hot incident's chain waited once for a free slot at every
link of it (docs/performance.md, "The mixed org-wide spread").
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from types import TracebackType


class Slots:
    """A counted pool with two lines: those coming back to their turn go first."""

    def __init__(self, count: int) -> None:
        self._free = count
        self._back: deque[asyncio.Future[None]] = deque()  # holding a turn, back to work
        self._new: deque[asyncio.Future[None]] = deque()  # not started yet

    def take(self) -> Slot:
        return Slot(self)

    @property
    def free(self) -> int:
        return self._free

    def waiting(self) -> tuple[int, int]:
        """(coming back, new) still waiting: a granted waiter leaves its line as it is
        granted, a cancelled one as it is cancelled."""
        return len(self._back), len(self._new)

    async def acquire(self, back: bool) -> None:
        ahead = bool(self._back) or (not back and bool(self._new))
        if self._free > 0 and not ahead:
            self._free -= 1
            return
        line = self._back if back else self._new
        granted: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        line.append(granted)
        try:
            await granted
        except asyncio.CancelledError:
            if granted.done() and not granted.cancelled():
                self.release()  # handed over just as it was cancelled: to the next in line
            else:
                try:
                    line.remove(granted)
                except ValueError:
                    pass
            raise

    def release(self) -> None:
        """The slot goes straight to the first waiter, if any (it is never free between)."""
        for line in (self._back, self._new):
            while line:
                waiter = line.popleft()
                if not waiter.done():
                    waiter.set_result(None)
                    return
        self._free += 1


class Slot:
    """One request's slot. Never released twice: a wait cancelled while taking the slot
    back leaves it not held, and leaving then releases nothing."""

    def __init__(self, slots: Slots) -> None:
        self._slots = slots
        self._held = False

    async def __aenter__(self) -> Slot:
        await self._slots.acquire(back=False)
        self._held = True
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._held:
            self._held = False
            self._slots.release()

    @asynccontextmanager
    async def given_back(self) -> AsyncIterator[None]:
        if not self._held:
            yield
            return
        self._held = False
        self._slots.release()
        try:
            yield
        finally:
            await self._slots.acquire(back=True)
            self._held = True
