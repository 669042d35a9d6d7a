"""incident.io's API, the operations the bot uses, with state, on 127.0.0.1."""

from __future__ import annotations

import copy
import itertools
from datetime import UTC, datetime, timedelta
from typing import Any

from tests.fakes.server import FakeProvider, Seen
from tests.fakes.specs import document

T0 = "2026-11-22T09:00:00Z"


def ulid(prefix: str, n: int) -> str:
    return (
        (prefix + f"{n:026d}")[-26:].replace("I", "J").replace("L", "K").replace("O", "P").replace("U", "V")
    )


def _now() -> str:
    """As incident.io stamps a change: its `updated_at`, what a resolved incident's end is read from."""
    return datetime.now(UTC).isoformat().replace("+00:00", "Z")


def _status(sid: str, name: str, category: str, rank: int) -> dict:
    return {
        "id": sid,
        "name": name,
        "description": name,
        "rank": rank,
        "category": category,
        "created_at": T0,
        "updated_at": T0,
    }


STATUSES = [
    _status(ulid("ST", 1), "Triage", "triage", 1),
    _status(ulid("ST", 2), "Investigating", "live", 2),
    _status(ulid("ST", 3), "Fixing", "live", 3),
    _status(ulid("ST", 4), "Monitoring", "live", 4),
    _status(ulid("ST", 5), "Documenting", "learning", 5),
    _status(ulid("ST", 6), "Closed", "closed", 6),
]
SEVERITIES = [
    {"id": ulid("SV", n), "name": name, "description": name, "rank": rank, "created_at": T0, "updated_at": T0}
    for n, (name, rank) in enumerate([("Critical", 3), ("Major", 2), ("Minor", 1)], 1)
]
ROLES = [
    {
        "id": ulid("RL", n),
        "name": name,
        "shortform": short,
        "description": name,
        "instructions": "-",
        "role_type": kind,
        "created_at": T0,
        "updated_at": T0,
    }
    for n, (name, short, kind) in enumerate(
        [
            ("Reporter", "reporter", "reporter"),
            ("Incident Lead", "lead", "lead"),
            ("Communications", "comms", "custom"),
        ],
        1,
    )
]


def user(slack_id: str) -> dict:
    return {
        "id": ulid("US", int(slack_id[1:])),
        "name": f"User {slack_id}",
        "role": "responder",
        "slack_user_id": slack_id,
        "email": f"{slack_id.lower()}@example.com",
    }


