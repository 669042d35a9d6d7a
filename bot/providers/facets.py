"""What a provider may offer beyond the core: one small Protocol per capability.

An adapter has a capability by implementing its facet, nothing else: no stub that raises,
no flag to keep in step. `offered()` reads the facets (and the core capabilities an adapter
turned off in `unsupported`); `facet()` hands the command layer the typed facet, or None
when the provider lacks it, and `unsupported` says why in words for the person who asked.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Protocol, TypeVar, cast, runtime_checkable
from weakref import WeakKeyDictionary

from bot.domain import (
    Capability,
    ChatMessage,
    Duplicated,
    Escalated,
    FollowUp,
    Incident,
    Override,
    PageSent,
    PageTarget,
    Person,
    RetroFacts,
    Schedule,
    StatusPageIncident,
    StatusPost,
    TimelineEntry,
)

if TYPE_CHECKING:
    # A facet is a Protocol class, which mypy refuses where `type[F]` is expected (only a
    # concrete class may be, as it could be instantiated): TypeForm[F] (PEP 747) is "a type
    # expression meaning F", so `facet(provider, Roles)` is checked and returns `Roles | None`.
    from typing_extensions import TypeForm


@runtime_checkable
class Roles(Protocol):
    """Named roles on an incident (lead, comms …)."""

    async def role_names(self) -> list[str]: ...

    async def assign_role(self, incident_id: str, role: str, person: Person, actor: Person) -> Incident: ...


@runtime_checkable
class NamesRoles(Protocol):
    """Roles with short names of their own (incident.io's shortform): `comms` picks
    Communications though no word of its name starts so. Not a capability: a refinement
    of Roles, for matching what people type, asked with isinstance."""

    async def role_aliases(self) -> dict[str, list[str]]: ...


@runtime_checkable
class KeepsCallLink(Protocol):
    """A provider that keeps the incident's call link itself (incident.io's `call_url`).
    Not a capability: `call` works everywhere, and elsewhere the bot keeps the link;
    asked with isinstance."""

    async def set_call_url(self, incident_id: str, url: str) -> Incident: ...


@runtime_checkable
class KnowsRetroFacts(Protocol):
    """A provider that stamps the incident's steps or records its impact itself (incident.io's
    timestamps, FireHydrant's milestones and impacts, PagerDuty's service). Not a
    capability: `retro` works everywhere, from the timeline where the provider says no
    more; asked with isinstance."""

    async def retro_facts(self, incident_id: str) -> RetroFacts: ...


@runtime_checkable
class OpensRetrospective(Protocol):
    """A provider with a retrospective of its own (FireHydrant's, from a template): `retro`
    starts it beside the draft. Not a capability; asked with isinstance."""

    async def open_retrospective(self, incident_id: str) -> str | None:
        """Its name, started now or before (never twice); None where none can be started."""


@runtime_checkable
class FollowUps(Protocol):
    """Work to do after the incident, numbered per incident."""

    async def add_followup(
        self, incident_id: str, title: str, assignee: Person | None, due: datetime | None, actor: Person
    ) -> FollowUp: ...

    async def list_followups(self, incident_id: str) -> list[FollowUp]: ...

    async def complete_followup(self, incident_id: str, number: int, actor: Person) -> FollowUp: ...


@runtime_checkable
class Tasks(Protocol):
    """To-dos during the incident, apart from follow-ups after it."""

    async def add_task(
        self, incident_id: str, title: str, assignee: Person | None, actor: Person
    ) -> FollowUp: ...

    async def list_tasks(self, incident_id: str) -> list[FollowUp]: ...

    async def complete_task(self, incident_id: str, number: int, actor: Person) -> FollowUp: ...


@runtime_checkable
class Overrides(Protocol):
    """Put someone on call for a while, over the rotation."""

    async def create_override(
        self, schedule: str, person: Person, start: datetime, end: datetime, actor: Person
    ) -> Override: ...


@runtime_checkable
class ListsOverrides(Protocol):
    """See the overrides to come, and take one back."""

    async def list_overrides(self, schedule: str | None, since: datetime) -> list[Override]:
        """Overrides that end after `since`, on one schedule or all of them."""

    async def cancel_override(self, override: Override, actor: Person) -> bool:
        """Remove it; False when it had begun and was ended now instead (PagerDuty)."""


@runtime_checkable
class SavesSchedules(Protocol):
    """Rotations made from Slack (the built-in provider's own)."""

    async def save_schedule(
        self, name: str, users: list[Person], handover: timedelta, start: datetime
    ) -> Schedule: ...


@runtime_checkable
class Reassigns(Protocol):
    """Hand the whole incident to one person (PagerDuty's assignee)."""

    async def reassign(self, incident_id: str, person: Person, actor: Person) -> Incident: ...


@runtime_checkable
class ListsIncidents(Protocol):
    """The incidents open now, for `list`: one bounded read, never every page of an account."""

    async def open_incidents(self, limit: int) -> tuple[list[Incident], int]:
        """At most `limit` open incidents, newest first, and how many are open in all (at
        least as many as were returned; where the provider does not count, what it said)."""


@runtime_checkable
class Pages(Protocol):
    """Bring someone in through the provider's own paging (a responder request, an
    escalation), which rings their phone as the provider's on-call setup says."""

    async def page_targets(self) -> list[str]:
        """The names a page may be sent to besides people: escalation policies, paths."""

    async def page(
        self, incident_id: str, target: PageTarget, actor: Person, message: str, key: str
    ) -> PageSent:
        """`key` is the request's own: sent again after a restart, it pages nobody twice
        where the provider dedupes on it."""


@runtime_checkable
class Escalates(Protocol):
    """Move the incident on to the next level of its escalation, now."""

    async def escalate(self, incident_id: str, level: int | None, actor: Person) -> Escalated:
        """`level` as typed (`escalate 3`); None: the next one."""


@runtime_checkable
class Pins(Protocol):
    """A chat message kept in the incident's timeline, where the provider keeps one."""

    async def pin_message(self, incident_id: str, message: ChatMessage, actor: Person) -> None: ...


@runtime_checkable
class Unpins(Protocol):
    """A pinned message taken out again (its 📌 removed soon after): apart from `Pins`,
    since some timelines only grow (PagerDuty's notes cannot be deleted)."""

    async def unpin_message(self, incident_id: str, message: ChatMessage) -> bool:
        """False: it was not in the timeline (nothing removed)."""


@runtime_checkable
class ReadsTimeline(Protocol):
    """The provider's own record of what happened to the incident, oldest first: where it
    has none to read, `timeline` shows the bot's own (its audit rows)."""

    async def timeline(self, incident_id: str) -> list[TimelineEntry]: ...


@runtime_checkable
class MarksDuplicate(Protocol):
    """This incident is the same as another at the same provider: merged into it where the
    provider merges, else resolved with a note that points at it."""

    def merges(self) -> bool:
        """Merged into the other (its alerts moved there), not resolved with a note: the
        question before it says which."""

    async def mark_duplicate(
        self, incident_id: str, of: Incident, note: str, actor: Person, key: str | None = None
    ) -> Duplicated:
        """`of` is the incident that goes on; `note` says so, for the provider's record.
        `key` is the request's own, sent where the provider takes an idempotency key."""


@runtime_checkable
class StatusPages(Protocol):
    """The provider's public status page: an incident there made once, updated after."""

    async def status_pages(self) -> list[str]:
        """The account's public pages by name, what `page:` is matched against (empty where
        it has none): with more than one, the person says which, never a guess."""

    async def status_page_components(self, page: str) -> list[str] | None:
        """The names `component:` is matched against on that page (its id, or its name); None
        where the page is not told of components by name (it shows what the incident impacts
        at the provider)."""

    async def publish_status(
        self, incident_id: str, made: StatusPageIncident | None, post: StatusPost, actor: Person, key: str
    ) -> StatusPageIncident:
        """Makes the status page incident on `post.page` (`made` None) or posts an update to `made`.
        `key` is the request's own: sent again after a restart, the provider makes one."""


FACETS: dict[Capability, type] = {
    Capability.ROLES: Roles,
    Capability.FOLLOWUPS: FollowUps,
    Capability.TASKS: Tasks,
    Capability.OVERRIDES: Overrides,
    Capability.OVERRIDE_LIST: ListsOverrides,
    Capability.SCHEDULES: SavesSchedules,
    Capability.REASSIGN: Reassigns,
    Capability.LIST_OPEN: ListsIncidents,
    Capability.PAGE: Pages,
    Capability.ESCALATE: Escalates,
    Capability.PINS: Pins,
    Capability.UNPINS: Unpins,
    Capability.TIMELINE: ReadsTimeline,
    Capability.DUPLICATE: MarksDuplicate,
    Capability.STATUS_PAGE: StatusPages,
}

F = TypeVar("F")


class _Offers(Protocol):
    unsupported: dict[Capability, str]


# Read once per adapter: isinstance against a runtime Protocol inspects its methods.
_offered: WeakKeyDictionary[object, frozenset[Capability]] = WeakKeyDictionary()


def offered(provider: _Offers) -> frozenset[Capability]:
    """What the provider can do: each facet it implements, and every core capability it
    did not turn off (with a reason) in `unsupported`."""
    can = _offered.get(provider)
    if can is None:
        can = frozenset(
            c
            for c in Capability
            if c not in provider.unsupported and (c not in FACETS or isinstance(provider, FACETS[c]))
        )
        _offered[provider] = can
    return can


def capability_of(kind: TypeForm[object]) -> Capability:
    return next(c for c, f in FACETS.items() if f is kind)


_CAPABILITY_OF: dict[object, Capability] = {f: c for c, f in FACETS.items()}


def facet(provider: _Offers, kind: TypeForm[F]) -> F | None:
    """The provider as that facet, typed; None where it does not offer it. Offered means
    implemented (`offered` checked it once per adapter): the Protocol's isinstance, which
    inspects every method at every call, is not made again on every command's path."""
    if _CAPABILITY_OF[kind] in offered(provider):
        return cast(F, provider)
    return None
