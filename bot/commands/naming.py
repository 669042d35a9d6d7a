"""Matching what people type against a provider's real names.

`mon` → monitoring, `SEV-2` → SEV2, `Critical` → SEV1: exact (ignoring case and
punctuation) first, then aliases, then a unique prefix of the name or of any of its
words (`commander` → Incident Commander), then, for statuses, the common words
(`mitigated` → monitoring where there is no Mitigated). Anything else is refused with
the real names to choose from, because guessing a status in an outage is a surprise.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass


@dataclass(frozen=True)
class NoMatch:
    message: str


def _key(text: str) -> str:
    return re.sub(r"[\s_\-.]+", "", text.lower())


# The words people use for a status, and what each provider may call it, in order of
# preference: `mitigated` is Mitigated at FireHydrant and monitoring at the built-in one.
SYNONYMS: dict[str, tuple[str, ...]] = {
    "mitigated": ("mitigated", "monitoring", "stable", "stabilized"),
    "stable": ("stable", "stabilized", "mitigated", "monitoring"),
    "contained": ("mitigated", "monitoring", "stable"),
    "watching": ("monitoring", "mitigated"),
    "fixed": ("resolved",),
    "closed": ("closed", "resolved"),
    "working": ("fixing", "identified", "investigating", "acknowledged"),
    "acked": ("acknowledged", "investigating"),
    "open": ("triggered", "triage", "investigating", "started"),
    "new": ("triggered", "triage", "started"),
    "identified": ("identified", "fixing"),
    "rootcause": ("identified", "fixing"),
}


def _words(name: str) -> list[str]:
    return [w for w in re.split(r"[\s_\-./()]+", name.lower()) if w]


def synonym(typed: str, names: list[str]) -> str | None:
    """The real name a common word stands for here, or None."""
    by_key = {_key(n): n for n in names}
    for wanted in SYNONYMS.get(_key(typed), ()):
        if _key(wanted) in by_key:
            return by_key[_key(wanted)]
    return None


def reads_as(typed: str, chosen: str) -> bool:
    """True when `chosen` came from a synonym, not from the typed letters: the answer says so."""
    key = _key(typed)
    return bool(key) and not (_key(chosen).startswith(key) or any(w.startswith(key) for w in _words(chosen)))


def match(typed: str, names: dict[str, list[str]], kind: str) -> str | NoMatch:
    """`names` maps each real name to its aliases."""
    key = _key(typed)
    for name, aliases in names.items():
        if key == _key(name) or key in (_key(a) for a in aliases):
            return name
    # `mon` → monitoring, `commander` → Incident Commander: a unique prefix of the name or
    # of any of its words (`co` is then both Incident Commander and Communications Lead).
    prefixed = [
        name
        for name in names
        if key and (_key(name).startswith(key) or any(w.startswith(key) for w in _words(name)))
    ]
    if len(prefixed) == 1:
        return prefixed[0]
    if not prefixed and kind == "status":
        found = synonym(typed, list(names))
        if found:
            return found
    listing = ", ".join(f"`{n}`" for n in names)
    if prefixed:
        options = ", ".join(f"`{n}`" for n in prefixed)
        return NoMatch(f"“{typed}” could be {options}. Say which.")
    close = difflib.get_close_matches(key, {_key(n): n for n in names}, n=1, cutoff=0.6)
    hint = ""
    if close:
        hint = " Did you mean `" + {_key(n): n for n in names}[close[0]] + "`?"
    if not names:
        return NoMatch(f"There is no {kind} to choose from yet.")
    return NoMatch(f"“{typed}” is not a {kind} here.{hint} Choose one of: {listing}.")
