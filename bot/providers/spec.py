"""What each provider package declares about itself, once: its name and label, the
settings it reads, how to build it, how people name its incidents, and its webhook.

Configuration checks, the runtime, incident references and the webhook receiver iterate
`bot.providers.SPECS` rather than naming providers, so a new provider is its own package
plus one line in that tuple.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Coroutine, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from bot.clock import Clock
from bot.domain import ProviderEvent
from bot.providers.base import Directory, Provider

if TYPE_CHECKING:  # the settings and the store are built before any provider; only their types here
    from bot.config import Settings
    from bot.store.db import Store

Verify = Callable[[str, bytes, Mapping[str, str]], bool]
Parse = Callable[[Any, bytes, Mapping[str, str]], ProviderEvent | None]


@dataclass(frozen=True)
class Webhook:
    """The provider's webhook: checked on the raw body before anything parses it."""

    verify: Verify
    parse: Parse
    secret_setting: str  # the Settings field (its variable, upper-cased) holding the secret
    where: str  # where in the provider's own UI (or how) to register it
    # Makes the subscription through the provider's API, where it has one:
    # (settings, url) → (subscription id, signing secret or None).
    create: Callable[[Settings, str], Coroutine[Any, Any, tuple[str, str | None]]] | None = None


@dataclass(frozen=True)
class ProviderSpec:
    name: str  # as stored with each link and typed in INCIDENT_PROVIDER
    label: str  # as people read it
    # The Settings field whose presence turns it on (None: always on, the built-in one).
    key_setting: str | None
    build: Callable[[Settings, Store, Directory, Clock, dict[str, Any]], Provider]
    # Every Settings field it reads, so configuration can say which provider a setting is for.
    settings: tuple[str, ...] = ()
    # How people name its incidents: `PAGERDUTY:Q1ABC`, `pd:Q1ABC` (lower-case prefixes), its
    # incident page's URL (the id as the `id` group).
    prefixes: tuple[str, ...] = ()
    url: re.Pattern[str] | None = None
    webhook: Webhook | None = None
    # What works only in part with these settings, said at start (a warning each).
    half_configured: Callable[[Settings], list[str]] = lambda settings: []

    def enabled(self, settings: Settings) -> bool:
        return self.key_setting is None or bool(getattr(settings, self.key_setting))

    @property
    def key_variable(self) -> str | None:
        return self.key_setting.upper() if self.key_setting else None


def with_key(
    build: Callable[..., Provider], key_setting: str, url_setting: str
) -> Callable[[Settings, Store, Directory, Clock, dict[str, Any]], Provider]:
    """The build of a provider that needs its API key and base URL only: read from the
    settings the spec names, so the adapter's own `build` stays free of Settings."""

    def make(
        settings: Settings, store: Store, directory: Directory, clock: Clock, http: dict[str, Any]
    ) -> Provider:
        key = getattr(settings, key_setting)
        assert key is not None, key_setting  # built only where the spec is enabled
        return build(
            key.get_secret_value(), getattr(settings, url_setting), directory=directory, clock=clock, **http
        )

    return make
