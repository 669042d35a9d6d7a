"""Changing an incident at incident.io, and finding it by its Slack channel."""

from __future__ import annotations

import uuid
from typing import Any

from bot.domain import (
    DeclareRequest,
    Incident,
    NotFound,
    Person,
    Rejected,
    TimelineEntry,
    read_back,
)
from bot.providers.incidentio.client import _CHANNEL_NUMBER, CURSOR, LIVE, PAGE, Base
from bot.providers.paging import pages
from bot.providers.wire import parse_time


class Incidents(Base):
    async def declare(self, request: DeclareRequest) -> Incident:
        payload: dict[str, Any] = {
            "idempotency_key": request.idempotency_key or uuid.uuid4().hex,
            "visibility": "private" if request.private else "public",
            "name": request.name,
            "mode": "standard",
        }
        if request.summary:
            payload["summary"] = request.summary
        if request.severity:
            payload["severity_id"] = self._named(await self._severities(), request.severity, "severity")["id"]
        body = await self.api.call("POST", "/v2/incidents", json_body=payload, repeatable=True)
        return self._incident(body["incident"])

    async def _edit(self, incident_id: str, changes: dict[str, Any]) -> Incident:
        body = await self.api.call(
            "POST",
            f"/v2/incidents/{incident_id}/actions/edit",
            json_body={"incident": changes, "notify_incident_channel": True},
        )
        return self._incident(body["incident"])

    async def set_status(
        self, incident_id: str, status: str, actor: Person, note: str | None = None, key: str | None = None
    ) -> Incident:
        status_id = self._named(await self._statuses(), status, "status")["id"]
        if not note:
            return await self._edit(incident_id, {"incident_status_id": status_id})
        # A status change with words is an incident update: one call, and it shows as one.
        await self.api.call(
            "POST",
            "/v2/incident_updates",
            json_body={
                "incident_id": await self._full_id(incident_id),
                "idempotency_key": key or uuid.uuid4().hex,
                "to_incident_status_id": status_id,
                "message": note,
            },
            repeatable=True,
        )
        return await read_back(self.get_incident(incident_id), f"the incident was moved to {status}")

    async def set_call_url(self, incident_id: str, url: str) -> Incident:
        """The incident's own call link: incident.io shows it on the incident and in its
        Slack channel, so it is kept there rather than by the bot."""
        return await self._edit(incident_id, {"call_url": url})

    async def set_severity(self, incident_id: str, severity: str, actor: Person) -> Incident:
        severity_id = self._named(await self._severities(), severity, "severity")["id"]
        return await self._edit(incident_id, {"severity_id": severity_id})

    async def assign_role(self, incident_id: str, role: str, person: Person, actor: Person) -> Incident:
        role_id = self._named(await self._roles(), role, "role")["id"]
        if not person.slack_id:
            raise Rejected(f"{person.name or 'That person'} has no Slack account I can give to incident.io.")
        return await self._edit(
            incident_id,
            {
                "incident_role_assignments": [
                    {"incident_role_id": role_id, "assignee": {"slack_user_id": person.slack_id}}
                ]
            },
        )

    async def post_update(
        self, incident_id: str, text: str, actor: Person, key: str | None = None, stakeholders: bool = False
    ) -> TimelineEntry:
        # An incident update reaches the incident's subscribers already: it is the stakeholder update.
        body = await self.api.call(
            "POST",
            "/v2/incident_updates",
            json_body={
                "incident_id": await self._full_id(incident_id),
                "idempotency_key": key or uuid.uuid4().hex,
                "message": text,
            },
            repeatable=True,
        )
        update = body["incident_update"]
        return TimelineEntry(
            at=parse_time(update.get("created_at")) or self.clock.now(),
            kind="update",
            text=text,
            author=actor,
        )

    async def open_incidents(self, limit: int) -> tuple[list[Incident], int]:
        """One page of the live ones (triage and live, as channel lookup reads them): its
        answer counts them all (pagination_meta.total_record_count)."""
        params = {
            "status_category[one_of]": list(LIVE),
            "sort_by": "created_at_newest_first",
            "page_size": max(1, min(limit, PAGE)),
        }
        body = await self.api.get("/v2/incidents", params)
        found = [self._incident(data) for data in body.get("incidents") or []]
        found.sort(key=lambda incident: incident.created_at, reverse=True)
        total = (body.get("pagination_meta") or {}).get("total_record_count")
        return found[:limit], max(len(found), int(total) if isinstance(total, int) else 0)

    # channel → incident ---------------------------------------------------------------------
    async def find_by_channel(self, channel_id: str, channel_name: str | None) -> Incident | None:
        """incident.io cannot be asked by channel: try the number in `inc-<N>-…`, then the
        last scan, then page through live incidents (250 a page) matching slack_channel_id."""
        number = _CHANNEL_NUMBER.match(channel_name or "")
        if number:
            try:
                incident = await self.get_incident(number[1])
            except NotFound:
                incident = None
            if incident is not None and incident.channel_id == channel_id:
                return incident
        known = self._channels.get(channel_id)
        if known:
            incident = await self.get_incident(known)
            if incident.channel_id == channel_id:
                return incident
        live = {"status_category[one_of]": list(LIVE)}
        async for page in pages(self.api.get, "/v2/incidents", "incidents", CURSOR, live):
            match = None
            for data in page:
                incident = self._incident(data)  # remembers every channel it sees
                if incident.channel_id == channel_id:
                    match = incident
            if match is not None:
                return match
        return None
