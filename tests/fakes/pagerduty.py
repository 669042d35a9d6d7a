"""PagerDuty's REST API v2, the operations the bot uses, with state, on 127.0.0.1."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta
from typing import Any

from tests.fakes.server import FakeProvider, Seen

T0 = "2026-11-22T09:00:00Z"
BASE = "https://acme.pagerduty.com"


def user(slack_id: str) -> dict:
    uid = f"PU{slack_id[1:]}AAAA"
    return {
        "id": uid,
        "type": "user",
        "summary": f"User {slack_id}",
        "name": f"User {slack_id}",
        "email": f"{slack_id.lower()}@example.com",
        "self": f"https://api.pagerduty.com/users/{uid}",
        "html_url": f"{BASE}/users/{uid}",
    }


def parse_iso(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def ref(kind: str, item: dict) -> dict:
    return {
        "id": item["id"],
        "type": f"{kind}_reference",
        "summary": item.get("summary", item["id"]),
        "self": item.get("self", ""),
        "html_url": item.get("html_url", ""),
    }


class FakePagerDuty(FakeProvider):
    provider = "pagerduty"

    def __init__(self) -> None:
        self.incidents: dict[str, dict] = {}
        self.notes: list[dict] = []
        self.webhooks: list[dict] = []
        self.users = {u: user(u) for u in ("U111", "U222", "U333", "U444")}
        self.priorities = [
            {
                "id": f"PPRI{n}",
                "type": "priority",
                "summary": f"P{n}",
                "name": f"P{n}",
                "description": f"Priority {n}",
                "self": "",
                "html_url": "",
            }
            for n in range(1, 4)
        ]
        self.schedules = [
            {
                "id": "PSCHED1",
                "type": "schedule",
                "summary": "Primary",
                "name": "Primary",
                "time_zone": "UTC",
                "self": "",
                "html_url": f"{BASE}/schedules/PSCHED1",
                "on_call": "U222",
            },
            {
                "id": "PSCHED2",
                "type": "schedule",
                "summary": "Database",
                "name": "Database",
                "time_zone": "UTC",
                "self": "",
                "html_url": f"{BASE}/schedules/PSCHED2",
                "on_call": "U444",
            },
        ]
        self.overrides: list[dict] = []
        self.refuse_overrides = False
        self.status_updates: list[dict] = []
        self.merged: list[tuple[str, str]] = []  # (source, target) of each merge
        # Shift-based (v3) schedules: id → {name, rotation, on_call (Slack id), shift_hours}
        self.v3_schedules: dict[str, dict] = {}
        self.v3_overrides: list[dict] = []
        self.policies = [
            {
                "id": pid,
                "type": "escalation_policy",
                "summary": name,
                "name": name,
                "self": "",
                "html_url": f"{BASE}/escalation_policies/{pid}",
                "escalation_rules": [],
            }
            for pid, name in (("PESC01", "Checkout"), ("PESC02", "Database Primary"), ("PESC03", "Network"))
        ]
        self.responder_requests: list[dict] = []  # what each POST asked: incident, requester, targets
        self.escalation_levels: dict[str, int] = {}
        # PAGERDUTY_FROM_EMAIL's user (tests/conftest.py): found by GET /users, never on call.
        self.from_user = user("U999") | {"email": "bot@example.com", "name": "Incident Bot", "summary": "Bot"}
        self._numbers = itertools.count(1)
        self._edits = itertools.count(1)  # each edit a second after the last, as a clock would
        super().__init__()

    def add_incident(self, title: str, *, status: str = "triggered") -> dict:
        number = next(self._numbers)
        iid = f"PINC{number:04d}X"
        incident = {
            "id": iid,
            "type": "incident",
            "summary": f"[#{number}] {title}",
            "self": "",
            "html_url": f"{BASE}/incidents/{iid}",
            "incident_number": number,
            "title": title,
            "status": status,
            "urgency": "high",
            "created_at": T0,
            "updated_at": T0,
            "incident_key": f"key-{number}",
            "service": {"id": "PSERV01", "type": "service_reference", "summary": "Checkout"},
            "assignments": [{"at": T0, "assignee": ref("user", self.users["U222"])}],
            "escalation_policy": {"id": "PESC01", "type": "escalation_policy_reference"},
        }
        self.incidents[iid] = incident
        return incident

    def incident(self, key: str) -> dict | None:
        if key in self.incidents:
            return self.incidents[key]
        return next((i for i in self.incidents.values() if str(i["incident_number"]) == key), None)

    @staticmethod
    def _error(status: int, code: int, message: str, *errors: str) -> tuple[int, dict]:
        return status, {"error": {"code": code, "message": message, "errors": list(errors)}}

    def routes(self) -> None:
        self.route("GET", "/abilities", self.abilities)
        self.route("GET", "/priorities", self.list_priorities)
        self.route("GET", "/incidents", self.list_incidents)
        self.route("POST", "/incidents", self.create)
        self.route("GET", "/incidents/{id}", self.show)
        self.route("PUT", "/incidents/{id}", self.update)
        self.route("POST", "/incidents/{id}/notes", self.note)
        self.route("GET", "/incidents/{id}/notes", self.list_notes)
        self.route("DELETE", "/incidents/{id}/notes/{note_id}", self.delete_note)
        self.route("GET", "/incidents/{id}/log_entries", self.log_entries)
        self.route("GET", "/users", self.list_users)
        self.route("GET", "/schedules", self.list_schedules)
        self.route("GET", "/oncalls", self.oncalls)
        self.route("POST", "/schedules/{id}/overrides", self.create_overrides)
        self.route("GET", "/schedules/{id}/overrides", self.list_overrides)
        self.route("DELETE", "/schedules/{id}/overrides/{override_id}", self.delete_override)
        self.route("POST", "/incidents/{id}/status_updates", self.status_update)
        self.route("PUT", "/incidents/{id}/merge", self.merge)
        self.route("GET", "/v3/schedules", self.list_v3_schedules)
        self.route("GET", "/v3/schedules/{id}", self.show_v3_schedule)
        self.route("POST", "/v3/schedules/{id}/overrides", self.create_v3_overrides)
        self.route("POST", "/webhook_subscriptions", self.create_webhook)
        self.route("GET", "/escalation_policies", self.list_policies)
        self.route("POST", "/incidents/{id}/responder_requests", self.responder_request)

    async def abilities(self, seen: Seen) -> tuple[int, Any]:
        return 200, {"abilities": ["teams", "urgencies"]}

    async def list_priorities(self, seen: Seen) -> tuple[int, Any]:
        return 200, {"priorities": self.priorities, "limit": 100, "offset": 0, "more": False, "total": None}

    async def list_incidents(self, seen: Seen) -> tuple[int, Any]:
        key = seen.arg("incident_key")
        statuses = [v for k, v in seen.query if k == "statuses[]"]
        found = [
            i
            for i in self.incidents.values()
            if key in (None, i["incident_key"]) and (not statuses or i["status"] in statuses)
        ]
        if seen.arg("sort_by") == "created_at:desc":
            found.sort(key=lambda i: (i["created_at"], i["incident_number"]), reverse=True)
        limit, offset = int(seen.arg("limit") or 25), int(seen.arg("offset") or 0)
        total = len(found) if seen.arg("total") == "true" else None
        page = found[offset : offset + limit]
        more = offset + limit < len(found)
        return 200, {"incidents": page, "limit": limit, "offset": offset, "more": more, "total": total}

    async def create(self, seen: Seen) -> tuple[int, Any]:
        body = seen.body["incident"]
        key = body.get("incident_key")
        if key and any(i["incident_key"] == key for i in self.incidents.values()):
            return self._error(
                400,
                2001,
                "Invalid Input Provided",
                "Open incident with matching dedup key already exists on this service",
            )
        incident = self.add_incident(body["title"])
        incident["incident_key"] = key or incident["incident_key"]
        if "urgency" in body:
            incident["urgency"] = body["urgency"]
        if "priority" in body:
            incident["priority"] = next(p for p in self.priorities if p["id"] == body["priority"]["id"])
        return 201, {"incident": incident}

    async def show(self, seen: Seen) -> tuple[int, Any]:
        incident = self.incident(seen.params["id"])
        if incident is None:
            return self._error(404, 2100, "Not Found")
        if seen.arg("include[]") == "assignees":  # references become whole users
            by_id = {u["id"]: u for u in self.users.values()}
            assignments = [a | {"assignee": by_id[a["assignee"]["id"]]} for a in incident["assignments"]]
            return 200, {"incident": incident | {"assignments": assignments}}
        return 200, {"incident": incident}

    async def update(self, seen: Seen) -> tuple[int, Any]:
        incident = self.incidents.get(seen.params["id"])
        if incident is None:
            return self._error(404, 2100, "Not Found")
        body = seen.body["incident"]
        if body.get("status") == "resolved" and incident["status"] == "resolved":
            return self._error(400, 1001, "Incident Already Resolved")
        for field in ("status", "urgency"):
            if field in body:
                incident[field] = body[field]
        if "escalation_level" in body:
            self.escalation_levels[incident["id"]] = body["escalation_level"]
        if "priority" in body:
            incident["priority"] = next(p for p in self.priorities if p["id"] == body["priority"]["id"])
        if "resolution" in body:
            self.notes.append({"incident": incident["id"], "content": body["resolution"]})
        if "assignments" in body:
            incident["assignments"] = [
                {
                    "at": T0,
                    "assignee": ref(
                        "user", next(u for u in self.users.values() if u["id"] == a["assignee"]["id"])
                    ),
                }
                for a in body["assignments"]
            ]
        # As PagerDuty: any edit moves the incident's updated_at (dated to the second).
        incident["updated_at"] = (parse_iso(T0) + timedelta(seconds=next(self._edits))).strftime(
            "%Y-%m-%dT%H:%M:%SZ"
        )
        return 200, {"incident": incident}

    async def list_policies(self, seen: Seen) -> tuple[int, Any]:
        page = {"limit": 100, "offset": 0, "more": False, "total": None}
        return 200, {"escalation_policies": self.policies, **page}

    async def responder_request(self, seen: Seen) -> tuple[int, Any]:
        incident = self.incidents.get(seen.params["id"])
        if incident is None:
            return self._error(404, 2100, "Not Found")
        targets = [t["responder_request_target"] for t in seen.body["responder_request_targets"]]
        known = {u["id"] for u in self.users.values()} | {p["id"] for p in self.policies}
        unknown = [t["id"] for t in targets if t["id"] not in known]
        if unknown:
            return self._error(400, 2001, "Invalid Input Provided", f"Target {unknown[0]} not found")
        made = {
            "id": f"PRR{len(self.responder_requests) + 1}",
            "incident": ref("incident", incident),
            "requester": {"id": seen.body["requester_id"], "type": "user_reference"},
            "requested_at": T0,
            "message": seen.body["message"],
            "responder_request_targets": [{"type": t["type"], "id": t["id"]} for t in targets],
        }
        self.responder_requests.append(
            {
                "incident": incident["id"],
                "requester": seen.body["requester_id"],
                "targets": targets,
                "message": seen.body["message"],
                "from": seen.headers.get("from"),
            }
        )
        return 200, {"responder_request": made}

    async def note(self, seen: Seen) -> tuple[int, Any]:
        incident = self.incidents.get(seen.params["id"])
        if incident is None:
            return self._error(404, 2100, "Not Found")
        note = {
            "id": f"PNOTE{len(self.notes) + 1}",
            "user": ref("user", self.users["U111"]),
            "content": seen.body["note"]["content"],
            "created_at": T0,
        }
        self.notes.append({"incident": incident["id"], "content": note["content"], "note": note})
        return 200, {"note": note}

    async def list_notes(self, seen: Seen) -> tuple[int, Any]:
        incident = self.incidents.get(seen.params["id"])
        if incident is None:
            return self._error(404, 2100, "Not Found")
        notes = [n["note"] for n in self.notes if n["incident"] == incident["id"] and "note" in n]
        return 200, {"notes": notes}

    async def delete_note(self, seen: Seen) -> tuple[int, Any]:
        kept = [n for n in self.notes if n.get("note", {}).get("id") == seen.params["note_id"]]
        if not kept or kept[0]["incident"] != seen.params["id"]:
            return self._error(404, 2100, "Not Found")
        self.notes.remove(kept[0])
        return 204, None

    async def log_entries(self, seen: Seen) -> tuple[int, Any]:
        """The overview as PagerDuty keeps it: triggered, and resolved where it is."""
        incident = self.incidents.get(seen.params["id"])
        if incident is None:
            return self._error(404, 2100, "Not Found")
        entries = [
            {
                "id": f"RLOG{n}",
                "type": kind,
                "summary": summary,
                "created_at": incident.get("created_at", T0),
                "incident": ref("incident", incident),
            }
            for n, (kind, summary) in enumerate(
                [("trigger_log_entry", "Triggered through the API.")]
                + ([("resolve_log_entry", "Resolved.")] if incident["status"] == "resolved" else [])
            )
        ]
        return 200, {"log_entries": entries, "limit": 100, "offset": 0, "more": False, "total": None}

    async def list_users(self, seen: Seen) -> tuple[int, Any]:
        query = (seen.arg("query") or "").lower()
        everyone = [*self.users.values(), self.from_user]
        found = [u for u in everyone if query in u["email"] or query in u["name"].lower()]
        return 200, {"users": found, "limit": 100, "offset": 0, "more": False, "total": None}

    async def list_schedules(self, seen: Seen) -> tuple[int, Any]:
        items = [{k: v for k, v in s.items() if k != "on_call"} for s in self.schedules]
        return 200, {"schedules": items, "limit": 100, "offset": 0, "more": False, "total": None}

    async def oncalls(self, seen: Seen) -> tuple[int, Any]:
        wanted = [v for k, v in seen.query if k == "schedule_ids[]"]
        result = []
        for schedule in self.schedules:
            if wanted and schedule["id"] not in wanted:
                continue
            # include[]=users expands the user; the spec still types it a user_reference.
            who = self.users[schedule["on_call"]] | {"type": "user_reference"}
            for level in (1, 2):  # PagerDuty lists one entry per escalation level
                result.append(
                    {
                        "user": who,
                        "schedule": ref("schedule", schedule),
                        "escalation_level": level,
                        "escalation_policy": {"id": "PESC01", "type": "escalation_policy_reference"},
                        "start": "2026-11-22T00:00:00Z",
                        "end": "2026-11-23T00:00:00Z",
                    }
                )
        return 200, {"oncalls": result, "limit": 100, "offset": 0, "more": False, "total": None}

    async def create_overrides(self, seen: Seen) -> tuple[int, Any]:
        answers = []
        for wanted in seen.body["overrides"]:
            if self.refuse_overrides:
                answers.append(
                    {"status": 400, "errors": ["Override must end after its start"], "override": wanted}
                )
                continue
            created = {
                "id": f"POVR{len(self.overrides) + 1}",
                "start": wanted["start"],
                "end": wanted["end"],
                "user": wanted["user"],
            }
            self.overrides.append(created | {"schedule": seen.params["id"]})
            answers.append({"status": 201, "override": created})
        return 201, answers

    async def list_overrides(self, seen: Seen) -> tuple[int, Any]:
        since, until = (parse_iso(str(seen.arg(k))) for k in ("since", "until"))
        mine = [
            {k: v for k, v in o.items() if k != "schedule"}
            for o in self.overrides
            if o["schedule"] == seen.params["id"]
            and parse_iso(o["end"]) > since
            and parse_iso(o["start"]) < until
        ]
        return 201, {"overrides": mine}  # the spec documents 201 for this GET

    async def delete_override(self, seen: Seen) -> tuple[int, Any]:
        found = next((o for o in self.overrides if o["id"] == seen.params["override_id"]), None)
        if found is None or found["schedule"] != seen.params["id"]:
            return self._error(404, 2100, "Not Found")
        if parse_iso(found["start"]) <= datetime.now(UTC):
            found["end"] = datetime.now(UTC).isoformat()  # had begun: cut short
            return 200, None
        self.overrides.remove(found)
        return 204, None

    async def create_webhook(self, seen: Seen) -> tuple[int, Any]:
        wanted = seen.body["webhook_subscription"]
        made = wanted | {
            "id": f"PWH{len(self.webhooks) + 1}",
            "active": True,
            "delivery_method": wanted["delivery_method"]
            | {"id": "PDM1", "secret": "pd-whsec-Z9y8X7", "temporarily_disabled": False},
        }
        self.webhooks.append(made)
        return 200, {"webhook_subscription": made}

    async def merge(self, seen: Seen) -> tuple[int, Any]:
        """As PagerDuty documents it: the target must be open; each source is resolved."""
        target = self.incidents.get(seen.params["id"])
        if target is None:
            return self._error(404, 2100, "Not Found")
        if target["status"] == "resolved":
            why = "Open incidents cannot be merged into a resolved incident."
            return self._error(400, 2001, "Invalid Input Provided", why)
        sources = [self.incidents.get(s["id"]) for s in seen.body["source_incidents"]]
        if any(s is None or s["id"] == target["id"] for s in sources):
            return self._error(400, 2001, "Invalid Input Provided", "Source incidents are not valid.")
        for source in sources:
            assert source is not None
            source["status"] = "resolved"
            self.merged.append((source["id"], target["id"]))
        # The spec answers with the target as a reference, not the whole incident.
        return 200, {"incident": {**ref("incident", target), "summary": target["summary"]}}

    async def status_update(self, seen: Seen) -> tuple[int, Any]:
        incident = self.incidents.get(seen.params["id"])
        if incident is None:
            return self._error(404, 2100, "Not Found")
        update = {
            "id": f"PSU{len(self.status_updates) + 1}",
            "message": seen.body["message"],
            "sender": ref("user", self.users["U111"]),
            "created_at": T0,
        }
        self.status_updates.append({"incident": incident["id"], **update})
        return 200, {"status_update": update}

    def add_v3_schedule(self, sid: str, name: str, on_call: str, shift_hours: int = 8) -> None:
        """A shift-based schedule whose one rotation hands over every `shift_hours`."""
        self.v3_schedules[sid] = {
            "name": name,
            "rotation": f"R{sid}",
            "on_call": on_call,
            "hours": shift_hours,
        }

    async def list_v3_schedules(self, seen: Seen) -> tuple[int, Any]:
        items = [
            {
                "id": sid,
                "type": "schedule_v3_reference",
                "summary": s["name"],
                "self": f"https://api.pagerduty.com/v3/schedules/{sid}",
                "html_url": f"{BASE}/schedules/{sid}",
            }
            for sid, s in self.v3_schedules.items()
        ]
        return 200, {"schedules": items, "limit": 100, "offset": 0, "more": False}

    async def show_v3_schedule(self, seen: Seen) -> tuple[int, Any]:
        from datetime import datetime, timedelta

        found = self.v3_schedules.get(seen.params["id"])
        if found is None:
            return 404, {"error": {"code": "not_found", "message": "Not Found"}}
        schedule: dict[str, Any] = {
            "id": seen.params["id"],
            "type": "schedule_v3",
            "name": found["name"],
            "time_zone": "UTC",
        }
        if "final_schedule" in [v for k, v in seen.query if k == "include[]"]:
            since = datetime.fromisoformat(seen.arg("since").replace("Z", "+00:00"))  # type: ignore[union-attr]
            until = datetime.fromisoformat(seen.arg("until").replace("Z", "+00:00"))  # type: ignore[union-attr]
            step = timedelta(hours=found["hours"])
            shift_start = since.replace(minute=0, second=0, microsecond=0)
            shifts = []
            while shift_start < until:
                shifts.append(
                    {
                        "type": "computed_shift_assignment",
                        "start_time": shift_start.isoformat().replace("+00:00", "Z"),
                        "end_time": (shift_start + step).isoformat().replace("+00:00", "Z"),
                        "member": {"type": "user_member", "user_id": self.users[found["on_call"]]["id"]},
                        "source": {"type": "schedule_rotation", "rotation_id": found["rotation"]},
                    }
                )
                shift_start += step
            schedule["final_schedule"] = {
                "type": "final_schedule",
                "rendered_coverage_percentage": 100,
                "computed_shift_assignments": shifts,
            }
        return 200, {"schedule": schedule}

    async def create_v3_overrides(self, seen: Seen) -> tuple[int, Any]:
        if seen.params["id"] not in self.v3_schedules:
            return 404, {"error": {"code": "not_found", "message": "Not Found"}}
        made = []
        for wanted in seen.body["overrides"]:
            created = {"id": f"POV3{len(self.v3_overrides) + 1}", **wanted}
            self.v3_overrides.append(created | {"schedule": seen.params["id"]})
            made.append(created)
        return 201, {"overrides": made}
