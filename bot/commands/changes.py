"""What follows a change made through the bot, as subscribers of one event.

The service makes the change and publishes a `Change`; each follower (reminders re-armed
and the announcement's posts, the auto-invites of a new severity, the incident's other
channels told of a change made from elsewhere, the notifier's note of what the bot wrote)
reads it and answers with the posts it wants made. None reaches back into the service, so
a new kind of follow-up is one more follower, not one more branch in the command path.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from bot.commands.invocation import Invocation
from bot.commands.parsed import ParsedCommand
from bot.commands.registry import Verb
from bot.commands.results import ActedElsewhere, Post, Reply
from bot.domain import Incident, Person
from bot.providers.base import Provider
from bot.store.db import Store


@dataclass(frozen=True)
class Change:
    """A write that succeeded (`reply.outcome == "ok"`) on one incident."""

    verb: Verb
    parsed: ParsedCommand
    invocation: Invocation
    actor: Person
    provider: Provider
    incident_id: str
    reply: Reply
    incident: Incident | None  # as the change left it, where the answer carries it
    before: Incident | None  # as the bot knew it before (None: not known)
    command: str  # the workspace's slash command, for the words a post shows


Follower = Callable[[Change], Awaitable[list[Post]]]


class ToldElsewhere:
    """A change typed in a channel that is not the incident's own: the incident's channels
    hear who did what, and from where."""

    def __init__(
        self, store: Store, own_channel: Callable[[Invocation, Provider, str], Awaitable[bool]]
    ) -> None:
        self.store, self.own_channel = store, own_channel

    async def __call__(self, change: Change) -> list[Post]:
        if change.verb.about_this_channel or not change.verb.needs_incident:
            return []
        if await self.own_channel(change.invocation, change.provider, change.incident_id):
            return []
        told = ActedElsewhere(
            actor=change.actor,
            command=change.command,
            text=change.invocation.text,
            channel_id=change.invocation.channel_id,
            channel_name=change.invocation.channel_name,
        )
        links = await self.store.links.channels_for(change.provider.name, change.incident_id)
        return [Post(channel_id=link.channel_id, result=told) for link in links]
