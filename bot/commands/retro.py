"""The retrospective draft as typed data: what `retro` gathers about an incident, before
anyone decides how it looks (bot/present/retro.py writes it as Markdown).

Nothing here talks to Slack or to a provider: the handler (bot/commands/handlers/retro.py)
reads the incident, its timeline and its follow-ups and hands them to `assemble`, so the
whole document can be checked on its contents with plain values.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field

from bot.commands.results import Ask, Elsewhere, Result
from bot.domain import UNACKNOWLEDGED_STATUSES, FollowUp, Incident, Person, RetroFacts, TimelineEntry

# The steps of an incident's life the draft measures, in order. A provider's own status
# names are read into them (ACKNOWLEDGED, MITIGATED, RESOLVED), so "Investigating" at one
# provider and PagerDuty's "acknowledge" log entry at another both mean it was acknowledged.
STEPS = ("declared", "acknowledged", "mitigated", "resolved")
MITIGATED = frozenset({"mitigated", "mitigate", "monitoring", "stable", "stabilized"})
RESOLVED = frozenset({"resolved", "resolve", "closed", "close", "postmortem", "post-incident", "documented"})
# Kinds of timeline entry that carry a status (each provider's reading in its timeline.py).
STATUS_KINDS = frozenset({"status", "update", "incident status", "milestone", "milestone update"})
MAX_RETRO_TIMELINE = 200  # timeline items in the draft: a document, not a message, but bounded


class Step(BaseModel):
    """One step of the incident's life: when it was reached, or None where it was not (or
    the record does not say)."""

    name: str
    at: datetime | None = None


class HeldRole(BaseModel):
    role: str
    person: Person


class RetroItem(BaseModel):
    at: datetime
    kind: str
    text: str
    author: Person | None = None


class RetroDraft(BaseModel):
    """Everything the draft says, as values: the Markdown is written from this alone."""

    reference: str
    name: str
    provider_label: str | None = None  # None: the built-in provider
    status: str
    severity: str | None = None
    summary: str | None = None
    impact: list[str] = Field(default_factory=list)  # what the provider holds; empty: nothing
    steps: list[Step]
    closed: bool = False
    roles: list[HeldRole] = Field(default_factory=list)
    has_roles: bool = True  # False: the provider keeps no roles at all
    timeline: list[RetroItem] = Field(default_factory=list)
    earlier: int = 0  # older timeline items left out
    timeline_source: str = ""
    followups: list[FollowUp] = Field(default_factory=list)
    has_followups: bool = True  # False: the provider keeps no follow-ups
    incident_url: str | None = None
    # The provider's own retrospective (FireHydrant's), by name, where one was started; or
    # why it could not be.
    provider_retro: str | None = None
    provider_retro_failed: str | None = None
    channel_id: str | None = None
    channel_name: str | None = None
    command: str = "/incident"
    written_at: datetime
    tz: str = "UTC"

    @property
    def title(self) -> str:
        return f"Retro: {self.reference} {self.name}"[:255]


class Document(BaseModel):
    """A document the bot wrote in a channel, as kept (store.kept) so that running `retro`
    again updates it rather than making a second one."""

    kind: Literal["canvas", "file"]
    id: str
    url: str | None = None
    channel_id: str | None = None

    @classmethod
    def from_kept(cls, value: dict[str, Any] | None) -> Document | None:
        """What was kept, where it still reads as a document (a value written by an older
        bot, or by hand, is taken as nothing kept: a new document is made)."""
        if not value:
            return None
        try:
            return cls.model_validate(value)
        except ValueError:
            return None


class Published(BaseModel):
    """What the workspace did with the draft."""

    document: Document
    replaced: bool = False  # an earlier one was updated (canvas) or replaced (file)
    # Why it is a file and not a canvas: Slack's word for refusing canvases here.
    no_canvas: str | None = None
    previous_gone: bool = False  # the one made before was deleted meanwhile: this is a new one


class RetroWritten(Result):
    """Posted in the channel: a retro is for everyone who was there."""

    reference: str
    actor: Person
    document: Document
    replaced: bool = False
    no_canvas: str | None = None
    previous_gone: bool = False  # the one made before was deleted meanwhile: this is a new one
    provider_label: str | None = None
    provider_retro: str | None = None  # the provider's own retrospective, by name
    provider_retro_failed: str | None = None
    incident_url: str | None = None


class AskRetro(Ask):
    """`retro` again where its canvas is written already: people may have written in it since,
    and writing it again replaces all of it, so it asks whether to replace it or to write a
    new one beside it."""

    document: Document


REPLACE, NEW = "replace", "new"  # `retro replace`, `retro new`: said on purpose, not asked

# Result's own fields name Elsewhere, which pydantic resolves here, where this result is made.
RetroWritten.model_rebuild(_types_namespace={"Elsewhere": Elsewhere})
AskRetro.model_rebuild(_types_namespace={"Elsewhere": Elsewhere})


def key(provider: str, incident_id: str) -> str:
    """Where the document's id is kept: one per incident at its provider."""
    return f"retro:{provider}:{incident_id}"


