"""PagerDuty's client side: the From header, catalogues, people, reading an incident."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

from bot.clock import SYSTEM, Clock
from bot.domain import (
    Capability,
    Incident,
    Misconfigured,
    Move,
    NotFound,
    Person,
    ProviderError,
    Severity,
)
from bot.providers.base import Directory
from bot.providers.cache import PEOPLE_TTL, TTLCache
from bot.providers.http import ApiClient
from bot.providers.paging import Offset
from bot.providers.wire import parse_time, user_id_by_email

STATUSES = ["triggered", "acknowledged", "resolved"]
LOOK_AHEAD = timedelta(days=90)  # how far `overrides` looks
SHIFT_BASED = (
    "{name} is a shift-based PagerDuty schedule: list and cancel its overrides in PagerDuty "
    "(Schedules → {name}); the bot lists classic schedules' overrides."
)
URGENCIES = ["high", "low"]
_ID = re.compile(r"^[A-Z0-9]{5,20}$")  # as short as the help's own `PAGERDUTY:Q1ABC`
_NUMBER = re.compile(r"^(?:INC-?|#|PD-?)?(\d{1,9})$", re.IGNORECASE)
PAGE = 100
OFFSET = Offset(PAGE)
SEEN_MAX = 5_000  # PagerDuty users remembered by id: an organisation's on-call people

NO_ROLES = "PagerDuty's API has no incident roles: assign responders in PagerDuty itself."
NO_FOLLOWUPS = (
    "PagerDuty's API has no follow-ups or tasks: "
    "post them with `update` as a note, or track them in PagerDuty."
)
# Its Status Pages API posts only with a status, a severity and impacted services named by
# the page's own ids, which no command here can name: the post is made in PagerDuty.
NO_STATUS_PAGE = (
    "The bot does not post to PagerDuty status pages: post it in PagerDuty (Status Pages → "
    "your page → New post). To tell the incident's subscribers, use "
    "`/incident update to:stakeholders <text>` (a PagerDuty status update)."
)


def error_text(body: Any) -> str | None:
    error = body.get("error") if isinstance(body, dict) else None
    if not isinstance(error, dict):
        return None
    details = [str(e) for e in error.get("errors") or []]
    return "; ".join([str(error.get("message") or ""), *details]).strip("; ") or None


class Base:
    """What every part of the adapter uses: the API, the caches, PagerDuty's names."""

    # Set by the adapter class (bot/providers/pagerduty/__init__.py), read by every part.
    name: str
    label: str
    unsupported: dict[Capability, str]

    def __init__(
        self,
        api: ApiClient,
        *,
        from_email: str | None,
        service_id: str | None,
        directory: Directory,
        clock: Clock = SYSTEM,
    ) -> None:
        self.api = api
        # The runtime's clock (bot/clock.py): the moment stamped where the provider gives none.
        self.clock = clock
        self.from_email = from_email
        self.service_id = service_id
        self.directory = directory
        self._catalogues = TTLCache()
        self._people = TTLCache(PEOPLE_TTL)
        # PagerDuty users seen whole (with their email), by id: a write's answer names its
        # assignees by reference only, and the card would lose their Slack mention.
        self._seen: dict[str, Person] = {}
        self._levels: dict[str, int] = {}  # the escalation level this bot last set, per incident
        if not service_id:
            self.unsupported = self.unsupported | {
                Capability.DECLARE: "PagerDuty needs a service to open incidents on: "
                "ask whoever runs the bot to set PAGERDUTY_SERVICE_ID, or declare it in PagerDuty."
            }

    def _write_headers(self, actor: Person | None = None) -> dict[str, str]:
        """Every PagerDuty write names a user in `From`; the bot's configured one."""
        if not self.from_email:
            raise Misconfigured(
                "PagerDuty needs PAGERDUTY_FROM_EMAIL (a PagerDuty user) to make changes.",
                "PAGERDUTY_FROM_EMAIL",
            )
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

    async def target_status(self, kind: Move) -> str:
        # Acknowledged on a resolved incident reopens it, held by whoever reopened it
        # (triggered would page the escalation policy again).
        return "acknowledged" if kind in (Move.ACK, Move.REOPEN) else "resolved"

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
        # PagerDuty lists priorities most severe first: P1 is rank 1. Without priorities
        # (a plan that has none) urgency is the scale: high, then low.
        found = [
            Severity(name=p["name"], description=p.get("description") or None, rank=n)
            for n, p in enumerate(await self._priorities(), 1)
        ]
        return found + [
            Severity(name=u, aliases=[f"{u} urgency"], description=f"{u} urgency", rank=None if found else n)
            for n, u in enumerate(URGENCIES, 1)
        ]

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
        uid = str(user.get("id") or "")
        if not email and uid in self._seen:
            return self._seen[uid]  # a reference to someone read whole before
        slack_id = await self.directory.slack_id_for(email) if email else None
        person = Person(slack_id=slack_id or "", name=name)
        if uid and slack_id:
            if len(self._seen) >= SEEN_MAX:
                self._seen.pop(next(iter(self._seen)))
            self._seen[uid] = person
        return person

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
            created_at=parse_time(data.get("created_at")) or self.clock.now(),
            # Two changes to different parts run beside each other: the card and the cache keep
            # the newer answer, whichever comes back last (PagerDuty dates to the second, so
            # two changes within one second still go by arrival).
            updated_at=parse_time(data.get("updated_at")),
            resolved_at=parse_time(data.get("resolved_at")),
        )

    async def get_incident(self, incident_id: str) -> Incident:
        try:
            body = await self.api.get(f"/incidents/{incident_id}", {"include[]": "assignees"})
        except NotFound:
            raise NotFound(f"PagerDuty has no incident {incident_id}.") from None
        return await self._incident(body["incident"])

    async def _id(self, incident_id: str) -> str:
        """PUT wants the incident's id; people type its number."""
        return incident_id if not incident_id.isdigit() else (await self.get_incident(incident_id)).id

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
