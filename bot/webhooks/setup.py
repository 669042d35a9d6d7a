"""`python -m bot webhooks`: what to register at each provider, and, where a provider's API
makes subscriptions (its spec's `webhook.create`), the subscription in one go, printing
the signing secret the provider shows this once. Some providers make webhook endpoints in
their web UI only: the report says where."""

from __future__ import annotations

import asyncio

from bot.config import Settings
from bot.domain import ProviderError
from bot.providers import SPECS
from bot.providers.spec import ProviderSpec

HOOKED = [spec for spec in SPECS if spec.webhook is not None]


def connected(settings: Settings) -> list[ProviderSpec]:
    """The providers with a webhook whose API key is set: the ones whose events can mean
    anything here."""
    return [spec for spec in HOOKED if spec.key_setting and getattr(settings, spec.key_setting)]


def report(settings: Settings, base_url: str) -> str:
    base = base_url.rstrip("/")
    secrets = settings.webhook_secrets()
    specs = connected(settings)
    if not specs:
        keys = ", ".join(str(spec.key_variable) for spec in HOOKED)
        return f"No provider is connected ({keys}): the built-in provider needs no webhooks.\n"
    lines = []
    for spec in specs:
        assert spec.webhook is not None
        state = "set: the receiver is on" if spec.name in secrets else "NOT set: the receiver is off (404)"
        lines += [
            spec.label,
            f"  URL to register: {base}/webhooks/{spec.name}",
            f"  where:           {spec.webhook.where}",
            f"  secret:          {spec.webhook.secret_setting.upper()} {state}",
        ]
    return "\n".join(lines) + "\n"


def main(settings: Settings, base_url: str, create: str | None) -> tuple[int, str]:
    """(exit code, what to print)."""
    if create is None:
        return 0, report(settings, base_url)
    spec = next((s for s in HOOKED if s.name == create), None)
    makers = [s for s in HOOKED if s.webhook and s.webhook.create]
    if spec is None or spec.webhook is None or spec.webhook.create is None:
        where = f"; {spec.webhook.where}" if spec and spec.webhook else ""
        can = " or ".join(s.name for s in makers)
        return 2, f"--create: only {can} can be created from here{where}.\n"
    if not spec.enabled(settings):
        return 2, f"--create {spec.name}: {spec.key_variable} is not set.\n"
    if not base_url.startswith("https://"):
        return 2, f"--url: {spec.label} delivers only to https:// URLs; give the bot's public https URL.\n"
    url = f"{base_url.rstrip('/')}/webhooks/{spec.name}"
    try:
        sid, secret = asyncio.run(spec.webhook.create(settings, url))
    except ProviderError as exc:
        return 1, f"{spec.label} refused the subscription: {exc.message}. Nothing was created.\n"
    said = f"Created {spec.label} webhook subscription {sid} → {url}\n"
    if secret:
        return 0, said + (
            "Its signing secret, shown this once: set it where the bot runs, then restart the bot:\n"
            f"{spec.webhook.secret_setting.upper()}={secret}\n"
        )
    missing = f"{spec.label} returned no secret: copy it from the subscription in {spec.label}'s web UI.\n"
    return 0, said + missing
