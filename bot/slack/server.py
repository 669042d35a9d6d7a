"""`python -m bot serve`: the Slack app over HTTP (aiohttp) or Socket Mode.

HTTP serves `POST /slack/events` for everything Slack sends (Bolt's single endpoint) and
`GET /healthz`. In Socket Mode the same `/healthz` is served on PORT for the platform's
health checks, and Slack's traffic arrives over the socket.
"""

from __future__ import annotations

import asyncio
import errno
import json
import logging
import signal
import time
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl

import aiohttp
from aiohttp import web
from slack_bolt.adapter.aiohttp import to_aiohttp_response
from slack_bolt.async_app import AsyncApp
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_sdk.signature import SignatureVerifier

from bot import metrics
from bot.clock import SYSTEM, Clock
from bot.commands.invocation import Invocation
from bot.commands.pipeline import Admission, Pipeline, Request, Route
from bot.commands.service import CommandService
from bot.config import ConfigError, Settings, store_name
from bot.logs import AccessLogger
from bot.runtime import Runtime, build_runtime, cannot_serve
from bot.slack.answer import SlackDelivery
from bot.slack.app import away_ack, build_app, web_client
from bot.slack.requests import (
    command_request,
    is_reaction,
    mention_request,
    reaction_request,
    shortcut_request,
)
from bot.slack.scopes import missing_scopes, scope_problem
from bot.slack.workspace import SlackWorkspace
from bot.webhooks.events import PARSERS
from bot.webhooks.verify import VERIFIERS

if TYPE_CHECKING:  # imported where Socket Mode starts, so HTTP mode never loads it
    from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler

log = logging.getLogger(__name__)
RUNTIME = web.AppKey("runtime", Runtime)
PIPELINE = web.AppKey("pipeline", Pipeline)
BOLT = web.AppKey("bolt", AsyncApp)
# Slack's largest requests (a modal's submission with its whole view) stay far below this;
# anything larger is refused before it is read whole.
MAX_BODY = 1024 * 1024


@web.middleware
async def timed(request: web.Request, handler: Any) -> web.StreamResponse:
    """The ack's time, as Slack waits for it (3 s at the most)."""
    if request.path != "/slack/events":
        return await handler(request)
    started = time.perf_counter()
    try:
        return await handler(request)
    finally:
        metrics.ACK_SECONDS.observe(time.perf_counter() - started)


