"""PagerDuty's on-call: classic and shift-based (v3) schedules, who is on call, overrides."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from bot.domain import (
    OnCall,
    Override,
    Person,
    ProviderError,
    Rejected,
    Schedule,
)
from bot.providers.pagerduty.client import (
    LOOK_AHEAD,
    OFFSET,
    PAGE,
    SHIFT_BASED,
    Base,
)
from bot.providers.paging import collect, pages
from bot.providers.wire import iso_utc, parse_time


class OnCalls(Base):
    async def _schedules(self) -> list[dict]:
        async def load() -> list[dict]:
            return await collect(self.api.get, "/schedules", "schedules", OFFSET)

        async def both() -> list[dict]:
            classic = await load()
            known = {s["id"] for s in classic}
            shift_based = await self._v3_schedules()
            for schedule in classic:
                schedule["_v3"] = schedule["id"] in {v["id"] for v in shift_based}
            return classic + [v | {"_v3": True} for v in shift_based if v["id"] not in known]

        return await self._catalogues.get("schedules", both)

    async def _v3_schedules(self) -> list[dict]:
        """Shift-based schedules, which take overrides at their own endpoint and body. An
        account or key without them answers an error here: then there are none."""
        found: list[dict] = []
        try:
            async for page in pages(self.api.get, "/v3/schedules", "schedules", OFFSET):
                found += page
            return found
        except ProviderError as exc:
            if exc.status in (400, 402, 403, 404):  # this account or key has no shift-based schedules
                return found
            raise

    async def schedules(self) -> list[Schedule]:
        return [
            Schedule(id=s["id"], name=s.get("name") or s.get("summary") or s["id"])
            for s in await self._schedules()
        ]

    async def _schedule_named(self, name: str) -> dict:
        for schedule in await self._schedules():
            if (schedule.get("name") or schedule.get("summary")) == name:
                return schedule
        raise Rejected(f"PagerDuty has no schedule called {name}.")

    async def oncall(self, schedule: str | None, at: datetime) -> list[OnCall]:
        params: list[tuple[str, Any]] = [("include[]", "users"), ("limit", PAGE)]
        chosen = [await self._schedule_named(schedule)] if schedule else await self._schedules()
        params += [("schedule_ids[]", s["id"]) for s in chosen]
        body = await self.api.get("/oncalls", params)
        result: list[OnCall] = []
        names = {s["id"]: s.get("name") or s.get("summary") or s["id"] for s in chosen}
        seen: set[tuple[str, str]] = set()
        for entry in body["oncalls"]:
            schedule_ref = entry.get("schedule") or {}
            if schedule_ref.get("id") not in names:
                continue
            key = (schedule_ref["id"], (entry.get("user") or {}).get("id", ""))
            if key in seen:  # the same person is listed once per escalation level
                continue
            seen.add(key)
            result.append(
                OnCall(
                    schedule=Schedule(id=schedule_ref["id"], name=names[schedule_ref["id"]]),
                    person=await self._person(entry.get("user")),
                    until=parse_time(entry.get("end")),
                )
            )
        for schedule_id, name in names.items():
            if not any(o.schedule.id == schedule_id for o in result):
                result.append(OnCall(schedule=Schedule(id=schedule_id, name=name), person=None))
        return result

    async def create_override(
        self, schedule: str, person: Person, start: datetime, end: datetime, actor: Person
    ) -> Override:
        data = await self._schedule_named(schedule)
        user_id = await self._user_id(person)
        if data.get("_v3"):
            return await self._v3_override(data, user_id, person, start, end)
        body = await self.api.call(
            "POST",
            f"/schedules/{data['id']}/overrides",
            json_body={
                "overrides": [
                    {
                        "start": iso_utc(start),
                        "end": iso_utc(end),
                        "user": {"id": user_id, "type": "user_reference"},
                        "time_zone": "UTC",
                    }
                ]
            },
        )
        # One status per requested override: HTTP 201 does not mean each one was made.
        [item] = body
        if int(item.get("status", 0)) != 201:
            reasons = "; ".join(str(e) for e in item.get("errors") or []) or f"status {item.get('status')}"
            raise Rejected(f"PagerDuty did not create the override: {reasons}")
        created = item["override"]
        return Override(
            id=created.get("id") or "",
            schedule=Schedule(id=data["id"], name=data.get("name") or data["id"]),
            person=person,
            start=parse_time(created.get("start")) or start,
            end=parse_time(created.get("end")) or end,
        )

    async def list_overrides(self, schedule: str | None, since: datetime) -> list[Override]:
        chosen = [await self._schedule_named(schedule)] if schedule else await self._schedules()
        found: list[Override] = []
        for data in chosen:
            if data.get("_v3"):
                if schedule:
                    raise Rejected(SHIFT_BASED.format(name=schedule))
                continue  # listed with the classic ones would mislead: their overrides are elsewhere
            body = await self.api.get(
                f"/schedules/{data['id']}/overrides",
                {"since": iso_utc(since), "until": iso_utc(since + LOOK_AHEAD)},
            )
            name = data.get("name") or data.get("summary") or data["id"]
            for item in body["overrides"]:
                start, end = parse_time(item.get("start")), parse_time(item.get("end"))
                if start and end:
                    found.append(
                        Override(
                            id=item["id"],
                            schedule=Schedule(id=data["id"], name=name),
                            person=await self._person(item.get("user")) or Person(slack_id=""),
                            start=start,
                            end=end,
                        )
                    )
        return found

    async def cancel_override(self, override: Override, actor: Person) -> bool:
        # One that had begun is cut short to now (PagerDuty's 200), not removed (204).
        await self._write("DELETE", f"/schedules/{override.schedule.id}/overrides/{override.id}", None)
        return override.start > self.clock.now()

    async def _v3_override(
        self, data: dict, user_id: str, person: Person, start: datetime, end: datetime
    ) -> Override:
        """A shift-based schedule overrides shifts, each naming whom it replaces: read who is
        on in the window (the final schedule), then replace each of their shifts there."""
        detail = await self.api.get(
            f"/v3/schedules/{data['id']}",
            [("since", iso_utc(start)), ("until", iso_utc(end)), ("include[]", "final_schedule")],
        )
        schedule = detail["schedule"]
        shifts = (schedule.get("final_schedule") or {}).get("computed_shift_assignments") or []
        items = []
        for shift in shifts:
            source = shift.get("source") or {}
            begins = max(start, parse_time(shift["start_time"]) or start)
            ends = min(end, parse_time(shift["end_time"]) or end)
            if begins >= ends or shift["member"].get("user_id") == user_id:
                continue
            item: dict[str, Any] = {
                "type": "override_shift",
                "start_time": iso_utc(begins),
                "end_time": iso_utc(ends),
                "overridden_member": shift["member"],
                "overriding_member": {"type": "user_member", "user_id": user_id},
            }
            if source.get("shift_id"):
                item["custom_shift_id"] = source["shift_id"]
            elif source.get("rotation_id"):
                item["rotation_id"] = source["rotation_id"]
            else:
                continue
            items.append(item)
        name = data.get("name") or data.get("summary") or data["id"]
        if not items:
            raise Rejected(
                f"{name} is a shift-based PagerDuty schedule with no shift between those times "
                f"for {person.name or 'them'} to take over."
            )
        body = await self.api.call(
            "POST", f"/v3/schedules/{data['id']}/overrides", json_body={"overrides": items}
        )
        made = body.get("overrides") or []
        return Override(
            id=",".join(o.get("id", "") for o in made),
            schedule=Schedule(id=data["id"], name=name),
            person=person,
            start=min((parse_time(o["start_time"]) or start for o in made), default=start),
            end=max((parse_time(o["end_time"]) or end for o in made), default=end),
        )
