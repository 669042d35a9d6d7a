"""The one HTTP layer every provider adapter uses: httpx's requests and responses, handed
straight to the retrying transport (bot/providers/transport.py) over one kept-alive
connection pool per provider (bot/providers/aio.py).

Not through `httpx.AsyncClient`: its URL merging, cookie jar, auth and redirect machinery
and stream wrappers cost a measured share of every request's CPU (docs/performance.md, "The
figures behind the code's choices"; `python -m bench.provider_calls`), for features the
bot does not use: one key header, no cookies, no redirects.

Providers fail in the worst hour like everything else does. What this layer guarantees:
- every call has a timeout;
- what is safe to repeat is retried, bounded, by the transport (bot/providers/transport.py);
  any other write is sent exactly once;
- every failure becomes a `ProviderError` whose message is fit to show a person, whose
  `changed` says whether a write may have happened, and which carries the provider's
  request id; nothing the client sent (the token least of all) goes into it or into a log.
"""

from __future__ import annotations

import functools
import json
import logging
from collections.abc import Callable, Mapping
from typing import Any

import httpx

from bot.domain import NotFound, ProviderError, Rejected
from bot.providers.aio import CONNECTIONS, AiohttpTransport
from bot.providers.transport import DECODED, READ_ATTEMPTS, RetryingTransport, retry_after
from bot.redact import clip, redact

log = logging.getLogger(__name__)

# How long one attempt may take. The command as a whole is bounded by the service's timeout.
DEFAULT_TIMEOUT = httpx.Timeout(8.0, connect=3.0)

ErrorText = Callable[[Any], str | None]
USER_AGENT = "incident-chatops-bot"  # who is calling, in the provider's own logs


class TokenAuth:
    """A provider's API key, sent as its docs say (`Bearer …`, PagerDuty's `Token token=…`)."""

    def __init__(self, token: str, scheme: str = "Bearer") -> None:
        self.header = f"{scheme} {token}"

    def __repr__(self) -> str:  # never the key, in a log or a traceback
        return "TokenAuth(…)"


class ApiClient:
    def __init__(
        self,
        *,
        label: str,
        base_url: str,
        auth: TokenAuth,
        error_text: ErrorText,
        headers: Mapping[str, str] | None = None,
        timeout: httpx.Timeout | float = DEFAULT_TIMEOUT,
        attempts: int = READ_ATTEMPTS,
        backoff: float = 0.25,
        transport: httpx.AsyncBaseTransport | None = None,
        connections: int = CONNECTIONS,
    ) -> None:
        self.label = label
        self._error_text = error_text
        self._base = base_url.rstrip("/")
        self._headers = httpx.Headers(
            {
                "Accept": "application/json",
                "Accept-Encoding": "gzip, deflate",  # decoded on read, by httpx.Response
                "User-Agent": USER_AGENT,
                **(headers or {}),
                "Authorization": auth.header,
            }
        )
        self._timeout = (timeout if isinstance(timeout, httpx.Timeout) else httpx.Timeout(timeout)).as_dict()
        inner = transport or AiohttpTransport(limit=connections)
        self._transport = RetryingTransport(label, inner, attempts=attempts, backoff=backoff)

    async def close(self) -> None:
        await self._transport.aclose()

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
        again = (not write) if repeatable is None else repeatable
        sent = self._headers
        if headers:
            sent = sent.copy()
            sent.update(headers)
        request = httpx.Request(
            method,
            _url(path if "://" in path else self._base + path),
            params=params,
            json=json_body,
            headers=sent,
            extensions={"repeatable": again, "timeout": self._timeout},
        )
        try:
            response = await self._transport.handle_async_request(request)
            await response.aread()
        except httpx.ConnectError:
            raise ProviderError(f"{self.label} could not be reached.", changed="no") from None
        except (httpx.TimeoutException, httpx.TransportError) as exc:
            timed_out = isinstance(exc, httpx.TimeoutException)
            log.warning("%s %s %s: %s", self.label, method, path, type(exc).__name__)
            what = "did not answer in time" if timed_out else "dropped the connection"
            raise ProviderError(f"{self.label} {what}.", changed="unknown" if write else "no") from None
        return self._answer(response, method, path, write)

    def _answer(self, response: httpx.Response, method: str, path: str, write: bool) -> Any:
        """What the provider said, in our terms: its JSON, or the error fit to show."""
        status = response.status_code
        if status < 400:
            if not response.content:
                return None
            if DECODED in response.extensions:  # decoded once, by the transport
                return response.extensions[DECODED]
            try:
                return response.json()
            except (json.JSONDecodeError, UnicodeDecodeError):
                request_id = _request_id(response)
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
        request_id = _request_id(response)
        if status == 429:
            wait = retry_after(response)
            raise ProviderError(
                f"{self.label} is rate limiting us; try again in {max(1, round(wait))} s.",
                changed="no",
                request_id=request_id,
            )
        if status >= 500:
            log.warning("%s %s %s: HTTP %s (request %s)", self.label, method, path, status, request_id)
            raise ProviderError(
                f"{self.label} had an internal error (HTTP {status}).",
                changed="unknown" if write else "no",
                request_id=request_id,
            )
        refusal = self._refusal(response, request_id)
        refusal.status = status
        raise refusal

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


@functools.lru_cache(maxsize=1024)
def _url(url: str) -> httpx.URL:
    """Parsed once per URL (httpx.URL is immutable): parsing is most of what building a
    request costs, and an incident's URLs come back with every command on it."""
    return httpx.URL(url)


def _request_id(response: httpx.Response) -> str | None:
    for header in ("x-request-id", "x-incident-request-id", "request-id"):
        if header in response.headers:
            return response.headers[header]
    try:
        body = response.json()
    except (json.JSONDecodeError, UnicodeDecodeError):
        return None
    return body.get("request_id") if isinstance(body, dict) else None
