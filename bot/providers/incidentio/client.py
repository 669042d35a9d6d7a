"""incident.io's client side: names, catalogues, people, reading an incident."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from bot.clock import SYSTEM, Clock
from bot.domain import (
    Incident,
    Move,
    NotFound,
    Person,
    Rejected,
    Severity,
)
from bot.providers.base import Directory, NoDirectory
from bot.providers.cache import PEOPLE_TTL, TTLCache
from bot.providers.http import ApiClient
from bot.providers.paging import Cursor, collect
from bot.providers.wire import parse_time, slack_person

_REFERENCE = re.compile(r"^(?:INC-?)?(\d{1,9})$", re.IGNORECASE)
_ULID = re.compile(r"^[0-9A-HJKMNP-TV-Z]{26}$")
_CHANNEL_NUMBER = re.compile(r"^inc-(\d{1,9})(?:-|$)")
# Categories an incident is still being fought in; resolve moves it out of them.
LIVE = ("triage", "live")
RESOLVED = ("learning", "closed")
PAGE = 250
REOPEN_REFUSED = (
    "incident.io's API cannot take an incident out of post-incident or closed: it does not move "
    "a closed incident back to live. Declare a new incident (`/incident declare …`) and mention "
    "this one in its summary."
)
CURSOR = Cursor(PAGE)


_ONE = {"follow_ups": "follow_up", "actions": "action"}
_WORD = {"follow_ups": "follow-up", "actions": "task"}


def error_text(body: Any) -> str | None:
    if not isinstance(body, dict):
        return None
    messages = [e.get("message") for e in body.get("errors") or [] if isinstance(e, dict)]
    return "; ".join(m for m in messages if m) or None


def _resolved_at(data: dict) -> datetime | None:
    """incident.io has no resolved_at: its "Resolved at" timestamp where the incident has
    one, else its last change (the move out of live, as far as the API tells)."""
    for entry in data.get("incident_timestamp_values") or []:
        name = str((entry.get("incident_timestamp") or {}).get("name", "")).lower()
        if "resolved" in name:
            found = parse_time((entry.get("value") or {}).get("value"))
            if found is not None:
                return found
    return parse_time(data.get("updated_at")) or parse_time(data.get("created_at"))


class Base:
    """What every part of the adapter uses: the API, the caches, incident.io's names."""

    # Set by the adapter class (bot/providers/incidentio/__init__.py), read by every part.
    name: str
    label: str

    def __init__(self, api: ApiClient, directory: Directory | None = None, clock: Clock = SYSTEM) -> None:
        self.api = api
        # The runtime's clock (bot/clock.py): the moment stamped where the provider gives none.
        self.clock = clock
        self.directory = directory or NoDirectory()
        self._catalogues = TTLCache()
        self._users = TTLCache(PEOPLE_TTL)
        self._channels: dict[str, str] = {}  # slack channel → incident id, from scans

    # references and catalogues -------------------------------------------------------
    def parse_reference(self, text: str) -> str | None:
        text = text.strip()
        match = _REFERENCE.match(text)
        if match:
            return str(int(match[1]))
        return text if _ULID.match(text.upper()) else None

    async def _statuses(self) -> list[dict]:
        async def load() -> list[dict]:
            body = await self.api.get("/v1/incident_statuses")
            return sorted(body["incident_statuses"], key=lambda s: s.get("rank", 0))

        return await self._catalogues.get("statuses", load)

    async def _severities(self) -> list[dict]:
        async def load() -> list[dict]:
            return (await self.api.get("/v1/severities"))["severities"]

        return await self._catalogues.get("severities", load)

    async def _roles(self) -> list[dict]:
        async def load() -> list[dict]:
            roles = (await self.api.get("/v2/incident_roles"))["incident_roles"]
            # The reporter is set when the incident is created and cannot be reassigned.
            roles = [r for r in roles if r.get("role_type") != "reporter"]
            return sorted(roles, key=lambda r: r.get("role_type") != "lead")

        return await self._catalogues.get("roles", load)

    async def _schedules(self) -> list[dict]:
        async def load() -> list[dict]:
            return await collect(self.api.get, "/v2/schedules", "schedules", CURSOR)

        return await self._catalogues.get("schedules", load)

    @staticmethod
    def _named(items: list[dict], name: str, kind: str) -> dict:
        for item in items:
            if item["name"] == name:
                return item
        raise Rejected(f"incident.io has no {kind} called {name}.")

    async def statuses(self) -> list[str]:
        return [s["name"] for s in await self._statuses()]

    async def target_status(self, kind: Move) -> str:
        if kind is Move.REOPEN:
            raise Rejected(REOPEN_REFUSED)
        statuses = await self._statuses()
        wanted = ("live",) if kind is Move.ACK else RESOLVED
        for category in wanted:  # post-incident before closed: closing may need a special key role
            for status in statuses:
                if status.get("category") == category:
                    return status["name"]
        raise Rejected(f"incident.io has no status to {kind} an incident with.")

    async def severities(self) -> list[Severity]:
        # incident.io's rank grows with severity; ours counts from the most severe, 1.
        return [
            Severity(name=s["name"], description=s.get("description") or None, rank=n)
            for n, s in enumerate(sorted(await self._severities(), key=lambda s: -s.get("rank", 0)), 1)
        ]

    async def role_names(self) -> list[str]:
        return [r["name"] for r in await self._roles()]

    async def role_aliases(self) -> dict[str, list[str]]:
        """Each role's shortform (`comms` for Communications): what responders type."""
        return {r["name"]: [r["shortform"]] for r in await self._roles() if r.get("shortform")}

    # incidents -------------------------------------------------------------------------
    def _incident(self, data: dict) -> Incident:
        status = data.get("incident_status") or {}
        roles = {
            a["role"]["name"]: person
            for a in data.get("incident_role_assignments") or []
            if (person := slack_person(a.get("assignee"))) is not None
        }
        severity = data.get("severity") or {}
        if data.get("slack_channel_id"):
            self._channels[data["slack_channel_id"]] = data["id"]
        return Incident(
            provider=self.name,
            id=data["id"],
            reference=data.get("reference") or data["id"],
            name=data["name"],
            summary=data.get("summary") or None,
            status=status.get("name", "unknown"),
            severity=severity.get("name"),
            roles=roles,
            url=data.get("permalink"),
            call_url=data.get("call_url") or None,
            created_at=parse_time(data.get("created_at")) or self.clock.now(),
            # What tells two answers apart when changes to other parts ran beside each other:
            # the card and the cache keep the newest, whichever answer came back last.
            updated_at=parse_time(data.get("updated_at")),
            resolved_at=_resolved_at(data) if status.get("category") in RESOLVED else None,
            channel_id=data.get("slack_channel_id") or None,
        )

    async def get_incident(self, incident_id: str) -> Incident:
        try:
            body = await self.api.get(f"/v2/incidents/{incident_id}")
        except NotFound:
            raise NotFound(f"incident.io has no incident {incident_id}.") from None
        return self._incident(body["incident"])

    async def _full_id(self, incident_id: str) -> str:
        """Follow-ups and updates want the incident's full id; people type INC-12."""
        return incident_id if _ULID.match(incident_id) else (await self.get_incident(incident_id)).id

    # people ------------------------------------------------------------------------------
    async def _user_id(self, person: Person) -> str:
        async def load() -> str | None:
            users = (await self.api.get("/v2/users", {"slack_user_id": person.slack_id}))["users"]
            if users:
                return users[0]["id"]
            # Someone whose incident.io account is not tied to Slack: the same email will do.
            email = await self.directory.email_of(person.slack_id)
            if not email:
                return None
            users = (await self.api.get("/v2/users", {"email": email}))["users"]
            return next((u["id"] for u in users if str(u.get("email", "")).lower() == email.lower()), None)

        found = await self._users.get(person.slack_id, load)
        if found is None:
            self._users.forget(person.slack_id)
            raise Rejected(
                f"@{person.name or person.slack_id} has no incident.io account, so I can't do that."
            )
        return found

    async def check(self) -> str:
        body = await self.api.get("/v1/identity")
        identity = body.get("identity") or {}
        roles = ", ".join(identity.get("roles") or []) or "no roles"
        return f"key {identity.get('name', '?')!s} works ({roles})"

    async def check_person(self, person: Person) -> None:
        await self._user_id(person)

    async def close(self) -> None:
        await self.api.close()
