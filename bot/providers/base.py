"""The Protocols every incident provider implements: what the command layer may ask of one.

The command layer only ever talks to these, so a verb behaves the same whether the
channel's incident lives in the built-in store or at incident.io. `Provider` is the core
every adapter has; what only some can do (roles, follow-ups, tasks, overrides …) is a
small facet Protocol in bot/providers/facets.py, so the command layer can say plainly
what is not offered instead of failing half-way. The data they speak lives in bot/domain.py.
"""

from __future__ import annotations

from datetime import datetime
from typing import Protocol, runtime_checkable

from bot.domain import (
    Capability,
    DeclareRequest,
    Incident,
    Move,
    OnCall,
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


def made_at(label: str, where: str) -> str:
    """Why rotations are not made from Slack at a provider that has its own."""
    return (
        f"Rotations at {label} are made in {label} itself ({where}); "
        "the bot shows who is on call and makes overrides."
    )


def shown_label(provider: Provider) -> str | None:
    """The provider's name as a reader is told it; None for the built-in one, whose
    incidents live in the bot's own store: "at Built-in" names the bot's inside to someone
    who only ever used the bot."""
    return None if provider.records_applied else provider.label


def no_single_assignee(label: str) -> str:
    """Why `reassign` is not offered where incidents have roles instead of one assignee."""
    return f"{label} has no single assignee: make someone lead with `/incident lead @them`."


@runtime_checkable
class Provider(Protocol):
    name: str
    label: str
    # What it cannot do, and why, in words for the person who asked: a core capability it
    # turns off, or a facet (bot/providers/facets.py) it does not implement.
    unsupported: dict[Capability, str]
    # Safe to run again after a restart, the verbs that need these: their write carries the
    # request's own key.
    replay_safe: frozenset[Capability]
    # Marks a change applied in the change's own transaction (Inbox.mark_applied).
    records_applied: bool

    def parse_reference(self, text: str) -> str | None:
        """Return the provider's incident id if `text` names one of its incidents."""

    async def target_status(self, kind: Move) -> str:
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

    async def post_update(
        self, incident_id: str, text: str, actor: Person, key: str | None = None, stakeholders: bool = False
    ) -> TimelineEntry:
        """`stakeholders`: send it to the incident's subscribers too (Capability.STAKEHOLDER_UPDATES)."""

    async def schedules(self) -> list[Schedule]: ...

    async def oncall(self, schedule: str | None, at: datetime) -> list[OnCall]: ...


@runtime_checkable
class MarksApplied(Protocol):
    """A provider whose changes are made in the bot's own store (`records_applied`): the
    service hands it each request's inbox key, explicitly, so that the change and its
    "applied" mark commit in one transaction."""

    def for_request(self, key: str | None) -> Provider:
        """A copy of this adapter that marks its changes applied under `key`."""
