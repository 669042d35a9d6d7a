"""The plain data every layer speaks: incidents, people, capabilities, errors, links.

It imports nothing else of the bot's, so anything may import it: the Slack adapter and the
store reach an `Incident` without reaching a provider or the database. The clock is not
here but handed in (bot/clock.py), so that nothing reads the time behind a test's back.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Literal, TypeVar

from pydantic import BaseModel, Field

T_READ = TypeVar("T_READ")

# Status names that mean the incident is over, at any provider.
CLOSED_STATUSES = frozenset({"resolved", "closed", "post-incident", "postmortem", "documented", "declined"})
# Status names that mean nobody has acknowledged the incident yet.
UNACKNOWLEDGED_STATUSES = frozenset({"triage", "triggered", "started", "detected", "new"})


class Phase(StrEnum):
    """Where an incident stands, for the buttons its card offers: none that could only be
    refused (Acknowledge on an acknowledged incident, Resolve on a resolved one)."""

    NEW = "new"  # nobody has acknowledged it yet
    ACTIVE = "active"  # someone is on it
    CLOSED = "closed"  # resolved, or further along


class Move(StrEnum):
    """A status change named by what it means, not by the provider's own status: each
    provider says which of its statuses it is (`target_status`)."""

    ACK = "ack"
    RESOLVE = "resolve"
    REOPEN = "reopen"


class Capability(StrEnum):
    DECLARE = "declare"
    STATUS = "status"
    SEVERITY = "severity"
    ROLES = "roles"
    FOLLOWUPS = "followups"
    UPDATES = "updates"
    ONCALL = "oncall"
    OVERRIDES = "overrides"
    OVERRIDE_LIST = "override_list"  # list upcoming overrides and cancel one
    SCHEDULES = "schedules"
    TASKS = "tasks"  # to-dos during the incident, apart from follow-ups after it
    REASSIGN = "reassign"  # hand the whole incident to one person (PagerDuty's assignee)
    STAKEHOLDER_UPDATES = "stakeholder_updates"  # an update sent to subscribers, not just the timeline
    REOPEN = "reopen"  # a resolved incident back to work
    LIST_OPEN = "list_open"  # the incidents open now, for `list`
    PINS = "pins"  # a chat message kept in the incident's timeline (📌, the message shortcut)
    UNPINS = "unpins"  # and taken out again, soon after, when the 📌 is removed
    TIMELINE = "timeline"  # the provider's own record of what happened, read back
    PAGE = "page"  # bring someone in through the provider's own paging
    ESCALATE = "escalate"  # the incident to the next level of its escalation
    DUPLICATE = "duplicate"  # mark the incident a duplicate of another (merged, or resolved pointing at it)
    STATUS_PAGE = "status_page"  # publish the incident on the provider's public status page


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


class RetroFacts(BaseModel):
    """What a provider itself records for a retrospective, beyond the incident and its
    timeline: when it stamped the incident's steps ("acknowledged", "mitigated",
    "resolved"), and its impact, in lines (services, customers). Either may be empty."""

    steps: dict[str, datetime] = Field(default_factory=dict)
    impact: list[str] = Field(default_factory=list)


class ChatMessage(BaseModel):
    """A message in an incident's channel, as kept in its timeline: enough to find it again
    (the permalink) and to read it without opening Slack (author, time, text, files)."""

    channel_id: str
    ts: str
    at: datetime
    author: Person | None = None
    text: str = ""
    permalink: str | None = None
    files: list[str] = Field(default_factory=list)  # names of the files attached
    reactions: frozenset[str] = frozenset()  # the emoji on it now (who reacted is not kept)

    def line(self) -> str:
        """The timeline item's text, the same at every provider."""
        said = self.text.strip() or "(no text)"
        files = f" [files: {', '.join(self.files)}]" if self.files else ""
        link = f" {self.permalink}" if self.permalink else ""
        return f"{said}{files}{link}"


