"""A verb's arguments and options filled from its tokens, as its declaration in the
registry says (`Slot`s): the one reading shared by every verb, so a new verb needs no
parsing of its own, only a new kind of argument does."""

from __future__ import annotations

import re
from datetime import datetime, timedelta

from bot.commands.parsed import GroupRef, ParsedCommand, UsageError, UserRef
from bot.commands.refs import parse_reference
from bot.commands.registry import Arg, Slot, Verb
from bot.commands.timeparse import (
    TimeError,
    calendar_date,
    describe_day,
    on_day,
    parse_duration,
    parse_moment,
    parse_span,
    unclear_date,
    zone,
)
from bot.commands.tokens import Token, is_number, joining, member, plain, words

_EVERY_WORDS = {"weekly": "1w", "daily": "1d", "hourly": "1h", "fortnightly": "2w", "biweekly": "2w"}


def usage(verb: Verb | None, message: str, command: str, suggestion: str | None = None) -> UsageError:
    if verb is None:
        return UsageError(message=message, usage=f"{command} help", suggestion=suggestion)
    return UsageError(message=message, verb=verb.name, usage=verb.usage(command), suggestion=suggestion)


_BETWEEN = ("to", "as")  # `assign comms to @sam`, `assign @sam as comms`


def fill(
    verb: Verb, tokens: list[Token], parsed: ParsedCommand, *, tz: str, now: datetime, command: str
) -> UsageError | None:
    for arg in verb.args:
        if arg.slot is Slot.USER_ANY:
            # The owner is the mention that ends the words (or begins them): one inside the
            # sentence ("talk to @sam about it") is part of it, and two at the end are two
            # owners, which a follow-up cannot have.
            people = [t for t in tokens if t.user is not None and not t.user.me]
            trailing: list[Token] = []
            for t in reversed(tokens):
                if t.user is None or t.user.me:
                    break
                trailing.insert(0, t)
            if len(trailing) > 1:
                return usage(
                    verb,
                    f"One owner only: name one of {', '.join(t.value for t in trailing)} at the end, "
                    f"and the others in the words.",
                    command,
                )
            found = trailing[0] if trailing else (tokens[0] if people and tokens[0] is people[0] else None)
            if found is not None:
                parsed.args[arg.name] = found.user
                tokens = [t for t in tokens if t is not found]
    for n, arg in enumerate(verb.args):
        if arg.slot is Slot.USER_ANY:
            continue
        after = verb.args[n + 1] if n + 1 < len(verb.args) else None
        if arg.slot is Slot.WORD and after is not None and after.slot is Slot.USER and len(tokens) > 2:
            # `assign comms to @sam`, `assign @sam as comms`: the little word between goes.
            if tokens[1].kind == "word" and tokens[1].value.lower() in _BETWEEN:
                if (tokens[0].user is None) != (tokens[2].user is None):
                    tokens = [tokens[0], *tokens[2:]]
        if arg.slot is Slot.WORD and after is not None and after.slot is Slot.USER and tokens:
            if tokens[0].user is not None and len(tokens) > 1 and tokens[1].kind == "word":
                # `assign @sam comms`: the person and the word in the other order.
                tokens = [tokens[1], tokens[0], *tokens[2:]]
            elif tokens[0].user is not None and len(tokens) == 1 and arg.choices and after is verb.args[-1]:
                # `assign @bea`: the person is there, the choice is what is missing; the
                # handler asks for it with the provider's names (a role).
                continue
        if not tokens:
            if arg.required:
                return missing(verb, arg, command)
            continue
        if arg.slot in (Slot.WORD,):
            parsed.args[arg.name] = tokens[0].value
            tokens = tokens[1:]
        elif arg.slot is Slot.USER:
            if tokens[0].user is None:
                return usage(
                    verb,
                    f"`{tokens[0].value}` is not a person: mention them, like @bea, or say `me`.",
                    command,
                )
            parsed.args[arg.name] = tokens[0].user
            tokens = tokens[1:]
        elif arg.slot is Slot.USERS:
            users = []
            while tokens and tokens[0].user is not None:
                users.append(tokens[0].user)
                tokens = tokens[1:]
            if users:
                parsed.args[arg.name] = users
            elif arg.required:
                return usage(verb, f"`{verb.name}` needs at least one person.", command)
        elif arg.slot is Slot.MEMBERS:
            members: list[UserRef | GroupRef] = []
            while tokens and (member(tokens[0]) or (members and joining(tokens[0]))):
                one = member(tokens[0])
                if one is not None:
                    members.append(one)
                tokens = tokens[1:]
            if not members:
                return usage(
                    verb,
                    f"`{tokens[0].value}` is not a person or a user group: "
                    "mention them, like @bea or @sre-leads.",
                    command,
                )
            parsed.args[arg.name] = members
        elif arg.slot is Slot.PAGEE:
            # A mention is a person or a group; any other word is a name at the provider
            # (an escalation policy), matched there by the handler.
            parsed.args[arg.name] = member(tokens[0]) or tokens[0].value
            tokens = tokens[1:]
        elif arg.slot is Slot.EVERY:
            said = [t.value for t in tokens]
            if said and said[0].lower() == "every":
                said = said[1:]
            phrase = " ".join(said).lower()
            # As people say it: weekly, every week, daily, fortnightly.
            phrase = _EVERY_WORDS.get(phrase, re.sub(r"^(\d+)?\s*(week|day|hour)s?$", r"\1 \2", phrase))
            phrase = phrase if re.match(r"^\d", phrase) else f"1 {phrase}"
            interval = parse_duration(phrase)
            if interval is None or interval < timedelta(minutes=15):
                return usage(
                    verb,
                    "Say how often the rotation hands over, like `every 1w` "
                    "or `every 12h` (15 minutes at least).",
                    command,
                )
            parsed.args[arg.name] = interval
            tokens = []
        elif arg.slot is Slot.WHEN:
            try:
                parsed.args[arg.name] = parse_span(plain(tokens), tz, now)
            except TimeError as exc:
                return usage(verb, str(exc), command)
            tokens = []
        elif arg.slot is Slot.TEXT:
            if len(tokens) == 1 and is_number(tokens[0]) and not arg.own_numbers:
                # `status resolved #1`: the number a PagerDuty card shows, meant as the
                # incident, as `status resolved pd:1` names it; taken as text, it was posted
                # as the note of the channel's own incident.
                typed = tokens[0].value
                if not verb.needs_incident or parsed.ref is not None:
                    return usage(
                        verb,
                        f"`{typed}` alone reads as an incident's number, so it was not taken as "
                        "text: say more than the number.",
                        command,
                    )
                parsed.ref = parse_reference(typed, number=True)
                if arg.required:
                    return missing(verb, arg, command)
                tokens = []
                continue
            parsed.args[arg.name] = words(tokens)
            tokens = []
        elif arg.slot is Slot.REF:
            # Here, where the grammar puts nothing but a reference, a bare number is one too:
            # `link 7`, `link #7`, as a PagerDuty card shows it. Never in free text.
            ref = parse_reference(tokens[0].value, number=True)
            if ref is None:
                return usage(
                    verb,
                    f"`{tokens[0].value}` is not an incident reference. "
                    "Use INC-12, PAGERDUTY:Q1ABC or the incident's URL.",
                    command,
                )
            parsed.args[arg.name] = ref
            tokens = tokens[1:]
    last = tokens[0].value if len(tokens) == 1 and is_number(tokens[0]) else ""
    if last and verb.needs_incident and parsed.ref is None:
        # `sev critical #3`: as in a text, the number a PagerDuty card shows names the incident.
        parsed.ref = parse_reference(last, number=True)
        return None
    if tokens:
        extra = plain(tokens)
        return usage(verb, f"I didn't expect `{extra}` after `{verb.name}`.", command)
    return None


