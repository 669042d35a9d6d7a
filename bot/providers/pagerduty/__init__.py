"""PagerDuty, over its REST API v2.

PagerDuty knows people by email only, so Slack users are mapped through the workspace
directory (users.info → email → `GET /users?query=`), and PagerDuty users back to Slack by
email too. Its REST API has no incident roles and no follow-ups: those verbs say so.
Severity is PagerDuty's priority (P1…) where the account has priorities, and its urgency
(high / low) always.
"""

from __future__ import annotations

from typing import Any

from bot.clock import SYSTEM, Clock
from bot.domain import Capability
from bot.providers.base import Directory, made_at
from bot.providers.http import ApiClient, TokenAuth
from bot.providers.pagerduty.client import NO_FOLLOWUPS, NO_ROLES, error_text
from bot.providers.pagerduty.incidents import Incidents
from bot.providers.pagerduty.oncall import OnCalls


class PagerDutyProvider(Incidents, OnCalls):
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
