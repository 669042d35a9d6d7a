"""Follow-ups (FireHydrant tickets of type follow_up) and tasks (its incident tasks)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from bot.domain import (
    FollowUp,
    NotFound,
    Person,
)
from bot.providers.firehydrant.client import MAX_PAGES, NUMBERED, Base
from bot.providers.paging import collect, paginate
from bot.providers.wire import parse_time, slack_person


class Work(Base):
    # follow-ups: FireHydrant tickets of type follow_up, related to the incident -----------------------
    async def _tickets(self, incident_id: str) -> list[dict]:
        found = [
            t
            async for t in paginate(self.api.get, "/v1/ticketing/tickets", "data", NUMBERED, limit=MAX_PAGES)
            if t.get("incident_id") == incident_id and t.get("type") == "follow_up"
        ]
        return sorted(found, key=lambda t: t.get("created_at") or "")

    @staticmethod
    def _followup(ticket: dict, number: int) -> FollowUp:
        assignees = ticket.get("assignees") or []
        state = ticket.get("state") or "open"
        return FollowUp(
            id=ticket["id"],
            number=number,
            title=ticket.get("summary") or "",
            assignee=Person(slack_id="", name=assignees[0].get("name")) if assignees else None,
            due=parse_time(ticket.get("due_at")),
            state="open" if state in ("open", "in_progress") else state,
        )

    async def add_followup(
        self, incident_id: str, title: str, assignee: Person | None, due: datetime | None, actor: Person
    ) -> FollowUp:
        notes = []
        if assignee is not None:
            notes.append(f"Owner: {assignee.name or assignee.slack_id} (Slack <@{assignee.slack_id}>)")
        if due is not None:
            notes.append(f"Due {due.astimezone(UTC):%Y-%m-%d %H:%M} UTC")
        payload: dict[str, Any] = {
            "summary": title,
            "related_to": f"incident/{incident_id}",
            "type": "follow_up",
            "state": "open",
        }
        if notes:
            payload["description"] = ". ".join(notes) + "."
        body = await self.api.call("POST", "/v1/ticketing/tickets", json_body=payload)
        existing = await self._tickets(incident_id)
        number = next((n for n, t in enumerate(existing, 1) if t["id"] == body["id"]), len(existing) or 1)
        return self._followup(body, number).model_copy(update={"assignee": assignee, "due": due})

    async def list_followups(self, incident_id: str) -> list[FollowUp]:
        return [self._followup(t, n) for n, t in enumerate(await self._tickets(incident_id), 1)]

    async def complete_followup(self, incident_id: str, number: int, actor: Person) -> FollowUp:
        tickets = await self._tickets(incident_id)
        if not 1 <= number <= len(tickets):
            raise NotFound(f"This incident has no follow-up #{number}.")
        body = await self.api.call(
            "PATCH", f"/v1/ticketing/tickets/{tickets[number - 1]['id']}", json_body={"state": "done"}
        )
        return self._followup(body, number)

    # tasks: FireHydrant's incident tasks, for what must be done now ----------------------------------
    async def _tasks(self, incident_id: str) -> list[dict]:
        found = await collect(
            self.api.get, f"/v1/incidents/{incident_id}/tasks", "data", NUMBERED, limit=MAX_PAGES
        )
        return sorted(found, key=lambda t: t.get("created_at") or "")

    @staticmethod
    def _task(task: dict, number: int) -> FollowUp:
        state = task.get("state") or "open"
        return FollowUp(
            id=task["id"],
            number=number,
            title=task.get("title") or "",
            assignee=slack_person(task.get("assignee")),
            due=parse_time(task.get("due_at")),
            state="open" if state in ("open", "in_progress") else state,
        )

    async def add_task(
        self, incident_id: str, title: str, assignee: Person | None, actor: Person
    ) -> FollowUp:
        payload: dict[str, Any] = {"title": title, "state": "open"}
        if assignee is not None:
            payload["assignee_id"] = await self._user_id(assignee)
        body = await self.api.call("POST", f"/v1/incidents/{incident_id}/tasks", json_body=payload)
        existing = await self._tasks(incident_id)
        number = next((n for n, t in enumerate(existing, 1) if t["id"] == body["id"]), len(existing) or 1)
        return self._task(body, number).model_copy(update={"assignee": assignee})

    async def list_tasks(self, incident_id: str) -> list[FollowUp]:
        return [self._task(t, n) for n, t in enumerate(await self._tasks(incident_id), 1)]

    async def complete_task(self, incident_id: str, number: int, actor: Person) -> FollowUp:
        tasks = await self._tasks(incident_id)
        if not 1 <= number <= len(tasks):
            raise NotFound(f"This incident has no task #{number}.")
        body = await self.api.call(
            "PATCH",
            f"/v1/incidents/{incident_id}/tasks/{tasks[number - 1]['id']}",
            json_body={"state": "done"},
        )
        return self._task(body, number)
