"""FireHydrant, over its public API v1.

Statuses are FireHydrant's milestones (from its lifecycle phases); severities and
priorities go by slug. People are found by the email Slack has for them. FireHydrant has
no idempotency key on incident creation, so `declare` remembers what it created for each
request and never sends the same creation twice.
"""

from __future__ import annotations

import re
from typing import Any

from bot.clock import SYSTEM, Clock
from bot.domain import Capability
from bot.providers.base import Directory, made_at, no_single_assignee
from bot.providers.duplicates import ResolvesAsDuplicate
from bot.providers.firehydrant import webhook
from bot.providers.firehydrant.client import error_text
from bot.providers.firehydrant.incidents import Incidents
from bot.providers.firehydrant.oncall import OnCalls
from bot.providers.firehydrant.paging import Paging
from bot.providers.firehydrant.retro import Retro
from bot.providers.firehydrant.statuspage import StatusPage
from bot.providers.firehydrant.timeline import Timeline
from bot.providers.firehydrant.work import Work
from bot.providers.http import ApiClient, TokenAuth
from bot.providers.spec import ProviderSpec, Webhook, with_key


class FireHydrantProvider(Incidents, Work, OnCalls, Timeline, Retro, Paging, StatusPage, ResolvesAsDuplicate):
    """The adapter: its parts (bot/providers/firehydrant/*.py) over one shared client."""

    name = "firehydrant"
    label = "FireHydrant"
    # Verbs safe to run again after a restart: none, FireHydrant takes no idempotency key.
    records_applied = False  # its changes are made at the provider, not in our store
    replay_safe: frozenset[Capability] = frozenset()
    unsupported = {
        Capability.REASSIGN: no_single_assignee("FireHydrant"),
        Capability.SCHEDULES: made_at("FireHydrant", "On-call → Schedules"),
        Capability.STAKEHOLDER_UPDATES: "FireHydrant sends stakeholder updates through its status pages, "
        "which the bot does not choose for you: post it on the status page in FireHydrant.",
        Capability.OVERRIDE_LIST: "FireHydrant's API has no list of a schedule's coverage shifts to pick "
        "one from: see and remove them on the schedule's page in FireHydrant (On-call → Schedules).",
        Capability.ESCALATE: "FireHydrant's API has no escalation level to move an incident to: escalate "
        "the page from FireHydrant Signals, or assign another team on the incident's page.",
    }


def build(
    key: str, base_url: str, *, directory: Directory, clock: Clock = SYSTEM, **http: Any
) -> FireHydrantProvider:
    api = ApiClient(
        label="FireHydrant", base_url=base_url, auth=TokenAuth(key), error_text=error_text, **http
    )
    return FireHydrantProvider(api, directory=directory, clock=clock)


SPEC = ProviderSpec(
    name=FireHydrantProvider.name,
    label=FireHydrantProvider.label,
    key_setting="firehydrant_api_key",
    build=with_key(build, "firehydrant_api_key", "firehydrant_api_url"),
    settings=("firehydrant_api_key", "firehydrant_api_url", "firehydrant_webhook_secret"),
    prefixes=("firehydrant", "fh"),
    url=re.compile(r"^https?://app\.firehydrant\.io/incidents/(?P<id>[A-Za-z0-9\-]+)"),
    webhook=Webhook(
        verify=webhook.verify,
        parse=webhook.parse,
        secret_setting="firehydrant_webhook_secret",
        where="FireHydrant → Settings → Webhooks → Add webhook; copy its secret",
    ),
)