class FakeIncidentIo(FakeProvider):
    provider = "incidentio"

    def __init__(self) -> None:
        self.incidents: dict[str, dict] = {}
        self.status_catalogue = list(STATUSES)  # a test may give the account hundreds
        self.by_key: dict[str, str] = {}
        self.followups: list[dict] = []
        self.actions: list[dict] = []
        self.overrides: list[dict] = []
        self.updates: list[dict] = []
        self.timeline_items: list[dict] = []
        self.users = {u: user(u) for u in ("U111", "U222", "U333", "U444")}
        self.schedules = [
            self._schedule(1, "Primary", ["U222", "U333"]),
            self._schedule(2, "Database", ["U444"]),
        ]
        self._numbers = itertools.count(1)
        # incident.io's Slack app makes the channel itself when installed; empty: it is not.
        self.channel_on_declare = ""
        self.escalation_paths = {"01PATHDB": "Database on-call", "01PATHNET": "Network"}
        self.escalations: dict[str, dict] = {}  # by idempotency key
        self.escalation_bodies: list[dict] = []  # each escalation made, as it was asked
        # One public status page with two components; its incidents by id, and each update.
        self.status_pages = [
            {"id": ulid("SP", 1), "name": "Acme Status", "public_url": "https://status.acme.example"}
        ]
        managed = {"annotations": {}, "managed_by": "dashboard"}
        self.status_components = [
            {"id": ulid("CO", n), "name": name, "management_meta": managed}
            for n, name in enumerate(("API", "Web app"), 1)
        ]
        # What each page shows (GET /v2/status_page_structures/{id}): the first, both
        # components, the API one in a group; a page a test adds shows what it says here.
        self.structures: dict[str, list[dict]] = {
            self.status_pages[0]["id"]: [
                {
                    "group": {
                        "id": ulid("GR", 1),
                        "name": "Core",
                        "hidden": False,
                        "display_aggregated_uptime": True,
                        "components": [self._shown(self.status_components[0])],
                    }
                },
                {"component": self._shown(self.status_components[1])},
            ]
        }
        self.status_page_incidents: dict[str, dict] = {}
        self.status_page_updates: list[dict] = []
        super().__init__()

    @staticmethod
    def _shown(component: dict) -> dict:
        """A component as a page's structure shows it."""
        return {
            "component_id": component["id"],
            "name": component["name"],
            "display_uptime": True,
            "hidden": False,
        }

    def add_status_page(self, name: str, components: list[str]) -> dict:
        """Another public page, with components of its own."""
        page = {
            "id": ulid("SP", len(self.status_pages) + 1),
            "name": name,
            "public_url": f"https://{name.lower().replace(' ', '-')}.example",
        }
        self.status_pages.append(page)
        made = []
        for name_of in components:
            component = {"id": ulid("CO", len(self.status_components) + 1), "name": name_of}
            self.status_components.append(
                component | {"management_meta": {"annotations": {}, "managed_by": "dashboard"}}
            )
            made.append({"component": self._shown(component)})
        self.structures[page["id"]] = made
        return page

    # state helpers --------------------------------------------------------------------------
    @staticmethod
    def _schedule(n: int, name: str, people: list[str]) -> dict:
        rotation = {
            "id": ulid("RO", n),
            "name": "Weekly",
            "layers": [{"id": ulid("LA", n), "name": "Layer 1"}],
            "users": [user(p) for p in people],
            "working_intervals": [],
            "handover_start_at": T0,
            "handovers": [{"interval": 1, "interval_type": "weekly"}],
        }
        return {
            "id": ulid("SC", n),
            "name": name,
            "timezone": "UTC",
            "team_ids": [],
            "permalink": f"https://app.incident.io/acme/on-call/schedules/{n}",
            "created_at": T0,
            "updated_at": T0,
            "annotations": {},
            "config": {"rotations": [rotation]},
        }

    def add_incident(
        self, name: str, *, channel: str = "", status: str = "Investigating", number: int = 0
    ) -> dict:
        number = number or next(self._numbers)
        incident = {
            "id": ulid("IN", number),
            "reference": f"INC-{number}",
            "name": name,
            "visibility": "public",
            "mode": "standard",
            "creator": {},
            "incident_role_assignments": [],
            "custom_field_entries": [],
            "slack_team_id": "T0",
            "slack_channel_id": channel,
            "created_at": T0,
            "updated_at": T0,
            "last_activity_at": T0,
            "team_ids": [],
            "permalink": f"https://app.incident.io/acme/incidents/{number}",
            "incident_status": self._named(self.status_catalogue, status),
        }
        self.incidents[incident["id"]] = incident
        return incident

    @staticmethod
    def _named(items: list[dict], name: str) -> dict:
        return next(i for i in items if i["name"] == name)

    def incident(self, key: str) -> dict | None:
        if key in self.incidents:
            return self.incidents[key]
        return next((i for i in self.incidents.values() if i["reference"] == f"INC-{key}"), None)

    @staticmethod
    def _error(status: int, kind: str, message: str) -> tuple[int, dict]:
        return status, {
            "type": kind,
            "status": status,
            "request_id": "req-err",
            "errors": [{"code": kind, "message": message}],
        }

    def _missing(self) -> tuple[int, dict]:
        return self._error(404, "not_found", "No incident with that id")

    # routes ---------------------------------------------------------------------------------
    def routes(self) -> None:
        self.route("GET", "/v1/identity", self.identity)
        self.route("GET", "/v1/incident_statuses", self.statuses)
        self.route("GET", "/v1/severities", self.severities)
        self.route("GET", "/v2/incident_roles", self.roles)
        self.route("GET", "/v2/incidents", self.list_incidents)
        self.route("POST", "/v2/incidents", self.create)
        self.route("GET", "/v2/incidents/{id}", self.show)
        self.route("POST", "/v2/incidents/{id}/actions/edit", self.edit)
        self.route("POST", "/v2/incident_updates", self.update)
        self.route("GET", "/v2/incident_updates", self.list_updates)
        self.route("GET", "/v2/incident_timeline_items", self.list_timeline)
        self.route("POST", "/v2/incident_timeline_items", self.add_timeline_item)
        self.route("GET", "/v3/follow_ups", self.list_followups)
        self.route("POST", "/v3/follow_ups", self.create_followup)
        self.route("PUT", "/v3/follow_ups/{id}", self.put_followup)
        self.route("GET", "/v3/actions", self.list_actions)
        self.route("POST", "/v3/actions", self.create_action)
        self.route("PUT", "/v3/actions/{id}", self.put_action)
        self.route("GET", "/v2/users", self.list_users)
        self.route("GET", "/v2/schedules", self.list_schedules)
        self.route("GET", "/v2/schedule_entries", self.entries)
        self.route("POST", "/v2/schedule_overrides", self.create_override)
        self.route("GET", "/v2/schedule_overrides", self.list_overrides)
        self.route("DELETE", "/v2/schedule_overrides/{id}", self.delete_override)
        self.route("GET", "/v2/escalation_paths", self.list_paths)
        self.route("POST", "/v2/escalations", self.escalate)
        self.route("GET", "/v2/status_pages", self.list_status_pages)
        self.route("GET", "/v2/status_page_components", self.list_status_components)
        self.route("GET", "/v2/status_page_structures/{status_page_id}", self.show_structure)
        self.route("POST", "/v2/status_page_incidents", self.create_status_incident)
        self.route("POST", "/v2/status_page_incident_updates", self.create_status_update)

    async def identity(self, seen: Seen) -> tuple[int, Any]:
        return 200, {
            "identity": {
                "name": "bot key",
                "roles": ["incident_editor", "viewer"],
                "dashboard_url": "https://app.incident.io/acme",
                "team_roles": [],
                "teams": [],
            }
        }

    async def statuses(self, seen: Seen) -> tuple[int, Any]:
        return 200, {"incident_statuses": self.status_catalogue}

    async def severities(self, seen: Seen) -> tuple[int, Any]:
        return 200, {"severities": SEVERITIES}

    async def roles(self, seen: Seen) -> tuple[int, Any]:
        return 200, {"incident_roles": ROLES}

    async def list_incidents(self, seen: Seen) -> tuple[int, Any]:
        categories = [v for k, v in seen.query if k == "status_category[one_of]"]
        items = [
            i
            for i in self.incidents.values()
            if not categories or i["incident_status"]["category"] in categories
        ]
        size = int(seen.arg("page_size") or 25)
        start = int(seen.arg("after") or 0)
        page = items[start : start + size]
        meta: dict[str, Any] = {"page_size": size, "total_record_count": len(items)}
        if start + size < len(items):
            meta["after"] = str(start + size)
        return 200, {"incidents": page, "pagination_meta": meta}

    async def create(self, seen: Seen) -> tuple[int, Any]:
        body = seen.body
        if body["idempotency_key"] in self.by_key:
            return 200, {"incident": self.incidents[self.by_key[body["idempotency_key"]]]}
        incident = self.add_incident(
            body.get("name") or "Untitled", status="Investigating", channel=self.channel_on_declare
        )
        if body.get("summary"):
            incident["summary"] = body["summary"]
        if body.get("severity_id"):
            incident["severity"] = next(s for s in SEVERITIES if s["id"] == body["severity_id"])
        self.by_key[body["idempotency_key"]] = incident["id"]
        return 200, {"incident": incident}

    async def show(self, seen: Seen) -> tuple[int, Any]:
        incident = self.incident(seen.params["id"])
        return (200, {"incident": incident}) if incident else self._missing()

    async def edit(self, seen: Seen) -> tuple[int, Any]:
        incident = self.incident(seen.params["id"])
        if incident is None:
            return self._missing()
        changes = seen.body["incident"]
        if "incident_status_id" in changes:
            status = next(
                (s for s in self.status_catalogue if s["id"] == changes["incident_status_id"]), None
            )
            if status is None:
                return self._error(422, "validation_error", "That status does not exist")
            incident["incident_status"] = status
            incident["updated_at"] = _now()
        if "severity_id" in changes:
            incident["severity"] = next(s for s in SEVERITIES if s["id"] == changes["severity_id"])
        if "call_url" in changes:
            incident["call_url"] = changes["call_url"]
            incident["updated_at"] = _now()
        for assignment in changes.get("incident_role_assignments") or []:
            role = next(r for r in ROLES if r["id"] == assignment["incident_role_id"])
            who = self.users.get(assignment["assignee"]["slack_user_id"])
            if who is None:
                return self._error(422, "validation_error", "No user with that Slack id")
            rest = [a for a in incident["incident_role_assignments"] if a["role"]["id"] != role["id"]]
            incident["incident_role_assignments"] = [*rest, {"role": role, "assignee": who}]
        if changes:  # as incident.io: any edit moves the incident's updated_at, not only a status
            incident["updated_at"] = _now()
        return 200, {"incident": incident}

    async def update(self, seen: Seen) -> tuple[int, Any]:
        body = seen.body
        incident = self.incidents.get(body["incident_id"])
        if incident is None:
            return self._missing()
        if "to_incident_status_id" in body:
            incident["incident_status"] = next(
                s for s in self.status_catalogue if s["id"] == body["to_incident_status_id"]
            )
            incident["updated_at"] = _now()
        update = {
            "id": ulid("UP", len(self.updates) + 1),
            "incident_id": incident["id"],
            "message": body.get("message", ""),
            "new_incident_status": incident["incident_status"],
            "updater": {},
            "created_at": T0,
        }
        self.updates.append(update)
        return 201, {"incident_update": update}

    # status pages ---------------------------------------------------------------------------
    async def list_status_pages(self, seen: Seen) -> tuple[int, Any]:
        meta = {"page_size": int(seen.arg("page_size") or 25)}
        return 200, {"status_pages": self.status_pages, "pagination_meta": meta}

    async def list_status_components(self, seen: Seen) -> tuple[int, Any]:
        return 200, {"status_page_components": self.status_components}

    async def show_structure(self, seen: Seen) -> tuple[int, Any]:
        items = self.structures.get(seen.params["status_page_id"])
        if items is None:
            return self._error(404, "not_found", "No such status page")
        return 200, {
            "current_structure": {"items": items},
            "display_uptime_mode": "chart_and_percentage",
            "management_meta": {"annotations": {}, "managed_by": "dashboard"},
        }

    def _status_update(self, incident_id: str, body: dict, status: str) -> dict:
        update = {
            "id": ulid("SU", len(self.status_page_updates) + 1),
            "status_page_incident_id": incident_id,
            "published_at": T0,
            "message": body["message"],
            "incident_status": status,
            "component_statuses": body.get("component_statuses") or [],
        }
        self.status_page_updates.append(update)
        return update

    async def create_status_incident(self, seen: Seen) -> tuple[int, Any]:
        body = seen.body
        if body["status_page_id"] not in {p["id"] for p in self.status_pages}:
            return self._error(404, "not_found", "No status page with that id")
        known = {c["id"] for c in self.status_components}
        if any(c["component_id"] not in known for c in body.get("component_statuses") or []):
            return self._error(422, "validation_error", "No component with that id")
        made = self.by_key.get("sp:" + body["idempotency_key"])
        if made is not None:  # the same key again: the one already made
            return 201, {"status_page_incident": self.status_page_incidents[made]}
        sid = ulid("SI", len(self.status_page_incidents) + 1)
        update = self._status_update(sid, body, body["incident_status"])
        incident = {
            "id": sid,
            "status_page_id": body["status_page_id"],
            "name": body["name"],
            "published_at": T0,
            "incident_status": body["incident_status"],
            "updates": [update],
            "component_impacts": [],
        }
        self.status_page_incidents[sid] = incident
        self.by_key["sp:" + body["idempotency_key"]] = sid
        return 201, {"status_page_incident": incident}

    async def create_status_update(self, seen: Seen) -> tuple[int, Any]:
        body = seen.body
        incident = self.status_page_incidents.get(body["status_page_incident_id"])
        if incident is None:
            return self._error(404, "not_found", "No status page incident with that id")
        incident["incident_status"] = body.get("incident_status") or incident["incident_status"]
        update = self._status_update(incident["id"], body, incident["incident_status"])
        incident["updates"].append(update)
        return 201, {"status_page_incident_update": update}

    async def list_updates(self, seen: Seen) -> tuple[int, Any]:
        found = [u for u in self.updates if u["incident_id"] == seen.arg("incident_id")]
        meta = {"page_size": int(seen.arg("page_size") or 25)}
        return 200, {"incident_updates": found, "pagination_meta": meta}

    async def list_timeline(self, seen: Seen) -> tuple[int, Any]:
        found = [
            {k: v for k, v in i.items() if k != "_key"}
            for i in self.timeline_items
            if i["incident_id"] == seen.arg("incident_id")
        ]
        meta = {"page_size": int(seen.arg("page_size") or 25)}
        return 200, {"incident_timeline_items": found, "pagination_meta": meta}

    async def add_timeline_item(self, seen: Seen) -> tuple[int, Any]:
        """As incident.io: the same idempotency_key again answers the item it made."""
        body = seen.body
        if body["incident_id"] not in self.incidents:
            return self._missing()
        made = next((i for i in self.timeline_items if i["_key"] == body["idempotency_key"]), None)
        if made is None:
            made = {
                "id": ulid("TL", len(self.timeline_items) + 1),
                "incident_id": body["incident_id"],
                "timestamp": body["timestamp"],
                "title": body["title"],
                "description": body.get("description", ""),
                "creator": {},
                "created_at": T0,
                "updated_at": T0,
                "_key": body["idempotency_key"],
            }
            self.timeline_items.append(made)
        return 201, {"incident_timeline_item": {k: v for k, v in made.items() if k != "_key"}}

    async def list_followups(self, seen: Seen) -> tuple[int, Any]:
        items = [f for f in self.followups if f["incident_id"] == seen.arg("incident_id")]
        return 200, {"follow_ups": items, "pagination_meta": {"page_size": int(seen.arg("page_size") or 25)}}

    async def create_followup(self, seen: Seen) -> tuple[int, Any]:
        body = seen.body
        if body["incident_id"] not in self.incidents:
            return self._missing()
        n = len(self.followups) + 1
        item = {
            "id": ulid("FU", n),
            "incident_id": body["incident_id"],
            "creator": {},
            "title": body["title"],
            "status": "outstanding",
            "labels": [],
            "created_at": f"2026-11-22T10:{n:02d}:00Z",
            "updated_at": T0,
        }
        if body.get("assignee_id"):
            item["assignee"] = next(u for u in self.users.values() if u["id"] == body["assignee_id"])
        if body.get("description"):
            item["description"] = body["description"]
        self.followups.append(item)
        return 201, {"follow_up": item}

    async def put_followup(self, seen: Seen) -> tuple[int, Any]:
        item = next((f for f in self.followups if f["id"] == seen.params["id"]), None)
        if item is None:
            return self._missing()
        item.update(title=seen.body["title"], status=seen.body["status"])
        return 200, {"follow_up": item}

    async def list_actions(self, seen: Seen) -> tuple[int, Any]:
        items = [a for a in self.actions if a["incident_id"] == seen.arg("incident_id")]
        return 200, {"actions": items, "pagination_meta": {"page_size": int(seen.arg("page_size") or 25)}}

    async def create_action(self, seen: Seen) -> tuple[int, Any]:
        body = seen.body
        if body["incident_id"] not in self.incidents:
            return self._missing()
        n = len(self.actions) + 1
        item = {
            "id": ulid("AC", n),
            "incident_id": body["incident_id"],
            "creator": {},
            "description": body["description"],
            "status": "outstanding",
            "created_at": f"2026-11-22T11:{n:02d}:00Z",
            "updated_at": T0,
        }
        if body.get("assignee_id"):
            item["assignee"] = next(u for u in self.users.values() if u["id"] == body["assignee_id"])
        self.actions.append(item)
        return 201, {"action": item}

    async def put_action(self, seen: Seen) -> tuple[int, Any]:
        item = next((a for a in self.actions if a["id"] == seen.params["id"]), None)
        if item is None:
            return self._missing()
        item.update(description=seen.body["description"], status=seen.body["status"])
        return 200, {"action": item}

    def _example(self, path: str, method: str, status: str) -> dict:
        answer = document("incidentio")["paths"][path][method]["responses"][status]
        return copy.deepcopy(answer["content"]["application/json"]["example"])

    async def list_paths(self, seen: Seen) -> tuple[int, Any]:
        """The spec's own example path, once per name: a valid `path` of nodes each."""
        [model] = self._example("/v2/escalation_paths", "get", "200")["escalation_paths"][:1]
        # One level paging its on-call (the example's if/else node has empty branches,
        # which its own schema refuses).
        level = {"targets": [{"id": "01SCHED", "type": "schedule", "urgency": "high"}]}
        node = {"id": "01NODE1", "type": "level", "level": level}
        paths = [
            model | {"id": pid, "name": name, "path": [node]} for pid, name in self.escalation_paths.items()
        ]
        return 200, {"escalation_paths": paths, "pagination_meta": {"page_size": 25}}

    async def escalate(self, seen: Seen) -> tuple[int, Any]:
        """Escalations by idempotency key, as incident.io keeps them: the same key again is
        the escalation made the first time, and pages nobody."""
        body = seen.body
        key = body["idempotency_key"]
        if key not in self.escalations:
            path = body.get("escalation_path_id")
            if path is not None and path not in self.escalation_paths:
                return 404, {
                    "type": "not_found",
                    "status": 404,
                    "request_id": "r",
                    "errors": [{"code": "not_found", "message": "Escalation path not found"}],
                }
            if bool(path) == bool(body.get("user_ids")):
                return 422, {
                    "type": "validation_error",
                    "status": 422,
                    "request_id": "r",
                    "errors": [
                        {"code": "invalid", "message": "Provide either escalation_path_id or user_ids"}
                    ],
                }
            made = self._example("/v2/escalations", "post", "201")["escalation"]
            made |= {
                "id": ulid("01ESC", len(self.escalations) + 1),
                "title": body["title"],
                "description": body.get("description", ""),
                "status": "pending",
            }
            if path is not None:
                made["escalation_path_id"] = path
            incident = self.incidents.get(body.get("incident_id", ""))
            made["related_incidents"] = (
                [
                    {
                        "id": incident["id"],
                        "name": incident["name"],
                        "reference": incident["reference"],
                        "external_id": incident.get("external_id", 1),
                        "status_category": "active",
                        "visibility": "public",
                    }
                ]
                if incident
                else []
            )
            self.escalations[key] = made
            self.escalation_bodies.append(body)
        return 201, {"escalation": self.escalations[key]}

    async def list_users(self, seen: Seen) -> tuple[int, Any]:
        wanted, email = seen.arg("slack_user_id"), seen.arg("email")
        found = [
            u
            for u in self.users.values()
            if wanted in (None, u.get("slack_user_id")) and email in (None, u.get("email"))
        ]
        extra = {
            "base_role": {"id": "r", "name": "Responder", "slug": "responder"},
            "custom_roles": [],
            "seats": {"on_call": "full_access", "response": "full_access"},
            "is_active": True,
        }
        return 200, {"users": [u | extra for u in found], "pagination_meta": {"page_size": 25}}

    async def list_schedules(self, seen: Seen) -> tuple[int, Any]:
        return 200, {
            "schedules": self.schedules,
            "pagination_meta": {"page_size": int(seen.arg("page_size") or 25)},
        }

    async def entries(self, seen: Seen) -> tuple[int, Any]:
        schedule = next(s for s in self.schedules if s["id"] == seen.arg("schedule_id"))
        at = datetime.fromisoformat(str(seen.arg("entry_window_start")).replace("Z", "+00:00"))
        rotation = schedule["config"]["rotations"][0]
        final = []
        for o in self.overrides:
            start, end = (datetime.fromisoformat(o[k].replace("Z", "+00:00")) for k in ("start_at", "end_at"))
            if o["schedule_id"] == schedule["id"] and start <= at < end:
                final.append(
                    {
                        "start_at": o["start_at"],
                        "end_at": o["end_at"],
                        "user": o["user"],
                        "rotation_id": rotation["id"],
                    }
                )
        if not final:
            day = at.replace(hour=0, minute=0, second=0, microsecond=0)
            final.append(
                {
                    "start_at": day.isoformat().replace("+00:00", "Z"),
                    "end_at": (day + timedelta(days=1)).isoformat().replace("+00:00", "Z"),
                    "user": rotation["users"][0],
                    "rotation_id": rotation["id"],
                }
            )
        return 200, {"schedule_entries": {"scheduled": [], "overrides": [], "final": final}}

    async def create_override(self, seen: Seen) -> tuple[int, Any]:
        body = seen.body
        who = self.users.get(body["user"].get("slack_user_id", ""))
        if who is None:
            return self._error(422, "validation_error", "That user is not on incident.io")
        now = datetime.now(UTC).isoformat().replace("+00:00", "Z")
        item = {
            "id": ulid("OV", len(self.overrides) + 1),
            "schedule_id": body["schedule_id"],
            "rotation_id": body["rotation_id"],
            "layer_id": body["layer_id"],
            "start_at": body["start_at"],
            "end_at": body["end_at"],
            "user": who,
            "created_at": now,
            "updated_at": now,
        }
        self.overrides.append(item)
        return 201, {"override": item}

    async def list_overrides(self, seen: Seen) -> tuple[int, Any]:
        mine = [o for o in self.overrides if o["schedule_id"] == seen.arg("schedule_id")]
        return 200, {"overrides": mine, "pagination_meta": {"page_size": int(seen.arg("page_size") or 25)}}

    async def delete_override(self, seen: Seen) -> tuple[int, Any]:
        self.overrides = [o for o in self.overrides if o["id"] != seen.params["id"]]
        return 204, None  # idempotent: gone already is gone
