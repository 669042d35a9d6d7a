"""httpx's API over aiohttp's connections: what carries every provider request.

Why: httpx's own transport (httpcore on anyio, h11) cost several times the CPU per request
of aiohttp, which the bot already runs for Slack (docs/performance.md, "The figures behind
the code's choices"; `python -m bench.provider_calls`). The adapters keep httpx's API (requests, responses,
auth, `MockTransport` in the tests); only the wire changes.

Why not the `httpx-aiohttp` package: it maps a refused connection, and a connection
dropped after the request went out, both to `ConnectTimeout`. The difference between the
two is what "a provider write happens at most once" rests on (bot/providers/transport.py
sends a write again only when nothing reached the provider), so the mapping here is ours:

- could not connect (refused, DNS, TLS) → `httpx.ConnectError`: nothing was sent;
- no connection in time → `httpx.ConnectTimeout`; no answer in time → `httpx.ReadTimeout`;
- the connection dropped, or an answer that is not HTTP → `httpx.RemoteProtocolError`:
  the request may have been acted on.
"""

from __future__ import annotations

import functools

import aiohttp
import httpx

# Connections to one provider at once, at the most. The runtime passes its work slots
# (INCIDENT_WORK_SLOTS), so that a command at work never also waits for a connection: a cap
# below the slots queued a burst's provider calls behind each other's (docs/performance.md,
# "The mixed org-wide spread").
CONNECTIONS = 256


class AiohttpTransport(httpx.AsyncBaseTransport):
    """One aiohttp session (its connection pool) per provider client, opened on first use,
    inside the running loop. Answers are read whole: provider answers are small JSON."""

    def __init__(self, limit: int = CONNECTIONS) -> None:
        self._limit = limit
        self._session: aiohttp.ClientSession | None = None

    def _open(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(limit=self._limit),
                cookie_jar=aiohttp.DummyCookieJar(),  # an API key, never a cookie
                auto_decompress=False,  # httpx decodes, by the Content-Encoding it is given
            )
            # aiohttp sends a PUT or DELETE again, once, when a kept-alive connection drops
            # after it went out: a provider write twice. Retrying is bot/providers/
            # transport.py's to decide. aiohttp's own test client turns it off the same way
            # (no public switch); tests/test_provider_faults.py's "reset" cases catch a change.
            session._retry_connection = False
            self._session = session
        return self._session

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        body = await request.aread()
        try:
            async with self._open().request(
                request.method,
                str(request.url),
                headers=request.headers.multi_items(),
                data=body or None,
                allow_redirects=False,
                timeout=_timeout(**request.extensions.get("timeout", {})),
            ) as answer:
                content = await answer.read()
                return httpx.Response(
                    answer.status,
                    headers=answer.raw_headers,  # bytes pairs, as httpx keeps them
                    stream=httpx.ByteStream(content),
                    request=request,
                    extensions={"http_version": b"HTTP/1.1", "reason_phrase": (answer.reason or "").encode()},
                )
        except aiohttp.ClientConnectorError as exc:  # before anything was sent
            raise httpx.ConnectError(str(exc), request=request) from exc
        except aiohttp.ConnectionTimeoutError as exc:
            raise httpx.ConnectTimeout(str(exc), request=request) from exc
        except (TimeoutError, aiohttp.SocketTimeoutError) as exc:
            raise httpx.ReadTimeout(str(exc) or "no answer in time", request=request) from exc
        except aiohttp.ClientError as exc:  # dropped, reset, or not HTTP: perhaps acted on
            raise httpx.RemoteProtocolError(str(exc) or type(exc).__name__, request=request) from exc

    async def aclose(self) -> None:
        if self._session is not None:
            await self._session.close()


@functools.cache
def _timeout(
    pool: float | None = None,
    connect: float | None = None,
    read: float | None = None,
    write: float | None = None,
) -> aiohttp.ClientTimeout:
    """httpx's timeouts in aiohttp's terms, built once per client setting. aiohttp has no
    write timeout: a provider request's body is small JSON, sent in one write."""
    return aiohttp.ClientTimeout(
        total=None,
        connect=pool,  # a free connection, made if need be
        sock_connect=connect,
        sock_read=read,
    )
