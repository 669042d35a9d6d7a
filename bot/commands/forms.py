"""A verb's arguments as a form: what a modal asks for, and its answers read back.

Everything here comes from the registry, so a verb gets its modal the moment it is
declared, and the modal's answers go through the same handler as typed text: a form
only produces a `ParsedCommand`, it never calls a provider on its own.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from enum import StrEnum
from typing import Any

from bot.commands.naming import NoMatch, match
from bot.commands.parsed import ParsedCommand, UserRef
from bot.commands.ports import Workspace
from bot.commands.refs import Target, parse_reference
from bot.commands.registry import Arg, Choices, Slot, Verb
from bot.commands.timeparse import MAX_SPAN, TimeSpan, on_day, parse_duration
from bot.domain import Person, ProviderError
from bot.providers import facets
from bot.providers.base import Provider
from bot.providers.facets import facet


class Kind(StrEnum):
    CHOICE = "choice"  # one of a provider catalogue
    USER = "user"
    USERS = "users"
    TEXT = "text"
    DATETIME = "datetime"
    DATE = "date"


@dataclass(frozen=True)
class Field:
    key: str  # the argument's name; a span is two fields, `when.start` and `when.end`
    label: str
    kind: Kind
    required: bool
    multiline: bool = False
    choices: Choices | None = None
    hint: str | None = None
    values: tuple[str, ...] = ()  # a fixed set to pick from, where no catalogue is needed


def _label(arg: Arg) -> str:
    return arg.help or arg.name.capitalize()


def _fields(arg: Arg) -> list[Field]:
    match arg.slot:
        case Slot.WHEN:
            return [
                Field(f"{arg.name}.start", "From", Kind.DATETIME, arg.required),
                Field(f"{arg.name}.end", "Until", Kind.DATETIME, arg.required),
            ]
        case Slot.USER | Slot.USER_ANY:
            return [Field(arg.name, _label(arg), Kind.USER, arg.required)]
        case Slot.USERS | Slot.MEMBERS:  # Slack's pickers pick people; a group is typed
            return [Field(arg.name, _label(arg), Kind.USERS, arg.required)]
        case Slot.MOMENT:
            return [Field(arg.name, _label(arg), Kind.DATETIME, arg.required)]
        case Slot.DATE:
            return [Field(arg.name, _label(arg), Kind.DATE, arg.required)]
        case Slot.EVERY:
            return [Field(arg.name, "Hands over every", Kind.TEXT, arg.required, hint="Like 1w or 12h")]
        case Slot.REF:
            return [Field(arg.name, "Incident", Kind.TEXT, arg.required, hint=arg.help or None)]
        case Slot.PAGEE:
            # A person picked, or a name of the provider's (a policy, a team) or a Slack user
            # group picked from one list: either, so neither box is required on its own.
            return [
                Field(f"{arg.name}.person", "A person", Kind.USER, False),
                Field(
                    f"{arg.name}.name",
                    "Or a team, a user group or an escalation policy",
                    Kind.CHOICE,
                    False,
                    choices=arg.choices,
                ),
            ]
        case Slot.WORD if arg.values:
            return [Field(arg.name, _label(arg), Kind.CHOICE, arg.required, values=arg.values)]
        case Slot.WORD if arg.choices:
            return [Field(arg.name, _label(arg), Kind.CHOICE, arg.required, choices=arg.choices)]
    return [Field(arg.name, _label(arg), Kind.TEXT, arg.required, multiline=arg.multiline)]


def fields(verb: Verb) -> list[Field]:
    """The verb's arguments, then its options, as the modal shows them."""
    return [field for arg in (*verb.args, *verb.options) for field in _fields(arg)]


def title(verb: Verb) -> str:
    return (verb.button or verb.name.capitalize())[:24]


async def catalogue(provider: Provider, choices: Choices, workspace: Workspace | None = None) -> list[str]:
    """A provider's names for one kind of choice, in the provider's own order; a page's
    targets also list the workspace's user groups (`@handle`), where it is given."""
    match choices:
        case Choices.STATUSES:
            return await provider.statuses()
        case Choices.SEVERITIES:
            return [s.name for s in await provider.severities()]
        case Choices.ROLES:
            roles = facet(provider, facets.Roles)
            return await roles.role_names() if roles is not None else []
        case Choices.SCHEDULES:
            return [s.name for s in await provider.schedules()]
        case Choices.TARGETS:
            pages = facet(provider, facets.Pages)
            names = await pages.page_targets() if pages is not None else []
            groups = await workspace.group_handles() if workspace is not None else []
            return [*names, *(f"@{handle}" for handle in groups)]


def search(names: list[str], query: str, limit: int = 100) -> list[str]:
    """Names for a type-ahead: those starting with the query first, then those containing it."""
    q = query.strip().lower()
    starts = [n for n in names if n.lower().startswith(q)]
    contains = [n for n in names if q in n.lower() and n not in starts]
    return (starts + contains)[:limit]


Values = dict[str, Any]  # field key → str, list[str] (user ids), datetime, date or None
Errors = dict[str, str]  # field key → what is wrong, in words for the person filling it


