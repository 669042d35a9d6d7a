"""A duplicate marked where the provider's API has no merge (incident.io, FireHydrant, the
built-in provider): resolved with a note that points at the incident that goes on, so its
record says where the work went and its reminders stop.

Only PagerDuty merges (bot/providers/pagerduty/duplicate.py); incident.io's "merged" status
is its own app's to set, and FireHydrant's API has no merge at all.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

from bot.domain import Duplicated, Incident, Move, Person, TimelineEntry, read_back


class _Core(Protocol):
    """What the mixin needs of its adapter: the core operations every provider has."""

    async def get_incident(self, incident_id: str) -> Incident: ...

    async def target_status(self, kind: Move) -> str: ...

    async def set_status(
        self, incident_id: str, status: str, actor: Person, note: str | None = None, key: str | None = None
    ) -> Incident: ...

    async def post_update(
        self, incident_id: str, text: str, actor: Person, key: str | None = None, stakeholders: bool = False
    ) -> TimelineEntry: ...


if TYPE_CHECKING:
    _Adapter = _Core
else:  # at run time the adapter's own parts give these; the mixin adds no stubs
    _Adapter = object


class ResolvesAsDuplicate(_Adapter):
    async def mark_duplicate(
        self, incident_id: str, of: Incident, note: str, actor: Person, key: str | None = None
    ) -> Duplicated:
        current = await self.get_incident(incident_id)
        if current.closed:
            # Over already: resolving again would be refused or change nothing; the note
            # alone says where it went.
            await self.post_update(incident_id, note, actor, key=key)
            after = await read_back(self.get_incident(incident_id), "the note was posted")
            return Duplicated(merged=False, incident=after)
        resolved = await self.target_status(Move.RESOLVE)
        return Duplicated(
            merged=False, incident=await self.set_status(incident_id, resolved, actor, note=note, key=key)
        )

    def merges(self) -> bool:
        return False
