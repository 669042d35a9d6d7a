"""incident.io, over its public API (v1, v2 and v3 endpoints, each named where it is used).

Names are incident.io's own: its statuses, severities, roles and schedules, read from its
catalogues and cached. People go by Slack id, which incident.io knows, so no email is needed.
"""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime, timedelta
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
    ProviderError,
    Rejected,
    Schedule,
    Severity,
    TimelineEntry,
)
from bot.providers.base import Directory, NoDirectory, no_single_assignee
from bot.providers.cache import PEOPLE_TTL, TTLCache
from bot.providers.http import ApiClient
from bot.providers.wire import iso_utc, parse_time, slack_person

_REFERENCE = re.compile(r"^(?:INC-?)?(\d{1,9})$", re.IGNORECASE)
_ULID = re.compile(r"^[0-9A-HJKMNP-TV-Z]{26}$")
_CHANNEL_NUMBER = re.compile(r"^inc-(\d{1,9})(?:-|$)")
# Categories an incident is still being fought in; resolve moves it out of them.
LIVE = ("triage", "live")
RESOLVED = ("learning", "closed")
PAGE = 250


_ONE = {"follow_ups": "follow_up", "actions": "action"}
_WORD = {"follow_ups": "follow-up", "actions": "task"}


def error_text(body: Any) -> str | None:
    if not isinstance(body, dict):
        return None
    messages = [e.get("message") for e in body.get("errors") or [] if isinstance(e, dict)]
    return "; ".join(m for m in messages if m) or None


