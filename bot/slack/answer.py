"""Delivering a Reply: exactly one answer to the invoker, then any posts, then the card.

Slash commands, buttons and modals all end here, so the rules of the one answer live
in one place: ephemeral results through the response_url (or chat.postEphemeral where
there is none, as after a modal opened without one), channel results with
chat.postMessage, falling back to the response_url where the bot cannot post.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any, Protocol

from slack_bolt.context.respond.async_respond import AsyncRespond
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.commands.pipeline import Request, Route
from bot.commands.registry import Verb
from bot.commands.results import Card, Failure, Post, Reply, Result
from bot.present import present
from bot.redact import clip
from bot.slack.blocks import render_blocks, render_text
from bot.slack.cards import Cards
from bot.slack.workspace import slack_error

log = logging.getLogger(__name__)
# Where chat.postMessage cannot reach, the response_url still can (private channels, DMs).
_UNREACHABLE = {"not_in_channel", "channel_not_found", "is_archived", "restricted_action"}


class AnchorStore(Protocol):
    """Where a message kept up to date was posted (bot/store/timers.py)."""

    async def anchor(self, key: str) -> tuple[str, str] | None: ...

    async def set_anchor(self, key: str, channel_id: str, ts: str) -> None: ...


class Respond(Protocol):
    """Bolt's AsyncRespond, or our stand-in where Slack gave no response_url."""

    async def __call__(self, **message: Any) -> Any: ...


class EphemeralRespond:
    """Answers the one person privately with chat.postEphemeral (in_channel: postMessage)."""

    def __init__(self, client: AsyncWebClient, channel_id: str, user_id: str) -> None:
        self.client, self.channel_id, self.user_id = client, channel_id, user_id

    async def __call__(self, **message: Any) -> Any:
        response_type = message.pop("response_type", "ephemeral")
        message.pop("replace_original", None)
        if response_type == "in_channel":
            return await self.client.chat_postMessage(channel=self.channel_id, **message)
        return await self.client.chat_postEphemeral(channel=self.channel_id, user=self.user_id, **message)


def respond_to(client: AsyncWebClient, route: Route) -> Respond:
    """Through the response_url where Slack gave one (it works where the bot is not a
    member); otherwise chat.postEphemeral to the one person."""
    if route.response_url:
        return AsyncRespond(response_url=route.response_url)
    return EphemeralRespond(client, route.channel_id, route.user_id)


def message(result: Result) -> dict[str, Any]:
    doc = present(result)
    return {"text": render_text(doc), "blocks": render_blocks(doc)}


class Answers:
    def __init__(
        self,
        client: AsyncWebClient,
        cards: Cards,
        command: str = "/incident",
        anchors: Callable[[], AnchorStore] | None = None,
    ) -> None:
        self.client = client
        self.cards = cards
        self.command = command
        self.anchors = anchors

    async def follow(self, team_id: str, reply: Reply) -> None:
        """What comes after the one answer: posts elsewhere (a new incident's card), redraws."""
        for post in reply.posts:
            if post.anchor and self.anchors is not None:
                await self._keep(post, self.anchors())
                continue
            try:
                response = await self.client.chat_postMessage(
                    channel=post.channel_id, unfurl_links=False, **message(post.result)
                )
            except SlackApiError as exc:
                log.warning("could not post to %s: %s", post.channel_id, slack_error(exc))
                continue
            if isinstance(post.result, Card):
                await self.cards.posted(team_id, post.channel_id, response["ts"], post.result)
        if reply.refresh is not None:
            await self.cards.refresh(reply.refresh, reply.capabilities)

    async def _keep(self, post: Post, anchors: AnchorStore) -> None:
        """A message kept up to date: redrawn where it was first posted, else posted."""
        assert post.anchor is not None
        found = await anchors.anchor(post.anchor)
        try:
            if found is not None:
                channel_id, ts = found
                await self.client.chat_update(channel=channel_id, ts=ts, **message(post.result))
            elif not post.only_update:
                response = await self.client.chat_postMessage(
                    channel=post.channel_id, unfurl_links=False, **message(post.result)
                )
                await anchors.set_anchor(post.anchor, post.channel_id, response["ts"])
        except SlackApiError as exc:
            log.warning(
                "could not post or redraw %s in %s: %s", post.anchor, post.channel_id, slack_error(exc)
            )

    async def answer(self, team_id: str, channel_id: str, respond: Respond, result: Result) -> None:
        if result.visibility == "none":
            return
        body = message(result)
        if result.visibility == "ephemeral":
            await _respond(respond, "ephemeral", body)
            return
        try:
            response = await self.client.chat_postMessage(channel=channel_id, unfurl_links=False, **body)
        except SlackApiError as exc:
            if slack_error(exc) in _UNREACHABLE:
                await _respond(respond, "in_channel", body)
            else:
                failure = Failure(
                    what=f"It was done, but Slack refused the answer ({slack_error(exc)}).",
                    changed="yes",
                    next_step=f"`{self.command} info` shows where things stand.",
                )
                await _respond(respond, "ephemeral", message(failure))
            return
        if isinstance(result, Card):
            await self.cards.posted(team_id, channel_id, response["ts"], result)

    async def say(self, respond: Respond, result: Result) -> None:
        """An ephemeral word to the one person (a modal that could not open, a repeated click)."""
        await _respond(respond, "ephemeral", message(result))


async def _respond(respond: Respond, response_type: str, body: dict[str, Any]) -> None:
    try:
        await respond(response_type=response_type, replace_original=False, **body)
    except Exception as exc:  # Slack's refusal or a network error: one line, not a traceback
        log.warning("could not answer the person: %s: %s", type(exc).__name__, clip(str(exc), 200))


class SlackDelivery:
    """The pipeline's Delivery port, in Slack's terms."""

    def __init__(
        self, client: AsyncWebClient, answers: Answers, form: Callable[[Request, Verb], Awaitable[None]]
    ) -> None:
        self.client, self.answers, self._form = client, answers, form

    async def deliver(self, route: Route, reply: Reply) -> None:
        await self.answers.answer(
            route.team_id, route.channel_id, respond_to(self.client, route), reply.result
        )

    async def follow(self, route: Route, reply: Reply) -> None:
        await self.answers.follow(route.team_id, reply)

    async def say(self, route: Route, result: Result) -> None:
        await self.answers.say(respond_to(self.client, route), result)

    async def form(self, request: Request, verb: Verb) -> None:
        await self._form(request, verb)