def create_web_app(settings: Settings, clock: Clock = SYSTEM) -> web.Application:
    """`clock`: the runtime's one (bot/clock.py); a test hands in a fixed one."""
    client = web_client(settings)
    workspace = SlackWorkspace(client)
    web_app = web.Application(client_max_size=MAX_BODY, middlewares=[timed])

    def service() -> CommandService:
        return web_app[RUNTIME].service

    def pipeline() -> Pipeline:
        return web_app[PIPELINE]

    bolt, interactions, answers = build_app(settings, client, workspace, service, pipeline)
    web_app[BOLT] = bolt
    secret = settings.slack_signing_secret.get_secret_value() if settings.slack_signing_secret else None
    verifier = SignatureVerifier(secret) if secret else None

    async def open_runtime(app: web.Application) -> None:
        # One HTTP session for every Web API call and every response_url answer: slack_sdk
        # otherwise opens (and closes) a connection per call, a measured share of each
        # command's cost (bench/). A shared session is not given the client's own timeout.
        runtime = await build_runtime(settings, workspace, clock)  # a ConfigError leaves nothing open
        client.session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=client.timeout))
        app[RUNTIME] = runtime
        app[PIPELINE] = Pipeline(
            runtime.service,
            SlackDelivery(client, answers, interactions.form),
            runtime.inbox,
            single_process=runtime.store.single_process,
            slots=settings.incident_work_slots,
        )
        await app[PIPELINE].open()

    async def close_runtime(app: web.Application) -> None:
        if PIPELINE in app:
            await app[PIPELINE].close(settings.incident_command_timeout + 5)
        if RUNTIME in app:
            await app[RUNTIME].close()
        if client.session is not None:
            await client.session.close()

    async def slack_events(request: web.Request) -> web.Response:
        if verifier is None:
            # Socket Mode: Slack's requests come over the socket; nothing here can verify one.
            return web.json_response(
                {"error": "this bot takes Slack's requests over Socket Mode"}, status=404
            )
        if (request.content_length or 0) > MAX_BODY:
            log.info("refused a %d-byte request to /slack/events", request.content_length)
            return web.json_response({"error": "request too large"}, status=413)
        try:
            raw = await request.read()
        except web.HTTPRequestEntityTooLarge:
            log.info("refused a request to /slack/events over %d bytes", MAX_BODY)
            return web.json_response({"error": "request too large"}, status=413)
        if not _signed(verifier, raw, request.headers):
            # Verified before anything parses the body: an unsigned request costs nothing.
            log.info("refused a request to /slack/events that Slack did not sign")
            return web.json_response({"error": "invalid request"}, status=401)
        read = _read(request.content_type, raw)
        if read is None:
            log.info("refused a signed request to /slack/events that is not of Slack's shape")
            return web.json_response({"error": "malformed request"}, status=400)
        body, payload = read
        if request.content_type == "application/x-www-form-urlencoded":
            form = body
            if form.get("command") == settings.incident_command and "ssl_check" not in form:
                # The fast path: the request is verified (above) and in the inbox (admit)
                # before the 200, as on Bolt's path; Bolt's dispatch (middleware, listener
                # matching) cost a measured share of every command (bench/).
                command = command_request(form)
                admission = await pipeline().admit(command)
                if admission is Admission.UNAVAILABLE:
                    return web.json_response(away_ack(settings.incident_command))
                pipeline().start(command, admission)
                return web.Response(status=200)
            shortcut = shortcut_request(payload) if payload is not None else None
            if shortcut is not None:
                # Like a mention: durable before the 200, answered through its response_url.
                admission = await pipeline().admit(shortcut)
                pipeline().start(shortcut, admission)
                return web.Response(status=200)
        if request.content_type == "application/json":
            pinned = reaction_request(body, settings.incident_pin_emoji)
            if pinned is not None:
                # A 📌 added or taken off: as a mention, durable before the 200.
                admission = await pipeline().admit(pinned)
                pipeline().start(pinned, admission)
                return web.Response(status=200)
            if is_reaction(body):
                return web.Response(status=200)  # another emoji: nothing to do
            mention = mention_request(body)
            if mention is not None:
                # In the inbox before the 200, like a slash command: Slack retries an
                # unanswered event, and the event_id makes the retry the same request.
                admission = await pipeline().admit(mention)
                pipeline().start(mention, admission)
                return web.Response(status=200)
        try:
            bolt_response = await bolt.async_dispatch(_bolt_request(request, payload or body))
        except Exception as exc:
            log.warning("a signed request could not be handled: %s", type(exc).__name__)
            return web.Response(status=200)
        if bolt_response.status >= 500:
            # A listener failed before its ack (already logged in one line): Slack gets a
            # plain 200, so it neither retries nor shows the person an error page.
            return web.Response(status=200)
        return await to_aiohttp_response(bolt_response)

    webhook_secrets = settings.webhook_secrets()

    async def webhook(request: web.Request) -> web.Response:
        """A provider's event: verified before it is parsed, in the inbox before the 2xx,
        acted on after (PagerDuty gives 5 s and queues later events behind a slow one)."""
        name = request.match_info["provider"]
        secret = webhook_secrets.get(name)
        if secret is None:
            return web.json_response({"error": "no such webhook here"}, status=404)
        try:
            raw = await request.read()
        except web.HTTPRequestEntityTooLarge:
            return web.json_response({"error": "request too large"}, status=413)
        if not VERIFIERS[name](secret, raw, request.headers):
            log.info("refused a %s webhook that was not signed with its secret (or is stale)", name)
            return web.json_response({"error": "invalid signature"}, status=401)
        try:
            event = PARSERS[name](json.loads(raw), raw, request.headers)
        except Exception as exc:  # signed, yet not a body we can read: the sender's mistake
            log.info("refused a signed %s webhook whose body we cannot read (%s)", name, type(exc).__name__)
            return web.json_response({"error": "malformed body"}, status=400)
        if event is None or event.incident_id is None:
            return web.json_response({"ok": True, "ignored": True})
        who = Invocation(text=event.event_type, user_id=f"webhook:{name}", channel_id=event.channel_id or "")
        job = Request(
            key=f"webhook:{name}:{event.delivery_id}",  # the same delivery twice is one
            kind="webhook",
            invocation=who,
            route=Route(team_id=who.team_id, channel_id=who.channel_id, user_id=who.user_id),
            event=event,
        )
        admission = await pipeline().admit(job)
        if admission is Admission.UNAVAILABLE:
            # Not taken: the provider sends the same delivery again later, and it is one then.
            return web.json_response({"ok": False, "error": "the bot's database isn't answering"}, status=503)
        pipeline().start(job, admission)
        return web.json_response({"ok": True})

    async def healthz(request: web.Request) -> web.Response:
        """Liveness: the process answers. Never the database's state, so a platform does not
        restart every bot while the database is away (that is /readyz)."""
        return web.json_response({"ok": True})

    async def readyz(request: web.Request) -> web.Response:
        """Readiness: whether a request now would be taken, i.e. whether the database answers
        a `SELECT 1` within the ack's own bound."""
        if RUNTIME not in web_app:
            return web.json_response({"ok": False, "reason": "starting"}, status=503)
        why = await web_app[RUNTIME].store.ping(settings.incident_ack_db_timeout)
        if why is not None:
            return web.json_response({"ok": False, "reason": why}, status=503)
        return web.json_response({"ok": True})

    async def metrics_page(request: web.Request) -> web.Response:
        body = metrics.exposition()
        return web.Response(body=body, headers={"Content-Type": metrics.CONTENT_TYPE})

    web_app.on_startup.append(open_runtime)
    web_app.on_cleanup.append(close_runtime)
    web_app.add_routes(
        [
            web.post("/slack/events", slack_events),
            web.post("/webhooks/{provider}", webhook),
            web.get("/healthz", healthz),
            web.get("/readyz", readyz),
            web.get("/metrics", metrics_page),
        ]
    )
    return web_app


