"""Typed results of commands. Transports render them; they never build messages themselves."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field

from bot.commands.parsed import UsageError
from bot.commands.refs import Target
from bot.commands.registry import Verb, buttons
from bot.domain import (
    DEFAULT_COMMAND,
    Capability,
    FollowUp,
    Incident,
    OnCall,
    Override,
    Person,
    Schedule,
    StatusPost,
)

Visibility = Literal["in_channel", "ephemeral", "none"]  # none: nothing to say to anyone


class Result(BaseModel):
    visibility: Visibility = "in_channel"
    # The configured slash command, for the examples an answer shows: set where a result
    # is rendered (bot.present.shown), so no handler or presenter hard-codes it.
    command: str = DEFAULT_COMMAND
    # Done on another incident than the channel's own, named in the command: said first,
    # loudly, so nobody takes it for this channel's incident.
    elsewhere: Elsewhere | None = None


class Elsewhere(BaseModel):
    reference: str  # the incident acted on
    channel_reference: str  # the incident this channel is linked to


class HelpEntry(BaseModel):
    name: str
    aliases: list[str]
    summary: str
    usage: str
    examples: list[str]
    available: bool = True
    # `help status`: the provider's own names to pick from, by kind (statuses, roles …),
    # and the common words that stand for one of them here (mitigated → acknowledged).
    choices: dict[str, list[str]] = Field(default_factory=dict)
    common: dict[str, str] = Field(default_factory=dict)


class Help(Result):
    visibility: Visibility = "ephemeral"
    command: str
    entries: list[HelpEntry]
    detail: bool = False  # one verb, in full
    provider_label: str | None = None


class Usage(Result):
    visibility: Visibility = "ephemeral"
    error: UsageError


class Failure(Result):
    """Something went wrong: what, whether anything changed, and what to do next."""

    visibility: Visibility = "ephemeral"
    what: str
    changed: Literal["no", "yes", "unknown"] = "no"
    next_step: str | None = None
    error_id: str | None = None


class DoneUnread(Result):
    """A change the provider made, told as done, though reading the incident back after it
    failed: the channel hears it, and the card catches up at the next read."""

    actor: Person | None = None
    done: str  # "the update was posted"
    provider_label: str
    reason: str


class Restarted(Result):
    """The bot stopped between the ack and the answer; this is the answer, from the next start."""

    visibility: Visibility = "ephemeral"
    command: str
    text: str
    changed: Literal["yes", "unknown"]


class Quiet(Result):
    """No answer to anyone (a webhook whose change the channel already knows)."""

    visibility: Visibility = "none"


class Notice(Result):
    """What changed at the provider, told in the incident's channel."""

    incident: Incident
    provider_label: str
    changes: list[str]
    actor: str | None = None


class ActedElsewhere(Result):
    """Told in an incident's channel when someone changed it by reference from another."""

    actor: Person
    command: str
    text: str
    channel_id: str
    channel_name: str | None = None


class Ask(Result):
    """A question before something hard to undo, with a button that does exactly what was
    typed (its verb, on its incident, with its words): bot/present/asks.py shows them all."""

    visibility: Visibility = "ephemeral"
    verb: str
    text: str | None = None  # the verb's words, carried by the button
    provider: str
    incident_id: str
    reference: str


class AskElsewhere(Ask):
    """A change that is hard to undo, typed in one incident's channel about another."""

    label: str
    channel_reference: str


class AskFirst(Result):
    """A pick from the card's menu whose verb asks before it acts (Unlink): a menu option
    carries no confirm of its own, so the question comes back with the verb's button."""

    visibility: Visibility = "ephemeral"
    verb: str
    label: str
    question: str
    target: Target


class SameDeclared(Ask):
    """A declare that looks like one the same person made minutes ago: asked once whether
    it is that one, with a button that declares it anyway. `reference`: the first one
    ("" while it is still being made)."""

    name: str
    channel_id: str | None = None  # the first one's channel
    url: str | None = None


class AskRelink(Ask):
    """`link` in a channel already linked to another incident: moving it is asked first,
    with what becomes of the incident it leaves. `reference`: the one it would be linked to."""

    leaves: str  # the incident it is linked to now
    leaves_elsewhere: list[str] = Field(default_factory=list)  # that incident's other channels


class NotLinked(Result):
    visibility: Visibility = "ephemeral"
    command: str
    # The command typed with its reference at the end of free text, where it is text: the
    # same words with the reference where it names the incident.
    retyped: str | None = None


class NotSupported(Result):
    visibility: Visibility = "ephemeral"
    provider_label: str
    verb: str
    reason: str | None = None
    url: str | None = None


class Button(BaseModel):
    verb: str
    label: str
    confirm: str | None = None
    text: str | None = None  # the verb's words (`lead me`): none, the verb alone or its form
    style: str | None = None


