"""Declaring and changing a built-in incident; its timeline."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, bindparam, delete, func, insert, select, update
from sqlalchemy.exc import IntegrityError

from bot.domain import (
    ChatMessage,
    DeclareRequest,
    Incident,
    Person,
    Rejected,
    Severity,
    TimelineEntry,
)
from bot.providers.builtin import tables
from bot.providers.builtin.core import (
    CLOSED_STATUSES,
    SEVERITIES,
    STATUSES,
    Base,
    _number,
    _person,
    inserted_id,
    touch,
)
from bot.store.direct import Direct

MESSAGE = "message"  # a chat message pinned into the timeline
# A role's holder replaced, or given: built once (see core.LOG).
HOLD = Direct(
    update(tables.roles)
    .where(tables.roles.c.incident == bindparam("b_number"), tables.roles.c.role == bindparam("b_role"))
    .values(user_id=bindparam("v_user_id"), user_name=bindparam("v_user_name"))
)
GIVE = Direct(
    insert(tables.roles).values(
        {name: bindparam(name) for name in ("incident", "role", "user_id", "user_name")}
    )
)


class Incidents(Base):
    async def declare(self, request: DeclareRequest) -> Incident:
        if request.severity and request.severity not in {s.name for s in SEVERITIES}:
            raise Rejected(f"Unknown severity {request.severity}.")
        existing = await self._declared_with(request.idempotency_key)
        if existing is not None:
            return existing
        at = self.clock.now()
        try:

            def work(conn: Connection) -> Any:
                result = conn.execute(
                    insert(tables.incidents).values(
                        name=request.name,
                        summary=request.summary,
                        status=STATUSES[0],
                        severity=request.severity,
                        created_at=at,
                        updated_at=at,
                        created_by=request.declared_by.slack_id,
                        idempotency_key=request.idempotency_key,
                    )
                )
                number = inserted_id(result)
                self._log(conn, number, "declared", request.name, request.declared_by)
                return self._load(conn, number)

            return await self._write(None, work, cache="set")
        except IntegrityError:
            # The same request raced itself (a retry): hand back the one that won.
            winner = await self._declared_with(request.idempotency_key)
            if winner is None:
                raise
            return winner

    async def statuses(self) -> list[str]:
        return list(STATUSES)

    async def set_status(
        self, incident_id: str, status: str, actor: Person, note: str | None = None, key: str | None = None
    ) -> Incident:
        if status not in STATUSES:
            raise Rejected(f"Unknown status {status}.")
        resolved_at = self.clock.now() if status in CLOSED_STATUSES else None
        text = status + (f": {note}" if note else "")
        return await self._change(
            _number(incident_id), actor, "status", text, status=status, resolved_at=resolved_at
        )

    async def severities(self) -> list[Severity]:
        return list(SEVERITIES)

    async def set_severity(self, incident_id: str, severity: str, actor: Person) -> Incident:
        if severity not in {s.name for s in SEVERITIES}:
            raise Rejected(f"Unknown severity {severity}.")
        return await self._change(_number(incident_id), actor, "severity", severity, severity=severity)

    async def role_names(self) -> list[str]:
        return list(self._roles)

    async def assign_role(self, incident_id: str, role: str, person: Person, actor: Person) -> Incident:
        if role not in self._roles:
            raise Rejected(f"Unknown role {role}.")
        number = _number(incident_id)

        def work(conn: Connection) -> Any:
            at = self.clock.now()
            touch(conn, number, {"updated_at": at})
            before = self._current(conn, number, updated_at=at)
            # An upsert, under the incident's lock: two `lead`s at once both succeed, and
            # the later one holds the role.
            holder = {"user_id": person.slack_id, "user_name": person.name}
            if not HOLD.execute(
                conn,
                {
                    "b_number": number,
                    "b_role": role,
                    "v_user_id": person.slack_id,
                    "v_user_name": person.name,
                },
            ):
                GIVE.execute(conn, {"incident": number, "role": role, **holder})
            self._log(conn, number, "role", f"{role}: {person.name or person.slack_id}", actor)
            holders = before.roles | {role: person}
            return before.model_copy(update={"roles": {r: holders[r] for r in self._roles if r in holders}})

        return await self._write(number, work, cache="set")

    async def post_update(
        self, incident_id: str, text: str, actor: Person, key: str | None = None, stakeholders: bool = False
    ) -> TimelineEntry:
        number = _number(incident_id)

        def work(conn: Connection) -> Any:
            self._current(conn, number)  # it exists
            return self._log(conn, number, "update", text, actor)

        return await self._write(number, work, cache="keep")

    async def pin_message(self, incident_id: str, message: ChatMessage, actor: Person) -> None:
        """Dated when it was said, not when it was pinned: the timeline is what happened."""
        number = _number(incident_id)

        def work(conn: Connection) -> None:
            self._current(conn, number)  # it exists
            conn.execute(
                insert(tables.timeline).values(
                    incident=number,
                    at=message.at,
                    kind=MESSAGE,
                    text=message.line(),
                    author_id=message.author.slack_id if message.author else actor.slack_id,
                    author_name=message.author.name if message.author else actor.name,
                )
            )

        await self._write(number, work, cache="keep")

    async def unpin_message(self, incident_id: str, message: ChatMessage) -> bool:
        """Found by its permalink (or its ts), which its text ends with: no id to keep."""
        number = _number(incident_id)
        mark = message.permalink or message.ts
        table = tables.timeline

        def work(conn: Connection) -> bool:
            gone = conn.execute(
                delete(table).where(
                    table.c.incident == number,
                    table.c.kind == MESSAGE,
                    table.c.text.contains(mark, autoescape=True),
                )
            )
            return bool(gone.rowcount)

        return await self._write(number, work, cache="keep")

    async def open_incidents(self, limit: int) -> tuple[list[Incident], int]:
        """Read in one transaction, so the count and the rows agree."""
        table = tables.incidents
        still_open = table.c.status.not_in(CLOSED_STATUSES) & table.c.resolved_at.is_(None)

        def work(conn: Connection) -> Any:
            total = conn.execute(select(func.count()).select_from(table).where(still_open)).scalar()
            numbers = conn.execute(
                select(tables.incidents.c.number)
                .where(still_open)
                .order_by(tables.incidents.c.created_at.desc(), tables.incidents.c.number.desc())
                .limit(limit)
            ).scalars()
            return [self._load(conn, number) for number in numbers], int(total or 0)

        return await self.store.read(work)

    async def timeline(self, incident_id: str) -> list[TimelineEntry]:
        def work(conn: Connection) -> Any:
            rows = conn.execute(
                select(tables.timeline)
                .where(tables.timeline.c.incident == _number(incident_id))
                .order_by(tables.timeline.c.id)
            )
            return [
                TimelineEntry(at=r.at, kind=r.kind, text=r.text, author=_person(r.author_id, r.author_name))
                for r in rows
            ]

        return await self.store.read(work)
