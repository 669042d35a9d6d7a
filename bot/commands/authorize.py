"""The policy applied: may this person run this verb on this incident, from here?

Split from the command service so the rule reads in one place; the levels and the policy
file are in bot/commands/policy.py.
"""

from __future__ import annotations

from bot.commands.fresh import FreshIncidents
from bot.commands.invocation import Invocation
from bot.commands.parsed import ParsedCommand
from bot.commands.policy import WHO, Level, Policy
from bot.commands.ports import Workspace
from bot.commands.privacy import Privacy
from bot.commands.registry import Verb
from bot.commands.results import Failure
from bot.config import Settings
from bot.domain import Incident
from bot.providers.base import Provider
from bot.store.db import Store


class Authorizer:
    def __init__(
        self, settings: Settings, store: Store, workspace: Workspace, policy: Policy, fresh: FreshIncidents
    ) -> None:
        self.settings, self.store, self.workspace, self.policy = settings, store, workspace, policy
        self.fresh = fresh
        # Who may see a private incident (bot/commands/privacy.py): set by the service, which
        # builds the anchors it reads after this; None, no incident is treated as private.
        self.privacy: Privacy | None = None

    async def is_admin(self, user_id: str) -> bool:
        if user_id in self.settings.incident_admins:
            return True
        group = self.settings.incident_admin_group
        return bool(group) and user_id in await self.workspace.group_members(group or "")

    async def check(
        self,
        invocation: Invocation,
        parsed: ParsedCommand,
        verb: Verb,
        provider: Provider,
        incident_id: str | None,
        reference: str | None,
    ) -> Failure | None:
        """The policy's answer for this person, this verb, this incident: None to go on."""
        level = self.policy.level(verb.name)
        if verb.only_lists is not None and verb.only_lists(parsed.args, parsed.options):
            return None  # listing (rotations): nothing written
        if incident_id is not None and self.privacy is not None:
            # A private incident is its channel's members' (and admins'), whatever the verb:
            # anyone else is told so, and nothing of what it holds (its name included).
            # (An incident named by its number is known by its own id from Locate on.)
            if not await self.privacy.may_see(invocation, provider.name, incident_id):
                return self.privacy.refusal(reference or incident_id)
        stays = "Ask one of them."
        if verb.moves_channel and level is Level.ANYONE:
            here = await self.store.links.get(invocation.team_id, invocation.channel_id)
            if here is not None:
                level = Level.ADMINS  # re-pointing a linked channel is what unlink guards
                stays = f"Ask one of them. Nothing changed: this channel stays with {here.reference}."
        if level is Level.ADMINS and self.settings.everyone_is_admin:
            # No admins configured: admin verbs are the responders' (nobody is locked out).
            level = Level.RESPONDERS
        if level is Level.ANYONE or await self.is_admin(invocation.user_id):
            return None
        if level is not Level.ADMINS and incident_id is None:
            return None  # responders and leads are of an incident; this verb has none
        if level is Level.ADMINS:
            return Failure(what=f"Only {WHO[level]} can {verb.acting(reference)}.", next_step=stays)
        assert incident_id is not None
        if level is Level.RESPONDERS and await self._in_channel(invocation, provider, incident_id):
            return None
        incident = await self.fresh.get(provider, incident_id)
        refusal = self._by_roles(invocation, verb, level, incident, reference)
        if refusal is not None:  # a refusal rests on a read from the provider now, not a reused one
            self.fresh.forget(provider.name, incident_id)
            refusal = self._by_roles(
                invocation, verb, level, await self.fresh.get(provider, incident_id), reference
            )
        return refusal

    def _by_roles(
        self, invocation: Invocation, verb: Verb, level: Level, incident: Incident, reference: str | None
    ) -> Failure | None:
        what = verb.acting(reference)
        holders = {person.slack_id for person in incident.roles.values()}
        # Whoever owns one of its follow-ups works on it too (a nudge's Done, in a DM).
        holders |= {f.assignee.slack_id for f in incident.followups if f.assignee and f.state == "open"}
        lead = incident.roles.get("lead") or next(iter(incident.roles.values()), None)
        if level is Level.RESPONDERS and invocation.user_id in holders:
            return None
        if level is Level.LEAD and lead is not None and lead.slack_id == invocation.user_id:
            return None
        ask = f"ask @{lead.name or lead.slack_id}" if lead is not None else "ask an admin"
        join = " or join its channel" if level is Level.RESPONDERS else ""
        return Failure(what=f"Only {WHO[level]} can {what}.", next_step=f"{ask.capitalize()}{join}.")

    async def _in_channel(self, invocation: Invocation, provider: Provider, incident_id: str) -> bool:
        """Run from the incident's own channel (no Slack call), or a member of one of them."""
        if await self.own_channel(invocation, provider, incident_id):
            return True
        for link in await self.store.links.channels_for(provider.name, incident_id):
            if invocation.user_id in await self.workspace.channel_members(link.channel_id):
                return True
        return False

    async def own_channel(self, invocation: Invocation, provider: Provider, incident_id: str) -> bool:
        link = await self.store.links.get(invocation.team_id, invocation.channel_id)
        return link is not None and (link.provider, link.incident_id) == (provider.name, incident_id)
