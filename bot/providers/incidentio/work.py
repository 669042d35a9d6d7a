"""Follow-ups (/v3/follow_ups) and tasks (/v3/actions) at incident.io: the same shape."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from typing import Any

from bot.domain import (
    FollowUp,
    NotFound,
    Person,
    Rejected,
)
from bot.providers.incidentio.client import _ONE, _WORD, CURSOR, Base
from bot.providers.paging import collect
from bot.providers.wire import slack_person

# incident.io follow-ups have no due date: the bot writes it at the head of the
# description (`add_followup`), and reads it back from there.
_DUE = re.compile(r"^Due (\d{4}-\d{2}-\d{2}) (\d{2}):(\d{2}) UTC\.")


def _due(description: str | None) -> datetime | None:
    found = _DUE.match(description or "")
    if found is None:
        return None
    day = date.fromisoformat(found[1])
    return datetime(day.year, day.month, day.day, int(found[2]), int(found[3]), tzinfo=UTC)


class Work(Base):
    # follow-ups (/v3/follow_ups) and tasks (/v3/actions): the same shape, numbered by age ------
    async def _items(self, kind: str, incident_id: str) -> list[dict]:
        found = await collect(self.api.get, f"/v3/{kind}", kind, CURSOR, {"incident_id": incident_id})
        return sorted(found, key=lambda f: f["created_at"])

    @staticmethod
    def _item(data: dict, number: int) -> FollowUp:
        status = data.get("status") or "outstanding"
        return FollowUp(
            id=data["id"],
            number=number,
            title=data.get("title") or data.get("description") or "",
            assignee=slack_person(data.get("assignee")),
            # incident.io's "outstanding" is what the bot calls open (listed by `followup
            # done`, nudged, shown without a tag); its others (not_doing …) as it says them.
            state={"completed": "done", "outstanding": "open"}.get(status, status),
            due=_due(data.get("description")),
        )

    async def _add(
        self, kind: str, incident_id: str, payload: dict[str, Any], assignee: Person | None
    ) -> FollowUp:
        full_id = await self._full_id(incident_id)
        payload = {"incident_id": full_id, **payload}
        if assignee is not None:
            payload["assignee_id"] = await self._user_id(assignee)
        body = await self.api.call("POST", f"/v3/{kind}", json_body=payload)
        created = body[_ONE[kind]]
        existing = await self._items(kind, full_id)
        number = next((i for i, f in enumerate(existing, 1) if f["id"] == created["id"]), len(existing))
        return self._item(created, number)

    async def _complete(self, kind: str, incident_id: str, number: int) -> FollowUp:
        items = await self._items(kind, await self._full_id(incident_id))
        if not 1 <= number <= len(items):
            raise NotFound(f"This incident has no {_WORD[kind]} #{number}.")
        item = items[number - 1]
        if item.get("status") == "completed":
            raise Rejected(f"{_WORD[kind].capitalize()} #{number} is done already: nothing to change.")
        text_field = "title" if kind == "follow_ups" else "description"
        body = await self.api.call(
            "PUT", f"/v3/{kind}/{item['id']}", json_body={text_field: item[text_field], "status": "completed"}
        )
        return self._item(body[_ONE[kind]], number)

    async def add_followup(
        self, incident_id: str, title: str, assignee: Person | None, due: datetime | None, actor: Person
    ) -> FollowUp:
        payload: dict[str, Any] = {"title": title}
        if due is not None:
            # incident.io follow-ups have no due date; keep it where the owner will read it.
            payload["description"] = f"Due {due.astimezone(UTC):%Y-%m-%d %H:%M} UTC."
        return await self._add("follow_ups", incident_id, payload, assignee)

    async def list_followups(self, incident_id: str) -> list[FollowUp]:
        full_id = await self._full_id(incident_id)
        return [self._item(f, n) for n, f in enumerate(await self._items("follow_ups", full_id), 1)]

    async def complete_followup(self, incident_id: str, number: int, actor: Person) -> FollowUp:
        return await self._complete("follow_ups", incident_id, number)

    async def add_task(
        self, incident_id: str, title: str, assignee: Person | None, actor: Person
    ) -> FollowUp:
        return await self._add("actions", incident_id, {"description": title}, assignee)

    async def list_tasks(self, incident_id: str) -> list[FollowUp]:
        full_id = await self._full_id(incident_id)
        return [self._item(f, n) for n, f in enumerate(await self._items("actions", full_id), 1)]

    async def complete_task(self, incident_id: str, number: int, actor: Person) -> FollowUp:
        return await self._complete("actions", incident_id, number)
