"""What a store's in-memory copies go by: each key's changes seen, in this process and (told
by bot/store/peers.py) in the others, so that a read or a write keeps its value only where
its key did not change while it ran. A notice from another process can come for a commit
later than this process's own write, before that write is back: kept then, the older value
would be served from then on."""

from __future__ import annotations

from collections.abc import Awaitable, Hashable
from typing import Generic, TypeVar

K = TypeVar("K", bound=Hashable)
W = TypeVar("W")


class Changes(Generic[K]):
    def __init__(self) -> None:
        self._counts: dict[K, int] = {}
        self._epoch = 0  # every reset: all keys at once (the notices may have been missed)

    def seen(self, key: K) -> tuple[int, int]:
        """Where `key` stands now: a read compares it before and after."""
        return self._epoch, self._counts.get(key, 0)

    def changed(self, key: K) -> None:
        self._counts[key] = self._counts.get(key, 0) + 1

    def reset(self) -> None:
        self._epoch += 1
        self._counts.clear()

    async def written(self, key: K, write: Awaitable[W]) -> tuple[W, bool]:
        """The write's outcome, and whether its value may be kept: not where the key changed
        meanwhile. Counted as a change before and after, so that a read of the key under
        way during the write is not kept either."""
        self.changed(key)
        began = self.seen(key)
        try:
            done = await write
        finally:
            alone = self.seen(key) == began
            self.changed(key)
        return done, alone
