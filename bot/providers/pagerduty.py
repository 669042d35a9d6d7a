"""PagerDuty, over its REST API v2.

PagerDuty knows people by email only, so Slack users are mapped through the workspace
directory (users.info → email → `GET /users?query=`), and PagerDuty users back to Slack by
email too. Its REST API has no incident roles and no follow-ups: those verbs say so.
Severity is PagerDuty's priority (P1…) where the account has priorities, and its urgency
(high / low) always.
"""

from __future__ import annotations

import re
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
from bot.providers.base import Directory
from bot.providers.cache import PEOPLE_TTL, TTLCache
from bot.providers.http import ApiClient
from bot.providers.wire import iso_utc, parse_time, user_id_by_email

STATUSES = ["triggered", "acknowledged", "resolved"]
LOOK_AHEAD = timedelta(days=90)  # how far `overrides` looks
SHIFT_BASED = (
    "{name} is a shift-based PagerDuty schedule: list and cancel its overrides in PagerDuty "
    "(Schedules → {name}); the bot lists classic schedules' overrides."
)
URGENCIES = ["high", "low"]
_ID = re.compile(r"^[A-Z0-9]{6,20}$")
_NUMBER = re.compile(r"^(?:INC-?|#|PD-?)?(\d{1,9})$", re.IGNORECASE)
PAGE = 100

NO_ROLES = "PagerDuty's API has no incident roles: assign responders in PagerDuty itself."
NO_FOLLOWUPS = (
    "PagerDuty's API has no follow-ups or tasks: "
    "post them with `update` as a note, or track them in PagerDuty."
)


def error_text(body: Any) -> str | None:
    error = body.get("error") if isinstance(body, dict) else None
    if not isinstance(error, dict):
        return None
    details = [str(e) for e in error.get("errors") or []]
    return "; ".join([str(error.get("message") or ""), *details]).strip("; ") or None


