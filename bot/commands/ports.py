"""What the command layer needs from the chat platform, without knowing which one it is.

Slack implements it with the Web API; the shell implements it in memory. Keeping it this
small is what lets `declare` create a channel in both without either leaking in here.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

from bot.domain import ChatMessage, Person

if TYPE_CHECKING:
    from bot.commands.retro import Document, Published, RetroDraft


class WorkspaceError(Exception):
    """The chat platform refused an operation; the message is fit to show."""


class Workspace(Protocol):
    async def find_user(self, name: str) -> Person | None:
        """A person from a typed name (no mention id); None when nobody matches."""

    async def create_channel(self, name: str, private: bool = False) -> tuple[str, str]:
        """Create a channel named `name` (or a free variant of it): (id, actual name)."""

    async def join(self, channel_id: str) -> bool:
        """Join a public channel, so the bot can post, pin and redraw there; False where it
        cannot join by itself (a private channel: it must be invited)."""

    async def invite(self, channel_id: str, user_ids: list[str]) -> None: ...

    async def channel_members(self, channel_id: str) -> frozenset[str]:
        """Who is in the channel (empty where that cannot be told)."""

    async def group_members(self, group_id: str) -> frozenset[str]:
        """Who is in a user group of the platform (admins may be one)."""

    async def find_group(self, handle: str) -> str | None:
        """A user group's id from its handle (`sre-leads`): for a handle typed rather than
        picked from autocomplete, and for the policy file's auto-invites. None: no such group."""

    async def group_handles(self) -> list[str]:
        """Every user group's handle, for a form's list of whom a page may go to."""

    async def user_timezone(self, user_id: str) -> str | None:
        """The person's zone (IANA name), where the platform knows it; None: keep the
        invocation's own."""

    async def message(self, channel_id: str, ts: str) -> ChatMessage | None:
        """One message of a channel (a thread's reply too), with its link: what a 📌 puts
        in the timeline. None where it cannot be read (gone, or a channel the bot is not in)."""

    async def publish_retro(self, channel_id: str, draft: RetroDraft, earlier: Document | None) -> Published:
        """The retro draft as a document everyone in the channel can open and edit: `earlier`
        (made by a previous `retro`) brought up to date where it can be, else a new one.
        Raises WorkspaceError where the platform takes it in no form."""
