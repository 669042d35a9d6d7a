"""`list`: what is open right now, at every provider the bot is connected to."""

from __future__ import annotations

import asyncio
import logging

from bot.commands.context import Context
from bot.commands.handlers.table import handles
from bot.commands.results import OpenIncident, OpenIncidents, Result
from bot.domain import Incident, Person, ProviderError
from bot.providers import facets
from bot.providers.base import Provider, shown_label
from bot.providers.facets import facet

log = logging.getLogger(__name__)

SHOWN = 20  # one screen: the rest are counted
READ = 100  # per provider: `list mine` picks from these, so it reads more than it shows


@handles("list")
async def list_incidents(ctx: Context) -> Result:
    whose = str(ctx.arg("whose") or "all").lower()
    if whose not in ("all", "mine", "me"):
        raise ctx.refuse(f"`{ctx.command} list` shows every open incident, `{ctx.command} list mine` yours.")
    mine = whose != "all"
    # Every provider at once: one slow provider costs its own time, not the sum of all.
    read = await asyncio.gather(*(_open_at(p, READ if mine else SHOWN) for p in ctx.providers.values()))
    found: list[tuple[Provider, Incident]] = []
    total = 0
    missing: list[str] = []
    for provider, answer in zip(ctx.providers.values(), read, strict=True):
        if isinstance(answer, str):
            missing.append(answer)
            continue
        incidents, count = answer
        found += [(provider, i) for i in incidents]
        total += count
    if mine:
        found = [(p, i) for p, i in found if ctx.actor.slack_id in {h.slack_id for h in i.roles.values()}]
        total = len(found)  # of those read: past READ a provider's list is not searched
    hidden = 0
    if ctx.privacy is not None:
        # A private incident is listed only to its channel's members (and admins): to anyone
        # else, counted, its name and the rest left out (bot/commands/privacy.py).
        seen = [await ctx.privacy.may_see(ctx.invocation, p.name, i.id) for p, i in found]
        hidden = seen.count(False)
        found = [pair for pair, shown in zip(found, seen, strict=True) if shown]
        total -= hidden
    found.sort(key=lambda pair: pair[1].created_at, reverse=True)
    leads = {p.name: await _lead_role(p) for p in {p.name: p for p, _ in found[:SHOWN]}.values()}
    entries = [
        await _entry(ctx, provider, incident, leads[provider.name]) for provider, incident in found[:SHOWN]
    ]
    return OpenIncidents(
        entries=entries,
        at=ctx.clock.now(),
        more=max(0, total - len(entries)),
        mine=mine,
        missing=missing,
        hidden=hidden,
    )


async def _open_at(provider: Provider, limit: int) -> tuple[list[Incident], int] | str:
    """Its open incidents and their count, or why it could not say (a line for the reader)."""
    lists = facet(provider, facets.ListsIncidents)
    if lists is None:
        return f"{provider.label} (it cannot list its incidents)"
    try:
        async with asyncio.timeout(5):
            incidents, count = await lists.open_incidents(limit)
    except (ProviderError, TimeoutError) as exc:
        log.warning("list: %s did not answer: %s", provider.label, getattr(exc, "message", exc))
        return f"{provider.label} (it did not answer)"
    return [i for i in incidents if not i.closed], count


async def _lead_role(provider: Provider) -> str | None:
    """The provider's lead role (its first), as the card names it; None without roles."""
    roles = facet(provider, facets.Roles)
    if roles is None:
        return None
    try:
        async with asyncio.timeout(2):
            names = await roles.role_names()
    except (ProviderError, TimeoutError):
        return None
    return names[0] if names else None


async def _entry(ctx: Context, provider: Provider, incident: Incident, lead_role: str | None) -> OpenIncident:
    linked = await ctx.store.links.channels_for(provider.name, incident.id)
    here = next((link for link in linked if link.team_id == ctx.invocation.team_id), None)
    channel = here.channel_id if here is not None else incident.channel_id
    return OpenIncident(
        incident=incident,
        provider_label=shown_label(provider),
        lead=_lead(incident, lead_role),
        channel_id=channel,
    )


def _lead(incident: Incident, lead_role: str | None) -> Person | None:
    """The lead role's holder; without roles, the first assignee (PagerDuty's)."""
    if lead_role is not None:
        return incident.roles.get(lead_role)
    return next(iter(incident.roles.values()), None)
