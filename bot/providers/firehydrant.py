"""FireHydrant, over its public API v1.

Statuses are FireHydrant's milestones (from its lifecycle phases); severities and
priorities go by slug. People are found by the email Slack has for them. FireHydrant has
no idempotency key on incident creation, so `declare` remembers what it created for each
request and never sends the same creation twice.
"""

from __future__ import annotations

import asyncio
import re
import time
from datetime import UTC, datetime
from typing import Any

from bot.domain import (
    Capability,
    DeclareRequest,
    FollowUp,
    Incident,
    NotFound,
    OnCall,
    Override,
    Person,
    Rejected,
    Schedule,
    Severity,
    TimelineEntry,
)
from bot.providers.base import Directory, no_single_assignee
from bot.providers.cache import PEOPLE_TTL, TTLCache
from bot.providers.http import ApiClient
from bot.providers.wire import iso_utc, parse_time, slack_person, user_id_by_email

_UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$", re.IGNORECASE)
PAGE = 200
MAX_PAGES = 10  # 2,000 open incidents or tickets: beyond that, ask people to link
DECLARE_MEMORY = 3600.0


def error_text(body: Any) -> str | None:
    if not isinstance(body, dict):
        return None
    messages = [str(m) for m in body.get("messages") or []]
    return "; ".join([str(body.get("detail") or body.get("error") or ""), *messages]).strip("; ") or None


