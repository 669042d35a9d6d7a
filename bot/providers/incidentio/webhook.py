"""incident.io's webhooks: signed with Standard Webhooks (Svix), verified with the
`standardwebhooks` package (timestamps within 5 minutes); the body read into a
`ProviderEvent`, or None where it is not an event the bot acts on."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from typing import Any

from standardwebhooks import Webhook

from bot.domain import ProviderEvent
from bot.providers.hooks import as_dict, as_str, name_of, when


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


def parse(body: Any, raw: bytes, headers: Mapping[str, str]) -> ProviderEvent | None:
    event_type = as_str(as_dict(body).get("event_type")) or ""
    payload = as_dict(body).get(event_type)
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
