"""What is retried, in httpx's own terms: a transport that wraps the real one.

Retried, bounded, with backoff: anything that never reached the provider (a refused
connection); a request marked repeatable (a read, or a write carrying an idempotency key:
`extensions={"repeatable": True}`) that timed out, got a 5xx, or got a 2xx the client could
not read as JSON; and a 429, whatever it was, once its Retry-After is short, since the
provider did not act on it. Everything else is returned as it came, for the client to
turn into words (bot/providers/http.py). Every attempt is counted in /metrics.
"""

from __future__ import annotations

import asyncio
import json
import logging
import random
import time
from typing import Any

import httpx

from bot import metrics
from bot.providers.aio import AiohttpTransport

log = logging.getLogger(__name__)

READ_ATTEMPTS = 3
# A rate limit that asks us to wait longer than this is reported instead of waited out:
# the person at the keyboard should hear about it, not stare at nothing.
MAX_RATE_LIMIT_WAIT = 10.0
DECODED = "decoded_json"  # response extension: the body, decoded once here for the client


def repeatable(request: httpx.Request) -> bool:
    marked = request.extensions.get("repeatable")
    return request.method == "GET" if marked is None else bool(marked)


class RetryingTransport(httpx.AsyncBaseTransport):
    def __init__(
        self,
        label: str,
        inner: httpx.AsyncBaseTransport | None = None,
        *,
        attempts: int = READ_ATTEMPTS,
        backoff: float = 0.25,
    ) -> None:
        self.label = label
        self.inner = inner or AiohttpTransport()
        self.attempts = attempts
        self.backoff = backoff

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        again = repeatable(request)
        attempts = self.attempts if again else 1
        attempt = 0
        while True:
            attempt += 1
            started = time.perf_counter()
            try:
                response = await self.inner.handle_async_request(request)
            except httpx.ConnectError:
                self._count("unreachable")
                if attempt < self.attempts:  # nothing reached the provider: even a write
                    await self._pause(attempt)
                    continue
                raise
            except (httpx.TimeoutException, httpx.TransportError):
                self._count("timeout")
                if attempt < attempts:
                    await self._pause(attempt)
                    continue
                raise
            status = response.status_code
            self._count(str(status))
            metrics.child(metrics.PROVIDER_SECONDS, self.label).observe(time.perf_counter() - started)
            if status == 429:
                wait = retry_after(response)
                if attempt < max(attempts, 2) and wait <= MAX_RATE_LIMIT_WAIT:
                    log.info("%s rate limit: waiting %.1f s", self.label, wait)
                    await response.aclose()
                    await asyncio.sleep(wait)
                    continue
                return response
            if status >= 500 and attempt < attempts:
                await response.aclose()
                await self._pause(attempt)
                continue
            if 200 <= status < 300 and again:
                await response.aread()
                if response.content and not _decoded(response) and attempt < attempts:
                    await self._pause(attempt)
                    continue
            return response

    def _count(self, status: str) -> None:
        metrics.child(metrics.PROVIDER_CALLS, self.label, status).inc()

    async def _pause(self, attempt: int) -> None:
        await asyncio.sleep(self.backoff * (2 ** (attempt - 1)) * (0.5 + random.random()))

    async def aclose(self) -> None:
        await self.inner.aclose()


def _decoded(response: httpx.Response) -> bool:
    """Decode a repeatable answer once, here, and hand the value on (extensions)."""
    try:
        value: Any = json.loads(response.content)
    except (json.JSONDecodeError, UnicodeDecodeError):
        return False
    response.extensions[DECODED] = value
    return True


def retry_after(response: httpx.Response) -> float:
    for header in ("retry-after", "ratelimit-reset"):
        value = response.headers.get(header)
        if value:
            try:
                return max(0.0, float(value))
            except ValueError:
                continue
    return 1.0
