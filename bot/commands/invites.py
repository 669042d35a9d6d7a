"""Bringing people into an incident's channels: by `invite`, and by the policy file for a
severity (`[auto_invite]`, bot/commands/policy.py).

Slack refuses a whole `conversations.invite` for one person who is in the channel already,
and an invite that pings a hundred people cannot be taken back: so whoever is in is left
out of the call, and a large user group is asked about first (in the handler). What the
policy file names is invited without asking: an operator chose it, ahead of time.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from bot.commands.changes import Change
from bot.commands.naming import exact, rank_of
from bot.commands.ports import Workspace, WorkspaceError
from bot.commands.registry import Verb
from bot.commands.results import Invited, Post, Result
from bot.domain import Capability, Incident, Person, ProviderError, Severity
from bot.providers.base import Provider
from bot.store.db import Store

log = logging.getLogger(__name__)

LARGE_GROUP = 50  # more people than this from one user group: asked before they are invited


@dataclass
class Brought:
    """Who an invite brought in, who was in already, and what Slack refused, if it did."""

    invited: list[str] = field(default_factory=list)
    already: list[str] = field(default_factory=list)
    failed: str | None = None


async def bring_in(workspace: Workspace, channel_ids: list[str], user_ids: list[str]) -> Brought:
    """Invite each person to each channel they are not in yet, one call per channel."""
    wanted = list(dict.fromkeys(u for u in user_ids if u))
    brought = Brought()
    invited: set[str] = set()
    everywhere = set(wanted)
    for channel_id in channel_ids:
        members = await workspace.channel_members(channel_id)
        missing = [u for u in wanted if u not in members]
        everywhere -= set(missing)
        if not missing:
            continue
        try:
            await workspace.invite(channel_id, missing)
        except WorkspaceError as exc:
            brought.failed = str(exc)
            continue
        invited.update(missing)
    brought.invited = [u for u in wanted if u in invited]
    brought.already = [u for u in wanted if u in everywhere]
    return brought


async def incident_channels(store: Store, provider: str, incident: Incident, here: str | None) -> list[str]:
    """Where to invite: this channel where it is one of the incident's, else every channel
    linked to it (else the provider's own channel for it, where it made one)."""
    linked = [link.channel_id for link in await store.links.channels_for(provider, incident.id)]
    if here is not None and here in linked:
        return [here]
    return linked or ([incident.channel_id] if incident.channel_id else [])


def severity_of(key: str, severities: list[Severity]) -> str | None:
    """The provider's severity a policy file's key names: a name or alias (SEV1, Critical),
    else a step of the scale (`sev1`, `p1`: the most severe), as `severity` reads it."""
    named = exact(key, {s.name: s.aliases for s in severities})
    if named is not None:
        return named
    rank = rank_of(key)
    return next((s.name for s in severities if rank is not None and s.rank == rank), None)


def _rank(name: str | None, severities: list[Severity]) -> int | None:
    found = next((s for s in severities if name is not None and s.name == name), None)
    if found is None:
        return None
    return found.rank if found.rank is not None else severities.index(found) + 1


class AutoInvites:
    """The policy file's `[auto_invite]`: on declare, and when the severity rises to a
    level it names, its people and groups are invited to the incident's channels."""

    def __init__(self, table: dict[str, tuple[str, ...]], workspace: Workspace, store: Store) -> None:
        self.table, self.workspace, self.store = table, workspace, store

    async def followed(self, change: Change) -> list[Post]:
        """A follower of the bot's own changes (bot/commands/changes.py)."""
        if change.incident is None:
            return []
        return await self.after_command(
            change.verb, change.reply.result, change.incident, change.provider, change.before
        )

    async def after_command(
        self, verb: Verb, result: Result, incident: Incident, provider: Provider, before: Incident | None
    ) -> list[Post]:
        """`before`: the incident as last known before the change (None: not known, taken
        as a rise; nobody in the channel already is invited twice either way)."""
        if not self.table or incident.severity is None:
            return []
        if not (verb.creates_incident or verb.capability is Capability.SEVERITY):
            return []
        try:
            severities = await provider.severities()
        except ProviderError as exc:
            log.warning("auto-invite: could not read the severities of %s: %s", provider.label, exc.message)
            return []
        entries = [
            e
            for key, names in self.table.items()
            if severity_of(key, severities) == incident.severity
            for e in names
        ]
        if not entries:
            return []
        if not verb.creates_incident and before is not None and before.severity is not None:
            now_rank, then_rank = _rank(incident.severity, severities), _rank(before.severity, severities)
            if now_rank is None or then_rank is None or now_rank >= then_rank:
                return []  # not a rise: the same level again, or less severe
        channel = getattr(result, "channel_id", None) if verb.creates_incident else None
        channels = (
            [channel]
            if isinstance(channel, str)
            else await incident_channels(self.store, provider.name, incident, None)
        )
        if not channels:
            return []
        try:
            people, groups = await self._resolve(entries)
            brought = await bring_in(self.workspace, channels, people)
        except Exception:  # a convenience: never fail the change it follows
            log.exception("auto-invite for %s failed", incident.reference)
            return []
        if not brought.invited and not brought.failed:
            return []
        told = Invited(
            reference=incident.reference,
            invited=[Person(slack_id=u) for u in brought.invited],
            groups=groups,
            severity=incident.severity,
            failed=brought.failed,
        )
        return [Post(channel_id=c, result=told) for c in channels]

    async def _resolve(self, entries: list[str]) -> tuple[list[str], list[str]]:
        """User ids, and the handles of the groups they came from: `@handle` and `S…` are
        user groups, `U…` and `W…` people."""
        people: list[str] = []
        handles: list[str] = []
        for entry in entries:
            if entry.startswith("@"):
                group_id = await self.workspace.find_group(entry[1:])
                if group_id is None:
                    log.warning("auto-invite: no user group has the handle %s", entry)
                    continue
                handles.append(entry[1:])
                people += sorted(await self.workspace.group_members(group_id))
            elif entry.startswith("S"):
                handles.append(entry)
                people += sorted(await self.workspace.group_members(entry))
            else:
                people.append(entry)
        return people, handles
