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
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_async_handlers import AsyncRateLimitErrorRetryHandler
from slack_sdk.web.async_client import AsyncWebClient

from bot.commands import registry
from bot.commands.invocation import Invocation
from bot.commands.parser import ParsedCommand
from bot.commands.results import Failure, Reply, Result
from bot.commands.service import CommandService
from bot.config import Settings
from bot.present import present
from bot.slack.blocks import render_blocks, render_text
from bot.slack.workspace import SlackWorkspace, slack_error

log = logging.getLogger(__name__)
# Where chat.postMessage cannot reach, the response_url still can (private channels, DMs).
_UNREACHABLE = {"not_in_channel", "channel_not_found", "is_archived", "restricted_action"}


def web_client(settings: Settings) -> AsyncWebClient:
    client = AsyncWebClient(
        token=settings.slack_bot_token.get_secret_value() if settings.slack_bot_token else None,
        base_url=settings.slack_api_url,
        timeout=10,
    )
    client.retry_handlers.append(AsyncRateLimitErrorRetryHandler(max_retry_count=2))
    return client


def build_app(
    settings: Settings,
    client: AsyncWebClient,
    workspace: SlackWorkspace,
    service: Callable[[], CommandService],
) -> AsyncApp:
    """`service` is a getter because the store opens on server start-up, after this runs."""
    app = AsyncApp(
        signing_secret=(
            settings.slack_signing_secret.get_secret_value() if settings.slack_signing_secret else None
        ),
        client=client,
        process_before_response=False,
    )

    @app.command(settings.incident_command)
    async def on_command(
        ack: Any, body: dict[str, Any], respond: AsyncRespond, client: AsyncWebClient
    ) -> None:
        await ack()
        commands = service()
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
        verb = registry.lookup(parsed.verb) if isinstance(parsed, ParsedCommand) else None
        if verb is not None and verb.uses_time:
            invocation.tz = await workspace.user_timezone(invocation.user_id)
        try:
            reply = await commands.run(invocation)
        except Exception:  # run() does not raise; if it ever does, the user still hears
            log.exception("command service raised")
            reply = Reply(
                result=Failure(what="Something went wrong on our side.", changed="unknown"),
                outcome="error",
            )
        await deliver(client, respond, invocation.channel_id, reply)

    @app.error
    async def on_error(error: Exception, body: dict[str, Any]) -> None:
        log.error("unhandled error in a listener: %s", type(error).__name__)

    return app


def _message(result: Result) -> dict[str, Any]:
    doc = present(result)
    return {"text": render_text(doc), "blocks": render_blocks(doc)}


async def deliver(client: AsyncWebClient, respond: AsyncRespond, channel_id: str, reply: Reply) -> None:
    """Exactly one answer to the invoker first, then any posts the command asked for."""
    await _answer(client, respond, channel_id, reply.result)
    for post in reply.posts:
        try:
            await client.chat_postMessage(
                channel=post.channel_id, unfurl_links=False, **_message(post.result)
            )
        except SlackApiError as exc:
            log.warning("could not post to %s: %s", post.channel_id, slack_error(exc))


async def _answer(client: AsyncWebClient, respond: AsyncRespond, channel_id: str, result: Result) -> None:
    message = _message(result)
    if result.visibility == "ephemeral":
        await _respond(respond, "ephemeral", message)
        return
    try:
        await client.chat_postMessage(channel=channel_id, unfurl_links=False, **message)
    except SlackApiError as exc:
        if slack_error(exc) in _UNREACHABLE:
            await _respond(respond, "in_channel", message)
        else:
            failure = Failure(
                what=f"It was done, but Slack refused the answer ({slack_error(exc)}).",
                changed="yes",
                next_step="`/incident info` shows where things stand.",
            )
            await _respond(respond, "ephemeral", _message(failure))


async def _respond(respond: AsyncRespond, response_type: str, message: dict[str, Any]) -> None:
    try:
        await respond(response_type=response_type, replace_original=False, **message)
    except Exception:
        log.exception("could not answer through the response_url")
