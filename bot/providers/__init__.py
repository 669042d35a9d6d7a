"""Provider adapters behind one Protocol (bot.providers.base.Provider)."""

from __future__ import annotations

import httpx

from bot.config import Settings
from bot.providers.base import Directory, NoDirectory, Provider
from bot.providers.builtin import BuiltinProvider
from bot.store.db import Store


def build_providers(
    settings: Settings, store: Store, directory: Directory | None = None
) -> dict[str, Provider]:
    """Every provider whose credentials are set is live; the built-in one always is."""
    directory = directory or NoDirectory()
    http = {"timeout": httpx.Timeout(settings.provider_timeout, connect=min(3.0, settings.provider_timeout))}
    providers: dict[str, Provider] = {"builtin": BuiltinProvider(store, settings.incident_roles)}
    if settings.incidentio_api_key:
        from bot.providers import incidentio

        providers["incidentio"] = incidentio.build(
            settings.incidentio_api_key.get_secret_value(),
            settings.incidentio_api_url,
            directory=directory,
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
            **http,
        )
    if settings.firehydrant_api_key:
        from bot.providers import firehydrant

        providers["firehydrant"] = firehydrant.build(
            settings.firehydrant_api_key.get_secret_value(),
            settings.firehydrant_api_url,
            directory=directory,
            **http,
        )
    return providers
