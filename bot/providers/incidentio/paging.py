"""Paging at incident.io: an escalation (`POST /v2/escalations`) to an escalation path or
straight to users, linked to the incident.

The escalation carries the request's own key as its `idempotency_key`, which incident.io
keeps: a retry (or a restart sending it again) is answered with the escalation already
made and pages nobody twice, so the write may be retried.
"""

from __future__ import annotations

from bot.domain import PageSent, PageTarget, Person, Rejected
from bot.providers.incidentio.client import Base
from bot.providers.paging import Cursor, collect

PATHS = Cursor(25)  # the most a page of escalation paths may hold


class Paging(Base):
    async def _paths(self) -> list[dict]:
        async def load() -> list[dict]:
            return await collect(self.api.get, "/v2/escalation_paths", "escalation_paths", PATHS)

        return await self._catalogues.get("escalation_paths", load)

    async def page_targets(self) -> list[str]:
        return [str(p["name"]) for p in await self._paths()]

    async def page(
        self, incident_id: str, target: PageTarget, actor: Person, message: str, key: str
    ) -> PageSent:
        title, _, rest = message.partition("\n")
        who = actor.name or actor.slack_id
        body: dict[str, object] = {
            "idempotency_key": key,
            "title": title,
            "description": f"{rest}\n— {who}, via Slack".strip(),
            "incident_id": await self._full_id(incident_id),
        }
        if target.name is not None:
            path = next((p for p in await self._paths() if p["name"] == target.name), None)
            if path is None:
                raise Rejected(f"incident.io has no escalation path {target.name} any more.")
            body["escalation_path_id"] = path["id"]
            shown = target.name
        else:
            body["user_ids"] = [await self._user_id(p) for p in target.people]
            shown = ", ".join(p.name or p.slack_id for p in target.people)
        made = await self.api.call("POST", "/v2/escalations", json_body=body, repeatable=True)
        return PageSent(id=((made or {}).get("escalation") or {}).get("id"), target=shown)
