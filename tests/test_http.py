"""The provider HTTP layer on its own: paging styles and what is retried, against
httpx.MockTransport (no server, so each request the client makes is seen as sent); and the
wire under it (bot/providers/aio.py) against real servers on 127.0.0.1."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from bot import redact
from bot.domain import NotFound, ProviderError, Rejected
from bot.providers.http import ApiClient, TokenAuth
from bot.providers.paging import Cursor, Numbered, Offset, collect, paginate

TOKEN = "tok-NEVER-SHOWN-123"


def client(answer: Callable[[httpx.Request], httpx.Response], seen: list[httpx.Request]) -> ApiClient:
    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return answer(request)

    return ApiClient(
        label="Prov",
        base_url="https://prov.example",
        auth=TokenAuth(TOKEN),
        error_text=lambda body: body.get("message") if isinstance(body, dict) else None,
        backoff=0.0,
        transport=httpx.MockTransport(handler),
    )


def query(request: httpx.Request) -> dict[str, str]:
    return dict(request.url.params)


async def test_cursor_pages_follow_after_until_the_answer_has_none() -> None:
    seen: list[httpx.Request] = []
    book = {None: (["a", "b"], "c1"), "c1": (["c"], "c2"), "c2": (["d"], None)}

    def answer(request: httpx.Request) -> httpx.Response:
        items, after = book[query(request).get("after")]
        return httpx.Response(200, json={"things": items, "pagination_meta": {"after": after}})

    api = client(answer, seen)
    assert await collect(api.get, "/v2/things", "things", Cursor(2), {"x": "1"}) == ["a", "b", "c", "d"]
    assert [query(r) for r in seen] == [
        {"x": "1", "page_size": "2"},
        {"x": "1", "page_size": "2", "after": "c1"},
        {"x": "1", "page_size": "2", "after": "c2"},
    ]
    await api.close()


async def test_offset_pages_move_by_what_came_back_while_more() -> None:
    seen: list[httpx.Request] = []
    everything = list(range(5))

    def answer(request: httpx.Request) -> httpx.Response:
        offset, limit = int(query(request)["offset"]), int(query(request)["limit"])
        chunk = everything[offset : offset + limit]
        return httpx.Response(200, json={"things": chunk, "more": offset + limit < len(everything)})

    api = client(answer, seen)
    assert await collect(api.get, "/things", "things", Offset(2)) == everything
    assert [query(r)["offset"] for r in seen] == ["0", "2", "4"]
    await api.close()


async def test_numbered_pages_are_bounded_and_a_loop_can_stop_early() -> None:
    seen: list[httpx.Request] = []

    def answer(request: httpx.Request) -> httpx.Response:  # a provider that always says "next"
        page = int(query(request)["page"])
        return httpx.Response(200, json={"data": [page], "pagination": {"next": page + 1}})

    api = client(answer, seen)
    assert await collect(api.get, "/v1/things", "data", Numbered(1), limit=3) == [1, 2, 3]
    assert len(seen) == 3
    seen.clear()
    async for item in paginate(api.get, "/v1/things", "data", Numbered(1)):
        if item == 2:
            break
    assert len(seen) == 2  # the third page was never asked for
    await api.close()


def failing(*statuses: int, **headers: str) -> Callable[[httpx.Request], httpx.Response]:
    """Answers each status in turn, then 200 with {"ok": true}."""
    left = list(statuses)

    def answer(request: httpx.Request) -> httpx.Response:
        if left:
            status = left.pop(0)
            return httpx.Response(status, json={"message": f"status {status} for {TOKEN}"}, headers=headers)
        return httpx.Response(200, json={"ok": True})

    return answer


async def test_a_read_is_retried_a_plain_write_is_not() -> None:
    seen: list[httpx.Request] = []
    api = client(failing(500), seen)
    assert await api.get("/thing") == {"ok": True}
    assert [r.method for r in seen] == ["GET", "GET"]

    seen.clear()
    api = client(failing(500), seen)
    with pytest.raises(ProviderError) as raised:
        await api.call("POST", "/thing", json_body={"a": 1})
    assert len(seen) == 1 and raised.value.changed == "unknown"
    assert "internal error (HTTP 500)" in str(raised.value)


async def test_each_attempt_is_counted_by_provider_and_status_in_metrics() -> None:
    """What /metrics shows an operator: every attempt under its provider and status, and the
    latency of each; labels in the order the metric declares them."""
    from bot import metrics

    def sample(name: str, **labels: str) -> float:
        return metrics.REGISTRY.get_sample_value(name, labels) or 0.0

    before = {
        s: sample("incident_bot_provider_calls_total", provider="Prov", status=s) for s in ("500", "200")
    }
    timed = sample("incident_bot_provider_seconds_count", provider="Prov")
    assert await client(failing(500), []).get("/thing") == {"ok": True}

    assert sample("incident_bot_provider_calls_total", provider="Prov", status="500") == before["500"] + 1
    assert sample("incident_bot_provider_calls_total", provider="Prov", status="200") == before["200"] + 1
    assert sample("incident_bot_provider_seconds_count", provider="Prov") == timed + 2


async def test_a_write_with_an_idempotency_key_is_retried() -> None:
    seen: list[httpx.Request] = []
    api = client(failing(502, 503), seen)
    assert await api.call("POST", "/thing", json_body={"k": "key-1"}, repeatable=True) == {"ok": True}
    assert len(seen) == 3 and all(json.loads(r.content) == {"k": "key-1"} for r in seen)


async def test_429_is_waited_out_even_for_a_write_and_a_long_one_is_reported() -> None:
    seen: list[httpx.Request] = []
    api = client(failing(429, **{"Retry-After": "0"}), seen)
    assert await api.call("PUT", "/thing", json_body={}) == {"ok": True}
    assert len(seen) == 2  # the provider did not act on the first

    seen.clear()
    api = client(failing(429, **{"Retry-After": "3600"}), seen)
    with pytest.raises(ProviderError) as raised:
        await api.call("PUT", "/thing", json_body={})
    assert len(seen) == 1 and raised.value.changed == "no"
    assert "try again in 3600 s" in str(raised.value)


async def test_nothing_reached_the_provider_so_even_a_write_is_tried_again() -> None:
    seen: list[httpx.Request] = []
    calls = iter([httpx.ConnectError("refused"), None])

    def answer(request: httpx.Request) -> httpx.Response:
        failure = next(calls)
        if failure is not None:
            raise failure
        return httpx.Response(201, json={"made": 1})

    api = client(answer, seen)
    assert await api.call("POST", "/thing", json_body={}) == {"made": 1}
    assert len(seen) == 2


@pytest.mark.parametrize(
    ("status", "kind", "words"),
    [
        (401, ProviderError, "refused our API key (HTTP 401)"),
        (403, ProviderError, "says our API key may not do that (HTTP 403)"),
        (404, NotFound, "has no such thing"),
        (422, Rejected, "refused it (HTTP 422)"),
    ],
)
async def test_a_refusal_is_mapped_once_and_never_echoes_the_token(
    status: int, kind: type, words: str
) -> None:
    redact.register(TOKEN)  # as `serve` registers every configured secret at start
    seen: list[httpx.Request] = []
    api = client(failing(status, **{"x-request-id": "req-9"}), seen)
    with pytest.raises(ProviderError) as raised:
        await api.get("/thing")
    error: Any = raised.value
    assert type(error) is kind and words in str(error) and len(seen) == 1
    assert TOKEN not in str(error) and error.request_id == "req-9"


async def test_a_garbled_answer_to_a_read_is_asked_again_to_a_write_it_is_reported_as_made() -> None:
    seen: list[httpx.Request] = []
    bodies = iter([b"<html>oops", b'{"ok": true}'])
    api = client(lambda request: httpx.Response(200, content=next(bodies)), seen)
    assert await api.get("/thing") == {"ok": True}
    assert len(seen) == 2

    seen.clear()
    api = client(lambda request: httpx.Response(200, content=b"<html>oops"), seen)
    with pytest.raises(ProviderError) as raised:
        await api.call("POST", "/thing", json_body={})
    assert len(seen) == 1 and raised.value.changed == "yes"
    assert "could not read; the change was made" in str(raised.value)


@pytest.mark.parametrize(
    ("auth", "sent"),
    [(TokenAuth("k-1"), "Bearer k-1"), (TokenAuth("token=k-2", scheme="Token"), "Token token=k-2")],
)
async def test_each_request_carries_the_providers_own_authorization(auth: TokenAuth, sent: str) -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json={})

    api = ApiClient(
        label="Prov",
        base_url="https://prov.example",
        auth=auth,
        error_text=lambda _: None,
        transport=httpx.MockTransport(handler),
    )
    await api.get("/a")
    await api.call("POST", "/b", json_body={})
    assert [r.headers["authorization"] for r in seen] == [sent, sent]
    assert all(r.headers["accept"] == "application/json" for r in seen)
    await api.close()


# The wire itself (bot/providers/aio.py): real connections on 127.0.0.1, no MockTransport.


async def _local(handler: Any) -> tuple[Any, str]:
    from aiohttp import web

    from tests.conftest import serve

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", handler)
    return await serve(app)


def _wired(url: str) -> ApiClient:
    return ApiClient(label="Prov", base_url=url, auth=TokenAuth(TOKEN), error_text=lambda _: None, backoff=0)


async def test_the_wire_carries_headers_and_body_and_decodes_a_compressed_answer() -> None:
    import gzip

    from aiohttp import web

    seen: list[tuple[str, str, str | None, bytes]] = []

    async def handler(request: web.Request) -> web.Response:
        who = request.headers.get("Authorization")
        seen.append((request.method, request.path_qs, who, await request.read()))
        body = gzip.compress(json.dumps({"incident": {"id": "01H", "name": "Ünïcode ✓"}}).encode())
        headers = {"Content-Encoding": "gzip", "Content-Type": "application/json"}
        return web.Response(body=body, headers=headers)

    runner, url = await _local(handler)
    api = _wired(url)
    try:
        answer = await api.get("/v2/incidents/01H", params={"a": "1"})
        assert answer == {"incident": {"id": "01H", "name": "Ünïcode ✓"}}
        await api.call("POST", "/v2/incidents/01H/actions/edit", json_body={"severity_id": "s2"})
        assert seen[0][:3] == ("GET", "/v2/incidents/01H?a=1", f"Bearer {TOKEN}")
        assert seen[1][0] == "POST" and json.loads(seen[1][3]) == {"severity_id": "s2"}
    finally:
        await api.close()
        await runner.cleanup()


async def test_the_wire_tells_a_refused_connection_from_a_dropped_one() -> None:
    """Refused: nothing was sent, so even a write is tried again, and "nothing changed".
    Dropped after the write went out: sent once, and "changed: unknown" (said as "may or may
    not have taken effect")
    (aiohttp would send a PUT again on its own; the transport turns that off)."""
    from aiohttp import web

    from bench.harness import free_port

    refused = _wired(f"http://127.0.0.1:{free_port()}")
    with pytest.raises(ProviderError) as caught:
        await refused.call("PUT", "/incidents/1", json_body={"status": "acknowledged"})
    assert caught.value.changed == "no" and "could not be reached" in caught.value.message
    await refused.close()

    puts: list[str] = []

    async def handler(request: web.Request) -> web.StreamResponse:
        if request.method == "PUT":
            puts.append(await request.text())
            assert request.transport is not None
            request.transport.close()  # the connection drops after the write arrived
            return web.Response()
        return web.json_response({"ok": True})

    runner, url = await _local(handler)
    api = _wired(url)
    try:
        assert await api.get("/warm") == {"ok": True}  # a kept-alive connection to reuse
        with pytest.raises(ProviderError) as caught:
            await api.call("PUT", "/incidents/1", json_body={"status": "acknowledged"})
        assert caught.value.changed == "unknown" and "dropped the connection" in caught.value.message
        assert len(puts) == 1, "a write is never sent twice"
    finally:
        await api.close()
        await runner.cleanup()
