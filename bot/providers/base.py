"""The Protocols every incident provider implements: what the command layer may ask of one.

The command layer only ever talks to these, so a verb behaves the same whether the
channel's incident lives in the built-in store or at incident.io. What a provider cannot
do is declared in `capabilities`, so the command layer can say so plainly instead of
failing half-way. The data they speak lives in bot/domain.py.
"""

from __future__ import annotations

from datetime import datetime
from typing import Protocol, runtime_checkable

from bot.domain import (
    Capability,
    DeclareRequest,
    FollowUp,
    Incident,
    OnCall,
    Override,
    Person,
    Schedule,
    Severity,
    TimelineEntry,
)


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


class ListsOverrides(Protocol):
    """What a provider with Capability.OVERRIDE_LIST also implements."""

    async def list_overrides(self, schedule: str | None, since: datetime) -> list[Override]:
        """Overrides that end after `since`, on one schedule or all of them."""

    async def cancel_override(self, override: Override, actor: Person) -> bool:
        """Remove it; False when it had begun and was ended now instead (PagerDuty)."""


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
    # Verbs safe to run again after a restart: their write carries the request's own key.
    replay_safe: frozenset[str]
    # Marks a change applied in the change's own transaction (Inbox.mark_applied).
    records_applied: bool

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
