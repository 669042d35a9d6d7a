"""Paging at FireHydrant: a team assigned to the incident
(`POST /v1/incidents/{incident_id}/team_assignments`), which pages the team's on-call
where the team has Signals.

FireHydrant pages teams, not people, and the assignment has no idempotency key: it is sent
once (assigning a team twice pages nobody twice there, but it is not retried on a doubt).
"""

from __future__ import annotations

from bot.domain import PageSent, PageTarget, Person, Rejected
from bot.providers.firehydrant.client import NUMBERED, Base
from bot.providers.paging import collect

TEAM_PAGES = 10  # 2,000 teams


class Paging(Base):
    async def _teams(self) -> list[dict]:
        async def load() -> list[dict]:
            return await collect(self.api.get, "/v1/teams", "data", NUMBERED, limit=TEAM_PAGES)

        return await self._catalogues.get("teams", load)

    async def page_targets(self) -> list[str]:
        return [str(t["name"]) for t in await self._teams() if t.get("name")]

    async def page(
        self, incident_id: str, target: PageTarget, actor: Person, message: str, key: str
    ) -> PageSent:
        if target.name is None:
            teams = ", ".join(f"`{n}`" for n in await self.page_targets()) or "none yet"
            raise Rejected(
                f"FireHydrant pages teams, not people: page their team by name (teams: {teams}), "
                "or `/incident invite @them` to bring them into the channel."
            )
        team = next((t for t in await self._teams() if t.get("name") == target.name), None)
        if team is None:
            raise Rejected(f"FireHydrant has no team {target.name} any more.")
        await self.api.call(
            "POST", f"/v1/incidents/{incident_id}/team_assignments", json_body={"team_id": team["id"]}
        )
        note = None
        # A team with Signals on-call has its calendar's URL; without one, the assignment
        # reaches nobody's phone, which the channel must hear rather than assume.
        if not team.get("signals_ical_url"):
            note = (
                f"{target.name} has no Signals on-call at FireHydrant, so the assignment paged nobody: "
                "page its people in the team's own tool, or set up Signals for it."
            )
        return PageSent(target=target.name, note=note)
