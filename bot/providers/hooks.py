"""Reading a provider's webhook body: every field as the provider documents it, anything
else (a signed body of another shape) as if absent, never an exception."""

from __future__ import annotations

import hashlib
import hmac
from datetime import datetime
from typing import Any


def hex_hmac(secret: str, raw: bytes) -> str:
    """The hex HMAC-SHA256 of the raw body, as PagerDuty and FireHydrant sign it."""
    return hmac.new(secret.encode(), raw, hashlib.sha256).hexdigest()


def when(value: object) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None


def as_dict(value: object) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def as_list(value: object) -> list[Any]:
    return value if isinstance(value, list) else []


def as_str(value: object) -> str | None:
    """A text field as the provider documents it; anything else (a signed body of another
    shape) is as if absent."""
    return value if isinstance(value, str) and value else None


def name_of(person: object) -> str | None:
    person = as_dict(person)
    user = as_dict(person.get("user")) or person
    return as_str(user.get("name")) or as_str(user.get("summary"))