def status_in(entry: TimelineEntry) -> str | None:
    """The status an entry of the timeline moved the incident to, where it says one: each
    provider words its record its own way (bot/providers/*/timeline.py)."""
    kind = entry.kind.lower().strip()
    text = entry.text.strip()
    if kind in ("acknowledge", "resolve"):  # PagerDuty's log: acknowledge_log_entry …
        return kind + "d"
    if kind not in STATUS_KINDS:
        return None
    if kind == "update":  # incident.io: "status Monitoring · the words"
        if not text.lower().startswith("status "):
            return None
        text = text[len("status ") :]
    first = text.split(" · ")[0].split(":")[0].strip()
    return first.lower() or None


def step_of(status: str) -> str | None:
    """Which step moving to `status` reaches: any status past the unacknowledged ones means
    someone was on it."""
    if status in RESOLVED:
        return "resolved"
    if status in MITIGATED:
        return "mitigated"
    if status in UNACKNOWLEDGED_STATUSES or status in ("declared", "started", "opened"):
        return None
    return "acknowledged"


def steps_of(
    incident: Incident, entries: list[TimelineEntry], stamped: dict[str, datetime] | None = None
) -> list[Step]:
    """Declared → acknowledged → mitigated → resolved: where the provider stamped a step
    itself (`stamped`), at that moment; else at the first entry of the timeline that
    reached it. A step neither shows stays "not reached" rather than guessed."""
    reached: dict[str, datetime] = {"declared": incident.created_at}
    reached |= {name: at for name, at in (stamped or {}).items() if name in STEPS}
    for entry in sorted(entries, key=lambda e: e.at):
        status = status_in(entry)
        step = step_of(status) if status else None
        if step is not None and step not in reached:
            reached[step] = entry.at
    if incident.resolved_at is not None and incident.closed and "resolved" not in (stamped or {}):
        reached["resolved"] = min(reached.get("resolved", incident.resolved_at), incident.resolved_at)
    elif not incident.closed:
        reached.pop("resolved", None)  # reopened since: it is not resolved now
    return [Step(name=name, at=reached.get(name)) for name in STEPS]


def assemble(
    incident: Incident,
    entries: list[TimelineEntry],
    *,
    followups: list[FollowUp] | None,
    has_roles: bool,
    provider_label: str | None,
    timeline_source: str,
    channel_id: str | None,
    channel_name: str | None,
    command: str,
    at: datetime,
    tz: str,
    facts: RetroFacts | None = None,
    provider_retro: str | None = None,
    provider_retro_failed: str | None = None,
) -> RetroDraft:
    """`followups` None: the provider keeps none. `facts`: what the provider itself stamped
    and recorded (its steps' times, its impact), where it keeps any."""
    facts = facts or RetroFacts()
    ordered = sorted(entries, key=lambda e: e.at)  # stable: the record's order where times tie
    shown = ordered[-MAX_RETRO_TIMELINE:]
    return RetroDraft(
        reference=incident.reference,
        name=incident.name,
        provider_label=provider_label,
        status=incident.status,
        severity=incident.severity,
        summary=(incident.summary or "").strip() or None,
        impact=[line for line in facts.impact if line.strip()],
        steps=steps_of(incident, ordered, facts.steps),
        closed=incident.closed,
        roles=[HeldRole(role=role, person=person) for role, person in incident.roles.items()],
        has_roles=has_roles,
        timeline=[RetroItem(at=e.at, kind=e.kind, text=e.text, author=e.author) for e in shown],
        earlier=len(ordered) - len(shown),
        timeline_source=timeline_source,
        followups=list(followups or []),
        has_followups=followups is not None,
        incident_url=incident.url,
        provider_retro=provider_retro,
        provider_retro_failed=provider_retro_failed,
        channel_id=channel_id,
        channel_name=channel_name,
        command=command,
        written_at=at,
        tz=tz,
    )
