"""Who may run what: one level per verb, declared in the registry, tightened or loosened by
an operator's policy file, and checked in one place for typed commands, clicks and modals.

The levels are the words on-call engineers use:
- anyone: every member of the workspace;
- responders: people in the incident's channel, or holding one of its roles;
- lead: whoever holds the incident's first role (lead), or an admin;
- admins: `INCIDENT_ADMINS` (user ids) and the members of the Slack user group
  `INCIDENT_ADMIN_GROUP`. With neither set, what is for admins is for responders instead:
  locking responders out in the middle of an outage is worse than the risk.
Admins may always do what responders and the lead may.
"""

from __future__ import annotations

import re
import time
import tomllib
from collections import deque
from enum import StrEnum
from pathlib import Path

from bot.commands import registry


class Level(StrEnum):
    ANYONE = "anyone"
    RESPONDERS = "responders"
    LEAD = "lead"
    ADMINS = "admins"


WHO = {
    Level.ANYONE: "anyone",
    Level.RESPONDERS: "the incident's responders (people in its channel or holding a role) or an admin",
    Level.LEAD: "the incident's lead or an admin",
    Level.ADMINS: "the bot's admins",
}


class PolicyError(ValueError):
    """The policy file is wrong: one line naming what, for `check` and `serve`."""


# An auto-invite entry: a user group by handle (`@sre-leads`) or id (`S0123ABC`), or a
# person by Slack user id (`U0123ABC`; a person has no handle Slack can be asked by).
_INVITEE = re.compile(r"^(?:@[\w.\-]{1,80}|[SUW][A-Z0-9]{2,30})$")


class Policy:
    def __init__(
        self, levels: dict[str, Level], auto_invite: dict[str, tuple[str, ...]] | None = None
    ) -> None:
        self.levels = levels
        # severity (as the provider names it, or sev1 / p1) → who is invited at it
        self.auto_invite = auto_invite or {}

    @classmethod
    def load(cls, path: str | None) -> Policy:
        levels = {verb.name: Level(verb.access.value) for verb in registry.VERBS}
        if not path:
            return cls(levels)
        try:
            table = tomllib.loads(Path(path).read_text())
        except OSError as exc:
            raise PolicyError(f"INCIDENT_POLICY: cannot read {path}: {exc.strerror}") from None
        except tomllib.TOMLDecodeError as exc:
            raise PolicyError(f"INCIDENT_POLICY: {path} is not valid TOML: {exc}") from None
        invites = _auto_invite(table.pop("auto_invite", {}), path)
        table = table.get("verbs", table)
        for name, value in table.items():
            verb = registry.lookup(str(name))
            if verb is None:
                raise PolicyError(f"INCIDENT_POLICY: {path} names `{name}`, which is not a verb")
            try:
                levels[verb.name] = Level(str(value).lower())
            except ValueError:
                allowed = ", ".join(level.value for level in Level)
                raise PolicyError(
                    f"INCIDENT_POLICY: {path} sets {name} = {value!r}; allowed: {allowed}"
                ) from None
        return cls(levels, invites)

    def level(self, verb: str) -> Level:
        return self.levels.get(verb, Level.ANYONE)

    def describe(self) -> list[str]:
        """The effective policy, one line per verb, as `check` prints it."""
        lines = [f"{verb.name:10} {self.level(verb.name).value}" for verb in registry.VERBS]
        invites = self.auto_invite.items()
        return lines + [f"auto-invite at {key}: {', '.join(names)}" for key, names in invites]


def _auto_invite(table: object, path: str) -> dict[str, tuple[str, ...]]:
    """`[auto_invite]`: severity = [who …], checked as the file is read so a typo is told
    at `check` and at start, not found in the middle of a SEV1."""
    if not isinstance(table, dict):
        raise PolicyError(f"INCIDENT_POLICY: {path}: auto_invite must be a table, like [auto_invite]")
    found: dict[str, tuple[str, ...]] = {}
    for severity, names in table.items():
        names = [names] if isinstance(names, str) else names
        if not isinstance(names, list) or not all(isinstance(n, str) and _INVITEE.match(n) for n in names):
            raise PolicyError(
                f"INCIDENT_POLICY: {path} sets auto_invite.{severity} = {names!r}; "
                'give a list of user groups and people, like ["@sre-leads", "S0123ABC", "U0123ABC"]'
            )
        found[str(severity)] = tuple(names)
    return found


class RateLimit:
    """At most `count` acts per person per `seconds` (declares), in this process."""

    def __init__(self, count: int, seconds: float = 60.0) -> None:
        self.count, self.seconds = count, seconds
        self._seen: dict[str, deque[float]] = {}

    def allow(self, who: str) -> bool:
        if self.count <= 0:
            return True
        at = time.monotonic()
        seen = self._seen.setdefault(who, deque())
        while seen and seen[0] <= at - self.seconds:
            seen.popleft()
        if len(seen) >= self.count:
            return False
        seen.append(at)
        if len(self._seen) > 10_000:
            self._seen = {k: v for k, v in self._seen.items() if v and v[-1] > at - self.seconds}
        return True
