"""incident.io's on-call: schedules, who is on call, overrides."""

from __future__ import annotations

from datetime import datetime, timedelta

from bot.domain import (
    OnCall,
    Override,
    Person,
    Rejected,
    Schedule,
)
from bot.providers.incidentio.client import CURSOR, Base
from bot.providers.paging import paginate
from bot.providers.wire import iso_utc, parse_time, slack_person


class OnCalls(Base):
    @staticmethod
    def _schedule(data: dict) -> Schedule:
        users: dict[str, Person] = {}
        for rotation in (data.get("config") or {}).get("rotations") or []:
            for user in rotation.get("users") or []:
                if (person := slack_person(user)) is not None:
                    users.setdefault(user["id"], person)
        return Schedule(id=data["id"], name=data["name"], users=list(users.values()))

    async def schedules(self) -> list[Schedule]:
        return [self._schedule(s) for s in await self._schedules()]

    async def oncall(self, schedule: str | None, at: datetime) -> list[OnCall]:
        chosen = await self._schedules()
        if schedule is not None:
            chosen = [self._named(chosen, schedule, "schedule")]
        result: list[OnCall] = []
        for data in chosen:
            body = await self.api.get(
                "/v2/schedule_entries",
                {
                    "schedule_id": data["id"],
                    "entry_window_start": iso_utc(at),
                    "entry_window_end": iso_utc(at + timedelta(seconds=1)),
                },
            )
            entries = (body.get("schedule_entries") or {}).get("final") or []
            now_on = [
                e
                for e in entries
                if (parse_time(e["start_at"]) or at) <= at < (parse_time(e["end_at"]) or at)
            ]
            if not now_on:
                result.append(OnCall(schedule=self._schedule(data), person=None))
            for entry in now_on:
                result.append(
                    OnCall(
                        schedule=self._schedule(data),
                        person=slack_person(entry.get("user")),
                        until=parse_time(entry["end_at"]),
                    )
                )
        return result

    async def create_override(
        self, schedule: str, person: Person, start: datetime, end: datetime, actor: Person
    ) -> Override:
        data = self._named(await self._schedules(), schedule, "schedule")
        rotations = (data.get("config") or {}).get("rotations") or []
        layers = [(r["id"], layer["id"]) for r in rotations for layer in r.get("layers") or []]
        if not layers:
            raise Rejected(f"incident.io's schedule {schedule} has no rotation layer to override.")
        rotation_id, layer_id = layers[0]
        body = await self.api.call(
            "POST",
            "/v2/schedule_overrides",
            json_body={
                "schedule_id": data["id"],
                "rotation_id": rotation_id,
                "layer_id": layer_id,
                "start_at": iso_utc(start),
                "end_at": iso_utc(end),
                "user": {"slack_user_id": person.slack_id},
            },
        )
        created = body["override"]
        return Override(
            id=created["id"],
            schedule=self._schedule(data),
            person=slack_person(created.get("user")) or person,
            start=parse_time(created["start_at"]) or start,
            end=parse_time(created["end_at"]) or end,
        )

    async def list_overrides(self, schedule: str | None, since: datetime) -> list[Override]:
        chosen = await self._schedules()
        if schedule is not None:
            chosen = [self._named(chosen, schedule, "schedule")]
        found: list[Override] = []
        for data in chosen:
            overrides = paginate(
                self.api.get, "/v2/schedule_overrides", "overrides", CURSOR, {"schedule_id": data["id"]}
            )
            async for item in overrides:
                start, end = parse_time(item["start_at"]), parse_time(item["end_at"])
                person = slack_person(item.get("user"))
                if start and end and end > since:
                    found.append(
                        Override(
                            id=item["id"],
                            schedule=self._schedule(data),
                            person=person or Person(slack_id="", name=(item.get("user") or {}).get("name")),
                            start=start,
                            end=end,
                        )
                    )
        return found

    async def cancel_override(self, override: Override, actor: Person) -> bool:
        # Its id is read just before (ids change when a neighbour is widened); DELETE is
        # idempotent, so a retry cannot remove another one.
        await self.api.call("DELETE", f"/v2/schedule_overrides/{override.id}", repeatable=True)
        return True
