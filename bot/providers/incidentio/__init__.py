"""incident.io, over its public API (v1, v2 and v3 endpoints, each named where it is used).

Names are incident.io's own: its statuses, severities, roles and schedules, read from its
catalogues and cached. People go by Slack id, which incident.io knows, so no email is needed.
"""

from __future__ import annotations

import re
from typing import Any

from bot.clock import SYSTEM, Clock
from bot.domain import Capability, ProviderError
from bot.providers.base import Directory, made_at, no_single_assignee
from bot.providers.duplicates import ResolvesAsDuplicate
from bot.providers.http import ApiClient, TokenAuth
from bot.providers.incidentio import webhook
from bot.providers.incidentio.client import REOPEN_REFUSED, error_text
from bot.providers.incidentio.incidents import Incidents
from bot.providers.incidentio.oncall import OnCalls
from bot.providers.incidentio.paging import Paging
from bot.providers.incidentio.retro import Retro
from bot.providers.incidentio.statuspage import StatusPage
from bot.providers.incidentio.timeline import Timeline
from bot.providers.incidentio.work import Work
from bot.providers.spec import ProviderSpec, Webhook, with_key


class IncidentIoProvider(Incidents, Work, OnCalls, Paging, Timeline, Retro, StatusPage, ResolvesAsDuplicate):
    """The adapter: its parts (bot/providers/incidentio/*.py) over one shared client."""

    name = "incidentio"
    label = "incident.io"
    # Verbs safe to run again after a restart: declare and update carry the request's
    # idempotency_key.
    records_applied = False  # its changes are made at the provider, not in our store
    replay_safe: frozenset[Capability] = frozenset(
        {Capability.DECLARE, Capability.UPDATES, Capability.PAGE, Capability.PINS}
    )
    unsupported = {
        Capability.REASSIGN: no_single_assignee("incident.io"),
        Capability.SCHEDULES: made_at("incident.io", "On-call → Schedules"),
        Capability.REOPEN: REOPEN_REFUSED,
        Capability.UNPINS: "incident.io's API cannot delete a timeline item: remove it from the "
        "incident's timeline in incident.io.",
        Capability.ESCALATE: "incident.io's API cannot move an escalation on to its next level: "
        "escalate again from the incident's page in incident.io (Escalate → the path), or with "
        "incident.io's own Slack command, `/inc escalate`, in the incident's channel.",
    }


def build(
    key: str, base_url: str, *, directory: Directory | None = None, clock: Clock = SYSTEM, **http: Any
) -> IncidentIoProvider:
    api = ApiClient(
        label="incident.io", base_url=base_url, auth=TokenAuth(key), error_text=error_text, **http
    )
    return IncidentIoProvider(api, directory, clock)


__all__ = ["IncidentIoProvider", "ProviderError", "build"]


SPEC = ProviderSpec(
    name=IncidentIoProvider.name,
    label=IncidentIoProvider.label,
    key_setting="incidentio_api_key",
    build=with_key(build, "incidentio_api_key", "incidentio_api_url"),
    settings=("incidentio_api_key", "incidentio_api_url", "incidentio_webhook_secret"),
    prefixes=("incidentio", "incident.io"),
    url=re.compile(r"^https?://app\.incident\.io/[^/]+/incidents/(?P<id>[A-Za-z0-9\-]+)"),
    webhook=Webhook(
        verify=webhook.verify,
        parse=webhook.parse,
        secret_setting="incidentio_webhook_secret",
        where="incident.io → Settings → Webhooks → Add endpoint; subscribe to the "
        "'Public incident' and 'Private incident' events; copy its signing secret (whsec_…)",
    ),
)
