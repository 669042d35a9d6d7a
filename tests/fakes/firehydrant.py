"""FireHydrant's API v1, the operations the bot uses, with state, on 127.0.0.1.

Its public spec leaves the on-call answers untyped; the shapes here follow FireHydrant's
Go SDK (SignalsAPIOnCallScheduleEntity: team, shifts with start_time, end_time, user).
"""

from __future__ import annotations

import itertools
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from tests.fakes.server import FakeProvider, Seen

T0 = "2026-11-22T09:00:00Z"
MILESTONES = [
    (
        "Active",
        [
            ("started", "Started"),
            ("detected", "Detected"),
            ("acknowledged", "Acknowledged"),
            ("investigating", "Investigating"),
            ("identified", "Identified"),
            ("mitigated", "Mitigated"),
        ],
    ),
    ("Post-incident", [("resolved", "Resolved"), ("retrospective_started", "Retrospective Started")]),
    ("Closed", [("closed", "Closed")]),
]


def fid(n: int, kind: str = "0") -> str:
    return str(uuid.UUID(int=n + (ord(kind) << 64)))


def user(slack_id: str) -> dict:
    return {
        "id": fid(int(slack_id[1:]), "u"),
        "name": f"User {slack_id}",
        "email": f"{slack_id.lower()}@example.com",
        "slack_user_id": slack_id,
        "slack_linked?": True,
        "created_at": T0,
        "updated_at": T0,
    }