class Card(Result):
    incident: Incident
    # The moment it shows the incident as of, on the runtime's clock: "running for" is
    # counted to it, so a card says the same whenever and wherever it is rendered.
    at: datetime
    note: str | None = None
    actor: Person | None = None
    buttons: list[Button] = Field(default_factory=list)  # the few shown at once
    menu: list[Button] = Field(default_factory=list)  # the rest the provider can do, in a menu


def card(
    incident: Incident,
    capabilities: frozenset[Capability],
    at: datetime,
    *,
    note: str | None = None,
    actor: Person | None = None,
) -> Card:
    """The incident card with the buttons its provider supports in the incident's phase, so
    no button offers what the provider, or the incident's state, would refuse."""
    pulse = incident.pulse
    lead_role = pulse.lead_role if pulse else None
    leaderless = lead_role is not None and lead_role not in incident.roles
    primary, rest = buttons(capabilities, incident.phase, leaderless=leaderless)

    def button(v: Verb) -> Button:
        return Button(
            verb=v.name,
            label=v.button or v.name,
            confirm=v.confirm,
            text="me" if v.gives_lead else None,
            style=v.style,
        )

    return Card(
        incident=incident,
        at=at,
        buttons=[button(v) for v in primary],
        menu=[button(v) for v in rest],
        note=note,
        actor=actor,
    )


class Changed(Result):
    incident: Incident
    actor: Person
    what: str  # "moved the incident to monitoring", or "made {person} lead"
    person: Person | None = None
    note: str | None = None


class Declared(Result):
    visibility: Visibility = "ephemeral"
    incident: Incident
    channel_id: str
    channel_name: str
    private: bool = False


class Unlinked(Result):
    reference: str
    actor: Person


class Roles(Result):
    incident: Incident
    role_names: list[str]


class FollowUpAdded(Result):
    incident: Incident
    followup: FollowUp
    actor: Person
    completed: bool = False
    tz: str = "UTC"
    kind: Literal["follow-up", "task"] = "follow-up"
    at: datetime | None = None  # as of when: a due date far from it is shown with its year


class FollowUps(Result):
    """A read: told to whoever asked, as `info` is, not to the whole channel."""

    visibility: Visibility = "ephemeral"
    incident: Incident
    followups: list[FollowUp]
    tz: str = "UTC"
    kind: Literal["follow-up", "task"] = "follow-up"
    pick: str | None = None  # `followup done` without a number: how to name the one(s) meant
    at: datetime | None = None  # as of when: a due date far from it is shown with its year


class UpdatePosted(Result):
    incident: Incident
    text: str
    actor: Person
    stakeholders: bool = False  # also sent to the incident's subscribers
    # A change that carried this note was refused (already fixing): why, said with the
    # update, so the note is kept and nobody thinks the change was made.
    instead: str | None = None


class OnCallList(Result):
    """A read: told to whoever asked."""

    visibility: Visibility = "ephemeral"
    entries: list[OnCall]
    tz: str
    at: datetime
    # Asked about one person (`oncall me`) who is on call nowhere: said first, then who is.
    heading: str | None = None


class OverrideCreated(Result):
    override: Override
    actor: Person
    tz: str
    replaces: list[Person] = Field(default_factory=list)  # on call when it begins
    overlaps: list[Override] = Field(default_factory=list)  # overrides already in that time
    at: datetime | None = None  # when it was made: a date far from it is shown with its year


class Overrides(Result):
    """Upcoming overrides, numbered as `override cancel #n` reads them."""

    visibility: Visibility = "ephemeral"
    overrides: list[Override]
    tz: str
    schedule: str | None = None
    at: datetime | None = None  # as of when: a date far from it is shown with its year


class OverrideCancelled(Result):
    override: Override
    actor: Person
    tz: str
    ended_now: bool = False  # it had begun: ended now rather than removed
    at: datetime | None = None


class Schedules(Result):
    schedules: list[Schedule]
    tz: str
    saved: bool = False
    # A saved rotation that begins later: until then nobody is on call on it.
    starts_later: datetime | None = None
    start_by_default: bool = False  # no `from:` was typed: the next whole hour


class Action(BaseModel):
    """A button on one of the bot's own notices: a verb run on the notice's incident with
    these words (`done #2`), or the verb's form where it has no words."""

    verb: str
    label: str
    text: str | None = None
    style: str | None = None


class Reminder(Result):
    """No update for a while: a gentle word in the incident's channel."""

    incident: Incident
    quiet_for: float  # seconds since the last update (or the last reminder)
    every: float  # this severity's span, in seconds
    command: str


class Nudge(Result):
    """A follow-up past its due date, to its owner."""

    incident: Incident
    followup: FollowUp
    command: str
    at: datetime | None = None  # when it is said: a due date far from it is shown with its year


