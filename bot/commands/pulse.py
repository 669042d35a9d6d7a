"""What the bot adds to an incident before its card is drawn: who leads, the latest update,
when the next is due, the provider's label (bot/domain.py `Pulse`).

Added once, to the reply, wherever it came from (a command, a click, a webhook): every
card (an answer, a post, a redraw) then shows the same, and the buttons are chosen with
it (taking the lead is offered where nobody leads).
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from bot.commands.results import Card, Reply, card
from bot.commands.timers import Timers
from bot.domain import Capability, Incident, ProviderError, Pulse, StatusPageIncident
from bot.providers import facets
from bot.providers.base import Provider, shown_label
from bot.providers.facets import facet
from bot.store.pages import on_card

log = logging.getLogger(__name__)
LEAD_SECONDS = 2.0  # the lead role's name is a cached catalogue read: never worth a wait


async def pulse_of(providers: dict[str, Provider], timers: Timers, incident: Incident) -> Pulse:
    provider = providers.get(incident.provider)
    lead: str | None = None
    roles = facet(provider, facets.Roles) if provider is not None else None
    if roles is not None:
        try:
            async with asyncio.timeout(LEAD_SECONDS):
                names = await roles.role_names()
            lead = names[0] if names else None
        except (ProviderError, TimeoutError) as exc:
            log.info("no lead role for the card of %s: %s", incident.reference, exc)
    try:
        latest, next_update = await timers.latest(incident)
    except Exception:  # the card is a convenience: drawn without it
        log.exception("could not read the latest update of %s", incident.reference)
        latest, next_update = None, None
    return Pulse(
        label=shown_label(provider) if provider is not None else None,
        lead_role=lead,
        latest=latest,
        next_update=next_update,
        status_page=await _status_page(provider, timers, incident),
        **await _pages(provider, timers, incident),
    )


async def _pages(provider: Provider | None, timers: Timers, incident: Incident) -> dict[str, Any]:
    """The pages the bot sent for it: read only where the provider pages, so every other
    card costs no read."""
    if provider is None or Capability.PAGE not in facets.offered(provider):
        return {}
    try:
        shown, more = on_card(await timers.pages.of_incident(incident.provider, incident.id))
    except Exception:  # the card is a convenience: drawn without it
        log.exception("could not read the pages of %s", incident.reference)
        return {}
    return {"pages": shown, "more_pages": more}


def status_page_key(provider: str, incident_id: str) -> str:
    """Where the status page incident the bot made for an incident is kept (store.kept)."""
    return f"statuspage:{provider}:{incident_id}"


async def _status_page(
    provider: Provider | None, timers: Timers, incident: Incident
) -> StatusPageIncident | None:
    """Read only where the provider has status pages: every other card costs no read."""
    if provider is None or facet(provider, facets.StatusPages) is None:
        return None
    try:
        kept = await timers.kept.get(status_page_key(incident.provider, incident.id))
        return StatusPageIncident.model_validate(kept) if kept else None
    except Exception:  # the card is a convenience: drawn without it
        log.exception("could not read the status page of %s", incident.reference)
        return None


async def dressed(providers: dict[str, Provider], timers: Timers, reply: Reply) -> Reply:
    """The reply with each incident it draws as a card given its pulse (read once per
    incident), and each card's buttons chosen again with it."""
    known: dict[tuple[str, str], Pulse] = {}

    async def dress(incident: Incident) -> Incident:
        key = (incident.provider, incident.id)
        if key not in known:
            known[key] = await pulse_of(providers, timers, incident)
        return incident.model_copy(update={"pulse": known[key]})

    async def redrawn(result: Card) -> Card:
        incident = await dress(result.incident)
        provider = providers.get(incident.provider)
        if provider is None:
            return result.model_copy(update={"incident": incident})
        fresh = card(incident, facets.offered(provider), result.at, note=result.note, actor=result.actor)
        return result.model_copy(update={"incident": incident, "buttons": fresh.buttons, "menu": fresh.menu})

    if isinstance(reply.result, Card):
        reply.result = await redrawn(reply.result)
    for post in reply.posts:
        if isinstance(post.result, Card):
            post.result = await redrawn(post.result)
    if reply.refresh is not None:
        reply.refresh = await dress(reply.refresh)
    return reply
