"""What every fake provider shares: an aiohttp app on 127.0.0.1 that records each request,
checks it against the provider's official OpenAPI document (method, path, query, headers,
body) and checks its own answer too; plus faults to inject.

A request the spec rejects is answered 400 and recorded in `violations`; the fixture that
owns the fake fails the test if there are any, so a wrong request cannot pass unnoticed.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web
from openapi_core.testing import MockRequest, MockResponse
from openapi_schema_validator import OAS30Validator

from tests.fakes.specs import SERVERS, document, openapi

Handler = Callable[["Seen"], Awaitable[tuple[int, Any]]]


@dataclass
class Seen:
    method: str
    path: str
    query: list[tuple[str, str]]
    headers: dict[str, str]
    body: Any
    params: dict[str, str] = field(default_factory=dict)
    template: str = ""  # the path as the spec writes it: /v2/incidents/{id}

    def arg(self, name: str) -> str | None:
        return next((v for k, v in self.query if k == name), None)


@dataclass
class Fault:
    """One injected failure for the next request matching `method` and `path` (a regex)."""

    method: str
    path: str
    kind: str  # "429", "500", "timeout", "reset", "badjson"
    times: int = 1
    retry_after: str = "1"


class FakeProvider:
    provider: str = ""
    prefix: str = ""  # path prefix of the API under the base URL (PagerDuty: none)

    def __init__(self) -> None:
        self.url = ""
        self.requests: list[Seen] = []
        self.violations: list[str] = []
        self.faults: list[Fault] = []
        self.refuse_token = False  # answer 401, as for a revoked key
        self.hang_seconds = 8.0  # longer than the tests' provider timeout (3 s)
        # Set when the test is over: a request still hanging then ends at once, so the server's
        # shutdown (which waits for its handlers) does not wait out the rest of the hang.
        self.released = asyncio.Event()
        # The bench's knobs: seconds before each answer, and whether to check against the
        # spec (the tests always do; the bench measures the bot, not openapi-core).
        self.latency = 0.0
        self.validate = True
        # Seconds each write takes, and the most writes seen in progress at once: two
        # processes changing one incident must not overlap at the provider.
        self.write_latency = 0.0
        self.most_writing = 0
        # Closed (cleared), writes wait at it until a test opens it: what is in progress at
        # once is then seen as it is, not inferred from timings.
        self.gate: asyncio.Event | None = None
        self.gated: list[Seen] = []  # the writes waiting at the gate now
        # Where it gives an event for a request, that request is done at once but its answer
        # waits for the event: answers then arrive in another order than the changes were
        # made, as they do over a network, without a timing to depend on.
        self.hold_answer: Callable[[Seen], asyncio.Event | None] | None = None
        self.held: list[Seen] = []  # requests done, their answers held now
        self._writing = 0
        self._routes: list[tuple[str, re.Pattern[str], str, Handler]] = []
        self.routes()

    # to fill in by each provider ------------------------------------------------------------
    def routes(self) -> None:
        raise NotImplementedError

    def route(self, method: str, template: str, handler: Handler) -> None:
        """`template` is the path exactly as the spec writes it."""
        pattern = re.sub(r"\{(\w+)\}", r"(?P<\1>[^/]+)", template)
        self._routes.append((method, re.compile(f"^{pattern}$"), template, handler))

    def _deep_objects(
        self, method: str, template: str, query: list[tuple[str, str]]
    ) -> tuple[list[tuple[str, str]], str | None]:
        """openapi-core cannot read a deepObject parameter whose values are arrays
        (incident.io's `status_category[one_of]=live`): check those here, against the same
        parameter schema, and hand openapi-core the rest."""
        operation = document(self.provider)["paths"][template][method.lower()]
        declared = {p["name"]: p for p in _parameters(self.provider, operation) if p.get("in") == "query"}
        # PagerDuty names its array parameters `include[]`: those are plain form parameters.
        deep = [(k, v) for k, v in query if "[" in k and k not in declared]
        if not deep:
            return query, None
        grouped: dict[str, dict[str, list[str]]] = {}
        for key, value in deep:
            name, _, rest = key.partition("[")
            param = declared.get(name)
            if param is None or param.get("style") != "deepObject":
                return query, f"query parameter {key} is not a deepObject parameter of this operation"
            grouped.setdefault(name, {}).setdefault(rest.rstrip("]"), []).append(value)
        for name, value in grouped.items():
            errors = [e.message for e in OAS30Validator(declared[name]["schema"]).iter_errors(value)]
            if errors:
                return query, f"query parameter {name}: {'; '.join(errors)}"
        return [(k, v) for k, v in query if "[" not in k or k in declared], None

    # recorded traffic -----------------------------------------------------------------------
    def of(self, method: str, path: str) -> list[Seen]:
        """Requests by method and path regex (whole path)."""
        return [r for r in self.requests if r.method == method and re.fullmatch(path, r.path)]

    def writes(self) -> list[Seen]:
        return [r for r in self.requests if r.method != "GET"]

    def fail(self, method: str, path: str, kind: str, *, times: int = 1, retry_after: str = "1") -> None:
        self.faults.append(Fault(method, path, kind, times, retry_after))

    # serving --------------------------------------------------------------------------------
    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self._serve)
        return app

    async def _serve(self, request: web.Request) -> web.StreamResponse:
        raw = await request.read()
        try:
            body = json.loads(raw) if raw else None
        except json.JSONDecodeError:
            body = raw.decode(errors="replace")
        seen = Seen(request.method, request.path, list(request.query.items()), dict(request.headers), body)
        self.requests.append(seen)
        routes = [(t, h, p.match(request.path)) for verb, p, t, h in self._routes if verb == request.method]
        found = next(((t, h, m) for t, h, m in routes if m), None)
        if found is None:
            self.violations.append(f"{request.method} {request.path}: the fake does not serve this")
            return web.json_response({"error": "not served by the fake"}, status=404)
        template, handler, match = found
        seen.params, seen.template = match.groupdict(), template
        query, problem = self._deep_objects(request.method, template, list(request.query.items()))
        mock = MockRequest(
            SERVERS[self.provider],
            request.method,
            request.path,
            args=query,
            headers=dict(request.headers),
            data=raw or None,
            content_type=request.content_type if raw else "application/json",
        )
        problem = problem or (self._validate_request(mock) if self.validate else None)
        if problem:
            self.violations.append(f"{request.method} {request.path}: {problem}")
            return web.json_response({"error": problem}, status=400)

        if self.refuse_token:
            return web.json_response(
                {"error": {"message": "Unauthorized"}, "type": "authentication_error"}, status=401
            )
        fault = self._fault(request.method, request.path)
        if fault is not None:
            return await self._inject(request, fault)
        if self.latency:
            await asyncio.sleep(self.latency)
        writing = request.method != "GET"
        self._writing += writing
        self.most_writing = max(self.most_writing, self._writing)
        try:
            if writing and self.write_latency:
                await asyncio.sleep(self.write_latency)
            if writing and self.gate is not None and not self.gate.is_set():
                self.gated.append(seen)
                try:
                    await self.gate.wait()
                finally:
                    self.gated.remove(seen)
            status, answer = await handler(seen)
        finally:
            self._writing -= writing
        data = json.dumps(answer).encode() if answer is not None else b""  # as it was when done
        held = self.hold_answer(seen) if self.hold_answer is not None else None
        if held is not None:
            self.held.append(seen)
            try:
                await held.wait()
            finally:
                self.held.remove(seen)
        if 200 <= status < 300 and self.validate:
            problem = self._validate_response(mock, status, data)
            if problem:
                self.violations.append(f"answer to {request.method} {request.path}: {problem}")
        headers = {"x-request-id": f"req-{len(self.requests)}"}
        if not data:
            return web.Response(status=status, headers=headers)
        return web.Response(status=status, body=data, content_type="application/json", headers=headers)

    def _validate_request(self, mock: MockRequest) -> str | None:
        try:
            openapi(self.provider).validate_request(mock)
        except Exception as exc:  # any refusal from openapi-core is a contract violation
            return _explain(exc)
        return None

    def _validate_response(self, mock: MockRequest, status: int, data: bytes) -> str | None:
        if self._untyped(mock, status):
            return None  # the spec is silent on this answer's body (FireHydrant's on-call)
        try:
            openapi(self.provider).validate_response(mock, MockResponse(data, status_code=status))
        except Exception as exc:
            return _explain(exc)
        return None

    def _untyped(self, mock: MockRequest, status: int) -> bool:
        for method, pattern, template, _ in self._routes:
            if method == mock.method.upper() and pattern.match(mock.path):
                answer = document(self.provider)["paths"][template][method.lower()]["responses"].get(
                    str(status), {}
                )
                return not answer.get("content")
        return False

    def _fault(self, method: str, path: str) -> Fault | None:
        for fault in self.faults:
            if fault.times > 0 and fault.method == method and re.fullmatch(fault.path, path):
                fault.times -= 1
                return fault
        return None

    async def _inject(self, request: web.Request, fault: Fault) -> web.StreamResponse:
        if fault.kind == "429":
            return web.json_response(
                {"error": "rate limited"}, status=429, headers={"Retry-After": fault.retry_after}
            )
        if fault.kind == "500":
            return web.json_response({"error": "boom"}, status=500, headers={"x-request-id": "req-500"})
        if fault.kind == "timeout":
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.released.wait(), self.hang_seconds)
            return web.json_response({}, status=200)
        if fault.kind == "echo":  # a provider (or a proxy) that echoes our headers in its error
            # Our key first, so it is inside what the answer shows (not clipped away).
            headers = dict(request.headers)
            echoed = json.dumps({"Authorization": headers.pop("Authorization", None), **headers})
            body: dict[str, Any] = {
                "incidentio": {"type": "bad_request", "status": 400, "errors": [{"message": echoed}]},
                "pagerduty": {"error": {"message": "Invalid Input Provided", "errors": [echoed]}},
            }.get(self.provider, {"detail": echoed, "messages": [echoed]})
            return web.json_response(body, status=400)
        if fault.kind == "badjson":
            return web.Response(status=200, body=b"{not json", content_type="application/json")
        if fault.kind == "reset":
            assert request.transport is not None
            request.transport.abort()  # the connection drops with no answer at all
            return web.Response(status=500)
        raise AssertionError(fault.kind)


def _parameters(provider: str, operation: dict) -> list[dict]:
    found = []
    for param in operation.get("parameters", []):
        if "$ref" in param:
            param = document(provider)["components"]["parameters"][param["$ref"].split("/")[-1]]
        found.append(param)
    return found


def _explain(exc: Exception) -> str:
    errors = [e for c in (exc, exc.__cause__) for e in getattr(c, "schema_errors", ())]
    if errors:  # the reasons, not the whole value
        return (
            type(exc).__name__
            + ": "
            + "; ".join(f"{list(e.absolute_path)}: {e.message[:200]}" for e in errors)
        )
    parts = [str(exc)]
    cause = exc.__cause__
    while cause is not None and len(parts) < 4:
        parts.append(str(cause)[:400])
        cause = cause.__cause__
    return " | ".join(parts)[:1200]
