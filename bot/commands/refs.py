"""Incident references as people type them: `INC-12`, `PAGERDUTY:Q1ABC`, or a URL."""

from __future__ import annotations

import re

from pydantic import BaseModel

from bot.providers import SPECS

_PREFIXED = re.compile(r"^(?P<prefix>[a-z.]+):(?P<id>[A-Za-z0-9_\-]+)$", re.IGNORECASE)
_BARE = re.compile(r"^INC-?(?P<n>\d{1,9})$", re.IGNORECASE)
_NUMBER = re.compile(r"^#?(?P<n>\d{1,9})$")
# Each provider's own ways of naming its incidents, from its spec (bot/providers/spec.py).
_PREFIXES = {prefix: spec.name for spec in SPECS for prefix in spec.prefixes}
_URLS = tuple((spec.url, spec.name) for spec in SPECS if spec.url is not None)


class Reference(BaseModel):
    provider: str | None  # None: the default provider's own reference format
    id: str
    raw: str
    # Typed as a bare number (`7`, `#7`, the number a PagerDuty card shows): the incident
    # at the channel's own provider, or else the default one.
    number: bool = False


class Target(BaseModel):
    """An incident already found: where a button or a modal was made for. It wins over the
    channel's link, so a modal acts on the incident it was opened for even if the channel
    was relinked while it was open."""

    provider: str
    incident_id: str
    reference: str


def parse_reference(text: str, *, number: bool = False) -> Reference | None:
    """`number`: a bare number counts too, where nothing but a reference can stand."""
    text = text.strip().strip("<>")
    bare_number = _NUMBER.match(text) if number else None
    if bare_number:
        return Reference(provider=None, id=bare_number["n"], raw=text, number=True)
    if "|" in text:  # Slack link markup <url|label>
        text = text.split("|", 1)[0]
    bare = _BARE.match(text)
    if bare:
        return Reference(provider=None, id=f"INC-{int(bare['n'])}", raw=text)
    prefixed = _PREFIXED.match(text)
    if prefixed and prefixed["prefix"].lower() in _PREFIXES:
        return Reference(provider=_PREFIXES[prefixed["prefix"].lower()], id=prefixed["id"], raw=text)
    for pattern, provider in _URLS:
        match = pattern.match(text)
        if match:
            return Reference(provider=provider, id=match["id"], raw=text)
    return None


def looks_like_trailing_reference(text: str) -> bool:
    """Only unmistakable forms count at the end of a command; a URL there is just text."""
    ref = parse_reference(text)
    return ref is not None and not text.lower().startswith("http")
