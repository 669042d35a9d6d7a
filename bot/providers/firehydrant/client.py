"""FireHydrant's client side: milestones and other catalogues, people, reading an incident."""

from __future__ import annotations

import asyncio
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
from bot.providers.base import Directory
from bot.providers.cache import PEOPLE_TTL, TTLCache
from bot.providers.http import ApiClient
from bot.providers.paging import Numbered
from bot.providers.wire import parse_time, slack_person, user_id_by_email

_UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$", re.IGNORECASE)
PAGE = 200
NUMBERED = Numbered(PAGE)
MAX_PAGES = 10  # 2,000 open incidents or tickets: beyond that, ask people to link
# Lifecycle phases an incident is over in (FireHydrant's types; its older names too).
OVER_PHASES = frozenset({"post-incident", "closed", "postmortem"})
DECLARE_MEMORY = 3600.0


def error_text(body: Any) -> str | None:
    if not isinstance(body, dict):
        return None
    messages = [str(m) for m in body.get("messages") or []]
    return "; ".join([str(body.get("detail") or body.get("error") or ""), *messages]).strip("; ") or None


class Base:
    """What every part of the adapter uses: the API, the caches, FireHydrant's names."""

    # Set by the adapter class (bot/providers/firehydrant/__init__.py), read by every part.
    name: str
    label: str

    def __init__(self, api: ApiClient, *, directory: Directory, clock: Clock = SYSTEM) -> None:
        self.api = api
        # The runtime's clock (bot/clock.py): the moment stamped where the provider gives none.
        self.clock = clock
        self.directory = directory
        self._catalogues = TTLCache()
        self._people = TTLCache(PEOPLE_TTL)
        self._declared: dict[str, tuple[float, str]] = {}
        self._declaring: dict[str, asyncio.Lock] = {}

    # references and catalogues -------------------------------------------------------------------
    def parse_reference(self, text: str) -> str | None:
        text = text.strip()
        return text.lower() if _UUID.match(text) else None

    async def _milestones(self) -> list[dict]:
        async def load() -> list[dict]:
            phases = (await self.api.get("/v1/lifecycles/phases"))["data"]
            phases = sorted(phases, key=lambda p: p.get("position") or 0)
            return [
                m | {"phase": str(p.get("type") or p.get("name") or "").lower().replace("_", "-")}
                for p in phases
                for m in sorted(p.get("milestones") or [], key=lambda m: m.get("position") or 0)
            ]

        return await self._catalogues.get("milestones", load)

    async def _severities(self) -> list[dict]:
        async def load() -> list[dict]:
            return (await self.api.get("/v1/severities", {"per_page": PAGE}))["data"]

        return await self._catalogues.get("severities", load)

    async def _priorities(self) -> list[dict]:
        async def load() -> list[dict]:
            body = await self.api.get("/v1/priorities", {"per_page": PAGE})
            return body.get("data") or []

        return await self._catalogues.get("priorities", load)

    async def _roles(self) -> list[dict]:
        async def load() -> list[dict]:
            return (await self.api.get("/v1/incident_roles", {"per_page": PAGE}))["data"]

        return await self._catalogues.get("roles", load)

    async def statuses(self) -> list[str]:
        return [m["name"] for m in await self._milestones()]

    async def _milestone(self, name: str) -> dict:
        for milestone in await self._milestones():
            if name in (milestone["name"], milestone.get("slug")):
                return milestone
        raise Rejected(f"FireHydrant has no milestone {name}.")

    async def target_status(self, kind: Move) -> str:
        if kind is Move.REOPEN:  # the last milestone before resolved: Mitigated, usually
            slugs = [m.get("slug") for m in await self._milestones()]
            before = slugs[max(slugs.index("resolved") - 1, 0)] if "resolved" in slugs else "started"
            return (await self._milestone(str(before)))["name"]
        slug = "acknowledged" if kind is Move.ACK else "resolved"
        return (await self._milestone(slug))["name"]

    async def severities(self) -> list[Severity]:
        ordered = sorted(await self._severities(), key=lambda s: s.get("position") or 0)
        found = [
            # `sev 1` means SEV1, the first by position; priorities (P1…) by their slug, and
            # by position only where there are no severities.
            Severity(
                name=s["slug"],
                aliases=re.findall(r"(\d+)$", s["slug"]),
                description=s.get("description"),
                rank=n,
            )
            for n, s in enumerate(ordered, 1)
        ]
        priorities = sorted(await self._priorities(), key=lambda p: p.get("position") or 0)
        found += [
            Severity(name=p["slug"], description=p.get("description") or None, rank=None if ordered else n)
            for n, p in enumerate(priorities, 1)
        ]
        return found

    async def role_names(self) -> list[str]:
        roles = await self._roles()
        # The commander leads: first, so `lead` and `declare` give that role.
        return sorted((r["name"] for r in roles), key=lambda n: "commander" not in n.lower())

    # people -----------------------------------------------------------------------------------------
    async def _user_id(self, person: Person) -> str:
        async def search(email: str) -> list[dict]:
            return (await self.api.get("/v1/users", {"query": email, "per_page": PAGE}))["data"]

        return await user_id_by_email(
            person, label=self.label, directory=self.directory, cache=self._people, search=search
        )

    # incidents ----------------------------------------------------------------------------------------
    async def _incident(self, data: dict) -> Incident:
        names = {m.get("slug"): m["name"] for m in await self._milestones()}
        roles = {
            a["incident_role"]["name"]: person
            for a in data.get("role_assignments") or []
            if a.get("status", "active") == "active" and a.get("incident_role")
            if (person := slack_person(a.get("user"))) is not None
        }
        milestone = data.get("current_milestone") or "started"
        over = {m.get("slug") for m in await self._milestones() if m.get("phase") in OVER_PHASES}
        return Incident(
            provider=self.name,
            id=data["id"],
            reference=f"#{data['number']}" if data.get("number") else data["id"],
            name=data.get("name") or data["id"],
            summary=data.get("summary") or None,
            status=names.get(milestone, milestone),
            severity=data.get("severity") or data.get("priority") or None,
            roles=roles,
            url=data.get("incident_url"),
            created_at=parse_time(data.get("created_at")) or self.clock.now(),
            resolved_at=self._resolved_at(data, over) if milestone in over else None,
            channel_id=data.get("channel_id") or None,
        )

    def _resolved_at(self, data: dict, over: set[str | None]) -> datetime:
        """When it left the fight: the first post-incident milestone it reached, as its
        milestones say (FireHydrant has no resolved_at); the moment read, where none says."""
        reached = [
            found
            for m in data.get("milestones") or []
            if m.get("type") in over and (found := parse_time(m.get("occurred_at"))) is not None
        ]
        return min(reached) if reached else self.clock.now()

    async def get_incident(self, incident_id: str) -> Incident:
        try:
            body = await self.api.get(f"/v1/incidents/{incident_id}")
        except NotFound:
            raise NotFound(f"FireHydrant has no incident {incident_id}.") from None
        return await self._incident(body)

    async def check(self) -> str:
        body = await self.api.get("/v1/ping")
        return f"token works ({body.get('response', 'pong')})"

    async def check_person(self, person: Person) -> None:
        await self._user_id(person)

    async def close(self) -> None:
        await self.api.close()
