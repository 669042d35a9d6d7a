"""FireHydrant's timeline: a pinned Slack message is a note (an event of the incident, which
FireHydrant lets us delete), and the incident's events read back."""

from __future__ import annotations

from typing import Any

from bot.domain import ChatMessage, Person, TimelineEntry
from bot.providers.firehydrant.client import MAX_PAGES, NUMBERED, Base
from bot.providers.paging import collect
from bot.providers.wire import parse_time

PINNED = "Pinned from Slack"  # how a pinned message's note starts: told apart from updates


def pinned_note(message: ChatMessage, actor: Person) -> str:
    author = message.author.name or message.author.slack_id if message.author else "someone"
    said = message.at.strftime("%Y-%m-%d %H:%M UTC")
    return f"{PINNED} ({author}, {said}): {message.line()}\n— {actor.name or actor.slack_id}, via Slack"


def _text(event: dict[str, Any]) -> str:
    """What an event says: a note's body, else the first words FireHydrant gives it."""
    found = event.get("data")
    data: dict[str, Any] = found if isinstance(found, dict) else {}
    for field in ("body", "message", "description", "summary", "name"):
        if isinstance(data.get(field), str) and data[field]:
            return str(data[field])
    return str(event.get("context") or event.get("type") or "")


class Timeline(Base):
    async def pin_message(self, incident_id: str, message: ChatMessage, actor: Person) -> None:
        await self.api.call(
            "POST",
            f"/v1/incidents/{incident_id}/notes",
            json_body={"body": pinned_note(message, actor), "visibility": "private_to_org"},
        )

    async def _events(self, incident_id: str, types: str | None = None) -> list[dict[str, Any]]:
        params = {"types": types} if types else None
        path = f"/v1/incidents/{incident_id}/events"
        return await collect(self.api.get, path, "data", NUMBERED, params, limit=MAX_PAGES)

    async def unpin_message(self, incident_id: str, message: ChatMessage) -> bool:
        """The note's event, found by the message's link (its text ends with it), deleted:
        FireHydrant's notes have no DELETE of their own, their events do."""
        mark = message.permalink or message.ts
        mine = [
            e
            for e in await self._events(incident_id, "note")
            if _text(e).startswith(PINNED) and mark in _text(e)
        ]
        for event in mine:
            await self.api.call("DELETE", f"/v1/incidents/{incident_id}/events/{event['id']}")
        return bool(mine)

    async def timeline(self, incident_id: str) -> list[TimelineEntry]:
        entries = []
        for event in await self._events(incident_id):
            text = _text(event)
            kind = (
                "message" if text.startswith(PINNED) else str(event.get("type") or "event").replace("_", " ")
            )
            wrote = event.get("author")
            author: dict[str, Any] = wrote if isinstance(wrote, dict) else {}
            entries.append(
                TimelineEntry(
                    at=parse_time(event.get("occurred_at")) or self.clock.now(),
                    kind=kind,
                    text=text,
                    author=Person(slack_id="", name=str(author["name"])) if author.get("name") else None,
                )
            )
        return sorted(entries, key=lambda e: e.at)
