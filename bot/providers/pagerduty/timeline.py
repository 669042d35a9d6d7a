"""PagerDuty's timeline: pinned Slack messages as notes (which PagerDuty lets us delete),
and the incident's log read back, with the notes' own words."""

from __future__ import annotations

from bot.domain import ChatMessage, Person, TimelineEntry
from bot.providers.pagerduty.client import OFFSET, Base
from bot.providers.paging import collect
from bot.providers.wire import parse_time

PINNED = "Pinned from Slack"  # how a pinned message's note starts: told apart from updates
SUFFIX = "_log_entry"


def pinned_note(message: ChatMessage, actor: Person) -> str:
    """The note's text: PagerDuty shows plain text, so people by name (or Slack id)."""
    author = message.author.name or message.author.slack_id if message.author else "someone"
    said = message.at.strftime("%Y-%m-%d %H:%M UTC")
    return f"{PINNED} ({author}, {said}): {message.line()}\n— {actor.name or actor.slack_id}, via Slack"


class Timeline(Base):
    async def pin_message(self, incident_id: str, message: ChatMessage, actor: Person) -> None:
        incident = await self._id(incident_id)
        await self._write(
            "POST", f"/incidents/{incident}/notes", {"note": {"content": pinned_note(message, actor)}}
        )

    async def unpin_message(self, incident_id: str, message: ChatMessage) -> bool:
        """The note is found by the message's link, which it ends with: no id to keep."""
        incident = await self._id(incident_id)
        mark = message.permalink or message.ts
        notes = (await self.api.get(f"/incidents/{incident}/notes"))["notes"]
        mine = [n for n in notes if str(n.get("content", "")).startswith(PINNED) and mark in n["content"]]
        for note in mine:
            await self._write("DELETE", f"/incidents/{incident}/notes/{note['id']}", None)
        return bool(mine)

    async def timeline(self, incident_id: str) -> list[TimelineEntry]:
        """The log's overview (triggered, acknowledged, escalated, resolved …) beside the
        notes, whose text the log leaves out (its annotate entries say only "note added")."""
        incident = await self._id(incident_id)
        log = await collect(
            self.api.get, f"/incidents/{incident}/log_entries", "log_entries", OFFSET, {"is_overview": "true"}
        )
        notes = (await self.api.get(f"/incidents/{incident}/notes"))["notes"]
        entries = [
            TimelineEntry(
                at=parse_time(e.get("created_at")) or self.clock.now(),
                kind=str(e.get("type", "")).removesuffix(SUFFIX).replace("_", " "),
                text=str(e.get("summary") or ""),
                author=None,
            )
            for e in log
            if e.get("type") != "annotate" + SUFFIX
        ]
        entries += [
            TimelineEntry(
                at=parse_time(n.get("created_at")) or self.clock.now(),
                kind="message" if str(n.get("content", "")).startswith(PINNED) else "note",
                text=str(n.get("content") or ""),
            )
            for n in notes
        ]
        return sorted(entries, key=lambda e: e.at)
