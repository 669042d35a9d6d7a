"""The built-in provider's rotations, who is on call, and overrides."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, Row, delete, insert, select, update

from bot.domain import (
    NotFound,
    OnCall,
    Override,
    Person,
    Schedule,
)
from bot.providers.builtin import tables
from bot.providers.builtin.core import (
    Base,
    inserted_id,
)
from bot.providers.rotation import Rotation, Shift, on_call


class OnCalls(Base):
    @staticmethod
    def _schedule(row: Row[Any]) -> Schedule:
        return Schedule(
            id=str(row.id),
            name=row.name,
            users=[Person(**u) for u in row.users],
            handover_seconds=row.handover_seconds,
            start=row.start,
        )

    async def schedules(self) -> list[Schedule]:
        def work(conn: Connection) -> Any:
            rows = conn.execute(select(tables.schedules).order_by(tables.schedules.c.name))
            return [self._schedule(r) for r in rows]

        return await self.store.read(work)

    async def save_schedule(
        self, name: str, users: list[Person], handover: timedelta, start: datetime
    ) -> Schedule:
        values = {
            "users": [u.model_dump() for u in users],
            "handover_seconds": int(handover.total_seconds()),
            "start": start,
        }

        def work(conn: Connection) -> Any:
            result = conn.execute(
                update(tables.schedules).where(tables.schedules.c.name == name).values(**values)
            )
            if not result.rowcount:
                conn.execute(insert(tables.schedules).values(name=name, **values))
            row = (conn.execute(select(tables.schedules).where(tables.schedules.c.name == name))).one()
            return self._schedule(row)

        return await self._write(None, work, cache="keep")

    def _overrides(self, conn: Connection, schedule_id: int, after: datetime) -> list[Shift]:
        rows = conn.execute(
            select(tables.overrides).where(
                tables.overrides.c.schedule == schedule_id, tables.overrides.c.end > after
            )
        )
        return [
            Shift(Person(slack_id=r.user_id, name=r.user_name), r.start, r.end, r.created_at) for r in rows
        ]

    async def oncall(self, schedule: str | None, at: datetime) -> list[OnCall]:
        answers = []

        def work(conn: Connection) -> Any:
            query = select(tables.schedules).order_by(tables.schedules.c.name)
            if schedule is not None:
                query = query.where(tables.schedules.c.name == schedule)
            for row in conn.execute(query):
                sched = self._schedule(row)
                rotation = Rotation(tuple(sched.users), timedelta(seconds=row.handover_seconds), row.start)
                shift, is_override = on_call(rotation, self._overrides(conn, row.id, at), at)
                answers.append(
                    OnCall(
                        schedule=sched,
                        person=shift.person if shift else None,
                        until=shift.end if shift else None,
                        is_override=is_override,
                    )
                )

        await self.store.read(work)
        if schedule is not None and not answers:
            raise NotFound(f"There is no schedule called {schedule}.")
        return answers

    async def create_override(
        self, schedule: str, person: Person, start: datetime, end: datetime, actor: Person
    ) -> Override:
        def work(conn: Connection) -> Any:
            row = (conn.execute(select(tables.schedules).where(tables.schedules.c.name == schedule))).first()
            if row is None:
                raise NotFound(f"There is no schedule called {schedule}.")
            result = conn.execute(
                insert(tables.overrides).values(
                    schedule=row.id,
                    user_id=person.slack_id,
                    user_name=person.name,
                    start=start,
                    end=end,
                    created_by=actor.slack_id,
                    created_at=self.clock.now(),
                )
            )
            return Override(
                id=str(inserted_id(result)),
                schedule=self._schedule(row),
                person=person,
                start=start,
                end=end,
            )

        return await self._write(None, work, cache="keep")

    async def list_overrides(self, schedule: str | None, since: datetime) -> list[Override]:
        def work(conn: Connection) -> Any:
            query = (
                select(tables.overrides, tables.schedules.c.name.label("schedule_name"))
                .join(tables.schedules, tables.schedules.c.id == tables.overrides.c.schedule)
                .where(tables.overrides.c.end > since)
            )
            if schedule is not None:
                query = query.where(tables.schedules.c.name == schedule)
            return [
                Override(
                    id=str(r.id),
                    schedule=Schedule(id=str(r.schedule), name=r.schedule_name),
                    person=Person(slack_id=r.user_id, name=r.user_name),
                    start=r.start,
                    end=r.end,
                )
                for r in conn.execute(query)
            ]

        return await self.store.read(work)

    async def cancel_override(self, override: Override, actor: Person) -> bool:
        def work(conn: Connection) -> Any:
            conn.execute(delete(tables.overrides).where(tables.overrides.c.id == int(override.id)))

        await self._write(None, work, cache="keep")
        return True
