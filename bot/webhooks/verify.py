"""Each provider's signature, checked on the raw body before anything parses it.

incident.io signs with Standard Webhooks (Svix): verified with the `standardwebhooks`
package, timestamps within 5 minutes. PagerDuty and FireHydrant sign the body with a hex
HMAC-SHA256; PagerDuty may send several `v1=` entries while a secret rotates.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping

from standardwebhooks import Webhook


def incidentio(secret: str, raw: bytes, headers: Mapping[str, str]) -> bool:
    try:
        Webhook(secret).verify(raw, {k.lower(): v for k, v in headers.items()}, json_parse=False)
    except Exception:  # a missing or malformed header, a bad signature, a stale timestamp
        return False
    return True


def _hex(secret: str, raw: bytes) -> str:
    return hmac.new(secret.encode(), raw, hashlib.sha256).hexdigest()


def pagerduty(secret: str, raw: bytes, headers: Mapping[str, str]) -> bool:
    expected = _hex(secret, raw)
    given = headers.get("X-PagerDuty-Signature", "")
    entries = [e.strip().removeprefix("v1=") for e in given.split(",") if e.strip().startswith("v1=")]
    return any(hmac.compare_digest(expected, entry) for entry in entries)


def firehydrant(secret: str, raw: bytes, headers: Mapping[str, str]) -> bool:
    return hmac.compare_digest(_hex(secret, raw), headers.get("fh-signature", "").strip())


VERIFIERS = {"incidentio": incidentio, "pagerduty": pagerduty, "firehydrant": firehydrant}