def _read(content_type: str, raw: bytes) -> tuple[dict[str, Any], dict[str, Any] | None] | None:
    """The body, read once, if it is of a shape Slack sends (else None): a form (slash
    commands; interactions carry one JSON object with a string `type` in `payload`, handed
    back beside the form, read) or a JSON object (the Events API)."""
    try:
        if content_type == "application/x-www-form-urlencoded":
            form = dict(parse_qsl(raw.decode("utf-8"), keep_blank_values=True))
            if "payload" not in form:
                return form, None
            payload = json.loads(form["payload"])
            if isinstance(payload, dict) and isinstance(payload.get("type"), str):
                return form, payload
            return None
        if content_type == "application/json":
            event = json.loads(raw)
            return (event, None) if isinstance(event, dict) else None
    except (UnicodeDecodeError, ValueError):
        return None
    return None


def _bolt_request(request: web.Request, body: dict[str, Any]) -> AsyncBoltRequest:
    """The request for Bolt's listeners, with the body this server already verified and
    read. Bolt's "http" mode takes only the raw text and parses it again; its other mode
    takes the parsed body as it is, and differs in nothing else Bolt does with a request
    but verifying its signature, which is off here (verified once, above)."""
    return AsyncBoltRequest(
        body=body,
        query=request.query_string,
        headers=dict(request.headers),
        mode="socket_mode",
    )


