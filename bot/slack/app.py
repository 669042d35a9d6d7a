"""Bolt listeners: turn Slack payloads into the pipeline's Requests, admit, ack, start.

Nothing here knows a provider. Each listener hands its request to the pipeline before it
acks (so the request is in the durable inbox first), then acks; with `AsyncApp` over HTTP
the 200 leaves as soon as `ack()` returns and the work goes on.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_sdk.http_retry.builtin_async_handlers import AsyncRateLimitErrorRetryHandler
from slack_sdk.web.async_client import AsyncWebClient

from bot.commands.pipeline import DATABASE_AWAY, Admission, Pipeline
from bot.commands.service import CommandService
from bot.config import Settings
from bot.slack import ids
from bot.slack.answer import Answers, message
from bot.slack.cards import Cards
from bot.slack.channel import ChannelKeeper
from bot.slack.interactive import Interactions
from bot.slack.requests import (
    MENTION_EVENT,
    REACTION_ADDED,
    REACTION_REMOVED,
    command_request,
    mention_request,
    reaction_request,
    shortcut_request,
)
from bot.slack.workspace import SlackWorkspace

log = logging.getLogger(__name__)


def web_client(settings: Settings) -> AsyncWebClient:
    client = AsyncWebClient(
        token=settings.slack_bot_token.get_secret_value() if settings.slack_bot_token else None,
        base_url=settings.slack_api_url,
        timeout=10,
    )
    client.retry_handlers.append(AsyncRateLimitErrorRetryHandler(max_retry_count=2))
    return client


def away_ack(command: str) -> dict[str, Any]:
    """A slash command's ack that answers it: the database is away and nothing was done. In
    the ack, because it costs no call that could fail too, and it reaches the person before
    Slack's 3 s are up."""
    return {"response_type": "ephemeral", **message(DATABASE_AWAY, command)}


def _no_token_warning(record: logging.LogRecord) -> bool:
    """Bolt reads SLACK_BOT_TOKEN from the environment itself and then warns that the
    client we hand it (with that same token, and our session) wins: true, and noise."""
    return "will be unused" not in record.getMessage()


def build_app(
    settings: Settings,
    client: AsyncWebClient,
    workspace: SlackWorkspace,
    service: Callable[[], CommandService],
    pipeline: Callable[[], Pipeline],
) -> tuple[AsyncApp, Interactions, Answers]:
    """`service` and `pipeline` are getters: the store opens on server start-up, after this runs."""
    logging.getLogger("slack_bolt.AsyncApp").addFilter(_no_token_warning)
    app = AsyncApp(
        signing_secret=(
            settings.slack_signing_secret.get_secret_value() if settings.slack_signing_secret else None
        ),
        client=client,
        process_before_response=False,
        # Verified once, by bot/slack/server.py, before anything parses the body (Socket
        # Mode's requests come over the socket, which Slack authenticates): Bolt checking
        # the same signature again was a second HMAC per click and submission.
        request_verification_enabled=False,
    )
    answers = Answers(
        client,
        Cards(
            client,
            lambda: service().card_store,
            lambda: service().clock.now(),
            # The same keeper bookmarks the retro draft (bot/slack/documents.py).
            workspace.documents.bookmarked_by(ChannelKeeper(client, lambda: service().kept)),
            interval=settings.incident_card_redraw_seconds,
            stamps=lambda: service().kept,
        ),
        settings.incident_command,
        anchors=lambda: service().anchors,
    )
    interactions = Interactions(client, workspace, service, answers, pipeline)

    @app.command(settings.incident_command)
    async def on_command(ack: Any, body: dict[str, Any]) -> None:
        request = command_request(body)
        admission = await pipeline().admit(request)  # in the inbox before the ack
        if admission is Admission.UNAVAILABLE:
            await ack(**away_ack(settings.incident_command))
            return
        await ack()
        pipeline().start(request, admission)

    @app.event(MENTION_EVENT)
    async def on_mention(body: dict[str, Any]) -> None:
        # Socket Mode's path (over HTTP the server admits mentions itself, before the 200).
        # Bolt has acked the event before this runs; Slack would not resend it anyway.
        request = mention_request(body)
        if request is not None:
            pipeline().start(request, await pipeline().admit(request))

    @app.event(REACTION_ADDED)
    @app.event(REACTION_REMOVED)
    async def on_reaction(body: dict[str, Any]) -> None:
        # Socket Mode's path, as for mentions (over HTTP the server admits them itself).
        request = reaction_request(body, settings.incident_pin_emoji)
        if request is not None:
            pipeline().start(request, await pipeline().admit(request))

    @app.shortcut(ids.PIN_SHORTCUT)
    async def on_pin_shortcut(ack: Any, body: dict[str, Any]) -> None:
        request = shortcut_request(body)
        admission = await pipeline().admit(request) if request is not None else None
        await ack()
        if request is not None and admission is not None:
            pipeline().start(request, admission)

    interactions.register(app)  # after the slash command, which Bolt then tries first

    @app.error
    async def on_error(error: Exception, body: dict[str, Any]) -> None:
        log.error("unhandled error in a listener: %s", type(error).__name__)

    return app, interactions, answers
