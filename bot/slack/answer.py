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

from bot.commands.pipeline import Request, Resend, Route
from bot.commands.registry import Verb
from bot.commands.results import Card, Failure, Post, Reply, Result
from bot.present import shown
from bot.redact import clip
from bot.slack.blocks import render_blocks, render_text
from bot.slack.calls import ANSWER_EVENT, SlackUnavailable, calls_of
from bot.slack.cards import Cards
from bot.slack.workspace import slack_error

log = logging.getLogger(__name__)
# Where chat.postMessage cannot reach, the response_url still can (private channels, DMs).
_UNREACHABLE = {"not_in_channel", "channel_not_found", "is_archived", "restricted_action"}
# A slash command's key (bot/slack/app.py): its response_url has no message of its own to
# replace but the answers given through it, so an answer sent again may replace itself.
COMMAND_KEY = "command:"


class AnchorStore(Protocol):
    """Where a message kept up to date was posted (bot/store/timers.py)."""

    async def anchor(self, key: str) -> tuple[str, str] | None: ...

    async def set_anchor(self, key: str, channel_id: str, ts: str) -> None: ...


class Respond(Protocol):
    """Through the response_url, or our stand-in where Slack gave no response_url."""

    where: str  # who and where, for the one line that says an answer was lost

    async def send(
        self, response_type: str, body: dict[str, Any], *, replace: bool = False, key: str | None = None
    ) -> None:
        """Raises where the answer could not be given, after every retry and fallback."""


class Undelivered(Exception):
    """Slack refused a response_url answer, and there was no other way to give it."""


def marked(body: dict[str, Any], key: str | None) -> dict[str, Any]:
    """The message with its request's key in its metadata, so that a restart, or a call
    whose connection dropped, finds what was already said instead of saying it twice."""
    if not key:
        return body
    return body | {"metadata": {"event_type": ANSWER_EVENT, "event_payload": {"request": key}}}


class EphemeralRespond:
    """Answers the one person privately with chat.postEphemeral (in_channel: postMessage)."""

    def __init__(self, client: AsyncWebClient, channel_id: str, user_id: str) -> None:
        self.client, self.channel_id, self.user_id = client, channel_id, user_id
        self.where = f"{user_id} in {channel_id}"

    async def send(
        self, response_type: str, body: dict[str, Any], *, replace: bool = False, key: str | None = None
    ) -> None:
        calls = calls_of(self.client)
        if response_type == "in_channel":
            await calls.post(self.channel_id, key, **marked(body, key))
            return
        await calls.call("chat.postEphemeral", channel=self.channel_id, user=self.user_id, **body)


class UrlRespond:
    """Posts to a response_url on the Web API client's HTTP session. Bolt's AsyncRespond opens
    a session, and so a connection (a TLS handshake at Slack), for every answer: the largest
    single cost of an answer in issue 16's profile (14 % of the bot's CPU at concurrency 64).

    Where the response_url fails after its retries (or refuses: expired, used up), the
    answer goes through the Web API to the same person in the same channel."""

    def __init__(
        self,
        client: AsyncWebClient,
        response_url: str,
        channel_id: str = "",
        user_id: str = "",
        *,
        replaceable: bool = False,
    ) -> None:
        self.client, self.response_url = client, response_url
        self.channel_id, self.user_id, self.replaceable = channel_id, user_id, replaceable
        self.where = f"{user_id or 'someone'} in {channel_id or 'a channel'}"

    async def send(
        self, response_type: str, body: dict[str, Any], *, replace: bool = False, key: str | None = None
    ) -> None:
        sent = {"response_type": response_type, "replace_original": replace, **body}
        try:
            response = await calls_of(self.client).webhook(
                self.response_url, sent, replaceable=self.replaceable
            )
            if response.status_code < 400:
                return
            reason = f"HTTP {response.status_code} {clip(str(response.body), 100)}"
        except SlackUnavailable as exc:
            reason = exc.reason
        if not (self.channel_id and self.user_id):
            raise Undelivered(f"the response_url failed ({reason})")
        log.info("the response_url failed (%s): answering %s through the Web API", reason, self.where)
        await EphemeralRespond(self.client, self.channel_id, self.user_id).send(response_type, body, key=key)


