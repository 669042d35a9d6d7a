"""incident.io's webhooks: signed with Standard Webhooks (Svix), verified with the
`standardwebhooks` package (timestamps within 5 minutes); the body read into a
`ProviderEvent`, or None where it is not an event the bot acts on."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from typing import Any

from standardwebhooks import Webhook

from bot.domain import PageNews, ProviderEvent
from bot.providers.hooks import as_dict, as_list, as_str, name_of, when


def verify(secret: str, raw: bytes, headers: Mapping[str, str]) -> bool:
    try:
        Webhook(secret).verify(raw, {k.lower(): v for k, v in headers.items()}, json_parse=False)
    except Exception:  # a missing or malformed header, a bad signature, a stale timestamp
        return False
    return True


# incident.io: event type (after the public_/private_ family) → what it is.
KINDS = {
    "incident_status_updated": "status",
    "incident_updated": "updated",
    "incident_created": "created",
    "follow_up_created": "followup",
    "action_created": "task",
}


# An escalation's (a page's) new status, as the channel is told it.
ESCALATION_STATES = {
    "triggered": "is paging",
    "acked": "was acknowledged",
    "resolved": "was resolved",
    "expired": "expired unanswered",
    "cancelled": "was cancelled",
}


# The escalation's status as the card's page shows it (only the answers).
PAGE_STATES = {"acked": "acknowledged", "expired": "unanswered"}


def _escalation(
    event_type: str, payload: dict[str, Any], raw: bytes, headers: Mapping[str, str]
) -> ProviderEvent | None:
    """A page's status changed (`page` makes escalations): told in the incident's channel,
    with who acknowledged it. Only a status the channel needs; `pending` is not one."""
    if not event_type.endswith("escalation_status_updated_v1"):
        return None
    escalation = as_dict(payload.get("escalation"))
    state = as_str(payload.get("new_status")) or as_str(escalation.get("status")) or ""
    said = ESCALATION_STATES.get(state)
    related = [as_dict(i) for i in as_list(escalation.get("related_incidents"))]
    incident_id = as_str(related[0].get("id")) if related else None
    if said is None or incident_id is None:
        return None
    title = as_str(escalation.get("title")) or "the page"
    actor = name_of(payload.get("actor")) if state == "acked" else None
    answered = PAGE_STATES.get(state)
    page = PageNews(state=answered, page_id=as_str(escalation.get("id")), who=actor) if answered else None
    return ProviderEvent(
        provider="incidentio",
        delivery_id=headers.get("webhook-id") or hashlib.sha256(raw).hexdigest(),
        event_type=event_type,
        incident_id=incident_id,
        kind="responder",
        occurred_at=when(escalation.get("updated_at")),
        actor=actor,
        detail=f"{title} {said}" + (f" by {actor}" if actor else ""),
        page=page,
    )


def parse(body: Any, raw: bytes, headers: Mapping[str, str]) -> ProviderEvent | None:
    event_type = as_str(as_dict(body).get("event_type")) or ""
    payload = as_dict(body).get(event_type)
    if isinstance(payload, dict) and event_type.startswith(("public_escalation.", "private_escalation.")):
        return _escalation(event_type, payload, raw, headers)
    if not isinstance(payload, dict) or not event_type.startswith(("public_incident.", "private_incident.")):
        return None
    name = event_type.split(".", 1)[1].rsplit("_v", 1)[0]
    kind = KINDS.get(name)
    if kind is None:
        return None
    if isinstance(payload.get("incident"), dict):
        incident = payload["incident"]
    elif name.startswith("incident_"):
        incident = payload  # the incident itself (a private one: its id only)
    else:
        incident = {"id": payload.get("incident_id")}
    detail = {
        "status": as_dict(payload.get("new_status")).get("name"),
        "followup": payload.get("title"),
        "task": payload.get("description"),
    }.get(kind)
    return ProviderEvent(
        provider="incidentio",
        delivery_id=headers.get("webhook-id") or hashlib.sha256(raw).hexdigest(),
        event_type=event_type,
        incident_id=incident.get("id") if isinstance(incident.get("id"), str) else None,
        kind=kind,
        occurred_at=when(
            incident.get("updated_at") or payload.get("updated_at") or payload.get("created_at")
        ),
        actor=name_of(payload.get("creator")) if kind in ("followup", "task") else None,
        detail=detail if isinstance(detail, str) else None,
        channel_id=as_str(incident.get("slack_channel_id")),
    )
