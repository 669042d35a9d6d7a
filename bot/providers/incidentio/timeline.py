"""incident.io's timeline: a pinned Slack message as a custom timeline item
(`POST /v2/incident_timeline_items`, keyed so a retry adds it once), and the curated
timeline read back beside the incident's updates. The API has no way to delete an item
(only to edit one), so a 📌 removed leaves it: `unsupported` says so."""

from __future__ import annotations

from bot.domain import ChatMessage, Person, TimelineEntry
from bot.providers.incidentio.client import CURSOR, Base
from bot.providers.paging import collect
from bot.providers.wire import parse_time

TITLE = 120  # characters of the message in the item's title: the whole text is its description


def _person(actor: object) -> Person | None:
    user = actor.get("user") if isinstance(actor, dict) else None
    if not isinstance(user, dict):
        return None
    return Person(slack_id=str(user.get("slack_user_id") or ""), name=user.get("name"))


class Timeline(Base):
    async def pin_message(self, incident_id: str, message: ChatMessage, actor: Person) -> None:
        said = " ".join(message.text.split()) or "(no text)"
        title = f"Slack: {said if len(said) <= TITLE else said[: TITLE - 1] + '…'}"
        who = f"<@{message.author.slack_id}>" if message.author and message.author.slack_id else "Someone"
        await self.api.call(
            "POST",
            "/v2/incident_timeline_items",
            json_body={
                "incident_id": incident_id,
                "timestamp": message.at.isoformat().replace("+00:00", "Z"),
                "title": title,
                "description": f"{who} in Slack: {message.line()}",
                # One item per message, however often this is sent (a retry, a restart).
                "idempotency_key": f"slack-{message.channel_id}-{message.ts}",
            },
            repeatable=True,
        )

    async def timeline(self, incident_id: str) -> list[TimelineEntry]:
        query = {"incident_id": incident_id}
        items = await collect(
            self.api.get, "/v2/incident_timeline_items", "incident_timeline_items", CURSOR, query
        )
        updates = await collect(self.api.get, "/v2/incident_updates", "incident_updates", CURSOR, query)
        entries = [
            TimelineEntry(
                at=parse_time(i.get("timestamp")) or self.clock.now(),
                kind="message" if str(i.get("title", "")).startswith("Slack: ") else "timeline",
                text=str(i.get("description") or i.get("title") or ""),
                author=_person(i.get("creator")),
            )
            for i in items
        ]
        for u in updates:
            status = (u.get("new_incident_status") or {}).get("name")
            text = " · ".join(
                t for t in (f"status {status}" if status else "", str(u.get("message") or "")) if t
            )
            entries.append(
                TimelineEntry(
                    at=parse_time(u.get("created_at")) or self.clock.now(),
                    kind="update",
                    text=text,
                    author=_person(u.get("updater")),
                )
            )
        return sorted(entries, key=lambda e: e.at)