def read(verb: Verb, values: Values, tz: str, now: datetime, target: Target | None) -> ParsedCommand | Errors:
    """The modal's answers as the command the user would have typed, or what to fix."""
    parsed = ParsedCommand(verb=verb.name, target=target)
    errors: Errors = {}
    for arg in (*verb.args, *verb.options):
        into = parsed.options if arg in verb.options else parsed.args
        try:
            value = _value(arg, values, tz, now)
        except ValueError as exc:
            errors[_where(arg, late=True)] = str(exc)
            continue
        if value is None:
            if arg.required:
                needed = "Needed: pick a person or a name." if arg.slot is Slot.PAGEE else "Needed."
                errors[_where(arg)] = needed
            continue
        into[arg.name] = value
    parsed.text = " ".join(_words(verb, parsed))
    return errors or parsed


def _where(arg: Arg, late: bool = False) -> str:
    """The box an argument's error is shown under: a span's end (or start), a page's person."""
    if arg.slot is Slot.WHEN:
        return f"{arg.name}.end" if late else f"{arg.name}.start"
    if arg.slot is Slot.PAGEE:
        return f"{arg.name}.name" if late else f"{arg.name}.person"
    return arg.name


def _value(arg: Arg, values: Values, tz: str, now: datetime) -> Any:
    if arg.slot is Slot.WHEN:
        start, end = values.get(f"{arg.name}.start"), values.get(f"{arg.name}.end")
        if start is None and end is None:
            return None
        if end is None:
            raise ValueError("Until when?")
        start = start or now
        if end <= start:
            raise ValueError("The end is before the start: pick a later time.")
        if end <= now:
            raise ValueError("That time has passed: pick one in the future.")
        if end - start > MAX_SPAN:
            raise ValueError("That is longer than a year: pick a shorter span.")
        return TimeSpan(start=start, end=end)
    if arg.slot is Slot.PAGEE:
        person, name = values.get(f"{arg.name}.person"), values.get(f"{arg.name}.name")
        if person and name:
            raise ValueError("Pick one: a person, or a name.")
        return UserRef(id=str(person)) if person else (str(name) if name else None)
    raw = values.get(arg.name)
    if raw is None or raw == "" or raw == []:
        return None
    match arg.slot:
        case Slot.USER | Slot.USER_ANY:
            return UserRef(id=str(raw))
        case Slot.USERS | Slot.MEMBERS:
            return [UserRef(id=str(user)) for user in raw]
        case Slot.DATE:
            day = raw if isinstance(raw, date) else date.fromisoformat(str(raw))
            return on_day(day, tz)
        case Slot.MOMENT:
            return raw
        case Slot.EVERY:
            interval = parse_duration(str(raw).removeprefix("every ").strip())
            if interval is None or interval < timedelta(minutes=15):
                raise ValueError("Say how often, like 1w or 12h (15 minutes at least).")
            return interval
        case Slot.REF:
            ref = parse_reference(str(raw))
            if ref is None:
                raise ValueError("Use INC-12, PAGERDUTY:Q1ABC or the incident's URL.")
            return ref
    text = str(raw).strip()
    if not text and arg.required:
        raise ValueError("Needed.")
    return text or None


def _words(verb: Verb, parsed: ParsedCommand) -> list[str]:
    """What the modal asked for, as text for the audit log."""
    words = [verb.name]
    for name, value in (*parsed.args.items(), *parsed.options.items()):
        if isinstance(value, UserRef):
            value = f"<@{value.id}>"
        elif isinstance(value, list):
            value = " ".join(f"<@{v.id}>" for v in value)
        elif isinstance(value, TimeSpan):
            start, end = value.start.astimezone(UTC), value.end.astimezone(UTC)
            value = f"from {start:%Y-%m-%d %H:%M}Z to {end:%Y-%m-%d %H:%M}Z"
        elif isinstance(value, datetime):
            value = f"{name}:{value.astimezone(UTC):%Y-%m-%d %H:%M}Z"
        words.append(str(getattr(value, "raw", value)))
    return words


async def check(verb: Verb, parsed: ParsedCommand, provider: Provider) -> Errors:
    """What the provider would refuse, found before anything is sent: a name no longer in
    its catalogue, or a person it has no account for. Nothing here writes."""
    errors: Errors = {}
    for arg in (*verb.args, *verb.options):
        value = parsed.args.get(arg.name, parsed.options.get(arg.name))
        if value is None:
            continue
        if arg.choices and isinstance(value, str) and not value.startswith("@"):
            names = await catalogue(provider, arg.choices)
            found = match(str(value), {name: [] for name in names}, _kind(arg.choices))
            if isinstance(found, NoMatch):
                said = f"{provider.label} has no {_kind(arg.choices)} “{value}” now: pick again."
                errors[_where(arg, late=True)] = said[:2000]
        if arg.values and str(value) not in arg.values:
            errors[arg.name] = "Pick one of: " + ", ".join(arg.values)
        if isinstance(value, UserRef) and value.id:
            try:
                await provider.check_person(Person(slack_id=value.id))
            except ProviderError as exc:
                errors[_where(arg)] = exc.message[:2000]
    return errors


def _kind(choices: Choices) -> str:
    return {
        Choices.STATUSES: "status",
        Choices.SEVERITIES: "severity",
        Choices.ROLES: "role",
        Choices.SCHEDULES: "schedule",
        Choices.TARGETS: "name to page",
    }[choices]
