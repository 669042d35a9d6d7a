"""Back-pressure on the ack, only where it is due: when the process is short of CPU.

With every work slot taken and the event loop behind (a turn of it took longer than
LOOP_BEHIND: the process is short of CPU, not waiting on a provider), an ack waits in line
for a turn in which the loop keeps up, or for a free slot, at most ROOM_WAIT (Slack gives
3 s). Without it a flood was acked faster than it could be worked and half of it answered
"busy" (bench/, incident.io at c=64); a slow provider leaves the loop idle, so its acks
never wait.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Callable

ROOM_WAIT = 1.0
LOOP_BEHIND = 0.005


class AckLine:
    """The acks waiting for room, released in order by one pacing task."""

    def __init__(self, room: int, pending: Callable[[], int]) -> None:
        self.room = room
        self.pending = pending
        self._waiting: deque[tuple[float, asyncio.Future[None]]] = deque()  # (until, turn)
        self._pacer: asyncio.Task[None] | None = None

    async def wait_if_full(self) -> None:
        """At once while there is a free slot and nobody in line; else in line."""
        if self.pending() < self.room and not self._waiting:
            return
        loop = asyncio.get_running_loop()
        turn: asyncio.Future[None] = loop.create_future()
        self._waiting.append((loop.time() + ROOM_WAIT, turn))
        if self._pacer is None or self._pacer.done():
            self._pacer = loop.create_task(self._pace())
        await turn

    async def _pace(self) -> None:
        """One turn of the loop at a time (each lets the work go on): after a quick turn every
        waiting ack goes; after a slow one, as many as there are free slots, oldest first,
        and any that has waited ROOM_WAIT."""
        loop = asyncio.get_running_loop()
        while self._waiting:
            started = loop.time()
            await asyncio.sleep(0)
            now = loop.time()
            free = len(self._waiting) if now - started < LOOP_BEHIND else self.room - self.pending()
            while self._waiting and (free > 0 or self._waiting[0][0] <= now):
                _, turn = self._waiting.popleft()
                if not turn.done():  # a request that went away meanwhile
                    turn.set_result(None)
                    free -= 1
