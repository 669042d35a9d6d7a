"""Work slots, and giving one back while waiting for an incident's turn.

A command waiting behind another change to the same incident does no work, so it must not
hold a slot: with every slot held by commands queued on one hot incident, a change to a
quiet incident waited for the hot one's whole queue (issue 29). Each request holds its
`Slot` while it runs and lends it back (`given_back`) for as long as it waits its turn.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from types import TracebackType


class Slots:
    def __init__(self, count: int) -> None:
        self._free = asyncio.Semaphore(count)

    def take(self) -> Slot:
        return Slot(self._free)


class Slot:
    """One request's slot. Never released twice: a wait cancelled while taking the slot
    back leaves it not held, and leaving then releases nothing."""

    def __init__(self, free: asyncio.Semaphore) -> None:
        self._free = free
        self._held = False

    async def __aenter__(self) -> Slot:
        await self._free.acquire()
        self._held = True
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._held:
            self._held = False
            self._free.release()

    @asynccontextmanager
    async def given_back(self) -> AsyncIterator[None]:
        if not self._held:
            yield
            return
        self._held = False
        self._free.release()
        try:
            yield
        finally:
            await self._free.acquire()
            self._held = True
