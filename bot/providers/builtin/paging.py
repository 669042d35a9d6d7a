"""Paging at the built-in provider: a rotation's name pages whoever is on call for it now,
a person pages that person.

The built-in provider has no phone to ring: it says whom the page is for and leaves the
ringing to the bot (`PageSent.ring`), which DMs them with an Acknowledge button, pages
them again, then the next person of the rotation (bot/commands/ringing.py). `escalate` is
that last step now, and left to the bot in the same way (`Escalated.ring`).

Each page's id is the request that made it (`request:<key>`): a request run again after a
restart finds the page it made in the store (bot/store/pages.py) and rings nobody twice.
"""

from __future__ import annotations

from bot.domain import Escalated, PageSent, PageTarget, Person, Rejected
from bot.providers.builtin.oncall import OnCalls


class Paging(OnCalls):
    async def page_targets(self) -> list[str]:
        return [s.name for s in await self.schedules()]

    async def page(
        self, incident_id: str, target: PageTarget, actor: Person, message: str, key: str
    ) -> PageSent:
        if target.name is None:
            shown = ", ".join(p.name or p.slack_id for p in target.people)
            return PageSent(id=page_id(key), target=shown, people=target.people, ring=True)
        [entry] = await self.oncall(target.name, self.clock.now())
        if entry.person is None or not entry.person.slack_id:
            raise Rejected(
                f"Nobody is on call for {target.name} right now, so nobody was paged: "
                "page a person by name (`/incident page @them`), or set the rotation up with "
                "`/incident schedule`."
            )
        return PageSent(
            id=page_id(key), target=target.name, people=[entry.person], ring=True, rotation=target.name
        )

    async def escalate(self, incident_id: str, level: int | None, actor: Person) -> Escalated:
        """The next person of the rotation, rung by the bot as the re-page would (or the
        `level`-th of the rotation's order): nothing is written here, so the incident is
        only read, to say "no such incident" before anyone is paged."""
        await self.get_incident(incident_id)
        return Escalated(level=level, ring=True)


def page_id(key: str) -> str:
    """The page's id: the request's key, which a replay of that request carries again."""
    return f"request:{key}"[:255]