def page(data: list, number: int = 1, per_page: int = 20, total: int | None = None) -> dict:
    total = len(data) if total is None else total
    pages = max(1, -(-total // per_page))
    return {
        "data": data,
        "pagination": {
            "count": total,
            "page": number,
            "items": per_page,
            "pages": pages,
            "last": pages,
            "prev": number - 1 if number > 1 else None,
            "next": number + 1 if number < pages else None,
        },
    }


class FakeFireHydrant(FakeProvider):
    provider = "firehydrant"

    def __init__(self) -> None:
        self.incidents: dict[str, dict] = {}
        self.tickets: list[dict] = []
        self.tasks: list[dict] = []
        self.notes: list[dict] = []
        self.milestone_events: list[dict] = []  # each milestone set, as its timeline lists it
        self.shifts: list[dict] = []
        self.users = {u: user(u) for u in ("U111", "U222", "U333", "U444")}
        self.roles = [
            {
                "id": fid(n, "r"),
                "name": name,
                "summary": name,
                "description": name,
                "created_at": T0,
                "updated_at": T0,
            }
            for n, name in enumerate(["Incident Commander", "Communications Lead"], 1)  # its defaults
        ]
        self.severities = [
            {"slug": f"SEV{n}", "description": f"Severity {n}", "position": n, "type": "unexpected_downtime"}
            for n in (1, 2, 3)
        ]
        self.priorities = [
            {"slug": f"P{n}", "description": f"Priority {n}", "position": n} for n in (1, 2, 3)
        ]
        self.schedules = [
            {
                "id": fid(1, "s"),
                "name": "Primary",
                "team": {"id": fid(1, "t"), "name": "Payments"},
                "oncall": "U222",
            },
            {
                "id": fid(2, "s"),
                "name": "Database",
                "team": {"id": fid(2, "t"), "name": "Platform"},
                "oncall": "U444",
            },
        ]
        self._numbers = itertools.count(1)
        # Teams: Database has Signals (its on-call calendar), Facilities has none.
        self.teams = [
            {"id": "team-db", "name": "Database", "slug": "database", "signals_ical_url": "https://x/db.ics"},
            {"id": "team-fac", "name": "Facilities", "slug": "facilities"},
        ]
        self.team_assignments: list[tuple[str, str]] = []  # (incident id, team id), as assigned
        # FireHydrant's hosted status pages ("nunc" connections), and those added to each incident.
        self.nunc_connections = [{"id": "nunc-1", "company_name": "Acme", "title": "Acme Status"}]
        self.incident_status_pages: dict[str, list[dict]] = {}
        # Retrospective templates (the account's), and each incident's retrospectives.
        self.retro_templates = [
            {"id": "rt-1", "name": "Quick review", "is_default": False},
            {"id": "rt-2", "name": "Standard retrospective", "is_default": True},
        ]
        self.retrospectives: dict[str, list[dict]] = {}
        super().__init__()

    def add_incident(self, name: str, *, channel: str = "", milestone: str = "started") -> dict:
        number = next(self._numbers)
        incident = {
            "id": fid(number, "i"),
            "name": name,
            "number": number,
            "created_at": T0,
            "started_at": T0,
            "current_milestone": milestone,
            "active": True,
            "role_assignments": [],
            "channel_id": channel,
            "incident_url": f"https://app.firehydrant.io/incidents/{fid(number, 'i')}",
            "severity": "",
            "priority": "",
        }
        self.incidents[incident["id"]] = incident
        return incident

    def routes(self) -> None:
        self.route("GET", "/v1/ping", self.ping)
        self.route("GET", "/v1/lifecycles/phases", self.phases)
        self.route("GET", "/v1/severities", self.list_severities)
        self.route("GET", "/v1/priorities", self.list_priorities)
        self.route("GET", "/v1/incident_roles", self.list_roles)
        self.route("GET", "/v1/users", self.list_users)
        self.route("GET", "/v1/incidents", self.list_incidents)
        self.route("POST", "/v1/incidents", self.create)
        self.route("GET", "/v1/incidents/{incident_id}", self.show)
        self.route("PATCH", "/v1/incidents/{incident_id}", self.patch)
        self.route("PUT", "/v1/incidents/{incident_id}/resolve", self.resolve)
        self.route("PUT", "/v1/incidents/{incident_id}/close", self.close)
        self.route("PUT", "/v1/incidents/{incident_id}/milestones/bulk_update", self.milestones)
        self.route("POST", "/v1/incidents/{incident_id}/role_assignments", self.assign)
        self.route("POST", "/v1/incidents/{incident_id}/notes", self.note)
        self.route("GET", "/v1/nunc_connections", self.list_nunc)
        self.route("POST", "/v1/incidents/{incident_id}/status_pages", self.add_status_page)
        self.route("GET", "/v1/incidents/{incident_id}/events", self.list_events)
        self.route("DELETE", "/v1/incidents/{incident_id}/events/{event_id}", self.delete_event)
        self.route("GET", "/v1/ticketing/tickets", self.list_tickets)
        self.route("POST", "/v1/ticketing/tickets", self.create_ticket)
        self.route("PATCH", "/v1/ticketing/tickets/{ticket_id}", self.patch_ticket)
        self.route("GET", "/v1/incidents/{incident_id}/tasks", self.list_tasks)
        self.route("POST", "/v1/incidents/{incident_id}/tasks", self.create_task)
        self.route("PATCH", "/v1/incidents/{incident_id}/tasks/{task_id}", self.patch_task)
        self.route("GET", "/v1/signals_on_call", self.oncall)
        self.route("GET", "/v1/teams", self.list_teams)
        self.route("POST", "/v1/incidents/{incident_id}/team_assignments", self.assign_team)
        self.route("POST", "/v1/teams/{team_id}/on_call_schedules/{schedule_id}/shifts", self.create_shift)
        self.route("GET", "/v1/retrospective_templates", self.list_retro_templates)
        self.route("GET", "/v1/incidents/{incident_id}/retrospectives", self.list_retrospectives)
        self.route("POST", "/v1/incidents/{incident_id}/retrospectives", self.create_retrospective)

    async def list_retro_templates(self, seen: Seen) -> tuple[int, Any]:
        return 200, page(self.retro_templates)

    async def list_retrospectives(self, seen: Seen) -> tuple[int, Any]:
        if seen.params["incident_id"] not in self.incidents:
            return self._missing()
        return 200, page(self.retrospectives.get(seen.params["incident_id"], []))

    async def create_retrospective(self, seen: Seen) -> tuple[int, Any]:
        """A retrospective from a template, with the template's name (its fields left out)."""
        if seen.params["incident_id"] not in self.incidents:
            return self._missing()
        wanted = seen.body["retrospective_template_id"]
        template = next((t for t in self.retro_templates if t["id"] == wanted), None)
        if template is None:
            return 422, {"message": "No such retrospective template", "code": 422}
        made = {"id": f"retro-{len(self.retrospectives) + 1}", "name": template["name"], "is_hidden": False}
        self.retrospectives.setdefault(seen.params["incident_id"], []).append(made)
        return 201, made

    def _missing(self) -> tuple[int, dict]:
        return 404, {"detail": "Record not found", "messages": [], "code": "not_found"}

    async def ping(self, seen: Seen) -> tuple[int, Any]:
        return 200, {"response": "pong"}

    async def phases(self, seen: Seen) -> tuple[int, Any]:
        data = []
        for position, (phase, milestones) in enumerate(MILESTONES, 1):
            data.append(
                {
                    "id": fid(position, "p"),
                    "name": phase,
                    "type": phase.lower(),
                    "position": position,
                    "milestones": [
                        {"id": fid(n + position * 10, "m"), "slug": slug, "name": name, "position": n}
                        for n, (slug, name) in enumerate(milestones, 1)
                    ],
                }
            )
        return 200, {"data": data}

    async def list_severities(self, seen: Seen) -> tuple[int, Any]:
        return 200, page(self.severities)

    async def list_priorities(self, seen: Seen) -> tuple[int, Any]:
        # The spec types this answer as one PriorityEntity; FireHydrant sends a page of them.
        return 200, page(self.priorities)

    async def list_roles(self, seen: Seen) -> tuple[int, Any]:
        return 200, page(self.roles)

    async def list_teams(self, seen: Seen) -> tuple[int, Any]:
        return 200, page(self.teams)

    async def assign_team(self, seen: Seen) -> tuple[int, Any]:
        incident_id = seen.params["incident_id"]
        if incident_id not in self.incidents:
            return 404, {"detail": "Record not found"}
        if seen.body["team_id"] not in {t["id"] for t in self.teams}:
            return 404, {"detail": "Team not found"}
        self.team_assignments.append((incident_id, seen.body["team_id"]))
        return 201, None

    async def list_users(self, seen: Seen) -> tuple[int, Any]:
        query = (seen.arg("query") or "").lower()
        return 200, page(
            [u for u in self.users.values() if query in u["email"] or query in u["name"].lower()]
        )

    async def list_incidents(self, seen: Seen) -> tuple[int, Any]:
        number, size = int(seen.arg("page") or 1), int(seen.arg("per_page") or 20)
        items = list(self.incidents.values())
        milestones = seen.arg("current_milestones")
        if milestones:
            items = [i for i in items if i["current_milestone"] in milestones.split(",")]
        if seen.arg("archived") == "false":
            items = [i for i in items if not i.get("archived")]
        return 200, page(items[(number - 1) * size : number * size], number, size, len(items))

    async def create(self, seen: Seen) -> tuple[int, Any]:
        incident = self.add_incident(seen.body["name"])
        for field in ("summary", "severity", "priority"):
            if field in seen.body:
                incident[field] = seen.body[field]
        return 201, incident

    async def show(self, seen: Seen) -> tuple[int, Any]:
        incident = self.incidents.get(seen.params["incident_id"])
        return (200, incident) if incident else self._missing()

    async def patch(self, seen: Seen) -> tuple[int, Any]:
        incident = self.incidents.get(seen.params["incident_id"])
        if incident is None:
            return self._missing()
        incident.update({k: v for k, v in seen.body.items() if k in ("severity", "priority")})
        return 200, incident

    async def resolve(self, seen: Seen) -> tuple[int, Any]:
        incident = self.incidents.get(seen.params["incident_id"])
        if incident is None:
            return self._missing()
        incident["current_milestone"] = "resolved"
        return 200, incident

    async def close(self, seen: Seen) -> tuple[int, Any]:
        incident = self.incidents.get(seen.params["incident_id"])
        if incident is None:
            return self._missing()
        incident.update(current_milestone="closed", active=False)
        return 200, incident

    async def milestones(self, seen: Seen) -> tuple[int, Any]:
        incident = self.incidents.get(seen.params["incident_id"])
        if incident is None:
            return self._missing()
        # The incident's current milestone is its latest one set, in the configured order.
        order = [slug for _, milestones in MILESTONES for slug, _ in milestones]
        at = order.index(incident["current_milestone"])
        chosen = set(order[: at + 1])
        for milestone in seen.body["milestones"]:
            (chosen.discard if milestone.get("remove") else chosen.add)(milestone["type"])
            if not milestone.get("remove"):
                names = {slug: name for _, listed in MILESTONES for slug, name in listed}
                self.milestone_events.append(
                    {
                        "id": fid(len(self.milestone_events) + 1, "m"),
                        "incident_id": seen.params["incident_id"],
                        "type": "incident_status",
                        "data": {"name": names.get(milestone["type"], milestone["type"])},
                        "occurred_at": milestone.get("occurred_at") or T0,
                        "visibility": "private_to_org",
                    }
                )
        incident["current_milestone"] = max(chosen, key=order.index) if chosen else "started"
        incident["active"] = incident["current_milestone"] != "closed"
        return 200, page(
            [
                {"id": fid(n, "x"), "type": m["type"], "occurred_at": m["occurred_at"]}
                for n, m in enumerate(seen.body["milestones"], 1)
                if not m.get("remove")
            ]
        )

    async def assign(self, seen: Seen) -> tuple[int, Any]:
        incident = self.incidents.get(seen.params["incident_id"])
        if incident is None:
            return self._missing()
        role = next(r for r in self.roles if r["id"] == seen.body["incident_role_id"])
        who = next((u for u in self.users.values() if u["id"] == seen.body["user_id"]), None)
        if who is None:
            return 400, {"detail": "user not found", "messages": ["user_id is invalid"]}
        assignment = {
            "id": fid(len(incident["role_assignments"]) + 1, "a"),
            "status": "active",
            "incident_role": role,
            "user": who,
            "created_at": T0,
            "updated_at": T0,
        }
        incident["role_assignments"] = [
            *[a for a in incident["role_assignments"] if a["incident_role"]["id"] != role["id"]],
            assignment,
        ]
        return 201, assignment

    async def note(self, seen: Seen) -> tuple[int, Any]:
        if seen.params["incident_id"] not in self.incidents:
            return self._missing()
        note = {"id": fid(len(self.notes) + 1, "n"), "body": seen.body["body"], "created_at": T0}
        posted_to = seen.body.get("status_pages") or []
        attached = {p["id"] for p in self.incident_status_pages.get(seen.params["incident_id"], [])}
        if any(p["id"] not in attached for p in posted_to):
            return 422, {"message": "That status page is not on this incident", "code": 422}
        where = {"visibility": seen.body.get("visibility", "private_to_org"), "status_pages": posted_to}
        self.notes.append(note | {"incident": seen.params["incident_id"]} | where)
        return 201, note

    async def list_nunc(self, seen: Seen) -> tuple[int, Any]:
        return 200, page(self.nunc_connections)

    async def add_status_page(self, seen: Seen) -> tuple[int, Any]:
        incident_id = seen.params["incident_id"]
        if incident_id not in self.incidents:
            return self._missing()
        known = {c["id"] for c in self.nunc_connections}
        if seen.body["integration_slug"] != "nunc" or seen.body["integration_id"] not in known:
            return 422, {"message": "No such status page integration", "code": 422}
        pages = self.incident_status_pages.setdefault(incident_id, [])
        added = {
            "id": f"isp-{incident_id}-{len(pages) + 1}",
            "name": seen.body.get("title") or "",
            "display_name": "Acme Status",
            "external_id": seen.body["integration_id"],
            "url": f"https://status.acme.example/incidents/{incident_id}",
        }
        pages.append(added)
        return 201, added

    def _events(self, incident_id: str) -> list[dict]:
        """The incident's timeline as FireHydrant lists it: its start, then each note."""
        started = {
            "id": fid(0, "e"),
            "incident_id": incident_id,
            "type": "incident_status",
            "data": {"name": "Started"},
            "occurred_at": self.incidents[incident_id].get("created_at", T0),
            "visibility": "private_to_org",
        }
        notes = [
            {
                "id": n["id"],
                "incident_id": incident_id,
                "type": "note",
                "data": {"body": n["body"]},
                "occurred_at": n["created_at"],
                "visibility": "private_to_org",
            }
            for n in self.notes
            if n["incident"] == incident_id
        ]
        set_since = [e for e in self.milestone_events if e["incident_id"] == incident_id]
        return [started, *set_since, *notes]

    async def list_events(self, seen: Seen) -> tuple[int, Any]:
        incident_id = seen.params["incident_id"]
        if incident_id not in self.incidents:
            return self._missing()
        wanted = (seen.arg("types") or "").split(",")
        events = [e for e in self._events(incident_id) if wanted == [""] or e["type"] in wanted]
        return 200, page(events, 1, 20)

    async def delete_event(self, seen: Seen) -> tuple[int, Any]:
        incident_id, event_id = seen.params["incident_id"], seen.params["event_id"]
        found = (
            next((e for e in self._events(incident_id) if e["id"] == event_id), None)
            if incident_id in self.incidents
            else None
        )
        if found is None or found["type"] != "note":
            return self._missing()
        self.notes = [n for n in self.notes if n["id"] != event_id]
        return 200, found

    async def list_tickets(self, seen: Seen) -> tuple[int, Any]:
        # The spec types this list as a single ticket; FireHydrant sends a page of them.
        return 200, page(self.tickets, 1, 200)

    async def create_ticket(self, seen: Seen) -> tuple[int, Any]:
        body = seen.body
        incident_id = body["related_to"].removeprefix("incident/")
        n = len(self.tickets) + 1
        ticket = {
            "id": fid(n, "k"),
            "summary": body["summary"],
            "description": body.get("description", ""),
            "state": body.get("state", "open"),
            "type": body.get("type", "task"),
            "incident_id": incident_id,
            "created_at": f"2026-11-22T10:{n:02d}:00Z",
            "updated_at": T0,
            "assignees": [],
            "tag_list": [],
        }
        self.tickets.append(ticket)
        return 201, ticket

    async def patch_ticket(self, seen: Seen) -> tuple[int, Any]:
        ticket = next((t for t in self.tickets if t["id"] == seen.params["ticket_id"]), None)
        if ticket is None:
            return self._missing()
        ticket.update(seen.body)
        return 200, ticket

    async def list_tasks(self, seen: Seen) -> tuple[int, Any]:
        mine = [t for t in self.tasks if t["incident"] == seen.params["incident_id"]]
        return 200, page([{k: v for k, v in t.items() if k != "incident"} for t in mine], 1, 200)

    async def create_task(self, seen: Seen) -> tuple[int, Any]:
        if seen.params["incident_id"] not in self.incidents:
            return self._missing()
        body = seen.body
        n = len(self.tasks) + 1
        task = {
            "id": fid(n, "t"),
            "title": body["title"],
            "state": body.get("state", "open"),
            "created_at": f"2026-11-22T11:{n:02d}:00Z",
            "updated_at": T0,
        }
        if body.get("assignee_id"):
            who = next(u for u in self.users.values() if u["id"] == body["assignee_id"])
            task["assignee"] = {"id": who["id"], "name": who["name"], "email": who["email"]}
        self.tasks.append(task | {"incident": seen.params["incident_id"]})
        return 201, task

    async def patch_task(self, seen: Seen) -> tuple[int, Any]:
        task = next((t for t in self.tasks if t["id"] == seen.params["task_id"]), None)
        if task is None:
            return self._missing()
        task.update(seen.body)
        return 200, {k: v for k, v in task.items() if k != "incident"}

    async def oncall(self, seen: Seen) -> tuple[int, Any]:
        now = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
        data = []
        for schedule in self.schedules:
            shifts = [s for s in self.shifts if s["schedule"] == schedule["id"]]
            shifts += [
                {
                    "id": fid(9, "h"),
                    "start_time": (now - timedelta(hours=12)).isoformat(),
                    "end_time": (now + timedelta(hours=12)).isoformat(),
                    "user": self.users[schedule["oncall"]],
                }
            ]
            data.append({k: v for k, v in schedule.items() if k != "oncall"} | {"shifts": shifts})
        return 200, page(data)

    async def create_shift(self, seen: Seen) -> tuple[int, Any]:
        who = next((u for u in self.users.values() if u["id"] == seen.body.get("user_id")), None)
        shift = {
            "id": fid(len(self.shifts) + 1, "f"),
            "start_time": seen.body["start_time"],
            "end_time": seen.body["end_time"],
            "user": who,
            "schedule": seen.params["schedule_id"],
        }
        self.shifts.insert(0, shift)
        return 201, {k: v for k, v in shift.items() if k != "schedule"}
