"""A small async TTL cache for provider catalogues (statuses, severities, roles, schedules)
and for people (Slack user ↔ provider user), so a warm command costs one provider call.

Concurrent misses on one key share a single load: twenty people clicking in the first
minute of an outage should not cost twenty catalogue reads.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any

CATALOGUE_TTL = 300.0
PEOPLE_TTL = 3600.0


class TTLCache:
    def __init__(self, ttl: float = CATALOGUE_TTL, max_items: int = 10_000) -> None:
        self.ttl = ttl
        self.max_items = max_items
        self._values: dict[object, tuple[float, Any]] = {}
        self._loading: dict[object, asyncio.Future[Any]] = {}

    async def get(self, key: object, load: Callable[[], Awaitable[Any]]) -> Any:
        hit = self._values.get(key)
        if hit is not None and time.monotonic() - hit[0] < self.ttl:
            return hit[1]
        pending = self._loading.get(key)
        if pending is not None:
            return await asyncio.shield(pending)
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._loading[key] = future
        try:
            value = await load()
        except asyncio.CancelledError:
            future.cancel()
            raise
        except Exception as exc:
            future.set_exception(exc)
            future.exception()  # mark retrieved: a failure nobody else awaited is not an error
            raise
        finally:
            self._loading.pop(key, None)
        future.set_result(value)
        if len(self._values) >= self.max_items:
            self._values.pop(next(iter(self._values)))
        self._values[key] = (time.monotonic(), value)
        return value

    def put(self, key: object, value: Any) -> None:
        self._values[key] = (time.monotonic(), value)

    def forget(self, key: object) -> None:
        self._values.pop(key, None)
