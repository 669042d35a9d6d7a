"""Changing an incident at PagerDuty (REST v2)."""

from __future__ import annotations

from typing import Any

from bot.domain import (
    DeclareRequest,
    Incident,
    Person,
    Rejected,
    TimelineEntry,
)
from bot.providers.pagerduty.client import (
    STATUSES,
    URGENCIES,
    Base,
)
from bot.providers.wire import parse_time


class Incidents(Base):
    async def declare(self, request: DeclareRequest) -> Incident:
        incident: dict[str, Any] = {
            "type": "incident",
            "title": request.name,
            "service": {"id": self.service_id, "type": "service_reference"},
        }
        if request.idempotency_key:
            incident["incident_key"] = request.idempotency_key
        if request.summary:
            incident["body"] = {"type": "incident_body", "details": request.summary}
        if request.severity:
            incident.update(await self._severity_fields(request.severity))
        try:
            body = await self._write(
                "POST", "/incidents", {"incident": incident}, repeatable=bool(request.idempotency_key)
            )
        except Rejected as exc:
            # A retry whose first try got through: PagerDuty dedupes on incident_key.
            if not request.idempotency_key or "dedup" not in exc.message.lower():
                raise
            found = await self.api.get(
                "/incidents", {"incident_key": request.idempotency_key, "date_range": "all", "limit": 1}
            )
            if not found["incidents"]:
                raise
            return await self._incident(found["incidents"][0])
        return await self._incident(body["incident"])

    async def open_incidents(self, limit: int) -> tuple[list[Incident], int]:
        """Triggered and acknowledged, newest first, one page, counted (`total=true`)."""
        params = {
            "statuses[]": ["triggered", "acknowledged"],
            "sort_by": "created_at:desc",
            "include[]": "assignees",
            "limit": max(1, min(limit, 100)),
            "offset": 0,
            "total": "true",
        }
        body = await self.api.get("/incidents", params)
        found = [await self._incident(data) for data in body.get("incidents") or []]
        total = body.get("total")
        return found[:limit], max(len(found), int(total) if isinstance(total, int) else 0)

    async def _update(self, incident_id: str, fields: dict[str, Any]) -> Incident:
        body = await self._write(
            "PUT", f"/incidents/{incident_id}", {"incident": {"type": "incident_reference", **fields}}
        )
        return await self._incident(body["incident"])

    async def set_status(
        self, incident_id: str, status: str, actor: Person, note: str | None = None, key: str | None = None
    ) -> Incident:
        if status not in STATUSES:
            raise Rejected(f"PagerDuty has no status {status}.")
        fields: dict[str, Any] = {"status": status}
        if note and status == "resolved":
            fields["resolution"] = note
        incident = await self._update(await self._id(incident_id), fields)
        if note and status != "resolved":
            await self.post_update(incident.id, note, actor)
        return incident

    async def _severity_fields(self, severity: str) -> dict[str, Any]:
        name = severity.removesuffix(" urgency")
        if name in URGENCIES:
            return {"urgency": name}
        priority = next((p for p in await self._priorities() if p["name"] == severity), None)
        if priority is None:
            raise Rejected(f"PagerDuty has no priority {severity}.")
        return {"priority": {"id": priority["id"], "type": "priority_reference"}}

    async def set_severity(self, incident_id: str, severity: str, actor: Person) -> Incident:
        return await self._update(await self._id(incident_id), await self._severity_fields(severity))

    async def reassign(self, incident_id: str, person: Person, actor: Person) -> Incident:
        user = {"id": await self._user_id(person), "type": "user_reference"}
        incident = await self._update(await self._id(incident_id), {"assignments": [{"assignee": user}]})
        # The answer names assignees by reference only (no email to find them in Slack by):
        # the one just assigned is known, so show them as themselves.
        return incident.model_copy(update={"roles": {"assigned": person}})

    async def post_update(
        self, incident_id: str, text: str, actor: Person, key: str | None = None, stakeholders: bool = False
    ) -> TimelineEntry:
        who = actor.name or actor.slack_id
        incident = await self._id(incident_id)
        if stakeholders:
            # A status update goes to the incident's subscribers (email, status page), not just
            # the log: the "stakeholder update" of PagerDuty's own UI.
            body = await self._write("POST", f"/incidents/{incident}/status_updates", {"message": text})
            sent = body.get("status_update") or {}
        else:
            body = await self._write(
                "POST", f"/incidents/{incident}/notes", {"note": {"content": f"{text}\n— {who}, via Slack"}}
            )
            sent = body.get("note") or {}
        return TimelineEntry(
            at=parse_time(sent.get("created_at")) or self.clock.now(), kind="update", text=text, author=actor
        )

    # channel → incident -------------------------------------------------------------------------
    async def find_by_channel(self, channel_id: str, channel_name: str | None) -> Incident | None:
        # REST v2 incidents carry no Slack channel; only the bot's own links know.
        return None
