"""Changing an incident at FireHydrant, and finding it by its Slack channel."""

from __future__ import annotations

import asyncio
import time
from typing import Any

from bot.domain import (
    DeclareRequest,
    Incident,
    Person,
    Rejected,
    TimelineEntry,
    read_back,
)
from bot.providers.firehydrant.client import DECLARE_MEMORY, MAX_PAGES, NUMBERED, Base
from bot.providers.paging import paginate
from bot.providers.wire import iso_utc, parse_time


class Incidents(Base):
    async def declare(self, request: DeclareRequest) -> Incident:
        """Sent once per request key: FireHydrant would make a second incident of a retry."""
        key = request.idempotency_key
        if key is None:
            return await self._create(request)
        lock = self._declaring.setdefault(key, asyncio.Lock())
        async with lock:
            known = self._declared.get(key)
            if known and time.monotonic() - known[0] < DECLARE_MEMORY:
                return await self.get_incident(known[1])
            incident = await self._create(request)
            self._declared[key] = (time.monotonic(), incident.id)
        self._declaring.pop(key, None)
        return incident

    async def _create(self, request: DeclareRequest) -> Incident:
        payload: dict[str, Any] = {"name": request.name}
        if request.summary:
            payload["summary"] = request.summary
        if request.severity:
            payload.update(await self._severity_field(request.severity))
        return await self._incident(await self.api.call("POST", "/v1/incidents", json_body=payload))

    async def set_status(
        self, incident_id: str, status: str, actor: Person, note: str | None = None, key: str | None = None
    ) -> Incident:
        milestone = await self._milestone(status)
        slug = milestone.get("slug") or status
        if slug == "resolved":
            body = await self.api.call("PUT", f"/v1/incidents/{incident_id}/resolve", json_body={})
            incident = await self._incident(body)
        elif slug == "closed":
            body = await self.api.call("PUT", f"/v1/incidents/{incident_id}/close", json_body={})
            incident = await self._incident(body)
        else:
            at = iso_utc(self.clock.now())
            # Going back (reopening, or `status … again`): the milestones after it are removed,
            # or FireHydrant refuses times out of their configured order.
            current = (await self.get_incident(incident_id)).status
            names = [m["name"] for m in await self._milestones()]
            later = names[names.index(milestone["name"]) + 1 :] if milestone["name"] in names else []
            removed = later[: later.index(current) + 1] if current in later else []
            body = [{"type": slug, "occurred_at": at}] + [
                {"type": (await self._milestone(name)).get("slug") or name, "occurred_at": at, "remove": True}
                for name in removed
            ]
            await self.api.call(
                "PUT", f"/v1/incidents/{incident_id}/milestones/bulk_update", json_body={"milestones": body}
            )
            moved = f"the incident was moved to {status}"
            if note:  # posted before the read-back, whose failure must not drop it
                await read_back(self.post_update(incident_id, note, actor), moved)
                note = None
            incident = await read_back(self.get_incident(incident_id), moved)
        if note:
            await read_back(self.post_update(incident_id, note, actor), f"the incident was moved to {status}")
        return incident

    async def _severity_field(self, name: str) -> dict[str, str]:
        if any(s["slug"] == name for s in await self._severities()):
            return {"severity": name}
        if any(p["slug"] == name for p in await self._priorities()):
            return {"priority": name}
        raise Rejected(f"FireHydrant has no severity or priority {name}.")

    async def set_severity(self, incident_id: str, severity: str, actor: Person) -> Incident:
        body = await self.api.call(
            "PATCH", f"/v1/incidents/{incident_id}", json_body=await self._severity_field(severity)
        )
        return await self._incident(body)

    async def assign_role(self, incident_id: str, role: str, person: Person, actor: Person) -> Incident:
        role_id = next((r["id"] for r in await self._roles() if r["name"] == role), None)
        if role_id is None:
            raise Rejected(f"FireHydrant has no role {role}.")
        user_id = await self._user_id(person)
        await self.api.call(
            "POST",
            f"/v1/incidents/{incident_id}/role_assignments",
            json_body={"user_id": user_id, "incident_role_id": role_id},
        )
        return await read_back(self.get_incident(incident_id), f"{role} was given to {person.name or 'them'}")

    async def post_update(
        self, incident_id: str, text: str, actor: Person, key: str | None = None, stakeholders: bool = False
    ) -> TimelineEntry:
        body = await self.api.call(
            "POST",
            f"/v1/incidents/{incident_id}/notes",
            json_body={"body": text, "visibility": "private_to_org"},
        )
        return TimelineEntry(
            at=parse_time(body.get("created_at")) or self.clock.now(), kind="update", text=text, author=actor
        )

    async def open_incidents(self, limit: int) -> tuple[list[Incident], int]:
        """One page of the unarchived ones at a milestone before Resolved (FireHydrant's
        status filter is not documented; the milestones are its lifecycle's own)."""
        slugs = [str(m.get("slug")) for m in await self._milestones() if m.get("slug")]
        before = slugs[: slugs.index("resolved")] if "resolved" in slugs else slugs
        params = {
            "archived": False,
            "current_milestones": ",".join(before),
            "page": 1,
            "per_page": max(1, min(limit, 200)),
        }
        body = await self.api.get("/v1/incidents", params)
        found = [await self._incident(data) for data in body.get("data") or []]
        found.sort(key=lambda incident: incident.created_at, reverse=True)
        total = (body.get("pagination") or {}).get("count")
        return found[:limit], max(len(found), int(total) if isinstance(total, int) else 0)

    # channel → incident -------------------------------------------------------------------------------
    async def find_by_channel(self, channel_id: str, channel_name: str | None) -> Incident | None:
        """FireHydrant incidents carry their Slack channel_id but cannot be searched by it:
        page through open incidents (200 a page) and match."""
        open_ones = paginate(self.api.get, "/v1/incidents", "data", NUMBERED, {"archived": False}, MAX_PAGES)
        async for data in open_ones:
            channels = {data.get("channel_id"), *(c.get("id") for c in data.get("incident_channels") or [])}
            if channel_id in channels:
                return await self._incident(data)
        return None
