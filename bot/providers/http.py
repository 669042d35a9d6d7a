"""The one HTTP layer every provider adapter uses, over one reused httpx.AsyncClient each.

Providers fail in the worst hour like everything else does. What this layer guarantees:
- every call has a timeout;
- a read, or a write the caller marks safe to repeat (it carries an idempotency key), is
  retried a bounded number of times with backoff; any other write is sent exactly once;
- a 429 waits for `Retry-After` / `ratelimit-reset` (bounded) and is retried, since the
  provider did not act on it;
- every failure becomes a `ProviderError` whose message is fit to show a person, whose
  `changed` says whether a write may have happened, and which carries the provider's
  request id; nothing the client sent (the token least of all) goes into it or into a log.
"""

from __future__ import annotations

import asyncio
import json
import logging
import random
import time
from collections.abc import Callable, Mapping
from typing import Any

import httpx

from bot import metrics
from bot.domain import NotFound, ProviderError, Rejected
from bot.redact import clip, redact

log = logging.getLogger(__name__)

# How long one attempt may take. The command as a whole is bounded by the service's timeout.
DEFAULT_TIMEOUT = httpx.Timeout(8.0, connect=3.0)
READ_ATTEMPTS = 3
# A rate limit that asks us to wait longer than this is reported instead of waited out:
# the person at the keyboard should hear about it, not stare at nothing.
MAX_RATE_LIMIT_WAIT = 10.0

ErrorText = Callable[[Any], str | None]


class ApiClient:
    def __init__(
        self,
        *,
        label: str,
        base_url: str,
        headers: Mapping[str, str],
        error_text: ErrorText,
        timeout: httpx.Timeout | float = DEFAULT_TIMEOUT,
        attempts: int = READ_ATTEMPTS,
        backoff: float = 0.25,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.label = label
        self.attempts = attempts
        self.backoff = backoff
        self._error_text = error_text
        self._client = httpx.AsyncClient(
            base_url=base_url.rstrip("/"),
            headers=dict(headers),
            timeout=timeout,
            transport=transport,
            follow_redirects=False,
        )

    async def close(self) -> None:
        await self._client.aclose()

    async def get(self, path: str, params: Any = None) -> Any:
        return await self.call("GET", path, params=params)

    async def call(
        self,
        method: str,
        path: str,
        *,
        params: Any = None,
        json_body: Any = None,
        headers: Mapping[str, str] | None = None,
        repeatable: bool | None = None,
    ) -> Any:
        """The decoded JSON answer (None for an empty body), or a ProviderError.

        `repeatable` defaults to True for GET only; pass True for a write that carries an
        idempotency key, so the provider dedupes a retry for us.
        """
        write = method != "GET"
        repeatable = (not write) if repeatable is None else repeatable
        attempts = self.attempts if repeatable else 1
        attempt = 0
        while True:
            attempt += 1
            started = time.perf_counter()
            try:
                response = await self._client.request(
                    method, path, params=params, json=json_body, headers=headers
                )
            except httpx.ConnectError:
                metrics.PROVIDER_CALLS.labels(provider=self.label, status="unreachable").inc()
                # Nothing reached the provider, so even a plain write may be tried again.
                if attempt < self.attempts:
                    await self._pause(attempt)
                    continue
                raise ProviderError(f"{self.label} could not be reached.", changed="no") from None
            except (httpx.TimeoutException, httpx.TransportError) as exc:
                metrics.PROVIDER_CALLS.labels(provider=self.label, status="timeout").inc()
                if attempt < attempts:
                    await self._pause(attempt)
                    continue
                what = (
                    "did not answer in time"
                    if isinstance(exc, httpx.TimeoutException)
                    else ("dropped the connection")
                )
                log.warning("%s %s %s: %s", self.label, method, path, type(exc).__name__)
                raise ProviderError(f"{self.label} {what}.", changed="unknown" if write else "no") from None

            request_id = _request_id(response)
            status = response.status_code
            metrics.PROVIDER_CALLS.labels(provider=self.label, status=str(status)).inc()
            metrics.PROVIDER_SECONDS.labels(provider=self.label).observe(time.perf_counter() - started)
            if status == 429:
                wait = _retry_after(response)
                if attempt < max(attempts, 2) and wait <= MAX_RATE_LIMIT_WAIT:
                    log.info("%s rate limit: waiting %.1f s (request %s)", self.label, wait, request_id)
                    await asyncio.sleep(wait)
                    continue
                raise ProviderError(
                    f"{self.label} is rate limiting us; try again in {max(1, round(wait))} s.",
                    changed="no",
                    request_id=request_id,
                )
            if status >= 500:
                if attempt < attempts:
                    await self._pause(attempt)
                    continue
                log.warning("%s %s %s: HTTP %s (request %s)", self.label, method, path, status, request_id)
                raise ProviderError(
                    f"{self.label} had an internal error (HTTP {status}).",
                    changed="unknown" if write else "no",
                    request_id=request_id,
                )
            if status >= 400:
                refusal = self._refusal(response, request_id)
                refusal.status = status
                raise refusal
            if not response.content:
                return None
            try:
                return response.json()
            except (json.JSONDecodeError, UnicodeDecodeError):
                if attempt < attempts:
                    await self._pause(attempt)
                    continue
                log.warning(
                    "%s %s %s: the answer is not JSON (request %s)", self.label, method, path, request_id
                )
                raise ProviderError(
                    f"{self.label} sent an answer I could not read"
                    + ("; the change was made." if write else "."),
                    # It said 2xx, so a write went through; we just cannot show its result.
                    changed="yes" if write else "no",
                    request_id=request_id,
                ) from None

    def _refusal(self, response: httpx.Response, request_id: str | None) -> ProviderError:
        """Summarised, never echoed: the provider's own message field (as its spec names
        it), clipped to one line and with our secrets masked; never a raw body or header."""
        try:
            detail = self._error_text(response.json())
        except (json.JSONDecodeError, UnicodeDecodeError):
            detail = None
        detail = redact(clip(detail)) if detail else None
        status = response.status_code
        if status in (401, 403):
            what = "refused our API key" if status == 401 else "says our API key may not do that"
            return ProviderError(
                f"{self.label} {what} (HTTP {status})" + (f": {detail}" if detail else "."),
                changed="no",
                request_id=request_id,
            )
        if status == 404:
            return NotFound(
                f"{self.label} has no such thing" + (f": {detail}" if detail else "."),
                request_id=request_id,
            )
        return Rejected(
            f"{self.label} refused it (HTTP {status})" + (f": {detail}" if detail else "."),
            request_id=request_id,
        )

    async def _pause(self, attempt: int) -> None:
        await asyncio.sleep(self.backoff * (2 ** (attempt - 1)) * (0.5 + random.random()))


def _request_id(response: httpx.Response) -> str | None:
    for header in ("x-request-id", "x-incident-request-id", "request-id"):
        if header in response.headers:
            return response.headers[header]
    try:
        body = response.json()
    except (json.JSONDecodeError, UnicodeDecodeError):
        return None
    return body.get("request_id") if isinstance(body, dict) else None


def _retry_after(response: httpx.Response) -> float:
    for header in ("retry-after", "ratelimit-reset"):
        value = response.headers.get(header)
        if value:
            try:
                return max(0.0, float(value))
            except ValueError:
                continue
    return 1.0
