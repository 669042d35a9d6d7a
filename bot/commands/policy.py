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


class Policy:
    def __init__(self, levels: dict[str, Level]) -> None:
        self.levels = levels

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
        return cls(levels)

    def level(self, verb: str) -> Level:
        return self.levels.get(verb, Level.ANYONE)

    def describe(self) -> list[str]:
        """The effective policy, one line per verb, as `check` prints it."""
        return [f"{verb.name:10} {self.level(verb.name).value}" for verb in registry.VERBS]


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
