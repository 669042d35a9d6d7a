"""FireHydrant's webhooks: the body signed with hex HMAC-SHA256 (`fh-signature`); the body
read into a `ProviderEvent`, or None."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping
from typing import Any

from bot.domain import ProviderEvent
from bot.providers.hooks import as_dict, as_list, as_str, hex_hmac, name_of, when


def verify(secret: str, raw: bytes, headers: Mapping[str, str]) -> bool:
    return hmac.compare_digest(hex_hmac(secret, raw), headers.get("fh-signature", "").strip())


def parse(body: Any, raw: bytes, headers: Mapping[str, str]) -> ProviderEvent | None:
    """FireHydrant sends no id for a delivery: the body's hash stands for one."""
    incident = as_dict(as_dict(as_dict(body).get("data")).get("incident"))
    event = as_dict(as_dict(body).get("event"))
    if not isinstance(incident.get("id"), str):
        return None
    channels = [as_dict(c) for c in as_list(incident.get("incident_channels"))]
    channel = as_str(incident.get("channel_id")) or next(
        filter(None, (as_str(c.get("id")) for c in channels)), None
    )
    operation = str(event.get("operation") or "updated").lower()
    return ProviderEvent(
        provider="firehydrant",
        delivery_id=hashlib.sha256(raw).hexdigest(),
        event_type=f"incident.{operation}",
        incident_id=incident["id"],
        kind="created" if operation == "created" else "updated",
        occurred_at=when(incident.get("updated_at") or event.get("created_at")),
        actor=name_of(event.get("actor")),
        detail=incident.get("current_milestone")
        if isinstance(incident.get("current_milestone"), str)
        else None,
        channel_id=channel,
    )