class IncidentIoProvider:
    name = "incidentio"
    label = "incident.io"
    capabilities = frozenset(Capability) - {Capability.REASSIGN}
    # Verbs safe to run again after a restart: declare and update carry the request's
    # idempotency_key.
    records_applied = False  # its changes are made at the provider, not in our store
    replay_safe: frozenset[str] = frozenset({"declare", "update"})
    unsupported = {
        Capability.REASSIGN: no_single_assignee("incident.io"),
    }

    def __init__(self, api: ApiClient, directory: Directory | None = None) -> None:
        self.api = api
        self.directory = directory or NoDirectory()
        self._catalogues = TTLCache()
        self._users = TTLCache(PEOPLE_TTL)
        self._channels: dict[str, str] = {}  # slack channel → incident id, from scans

    # references and catalogues -------------------------------------------------------
    def parse_reference(self, text: str) -> str | None:
        text = text.strip()
        match = _REFERENCE.match(text)
        if match:
            return str(int(match[1]))
        return text if _ULID.match(text.upper()) else None

    async def _statuses(self) -> list[dict]:
        async def load() -> list[dict]:
            body = await self.api.get("/v1/incident_statuses")
            return sorted(body["incident_statuses"], key=lambda s: s.get("rank", 0))

        return await self._catalogues.get("statuses", load)

    async def _severities(self) -> list[dict]:
        async def load() -> list[dict]:
            return (await self.api.get("/v1/severities"))["severities"]

        return await self._catalogues.get("severities", load)

    async def _roles(self) -> list[dict]:
        async def load() -> list[dict]:
            roles = (await self.api.get("/v2/incident_roles"))["incident_roles"]
            # The reporter is set when the incident is created and cannot be reassigned.
            roles = [r for r in roles if r.get("role_type") != "reporter"]
            return sorted(roles, key=lambda r: r.get("role_type") != "lead")

        return await self._catalogues.get("roles", load)

    async def _schedules(self) -> list[dict]:
        async def load() -> list[dict]:
            found: list[dict] = []
            after: str | None = None
            while True:
                params: dict[str, Any] = {"page_size": PAGE}
                if after:
                    params["after"] = after
                body = await self.api.get("/v2/schedules", params)
                found += body["schedules"]
                after = (body.get("pagination_meta") or {}).get("after")
                if not after or not body["schedules"]:
                    return found

        return await self._catalogues.get("schedules", load)

    @staticmethod
    def _named(items: list[dict], name: str, kind: str) -> dict:
        for item in items:
            if item["name"] == name:
                return item
        raise Rejected(f"incident.io has no {kind} called {name}.")

    async def statuses(self) -> list[str]:
        return [s["name"] for s in await self._statuses()]

    async def target_status(self, kind: str) -> str:
        if kind == "reopen":
            raise Rejected(
                "incident.io does not move a closed incident back to live. Declare a new incident "
                "(`/incident declare …`) and mention this one in its summary."
            )
        statuses = await self._statuses()
        wanted = ("live",) if kind == "ack" else RESOLVED
        for category in wanted:  # post-incident before closed: closing may need a special key role
            for status in statuses:
                if status.get("category") == category:
                    return status["name"]
        raise Rejected(f"incident.io has no status to {kind} an incident with.")

    async def severities(self) -> list[Severity]:
        return [
            Severity(name=s["name"], description=s.get("description") or None)
            for s in sorted(await self._severities(), key=lambda s: -s.get("rank", 0))
        ]

    async def role_names(self) -> list[str]:
        return [r["name"] for r in await self._roles()]

    # incidents -------------------------------------------------------------------------
    def _incident(self, data: dict) -> Incident:
        status = data.get("incident_status") or {}
        roles = {
            a["role"]["name"]: person
            for a in data.get("incident_role_assignments") or []
            if (person := slack_person(a.get("assignee"))) is not None
        }
        severity = data.get("severity") or {}
        if data.get("slack_channel_id"):
            self._channels[data["slack_channel_id"]] = data["id"]
        return Incident(
            provider=self.name,
            id=data["id"],
            reference=data.get("reference") or data["id"],
            name=data["name"],
            summary=data.get("summary") or None,
            status=status.get("name", "unknown"),
            severity=severity.get("name"),
            roles=roles,
            url=data.get("permalink"),
            created_at=parse_time(data.get("created_at")) or datetime.now(UTC),
            resolved_at=None,
            channel_id=data.get("slack_channel_id") or None,
        )

    async def get_incident(self, incident_id: str) -> Incident:
        try:
            body = await self.api.get(f"/v2/incidents/{incident_id}")
        except NotFound:
            raise NotFound(f"incident.io has no incident {incident_id}.") from None
        return self._incident(body["incident"])

    async def declare(self, request: DeclareRequest) -> Incident:
        payload: dict[str, Any] = {
            "idempotency_key": request.idempotency_key or uuid.uuid4().hex,
            "visibility": "private" if request.private else "public",
            "name": request.name,
            "mode": "standard",
        }
        if request.summary:
            payload["summary"] = request.summary
        if request.severity:
            payload["severity_id"] = self._named(await self._severities(), request.severity, "severity")["id"]
        body = await self.api.call("POST", "/v2/incidents", json_body=payload, repeatable=True)
        return self._incident(body["incident"])

    async def _edit(self, incident_id: str, changes: dict[str, Any]) -> Incident:
        body = await self.api.call(
            "POST",
            f"/v2/incidents/{incident_id}/actions/edit",
            json_body={"incident": changes, "notify_incident_channel": True},
        )
        return self._incident(body["incident"])

    async def set_status(
        self, incident_id: str, status: str, actor: Person, note: str | None = None, key: str | None = None
    ) -> Incident:
        status_id = self._named(await self._statuses(), status, "status")["id"]
        if not note:
            return await self._edit(incident_id, {"incident_status_id": status_id})
        # A status change with words is an incident update: one call, and it shows as one.
        await self.api.call(
            "POST",
            "/v2/incident_updates",
            json_body={
                "incident_id": await self._full_id(incident_id),
                "idempotency_key": key or uuid.uuid4().hex,
                "to_incident_status_id": status_id,
                "message": note,
            },
            repeatable=True,
        )
        return await self.get_incident(incident_id)

    async def set_severity(self, incident_id: str, severity: str, actor: Person) -> Incident:
        severity_id = self._named(await self._severities(), severity, "severity")["id"]
        return await self._edit(incident_id, {"severity_id": severity_id})

    async def assign_role(self, incident_id: str, role: str, person: Person, actor: Person) -> Incident:
        role_id = self._named(await self._roles(), role, "role")["id"]
        if not person.slack_id:
            raise Rejected(f"{person.name or 'That person'} has no Slack account I can give to incident.io.")
        return await self._edit(
            incident_id,
            {
                "incident_role_assignments": [
                    {"incident_role_id": role_id, "assignee": {"slack_user_id": person.slack_id}}
                ]
            },
        )

    async def _full_id(self, incident_id: str) -> str:
        """Follow-ups and updates want the incident's full id; people type INC-12."""
        return incident_id if _ULID.match(incident_id) else (await self.get_incident(incident_id)).id

    # people ------------------------------------------------------------------------------
    async def _user_id(self, person: Person) -> str:
        async def load() -> str | None:
            users = (await self.api.get("/v2/users", {"slack_user_id": person.slack_id}))["users"]
            if users:
                return users[0]["id"]
            # Someone whose incident.io account is not tied to Slack: the same email will do.
            email = await self.directory.email_of(person.slack_id)
            if not email:
                return None
            users = (await self.api.get("/v2/users", {"email": email}))["users"]
            return next((u["id"] for u in users if str(u.get("email", "")).lower() == email.lower()), None)

        found = await self._users.get(person.slack_id, load)
        if found is None:
            self._users.forget(person.slack_id)
            raise Rejected(
                f"@{person.name or person.slack_id} has no incident.io account, so I can't do that."
            )
        return found

    # follow-ups ---------------------------------------------------------------------------
    # follow-ups (/v3/follow_ups) and tasks (/v3/actions): the same shape, numbered by age ------
    async def _items(self, kind: str, incident_id: str) -> list[dict]:
        found: list[dict] = []
        after: str | None = None
        while True:
            params: dict[str, Any] = {"incident_id": incident_id, "page_size": PAGE}
            if after:
                params["after"] = after
            body = await self.api.get(f"/v3/{kind}", params)
            found += body[kind]
            after = (body.get("pagination_meta") or {}).get("after")
            if not after or not body[kind]:
                break
        return sorted(found, key=lambda f: f["created_at"])

    @staticmethod
    def _item(data: dict, number: int) -> FollowUp:
        return FollowUp(
            id=data["id"],
            number=number,
            title=data.get("title") or data.get("description") or "",
            assignee=slack_person(data.get("assignee")),
            state="done" if data.get("status") == "completed" else data.get("status", "outstanding"),
        )

    async def _add(
        self, kind: str, incident_id: str, payload: dict[str, Any], assignee: Person | None
    ) -> FollowUp:
        full_id = await self._full_id(incident_id)
        payload = {"incident_id": full_id, **payload}
        if assignee is not None:
            payload["assignee_id"] = await self._user_id(assignee)
        body = await self.api.call("POST", f"/v3/{kind}", json_body=payload)
        created = body[_ONE[kind]]
        existing = await self._items(kind, full_id)
        number = next((i for i, f in enumerate(existing, 1) if f["id"] == created["id"]), len(existing))
        return self._item(created, number)

    async def _complete(self, kind: str, incident_id: str, number: int) -> FollowUp:
        items = await self._items(kind, await self._full_id(incident_id))
        if not 1 <= number <= len(items):
            raise NotFound(f"This incident has no {_WORD[kind]} #{number}.")
        item = items[number - 1]
        text_field = "title" if kind == "follow_ups" else "description"
        body = await self.api.call(
            "PUT", f"/v3/{kind}/{item['id']}", json_body={text_field: item[text_field], "status": "completed"}
        )
        return self._item(body[_ONE[kind]], number)

    async def add_followup(
        self, incident_id: str, title: str, assignee: Person | None, due: datetime | None, actor: Person
    ) -> FollowUp:
        payload: dict[str, Any] = {"title": title}
        if due is not None:
            # incident.io follow-ups have no due date; keep it where the owner will read it.
            payload["description"] = f"Due {due.astimezone(UTC):%Y-%m-%d %H:%M} UTC."
        item = await self._add("follow_ups", incident_id, payload, assignee)
        return item.model_copy(update={"due": due})

    async def list_followups(self, incident_id: str) -> list[FollowUp]:
        full_id = await self._full_id(incident_id)
        return [self._item(f, n) for n, f in enumerate(await self._items("follow_ups", full_id), 1)]

    async def complete_followup(self, incident_id: str, number: int, actor: Person) -> FollowUp:
        return await self._complete("follow_ups", incident_id, number)

    async def add_task(
        self, incident_id: str, title: str, assignee: Person | None, actor: Person
    ) -> FollowUp:
        return await self._add("actions", incident_id, {"description": title}, assignee)

    async def list_tasks(self, incident_id: str) -> list[FollowUp]:
        full_id = await self._full_id(incident_id)
        return [self._item(f, n) for n, f in enumerate(await self._items("actions", full_id), 1)]

    async def complete_task(self, incident_id: str, number: int, actor: Person) -> FollowUp:
        return await self._complete("actions", incident_id, number)

    async def post_update(
        self, incident_id: str, text: str, actor: Person, key: str | None = None, stakeholders: bool = False
    ) -> TimelineEntry:
        # An incident update reaches the incident's subscribers already: it is the stakeholder update.
        body = await self.api.call(
            "POST",
            "/v2/incident_updates",
            json_body={
                "incident_id": await self._full_id(incident_id),
                "idempotency_key": key or uuid.uuid4().hex,
                "message": text,
            },
            repeatable=True,
        )
        update = body["incident_update"]
        return TimelineEntry(
            at=parse_time(update.get("created_at")) or datetime.now(UTC),
            kind="update",
            text=text,
            author=actor,
        )

    # on-call ---------------------------------------------------------------------------------
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
            after: str | None = None
            while True:
                params: dict[str, Any] = {"schedule_id": data["id"], "page_size": 250}
                if after:
                    params["after"] = after
                body = await self.api.get("/v2/schedule_overrides", params)
                for item in body["overrides"]:
                    start, end = parse_time(item["start_at"]), parse_time(item["end_at"])
                    person = slack_person(item.get("user"))
                    if start and end and end > since:
                        found.append(
                            Override(
                                id=item["id"],
                                schedule=self._schedule(data),
                                person=person
                                or Person(slack_id="", name=(item.get("user") or {}).get("name")),
                                start=start,
                                end=end,
                            )
                        )
                after = (body.get("pagination_meta") or {}).get("after")
                if not after or not body["overrides"]:
                    break
        return found

    async def cancel_override(self, override: Override, actor: Person) -> bool:
        # Its id is read just before (ids change when a neighbour is widened); DELETE is
        # idempotent, so a retry cannot remove another one.
        await self.api.call("DELETE", f"/v2/schedule_overrides/{override.id}", repeatable=True)
        return True

    # channel → incident ---------------------------------------------------------------------
    async def find_by_channel(self, channel_id: str, channel_name: str | None) -> Incident | None:
        """incident.io cannot be asked by channel: try the number in `inc-<N>-…`, then the
        last scan, then page through live incidents (250 a page) matching slack_channel_id."""
        number = _CHANNEL_NUMBER.match(channel_name or "")
        if number:
            try:
                incident = await self.get_incident(number[1])
            except NotFound:
                incident = None
            if incident is not None and incident.channel_id == channel_id:
                return incident
        known = self._channels.get(channel_id)
        if known:
            incident = await self.get_incident(known)
            if incident.channel_id == channel_id:
                return incident
        after: str | None = None
        while True:
            params: dict[str, Any] = {"page_size": PAGE, "status_category[one_of]": list(LIVE)}
            if after:
                params["after"] = after
            body = await self.api.get("/v2/incidents", params)
            match = None
            for data in body["incidents"]:
                incident = self._incident(data)  # remembers every channel it sees
                if incident.channel_id == channel_id:
                    match = incident
            if match is not None:
                return match
            after = (body.get("pagination_meta") or {}).get("after")
            if not after or not body["incidents"]:
                return None

    async def check(self) -> str:
        body = await self.api.get("/v1/identity")
        identity = body.get("identity") or {}
        roles = ", ".join(identity.get("roles") or []) or "no roles"
        return f"key {identity.get('name', '?')!s} works ({roles})"

    async def check_person(self, person: Person) -> None:
        await self._user_id(person)

    async def close(self) -> None:
        await self.api.close()


def build(key: str, base_url: str, *, directory: Directory | None = None, **http: Any) -> IncidentIoProvider:
    api = ApiClient(
        label="incident.io",
        base_url=base_url,
        headers={"Authorization": f"Bearer {key}", "Accept": "application/json"},
        error_text=error_text,
        **http,
    )
    return IncidentIoProvider(api, directory)


__all__ = ["IncidentIoProvider", "ProviderError", "build"]
