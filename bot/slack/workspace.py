"""The command layer's Workspace port, over Slack's Web API."""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot import metrics
from bot.commands.ports import WorkspaceError
from bot.commands.retro import Document, Published, RetroDraft
from bot.domain import ChatMessage, Person
from bot.slack.documents import Documents

log = logging.getLogger(__name__)
TZ_TTL = 3600.0
MEMBERS_TTL = 60.0  # who is in a channel or a group: a minute late at worst


def slack_error(exc: SlackApiError) -> str:
    """Slack's error name, or the HTTP status where the answer was not Slack's JSON."""
    data = exc.response.data
    error = (
        str(data["error"])
        if isinstance(data, dict) and data.get("error")
        else f"HTTP {exc.response.status_code}"
    )
    metrics.slack_failed(getattr(exc.response, "api_url", None), error)
    return error


class SlackWorkspace:
    def __init__(self, client: AsyncWebClient) -> None:
        self.client = client
        self._tz: dict[str, tuple[float, str]] = {}
        self._emails: dict[str, tuple[float, str | None]] = {}
        self._by_email: dict[str, tuple[float, str | None]] = {}
        self._members: dict[str, tuple[float, frozenset[str]]] = {}  # channel or user group
        self._groups: tuple[float, dict[str, str]] | None = None  # handle → user group id
        self.documents = Documents(client)  # the retro draft: a canvas, or a file

    async def find_user(self, name: str) -> Person | None:
        # Slack's text carries real mentions (<@U…>) for anyone picked from autocomplete;
        # a bare "@name" is somebody Slack itself did not recognise, so neither do we.
        return None

    async def user_timezone(self, user_id: str) -> str:
        cached = self._tz.get(user_id)
        if cached and time.monotonic() - cached[0] < TZ_TTL:
            return cached[1]
        try:
            response = await self.client.users_info(user=user_id)
            tz = (response.get("user") or {}).get("tz") or "UTC"
        except SlackApiError:
            return "UTC"
        self._tz[user_id] = (time.monotonic(), tz)
        return tz

    async def email_of(self, slack_id: str) -> str | None:
        """Directory: PagerDuty and FireHydrant find people by the email Slack has for them."""
        cached = self._emails.get(slack_id)
        if cached and time.monotonic() - cached[0] < TZ_TTL:
            return cached[1]
        try:
            response = await self.client.users_info(user=slack_id)
        except SlackApiError:
            return None
        user = response.get("user") or {}
        email = (user.get("profile") or {}).get("email")
        self._emails[slack_id] = (time.monotonic(), email)
        if user.get("tz"):
            self._tz[slack_id] = (time.monotonic(), user["tz"])
        return email

    async def slack_id_for(self, email: str) -> str | None:
        key = email.lower()
        cached = self._by_email.get(key)
        if cached and time.monotonic() - cached[0] < TZ_TTL:
            return cached[1]
        try:
            response = await self.client.users_lookupByEmail(email=email)
            found = (response.get("user") or {}).get("id")
        except SlackApiError as exc:
            if slack_error(exc) != "users_not_found":
                return None  # a passing fault: don't remember it
            found = None
        self._by_email[key] = (time.monotonic(), found)
        return found

    async def create_channel(self, name: str, private: bool = False) -> tuple[str, str]:
        for attempt in range(1, 6):
            candidate = name if attempt == 1 else f"{name[: 80 - 2]}-{attempt}"
            try:
                response = await self.client.conversations_create(name=candidate, is_private=private)
            except SlackApiError as exc:
                error = slack_error(exc)
                if error == "name_taken":
                    continue
                raise WorkspaceError(f"Slack answered {error}") from None
            channel = response["channel"]
            return channel["id"], channel["name"]
        raise WorkspaceError(f"#{name} and its variants are all taken")

    async def join(self, channel_id: str) -> bool:
        try:
            await self.client.conversations_join(channel=channel_id)
        except SlackApiError as exc:
            error = slack_error(exc)
            if error in ("method_not_supported_for_channel_type", "channel_not_found", "is_archived"):
                return False  # private (only an invite lets the bot in), or gone
            raise WorkspaceError(f"Slack answered {error}") from None
        return True

    async def archive(self, channel_id: str) -> str | None:
        """A resolved incident's channel put away (bot/commands/archive.py). Archiving
        takes the bot out of the channel, as it does everyone's apps."""
        try:
            await self.client.conversations_archive(channel=channel_id)
        except SlackApiError as exc:
            error = slack_error(exc)
            return None if error == "already_archived" else error
        return None

    async def unarchive(self, channel_id: str) -> str | None:
        """Slack's documentation says bot tokens cannot unarchive a channel: with the bot no
        longer in it (archiving took it out), Slack answers `not_in_channel`. Tried all the
        same, and Slack's answer is told, so people know to click Unarchive themselves."""
        try:
            await self.client.conversations_unarchive(channel=channel_id)
        except SlackApiError as exc:
            error = slack_error(exc)
            return None if error == "not_archived" else error
        return None

    async def invite(self, channel_id: str, user_ids: list[str]) -> None:
        try:
            await self.client.conversations_invite(channel=channel_id, users=",".join(user_ids))
        except SlackApiError as exc:
            error = slack_error(exc)
            if error == "already_in_channel" and len(user_ids) > 1:
                # Slack refuses the whole call for one who is in already (joined since the
                # members were read): the others, once more, from a fresh read.
                self._members.pop(f"c:{channel_id}", None)
                members = await self.channel_members(channel_id)
                rest = [u for u in user_ids if u not in members]
                if rest and len(rest) < len(user_ids):
                    await self.invite(channel_id, rest)
                return
            if error not in ("already_in_channel", "cant_invite_self"):
                raise WorkspaceError(f"Slack answered {error}") from None
        cached = self._members.get(f"c:{channel_id}")
        if cached is not None:
            # In the channel now: a second invite within the cache's minute must not ask
            # Slack to invite them again (it refuses the whole call for one member).
            self._members[f"c:{channel_id}"] = (cached[0], cached[1] | frozenset(user_ids))

    async def channel_members(self, channel_id: str) -> frozenset[str]:
        """Who is in the channel (conversations.members, every page), cached briefly: a
        permission check must not cost a Slack call per command."""
        return await self._cached_members(f"c:{channel_id}", self._fetch_channel, channel_id)

    async def group_members(self, group_id: str) -> frozenset[str]:
        """The members of a Slack user group (usergroups.users.list), cached briefly."""
        return await self._cached_members(f"g:{group_id}", self._fetch_group, group_id)

    async def find_group(self, handle: str) -> str | None:
        wanted = handle.strip().lstrip("@").lower()
        groups = await self._group_ids()
        return groups.get(wanted) if groups is not None else None

    async def group_handles(self) -> list[str]:
        groups = await self._group_ids()
        return sorted(groups) if groups is not None else []

    async def _group_ids(self) -> dict[str, str] | None:
        """usergroups.list, read at most once a minute: handles are few and change rarely.
        None: Slack would not list them (the cause is logged)."""
        if self._groups is None or time.monotonic() - self._groups[0] >= MEMBERS_TTL:
            try:
                response = await self.client.usergroups_list()
            except SlackApiError as exc:
                log.warning("could not list the user groups: %s", slack_error(exc))
                return None
            listed = response.get("usergroups") or []
            groups = {str(g.get("handle", "")).lower(): str(g["id"]) for g in listed if g.get("handle")}
            self._groups = (time.monotonic(), groups)
        return self._groups[1]

    async def _cached_members(
        self, key: str, fetch: Callable[[str], Awaitable[frozenset[str]]], what: str
    ) -> frozenset[str]:
        cached = self._members.get(key)
        if cached and time.monotonic() - cached[0] < MEMBERS_TTL:
            return cached[1]
        try:
            found = await fetch(what)
        except SlackApiError as exc:
            log.warning("could not list the members of %s: %s", what, slack_error(exc))
            return frozenset()  # unknown: nobody is let in on it, and nothing is remembered
        self._members[key] = (time.monotonic(), found)
        return found

    async def _fetch_channel(self, channel_id: str) -> frozenset[str]:
        members: set[str] = set()
        cursor = None
        for _ in range(50):  # 50 pages of 1,000: far past any incident channel
            response = await self.client.conversations_members(channel=channel_id, limit=1000, cursor=cursor)
            members.update(response.get("members") or [])
            cursor = (response.get("response_metadata") or {}).get("next_cursor")
            if not cursor:
                break
        return frozenset(members)

    async def _fetch_group(self, group_id: str) -> frozenset[str]:
        response = await self.client.usergroups_users_list(usergroup=group_id)
        return frozenset(response.get("users") or [])

    async def publish_retro(self, channel_id: str, draft: RetroDraft, earlier: Document | None) -> Published:
        """bot/slack/documents.py: a canvas in the channel, or a Markdown file."""
        return await self.documents.publish(channel_id, draft, earlier)

    async def message(self, channel_id: str, ts: str) -> ChatMessage | None:
        """conversations.history ending at `ts` (limit 1) finds a message of the channel;
        a reply in a thread is not there, and is found among conversations.replies."""
        try:
            response = await self.client.conversations_history(
                channel=channel_id, latest=ts, inclusive=True, limit=1
            )
            found = _the(response.get("messages"), ts)
            if found is None:
                # The thread's parent comes first whatever the range: the reply is second.
                response = await self.client.conversations_replies(
                    channel=channel_id, ts=ts, oldest=ts, latest=ts, inclusive=True, limit=2
                )
                found = _the(response.get("messages"), ts)
            if found is None:
                return None
            link = await self.client.chat_getPermalink(channel=channel_id, message_ts=ts)
        except SlackApiError as exc:
            log.info("could not read message %s in %s: %s", ts, channel_id, slack_error(exc))
            return None
        user = found.get("user")
        return ChatMessage(
            channel_id=channel_id,
            ts=ts,
            at=datetime.fromtimestamp(float(ts), UTC),
            author=Person(slack_id=user) if isinstance(user, str) and user else None,
            text=str(found.get("text") or ""),
            permalink=link.get("permalink"),
            files=[str(f.get("name") or f.get("title") or "file") for f in found.get("files") or []],
            reactions=frozenset(str(r.get("name")) for r in found.get("reactions") or [] if r.get("count")),
        )


def _the(messages: Any, ts: str) -> dict[str, Any] | None:
    """The message with exactly this ts: `latest` with `inclusive` may answer an older one."""
    for message in messages or []:
        if isinstance(message, dict) and message.get("ts") == ts:
            return message
    return None