class FireHydrantProvider:
    name = "firehydrant"
    label = "FireHydrant"
    capabilities = frozenset(Capability) - {
        Capability.REASSIGN,
        Capability.STAKEHOLDER_UPDATES,
        Capability.OVERRIDE_LIST,
    }
    # Verbs safe to run again after a restart: none, FireHydrant takes no idempotency key.
    records_applied = False  # its changes are made at the provider, not in our store
    replay_safe: frozenset[str] = frozenset()
    unsupported = {
        Capability.REASSIGN: no_single_assignee("FireHydrant"),
        Capability.STAKEHOLDER_UPDATES: "FireHydrant sends stakeholder updates through its status pages, "
        "which the bot does not choose for you: post it on the status page in FireHydrant.",
        Capability.OVERRIDE_LIST: "FireHydrant's API has no list of a schedule's coverage shifts to pick "
        "one from: see and remove them on the schedule's page in FireHydrant (On-call → Schedules).",
    }

    def __init__(self, api: ApiClient, *, directory: Directory) -> None:
        self.api = api
        self.directory = directory
        self._catalogues = TTLCache()
        self._people = TTLCache(PEOPLE_TTL)
        self._declared: dict[str, tuple[float, str]] = {}
        self._declaring: dict[str, asyncio.Lock] = {}

    # references and catalogues -------------------------------------------------------------------
    def parse_reference(self, text: str) -> str | None:
        text = text.strip()
        return text.lower() if _UUID.match(text) else None

    async def _milestones(self) -> list[dict]:
        async def load() -> list[dict]:
            phases = (await self.api.get("/v1/lifecycles/phases"))["data"]
            phases = sorted(phases, key=lambda p: p.get("position") or 0)
            return [
                m
                for p in phases
                for m in sorted(p.get("milestones") or [], key=lambda m: m.get("position") or 0)
            ]

        return await self._catalogues.get("milestones", load)

    async def _severities(self) -> list[dict]:
        async def load() -> list[dict]:
            return (await self.api.get("/v1/severities", {"per_page": PAGE}))["data"]

        return await self._catalogues.get("severities", load)

    async def _priorities(self) -> list[dict]:
        async def load() -> list[dict]:
            body = await self.api.get("/v1/priorities", {"per_page": PAGE})
            return body.get("data") or []

        return await self._catalogues.get("priorities", load)

    async def _roles(self) -> list[dict]:
        async def load() -> list[dict]:
            return (await self.api.get("/v1/incident_roles", {"per_page": PAGE}))["data"]

        return await self._catalogues.get("roles", load)

    async def statuses(self) -> list[str]:
        return [m["name"] for m in await self._milestones()]

    async def _milestone(self, name: str) -> dict:
        for milestone in await self._milestones():
            if name in (milestone["name"], milestone.get("slug")):
                return milestone
        raise Rejected(f"FireHydrant has no milestone {name}.")

    async def target_status(self, kind: str) -> str:
        if kind == "reopen":  # the last milestone before resolved: Mitigated, usually
            slugs = [m.get("slug") for m in await self._milestones()]
            before = slugs[max(slugs.index("resolved") - 1, 0)] if "resolved" in slugs else "started"
            return (await self._milestone(str(before)))["name"]
        slug = "acknowledged" if kind == "ack" else "resolved"
        return (await self._milestone(slug))["name"]

    async def severities(self) -> list[Severity]:
        found = [
            # `sev 1` means SEV1; priorities (P1…) are typed by their slug.
            Severity(
                name=s["slug"], aliases=re.findall(r"(\d+)$", s["slug"]), description=s.get("description")
            )
            for s in await self._severities()
        ]
        found += [
            Severity(name=p["slug"], description=p.get("description") or None)
            for p in await self._priorities()
        ]
        return found

    async def role_names(self) -> list[str]:
        roles = await self._roles()
        # The commander leads: first, so `lead` and `declare` give that role.
        return sorted((r["name"] for r in roles), key=lambda n: "commander" not in n.lower())

    # people -----------------------------------------------------------------------------------------
    async def _user_id(self, person: Person) -> str:
        async def search(email: str) -> list[dict]:
            return (await self.api.get("/v1/users", {"query": email, "per_page": PAGE}))["data"]

        return await user_id_by_email(
            person, label=self.label, directory=self.directory, cache=self._people, search=search
        )

    # incidents ----------------------------------------------------------------------------------------
    async def _incident(self, data: dict) -> Incident:
        names = {m.get("slug"): m["name"] for m in await self._milestones()}
        roles = {
            a["incident_role"]["name"]: person
            for a in data.get("role_assignments") or []
            if a.get("status", "active") == "active" and a.get("incident_role")
            if (person := slack_person(a.get("user"))) is not None
        }
        milestone = data.get("current_milestone") or "started"
        return Incident(
            provider=self.name,
            id=data["id"],
            reference=f"#{data['number']}" if data.get("number") else data["id"],
            name=data.get("name") or data["id"],
            summary=data.get("summary") or None,
            status=names.get(milestone, milestone),
            severity=data.get("severity") or data.get("priority") or None,
            roles=roles,
            url=data.get("incident_url"),
            created_at=parse_time(data.get("created_at")) or datetime.now(UTC),
            channel_id=data.get("channel_id") or None,
        )

    async def get_incident(self, incident_id: str) -> Incident:
        try:
            body = await self.api.get(f"/v1/incidents/{incident_id}")
        except NotFound:
            raise NotFound(f"FireHydrant has no incident {incident_id}.") from None
        return await self._incident(body)

    async def declare(self, request: DeclareRequest) -> Incident:
        """Sent once per request key: FireHydrant would make a second incident of a retry."""
        key = request.idempotency_key
        if key is None:
            return await self._create(request)
        lock = self._declaring.setdefault(key, asyncio.Lock())
        async with lock:
            known = self._declared.get(key)
            if known and time.monotonic() - known[0] < DECLARE_MEMORY:
                return await self.get_incident(known[1])
            incident = await self._create(request)
            self._declared[key] = (time.monotonic(), incident.id)
        self._declaring.pop(key, None)
        return incident

    async def _create(self, request: DeclareRequest) -> Incident:
        payload: dict[str, Any] = {"name": request.name}
        if request.summary:
            payload["summary"] = request.summary
        if request.severity:
            payload.update(await self._severity_field(request.severity))
        return await self._incident(await self.api.call("POST", "/v1/incidents", json_body=payload))

    async def set_status(
        self, incident_id: str, status: str, actor: Person, note: str | None = None, key: str | None = None
    ) -> Incident:
        milestone = await self._milestone(status)
        slug = milestone.get("slug") or status
        if slug == "resolved":
            body = await self.api.call("PUT", f"/v1/incidents/{incident_id}/resolve", json_body={})
            incident = await self._incident(body)
        elif slug == "closed":
            body = await self.api.call("PUT", f"/v1/incidents/{incident_id}/close", json_body={})
            incident = await self._incident(body)
        else:
            at = iso_utc(datetime.now(UTC))
            # Going back (reopening, or `status … again`): the milestones after it are removed,
            # or FireHydrant refuses times out of their configured order.
            current = (await self.get_incident(incident_id)).status
            names = [m["name"] for m in await self._milestones()]
            later = names[names.index(milestone["name"]) + 1 :] if milestone["name"] in names else []
            removed = later[: later.index(current) + 1] if current in later else []
            body = [{"type": slug, "occurred_at": at}] + [
                {"type": (await self._milestone(name)).get("slug") or name, "occurred_at": at, "remove": True}
                for name in removed
            ]
            await self.api.call(
                "PUT", f"/v1/incidents/{incident_id}/milestones/bulk_update", json_body={"milestones": body}
            )
            incident = await self.get_incident(incident_id)
        if note:
            await self.post_update(incident_id, note, actor)
        return incident

    async def _severity_field(self, name: str) -> dict[str, str]:
        if any(s["slug"] == name for s in await self._severities()):
            return {"severity": name}
        if any(p["slug"] == name for p in await self._priorities()):
            return {"priority": name}
        raise Rejected(f"FireHydrant has no severity or priority {name}.")

    async def set_severity(self, incident_id: str, severity: str, actor: Person) -> Incident:
        body = await self.api.call(
            "PATCH", f"/v1/incidents/{incident_id}", json_body=await self._severity_field(severity)
        )
        return await self._incident(body)

    async def assign_role(self, incident_id: str, role: str, person: Person, actor: Person) -> Incident:
        role_id = next((r["id"] for r in await self._roles() if r["name"] == role), None)
        if role_id is None:
            raise Rejected(f"FireHydrant has no role {role}.")
        user_id = await self._user_id(person)
        await self.api.call(
            "POST",
            f"/v1/incidents/{incident_id}/role_assignments",
            json_body={"user_id": user_id, "incident_role_id": role_id},
        )
        return await self.get_incident(incident_id)

    # follow-ups: FireHydrant tickets of type follow_up, related to the incident -----------------------
    async def _tickets(self, incident_id: str) -> list[dict]:
        found: list[dict] = []
        for page in range(1, MAX_PAGES + 1):
            body = await self.api.get("/v1/ticketing/tickets", {"page": page, "per_page": PAGE})
            data = body.get("data") or []
            found += [t for t in data if t.get("incident_id") == incident_id and t.get("type") == "follow_up"]
            if not (body.get("pagination") or {}).get("next"):
                break
        return sorted(found, key=lambda t: t.get("created_at") or "")

    @staticmethod
    def _followup(ticket: dict, number: int) -> FollowUp:
        assignees = ticket.get("assignees") or []
        state = ticket.get("state") or "open"
        return FollowUp(
            id=ticket["id"],
            number=number,
            title=ticket.get("summary") or "",
            assignee=Person(slack_id="", name=assignees[0].get("name")) if assignees else None,
            due=parse_time(ticket.get("due_at")),
            state="open" if state in ("open", "in_progress") else state,
        )

    async def add_followup(
        self, incident_id: str, title: str, assignee: Person | None, due: datetime | None, actor: Person
    ) -> FollowUp:
        notes = []
        if assignee is not None:
            notes.append(f"Owner: {assignee.name or assignee.slack_id} (Slack <@{assignee.slack_id}>)")
        if due is not None:
            notes.append(f"Due {due.astimezone(UTC):%Y-%m-%d %H:%M} UTC")
        payload: dict[str, Any] = {
            "summary": title,
            "related_to": f"incident/{incident_id}",
            "type": "follow_up",
            "state": "open",
        }
        if notes:
            payload["description"] = ". ".join(notes) + "."
        body = await self.api.call("POST", "/v1/ticketing/tickets", json_body=payload)
        existing = await self._tickets(incident_id)
        number = next((n for n, t in enumerate(existing, 1) if t["id"] == body["id"]), len(existing) or 1)
        return self._followup(body, number).model_copy(update={"assignee": assignee, "due": due})

    async def list_followups(self, incident_id: str) -> list[FollowUp]:
        return [self._followup(t, n) for n, t in enumerate(await self._tickets(incident_id), 1)]

    async def complete_followup(self, incident_id: str, number: int, actor: Person) -> FollowUp:
        tickets = await self._tickets(incident_id)
        if not 1 <= number <= len(tickets):
            raise NotFound(f"This incident has no follow-up #{number}.")
        body = await self.api.call(
            "PATCH", f"/v1/ticketing/tickets/{tickets[number - 1]['id']}", json_body={"state": "done"}
        )
        return self._followup(body, number)

    # tasks: FireHydrant's incident tasks, for what must be done now ----------------------------------
    async def _tasks(self, incident_id: str) -> list[dict]:
        found: list[dict] = []
        for page in range(1, MAX_PAGES + 1):
            body = await self.api.get(f"/v1/incidents/{incident_id}/tasks", {"page": page, "per_page": PAGE})
            found += body.get("data") or []
            if not (body.get("pagination") or {}).get("next"):
                break
        return sorted(found, key=lambda t: t.get("created_at") or "")

    @staticmethod
    def _task(task: dict, number: int) -> FollowUp:
        state = task.get("state") or "open"
        return FollowUp(
            id=task["id"],
            number=number,
            title=task.get("title") or "",
            assignee=slack_person(task.get("assignee")),
            due=parse_time(task.get("due_at")),
            state="open" if state in ("open", "in_progress") else state,
        )

    async def add_task(
        self, incident_id: str, title: str, assignee: Person | None, actor: Person
    ) -> FollowUp:
        payload: dict[str, Any] = {"title": title, "state": "open"}
        if assignee is not None:
            payload["assignee_id"] = await self._user_id(assignee)
        body = await self.api.call("POST", f"/v1/incidents/{incident_id}/tasks", json_body=payload)
        existing = await self._tasks(incident_id)
        number = next((n for n, t in enumerate(existing, 1) if t["id"] == body["id"]), len(existing) or 1)
        return self._task(body, number).model_copy(update={"assignee": assignee})

    async def list_tasks(self, incident_id: str) -> list[FollowUp]:
        return [self._task(t, n) for n, t in enumerate(await self._tasks(incident_id), 1)]

    async def complete_task(self, incident_id: str, number: int, actor: Person) -> FollowUp:
        tasks = await self._tasks(incident_id)
        if not 1 <= number <= len(tasks):
            raise NotFound(f"This incident has no task #{number}.")
        body = await self.api.call(
            "PATCH",
            f"/v1/incidents/{incident_id}/tasks/{tasks[number - 1]['id']}",
            json_body={"state": "done"},
        )
        return self._task(body, number)

    async def post_update(
        self, incident_id: str, text: str, actor: Person, key: str | None = None, stakeholders: bool = False
    ) -> TimelineEntry:
        body = await self.api.call(
            "POST",
            f"/v1/incidents/{incident_id}/notes",
            json_body={"body": text, "visibility": "private_to_org"},
        )
        return TimelineEntry(
            at=parse_time(body.get("created_at")) or datetime.now(UTC), kind="update", text=text, author=actor
        )

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

    # channel → incident -------------------------------------------------------------------------------
    async def find_by_channel(self, channel_id: str, channel_name: str | None) -> Incident | None:
        """FireHydrant incidents carry their Slack channel_id but cannot be searched by it:
        page through open incidents (200 a page) and match."""
        for page in range(1, MAX_PAGES + 1):
            body = await self.api.get("/v1/incidents", {"page": page, "per_page": PAGE, "archived": False})
            for data in body.get("data") or []:
                channels = {
                    data.get("channel_id"),
                    *(c.get("id") for c in data.get("incident_channels") or []),
                }
                if channel_id in channels:
                    return await self._incident(data)
            if not (body.get("pagination") or {}).get("next"):
                return None
        return None

    async def check(self) -> str:
        body = await self.api.get("/v1/ping")
        return f"token works ({body.get('response', 'pong')})"

    async def check_person(self, person: Person) -> None:
        await self._user_id(person)

    async def close(self) -> None:
        await self.api.close()


def build(key: str, base_url: str, *, directory: Directory, **http: Any) -> FireHydrantProvider:
    api = ApiClient(
        label="FireHydrant",
        base_url=base_url,
        headers={"Authorization": f"Bearer {key}", "Accept": "application/json"},
        error_text=error_text,
        **http,
    )
    return FireHydrantProvider(api, directory=directory)
