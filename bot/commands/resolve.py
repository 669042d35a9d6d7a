"""Which incident a command is about, and at which provider: a button's or modal's incident,
then a reference typed in the command, then the channel's link, then the providers
themselves (a channel they name as an incident's is linked, so the next command is free)."""

from __future__ import annotations

import logging

from bot.commands.invocation import Invocation
from bot.commands.parsed import ParsedCommand
from bot.commands.results import Failure, NotLinked, Result
from bot.config import Settings
from bot.domain import Link, ProviderError
from bot.providers.base import Provider
from bot.store.db import Store

log = logging.getLogger(__name__)


class Resolver:
    def __init__(self, settings: Settings, store: Store, providers: dict[str, Provider]) -> None:
        self.settings, self.store, self.providers = settings, store, providers

    async def resolve(
        self, invocation: Invocation, parsed: ParsedCommand
    ) -> tuple[Provider, str, str] | Result:
        """Channel → incident. A reference typed in the command wins over the channel's link,
        because someone who names INC-3 in #inc-4 means INC-3; a button's or a modal's
        incident wins over both."""
        if parsed.target is not None:
            provider = self.providers.get(parsed.target.provider)
            if provider is None:
                return Failure(
                    what=f"{parsed.target.reference} is at {parsed.target.provider}, "
                    "which this bot is no longer connected to.",
                    next_step="Ask whoever runs the bot to set that provider's API key.",
                )
            return provider, parsed.target.incident_id, parsed.target.reference
        if parsed.ref is not None:
            provider = self.providers.get(parsed.ref.provider or self.settings.incident_provider)
            if provider is None:
                return Failure(
                    what=f"This bot is not connected to {parsed.ref.provider}.",
                    next_step="Ask whoever runs the bot to set its API key.",
                )
            incident_id = provider.parse_reference(parsed.ref.id)
            if incident_id is None:
                return Failure(what=f"`{parsed.ref.raw}` is not a {provider.label} reference.")
            reference = parsed.ref.raw.upper() if parsed.ref.provider is None else parsed.ref.raw
            # The channel's own incident named by the number people see (INC-12) is known by
            # the provider's own id in the link (incident.io's ULID): one incident, one id, so
            # its queue, its channel and its responders are the same either way.
            link = await self.store.links.get(invocation.team_id, invocation.channel_id)
            same = link is not None and link.provider == provider.name
            if link is not None and same and link.reference.upper() == reference.upper():
                return provider, link.incident_id, link.reference
            return provider, incident_id, reference
        link = await self.store.links.get(invocation.team_id, invocation.channel_id)
        if link is not None and link.provider in self.providers:
            return self.providers[link.provider], link.incident_id, link.reference
        if link is not None:
            return Failure(
                what=f"This channel is linked to {link.reference} at {link.provider}, "
                "which this bot is no longer connected to.",
                next_step="Ask whoever runs the bot to set that provider's API key.",
            )
        return await self._ask_providers(invocation)

    async def _ask_providers(self, invocation: Invocation) -> tuple[Provider, str, str] | Result:
        """No link: ask each provider that can tell whether this is one of its incidents'
        channels, default provider first, and remember the answer so the next command is
        free."""
        if await self.store.links.was_unlinked(invocation.team_id, invocation.channel_id):
            return NotLinked(command=self.settings.incident_command)
        ordered = sorted(self.providers.values(), key=lambda p: p.name != self.settings.incident_provider)
        failed: list[str] = []
        for provider in ordered:
            try:
                incident = await provider.find_by_channel(invocation.channel_id, invocation.channel_name)
            except ProviderError as exc:
                log.warning("channel lookup at %s failed: %s", provider.name, exc.message)
                failed.append(f"{provider.label}: {exc.message}")
                continue
            if incident is not None:
                await self.store.links.link(
                    Link(
                        invocation.team_id,
                        invocation.channel_id,
                        provider.name,
                        incident.id,
                        incident.reference,
                    ),
                    invocation.user_id,
                )
                return provider, incident.id, incident.reference
        if failed:
            return Failure(
                what="This channel is not linked, and I could not ask " + "; ".join(failed),
                next_step=f"Name the incident, like `{self.settings.incident_command} info INC-12`, "
                f"or link the channel with `{self.settings.incident_command} link INC-12`.",
            )
        return NotLinked(command=self.settings.incident_command)
