"""Provider adapters behind one Protocol (bot.providers.base.Provider)."""

from __future__ import annotations

import httpx

from bot.clock import Clock
from bot.config import Settings
from bot.providers.base import Directory, NoDirectory, Provider
from bot.providers.builtin import BuiltinProvider
from bot.store.db import Store


def build_providers(
    settings: Settings, store: Store, directory: Directory | None = None, clock: Clock | None = None
) -> dict[str, Provider]:
    """Every provider whose credentials are set is live; the built-in one always is. `clock`:
    the runtime's, the store's unless given, so every adapter dates what it makes as the
    store dates its rows (the built-in provider keeps its incidents in the store itself)."""
    directory = directory or NoDirectory()
    clock = clock or store.clock
    http = {"timeout": httpx.Timeout(settings.provider_timeout, connect=min(3.0, settings.provider_timeout))}
    providers: dict[str, Provider] = {"builtin": BuiltinProvider(store, settings.incident_roles)}
    if settings.incidentio_api_key:
        from bot.providers import incidentio

        providers["incidentio"] = incidentio.build(
            settings.incidentio_api_key.get_secret_value(),
            settings.incidentio_api_url,
            directory=directory,
            clock=clock,
            **http,
        )
    if settings.pagerduty_api_token:
        from bot.providers import pagerduty

        providers["pagerduty"] = pagerduty.build(
            settings.pagerduty_api_token.get_secret_value(),
            settings.pagerduty_api_url,
            from_email=settings.pagerduty_from_email,
            service_id=settings.pagerduty_service_id,
            directory=directory,
            clock=clock,
            **http,
        )
    if settings.firehydrant_api_key:
        from bot.providers import firehydrant

        providers["firehydrant"] = firehydrant.build(
            settings.firehydrant_api_key.get_secret_value(),
            settings.firehydrant_api_url,
            directory=directory,
            clock=clock,
            **http,
        )
    return providers
