"""PagerDuty, over its REST API v2.

PagerDuty knows people by email only, so Slack users are mapped through the workspace
directory (users.info → email → `GET /users?query=`), and PagerDuty users back to Slack by
email too. Its REST API has no incident roles and no follow-ups: those verbs say so.
Severity is PagerDuty's priority (P1…) where the account has priorities, and its urgency
(high / low) always.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from bot.clock import SYSTEM, Clock
from bot.domain import Capability
from bot.providers.base import Directory, NoDirectory, Provider, made_at
from bot.providers.http import ApiClient, TokenAuth
from bot.providers.pagerduty import webhook
from bot.providers.pagerduty.client import NO_FOLLOWUPS, NO_ROLES, NO_STATUS_PAGE, error_text
from bot.providers.pagerduty.duplicate import Duplicates
from bot.providers.pagerduty.incidents import Incidents
from bot.providers.pagerduty.oncall import OnCalls
from bot.providers.pagerduty.paging import Paging
from bot.providers.pagerduty.retro import Retro
from bot.providers.pagerduty.timeline import Timeline
from bot.providers.spec import ProviderSpec, Webhook

if TYPE_CHECKING:  # built before any provider: only their types here
    from bot.config import Settings
    from bot.store.db import Store


class PagerDutyProvider(Incidents, OnCalls, Paging, Timeline, Retro, Duplicates):
    """The adapter: its parts (bot/providers/pagerduty/*.py) over one shared client."""

    name = "pagerduty"
    label = "PagerDuty"
    # Verbs safe to run again after a restart: declare carries the request's id as
    # incident_key, which PagerDuty dedupes.
    records_applied = False  # its changes are made at the provider, not in our store
    replay_safe: frozenset[Capability] = frozenset({Capability.DECLARE})
    unsupported = {
        Capability.ROLES: NO_ROLES,
        Capability.FOLLOWUPS: NO_FOLLOWUPS,
        Capability.TASKS: NO_FOLLOWUPS,
        Capability.SCHEDULES: made_at("PagerDuty", "People → On-Call Schedules"),
        Capability.STATUS_PAGE: NO_STATUS_PAGE,
    }


def build(
    token: str,
    base_url: str,
    *,
    from_email: str | None,
    service_id: str | None,
    directory: Directory,
    clock: Clock = SYSTEM,
    **http: Any,
) -> PagerDutyProvider:
    api = ApiClient(
        label="PagerDuty",
        base_url=base_url,
        auth=TokenAuth(f"token={token}", scheme="Token"),
        headers={
            "Accept": "application/vnd.pagerduty+json;version=2",
            # The spec requires it on every operation, reads included.
            "Content-Type": "application/json",
        },
        error_text=error_text,
        **http,
    )
    return PagerDutyProvider(
        api, from_email=from_email, service_id=service_id, directory=directory, clock=clock
    )


def _from(settings: Settings, directory: Directory, clock: Clock, http: dict[str, Any]) -> PagerDutyProvider:
    assert settings.pagerduty_api_token is not None
    token = settings.pagerduty_api_token.get_secret_value()
    return build(
        token,
        settings.pagerduty_api_url,
        from_email=settings.pagerduty_from_email,
        service_id=settings.pagerduty_service_id,
        directory=directory,
        clock=clock,
        **http,
    )


def _build(
    settings: Settings, store: Store, directory: Directory, clock: Clock, http: dict[str, Any]
) -> Provider:
    return _from(settings, directory, clock, http)


async def _subscribe(settings: Settings, url: str) -> tuple[str, str | None]:
    """PagerDuty's REST API makes webhook subscriptions (`POST /webhook_subscriptions`)."""
    provider = _from(settings, NoDirectory(), SYSTEM, {"timeout": settings.provider_timeout})
    try:
        return await provider.create_webhook(url, sorted(webhook.KINDS))
    finally:
        await provider.close()


def _half_configured(settings: Settings) -> list[str]:
    if settings.pagerduty_from_email:
        return []
    return [
        "PAGERDUTY_FROM_EMAIL is not set: PagerDuty incidents can be read, not changed "
        "(set it to the email of the PagerDuty user the bot makes changes as)."
    ]


SPEC = ProviderSpec(
    name=PagerDutyProvider.name,
    label=PagerDutyProvider.label,
    key_setting="pagerduty_api_token",
    build=_build,
    settings=(
        "pagerduty_api_token",
        "pagerduty_from_email",
        "pagerduty_api_url",
        "pagerduty_service_id",
        "pagerduty_webhook_secret",
    ),
    prefixes=("pagerduty", "pd"),
    url=re.compile(r"^https?://[a-z0-9\-]+\.pagerduty\.com/incidents/(?P<id>[A-Z0-9]+)"),
    webhook=Webhook(
        verify=webhook.verify,
        parse=webhook.parse,
        secret_setting="pagerduty_webhook_secret",
        where="PagerDuty → Integrations → Generic Webhooks (v3) → New Webhook, or run "
        "`python -m bot webhooks --create pagerduty --url <public URL>`",
        create=_subscribe,
    ),
    half_configured=_half_configured,
)
