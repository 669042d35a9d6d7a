"""Provider adapters behind one Protocol (bot.providers.base.Provider), each a package that
declares itself in a `ProviderSpec` (bot/providers/spec.py)."""

from __future__ import annotations

import httpx

from bot.clock import Clock
from bot.config import Settings
from bot.providers import builtin, firehydrant, incidentio, pagerduty
from bot.providers.base import Directory, NoDirectory, Provider
from bot.providers.spec import ProviderSpec
from bot.store.db import Store

# Every provider the bot knows, the built-in one first: the one place that lists them.
SPECS: tuple[ProviderSpec, ...] = (builtin.SPEC, incidentio.SPEC, pagerduty.SPEC, firehydrant.SPEC)
BY_NAME: dict[str, ProviderSpec] = {spec.name: spec for spec in SPECS}


def build_providers(
    settings: Settings, store: Store, directory: Directory | None = None, clock: Clock | None = None
) -> dict[str, Provider]:
    """Every provider whose credentials are set is live; the built-in one always is. `clock`:
    the runtime's, the store's unless given, so every adapter dates what it makes as the
    store dates its rows (the built-in provider keeps its incidents in the store itself)."""
    directory = directory or NoDirectory()
    clock = clock or store.clock
    http = {
        "timeout": httpx.Timeout(settings.provider_timeout, connect=min(3.0, settings.provider_timeout)),
        "connections": settings.incident_work_slots,  # one for each command at work
    }
    return {
        spec.name: spec.build(settings, store, directory, clock, http)
        for spec in SPECS
        if spec.enabled(settings)
    }


def missing_credentials(settings: Settings) -> str | None:
    """The default provider named without its key: the line that says which variable."""
    spec = BY_NAME.get(settings.incident_provider)
    if spec is None or spec.enabled(settings):
        return None
    return f"INCIDENT_PROVIDER={spec.name} needs {spec.key_variable}: set it, or choose another provider."


def webhook_secrets(settings: Settings) -> dict[str, str]:
    """Provider name → its webhook's signing secret, for each provider whose secret is set."""
    found: dict[str, str] = {}
    for spec in SPECS:
        if spec.webhook is not None:
            secret = getattr(settings, spec.webhook.secret_setting)
            if secret is not None and secret.get_secret_value():
                found[spec.name] = secret.get_secret_value()
    return found
