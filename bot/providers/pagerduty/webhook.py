"""PagerDuty's webhooks (v3): the body signed with hex HMAC-SHA256, several `v1=` entries
while a secret rotates; the body read into a `ProviderEvent`, or None."""

from __future__ import annotations

import hmac
from collections.abc import Mapping
from typing import Any

from bot.domain import PageNews, ProviderEvent
from bot.providers.hooks import as_dict, as_list, as_str, hex_hmac, name_of, when


def verify(secret: str, raw: bytes, headers: Mapping[str, str]) -> bool:
    expected = hex_hmac(secret, raw)
    given = headers.get("X-PagerDuty-Signature", "")
    entries = [e.strip().removeprefix("v1=") for e in given.split(",") if e.strip().startswith("v1=")]
    return any(hmac.compare_digest(expected, entry) for entry in entries)


KINDS = {
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
    # A responder request (`page`) sent, and the answer to it: joined, or declined.
    "incident.responder.added": "responder",
    "incident.responder.replied": "responder",
}

# A responder's `state` as the channel is told it, and as the card's page shows it.
RESPONDER_STATES = {"pending": "was asked to help", "joined": "joined", "declined": "declined"}
PAGE_STATES = {"pending": "paged", "joined": "acknowledged", "declined": "declined"}


def parse(body: Any, raw: bytes, headers: Mapping[str, str]) -> ProviderEvent | None:
    event = as_dict(as_dict(body).get("event"))
    event_type, data = as_str(event.get("event_type")) or "", as_dict(event.get("data"))
    kind = KINDS.get(event_type)
    if kind is None or not isinstance(event.get("id"), str):
        return None
    incident = data if data.get("type") == "incident" else as_dict(data.get("incident"))
    incident_id = incident.get("id")
    detail = {
        "status": data.get("status"),
        "severity": as_dict(data.get("priority")).get("summary"),
        "assignee": ", ".join(
            filter(None, (as_str(as_dict(a).get("summary")) for a in as_list(data.get("assignees"))))
        ),
        "update": data.get("content") or data.get("message"),
        "responder": _responder(data),
    }.get(kind)
    return ProviderEvent(
        provider="pagerduty",
        delivery_id=event["id"],
        event_type=event_type,
        incident_id=incident_id if isinstance(incident_id, str) else None,
        kind=kind,
        occurred_at=when(event.get("occurred_at")),
        actor=name_of(event.get("agent")),
        detail=detail if isinstance(detail, str) and detail else None,
        page=_page(data) if kind == "responder" else None,
    )


def _page(data: dict[str, Any]) -> PageNews | None:
    """The responder request's state, with the ids the bot's own page recorded (the user,
    the escalation policy): the event carries no id of the request itself."""
    state = PAGE_STATES.get(as_str(data.get("state")) or "")
    if state is None:
        return None
    user, policy = as_dict(data.get("user")), as_dict(data.get("escalation_policy"))
    ids = [i for i in (as_str(user.get("id")), as_str(policy.get("id"))) if i]
    return PageNews(state=state, ids=ids, who=as_str(user.get("summary")))


def _responder(data: dict[str, Any]) -> str | None:
    """`Maeve joined (The Policy)`: who, what they said, and through which policy."""
    who = as_str(as_dict(data.get("user")).get("summary"))
    state = as_str(data.get("state")) or ""
    if not who:
        return None
    policy = as_str(as_dict(data.get("escalation_policy")).get("summary"))
    said = f"{who} {RESPONDER_STATES.get(state, state or 'was asked to help')}"
    return f"{said} (through {policy})" if policy else said