class Handover(Result):
    schedule: str
    person: Person | None
    before: Person | None
    until: datetime | None = None
    at: datetime | None = None  # when it is said: an end far from it is shown with its year


class Announcement(Result):
    """An incident's one line in the announcement channel, redrawn as it changes."""

    incident: Incident
    channel_id: str | None = None  # the incident's own channel


class Snoozed(Result):
    reference: str
    actor: Person
    until: datetime
    tz: str
    followup: int | None = None  # a follow-up's nudges; None: the incident's update reminders


class HandoversSet(Result):
    schedule: str
    channel_id: str | None  # None: no longer posted
    actor: Person


class Invited(Result):
    """People brought into an incident's channels: by `invite`, or by the policy file for
    the incident's severity (`actor` None). Those already in are counted, never invited."""

    reference: str
    actor: Person | None = None
    invited: list[Person] = Field(default_factory=list)
    already: list[Person] = Field(default_factory=list)
    groups: list[str] = Field(default_factory=list)  # the user groups' handles they came from
    named: list[str] = Field(default_factory=list)  # the Slack ids named one by one, not by a group
    severity: str | None = None  # invited for this severity, as the policy file says
    failed: str | None = None  # what Slack refused: nobody in `invited` may have been let in


class Paged(Result):
    """A page sent (or, with `already`, not sent again): the channel hears who was called
    and whether they could be let into it."""

    reference: str
    actor: Person
    target: str  # as the provider named it: a policy, or the people's names
    people: list[Person] = Field(default_factory=list)  # the people paged, where known by name
    provider_label: str
    already: bool = False  # the same target paged for it minutes ago: not paged again
    unsure: bool = False  # …by a page whose outcome is unknown (the provider did not answer)
    within: float = 0.0  # seconds the same target is paged once in
    # Of a group, those paged for it minutes ago: not paged again, the others were.
    skipped: list[Person] = Field(default_factory=list)
    skipped_unsure: list[Person] = Field(default_factory=list)  # …by a page whose outcome is unknown
    invited: list[Person] = Field(default_factory=list)
    invite_failed: str | None = None  # what Slack refused, inviting them
    note: str | None = None  # the provider's caveat: taken, but nobody may have been paged
    # The incident the answer's buttons act on (page someone else, escalate), and what its
    # provider offers of them.
    on: Target | None = None
    capabilities: frozenset[Capability] = frozenset()
    # The bot rings them itself (the built-in provider): by DM, again after `timeout`
    # seconds, then the next person of `via`, the rotation they are on call for.
    rings: bool = False
    via: str | None = None
    timeout: float = 0.0
    incident: Incident | None = None  # as paged: its card is redrawn with the page on it


class EscalatedTo(Result):
    reference: str
    actor: Person
    provider_label: str
    level: int | None = None
    policy: str | None = None


class PageRing(Result):
    """A built-in page, in the paged person's DM: the incident, its channel, and the one
    button that stops the page. Redrawn in place once the page is answered or moved on."""

    incident: Incident
    page_id: int
    channel_id: str | None = None  # the incident's channel, to go to
    actor: Person | None = None  # who paged
    message: str | None = None  # what they said
    ring: int = 1  # 2: paged again, unanswered the first time
    via: str | None = None  # the rotation they are on call for
    # paged; acknowledged (by them, `at`); moved (no answer: the next person was paged);
    # escalated (`by` someone, to `next`, before the re-page would have); answered (by
    # someone else, `by`); unanswered (the page ran out of people).
    state: str = "paged"
    by: Person | None = None
    at: datetime | None = None
    next: Person | None = None


class PageAnswered(Result):
    """Said in the incident's channel when a built-in page is acknowledged."""

    incident: Incident  # its card is redrawn with the page acknowledged
    reference: str
    person: Person
    paged_at: datetime
    at: datetime


class PageMoved(Result):
    """Said in the incident's channel when a built-in page goes unanswered: paged again,
    passed to the next person of the rotation, or out of people to page."""

    reference: str
    person: Person  # who did not answer
    # Everyone it rang, where that was more than one (a user group's members): all named.
    people: list[Person] = Field(default_factory=list)
    next: Person | None = None  # who is paged now (the same person: paged again)
    via: str | None = None
    waited: float = 0.0  # seconds since they were paged


class PageStep(BaseModel):
    """One built-in page moved on by `escalate`: from whom, to whom, in which rotation."""

    skipped: list[Person]  # who was being paged, not answered yet
    next: Person
    via: str
    level: int  # the next person's place in the rotation's order, from 1


