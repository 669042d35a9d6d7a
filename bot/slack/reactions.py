"""📌 on a message, and the message shortcut *Add to incident timeline*: the message into
the incident's timeline, as the `pin` verb (and `unpin` when the 📌 is taken off).

Slack sends `reaction_added` and `reaction_removed` (Events API) for every reaction in a
channel the bot is in, and a `message_action` interaction for the shortcut. Each becomes a
`Request` for the same pipeline as a command: in the durable inbox before the 200 (the
event_id, or the shortcut's trigger_id, makes a retry the same request), answered to the
one who reacted with chat.postEphemeral (the shortcut: through its response_url).
"""

from __future__ import annotations

from typing import Any

from bot.commands import registry
from bot.commands.invocation import Invocation
from bot.commands.pipeline import Request
from bot.slack import ids
from bot.slack.interactive import route_of

EVENT_TYPE = "reaction_added"
REMOVED_EVENT_TYPE = "reaction_removed"
EVENT_TYPES = (EVENT_TYPE, REMOVED_EVENT_TYPE)


def reaction_request(body: dict[str, Any], emoji: str) -> Request | None:
    """The pipeline's Request for a `emoji` reaction added to (or removed from) a message;
    None for every other reaction, and for anything else."""
    event = body.get("event")
    if body.get("type") != "event_callback" or not isinstance(event, dict):
        return None
    kind = event.get("type")
    if kind not in EVENT_TYPES or event.get("reaction") != emoji:
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
    verb = registry.pinner(kind == EVENT_TYPE)
    invocation = Invocation(
        text=f"{verb.name} {ts}",
        user_id=user,
        channel_id=channel,
        team_id=team,
        request_id=event_id,
        unasked=True,
    )
    return Request(
        key=f"reaction:{team}:{event_id}",
        kind="command",
        invocation=invocation,
        route=route_of(invocation, None),  # answered with chat.postEphemeral
    )


def is_reaction(body: dict[str, Any]) -> bool:
    """A reaction event of any emoji: the ones that are no 📌 are acked and dropped here,
    not handed to Bolt, which has no listener for them."""
    event = body.get("event")
    return (
        body.get("type") == "event_callback" and isinstance(event, dict) and event.get("type") in EVENT_TYPES
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