class Pulse(BaseModel):
    """What the bot knows of an incident beside the provider's data, for its card: someone
    opening the channel needs who leads, the latest update and when the next is due first."""

    label: str | None = None  # the provider's label; None for the built-in one
    lead_role: str | None = None  # the provider's lead role, where it has roles
    latest: TimelineEntry | None = None  # the latest update posted through the bot
    next_update: datetime | None = None  # the update reminder's due time
    # The pages the bot sent for it, newest first, a few (bot/commands/ringing.py), and
    # how many more there are.
    pages: list[PageShown] = Field(default_factory=list)
    more_pages: int = 0
    status_page: StatusPageIncident | None = None  # published on a status page through the bot


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
    # The incident's call (Zoom, Meet …): incident.io keeps one on the incident; elsewhere
    # the bot keeps what `call` was given (bot/commands/handlers/channel.py).
    call_url: str | None = None
    created_at: datetime
    resolved_at: datetime | None = None
    channel_id: str | None = None
    # When the provider last changed it, where it says: of two states of one incident the
    # later wins (a card is never redrawn with an older state than it shows).
    updated_at: datetime | None = None
    # Filled by the command layer (bot/commands/pulse.py) where the incident is drawn.
    pulse: Pulse | None = None

    @property
    def closed(self) -> bool:
        """Resolved (or further along): reminders stop, the announcement says so."""
        return self.resolved_at is not None or self.status.lower() in CLOSED_STATUSES

    @property
    def phase(self) -> Phase:
        if self.closed:
            return Phase.CLOSED
        return Phase.NEW if self.status.lower() in UNACKNOWLEDGED_STATUSES else Phase.ACTIVE


class PageTarget(BaseModel):
    """Who a page is for: people (a mention, a user group's members), or one of the
    provider's own names (an escalation policy, an escalation path), never both."""

    people: list[Person] = Field(default_factory=list)
    name: str | None = None  # the catalogue's name, as `page_targets()` gave it

    @property
    def key(self) -> str:
        """The same target however it was typed: what "paged twice" is judged by."""
        if self.name is not None:
            return "name:" + self.name.lower()
        return "people:" + ",".join(sorted(p.slack_id for p in self.people))


class PageSent(BaseModel):
    """A page the provider took: its id there, where it gave one, for the webhooks that
    later say who answered."""

    id: str | None = None
    target: str  # as the provider names it: a policy, a path, the people's names
    note: str | None = None  # taken, but with a caveat the channel must hear (nobody on call)
    # Who it reached, where the provider knows at once (a rotation's on-call person): they
    # are invited to the channel as a named person would be.
    people: list[Person] = Field(default_factory=list)
    # The provider rings nobody itself (the built-in one): the bot DMs `people`, pages them
    # again, then the next of `rotation` (bot/commands/ringing.py).
    ring: bool = False
    rotation: str | None = None
    # The provider's ids of who or what was paged (users, a policy), as its webhooks name
    # them: how a webhook about this page is told apart from news.
    answers_to: list[str] = Field(default_factory=list)


class PageNews(BaseModel):
    """What a provider's webhook said of a page: whom it reached, or their answer."""

    state: str  # paged (reached someone), acknowledged, declined
    page_id: str | None = None  # the provider's id of the page, where the event carries it
    ids: list[str] = Field(default_factory=list)  # the provider's ids it names: the user, the policy
    who: str | None = None  # the person, by name


class PageShown(BaseModel):
    """One page on the card: to whom, and where it stands."""

    target: str
    person: Person | None = None
    state: str  # paged, acknowledged, declined, unanswered
    paged_at: datetime
    answered_at: datetime | None = None


class Escalated(BaseModel):
    level: int | None = None  # the level it is at now, where the provider numbers them
    policy: str | None = None
    # The provider escalates nothing itself (the built-in one): the bot moves its open
    # pages on to the next person of the rotation (bot/commands/ringing.py), as `PageSent.ring`.
    ring: bool = False


class Duplicated(BaseModel):
    """What marking an incident a duplicate did at its provider: merged into the other
    (PagerDuty), or resolved with a note pointing at it where the API has no merge."""

    merged: bool
    incident: Incident | None = None  # the duplicate as it stands after, where it was read back


class StatusPost(BaseModel):
    """What one `statuspage` publishes, exactly as the question before it showed it."""

    title: str  # the status page incident's name: used when it is made, the first time
    message: str
    page: str = ""  # the status page's name, as the provider has it (`page:`, or its only one)
    status: str  # investigating, identified, monitoring, resolved
    components: list[str] = Field(default_factory=list)  # the page's names, as matched
    impact: str = "degraded_performance"  # the components' state while it is not resolved


class StatusPageIncident(BaseModel):
    """The incident on a public status page the bot made, kept (`store.kept`) so the next
    `statuspage` updates it rather than making a second one, and the card links it."""

    id: str
    page: str  # the status page's name, as the provider has it
    page_id: str = ""
    title: str = ""
    url: str | None = None


class Severity(BaseModel):
    name: str
    aliases: list[str] = Field(default_factory=list)
    description: str | None = None
    # Its step on the provider's scale, 1 the most severe: `sev 1` and `p1` mean rank 1
    # wherever the levels are called Critical or P1. None: off the scale (an urgency).
    rank: int | None = None


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
    # What `overrides` shows and `override cancel #n` reads: given by the store, kept while
    # the override lasts (bot/store/overrides.py); None until it has been given one.
    number: int | None = None

    def overlaps(self, start: datetime, end: datetime) -> bool:
        return self.start < end and start < self.end


