"""What PagerDuty itself records for the retro draft: when it was resolved, and the
service the incident is on (its impact, as far as PagerDuty tells). When it was
acknowledged comes from its log (bot/providers/pagerduty/timeline.py): an incident's
acknowledgements are emptied once it is resolved."""

from __future__ import annotations

from bot.domain import RetroFacts
from bot.providers.pagerduty.client import Base
from bot.providers.wire import parse_time


class Retro(Base):
    async def retro_facts(self, incident_id: str) -> RetroFacts:
        incident = (await self.api.get(f"/incidents/{await self._id(incident_id)}"))["incident"]
        steps = {}
        acknowledged = [parse_time(a.get("at")) for a in incident.get("acknowledgements") or []]
        if [a for a in acknowledged if a is not None]:
            steps["acknowledged"] = min(a for a in acknowledged if a is not None)
        resolved = parse_time(incident.get("resolved_at"))
        if resolved is not None:
            steps["resolved"] = resolved
        service = (incident.get("service") or {}).get("summary")
        return RetroFacts(steps=steps, impact=[f"Service: {service}"] if service else [])
