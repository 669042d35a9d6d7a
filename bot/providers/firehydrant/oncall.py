"""FireHydrant's on-call: Signals schedules, each belonging to a team; overrides as shifts."""

from __future__ import annotations

from datetime import datetime

from bot.domain import (
    OnCall,
    Override,
    Person,
    Rejected,
    Schedule,
)
from bot.providers.firehydrant.client import Base
from bot.providers.wire import iso_utc, parse_time


class OnCalls(Base):
    # on-call: Signals schedules, each belonging to a team ------------------------------------------------
    async def _oncall_schedules(self) -> list[dict]:
        body = await self.api.get("/v1/signals_on_call")
        return (body or {}).get("data") or []

    async def _schedule_list(self) -> list[dict]:
        return await self._catalogues.get("schedules", self._oncall_schedules)

    @staticmethod
    def _schedule(data: dict) -> Schedule:
        return Schedule(id=data["id"], name=data.get("name") or data["id"])

    async def schedules(self) -> list[Schedule]:
        return [self._schedule(s) for s in await self._schedule_list()]

    async def _schedule_named(self, name: str, fresh: bool = False) -> list[dict]:
        found = await self._oncall_schedules() if fresh else await self._schedule_list()
        chosen = [s for s in found if self._schedule(s).name == name]
        if not chosen:
            raise Rejected(f"FireHydrant has no on-call schedule called {name}.")
        return chosen

    async def oncall(self, schedule: str | None, at: datetime) -> list[OnCall]:
        found = (
            await self._schedule_named(schedule, fresh=True) if schedule else await self._oncall_schedules()
        )
        result: list[OnCall] = []
        for data in found:
            shifts = [
                s
                for s in data.get("shifts") or []
                if (parse_time(s.get("start_time")) or at) <= at < (parse_time(s.get("end_time")) or at)
            ]
            if not shifts:
                result.append(OnCall(schedule=self._schedule(data), person=None))
            for shift in shifts:
                user = shift.get("user") or {}
                slack_id = user.get("slack_user_id") or (
                    await self.directory.slack_id_for(user["email"]) if user.get("email") else None
                )
                result.append(
                    OnCall(
                        schedule=self._schedule(data),
                        person=Person(slack_id=slack_id or "", name=user.get("name")),
                        until=parse_time(shift.get("end_time")),
                    )
                )
        return result

    async def create_override(
        self, schedule: str, person: Person, start: datetime, end: datetime, actor: Person
    ) -> Override:
        [data, *_] = await self._schedule_named(schedule)
        team_id = (data.get("team") or {}).get("id")
        if not team_id:
            raise Rejected(f"FireHydrant did not say which team owns {schedule}.")
        body = await self.api.call(
            "POST",
            f"/v1/teams/{team_id}/on_call_schedules/{data['id']}/shifts",
            json_body={
                "start_time": iso_utc(start),
                "end_time": iso_utc(end),
                "user_id": await self._user_id(person),
            },
        )
        return Override(
            id=(body or {}).get("id") or "",
            schedule=self._schedule(data),
            person=person,
            start=parse_time((body or {}).get("start_time")) or start,
            end=parse_time((body or {}).get("end_time")) or end,
        )
