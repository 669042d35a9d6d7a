"""What FireHydrant itself records for the retro draft: the moment each milestone was set
(the incident's lifecycle phases) and its impact (the services, functionalities and
environments marked impacted, the customer impact summary); and FireHydrant's own
retrospective, started from a template (its public API offers that, its fields per
template: the bot fills none of them, the canvas holds the draft)."""

from __future__ import annotations

from typing import Any

from bot.domain import RetroFacts
from bot.providers.firehydrant.client import Base
from bot.providers.wire import parse_time

# FireHydrant's milestone slugs, as the draft's steps name them.
STEPS = {"acknowledged": "acknowledged", "mitigated": "mitigated", "resolved": "resolved"}


def _name(value: Any) -> str:
    return str(value.get("name") or "") if isinstance(value, dict) else ""


class Retro(Base):
    async def retro_facts(self, incident_id: str) -> RetroFacts:
        data = await self.api.get(f"/v1/incidents/{incident_id}")
        steps = {}
        milestones = [
            m for phase in data.get("lifecycle_phases") or [] for m in phase.get("milestones") or []
        ]
        for milestone in milestones:
            step = STEPS.get(str(milestone.get("slug") or ""))
            at = parse_time(milestone.get("occurred_at"))
            if step and at is not None:
                steps[step] = at
        impact = []
        for item in data.get("impacts") or []:
            what, how = _name(item.get("impact")), _name(item.get("condition"))
            if what:
                impact.append(
                    f"{str(item.get('type') or 'impact').capitalize()}: {what}" + (f" ({how})" if how else "")
                )
        if data.get("customer_impact_summary"):
            impact.append(f"Customers: {data['customer_impact_summary']}")
        if isinstance(data.get("customers_impacted"), int) and data["customers_impacted"]:
            impact.append(f"Customers impacted: {data['customers_impacted']}")
        return RetroFacts(steps=steps, impact=impact)

    async def open_retrospective(self, incident_id: str) -> str | None:
        """FireHydrant's own retrospective of the incident, started from the account's
        default template (else its first) where the incident has none yet: its name, or
        None where the account has no template. The incident's are listed first, so running
        `retro` again (or after a restart) never starts a second one."""
        listed = await self.api.get(f"/v1/incidents/{incident_id}/retrospectives")
        shown = [r for r in listed.get("data") or [] if not r.get("is_hidden")]
        if shown:
            return str(shown[0].get("name") or "retrospective")
        templates = (await self.api.get("/v1/retrospective_templates")).get("data") or []
        if not templates:
            return None
        chosen = next((t for t in templates if t.get("is_default")), templates[0])
        made = await self.api.call(
            "POST",
            f"/v1/incidents/{incident_id}/retrospectives",
            json_body={"retrospective_template_id": str(chosen["id"])},
        )
        named = made.get("name") if isinstance(made, dict) else None
        return str(named or chosen.get("name") or "retrospective")