def read_options(
    verb: Verb, parsed: ParsedCommand, *, tz: str, now: datetime, command: str
) -> ParsedCommand | UsageError:
    for option in verb.options:
        key = option.name
        if option.values and key in parsed.options:
            word = str(parsed.options[key]).lower()
            if word not in option.values:
                listed = " or ".join(f"`{key}:{v}`" for v in option.values)
                return usage(verb, f"`{key}:` takes {listed}.", command)
            parsed.options[key] = word
        if option.slot in (Slot.MOMENT, Slot.DATE) and key in parsed.options:
            today = now.astimezone(zone(tz)).date()
            why = unclear_date(parsed.options[key], today)
            try:
                calendar_date(parsed.options[key], today)
            except TimeError as exc:
                why = why or str(exc)
            if why is not None:
                return usage(verb, f"`{key}:{parsed.options[key]}`: {why}", command)
            moment = parse_moment(parsed.options[key], tz, now)
            if moment is None:
                return usage(
                    verb,
                    f"I couldn't read `{key}:{parsed.options[key]}` as a date. "
                    "Try friday, tomorrow or 2026-12-01.",
                    command,
                )
            if (
                option.slot is Slot.DATE
                and moment.astimezone(zone(tz)).date() < now.astimezone(zone(tz)).date()
            ):
                return usage(
                    verb,
                    f"`{key}:{parsed.options[key]}` is {describe_day(moment, tz, now)}, in the past: "
                    "pick a date from today on.",
                    command,
                )
            parsed.options[key] = (
                on_day(moment.astimezone(zone(tz)).date(), tz) if option.slot is Slot.DATE else moment
            )
    return parsed


def missing(verb: Verb, arg: Arg, command: str) -> UsageError:
    """A required argument not given: the usage line, or a form where the transport has one."""
    error = usage(verb, f"`{verb.name}` needs {_article(arg.name)}.", command)
    error.missing = True
    return error


def _article(name: str) -> str:
    """By sound, not letter: "an update", but "a user" (it starts with a "you")."""
    vowel = name[0] in "aeio" or (name[0] == "u" and not name.startswith(("us", "uni")))
    return ("an " if vowel else "a ") + name
