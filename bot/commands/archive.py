"""A resolved incident's channel archived a while after (INCIDENT_ARCHIVE_AFTER), and
unarchived when the incident is reopened.

On the durable timers (bot/store/timers.py), so a restart keeps the date: one timer per
incident, first the warning (a day before, in the channel, saying how to keep it open),
then the archive. Every change to the incident, made through the bot or heard from the
provider's webhook, passes through `changed`: a resolution arms the timer, a reopening
cancels it and unarchives what the bot archived. Each firing reads the incident again,
so one reopened meanwhile (a webhook missed) is never archived.

Slack itself is reached through the `Archives` port, which the Slack workspace implements;
the shell has no channels to archive.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Protocol, runtime_checkable

from bot.clock import Clock
from bot.commands.changes import Change
from bot.commands.channel import ArchiveSoon, NotUnarchived
from bot.commands.fresh import FreshIncidents
from bot.commands.results import Post, Quiet, Reply
from bot.commands.timers import NEVER, quiet_timer, timer_audit
from bot.config import Settings
from bot.domain import Incident
from bot.providers.base import Provider
from bot.store.db import Store
from bot.store.timers import Timer, TimerStore

log = logging.getLogger(__name__)
ARCHIVE = "archive"  # the timers' kind
ARCHIVED = "archived"  # a row beside them, never due: what was archived
WARN, DUE = "warn", "archive"  # its two stages
WARN_BEFORE = timedelta(days=1)


def archive_key(provider: str, incident_id: str) -> str:
    return f"{ARCHIVE}:{provider}:{incident_id}"


def archived_key(provider: str, incident_id: str) -> str:
    """The channels the bot archived, to unarchive if the incident reopens: kept beside the
    timers (never due), which every change reads from memory rather than the database."""
    return f"{ARCHIVED}:{provider}:{incident_id}"


@runtime_checkable
class Archives(Protocol):
    """Archiving the chat platform's channels (the Slack workspace)."""

    async def archive(self, channel_id: str) -> str | None:
        """None: archived (or it already was); else the platform's reason it was not."""

    async def unarchive(self, channel_id: str) -> str | None:
        """None: open again (or it was not archived); else the platform's reason it is not."""


class Archiver:
    def __init__(
        self,
        settings: Settings,
        store: Store,
        timers: TimerStore,
        fresh: FreshIncidents,
        clock: Clock,
        workspace: object,
    ) -> None:
        """`timers`: the runtime's one timer store (bot/commands/timers.py's)."""
        self.after = settings.archive_after()
        self.command = settings.incident_command
        self.timers, self.links = timers, store.links
        self.fresh, self.clock = fresh, clock
        self.archives = workspace if isinstance(workspace, Archives) else None

    async def followed(self, change: Change) -> list[Post]:
        """A follower of the bot's own changes (bot/commands/changes.py): a reopening
        typed elsewhere hears there if Slack would not unarchive the channel."""
        if change.incident is None:
            return []
        return await self.changed(change.incident, told=change.invocation.channel_id)

    async def changed(self, incident: Incident, *, told: str | None = None) -> list[Post]:
        """The incident as it now is. `told`: a channel that may hear what could not be done."""
        if self.archives is None:
            return []
        try:
            if incident.closed:
                await self._arm(incident)
                return []
            return await self._reopened(incident, told)
        except Exception:  # the channel's tidiness never fails the command
            log.exception("could not arm or cancel the archive of %s's channel", incident.reference)
            return []

    async def _arm(self, incident: Incident) -> None:
        if self.after is None:
            return
        key = archive_key(incident.provider, incident.id)
        if await self.timers.get(key) is not None:
            return  # armed at its resolution: a later event leaves the date as it was
        if await self.timers.get(archived_key(incident.provider, incident.id)) is not None:
            return  # archived already
        now = self.clock.now()
        # Resolved long before the bot heard of it: still a day's word before the archive.
        archive_at = max((incident.resolved_at or now) + self.after, now + min(WARN_BEFORE, self.after))
        payload = {
            "provider": incident.provider,
            "incident_id": incident.id,
            "stage": WARN,
            "archive_at": archive_at.isoformat(),
        }
        warn_at = max(now, archive_at - WARN_BEFORE)
        await self.timers.set(Timer(key=key, kind=ARCHIVE, due_at=warn_at, payload=payload))

    async def _reopened(self, incident: Incident, told: str | None) -> list[Post]:
        key = archive_key(incident.provider, incident.id)
        if await self.timers.get(key) is not None:
            await self.timers.cancel(key)
        kept_key = archived_key(incident.provider, incident.id)
        archived = await self.timers.get(kept_key)
        if archived is None:
            return []
        assert self.archives is not None
        await self.timers.cancel(kept_key)
        posts: list[Post] = []
        for channel_id in [str(c) for c in archived.payload.get("channels") or []]:
            refused = await self.archives.unarchive(channel_id)
            if refused is None:
                continue
            log.warning("could not unarchive %s for %s: %s", channel_id, incident.reference, refused)
            if told and told != channel_id:
                said = NotUnarchived(incident=incident, channel_id=channel_id, reason=refused)
                posts.append(Post(channel_id=told, result=said))
        return posts

    async def fire(self, timer: Timer, provider: Provider, at: datetime) -> Reply:
        """The warning or the archive, for an incident still resolved; raises the provider's
        errors for the caller's retry (bot/commands/timers.py)."""
        incident = await self.fresh.get(provider, str(timer.payload["incident_id"]))
        if not incident.closed or self.archives is None:
            await self.timers.cancel(timer.key)
            return quiet_timer(timer, "reopened" if not incident.closed else "off")
        channels = [link.channel_id for link in await self.links.channels_for(provider.name, incident.id)]
        archive_at = datetime.fromisoformat(str(timer.payload["archive_at"]))
        if timer.payload.get("stage") == WARN:
            payload = timer.payload | {"stage": DUE}
            due = max(archive_at, at)
            await self.timers.set(Timer(key=timer.key, kind=ARCHIVE, due_at=due, payload=payload))
            said = ArchiveSoon(incident=incident, at=due, command=self.command)
            posts = [Post(channel_id=channel, result=said) for channel in channels]
            return Reply(
                result=Quiet(), posts=posts, audit=timer_audit(timer, "warned" if posts else "no channel")
            )
        done = []
        for channel in channels:
            refused = await self.archives.archive(channel)
            if refused is None:
                done.append(channel)
            else:
                log.warning("could not archive %s for %s: %s", channel, incident.reference, refused)
        payload = {"provider": provider.name, "incident_id": incident.id, "channels": done}
        await self.timers.set(
            Timer(key=archived_key(provider.name, incident.id), kind=ARCHIVED, due_at=NEVER, payload=payload)
        )
        await self.timers.cancel(timer.key)
        return quiet_timer(timer, "archived" if done else "not archived")
