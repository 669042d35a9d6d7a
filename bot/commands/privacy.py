"""Who may see a private incident: the members of its private channel, and admins.

An incident declared private (`declare private …`) is marked in the anchors table, with the
private channel the declare made (bot/commands/timers.py sets the mark). Its name, its
updates, its timeline and its card are for that channel's members: every verb about it is
refused to anyone else (bot/commands/authorize.py), `link` will not show it in another
channel (bot/commands/handlers/incident.py), and `list` leaves it out
(bot/commands/handlers/listing.py). Who is in the channel is Slack's answer
(`conversations.members`, cached a minute), the same read that tells responders.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from bot.commands.invocation import Invocation
from bot.commands.ports import Workspace
from bot.commands.results import Failure
from bot.store.links import Links
from bot.store.timers import TimerStore


def private_key(provider: str, incident_id: str) -> str:
    """Marks an incident declared private (in the anchors table: its private channel's id,
    no message behind it; an empty id where it was marked before the channel was kept)."""
    return f"private:{provider}:{incident_id}"


class Privacy:
    def __init__(
        self,
        anchors: TimerStore,
        links: Links,
        workspace: Workspace,
        is_admin: Callable[[str], Awaitable[bool]],
        command: str,
    ) -> None:
        self.anchors, self.links, self.workspace = anchors, links, workspace
        self.is_admin, self.command = is_admin, command

    async def mark(self, provider: str, incident_id: str, channel_id: str | None) -> None:
        await self.anchors.set_anchor(private_key(provider, incident_id), channel_id or "", "")

    async def channels(self, provider: str, incident_id: str) -> list[str] | None:
        """Its private channel (a list: an older mark names none, and then every channel
        it is linked to counts); None where the incident is not private."""
        found = await self.anchors.anchor(private_key(provider, incident_id))
        if found is None:
            return None
        if found[0]:
            return [found[0]]
        return [link.channel_id for link in await self.links.channels_for(provider, incident_id)]

    async def may_see(self, invocation: Invocation, provider: str, incident_id: str) -> bool:
        """Not private; or asked in its private channel (or a channel one of its members or
        an admin linked to it on purpose: its card is shown there), by one of its members,
        or by an admin."""
        channels = await self.channels(provider, incident_id)
        if channels is None or invocation.channel_id in channels:
            return True
        here = await self.links.get(invocation.team_id, invocation.channel_id)
        if here is not None and (here.provider, here.incident_id) == (provider, incident_id):
            return True
        for channel_id in channels:
            if invocation.user_id in await self.workspace.channel_members(channel_id):
                return True
        return await self.is_admin(invocation.user_id)

    def refusal(self, reference: str, *, linking: bool = False) -> Failure:
        """What anyone else is told: that it is private, and nothing of what it holds."""
        what = f"{reference} is private: only the people in its channel can see it or act on it."
        step = "Ask its lead to invite you to its channel."
        if linking:
            what = f"{reference} is private: this channel was not linked to it."
            step = (
                f"To show it here on purpose, someone in its private channel (or an admin) runs "
                f"`{self.command} link {reference}` in this channel; or ask its lead to invite you."
            )
        return Failure(what=what, next_step=step)
