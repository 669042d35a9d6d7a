"""Provider adapters behind one Protocol (bot.providers.base.Provider)."""

from __future__ import annotations

from bot.config import Settings
from bot.providers.base import Provider
from bot.providers.builtin import BuiltinProvider
from bot.store.db import Store


def build_providers(settings: Settings, store: Store) -> dict[str, Provider]:
    """Every provider whose credentials are set is live; the built-in one always is."""
    providers: dict[str, Provider] = {"builtin": BuiltinProvider(store, settings.incident_roles)}
    return providers