class PagerDutyProvider:
    name = "pagerduty"
    label = "PagerDuty"
    capabilities = frozenset(Capability) - {Capability.ROLES, Capability.FOLLOWUPS, Capability.TASKS}
    # Verbs safe to run again after a restart: declare carries the request's id as
    # incident_key, which PagerDuty dedupes.
    records_applied = False  # its changes are made at the provider, not in our store
    replay_safe: frozenset[str] = frozenset({"declare"})
    unsupported = {
        Capability.ROLES: NO_ROLES,
        Capability.FOLLOWUPS: NO_FOLLOWUPS,
        Capability.TASKS: NO_FOLLOWUPS,
    }

    def __init__(
        self, api: ApiClient, *, from_email: str | None, service_id: str | None, directory: Directory
    ) -> None:
        self.api = api
        self.from_email = from_email
        self.service_id = service_id
        self.directory = directory
        self._catalogues = TTLCache()
        self._people = TTLCache(PEOPLE_TTL)
        if not service_id:
            self.capabilities = self.capabilities - {Capability.DECLARE}
            self.unsupported = self.unsupported | {
                Capability.DECLARE: "PagerDuty needs a service to open incidents on: "
                "set PAGERDUTY_SERVICE_ID, or declare it in PagerDuty."
            }

    def _write_headers(self, actor: Person | None = None) -> dict[str, str]:
        """Every PagerDuty write names a user in `From`; the bot's configured one."""
        if not self.from_email:
            raise ProviderError("PagerDuty needs PAGERDUTY_FROM_EMAIL (a PagerDuty user) to make changes.")
        return {"From": self.from_email}

    async def _write(self, method: str, path: str, body: Any, *, repeatable: bool = False) -> Any:
        return await self.api.call(
            method, path, json_body=body, headers=self._write_headers(), repeatable=repeatable
        )

    # references and catalogues --------------------------------------------------------------
    def parse_reference(self, text: str) -> str | None:
        text = text.strip()
        number = _NUMBER.match(text)
        if number:
            return str(int(number[1]))
        return text.upper() if _ID.match(text.upper()) else None

    async def statuses(self) -> list[str]:
        return list(STATUSES)

    async def target_status(self, kind: str) -> str:
        # Acknowledged on a resolved incident reopens it, held by whoever reopened it
        # (triggered would page the escalation policy again).
        return "acknowledged" if kind in ("ack", "reopen") else "resolved"

    async def _priorities(self) -> list[dict]:
        async def load() -> list[dict]:
            try:
                return (await self.api.get("/priorities", {"limit": PAGE}))["priorities"]
            except ProviderError as exc:
                if exc.status == 402:
                    return []  # the account's plan has no priorities: urgency is all there is
                raise

        return await self._catalogues.get("priorities", load)

    async def severities(self) -> list[Severity]:
        found = [
            Severity(name=p["name"], description=p.get("description") or None)
            for p in await self._priorities()
        ]
        return found + [
            Severity(name=u, aliases=[f"{u} urgency"], description=f"{u} urgency") for u in URGENCIES
        ]

    async def role_names(self) -> list[str]:
        return []

    # people -----------------------------------------------------------------------------------
    async def _user_id(self, person: Person) -> str:
        async def search(email: str) -> list[dict]:
            return (await self.api.get("/users", {"query": email, "limit": PAGE}))["users"]

        return await user_id_by_email(
            person, label=self.label, directory=self.directory, cache=self._people, search=search
        )

    async def _person(self, user: dict | None) -> Person | None:
        if not user:
            return None
        name = user.get("name") or user.get("summary")
        email = user.get("email")
        slack_id = await self.directory.slack_id_for(email) if email else None
        return Person(slack_id=slack_id or "", name=name)

    # incidents --------------------------------------------------------------------------------
    async def _incident(self, data: dict) -> Incident:
        assignees = [a.get("assignee") for a in data.get("assignments") or []]
        roles: dict[str, Person] = {}
        for n, assignee in enumerate(a for a in assignees if a):
            person = await self._person(assignee)
            if person is not None:
                roles["assigned" if n == 0 else f"assigned {n + 1}"] = person
        priority = (data.get("priority") or {}).get("summary") or (data.get("priority") or {}).get("name")
        return Incident(
            provider=self.name,
            id=data["id"],
            reference=f"#{data['incident_number']}" if data.get("incident_number") else data["id"],
            name=data.get("title") or data.get("summary") or data["id"],
            summary=((data.get("body") or {}).get("details") or None),
            status=data["status"],
            severity=priority or (f"{data['urgency']} urgency" if data.get("urgency") else None),
            roles=roles,
            url=data.get("html_url"),
            created_at=parse_time(data.get("created_at")) or datetime.now(UTC),
            resolved_at=parse_time(data.get("resolved_at")),
        )

    async def get_incident(self, incident_id: str) -> Incident:
        try:
            body = await self.api.get(f"/incidents/{incident_id}", {"include[]": "assignees"})
        except NotFound:
            raise NotFound(f"PagerDuty has no incident {incident_id}.") from None
        return await self._incident(body["incident"])

    async def declare(self, request: DeclareRequest) -> Incident:
        incident: dict[str, Any] = {
            "type": "incident",
            "title": request.name,
            "service": {"id": self.service_id, "type": "service_reference"},
        }
        if request.idempotency_key:
            incident["incident_key"] = request.idempotency_key
        if request.summary:
            incident["body"] = {"type": "incident_body", "details": request.summary}
        if request.severity:
            incident.update(await self._severity_fields(request.severity))
        try:
            body = await self._write(
                "POST", "/incidents", {"incident": incident}, repeatable=bool(request.idempotency_key)
            )
        except Rejected as exc:
            # A retry whose first try got through: PagerDuty dedupes on incident_key.
            if not request.idempotency_key or "dedup" not in exc.message.lower():
                raise
            found = await self.api.get(
                "/incidents", {"incident_key": request.idempotency_key, "date_range": "all", "limit": 1}
            )
            if not found["incidents"]:
                raise
            return await self._incident(found["incidents"][0])
        return await self._incident(body["incident"])

    async def _update(self, incident_id: str, fields: dict[str, Any]) -> Incident:
        body = await self._write(
            "PUT", f"/incidents/{incident_id}", {"incident": {"type": "incident_reference", **fields}}
        )
        return await self._incident(body["incident"])

    async def set_status(
        self, incident_id: str, status: str, actor: Person, note: str | None = None, key: str | None = None
    ) -> Incident:
        if status not in STATUSES:
            raise Rejected(f"PagerDuty has no status {status}.")
        fields: dict[str, Any] = {"status": status}
        if note and status == "resolved":
            fields["resolution"] = note
        incident = await self._update(await self._id(incident_id), fields)
        if note and status != "resolved":
            await self.post_update(incident.id, note, actor)
        return incident

    async def _id(self, incident_id: str) -> str:
        """PUT wants the incident's id; people type its number."""
        return incident_id if not incident_id.isdigit() else (await self.get_incident(incident_id)).id

    async def _severity_fields(self, severity: str) -> dict[str, Any]:
        name = severity.removesuffix(" urgency")
        if name in URGENCIES:
            return {"urgency": name}
        priority = next((p for p in await self._priorities() if p["name"] == severity), None)
        if priority is None:
            raise Rejected(f"PagerDuty has no priority {severity}.")
        return {"priority": {"id": priority["id"], "type": "priority_reference"}}

    async def set_severity(self, incident_id: str, severity: str, actor: Person) -> Incident:
        return await self._update(await self._id(incident_id), await self._severity_fields(severity))

    async def assign_role(self, incident_id: str, role: str, person: Person, actor: Person) -> Incident:
        raise Rejected(NO_ROLES)

    async def reassign(self, incident_id: str, person: Person, actor: Person) -> Incident:
        user = {"id": await self._user_id(person), "type": "user_reference"}
        incident = await self._update(await self._id(incident_id), {"assignments": [{"assignee": user}]})
        # The answer names assignees by reference only (no email to find them in Slack by):
        # the one just assigned is known, so show them as themselves.
        return incident.model_copy(update={"roles": {"assigned": person}})

    async def add_followup(
        self, incident_id: str, title: str, assignee: Person | None, due: datetime | None, actor: Person
    ) -> FollowUp:
        raise Rejected(NO_FOLLOWUPS)

    async def list_followups(self, incident_id: str) -> list[FollowUp]:
        raise Rejected(NO_FOLLOWUPS)

    async def complete_followup(self, incident_id: str, number: int, actor: Person) -> FollowUp:
        raise Rejected(NO_FOLLOWUPS)

    async def post_update(
        self, incident_id: str, text: str, actor: Person, key: str | None = None, stakeholders: bool = False
    ) -> TimelineEntry:
        who = actor.name or actor.slack_id
        incident = await self._id(incident_id)
        if stakeholders:
            # A status update goes to the incident's subscribers (email, status page), not just
            # the log: the "stakeholder update" of PagerDuty's own UI.
            body = await self._write("POST", f"/incidents/{incident}/status_updates", {"message": text})
            sent = body.get("status_update") or {}
        else:
            body = await self._write(
                "POST", f"/incidents/{incident}/notes", {"note": {"content": f"{text}\n— {who}, via Slack"}}
            )
            sent = body.get("note") or {}
        return TimelineEntry(
            at=parse_time(sent.get("created_at")) or datetime.now(UTC), kind="update", text=text, author=actor
        )

    # on-call ------------------------------------------------------------------------------------
    async def _schedules(self) -> list[dict]:
        async def load() -> list[dict]:
            found: list[dict] = []
            offset = 0
            while True:
                body = await self.api.get("/schedules", {"limit": PAGE, "offset": offset})
                found += body["schedules"]
                if not body.get("more") or not body["schedules"]:
                    return found
                offset += len(body["schedules"])

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
        offset = 0
        try:
            while True:
                body = await self.api.get("/v3/schedules", {"limit": PAGE, "offset": offset})
                found += body["schedules"]
                if not body.get("more") or not body["schedules"]:
                    return found
                offset += len(body["schedules"])
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
        return override.start > datetime.now(UTC)

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

    # channel → incident -------------------------------------------------------------------------
    async def find_by_channel(self, channel_id: str, channel_name: str | None) -> Incident | None:
        # REST v2 incidents carry no Slack channel; only the bot's own links know.
        return None

    async def check(self) -> str:
        body = await self.api.get("/abilities")
        problems = [] if self.from_email else ["PAGERDUTY_FROM_EMAIL is not set, so no changes can be made"]
        if not self.service_id:
            problems.append("PAGERDUTY_SERVICE_ID is not set, so declare is off")
        return f"token works ({len(body.get('abilities') or [])} abilities)" + (
            "; " + "; ".join(problems) if problems else ""
        )

    async def check_person(self, person: Person) -> None:
        await self._user_id(person)

    async def create_webhook(self, url: str, events: list[str]) -> tuple[str, str | None]:
        """A v3 webhook subscription to `url`: (its id, its signing secret, shown only now).
        On the configured service where there is one, else on the whole account."""
        scope = (
            {"type": "service_reference", "id": self.service_id}
            if self.service_id
            else {"type": "account_reference"}
        )
        body = {
            "webhook_subscription": {
                "type": "webhook_subscription",
                "delivery_method": {"type": "http_delivery_method", "url": url},
                "description": "Incident bot for Slack: keeps incident channels in sync",
                "events": events,
                "filter": scope,
            }
        }
        made = (await self.api.call("POST", "/webhook_subscriptions", json_body=body))["webhook_subscription"]
        return str(made["id"]), (made.get("delivery_method") or {}).get("secret")

    async def close(self) -> None:
        await self.api.close()


def build(
    token: str,
    base_url: str,
    *,
    from_email: str | None,
    service_id: str | None,
    directory: Directory,
    **http: Any,
) -> PagerDutyProvider:
    api = ApiClient(
        label="PagerDuty",
        base_url=base_url,
        headers={
            "Authorization": f"Token token={token}",
            "Accept": "application/vnd.pagerduty+json;version=2",
            # The spec requires it on every operation, reads included.
            "Content-Type": "application/json",
        },
        error_text=error_text,
        **http,
    )
    return PagerDutyProvider(api, from_email=from_email, service_id=service_id, directory=directory)