class PageEscalated(Result):
    """`escalate` at the built-in provider: its open pages moved on to the next person of
    their rotation now, as the re-page would after the second unanswered ring."""

    incident: Incident  # its card is redrawn with who is paged now
    reference: str
    actor: Person
    moves: list[PageStep]
    not_moved: list[str] = Field(default_factory=list)  # why another open page stayed where it is
    timeout: float = 0.0  # seconds before the next person is paged again without an answer


class AskDuplicate(Ask):
    """`duplicate INC-6` typed: what marking this incident (`reference`) a duplicate would
    do, asked first, since it resolves it and moves its channels."""

    of_reference: str
    of_name: str
    of_url: str | None = None
    provider_label: str
    merges: bool  # merged into the other (PagerDuty), not resolved with a note
    moving: list[str] = Field(default_factory=list)  # the channels that would follow the other
    typed: str | None = None  # the whole command as typed (`incident:` too), to type again


class MarkedDuplicate(Result):
    """Told where it was done: `incident` is the duplicate as it stands after (resolved)."""

    incident: Incident
    of_reference: str
    of_name: str
    of_url: str | None = None
    actor: Person
    provider_label: str
    merged: bool
    moved: list[str] = Field(default_factory=list)  # the channels that now follow the other


class DuplicateJoined(Result):
    """Told in the other incident's channels: another one was found to be this one."""

    reference: str  # the duplicate
    name: str
    of_reference: str
    actor: Person
    merged: bool
    provider_label: str
    moved: list[str] = Field(default_factory=list)


class AskStatusPage(Ask):
    """`statuspage …` typed: exactly what would be published, in public, asked first."""

    page: str
    provider_label: str
    post: StatusPost
    update_of: str | None = None  # the status page incident it would update ("" if made already)
    shows_state: bool = True  # the page takes its state from the bot (not FireHydrant's)


class StatusPublished(Result):
    incident: Incident  # unchanged by it: its cards are redrawn with the status page's link
    reference: str
    actor: Person
    page: str
    provider_label: str
    post: StatusPost
    made: bool  # made now; False: an update posted to the one made before
    url: str | None = None
    shows_state: bool = True


class AskInvite(Ask):
    """`invite` naming a user group larger than a channel should take by accident."""

    groups: dict[str, int]  # each large group's handle, and how many are in it
    threshold: int


class OpenIncident(BaseModel):
    incident: Incident
    provider_label: str | None = None  # None: the built-in provider, which needs no name
    lead: Person | None = None
    channel_id: str | None = None


class OpenIncidents(Result):
    """The incidents open now at every provider: a read, told to whoever asked."""

    visibility: Visibility = "ephemeral"
    entries: list[OpenIncident]
    at: datetime  # ages are counted to it
    more: int = 0  # open beyond those shown
    mine: bool = False
    # Providers that could not be asked, with why: the list says it is not the whole story.
    missing: list[str] = Field(default_factory=list)
    hidden: int = 0  # private incidents left out: the asker is not in their channels


class Pinned(Result):
    """A message put in (or taken out of) the timeline: told to the one who reacted, since
    a post in the channel for every 📌 would bury the messages it keeps."""

    visibility: Visibility = "ephemeral"
    reference: str
    provider_label: str | None = None
    permalink: str | None = None
    removed: bool = False
    already: bool = False  # pinned before (someone else's 📌, a replay): nothing done


class TimelineItem(BaseModel):
    at: datetime
    kind: str
    text: str
    author: Person | None = None


class Timeline(Result):
    """A read, told to whoever asked."""

    visibility: Visibility = "ephemeral"
    reference: str
    items: list[TimelineItem]  # oldest first, the newest `MAX_TIMELINE` at most
    earlier: int = 0  # older ones left out
    source: str  # whose record: the provider's label, or "the bot"
    tz: str = "UTC"
    at: datetime | None = None


class Post(BaseModel):
    """A message to a channel other than the one the command came from (declare's card)."""

    channel_id: str
    result: Result
    # Kept up to date in place under this key (an announcement): the first post is
    # remembered, later ones redraw it; `only_update` posts nothing where none exists.
    anchor: str | None = None
    only_update: bool = False
    # `channel_id` is a person: the message goes to their DM with the bot, opened first (a
    # page), and an anchored one is kept there, where it can be redrawn.
    direct: bool = False


class NeedsForm(BaseModel):
    """Only the verb's arguments are missing: where the transport has forms (Slack's
    modals), it asks for them instead of refusing."""

    verb: str


class Reply(BaseModel):
    result: Result
    posts: list[Post] = Field(default_factory=list)
    outcome: str = "ok"  # audit: ok, usage, refused, failed, error
    # The incident as it stands after a change: where it has a card, the card is redrawn.
    refresh: Incident | None = None
    capabilities: list[str] = Field(default_factory=list)  # of the incident's provider
    audit: dict[str, object] = Field(default_factory=dict)  # the audit row, written with the answer