def _signed(verifier: SignatureVerifier, raw: bytes, headers: Mapping[str, str]) -> bool:
    """Slack's v0 signature, timestamp within 5 minutes; a missing or malformed header is a
    refusal, not an error (slack_sdk raises on a timestamp that is not a number)."""
    timestamp = headers.get("X-Slack-Request-Timestamp", "")
    signature = headers.get("X-Slack-Signature", "")
    if not timestamp.isdigit() or not signature:
        return False
    return verifier.is_valid(raw, timestamp, signature)


async def start_socket_mode(
    settings: Settings, host: str = "0.0.0.0"
) -> tuple[AsyncSocketModeHandler, web.AppRunner]:
    """Connect over Socket Mode and serve /healthz on PORT; returns (handler, runner)."""
    from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler

    web_app = create_web_app(settings)
    runner = web.AppRunner(web_app, access_log_class=AccessLogger)
    await runner.setup()
    await web.TCPSite(runner, host, settings.port).start()
    assert settings.slack_app_token is not None
    handler = AsyncSocketModeHandler(web_app[BOLT], settings.slack_app_token.get_secret_value())
    await handler.connect_async()
    return handler, runner


def main(settings: Settings) -> int:
    """Serve until SIGTERM or SIGINT. A configuration mistake (a token missing, a database
    that refuses, a port in use) raises ConfigError: one line, exit 2, nothing left open."""
    problem = cannot_serve(settings)  # the same line `check` ends with
    if problem:
        raise ConfigError(problem)
    loop = new_event_loop()
    try:
        loop.run_until_complete(_serve(settings))
    finally:
        loop.close()
    return 0


async def _serve(settings: Settings, host: str = "0.0.0.0") -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    if settings.socket_mode:
        handler, runner = await start_socket_mode(settings, host)
        log.info("%s", ready_line(settings, runner.app, "Socket Mode", host))
        told = asyncio.create_task(warn_missing_scopes(settings))
        try:
            await stop.wait()
        finally:
            told.cancel()
            await handler.close_async()
            await runner.cleanup()
        return
    runner = web.AppRunner(create_web_app(settings), handle_signals=False, access_log_class=AccessLogger)
    await runner.setup()
    try:
        try:
            await web.TCPSite(runner, host, settings.port).start()
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                raise ConfigError(f"PORT: {settings.port} is already in use by another program.") from None
            raise ConfigError(f"PORT: cannot listen on {host}:{settings.port} ({exc.strerror}).") from None
        log.info("%s", ready_line(settings, runner.app, "HTTP", host))
        told = asyncio.create_task(warn_missing_scopes(settings))
        await stop.wait()
        told.cancel()
    finally:
        await runner.cleanup()


async def warn_missing_scopes(settings: Settings) -> None:
    """One WARNING line at start where the app was installed before a scope this version asks
    for was added (what `check` says too): the calls that need it would fail one by one."""
    if settings.slack_bot_token is None:
        return
    try:
        auth = await web_client(settings).auth_test()
    except Exception as exc:  # `check` says why; serving goes on without this line
        log.info("could not read the app's scopes at start: %s", type(exc).__name__)
        return
    missing = missing_scopes(auth.headers.get("x-oauth-scopes"))
    if missing:
        log.warning("%s", scope_problem(missing))


def ready_line(settings: Settings, app: web.Application, mode: str, host: str) -> str:
    """The one line that says the bot is up, and how it is set up."""
    runtime = app[RUNTIME]
    providers = ", ".join(
        name + (" (default)" if name == settings.incident_provider else "")
        for name in runtime.service.providers
    )
    hooks = ", ".join(settings.webhook_secrets()) or "none"
    policy = settings.incident_policy or "defaults"
    return (
        f"ready: {mode} listening on {host}:{settings.port} · store {store_name(settings.database_url)} · "
        f"providers {providers} · webhooks {hooks} · policy {policy}"
    )


def new_event_loop() -> asyncio.AbstractEventLoop:
    """uvloop where it is installed (Linux and macOS): the same asyncio, with its I/O and
    scheduling in C. Measured in bench/: see docs/performance.md."""
    try:
        import uvloop
    except ImportError:
        return asyncio.new_event_loop()
    return uvloop.new_event_loop()
