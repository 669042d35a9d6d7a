"""The command layer's Workspace port, over Slack's Web API."""

from __future__ import annotations

import time

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.commands.ports import WorkspaceError
from bot.domain import Person

TZ_TTL = 3600.0


def slack_error(exc: SlackApiError) -> str:
    """Slack's error name, or the HTTP status where the answer was not Slack's JSON."""
    data = exc.response.data
    if isinstance(data, dict) and data.get("error"):
        return str(data["error"])
    return f"HTTP {exc.response.status_code}"


class SlackWorkspace:
    def __init__(self, client: AsyncWebClient) -> None:
        self.client = client
        self._tz: dict[str, tuple[float, str]] = {}
        self._emails: dict[str, tuple[float, str | None]] = {}
        self._by_email: dict[str, tuple[float, str | None]] = {}

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

    async def create_channel(self, name: str) -> tuple[str, str]:
        for attempt in range(1, 6):
            candidate = name if attempt == 1 else f"{name[: 80 - 2]}-{attempt}"
            try:
                response = await self.client.conversations_create(name=candidate)
            except SlackApiError as exc:
                error = slack_error(exc)
                if error == "name_taken":
                    continue
                raise WorkspaceError(f"Slack answered {error}") from None
            channel = response["channel"]
            return channel["id"], channel["name"]
        raise WorkspaceError(f"#{name} and its variants are all taken")

    async def invite(self, channel_id: str, user_ids: list[str]) -> None:
        try:
            await self.client.conversations_invite(channel=channel_id, users=",".join(user_ids))
        except SlackApiError as exc:
            if slack_error(exc) not in ("already_in_channel", "cant_invite_self"):
                raise WorkspaceError(f"Slack answered {slack_error(exc)}") from None
