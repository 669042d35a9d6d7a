"""What incident.io itself records for the retro draft: its incident timestamps (the
account's own, named as it likes: "Accepted at", "Fixed at", "Resolved at" …) read into the
draft's steps, and the custom fields about impact (any whose name says impact or affected)."""

from __future__ import annotations

from typing import Any

from bot.domain import RetroFacts
from bot.providers.incidentio.client import Base
from bot.providers.wire import parse_time

# Words in a timestamp's name, and the step they stamp (first match wins).
STEPS = (
    ("acknowledged", "acknowledged"),
    ("accepted", "acknowledged"),
    ("mitigat", "mitigated"),
    ("fixed", "mitigated"),
    ("stabili", "mitigated"),
    ("resolved", "resolved"),
)
IMPACT_WORDS = ("impact", "affected")


def _values(entry: dict[str, Any]) -> list[str]:
    said = []
    for value in entry.get("values") or []:
        for field in ("value_text", "value_numeric"):
            if value.get(field) not in (None, ""):
                said.append(str(value[field]))
        for field in ("value_option", "value_catalog_entry"):
            found = value.get(field) or {}
            if found.get("value") or found.get("name"):
                said.append(str(found.get("value") or found.get("name")))
    return said


class Retro(Base):
    async def retro_facts(self, incident_id: str) -> RetroFacts:
        incident = (await self.api.get(f"/v2/incidents/{incident_id}"))["incident"]
        steps = {}
        for entry in incident.get("incident_timestamp_values") or []:
            name = str((entry.get("incident_timestamp") or {}).get("name", "")).lower()
            at = parse_time((entry.get("value") or {}).get("value"))
            step = next((step for word, step in STEPS if word in name), None)
            if step and at is not None and step not in steps:
                steps[step] = at
        impact = []
        for entry in incident.get("custom_field_entries") or []:
            name = str((entry.get("custom_field") or {}).get("name", ""))
            values = _values(entry)
            if values and any(word in name.lower() for word in IMPACT_WORDS):
                impact.append(f"{name}: {', '.join(values)}")
        return RetroFacts(steps=steps, impact=impact)
