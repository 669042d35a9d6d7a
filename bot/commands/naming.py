"""Matching what people type against a provider's real names.

`mon` → monitoring, `SEV-2` → SEV2, `Critical` → SEV1: exact (ignoring case and
punctuation) first, then aliases, then a unique prefix of the name or of any of its
words (`commander` → Incident Commander), then, for statuses and roles, the common
words (`mitigated` → monitoring where there is no Mitigated, `ic` → the lead role).
Anything else is refused with the real names to choose from, because guessing a status
in an outage is a surprise.
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
# preference: `mitigated` is Mitigated at FireHydrant, monitoring at the built-in one and
# acknowledged at PagerDuty (open, and someone is on it). Every provider's own names are
# here too, so a word that is a status at one provider means the nearest at another.
SYNONYMS: dict[str, tuple[str, ...]] = {
    "triage": ("triage", "triggered", "started", "detected"),
    "triggered": ("triggered", "triage", "started", "detected"),
    "open": ("triggered", "triage", "investigating", "started"),
    "new": ("triggered", "triage", "started"),
    "detected": ("detected", "started", "triage", "triggered"),
    "investigating": ("investigating", "acknowledged", "triage"),
    "acked": ("acknowledged", "investigating"),
    "acknowledged": ("acknowledged", "investigating"),
    "working": ("fixing", "identified", "investigating", "acknowledged"),
    "fixing": ("fixing", "identified", "investigating", "acknowledged"),
    "identified": ("identified", "fixing", "acknowledged"),
    "rootcause": ("identified", "fixing", "acknowledged"),
    "mitigated": ("mitigated", "monitoring", "stable", "stabilized", "acknowledged"),
    "stable": ("stable", "stabilized", "mitigated", "monitoring", "acknowledged"),
    "stabilized": ("stabilized", "stable", "mitigated", "monitoring", "acknowledged"),
    "contained": ("mitigated", "monitoring", "stable", "acknowledged"),
    "monitoring": ("monitoring", "mitigated", "stable", "acknowledged"),
    "watching": ("monitoring", "mitigated", "acknowledged"),
    "fixed": ("resolved", "documenting", "closed"),
    "resolved": ("resolved", "documenting", "closed"),
    "done": ("resolved", "documenting", "closed"),
    "allclear": ("resolved", "documenting", "closed"),
    "documenting": ("documenting", "retrospectivestarted", "postmortemstarted", "resolved"),
    "postmortem": ("documenting", "retrospectivestarted", "postmortemstarted", "resolved"),
    "retro": ("retrospectivestarted", "documenting", "postmortemstarted", "resolved"),
    "closed": ("closed", "resolved"),
}

# The words people use for a role. `LEAD` stands for the provider's lead role, its first
# (the one `lead` gives), whatever it is called there: Incident Lead, Incident Commander.
LEAD = "<lead>"
ROLE_SYNONYMS: dict[str, tuple[str, ...]] = {
    **{word: (LEAD,) for word in ("lead", "commander", "ic", "im", "incidentcommander", "incidentlead")},
    **{word: (LEAD,) for word in ("incidentmanager", "manager", "leader", "owner", "captain")},
    **{
        word: ("comms", "communications", "communicationslead", "communication", "commslead")
        for word in ("comms", "comm", "communications", "communication", "commslead", "communicationslead")
    },
    **{word: ("scribe", "notetaker", "notes") for word in ("scribe", "notetaker", "notes", "notestaker")},
}


def rank_of(typed: str) -> int | None:
    """`1`, `sev1`, `SEV-1`, `sev 1`, `p1`, `P-1`, `priority 1`: a step of the severity scale,
    1 the most severe, as people say it whatever the provider calls its levels."""
    found = re.fullmatch(r"(?:sev(?:erity)?|p(?:riority)?)?[\s_\-]*(\d{1,2})", typed.strip().lower())
    return int(found[1]) if found else None


def exact(typed: str, names: dict[str, list[str]]) -> str | None:
    """The name `typed` is, ignoring case and punctuation, or one of its aliases: no guess."""
    key = _key(typed)
    for name, aliases in names.items():
        if key == _key(name) or key in (_key(a) for a in aliases):
            return name
    return None


def _words(name: str) -> list[str]:
    return [w for w in re.split(r"[\s_\-./()]+", name.lower()) if w]


def synonym(typed: str, names: list[str], table: dict[str, tuple[str, ...]] | None = None) -> str | None:
    """The real name a common word stands for here, or None. In the roles' table, LEAD is
    the first of `names`."""
    by_key = {_key(n): n for n in names}
    for wanted in (SYNONYMS if table is None else table).get(_key(typed), ()):
        if wanted == LEAD and names:
            return names[0]
        if _key(wanted) in by_key:
            return by_key[_key(wanted)]
    return None


def common_words(names: list[str]) -> dict[str, str]:
    """The common status words that stand for another of these names: what `help status`
    lists beside the provider's own statuses."""
    own = {_key(n) for n in names}
    found = {word: synonym(word, names) for word in SYNONYMS if word not in own}
    return {word: name for word, name in found.items() if name is not None}


def reads_as(typed: str, chosen: str) -> bool:
    """True when `chosen` came from a synonym, not from the typed letters: the answer says so."""
    key = _key(typed)
    return bool(key) and not (_key(chosen).startswith(key) or any(w.startswith(key) for w in _words(chosen)))


def match(typed: str, names: dict[str, list[str]], kind: str) -> str | NoMatch:
    """`names` maps each real name to its aliases."""
    key = _key(typed)
    found = exact(typed, names)
    if found is not None:
        return found
    # `mon` → monitoring, `commander` → Incident Commander: a unique prefix of the name or
    # of any of its words (`co` is then both Incident Commander and Communications Lead).
    prefixed = [
        name
        for name in names
        if key and (_key(name).startswith(key) or any(w.startswith(key) for w in _words(name)))
    ]
    if len(prefixed) == 1:
        return prefixed[0]
    table = {"status": SYNONYMS, "role": ROLE_SYNONYMS}.get(kind)
    if not prefixed and table is not None:
        found = synonym(typed, list(names), table)
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