class DeclareRequest(BaseModel):
    name: str
    summary: str | None = None
    severity: str | None = None
    declared_by: Person
    idempotency_key: str | None = None
    private: bool = False  # a private Slack channel; at incident.io, a private incident


DEFAULT_COMMAND = "/incident"


def in_command(text: str, command: str) -> str:
    """Words written once, for the default command (a provider's reasons, its errors),
    shown with the command this workspace configured."""
    return text if command == DEFAULT_COMMAND else text.replace(f"`{DEFAULT_COMMAND} ", f"`{command} ")


class ProviderError(Exception):
    """A provider refused or failed an operation.

    `changed` says whether the operation may have taken effect anyway ("no", "yes",
    "unknown"), because a timeout on a write is not the same as a refusal and the user
    must be told the difference.
    """

    def __init__(
        self,
        message: str,
        *,
        changed: Literal["no", "yes", "unknown"] = "no",
        request_id: str | None = None,
    ):
        super().__init__(message)
        self.message = message
        self.changed = changed
        self.request_id = request_id
        self.status: int | None = None  # the provider's HTTP status, where it answered


class NotFound(ProviderError):
    pass


class WrittenNotRead(ProviderError):
    """The change was made; only reading the incident back afterwards failed. Told as done
    (with the card perhaps a moment behind), never as "nothing was changed"."""

    def __init__(self, done: str, cause: ProviderError):
        super().__init__(cause.message, changed="yes", request_id=cause.request_id)
        self.done = done
        self.status = cause.status


async def read_back(read: Awaitable[T_READ], done: str) -> T_READ:
    """A read that follows a write which succeeded: its failure is not the write's."""
    try:
        return await read
    except WrittenNotRead:
        raise
    except ProviderError as exc:
        raise WrittenNotRead(done, exc) from exc


class Rejected(ProviderError):
    """The provider understood the request and said no (bad status name, unknown user)."""


class Misconfigured(ProviderError):
    """The bot's own configuration lacks what this needs (`setting`): nothing the person
    can change, and nothing that changes in a minute, so they are sent to whoever runs it."""

    def __init__(self, message: str, setting: str):
        super().__init__(message)
        self.setting = setting


_CONTROL = {c: None for c in range(32) if chr(c) not in "\n\t"} | {0x7F: None}
_ANY_CONTROL = re.compile("[" + "".join(re.escape(chr(c)) for c in _CONTROL) + "]")


def clean_text(value: str) -> str:
    """No NUL or other control characters: PostgreSQL refuses NUL in text (one such command
    once wedged the audit log), and nothing a person types needs the others. Most text has
    none, and a search is far cheaper than a translation per character (bench/)."""
    return value.translate(_CONTROL) if _ANY_CONTROL.search(value) else value


@dataclass(frozen=True)
class CardRef:
    """Where an incident's pinned card is: the message redrawn after every change."""

    team_id: str
    channel_id: str
    ts: str
    provider: str
    incident_id: str


@dataclass(frozen=True)
class Link:
    """A channel tied to an incident at a provider."""

    team_id: str
    channel_id: str
    provider: str
    incident_id: str
    reference: str


@dataclass(frozen=True)
class ProviderEvent:
    """Something that happened at a provider, as its webhook told it: enough to find the
    channel, re-read the incident and say in a line what changed and who did it."""

    provider: str
    delivery_id: str  # the provider's id of this delivery: the same one twice is one event
    event_type: str  # the provider's own name for it
    incident_id: str | None  # None: not about an incident (ignored)
    kind: str  # status, severity, role, assignee, followup, task, update, responder, created, resolved, other
    occurred_at: datetime | None = None
    actor: str | None = None  # who did it, by name, where the event says
    detail: str | None = None  # the new value or the text, where the event carries it
    channel_id: str | None = None  # the incident's Slack channel, where the event names it
    page: PageNews | None = None  # a page reached someone, or was answered (kind "responder")


def incident_stamp(incident: Incident) -> str | None:
    """When the provider last changed the incident, as a stamp: what orders two processes'
    drawings of it (a card, a topic: bot/store/kept.py), so an older one held back is not
    put over a newer one. None where the provider dates nothing."""
    at = incident.updated_at
    if at is None:
        return None
    return f"{incident.provider}:{incident.id}|{at.astimezone(UTC).isoformat(timespec='microseconds')}"


def stamped_later(kept: str, stamp: str) -> bool:
    """Whether `kept` is a later stamp of the same incident as `stamp`. Stamps of different
    incidents are never ordered: a channel linked to another incident starts again."""
    what, _, at = kept.rpartition("|")
    other, _, other_at = stamp.rpartition("|")
    return what == other and at > other_at
