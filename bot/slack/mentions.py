"""`@incident help`, `@incident status fixing`: a mention answered like the slash command.

Slack sends an `app_mention` event (Events API) for each message that mentions the bot
in a channel it is in. The words after the mention are the command; the answer goes to
the one who wrote it (chat.postEphemeral: an event has no response_url). The same event
delivered again (Slack retries after 3 s) has the same event_id, so it runs once.
"""

from __future__ import annotations

import re
from typing import Any

from bot.commands.invocation import Invocation
from bot.commands.pipeline import Request
from bot.slack.interactive import route_of

EVENT_TYPE = "app_mention"
# Everything up to and including the first mention: "hey <@UBOT> help" → "help".
_UP_TO_MENTION = re.compile(r"^.*?<@[UW][A-Z0-9]+(?:\|[^>]*)?>[\s:,]*", re.DOTALL)


def mention_request(body: dict[str, Any]) -> Request | None:
    """The pipeline's Request for an app_mention event; None for anything else."""
    event = body.get("event")
    if body.get("type") != "event_callback" or not isinstance(event, dict):
        return None
    if event.get("type") != EVENT_TYPE or event.get("bot_id") or event.get("subtype"):
        return None  # not a mention, or a bot's (our own answers never loop back)
    user, channel = event.get("user"), event.get("channel")
    if not isinstance(user, str) or not isinstance(channel, str):
        return None
    text = str(event.get("text") or "")
    team = str(body.get("team_id") or event.get("team") or "T0")
    event_id = str(body.get("event_id") or f"{channel}:{event.get('ts')}")
    invocation = Invocation(
        text=_UP_TO_MENTION.sub("", text, count=1).strip(),
        user_id=user,
        channel_id=channel,
        team_id=team,
        request_id=event_id,
    )
    return Request(
        key=f"mention:{team}:{event_id}",
        kind="command",
        invocation=invocation,
        route=route_of(invocation, None),  # answered with chat.postEphemeral
        forms=False,  # an event has no trigger_id to open a modal with
    )
