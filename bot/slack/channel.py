"""The incident channel's topic and bookmarks, following the incident.

Kept beside the card (bot/slack/cards.py), which calls `follow` wherever it draws an
incident in a channel: after a command and after a provider's webhook alike. What was
last set is kept by key (the store's `kept`, reached through the `Kept` port), so a
topic is set only when its words change, a restart does not set it again, and a
bookmark is edited in place rather than added twice. Like the card, none of this ever
costs anyone their answer: Slack's refusal is logged, and the next change tries again.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any, Protocol

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.commands.channel import call_key, topic_of
from bot.domain import Incident, incident_stamp
from bot.outage import log_failure
from bot.slack.calls import calls_of
from bot.slack.workspace import slack_error

log = logging.getLogger(__name__)
PAGE, CALL = "page", "call"  # the bookmark kinds this module keeps; others may keep more (a retro)
TITLE_MOST = 100  # a bookmark's title, kept short enough for the channel's header
# Slack's answers meaning the bookmark the bot remembers is gone (someone removed it).
_GONE = frozenset({"not_found", "bookmark_not_found", "invalid_bookmark_id"})
_PUT_AWAY = frozenset({"is_archived"})  # the channel was archived: nothing to keep there


class Kept(Protocol):
    """Small values kept by key (the store's `kept`, bot/store/kept.py)."""

    async def get(self, key: str) -> dict[str, Any] | None: ...

    async def put(self, key: str, value: dict[str, Any]) -> None: ...

    async def swap(self, key: str, value: dict[str, Any], *, stamp: str | None = None) -> bool: ...

    async def forget(self, key: str) -> None: ...


def topic_key(team_id: str, channel_id: str) -> str:
    return f"topic:{team_id}:{channel_id}"


def bookmark_key(team_id: str, channel_id: str, kind: str) -> str:
    return f"bookmark:{team_id}:{channel_id}:{kind}"


class ChannelKeeper:
    def __init__(self, client: AsyncWebClient, kept: Callable[[], Kept]) -> None:
        self.client = client
        self.kept = kept  # a getter: the store opens on server start-up, after this is built
        # One change at a time per channel: two redraws at once must not add one bookmark twice.
        self._locks: dict[str, asyncio.Lock] = {}

    def _lock(self, team_id: str, channel_id: str) -> asyncio.Lock:
        if len(self._locks) > 10_000:
            self._locks = {k: v for k, v in self._locks.items() if v.locked()}
        return self._locks.setdefault(f"{team_id}:{channel_id}", asyncio.Lock())

    async def follow(self, team_id: str, channel_id: str, incident: Incident) -> None:
        """The channel's topic and bookmarks as the incident now is. Never raises."""
        try:
            async with self._lock(team_id, channel_id):
                await self._topic(team_id, channel_id, topic_of(incident), incident_stamp(incident))
                if incident.url:
                    await self._bookmark(team_id, channel_id, PAGE, _page_title(incident), incident.url)
                call = incident.call_url or await self._kept_call(incident)
                if call:
                    await self._bookmark(team_id, channel_id, CALL, "Join the call", call)
        except Exception as exc:
            log_failure(log, exc, "could not keep the topic and bookmarks of %s", channel_id)

    async def keep_bookmark(self, team_id: str, channel_id: str, kind: str, title: str, link: str) -> bool:
        """Add the channel's bookmark of this kind (`retro`, say), or edit it where it is
        already there; nothing where it already reads so. False where Slack refused it.
        Never raises."""
        try:
            async with self._lock(team_id, channel_id):
                return await self._bookmark(team_id, channel_id, kind, title, link)
        except Exception as exc:
            log_failure(log, exc, "could not keep the %s bookmark of %s", kind, channel_id)
            return False

    async def _kept_call(self, incident: Incident) -> str | None:
        found = await self.kept().get(call_key(incident.provider, incident.id))
        url = found.get("url") if found else None
        return url if isinstance(url, str) else None

    async def _topic(self, team_id: str, channel_id: str, topic: str, stamp: str | None) -> None:
        """`stamp` (`incident_stamp`): a topic drawn from an older state of the incident than
        the one already set is not set (bot/store/kept.py `swap`)."""
        key = topic_key(team_id, channel_id)
        if not await self.kept().swap(key, {"topic": topic}, stamp=stamp):
            return  # the channel already says so, or something newer
        try:
            await calls_of(self.client).call("conversations.setTopic", channel=channel_id, topic=topic)
        except SlackApiError as exc:
            # Not set: forgotten, so the next change tries again.
            await self.kept().forget(key)
            error = slack_error(exc)
            # An archived channel (bot/commands/archive.py) takes no topic: that is no fault.
            (log.info if error in _PUT_AWAY else log.warning)(
                "could not set the topic of %s: %s", channel_id, error
            )

    async def _bookmark(self, team_id: str, channel_id: str, kind: str, title: str, link: str) -> bool:
        key = bookmark_key(team_id, channel_id, kind)
        title = title[:TITLE_MOST]
        known = await self.kept().get(key)
        if known is not None and known.get("title") == title and known.get("link") == link:
            return True
        calls = calls_of(self.client)
        try:
            if known is not None and known.get("id"):
                try:
                    await calls.call(
                        "bookmarks.edit",
                        channel_id=channel_id,
                        bookmark_id=known["id"],
                        title=title,
                        link=link,
                    )
                    await self.kept().put(key, {"id": known["id"], "title": title, "link": link})
                    return True
                except SlackApiError as exc:
                    if slack_error(exc) not in _GONE:
                        raise
                    # Removed by someone meanwhile: added again, as the incident still has it.
            response = await calls.call(
                "bookmarks.add", channel_id=channel_id, title=title, type="link", link=link
            )
        except SlackApiError as exc:
            error = slack_error(exc)
            (log.info if error in _PUT_AWAY else log.warning)(
                "could not bookmark the %s in %s: %s", kind, channel_id, error
            )
            return False
        made = (response.get("bookmark") or {}).get("id")
        await self.kept().put(key, {"id": made, "title": title, "link": link})
        return True


def _page_title(incident: Incident) -> str:
    """`INC-3 at incident.io`: where the incident's own page is."""
    label = incident.pulse.label if incident.pulse else None
    return f"{incident.reference} at {label}" if label else f"{incident.reference}: the incident's page"
