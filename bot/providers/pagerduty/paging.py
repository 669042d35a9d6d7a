"""Paging at PagerDuty: responder requests to people or an escalation policy, and the
incident's escalation level.

A responder request carries no idempotency key, so it is sent once, never retried on a
doubtful failure (a time-out is told as "may have gone out"): the handler's claim in the
store keeps a second `page` of the same target within minutes from sending it again.
"""

from __future__ import annotations

from typing import Any

from bot.domain import Escalated, Misconfigured, PageSent, PageTarget, Person, Rejected
from bot.providers.pagerduty.client import OFFSET, PAGE, Base
from bot.providers.paging import collect


class Paging(Base):
    async def _policies(self) -> list[dict]:
        async def load() -> list[dict]:
            return await collect(self.api.get, "/escalation_policies", "escalation_policies", OFFSET)

        return await self._catalogues.get("escalation_policies", load)

    async def page_targets(self) -> list[str]:
        return [str(p.get("name") or p.get("summary") or p["id"]) for p in await self._policies()]

    async def _requester(self) -> str:
        """The id of PAGERDUTY_FROM_EMAIL's user: PagerDuty wants the requester by id."""
        self._write_headers()  # says which setting is missing, where it is
        assert self.from_email is not None
        email = self.from_email

        async def load() -> str:
            users = (await self.api.get("/users", {"query": email, "limit": PAGE}))["users"]
            found = next((u for u in users if str(u.get("email", "")).lower() == email.lower()), None)
            if found is None:
                raise Misconfigured(
                    f"PAGERDUTY_FROM_EMAIL ({email}) is no PagerDuty user, so no page can say who asked.",
                    "PAGERDUTY_FROM_EMAIL",
                )
            return str(found["id"])

        return await self._catalogues.get("requester", load)

    async def page(
        self, incident_id: str, target: PageTarget, actor: Person, message: str, key: str
    ) -> PageSent:
        targets: list[dict[str, Any]] = []
        if target.name is not None:
            policy = next((p for p in await self._policies() if p.get("name") == target.name), None)
            if policy is None:
                raise Rejected(f"PagerDuty has no escalation policy {target.name} any more.")
            targets.append({"id": policy["id"], "type": "escalation_policy_reference"})
            shown = target.name
        else:
            for person in target.people:
                targets.append({"id": await self._user_id(person), "type": "user_reference"})
            shown = ", ".join(p.name or p.slack_id for p in target.people)
        who = actor.name or actor.slack_id
        body = {
            "requester_id": await self._requester(),
            "message": f"{message}\n— {who}, via Slack",
            "responder_request_targets": [{"responder_request_target": t} for t in targets],
        }
        incident = await self._id(incident_id)
        sent = await self._write("POST", f"/incidents/{incident}/responder_requests", body)
        made = (sent or {}).get("responder_request") or {}
        # The ids its webhooks name (the user, the policy): how the bot's own request is told
        # apart from one made in PagerDuty when `incident.responder.added` comes back.
        ids = [str(t["id"]) for t in targets]
        return PageSent(id=made.get("id"), target=shown, answers_to=ids)

    async def escalate(self, incident_id: str, level: int | None, actor: Person) -> Escalated:
        """PagerDuty's incident shows no level to count on from: without one typed, the
        level after the one this bot last set (kept per incident for the process's life),
        else 2, the first above where every incident starts."""
        incident = await self._id(incident_id)
        wanted = level if level is not None else self._levels.get(incident, 1) + 1
        body = await self._write(
            "PUT",
            f"/incidents/{incident}",
            {"incident": {"type": "incident_reference", "escalation_level": wanted}},
        )
        self._levels[incident] = wanted
        policy = ((body or {}).get("incident") or {}).get("escalation_policy") or {}
        return Escalated(level=wanted, policy=policy.get("summary"))
