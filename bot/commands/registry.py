"""Every verb, declared once.

The parser, `/incident help`, the manifest's usage hint and the contract tests all
read this table, so a verb cannot exist in one place and be missing from another.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from functools import cached_property
from typing import Any

from bot.domain import Capability, Move, Phase

CANCEL_WORDS = ("cancel", "delete", "remove", "undo")  # `override cancel #2`
# A status page incident's states, as incident.io names them (the first the default).
STATUS_PAGE_STATES = ("investigating", "identified", "monitoring", "resolved")


class Slot(StrEnum):
    """Kinds of argument the parser knows how to read."""

    WORD = "word"  # one token
    USER = "user"  # a Slack mention, @name, or "me"
    USER_ANY = "user_any"  # a mention found anywhere among the arguments (follow-up assignee)
    USERS = "users"  # one or more mentions
    MEMBERS = "members"  # one or more mentions of people or Slack user groups (`invite`)
    PAGEE = "pagee"  # one person, one Slack user group, or a name at the provider (`page`)
    TEXT = "text"  # the rest of the line, verbatim
    REF = "ref"  # an incident reference: INC-3, PAGERDUTY:Q1ABC, a URL
    WHEN = "when"  # a time span: "for 2h", "from 18:00 to 22:00", "until 9am tomorrow"
    EVERY = "every"  # a handover interval: "every 1w"
    MOMENT = "moment"  # one point in time: "friday", "9am tomorrow" (key:value options)
    DATE = "date"  # a day: "friday", "2026-12-01" (shown as a date picker)


class Choices(StrEnum):
    """The provider catalogue an argument is picked from: a modal offers exactly these."""

    STATUSES = "statuses"
    SEVERITIES = "severities"
    ROLES = "roles"
    SCHEDULES = "schedules"
    TARGETS = "targets"  # what a page may go to besides people: policies, paths, teams, groups


EVERY_PHASE = frozenset(Phase)
FIGHTING = frozenset({Phase.NEW, Phase.ACTIVE})
PRIMARY_BUTTONS = 5  # one row on a phone; the rest go in the card's menu
MENU_OPTIONS = 5  # Slack's most for an overflow menu


class Access(StrEnum):
    """Who may run a verb by default (bot/commands/policy.py; a policy file may change it)."""

    ANYONE = "anyone"
    RESPONDERS = "responders"  # in the incident's channel, or holding one of its roles
    LEAD = "lead"
    ADMIN = "admins"  # INCIDENT_ADMINS and INCIDENT_ADMIN_GROUP


@dataclass(frozen=True)
class Arg:
    name: str
    slot: Slot
    required: bool = True
    help: str = ""
    choices: Choices | None = None
    values: tuple[str, ...] = ()  # a fixed set of words, the first the default
    multiline: bool = False  # a modal shows a text area, not one line
    # A `#2` alone here is the verb's own number (a follow-up's, an override's); elsewhere
    # in a text it is read as the incident of that number (`status resolved #2`).
    own_numbers: bool = False


@dataclass(frozen=True)
class Verb:
    name: str
    summary: str
    args: tuple[Arg, ...] = ()
    aliases: tuple[str, ...] = ()
    options: tuple[Arg, ...] = ()  # key:value options this verb accepts (never required)
    examples: tuple[str, ...] = ()
    needs_incident: bool = True  # resolves the channel's incident before running
    writes: bool = False  # changes something: an unknown outcome must be reported as such
    capability: Capability | None = None
    access: Access = Access.ANYONE
    # Reads or shows times, so the invoker's timezone must be fetched first (one Slack
    # call that every other verb is spared).
    uses_time: bool = False
    # The incident card's button for this verb, and the question asked before a click acts.
    button: str | None = None
    confirm: str | None = None
    on_card: bool = True  # False: the button is only on the bot's notices (a reminder's Snooze)
    # The phases in which the card offers this button, and those in which it is one of the
    # few shown at once rather than in the card's menu (in the order of VERBS).
    card_in: frozenset[Phase] = EVERY_PHASE
    style: str | None = None  # the button's look: primary (the move that ends it), danger
    primary_in: frozenset[Phase] = frozenset()
    # Gives way first on a full card: moved from its buttons to its menu, then left out of
    # a full menu (Slack's holds MENU_OPTIONS), the last declared first. For what is as
    # well typed as picked there.
    gives_way: bool = False
    # What a refusal says this verb would have done ("Only the lead can <this>"); `{}` is the
    # incident. Words, not the verb's name: "can severity INC-1" reads as a typo.
    act: str = ""
    # Hard to undo: typed in one incident's channel about another incident, it asks first.
    asks_elsewhere: bool = False
    # What a change to an incident waits for: the changes to the same part of it, in the
    # order they came (status, severity, roles); None for appends (updates, follow-ups),
    # which conflict with nothing and never wait.
    turn: str | None = "incident"
    # The status it moves to, as the provider names it (`target_status`): ack, resolve,
    # reopen. None for `status`, where the person names one.
    moves_to: Move | None = None
    # Makes a new incident: limited per person per minute, and announced.
    creates_incident: bool = False
    # About this channel rather than its incident (unlink): the incident's channels are not
    # told of it as of a change made from elsewhere.
    about_this_channel: bool = False
    # Re-points the channel at an incident (link): in a linked channel, only admins may.
    moves_channel: bool = False
    # Done twice, the same state (link, unlink): after a restart it is simply done again.
    same_twice: bool = False
    # A status update: the incident's update reminders start counting again.
    counts_as_update: bool = False
    # Gives the incident its lead, the provider's first role: no role to name.
    gives_lead: bool = False
    # Typed like this, it only lists (`schedule` with no people): no write, open to anyone.
    # Given the parsed arguments and options (the parser's output, which imports this table).
    only_lists: Callable[[dict[str, Any], dict[str, Any]], bool] | None = None
    # Two-word phrases that mean this verb, and the words they leave for it to read:
    # `override cancel #2` is `overrides cancel #2`, `override list` is `overrides`.
    phrases: tuple[tuple[str, str], ...] = ()
    # One word that is this verb with its argument glued on, as people type it in a hurry
    # (a regular expression matching the whole word, case ignored): `sev1`, `sev-1` and
    # `p1` are `severity sev1`, `severity sev-1`, `severity p1`.
    fused: str = ""
    # Takes a chat message into the incident's timeline (True) or out again (False): the
    # verb a 📌 reaction, its removal and the message shortcut run (bot/slack/requests.py).
    pins: bool | None = None

    def acting(self, incident: str | None) -> str:
        """The refusal's words for this verb on `incident` (None: the channel's own)."""
        return (self.act or self.name + " {}").format(incident or "this incident").strip()

    @cached_property
    def option_names(self) -> tuple[str, ...]:
        """Read for every word of every command the parser reads: worked out once."""
        return tuple(option.name for option in self.options)

    @property
    def needs_input(self) -> bool:
        """Typed alone (or clicked), this verb cannot run: a modal asks for the rest."""
        return any(arg.required for arg in self.args)

    def usage(self, command: str = "/incident") -> str:
        parts = [command, self.name]
        for arg in self.args:
            parts.append(f"<{arg.name}>" if arg.required else f"[{arg.name}]")
        parts.extend(f"[{option.name}:…]" for option in self.options)
        return " ".join(parts)


VERBS: tuple[Verb, ...] = (
    Verb(
        "help",
        "Show what the bot can do, or how to use one verb.",
        args=(Arg("verb", Slot.WORD, required=False),),
        needs_incident=False,
        examples=("/incident help", "/incident help override"),
    ),
    Verb(
        "declare",
        "Declare a new incident: creates it, opens its #inc- channel and posts the card.",
        args=(Arg("name", Slot.TEXT, help="What is broken, in a few words"),),
        options=(
            Arg("sev", Slot.WORD, required=False, choices=Choices.SEVERITIES, help="Severity"),
            Arg("summary", Slot.TEXT, required=False, multiline=True, help="Summary"),
        ),
        needs_incident=False,
        writes=True,
        creates_incident=True,
        capability=Capability.DECLARE,
        button="Declare",  # only on the question a second declare of the same title asks
        on_card=False,
        examples=('/incident declare Checkout is failing sev:1 summary:"5xx on /pay"',),
    ),
    Verb(
        "link",
        "Tie this channel to an incident that already exists.",
        args=(Arg("incident", Slot.REF, help="INC-12, PAGERDUTY:Q1ABC or the incident's URL"),),
        needs_incident=False,
        writes=True,
        moves_channel=True,
        same_twice=True,
        button="Link",  # only on the question a re-link asks
        on_card=False,
        examples=("/incident link INC-12", "/incident link PAGERDUTY:Q1ABC"),
        act="re-link a channel that is linked",
    ),
    Verb(
        "unlink",
        "Untie this channel from its incident (the incident itself is not changed).",
        writes=True,
        about_this_channel=True,
        same_twice=True,
        access=Access.ADMIN,
        button="Unlink",
        style="danger",
        confirm="Untie this channel from the incident? The incident itself stays as it is.",
        examples=("/incident unlink",),
        act="unlink this channel",
    ),
    Verb(
        "info",
        "Show the incident card: status, severity, roles, follow-ups.",
        examples=("/incident", "/incident info"),
    ),
    Verb(
        "status",
        "Move the incident to a status.",
        access=Access.RESPONDERS,
        args=(
            Arg("status", Slot.WORD, choices=Choices.STATUSES),
            Arg("note", Slot.TEXT, required=False, multiline=True),
        ),
        writes=True,
        turn="status",
        capability=Capability.STATUS,
        button="Change status",
        primary_in=FIGHTING,
        asks_elsewhere=True,
        examples=("/incident status monitoring", "/incident status resolved INC-12"),
        act="change the status of {}",
    ),
    Verb(
        "ack",
        "Acknowledge the incident (someone is on it).",
        access=Access.RESPONDERS,
        aliases=("acknowledge",),
        writes=True,
        moves_to=Move.ACK,
        turn="status",
        capability=Capability.STATUS,
        button="Acknowledge",
        card_in=frozenset({Phase.NEW}),
        primary_in=frozenset({Phase.NEW}),
        examples=("/incident ack",),
        act="acknowledge {}",
    ),
    Verb(
        "resolve",
        "Resolve the incident, with an optional note.",
        access=Access.RESPONDERS,
        aliases=("resolved", "resolving"),
        args=(Arg("note", Slot.TEXT, required=False, multiline=True),),
        writes=True,
        moves_to=Move.RESOLVE,
        turn="status",
        capability=Capability.STATUS,
        button="Resolve",
        style="primary",
        confirm="Resolve this incident at its provider?",
        card_in=FIGHTING,
        primary_in=FIGHTING,
        asks_elsewhere=True,
        examples=(
            "/incident resolve fixed by rollback",
            "/incident resolve incident:INC-12 fixed by rollback",
        ),
        act="resolve {}",
    ),
    Verb(
        "reopen",
        "Reopen a resolved incident, where its provider allows it.",
        access=Access.RESPONDERS,
        args=(Arg("note", Slot.TEXT, required=False, multiline=True),),
        writes=True,
        moves_to=Move.REOPEN,
        turn="status",
        # Reopened by mistake, an incident pages its on-call again (PagerDuty re-triggers it).
        asks_elsewhere=True,
        capability=Capability.REOPEN,
        button="Reopen",
        confirm="Reopen this incident at its provider?",
        card_in=frozenset({Phase.CLOSED}),
        primary_in=frozenset({Phase.CLOSED}),
        examples=("/incident reopen errors are back",),
        act="reopen {}",
    ),
    Verb(
        "severity",
        "Set the severity.",
        access=Access.RESPONDERS,
        aliases=("sev",),
        args=(Arg("severity", Slot.WORD, choices=Choices.SEVERITIES),),
        fused=r"(?:sev|severity)[-_]?\d{1,2}|p[-_]?\d{1,2}",
        writes=True,
        turn="severity",
        capability=Capability.SEVERITY,
        button="Severity",
        card_in=FIGHTING,
        primary_in=frozenset({Phase.ACTIVE}),
        examples=("/incident sev 2", "/incident severity major"),
        act="change the severity of {}",
    ),
    Verb(
        "assign",
        "Give someone a role.",
        access=Access.RESPONDERS,
        args=(Arg("role", Slot.WORD, choices=Choices.ROLES), Arg("user", Slot.USER)),
        writes=True,
        turn="roles",
        capability=Capability.ROLES,
        button="Assign role",
        card_in=FIGHTING,
        primary_in=frozenset({Phase.ACTIVE}),
        examples=("/incident assign comms @bea",),
        act="assign roles on {}",
    ),
    Verb(
        "lead",
        "Make someone the incident lead.",
        access=Access.RESPONDERS,
        args=(Arg("user", Slot.USER),),
        writes=True,
        gives_lead=True,
        turn="roles",
        capability=Capability.ROLES,
        button="Take the lead",
        card_in=frozenset(),  # the card offers it, as `lead me`, only where nobody leads
        examples=("/incident lead @me",),
        act="change the lead of {}",
    ),
    Verb(
        "reassign",
        "Hand the incident to someone (PagerDuty's assignee).",
        access=Access.RESPONDERS,
        args=(Arg("user", Slot.USER),),
        writes=True,
        turn="roles",
        capability=Capability.REASSIGN,
        button="Reassign",
        card_in=FIGHTING,
        primary_in=frozenset({Phase.ACTIVE}),
        examples=("/incident reassign @bea",),
        act="reassign {}",
    ),
    Verb(
        "invite",
        "Bring people and Slack user groups into the incident's channel "
        "(those already in it are left be; a group of over 50 is asked first).",
        access=Access.RESPONDERS,
        args=(Arg("person", Slot.MEMBERS, help="People or user groups"),),
        writes=True,
        turn=None,
        same_twice=True,
        button="Invite people",
        on_card=False,
        examples=("/incident invite @bea @sre-leads",),
        act="invite people to {}",
    ),
    Verb(
        "page",
        "Page someone onto the incident through the provider: a person, a Slack user group, "
        "or an escalation policy by name (they are invited to the channel too).",
        access=Access.RESPONDERS,
        args=(
            Arg(
                "who",
                Slot.PAGEE,
                help="A person, a user group or an escalation policy",
                choices=Choices.TARGETS,
            ),
            Arg("message", Slot.TEXT, required=False, multiline=True, help="What to tell them"),
        ),
        writes=True,
        turn=None,
        capability=Capability.PAGE,
        button="Page someone",
        # A button right after declaring, when people are brought in; in the menu after.
        card_in=FIGHTING,
        primary_in=frozenset({Phase.NEW}),
        gives_way=True,
        examples=("/incident page @bea", "/incident page database", "/incident page @sre-team"),
        act="page people onto {}",
    ),
    Verb(
        "escalate",
        "Move the incident on to the next level of its escalation, or to the level named.",
        access=Access.RESPONDERS,
        args=(Arg("level", Slot.WORD, required=False, help="The level, like 2"),),
        writes=True,
        turn="escalation",
        capability=Capability.ESCALATE,
        button="Escalate",
        confirm="Page the next level of this incident's escalation now?",
        on_card=False,  # the card's menu is full (five on a phone): typed, or from a page's answer
        examples=("/incident escalate", "/incident escalate 3"),
        act="escalate {}",
    ),
    Verb(
        "duplicate",
        "Mark this incident a duplicate of another: merged into it at PagerDuty, resolved with a "
        "note pointing at it elsewhere; this channel then follows the other (asked first).",
        aliases=("dup", "dupe"),
        access=Access.RESPONDERS,
        args=(Arg("of", Slot.REF, help="The incident that goes on: INC-6, PAGERDUTY:Q1ABC or its URL"),),
        writes=True,
        turn="status",
        capability=Capability.DUPLICATE,
        button="Mark duplicate",
        style="danger",
        confirm="Mark this incident a duplicate? It is resolved (merged, at PagerDuty), and this "
        "channel follows the other incident.",
        on_card=False,  # asked first, typed: the question's button does it
        examples=("/incident duplicate INC-6",),
        act="mark {} a duplicate",
    ),
    Verb(
        "statuspage",
        "Publish the incident on the provider's public status page: made the first time, updated "
        "after (asked first, showing exactly what will be published).",
        aliases=("status-page",),
        access=Access.RESPONDERS,
        args=(Arg("message", Slot.TEXT, multiline=True, help="What the public reads"),),
        options=(
            Arg("component", Slot.WORD, required=False, help="The page's components, by name (api,web)"),
            Arg("page", Slot.WORD, required=False, help="Which status page, where there are several"),
            Arg("state", Slot.WORD, required=False, values=STATUS_PAGE_STATES, help="The page's status"),
        ),
        writes=True,
        turn="statuspage",
        capability=Capability.STATUS_PAGE,
        button="Publish",
        style="primary",
        on_card=False,  # always asked first, typed: the question's button publishes
        examples=(
            '/incident statuspage "Payments degraded" component:api',
            "/incident statuspage We have rolled back and are watching state:monitoring",
        ),
        act="publish {} on the status page",
    ),
    Verb(
        "answer",
        "Acknowledge a page the bot sent you by DM (its Acknowledge button does the same): "
        "it stops paging you and the next person.",
        args=(Arg("page", Slot.WORD, required=False, help="The page's number, like #3"),),
        writes=True,
        turn=None,
        same_twice=True,  # answered once: a second time finds it answered
        # Clicked in a DM: the incident's channels hear the answer itself, not that a
        # command was run elsewhere.
        about_this_channel=True,
        button="Acknowledge",
        style="primary",
        on_card=False,  # on the page's DM only
        examples=("/incident answer",),
        act="answer a page for {}",
    ),
    Verb(
        "roles",
        "Show who holds each role.",
        capability=Capability.ROLES,
        examples=("/incident roles",),
    ),
    Verb(
        "followup",
        "Add a follow-up (or `followup done #2` to complete one).",
        access=Access.RESPONDERS,
        aliases=("follow-up", "fu"),
        args=(Arg("title", Slot.TEXT), Arg("assignee", Slot.USER_ANY, required=False)),
        options=(Arg("due", Slot.DATE, required=False),),
        writes=True,
        turn=None,
        capability=Capability.FOLLOWUPS,
        button="Add follow-up",
        uses_time=True,
        card_in=frozenset({Phase.ACTIVE, Phase.CLOSED}),
        primary_in=frozenset({Phase.CLOSED}),
        examples=("/incident followup Add DB failover alert @sam due:friday",),
        act="add follow-ups to {}",
    ),
    Verb(
        "followups",
        "List the incident's follow-ups.",
        aliases=("follow-ups",),
        capability=Capability.FOLLOWUPS,
        uses_time=True,
        examples=("/incident followups",),
    ),
    Verb(
        "task",
        "Add a task for now, during the incident (or `task done #2` to finish one).",
        access=Access.RESPONDERS,
        args=(Arg("title", Slot.TEXT), Arg("assignee", Slot.USER_ANY, required=False)),
        writes=True,
        turn=None,
        capability=Capability.TASKS,
        button="Add task",
        card_in=FIGHTING,
        examples=("/incident task Check replica lag @sam", "/incident task done #1"),
        act="add tasks to {}",
    ),
    Verb(
        "tasks",
        "List the incident's tasks.",
        capability=Capability.TASKS,
        examples=("/incident tasks",),
    ),
    Verb(
        "update",
        "Post a status update to the incident's timeline.",
        access=Access.RESPONDERS,
        aliases=("note",),
        args=(Arg("text", Slot.TEXT, multiline=True),),
        options=(Arg("to", Slot.WORD, required=False, values=("timeline", "stakeholders"), help="Send to"),),
        writes=True,
        counts_as_update=True,
        turn=None,
        capability=Capability.UPDATES,
        button="Post update",
        primary_in=EVERY_PHASE,
        examples=(
            "/incident update Rollback done, error rate falling",
            "/incident update to:stakeholders Payments are back; we are watching",
        ),
        act="post updates to {}",
    ),
    Verb(
        "pin",
        "Put a message of this channel in the incident's timeline: react with 📌, use the "
        "message's *Add to incident timeline* shortcut, or give its link.",
        access=Access.RESPONDERS,
        args=(Arg("message", Slot.WORD, help="The message's link (Copy link)"),),
        writes=True,
        turn=None,
        pins=True,
        capability=Capability.PINS,
        examples=("/incident pin https://acme.slack.com/archives/C0123/p1712345678123456",),
        act="add messages to the timeline of {}",
    ),
    Verb(
        "unpin",
        "Take a pinned message out of the timeline again, soon after (removing the 📌 does it).",
        access=Access.RESPONDERS,
        args=(Arg("message", Slot.WORD, help="The message's link (Copy link)"),),
        writes=True,
        turn=None,
        pins=False,
        capability=Capability.UNPINS,
        examples=("/incident unpin https://acme.slack.com/archives/C0123/p1712345678123456",),
        act="take messages out of the timeline of {}",
    ),
    Verb(
        "timeline",
        "The incident's timeline as one list: changes, roles, updates, pinned messages, follow-ups.",
        aliases=("history",),
        uses_time=True,
        examples=("/incident timeline",),
    ),
    Verb(
        "retro",
        "Write the retrospective draft (summary, impact, durations, roles, timeline, follow-ups) "
        "as a canvas in this channel; run it again to bring the same one up to date (`replace`), "
        "or to write a new one beside it (`new`).",
        aliases=("retrospective",),
        access=Access.RESPONDERS,
        args=(
            Arg(
                "how",
                Slot.WORD,
                required=False,
                values=("replace", "new"),
                help="With its canvas written already: replace it, or write a new one",
            ),
        ),
        writes=True,  # a document in the channel (and its id kept), not a change at the provider
        same_twice=True,  # run again, it rewrites the same document
        turn="retro",  # two at once would each make a document: one after the other
        uses_time=True,
        button="Write retro",
        card_in=frozenset({Phase.CLOSED}),
        primary_in=frozenset({Phase.CLOSED}),
        examples=("/incident retro", "/incident retro replace"),
        act="write the retro of {}",
    ),
    Verb(
        "list",
        "The open incidents at every provider, newest first (`list mine`: those where you hold a role).",
        aliases=("incidents",),
        args=(Arg("whose", Slot.WORD, required=False, values=("all", "mine"), help="Whose"),),
        needs_incident=False,
        examples=("/incident list", "/incident list mine"),
    ),
    Verb(
        "oncall",
        "Who is on call now, on one schedule or all of them (`oncall me`: where you are).",
        aliases=("on-call", "who"),
        args=(
            Arg("schedule", Slot.WORD, required=False, choices=Choices.SCHEDULES),
            Arg("person", Slot.USER, required=False, help="Where this person is on call"),
        ),
        needs_incident=False,
        capability=Capability.ONCALL,
        uses_time=True,
        examples=("/incident oncall primary", "/incident oncall me"),
    ),
    Verb(
        "override",
        "Put someone on call for a while.",
        access=Access.RESPONDERS,
        args=(
            Arg("schedule", Slot.WORD, choices=Choices.SCHEDULES),
            Arg("user", Slot.USER),
            Arg("when", Slot.WHEN),
        ),
        needs_incident=False,
        writes=True,
        capability=Capability.OVERRIDES,
        button="Override on-call",
        gives_way=True,
        uses_time=True,
        card_in=FIGHTING,
        examples=(
            "/incident override primary @bob for 2h",
            "/incident override primary @bob from 18:00 to 22:00",
        ),
        act="put someone else on call",
    ),
    Verb(
        "overrides",
        "List upcoming on-call overrides, numbered, or cancel one (`override cancel #2`).",
        aliases=("override-list",),
        args=(
            Arg("schedule", Slot.TEXT, required=False, help="A schedule, or `cancel #2`", own_numbers=True),
        ),
        needs_incident=False,
        writes=True,  # `cancel #2` removes one
        phrases=(
            ("override list", ""),
            ("override ls", ""),
            *((f"override {word}", word) for word in CANCEL_WORDS),
        ),
        capability=Capability.OVERRIDE_LIST,
        uses_time=True,
        examples=("/incident overrides primary", "/incident override cancel #2"),
    ),
    Verb(
        "schedule",
        "Create or replace an on-call rotation (built-in provider), or list them.",
        access=Access.ADMIN,  # saving a rotation; listing them is for anyone
        aliases=("schedules", "rotation"),
        args=(
            Arg("name", Slot.WORD, required=False),
            Arg("users", Slot.USERS, required=False),
            Arg("every", Slot.EVERY, required=False),
        ),
        options=(
            Arg("from", Slot.MOMENT, required=False),
            Arg("channel", Slot.WORD, required=False, help="Post on-call changes in this channel (or off)"),
        ),
        needs_incident=False,
        writes=True,
        only_lists=lambda args, options: not args.get("users") and "channel" not in options,
        capability=Capability.ONCALL,  # saving a rotation needs the built-in provider's
        uses_time=True,
        examples=(
            "/incident schedule primary @ana @bob every 1w from:monday",
            "/incident schedule primary channel:#sre",
        ),
        act="create or replace a rotation",
    ),
    Verb(
        "snooze",
        "Quiet this incident's update reminders for a while (1h unless told), "
        "or a follow-up's daily reminders (`snooze #2 1w`).",
        access=Access.RESPONDERS,
        args=(Arg("for", Slot.TEXT, required=False, help="How long: 30m, 2h, 1w", own_numbers=True),),
        writes=True,
        turn=None,
        button="Snooze",
        on_card=False,
        examples=("/incident snooze 2h", "/incident snooze #2 1w"),
        act="snooze reminders for {}",
    ),
    Verb(
        "call",
        "Set the incident's call link (Zoom, Meet …): bookmarked in its channel for everyone.",
        access=Access.RESPONDERS,
        args=(Arg("link", Slot.WORD, help="The call's link, https://…"),),
        writes=True,
        turn=None,
        same_twice=True,
        examples=("/incident call https://meet.example.com/abc-defg-hij",),
        act="set the call of {}",
    ),
)

BY_NAME: dict[str, Verb] = {}
for _verb in VERBS:
    for _name in (_verb.name, *_verb.aliases):
        assert _name not in BY_NAME, f"verb name {_name} declared twice"
        BY_NAME[_name] = _verb

DEFAULT_VERB = "info"


PHRASES: dict[tuple[str, str], tuple[Verb, str]] = {}
for _verb in VERBS:
    for _phrase, _left in _verb.phrases:
        _first, _second = _phrase.split()
        PHRASES[(_first, _second)] = (_verb, _left)


# What people type meaning a verb this bot calls something else: suggested, never run,
# because a word may mean more than it says (`close` the incident, or the channel?).
MEANT: dict[str, str] = {
    **dict.fromkeys(("close", "closed", "done", "fixed", "fix", "finish", "end"), "resolve"),
    **dict.fromkeys(("open", "new", "create", "start", "raise", "report", "trigger", "incident"), "declare"),
    **dict.fromkeys(("acked", "acknowledged", "accept"), "ack"),
    **dict.fromkeys(("reopened", "unresolve", "restart"), "reopen"),
    **dict.fromkeys(("mitigated", "mitigate", "investigating", "monitoring", "state"), "status"),
    **dict.fromkeys(("priority", "prio", "urgency", "impact"), "severity"),
    **dict.fromkeys(("take", "own", "commander", "ic", "incident-commander"), "lead"),
    **dict.fromkeys(("role", "give", "set-role"), "assign"),
    **dict.fromkeys(("handoff", "handover", "hand-off", "transfer"), "reassign"),
    **dict.fromkeys(("comment", "post", "say", "announce", "message", "notes", "log"), "update"),
    **dict.fromkeys(("todo", "action"), "task"),
    **dict.fromkeys(("todos", "actions"), "tasks"),
    **dict.fromkeys(("action-item",), "followup"),
    **dict.fromkeys(("postmortem", "post-mortem", "pir"), "retro"),
    **dict.fromkeys(("show", "card", "summary", "details"), "info"),
    **dict.fromkeys(("shift", "shifts", "pager", "whoison"), "oncall"),
    **dict.fromkeys(("cover", "swap", "replace"), "override"),
    **dict.fromkeys(("rota", "roster"), "schedule"),
    **dict.fromkeys(("attach", "connect", "join"), "link"),
    **dict.fromkeys(("detach", "disconnect", "leave"), "unlink"),
    **dict.fromkeys(("mute", "quiet", "silence", "pause", "hush"), "snooze"),
    **dict.fromkeys(("usage", "commands", "?", "man"), "help"),
    **dict.fromkeys(("ls", "open-incidents"), "list"),
    **dict.fromkeys(("bring", "engage", "summon"), "invite"),
    **dict.fromkeys(("paging", "call", "wake"), "page"),
    **dict.fromkeys(("escalation", "escalating"), "escalate"),
    **dict.fromkeys(("merge", "merged", "duplicated"), "duplicate"),
    **dict.fromkeys(("status-update", "publish", "public"), "statuspage"),
}

# What people ask for that this bot does not do yet, and what to do instead: said plainly,
# rather than the nearest verb by spelling (`page` is not `update`). `{command}` is the
# slash command.
NOT_YET: dict[str, str] = {}

# A word that is (or becomes) a verb's own name or alias is that verb: never a suggestion.
MEANT = {word: meant for word, meant in MEANT.items() if word not in BY_NAME and word not in NOT_YET}
NOT_YET = {word: instead for word, instead in NOT_YET.items() if word not in BY_NAME}
for _meant in MEANT.values():
    assert _meant in BY_NAME, f"MEANT points at {_meant}, which is no verb"


def lookup(name: str) -> Verb | None:
    return BY_NAME.get(name.lower())


def unfused(word: str) -> Verb | None:
    """The verb a word is with its argument glued on (`sev1`), or None."""
    return next((v for v in VERBS if v.fused and re.fullmatch(v.fused, word, re.IGNORECASE)), None)


def read_verb(text: str) -> tuple[Verb | None, str]:
    """The verb a command's text names, and the words left for it: the one reading the
    parser, the inbox's record and the timezone look-up share, so they never disagree
    (`override cancel #2` is `overrides`, everywhere)."""
    words = text.split(maxsplit=2)
    if not words:
        return lookup(DEFAULT_VERB), ""
    if len(words) > 1:
        phrase = PHRASES.get((words[0].lower(), words[1].lower()))
        if phrase is not None:
            verb, left = phrase
            return verb, " ".join(w for w in (left, *words[2:]) if w)
    glued = unfused(words[0]) if lookup(words[0]) is None else None
    if glued is not None:
        return glued, " ".join(words)  # the word itself is the argument
    return lookup(words[0]), " ".join(words[1:])


def buttons(
    capabilities: frozenset[Capability], phase: Phase, *, leaderless: bool = False
) -> tuple[list[Verb], list[Verb]]:
    """The incident card's buttons in this phase, where the provider can do them: the few
    shown at once (one row on a phone), and the rest, for the card's menu. `leaderless`:
    nobody leads it yet, so taking the lead comes first, in the place of the other roles."""
    offered = [
        v
        for v in VERBS
        if v.button
        and v.on_card
        and phase in v.card_in
        and (v.capability is None or v.capability in capabilities)
    ]
    primary = [v for v in offered if phase in v.primary_in]
    taker = lead_taker()
    if leaderless and phase is not Phase.CLOSED and taker.capability in capabilities:
        primary = [taker, *(v for v in primary if v.capability is not taker.capability)]
    while len(primary) > PRIMARY_BUTTONS and any(v.gives_way for v in primary):
        primary.remove(next(v for v in reversed(primary) if v.gives_way))
    primary = primary[:PRIMARY_BUTTONS]
    rest = [v for v in offered if v not in primary]
    while len(rest) > MENU_OPTIONS and any(v.gives_way for v in rest):
        rest.remove(next(v for v in reversed(rest) if v.gives_way))
    rest.sort(key=lambda v: v.access is Access.ADMIN)
    return primary, rest[:MENU_OPTIONS]


def lead_taker() -> Verb:
    """The verb the card's "no lead yet" offers, as `<verb> me`."""
    return next(v for v in VERBS if v.gives_lead and v.button)


def pinner(adding: bool) -> Verb:
    """The verb a 📌 (added, or removed) and the message shortcut run."""
    return next(v for v in VERBS if v.pins is adding)


def after_paging(capabilities: frozenset[Capability]) -> list[Verb]:
    """The buttons on a page's answer: page someone else, escalate, where the provider can."""
    wanted = (Capability.PAGE, Capability.ESCALATE)
    return [v for c in wanted for v in VERBS if v.capability is c and v.button and c in capabilities]


def usage_hint() -> str:
    """The slash command's usage hint in the manifest, generated so it never drifts."""
    return "[" + " | ".join(verb.name for verb in VERBS) + "]"
