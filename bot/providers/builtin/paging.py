"""Paging at the built-in provider: a rotation's name pages whoever is on call for it now,
a person pages that person.

The built-in provider has no phone to ring: it says whom the page is for and leaves the
ringing to the bot (`PageSent.ring`), which DMs them with an Acknowledge button, pages
them again, then the next person of the rotation (bot/commands/ringing.py).
"""

from __future__ import annotations

from bot.domain import PageSent, PageTarget, Person, Rejected
from bot.providers.builtin.oncall import OnCalls


class Paging(OnCalls):
    async def page_targets(self) -> list[str]:
        return [s.name for s in await self.schedules()]

    async def page(
        self, incident_id: str, target: PageTarget, actor: Person, message: str, key: str
    ) -> PageSent:
        if target.name is None:
            shown = ", ".join(p.name or p.slack_id for p in target.people)
            return PageSent(target=shown, people=target.people, ring=True)
        [entry] = await self.oncall(target.name, self.clock.now())
        if entry.person is None or not entry.person.slack_id:
            raise Rejected(
                f"Nobody is on call for {target.name} right now, so nobody was paged: "
                "page a person by name (`/incident page @them`), or set the rotation up with "
                "`/incident schedule`."
            )
        return PageSent(target=target.name, people=[entry.person], ring=True, rotation=target.name)
