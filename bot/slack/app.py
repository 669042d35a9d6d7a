"""Bolt listeners: turn Slack payloads into Invocations, ack first, deliver one answer.

Nothing here knows a provider. The listener acks before anything else runs; with
`AsyncApp` over HTTP the 200 leaves as soon as `ack()` returns and the work goes on.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_bolt.context.respond.async_respond import AsyncRespond
from slack_sdk.http_retry.builtin_async_handlers import AsyncRateLimitErrorRetryHandler
from slack_sdk.web.async_client import AsyncWebClient

from bot.commands import registry
from bot.commands.invocation import Invocation
from bot.commands.parser import ParsedCommand, UsageError
from bot.commands.service import CommandService
from bot.config import Settings
from bot.runtime import Inflight
from bot.slack.answer import Answers, Respond
from bot.slack.cards import Cards
from bot.slack.interactive import Interactions
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


class SlashCommand:
    """`/incident …`, after the ack: Bolt's listener calls it, and so does the HTTP fast
    path in bot/slack/server.py, which acks slash commands without Bolt's dispatch."""

    def __init__(
        self,
        service: Callable[[], CommandService],
        workspace: SlackWorkspace,
        interactions: Interactions,
        inflight: Inflight,
    ) -> None:
        self.service, self.workspace = service, workspace
        self.interactions, self.inflight = interactions, inflight

    async def __call__(self, body: dict[str, Any], respond: Respond) -> None:
        async with self.inflight.track():
            await self._run(body, respond)

    async def _run(self, body: dict[str, Any], respond: Respond) -> None:
        commands = self.service()
        invocation = Invocation(
            text=body.get("text", ""),
            user_id=body.get("user_id", ""),
            user_name=body.get("user_name"),
            channel_id=body.get("channel_id", ""),
            channel_name=body.get("channel_name"),
            team_id=body.get("team_id") or "T0",
            request_id=body.get("trigger_id"),
        )
        parsed = commands.parse(invocation)
        verb = registry.lookup(parsed.verb) if parsed.verb else None
        if isinstance(parsed, UsageError) and parsed.missing and verb and body.get("trigger_id"):
            # `/incident status` alone: ask for the rest in a modal rather than refuse.
            await self.interactions.open_form(
                trigger_id=body["trigger_id"],
                verb=verb,
                invocation=invocation,
                target=None,
                response_url=body.get("response_url"),
                respond=respond,
            )
            return
        if isinstance(parsed, ParsedCommand) and verb is not None and verb.uses_time:
            # Times are read in the user's zone: parse again once it is known.
            invocation.tz = await self.workspace.user_timezone(invocation.user_id)
            parsed = None
        await self.interactions.run(
            invocation, parsed if isinstance(parsed, ParsedCommand) else None, respond
        )


def build_app(
    settings: Settings,
    client: AsyncWebClient,
    workspace: SlackWorkspace,
    service: Callable[[], CommandService],
    inflight: Inflight,
) -> tuple[AsyncApp, SlashCommand]:
    """`service` is a getter because the store opens on server start-up, after this runs."""
    app = AsyncApp(
        signing_secret=(
            settings.slack_signing_secret.get_secret_value() if settings.slack_signing_secret else None
        ),
        client=client,
        process_before_response=False,
    )
    answers = Answers(client, Cards(client, lambda: service().store))
    interactions = Interactions(client, workspace, service, answers, inflight)
    slash = SlashCommand(service, workspace, interactions, inflight)

    @app.command(settings.incident_command)
    async def on_command(ack: Any, body: dict[str, Any], respond: AsyncRespond) -> None:
        await ack()
        await slash(body, respond)

    interactions.register(app)  # after the slash command, which Bolt then tries first

    @app.error
    async def on_error(error: Exception, body: dict[str, Any]) -> None:
        log.error("unhandled error in a listener: %s", type(error).__name__)

    return app, slash
