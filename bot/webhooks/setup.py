"""`python -m bot webhooks`: what to register at each provider, and PagerDuty's in one go.

incident.io and FireHydrant make a webhook endpoint in their web UI only (their public
APIs have no call for it); PagerDuty's REST API does (`POST /webhook_subscriptions`), so
`--create pagerduty` makes the subscription and prints its signing secret, which
PagerDuty shows this once.
"""

from __future__ import annotations

import asyncio

from bot.config import Settings
from bot.providers.base import NoDirectory
from bot.webhooks.events import PAGERDUTY_KINDS

WHERE = {
    "incidentio": "incident.io → Settings → Webhooks → Add endpoint; subscribe to the "
    "'Public incident' and 'Private incident' events; copy its signing secret (whsec_…)",
    "pagerduty": "PagerDuty → Integrations → Generic Webhooks (v3) → New Webhook, or run "
    "`python -m bot webhooks --create pagerduty --url <public URL>`",
    "firehydrant": "FireHydrant → Settings → Webhooks → Add webhook; copy its secret",
}
SECRET_NAMES = {
    "incidentio": "INCIDENTIO_WEBHOOK_SECRET",
    "pagerduty": "PAGERDUTY_WEBHOOK_SECRET",
    "firehydrant": "FIREHYDRANT_WEBHOOK_SECRET",
}
LABELS = {"incidentio": "incident.io", "pagerduty": "PagerDuty", "firehydrant": "FireHydrant"}


def connected(settings: Settings) -> list[str]:
    """The providers whose API key is set: the ones whose events can mean anything here."""
    keys = {
        "incidentio": settings.incidentio_api_key,
        "pagerduty": settings.pagerduty_api_token,
        "firehydrant": settings.firehydrant_api_key,
    }
    return [name for name, key in keys.items() if key]


def report(settings: Settings, base_url: str) -> str:
    base = base_url.rstrip("/")
    secrets = settings.webhook_secrets()
    names = connected(settings)
    if not names:
        return (
            "No provider is connected (INCIDENTIO_API_KEY, PAGERDUTY_API_TOKEN, FIREHYDRANT_API_KEY): "
            "the built-in provider needs no webhooks.\n"
        )
    lines = []
    for name in names:
        state = "set: the receiver is on" if name in secrets else "NOT set: the receiver is off (404)"
        lines += [
            f"{LABELS[name]}",
            f"  URL to register: {base}/webhooks/{name}",
            f"  where:           {WHERE[name]}",
            f"  secret:          {SECRET_NAMES[name]} {state}",
        ]
    return "\n".join(lines) + "\n"


async def create_pagerduty(settings: Settings, base_url: str) -> str:
    from bot.providers import pagerduty

    assert settings.pagerduty_api_token is not None
    provider = pagerduty.build(
        settings.pagerduty_api_token.get_secret_value(),
        settings.pagerduty_api_url,
        from_email=settings.pagerduty_from_email,
        service_id=settings.pagerduty_service_id,
        directory=NoDirectory(),
        timeout=settings.provider_timeout,
    )
    try:
        url = f"{base_url.rstrip('/')}/webhooks/pagerduty"
        sid, secret = await provider.create_webhook(url, sorted(PAGERDUTY_KINDS))
    finally:
        await provider.close()
    said = f"Created PagerDuty webhook subscription {sid} → {url}\n"
    if secret:
        return said + (
            "Its signing secret, shown this once: set it where the bot runs, then restart the bot:\n"
            f"PAGERDUTY_WEBHOOK_SECRET={secret}\n"
        )
    return said + "PagerDuty returned no secret: copy it from the subscription in PagerDuty's web UI.\n"


def main(settings: Settings, base_url: str, create: str | None) -> tuple[int, str]:
    """(exit code, what to print)."""
    if create is None:
        return 0, report(settings, base_url)
    if create != "pagerduty":
        return 2, f"--create: only pagerduty can be created from here; {WHERE.get(create, create)}.\n"
    if not settings.pagerduty_api_token:
        return 2, "--create pagerduty: PAGERDUTY_API_TOKEN is not set.\n"
    if not base_url.startswith("https://"):
        return 2, "--url: PagerDuty delivers only to https:// URLs; give the bot's public https URL.\n"
    from bot.domain import ProviderError

    try:
        return 0, asyncio.run(create_pagerduty(settings, base_url))
    except ProviderError as exc:
        return 1, f"PagerDuty refused the subscription: {exc.message}. Nothing was created.\n"