def respond_to(client: AsyncWebClient, route: Route, key: str | None = None) -> Respond:
    """Through the response_url where Slack gave one (it works where the bot is not a
    member); otherwise chat.postEphemeral to the one person."""
    if route.response_url:
        replaceable = bool(key and key.startswith(COMMAND_KEY))
        return UrlRespond(
            client, route.response_url, route.channel_id, route.user_id, replaceable=replaceable
        )
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

    async def follow(self, team_id: str, reply: Reply, key: str | None) -> None:
        """What comes after the one answer: posts elsewhere (a new incident's card), redraws."""
        for n, post in enumerate(reply.posts):
            if post.anchor and self.anchors is not None:
                await self._keep(post, self.anchors(), _post_key(key, n))
                continue
            try:
                response = await calls_of(self.client).post(
                    post.channel_id,
                    _post_key(key, n),
                    unfurl_links=False,
                    **marked(message(post.result, self.command), _post_key(key, n)),
                )
            except SlackApiError as exc:
                log.warning(
                    "could not post to %s for %s: %s",
                    post.channel_id,
                    key or "a request",
                    slack_error(exc),
                )
                continue
            if isinstance(post.result, Card):
                await self.cards.posted(team_id, post.channel_id, response["ts"], post.result)
        if reply.refresh is not None:
            await self.cards.refresh(reply.refresh, reply.capabilities)

    async def _keep(self, post: Post, anchors: AnchorStore, key: str | None) -> None:
        """A message kept up to date: redrawn where it was first posted, else posted."""
        assert post.anchor is not None
        found = await anchors.anchor(post.anchor)
        calls = calls_of(self.client)
        try:
            if found is not None:
                channel_id, ts = found
                await calls.call(
                    "chat.update", channel=channel_id, ts=ts, **message(post.result, self.command)
                )
            elif not post.only_update:
                where = post.channel_id
                if post.direct:  # a person: their DM's channel, where it can be redrawn later
                    opened = await calls.call("conversations.open", users=post.channel_id)
                    where = str(opened["channel"]["id"])
                response = await calls.post(
                    where,
                    key,
                    unfurl_links=False,
                    **marked(message(post.result, self.command), key),
                )
                await anchors.set_anchor(post.anchor, where, response["ts"])
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
            await _respond(respond, "ephemeral", body, replace=replace, key=key)
            return
        try:
            response = await calls_of(self.client).post(
                channel_id, key, unfurl_links=False, **marked(body, key)
            )
        except SlackApiError as exc:
            if slack_error(exc) in _UNREACHABLE or isinstance(exc, SlackUnavailable):
                # The response_url is another way in: where the bot is not a member, and
                # where the Web API kept failing (the response_url is limited apart).
                await _respond(respond, "in_channel", body, replace=replace, key=key)
            else:
                failure = Failure(
                    what=f"It was done, but Slack refused the answer ({slack_error(exc)}).",
                    changed="yes",
                    next_step=f"`{self.command} info` shows where things stand.",
                )
                await _respond(respond, "ephemeral", message(failure, self.command), key=key)
            return
        if isinstance(result, Card):
            await self.cards.posted(team_id, channel_id, response["ts"], result)

    async def _answered(self, channel_id: str, resend: Resend) -> bool:
        """Whether the channel already holds the answer to this request (its key in the
        message metadata), posted since the request came in. Not a member (a private
        channel answered through the response_url), or a DM: nothing to find there, and a
        private answer is replaced instead."""
        since = resend.since.timestamp() - 5
        return await calls_of(self.client).find(channel_id, resend.key, since) is not None

    async def say(self, respond: Respond, result: Result) -> None:
        """An ephemeral word to the one person (a modal that could not open, a repeated click)."""
        await _respond(respond, "ephemeral", message(result, self.command))


async def _respond(
    respond: Respond, response_type: str, body: dict[str, Any], replace: bool = False, key: str | None = None
) -> None:
    """With `replace`, the answer takes the place of the one a stopped process may have
    given through the same response_url; where Slack has nothing to replace, it is posted.
    What could not be given after every retry and every other way is one WARNING line
    naming the request: never silence, never a traceback."""
    try:
        await respond.send(response_type, body, replace=replace, key=key)
    except Exception as exc:
        log.warning(
            "could not answer %s (%s) after every retry: %s: %s",
            key or "a request",
            respond.where,
            type(exc).__name__,
            clip(str(exc).splitlines()[0] if str(exc) else "", 200),
        )


def _post_key(key: str | None, n: int) -> str | None:
    """A post after the answer (a new incident's card, a kept message) is marked with its
    request's key and its place among the posts, so it too is looked for before it is
    posted again; never equal to the answer's own key, which a restart looks for."""
    return f"{key}:post:{n}" if key else None


class SlackDelivery:
    """The pipeline's Delivery port, in Slack's terms."""

    def __init__(
        self, client: AsyncWebClient, answers: Answers, form: Callable[[Request, Verb], Awaitable[None]]
    ) -> None:
        self.client, self.answers, self._form = client, answers, form

    async def deliver(self, route: Route, reply: Reply, key: str | None, resend: Resend | None) -> None:
        respond = respond_to(self.client, route, key)
        await self.answers.answer(route.team_id, route.channel_id, respond, reply.result, key, resend)

    async def follow(self, route: Route, reply: Reply, key: str | None) -> None:
        await self.answers.follow(route.team_id, reply, key)

    async def say(self, route: Route, result: Result) -> None:
        await self.answers.say(respond_to(self.client, route), result)

    async def form(self, request: Request, verb: Verb) -> None:
        await self._form(request, verb)
