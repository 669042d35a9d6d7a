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

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient
from slack_sdk.webhook.async_client import AsyncWebhookClient

from bot.commands.pipeline import Request, Resend, Route
from bot.commands.registry import Verb
from bot.commands.results import Card, Failure, Post, Reply, Result
from bot.present import shown
from bot.redact import clip
from bot.slack.blocks import render_blocks, render_text
from bot.slack.cards import Cards
from bot.slack.workspace import slack_error

log = logging.getLogger(__name__)
# Where chat.postMessage cannot reach, the response_url still can (private channels, DMs).
_UNREACHABLE = {"not_in_channel", "channel_not_found", "is_archived", "restricted_action"}
# Every answer posted in a channel carries its request's key in the message metadata, so a
# restart can find what a stopped process already said instead of saying it twice.
ANSWER_EVENT = "incident_bot_answer"
_LOOK_BACK_PAGES = 5


class AnchorStore(Protocol):
    """Where a message kept up to date was posted (bot/store/timers.py)."""

    async def anchor(self, key: str) -> tuple[str, str] | None: ...

    async def set_anchor(self, key: str, channel_id: str, ts: str) -> None: ...


class Respond(Protocol):
    """Through the response_url, or our stand-in where Slack gave no response_url."""

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


class UrlRespond:
    """Posts to a response_url on the Web API client's HTTP session. Bolt's AsyncRespond opens
    a session, and so a connection (a TLS handshake at Slack), for every answer: the largest
    single cost of an answer in issue 16's profile (14 % of the bot's CPU at concurrency 64)."""

    def __init__(self, client: AsyncWebClient, response_url: str) -> None:
        self.client, self.response_url = client, response_url

    async def __call__(self, **message: Any) -> Any:
        webhook = AsyncWebhookClient(
            self.response_url, timeout=self.client.timeout, session=self.client.session
        )
        return await webhook.send_dict(message)


def respond_to(client: AsyncWebClient, route: Route) -> Respond:
    """Through the response_url where Slack gave one (it works where the bot is not a
    member); otherwise chat.postEphemeral to the one person."""
    if route.response_url:
        return UrlRespond(client, route.response_url)
    return EphemeralRespond(client, route.channel_id, route.user_id)


def message(result: Result, command: str) -> dict[str, Any]:
    doc = shown(result, command)
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
                    channel=post.channel_id, unfurl_links=False, **message(post.result, self.command)
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
                await self.client.chat_update(channel=channel_id, ts=ts, **message(post.result, self.command))
            elif not post.only_update:
                response = await self.client.chat_postMessage(
                    channel=post.channel_id, unfurl_links=False, **message(post.result, self.command)
                )
                await anchors.set_anchor(post.anchor, post.channel_id, response["ts"])
        except SlackApiError as exc:
            log.warning(
                "could not post or redraw %s in %s: %s", post.anchor, post.channel_id, slack_error(exc)
            )

    async def answer(
        self,
        team_id: str,
        channel_id: str,
        respond: Respond,
        result: Result,
        key: str | None = None,
        resend: Resend | None = None,
    ) -> None:
        if result.visibility == "none":
            return
        if resend is not None and await self._answered(channel_id, resend):
            # Whatever this answer would be now (often "the bot restarted…"), the channel
            # already has the one given before the crash.
            log.info("%s was answered before the restart: not answered twice", resend.key)
            return
        body = message(result, self.command)
        replace = resend is not None and resend.replaceable
        if result.visibility == "ephemeral":
            await _respond(respond, "ephemeral", body, replace=replace)
            return
        marked = body | (
            {"metadata": {"event_type": ANSWER_EVENT, "event_payload": {"request": key}}} if key else {}
        )
        try:
            response = await self.client.chat_postMessage(channel=channel_id, unfurl_links=False, **marked)
        except SlackApiError as exc:
            if slack_error(exc) in _UNREACHABLE:
                await _respond(respond, "in_channel", body, replace=replace)
            else:
                failure = Failure(
                    what=f"It was done, but Slack refused the answer ({slack_error(exc)}).",
                    changed="yes",
                    next_step=f"`{self.command} info` shows where things stand.",
                )
                await _respond(respond, "ephemeral", message(failure, self.command))
            return
        if isinstance(result, Card):
            await self.cards.posted(team_id, channel_id, response["ts"], result)

    async def _answered(self, channel_id: str, resend: Resend) -> bool:
        """Whether the channel already holds the answer to this request (its key in the
        message metadata), posted since the request came in."""
        cursor: str | None = None
        try:
            for _ in range(_LOOK_BACK_PAGES):
                page = await self.client.conversations_history(
                    channel=channel_id,
                    oldest=f"{resend.since.timestamp() - 5:.6f}",
                    include_all_metadata=True,
                    limit=200,
                    cursor=cursor,
                )
                for posted in page.get("messages") or []:
                    metadata = posted.get("metadata") or {}
                    payload = metadata.get("event_payload") or {}
                    if metadata.get("event_type") == ANSWER_EVENT and payload.get("request") == resend.key:
                        return True
                cursor = (page.get("response_metadata") or {}).get("next_cursor")
                if not cursor:
                    break
        except SlackApiError as exc:
            # Not a member (a private channel answered through the response_url), or a DM:
            # nothing to find there, and a private answer is replaced instead.
            log.info(
                "could not look in %s for an answer given before the restart: %s",
                channel_id,
                slack_error(exc),
            )
        return False

    async def say(self, respond: Respond, result: Result) -> None:
        """An ephemeral word to the one person (a modal that could not open, a repeated click)."""
        await _respond(respond, "ephemeral", message(result, self.command))


async def _respond(respond: Respond, response_type: str, body: dict[str, Any], replace: bool = False) -> None:
    """With `replace`, the answer takes the place of the one a stopped process may have
    given through the same response_url; where Slack has nothing to replace, it is posted."""
    try:
        if replace:
            replaced = await respond(response_type=response_type, replace_original=True, **body)
            if getattr(replaced, "status_code", 200) < 400:
                return
        await respond(response_type=response_type, replace_original=False, **body)
    except Exception as exc:  # Slack's refusal or a network error: one line, not a traceback
        log.warning("could not answer the person: %s: %s", type(exc).__name__, clip(str(exc), 200))


class SlackDelivery:
    """The pipeline's Delivery port, in Slack's terms."""

    def __init__(
        self, client: AsyncWebClient, answers: Answers, form: Callable[[Request, Verb], Awaitable[None]]
    ) -> None:
        self.client, self.answers, self._form = client, answers, form

    async def deliver(self, route: Route, reply: Reply, key: str | None, resend: Resend | None) -> None:
        respond = respond_to(self.client, route)
        await self.answers.answer(route.team_id, route.channel_id, respond, reply.result, key, resend)

    async def follow(self, route: Route, reply: Reply) -> None:
        await self.answers.follow(route.team_id, reply)

    async def say(self, route: Route, result: Result) -> None:
        await self.answers.say(respond_to(self.client, route), result)

    async def form(self, request: Request, verb: Verb) -> None:
        await self._form(request, verb)
