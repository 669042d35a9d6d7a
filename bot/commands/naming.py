"""Matching what people type against a provider's real names.

`mon` → monitoring, `SEV-2` → SEV2, `Critical` → SEV1: exact (ignoring case and
punctuation) first, then aliases, then a unique prefix. Anything else is refused with
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


def match(typed: str, names: dict[str, list[str]], kind: str) -> str | NoMatch:
    """`names` maps each real name to its aliases."""
    key = _key(typed)
    for name, aliases in names.items():
        if key == _key(name) or key in (_key(a) for a in aliases):
            return name
    prefixed = [name for name in names if key and _key(name).startswith(key)]
    if len(prefixed) == 1:
        return prefixed[0]
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
