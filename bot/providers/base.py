"""The one Protocol every incident provider implements, and the models it speaks.

The command layer only ever talks to this Protocol, so a verb behaves the same whether
the channel's incident lives in the built-in store or at incident.io. What a provider
cannot do is declared in `capabilities`, so the command layer can say so plainly
instead of failing half-way.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Protocol, runtime_checkable

from pydantic import BaseModel, Field


class Capability(StrEnum):
    DECLARE = "declare"
    STATUS = "status"
    SEVERITY = "severity"
    ROLES = "roles"
    FOLLOWUPS = "followups"
    UPDATES = "updates"
    ONCALL = "oncall"
    OVERRIDES = "overrides"
    SCHEDULES = "schedules"
    TASKS = "tasks"  # to-dos during the incident, apart from follow-ups after it
    REASSIGN = "reassign"  # hand the whole incident to one person (PagerDuty's assignee)
    STAKEHOLDER_UPDATES = "stakeholder_updates"  # an update sent to subscribers, not just the timeline


class Person(BaseModel):
    """Someone in Slack; `slack_id` is what mentions are built from.

    An empty `slack_id` is someone a provider knows but Slack does not (a PagerDuty user
    whose email matches nobody in the workspace): shown by name, never as a mention.
    """

    slack_id: str
    name: str | None = None


class FollowUp(BaseModel):
    id: str
    number: int
    title: str
    assignee: Person | None = None
    due: datetime | None = None
    state: str = "open"


class TimelineEntry(BaseModel):
    at: datetime
    kind: str
    text: str
    author: Person | None = None


class Incident(BaseModel):
    provider: str
    id: str
    reference: str
    name: str
    summary: str | None = None
    status: str
    severity: str | None = None
    roles: dict[str, Person] = Field(default_factory=dict)
    followups: list[FollowUp] = Field(default_factory=list)
    url: str | None = None
    created_at: datetime
    resolved_at: datetime | None = None
    channel_id: str | None = None


class Severity(BaseModel):
    name: str
    aliases: list[str] = Field(default_factory=list)
    description: str | None = None


class Schedule(BaseModel):
    id: str
    name: str
    users: list[Person] = Field(default_factory=list)
    handover_seconds: int | None = None
    start: datetime | None = None


class OnCall(BaseModel):
    schedule: Schedule
    person: Person | None
    until: datetime | None = None
    is_override: bool = False


class Override(BaseModel):
    id: str
    schedule: Schedule
    person: Person
    start: datetime
    end: datetime


class DeclareRequest(BaseModel):
    name: str
    summary: str | None = None
    severity: str | None = None
    declared_by: Person
    idempotency_key: str | None = None


class ProviderError(Exception):
    """A provider refused or failed an operation.

    `changed` says whether the operation may have taken effect anyway ("no", "yes",
    "unknown"), because a timeout on a write is not the same as a refusal and the user
    must be told the difference.
    """

    def __init__(self, message: str, *, changed: str = "no", request_id: str | None = None):
        super().__init__(message)
        self.message = message
        self.changed = changed
        self.request_id = request_id
        self.status: int | None = None  # the provider's HTTP status, where it answered


class NotFound(ProviderError):
    pass


class Rejected(ProviderError):
    """The provider understood the request and said no (bad status name, unknown user)."""


@runtime_checkable
class Directory(Protocol):
    """What an adapter may ask the chat platform about people: providers that cannot be
    asked by Slack id are asked by email."""

    async def email_of(self, slack_id: str) -> str | None: ...

    async def slack_id_for(self, email: str) -> str | None: ...


class NoDirectory:
    """For the shell and tests without Slack: nobody has an email."""

    async def email_of(self, slack_id: str) -> str | None:
        return None

    async def slack_id_for(self, email: str) -> str | None:
        return None


class Tasks(Protocol):
    """What a provider with Capability.TASKS also implements."""

    async def add_task(
        self, incident_id: str, title: str, assignee: Person | None, actor: Person
    ) -> FollowUp: ...

    async def list_tasks(self, incident_id: str) -> list[FollowUp]: ...

    async def complete_task(self, incident_id: str, number: int, actor: Person) -> FollowUp: ...


def no_single_assignee(label: str) -> str:
    """Why `reassign` is not offered where incidents have roles instead of one assignee."""
    return f"{label} has no single assignee: make someone lead with `/incident lead @them`."


class Reassigns(Protocol):
    """What a provider with Capability.REASSIGN also implements."""

    async def reassign(self, incident_id: str, person: Person, actor: Person) -> Incident: ...


@runtime_checkable
class Provider(Protocol):
    name: str
    label: str
    capabilities: frozenset[Capability]
    # Why a capability is missing, in words for the person who asked for it.
    unsupported: dict[Capability, str]

    def parse_reference(self, text: str) -> str | None:
        """Return the provider's incident id if `text` names one of its incidents."""

    async def target_status(self, kind: str) -> str:
        """The status `ack` or `resolve` moves to, in the provider's own words."""

    async def find_by_channel(self, channel_id: str, channel_name: str | None) -> Incident | None:
        """The incident whose Slack channel this is, where the provider can tell."""

    async def check(self) -> str:
        """One read-only call; a line saying what works. Raises ProviderError."""

    async def close(self) -> None: ...

    async def check_person(self, person: Person) -> None:
        """Raise Rejected if this Slack user has no account here: lets a modal say so on the
        field before anything is sent."""

    async def get_incident(self, incident_id: str) -> Incident: ...

    async def declare(self, request: DeclareRequest) -> Incident: ...

    async def statuses(self) -> list[str]: ...

    async def set_status(
        self, incident_id: str, status: str, actor: Person, note: str | None = None, key: str | None = None
    ) -> Incident: ...

    async def severities(self) -> list[Severity]: ...

    async def set_severity(self, incident_id: str, severity: str, actor: Person) -> Incident: ...

    async def role_names(self) -> list[str]: ...

    async def assign_role(self, incident_id: str, role: str, person: Person, actor: Person) -> Incident: ...

    async def add_followup(
        self,
        incident_id: str,
        title: str,
        assignee: Person | None,
        due: datetime | None,
        actor: Person,
    ) -> FollowUp: ...

    async def list_followups(self, incident_id: str) -> list[FollowUp]: ...

    async def complete_followup(self, incident_id: str, number: int, actor: Person) -> FollowUp: ...

    async def post_update(
        self, incident_id: str, text: str, actor: Person, key: str | None = None, stakeholders: bool = False
    ) -> TimelineEntry:
        """`stakeholders`: send it to the incident's subscribers too (Capability.STAKEHOLDER_UPDATES)."""

    async def schedules(self) -> list[Schedule]: ...

    async def oncall(self, schedule: str | None, at: datetime) -> list[OnCall]: ...

    async def create_override(
        self, schedule: str, person: Person, start: datetime, end: datetime, actor: Person
    ) -> Override: ...
