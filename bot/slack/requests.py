"""Slack's payloads → the pipeline's `Request`s: every translation from what Slack sends to
what the command layer runs, in one module (the slash command, a click's or a modal's
invocation, an `@incident` mention, a 📌 reaction and the *Add to incident timeline*
shortcut). Each is called after the request's signature was checked, once, by
bot/slack/server.py (or arrived over Socket Mode's authenticated socket).

A mention: the words after `@incident` are the command, answered to the one who wrote it
(chat.postEphemeral: an event has no response_url). A reaction and the shortcut become the
`pin` verb (and `unpin` when the 📌 is taken off). The same event delivered again (Slack
retries after 3 s) has the same event_id, and a shortcut its trigger_id: it runs once.
"""

from __future__ import annotations

import re
from typing import Any

from bot.commands import registry
from bot.commands.invocation import Invocation
from bot.commands.pipeline import Request, Route
from bot.slack import ids
from bot.slack.answer import COMMAND_KEY


def command_request(body: dict[str, Any]) -> Request:
    """A slash command's form fields as the pipeline's Request: HTTP, fast path and Bolt alike."""
    invocation = Invocation(
        text=body.get("text", ""),
        user_id=body.get("user_id", ""),
        user_name=body.get("user_name"),
        channel_id=body.get("channel_id", ""),
        channel_name=body.get("channel_name"),
        team_id=body.get("team_id") or "T0",
        request_id=body.get("trigger_id"),
    )
    trigger_id = body.get("trigger_id")
    return Request(
        # trigger_id is unique per invocation: the same request sent twice runs once.
        key=f"{COMMAND_KEY}{invocation.team_id}:{trigger_id}" if trigger_id else None,
        kind="command",
        invocation=invocation,
        route=route_of(invocation, body.get("response_url"), trigger_id),
        forms=bool(trigger_id),
    )


def interaction_invocation(body: dict[str, Any], channel_id: str, text: str = "") -> Invocation:
    user = body.get("user") or {}
    return Invocation(
        text=text,
        user_id=str(user.get("id", "")),
        user_name=user.get("username") or user.get("name"),
        channel_id=channel_id,
        team_id=(body.get("team") or {}).get("id") or user.get("team_id") or "T0",
        request_id=body.get("trigger_id"),
    )


def route_of(invocation: Invocation, response_url: str | None, trigger_id: str | None = None) -> Route:
    return Route(
        team_id=invocation.team_id,
        channel_id=invocation.channel_id,
        user_id=invocation.user_id,
        response_url=response_url,
        trigger_id=trigger_id,
    )


MENTION_EVENT = "app_mention"
# Everything up to and including the first mention: "hey <@UBOT> help" → "help".
_UP_TO_MENTION = re.compile(r"^.*?<@[UW][A-Z0-9]+(?:\|[^>]*)?>[\s:,]*", re.DOTALL)


def mention_request(body: dict[str, Any]) -> Request | None:
    """The pipeline's Request for an app_mention event; None for anything else."""
    event = body.get("event")
    if body.get("type") != "event_callback" or not isinstance(event, dict):
        return None
    if event.get("type") != MENTION_EVENT or event.get("bot_id") or event.get("subtype"):
        return None  # not a mention, or a bot's (our own answers never loop back)
    user, channel = event.get("user"), event.get("channel")
    if not isinstance(user, str) or not isinstance(channel, str):
        return None
    text = str(event.get("text") or "")
    team = str(body.get("team_id") or event.get("team") or "T0")
    event_id = str(body.get("event_id") or f"{channel}:{event.get('ts')}")
    words = _UP_TO_MENTION.sub("", text, count=1).strip()
    return _event_request("mention", words, user, channel, team, event_id)


def _event_request(
    kind: str, text: str, user: str, channel: str, team: str, event_id: str, *, unasked: bool = False
) -> Request:
    """An Events API event as a command: keyed by its event_id (Slack's retry is the same
    request), answered with chat.postEphemeral (an event has no response_url), no form (no
    trigger_id to open one with)."""
    invocation = Invocation(
        text=text, user_id=user, channel_id=channel, team_id=team, request_id=event_id, unasked=unasked
    )
    return Request(
        key=f"{kind}:{team}:{event_id}",
        kind="command",
        invocation=invocation,
        route=route_of(invocation, None),
        forms=False,
    )


REACTION_ADDED = "reaction_added"
REACTION_REMOVED = "reaction_removed"
REACTION_EVENTS = (REACTION_ADDED, REACTION_REMOVED)


def reaction_request(body: dict[str, Any], emoji: str) -> Request | None:
    """The pipeline's Request for a `emoji` reaction added to (or removed from) a message;
    None for every other reaction, and for anything else."""
    event = body.get("event")
    if body.get("type") != "event_callback" or not isinstance(event, dict):
        return None
    kind = event.get("type")
    if kind not in REACTION_EVENTS or event.get("reaction") != emoji:
        return None
    item = event.get("item")
    user = event.get("user")
    if not isinstance(item, dict) or item.get("type") != "message" or not isinstance(user, str):
        return None  # a reaction to a file, or a bot's: nothing to pin
    channel, ts = item.get("channel"), item.get("ts")
    if not isinstance(channel, str) or not isinstance(ts, str):
        return None
    team = str(body.get("team_id") or "T0")
    event_id = str(body.get("event_id") or f"{kind}:{channel}:{ts}:{user}:{event.get('event_ts')}")
    verb = registry.pinner(kind == REACTION_ADDED)
    return _event_request("reaction", f"{verb.name} {ts}", user, channel, team, event_id, unasked=True)


def is_reaction(body: dict[str, Any]) -> bool:
    """A reaction event of any emoji: the ones that are no 📌 are acked and dropped here,
    not handed to Bolt, which has no listener for them."""
    event = body.get("event")
    return (
        body.get("type") == "event_callback"
        and isinstance(event, dict)
        and event.get("type") in REACTION_EVENTS
    )


def shortcut_request(payload: dict[str, Any]) -> Request | None:
    """The pipeline's Request for the *Add to incident timeline* shortcut; None otherwise."""
    if payload.get("type") != "message_action" or payload.get("callback_id") != ids.PIN_SHORTCUT:
        return None
    user, channel, team = payload.get("user"), payload.get("channel"), payload.get("team")
    message = payload.get("message")
    ts = payload.get("message_ts") or (message.get("ts") if isinstance(message, dict) else None)
    if not (isinstance(user, dict) and isinstance(channel, dict) and isinstance(ts, str)):
        return None
    trigger = str(payload.get("trigger_id") or f"{channel.get('id')}:{ts}:{payload.get('action_ts')}")
    invocation = Invocation(
        text=f"{registry.pinner(True).name} {ts}",
        user_id=str(user.get("id") or ""),
        user_name=user.get("name") if isinstance(user.get("name"), str) else None,
        channel_id=str(channel.get("id") or ""),
        channel_name=channel.get("name") if isinstance(channel.get("name"), str) else None,
        team_id=str(team.get("id")) if isinstance(team, dict) and team.get("id") else "T0",
        request_id=trigger,
    )
    response_url = payload.get("response_url")
    return Request(
        key=f"shortcut:{trigger}",
        kind="command",
        invocation=invocation,
        route=route_of(invocation, response_url if isinstance(response_url, str) else None),
    )
