"""A duplicate at PagerDuty is merged: `PUT /incidents/{id}/merge` is made on the incident
that goes on, naming the duplicate among its `source_incidents`. PagerDuty moves the
duplicate's alerts over and resolves it.

A merge carries no idempotency key and cannot be made twice (the duplicate is resolved by
the first), so it is sent once, never retried on a doubtful failure.
"""

from __future__ import annotations

from bot.domain import Duplicated, Incident, Person, read_back
from bot.providers.pagerduty.client import Base


class Duplicates(Base):
    async def mark_duplicate(
        self, incident_id: str, of: Incident, note: str, actor: Person, key: str | None = None
    ) -> Duplicated:
        source = await self._id(incident_id)
        body = {"source_incidents": [{"id": source, "type": "incident_reference"}]}
        await self._write("PUT", f"/incidents/{await self._id(of.id)}/merge", body)
        after = await read_back(self.get_incident(source), f"it was merged into {of.reference}")
        return Duplicated(merged=True, incident=after)

    def merges(self) -> bool:
        return True
