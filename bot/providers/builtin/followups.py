"""The built-in provider's follow-ups, numbered per incident under its row lock."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, func, insert, select, update

from bot.domain import (
    FollowUp,
    NotFound,
    Person,
    Rejected,
)
from bot.providers.builtin import tables
from bot.providers.builtin.core import (
    Base,
    _number,
    inserted_id,
)


class FollowUps(Base):
    async def add_followup(
        self,
        incident_id: str,
        title: str,
        assignee: Person | None,
        due: datetime | None,
        actor: Person,
    ) -> FollowUp:
        number = _number(incident_id)

        def work(conn: Connection) -> Any:
            self._load(conn, number)
            # max + 1 under the incident's lock (see _write): no two follow-ups get one number.
            next_number = (
                conn.execute(
                    select(func.coalesce(func.max(tables.followups.c.number), 0) + 1).where(
                        tables.followups.c.incident == number
                    )
                )
            ).scalar_one()
            result = conn.execute(
                insert(tables.followups).values(
                    incident=number,
                    number=next_number,
                    title=title,
                    assignee_id=assignee.slack_id if assignee else None,
                    assignee_name=assignee.name if assignee else None,
                    due=due,
                    state="open",
                    created_at=self.clock.now(),
                )
            )
            self._log(conn, number, "followup", title, actor)
            return FollowUp(
                id=str(inserted_id(result)),
                number=next_number,
                title=title,
                assignee=assignee,
                due=due,
            )

        return await self._write(number, work)  # its follow-ups changed: read again next time

    async def list_followups(self, incident_id: str) -> list[FollowUp]:
        def work(conn: Connection) -> Any:
            self._load(conn, _number(incident_id))
            return self._followups(conn, _number(incident_id))

        return await self.store.read(work)

    async def complete_followup(self, incident_id: str, number: int, actor: Person) -> FollowUp:
        incident = _number(incident_id)

        def work(conn: Connection) -> Any:
            this = (tables.followups.c.incident == incident, tables.followups.c.number == number)
            result = conn.execute(
                update(tables.followups).where(*this, tables.followups.c.state != "done").values(state="done")
            )
            if not result.rowcount:
                if conn.execute(select(tables.followups.c.number).where(*this)).first() is not None:
                    raise Rejected(
                        f"Follow-up #{number} of INC-{incident} is done already: nothing to change."
                    )
                raise NotFound(f"INC-{incident} has no follow-up #{number}.")
            self._log(conn, incident, "followup", f"done: #{number}", actor)
            return next(f for f in self._followups(conn, incident) if f.number == number)

        return await self._write(incident, work)  # its follow-ups changed: read again next time
