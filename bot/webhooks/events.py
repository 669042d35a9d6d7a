"""Each provider's webhook body, read into a `ProviderEvent`. None: not an event we act on
(answered 2xx all the same, so the provider does not retry it)."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from bot.domain import ProviderEvent


def _when(value: object) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None


def _dict(value: object) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _list(value: object) -> list[Any]:
    return value if isinstance(value, list) else []


def _str(value: object) -> str | None:
    """A text field as the provider documents it; anything else (a signed body of another
    shape) is as if absent."""
    return value if isinstance(value, str) and value else None


def _name(person: object) -> str | None:
    person = _dict(person)
    user = _dict(person.get("user")) or person
    return _str(user.get("name")) or _str(user.get("summary"))


# incident.io: event type (after the public_/private_ family) → what it is.
INCIDENTIO_KINDS = {
    "incident_status_updated": "status",
    "incident_updated": "updated",
    "incident_created": "created",
    "follow_up_created": "followup",
    "action_created": "task",
}


def incidentio(body: Any, raw: bytes, headers: Mapping[str, str]) -> ProviderEvent | None:
    event_type = _str(_dict(body).get("event_type")) or ""
    payload = _dict(body).get(event_type)
    if not isinstance(payload, dict) or not event_type.startswith(("public_incident.", "private_incident.")):
        return None
    name = event_type.split(".", 1)[1].rsplit("_v", 1)[0]
    kind = INCIDENTIO_KINDS.get(name)
    if kind is None:
        return None
    if isinstance(payload.get("incident"), dict):
        incident = payload["incident"]
    elif name.startswith("incident_"):
        incident = payload  # the incident itself (a private one: its id only)
    else:
        incident = {"id": payload.get("incident_id")}
    detail = {
        "status": _dict(payload.get("new_status")).get("name"),
        "followup": payload.get("title"),
        "task": payload.get("description"),
    }.get(kind)
    return ProviderEvent(
        provider="incidentio",
        delivery_id=headers.get("webhook-id") or hashlib.sha256(raw).hexdigest(),
        event_type=event_type,
        incident_id=incident.get("id") if isinstance(incident.get("id"), str) else None,
        kind=kind,
        occurred_at=_when(
            incident.get("updated_at") or payload.get("updated_at") or payload.get("created_at")
        ),
        actor=_name(payload.get("creator")) if kind in ("followup", "task") else None,
        detail=detail if isinstance(detail, str) else None,
        channel_id=_str(incident.get("slack_channel_id")),
    )


PAGERDUTY_KINDS = {
    "incident.triggered": "created",
    "incident.acknowledged": "status",
    "incident.unacknowledged": "status",
    "incident.resolved": "status",
    "incident.reopened": "status",
    "incident.priority_updated": "severity",
    "incident.reassigned": "assignee",
    "incident.escalated": "assignee",
    "incident.delegated": "assignee",
    "incident.annotated": "update",
    "incident.status_update_published": "update",
    "incident.role.assigned": "role",
    "incident.task.created": "task",
}


def pagerduty(body: Any, raw: bytes, headers: Mapping[str, str]) -> ProviderEvent | None:
    event = _dict(_dict(body).get("event"))
    event_type, data = _str(event.get("event_type")) or "", _dict(event.get("data"))
    kind = PAGERDUTY_KINDS.get(event_type)
    if kind is None or not isinstance(event.get("id"), str):
        return None
    incident_id = data.get("id") if data.get("type") == "incident" else _dict(data.get("incident")).get("id")
    detail = {
        "status": data.get("status"),
        "severity": _dict(data.get("priority")).get("summary"),
        "assignee": ", ".join(
            filter(None, (_str(_dict(a).get("summary")) for a in _list(data.get("assignees"))))
        ),
        "update": data.get("content") or data.get("message"),
    }.get(kind)
    return ProviderEvent(
        provider="pagerduty",
        delivery_id=event["id"],
        event_type=event_type,
        incident_id=incident_id if isinstance(incident_id, str) else None,
        kind=kind,
        occurred_at=_when(event.get("occurred_at")),
        actor=_name(event.get("agent")),
        detail=detail if isinstance(detail, str) and detail else None,
    )


def firehydrant(body: Any, raw: bytes, headers: Mapping[str, str]) -> ProviderEvent | None:
    """FireHydrant sends no id for a delivery: the body's hash stands for one."""
    incident = _dict(_dict(_dict(body).get("data")).get("incident"))
    event = _dict(_dict(body).get("event"))
    if not isinstance(incident.get("id"), str):
        return None
    channels = [_dict(c) for c in _list(incident.get("incident_channels"))]
    channel = _str(incident.get("channel_id")) or next(
        filter(None, (_str(c.get("id")) for c in channels)), None
    )
    operation = str(event.get("operation") or "updated").lower()
    return ProviderEvent(
        provider="firehydrant",
        delivery_id=hashlib.sha256(raw).hexdigest(),
        event_type=f"incident.{operation}",
        incident_id=incident["id"],
        kind="created" if operation == "created" else "updated",
        occurred_at=_when(incident.get("updated_at") or event.get("created_at")),
        actor=_name(event.get("actor")),
        detail=incident.get("current_milestone")
        if isinstance(incident.get("current_milestone"), str)
        else None,
        channel_id=channel,
    )


PARSERS = {"incidentio": incidentio, "pagerduty": pagerduty, "firehydrant": firehydrant}
