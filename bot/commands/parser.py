"""From the text after `/incident` to a typed command, or a usage message.

Slack sends the text escaped (`should_escape: true`): mentions arrive as `<@U123|bea>`,
channels as `<#C1|inc-4>`, groups as `<!subteam^S1|@oncall>`, and a literal `<` as
`&lt;`. Anything that reaches free text is turned back into plain words (`@bea`), so a
stored update can never ping anyone when it is shown again.

`parse` never raises: every input ends as a `ParsedCommand` or a `UsageError`.
"""

from __future__ import annotations

import difflib
import re
from datetime import datetime, timedelta
from typing import Any

from pydantic import BaseModel, Field

from bot.clock import SYSTEM
from bot.commands import registry
from bot.commands.invocation import MAX_TEXT
from bot.commands.refs import Reference, Target, looks_like_trailing_reference, parse_reference
from bot.commands.registry import Arg, Choices, Slot, Verb
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

_TOKEN = re.compile(
    r"""(?P<angle><[^<>\s][^<>]*>)
      | (?P<opt>[A-Za-z_]+:(?:"[^"]*"|“[^”]*”))
      | (?P<quoted>"[^"]*"|“[^”]*”)
      | (?P<word>\S+)""",
    re.VERBOSE,
)
_OPTION = re.compile(r"^(?P<key>[A-Za-z_]+):(?P<value>.+)$", re.DOTALL)
_ENTITIES = (("&lt;", "<"), ("&gt;", ">"), ("&amp;", "&"))


def unescape(text: str) -> str:
    for entity, char in _ENTITIES:
        text = text.replace(entity, char)
    return text


class UserRef(BaseModel):
    """A person named in a command: `id` is a Slack user id, or None when only a name was
    typed (the shell, or Slack text that was not a real mention); `me` means the invoker."""

    id: str | None = None
    name: str | None = None
    me: bool = False


class GroupRef(BaseModel):
    """A Slack user group named in a command (`invite @sre-leads`): its id from Slack's
    mention, which a handle alone cannot be trusted to find (handles are renamed)."""

    id: str
    handle: str  # without the @


class Token(BaseModel):
    kind: str  # word, quoted, user, channel, group, special, link
    value: str  # plain-text rendering, safe to show
    user: UserRef | None = None
    group: GroupRef | None = None
    quoted: str | None = None  # a quoted token as typed, its quotes kept: inside free text, they are words


class ParsedCommand(BaseModel):
    verb: str
    args: dict[str, Any] = Field(default_factory=dict)
    options: dict[str, Any] = Field(default_factory=dict)
    ref: Reference | None = None
    target: Target | None = None  # from a button or a modal: the incident it was made for
    text: str = ""


class UsageError(BaseModel):
    message: str
    verb: str | None = None
    usage: str
    suggestion: str | None = None
    missing: bool = False  # only arguments are missing: a modal can ask for them


def _angle(body: str) -> Token:
    inner = body[1:-1]
    target, _, label = inner.partition("|")
    if target.startswith("@"):
        uid = target[1:]
        name = label or None
        return Token(
            kind="user",
            value=f"@{name or uid}",
            user=UserRef(id=uid, name=name),
        )
    if target.startswith("#"):
        return Token(kind="channel", value=f"#{label or target[1:]}")
    if target.startswith("!subteam^"):
        group_id = target.split("^", 1)[1]
        handle = label or "@" + group_id
        return Token(
            kind="group",
            value=handle if handle.startswith("@") else "@" + handle,
            group=GroupRef(id=group_id, handle=handle.lstrip("@")),
        )
    if target.startswith("!"):
        return Token(kind="special", value="@" + (label or target[1:]).lstrip("@"))
    return Token(kind="link", value=unescape(target))


def tokenize(text: str) -> list[Token]:
    tokens: list[Token] = []
    for match in _TOKEN.finditer(text):
        if match["angle"]:
            tokens.append(_angle(match["angle"]))
        elif match["quoted"]:
            tokens.append(
                Token(kind="quoted", value=unescape(match["quoted"][1:-1]), quoted=unescape(match["quoted"]))
            )
        else:
            raw = match["opt"] or match["word"]
            value = unescape(raw)
            user = None
            if value.lower() in ("me", "@me"):
                user = UserRef(me=True)
            elif re.fullmatch(r"@[\w.\-]{1,80}", value):
                user = UserRef(name=value[1:])
            tokens.append(Token(kind="user" if user else "word", value=value, user=user))
    return tokens


def _plain(tokens: list[Token]) -> str:
    """Rebuild free text from tokens, one space between words (runs of spaces fold)."""
    return " ".join(token.value for token in tokens).strip()


def _words(tokens: list[Token]) -> str:
    """Free text as typed: quotes around a part of it are part of it (`error is "connection
    refused" on db-2`); quotes around the whole of it only group it (`declare "DB down"`)."""
    if len(tokens) == 1:
        return tokens[0].value.strip()
    return " ".join(t.quoted or t.value for t in tokens).strip()


def _usage(verb: Verb | None, message: str, command: str, suggestion: str | None = None) -> UsageError:
    if verb is None:
        return UsageError(message=message, usage=f"{command} help", suggestion=suggestion)
    return UsageError(message=message, verb=verb.name, usage=verb.usage(command), suggestion=suggestion)


def _nearest(word: str) -> tuple[str, bool] | None:
    """What `word` most likely meant: (a verb's name, False), or (a thing this bot does not
    do yet, True). A verb's own name or alias, then a word people use for one (`close` is
    resolve), then the nearest spelling of either; None where nothing is near."""
    key = word.lower()
    if key in registry.BY_NAME:
        return registry.BY_NAME[key].name, False
    if key in registry.MEANT:
        return registry.MEANT[key], False
    if key in registry.NOT_YET:
        return key, True
    known = [*registry.BY_NAME, *registry.MEANT, *registry.NOT_YET]
    close = difflib.get_close_matches(key, known, n=1, cutoff=0.7)
    return _nearest(close[0]) if close else None


def suggest(word: str) -> str | None:
    """The verb someone typing `word` most likely meant, or None."""
    nearest = _nearest(word)
    return nearest[0] if nearest is not None and not nearest[1] else None


def not_yet(word: str, command: str) -> str | None:
    """What to say where `word` is (nearest to) something this bot does not do yet."""
    nearest = _nearest(word)
    if nearest is None or not nearest[1]:
        return None
    instead = registry.NOT_YET[nearest[0]].format(command=command)
    return f"`{nearest[0]}` isn't something this bot does yet: {instead}."


def _unknown(word: str, command: str) -> UsageError:
    nearest = _nearest(word)
    if nearest is None:
        return _usage(None, f"I don't know `{word}`. Here is what I can do: `{command} help`.", command)
    name, later = nearest
    if later:
        return _usage(None, not_yet(word, command) or "", command)
    return _usage(
        registry.lookup(name), f"I don't know `{word}`. Did you mean `{name}`?", command, suggestion=name
    )


def parse(
    text: str, *, tz: str = "UTC", now: datetime | None = None, command: str = "/incident"
) -> ParsedCommand | UsageError:
    try:
        return _parse(text or "", tz=tz, now=now or SYSTEM.now(), command=command)
    except Exception as exc:  # the parser's promise is no stack traces, whatever the input
        return UsageError(
            message=f"I couldn't read that command ({type(exc).__name__}).", usage=f"{command} help"
        )


def _parse(text: str, *, tz: str, now: datetime, command: str) -> ParsedCommand | UsageError:
    text = text.strip()
    if len(text) > MAX_TEXT:
        return _usage(None, "That command is too long (over 4,000 characters).", command)
    tokens = tokenize(text)
    if not tokens:
        return ParsedCommand(verb=registry.DEFAULT_VERB)
    head = tokens[0]
    verb = registry.lookup(head.value) if head.kind == "word" else None
    rest = tokens[1:]
    fused = verb is None and head.kind == "word" and registry.unfused(head.value) is not None
    if fused:
        # `/incident sev1`: one word, the verb with its argument glued on; the word itself
        # is the argument (`sev1`, `p1`), which the verb reads as typed.
        verb, rest = registry.unfused(head.value), tokens
    if verb is None:
        return _unknown(head.value, command)
    phrase = registry.PHRASES.get((head.value.lower(), rest[0].value.lower())) if rest and not fused else None
    if phrase is not None and rest[0].kind == "word":
        # `override cancel #2`, `override list`: a phrase the registry gives another verb.
        verb, left = phrase
        rest = ([Token(kind="word", value=left)] if left else []) + rest[1:]
    parsed = ParsedCommand(verb=verb.name, text=_plain(rest))

    # key:value options this verb declares; other colons stay text ("error: db down").
    remaining: list[Token] = []
    taken: set[int] = set()  # words a date option took after it (`due:Dec 10`)
    for at, token in enumerate(rest):
        if at in taken:
            continue
        option = _OPTION.match(token.value) if token.kind == "word" else None
        key = _OPTION_ALIASES.get(option["key"].lower(), option["key"].lower()) if option else ""
        if option and verb.needs_incident and key in _INCIDENT_KEYS:
            # `incident:INC-6`: the one way to name another incident inside free text.
            ref = parse_reference(option["value"].strip().strip('"“”'))
            if ref is None:
                return _usage(
                    verb,
                    f"`{option['value']}` is not an incident reference. "
                    "Use INC-12, PAGERDUTY:Q1ABC or the incident's URL.",
                    command,
                )
            if parsed.ref is not None:
                return _usage(verb, "Name one incident: a command acts on one at a time.", command)
            parsed.ref = ref
            parsed.text = _plain([t for t in rest if t is not token])
        elif option and key in verb.option_names:
            value = option["value"].strip().strip('"“”').strip()
            if not value:
                return _usage(verb, f"`{option['key']}:` needs a value.", command)
            if _takes_a_date(verb, key) and not option["value"].startswith(('"', "“")):
                more = _date_continues(value, rest[at + 1 :], tz=tz, now=now)
                value = " ".join([value, *(t.value for t in rest[at + 1 : at + 1 + more])])
                taken.update(range(at + 1, at + 1 + more))
            parsed.options[key] = value
        elif option and _meant_as_option(option["key"].lower(), option["value"], verb):
            takes = ", ".join(f"`{name}:`" for name in verb.option_names) or "no key:value options"
            return _usage(verb, f"`{verb.name}` doesn't take `{option['key']}:`; it takes {takes}.", command)
        else:
            remaining.append(token)

    if verb.needs_incident and parsed.ref is None and not any(a.slot is Slot.REF for a in verb.args):
        # (A verb whose own argument is a reference, `duplicate INC-6`, reads it as that
        # argument: the incident it acts on is the channel's, or `incident:` names it.)
        # A reference names the incident only where the grammar puts one: right after the
        # verb's own words, before any note, update or title (`resolve INC-6 fixed by
        # rollback`), or alone at the end of them (`status resolved INC-6`). In `resolve
        # duplicate of INC-6` it is the last word of a sentence, and stays text.
        start = _text_start(verb)
        if start is not None and len(remaining) > start + 1 and _is_reference(remaining[start]):
            return _no_form(_with_ref(verb, remaining, start, parsed, rest, tz=tz, now=now, command=command))
        if start != 0 and len(remaining) > 1 and _is_reference(remaining[0]):
            # Right after the verb, too: `status INC-2 resolved`, `sev INC-2 critical`. A
            # reference is never a status, a severity or a person, which it was read as.
            return _no_form(_with_ref(verb, remaining, 0, parsed, rest, tz=tz, now=now, command=command))
        if remaining and _is_reference(remaining[-1]):
            last = len(remaining) - 1
            done = _with_ref(verb, remaining, last, parsed, rest, tz=tz, now=now, command=command)
            if isinstance(done, ParsedCommand) and not _has_free_text(verb, done):
                return done
            if isinstance(done, UsageError) and done.missing:
                return _no_form(done)
    done = _complete(verb, remaining, parsed, tz=tz, now=now, command=command)
    return _no_form(done) if parsed.ref is not None else done


def _no_form(done: ParsedCommand | UsageError) -> ParsedCommand | UsageError:
    """A reference typed with arguments missing: no form, which would open for the channel's
    own incident rather than the one named; the usage line, to type it in full."""
    if isinstance(done, UsageError) and done.missing:
        done.missing = False
        done.message += " Type it in full with the incident named: a form opens for this channel's own."
    return done


_INCIDENT_KEYS = ("incident", "inc")
_HASH_NUMBER = re.compile(r"^#\d{1,9}$")


def _is_number(token: Token) -> bool:
    """`#7` typed as a word: not quoted (`"#7"` is text), not a channel (`<#C1|7>`)."""
    return token.kind == "word" and _HASH_NUMBER.match(token.value) is not None


def _is_reference(token: Token) -> bool:
    return token.kind == "word" and looks_like_trailing_reference(token.value)


def named_where_read(verb: Verb, text: str | None) -> str | None:
    """A command whose last word is a reference after free text (`update rollback started
    INC-1`), which reads that word as text: the same words with the reference where the
    grammar reads one (`update INC-1 rollback started`), to say back. None otherwise."""
    words = (text or "").split()
    start = _text_start(verb)
    if start is None or len(words) < start + 3 or not looks_like_trailing_reference(words[-1]):
        return None
    head = 1 + start  # the verb, then its one-word arguments
    return " ".join([*words[:head], words[-1], *words[head:-1]])


def _text_start(verb: Verb) -> int | None:
    """Where a verb's free text begins, counted in tokens: after its one-word arguments."""
    start = 0
    for arg in verb.args:
        if arg.slot is Slot.TEXT:
            return start
        if arg.slot in (Slot.WORD, Slot.USER, Slot.PAGEE):
            start += 1
        elif arg.slot is not Slot.USER_ANY:
            return None
    return None


def _with_ref(
    verb: Verb,
    remaining: list[Token],
    at: int,
    parsed: ParsedCommand,
    rest: list[Token],
    *,
    tz: str,
    now: datetime,
    command: str,
) -> ParsedCommand | UsageError:
    found = remaining[at]
    with_ref = parsed.model_copy(deep=True)
    with_ref.ref = parse_reference(found.value)
    with_ref.text = _plain([t for t in rest if t is not found])
    tokens = remaining[:at] + remaining[at + 1 :]
    return _complete(verb, tokens, with_ref, tz=tz, now=now, command=command)


def _has_free_text(verb: Verb, parsed: ParsedCommand) -> bool:
    return any(arg.slot is Slot.TEXT and parsed.args.get(arg.name) for arg in verb.args)


def _complete(
    verb: Verb, remaining: list[Token], parsed: ParsedCommand, *, tz: str, now: datetime, command: str
) -> ParsedCommand | UsageError:
    if "sev" in verb.option_names and "sev" not in parsed.options:
        remaining = _severity_in_words(remaining, parsed)
    if "due" in verb.option_names and "due" not in parsed.options:
        remaining = _due_in_words(remaining, parsed, tz=tz, now=now)
    if any(arg.choices is Choices.SEVERITIES for arg in verb.args):
        remaining = _severity_spaced(remaining)
    error = _fill(verb, remaining, parsed, tz=tz, now=now, command=command)
    if error:
        return error
    return _read_options(verb, parsed, tz=tz, now=now, command=command)


# Keys people type as options: every verb's, and the usual other names for them.
_OPTION_WORDS = {option.name for verb in registry.VERBS for option in verb.options} | {
    "severity",
    "priority",
    "owner",
    "assignee",
    "until",
    "deadline",
}


_OPTION_ALIASES = {"severity": "sev", "priority": "sev"}


def _meant_as_option(key: str, value: str, verb: Verb) -> bool:
    """`owner:@sam` or `due:friday` on a verb that has no such option is a mistake worth
    saying, not words for a title; `error:db` or a URL stays text."""
    if value.startswith("//"):
        return False
    known = _OPTION_WORDS | set(verb.option_names)
    return key in known or bool(difflib.get_close_matches(key, known, n=1, cutoff=0.8))


_SEV_WORD = re.compile(r"^(?:sev|severity)[-_ ]?(\d)$|^p(\d)$", re.IGNORECASE)
_SEV_NAMES = ("critical", "major", "minor")
_EVERY_WORDS = {"weekly": "1w", "daily": "1d", "hourly": "1h", "fortnightly": "2w", "biweekly": "2w"}


def _severity_in_words(tokens: list[Token], parsed: ParsedCommand) -> list[Token]:
    """`declare … sev 1` (or sev1, SEV-1, severity 2, p1) anywhere, and critical, major or
    minor as the last word: the severity, taken out of the name. A word that merely
    contains one ("p1-checkout", "critical path") stays in the name."""
    words = [t.value if t.kind == "word" else "" for t in tokens]
    for i, word in enumerate(words):
        found = _SEV_WORD.match(word)
        if found:
            number = found[1] or found[2]
            parsed.options["sev"] = f"P{number}" if found[2] else f"SEV{number}"
            return tokens[:i] + tokens[i + 1 :]
        if word.lower() in ("sev", "severity", "--sev", "--severity") and i + 1 < len(words):
            following = words[i + 1]
            if re.fullmatch(r"\d|" + "|".join(_SEV_NAMES), following, re.IGNORECASE):
                parsed.options["sev"] = f"SEV{following}" if following.isdigit() else following.lower()
                return tokens[:i] + tokens[i + 2 :]
    if len(words) > 1 and words[-1].lower() in _SEV_NAMES:
        parsed.options["sev"] = words[-1].lower()
        return tokens[:-1]
    return tokens


def _severity_spaced(tokens: list[Token]) -> list[Token]:
    """`sev SEV 2`, `sev p 1`: a severity typed as two words is the one word it names."""
    if len(tokens) == 2 and all(t.kind == "word" for t in tokens):
        word, number = tokens[0].value, tokens[1].value
        if word.lower() in ("sev", "severity", "p") and number.isdigit():
            return [Token(kind="word", value=f"{'P' if word.lower() == 'p' else 'SEV'}{number}")]
    return tokens


def _takes_a_date(verb: Verb, key: str) -> bool:
    return any(o.name == key and o.slot in (Slot.MOMENT, Slot.DATE) for o in verb.options)


_CLOCK = re.compile(r"\d{1,2}(?::\d{2})?\s*(?:am|pm)|\d{1,2}:\d{2}", re.IGNORECASE)


def _date_continues(value: str, following: list[Token], *, tz: str, now: datetime) -> int:
    """How many of the words after `due:Dec` are its date: `due:Dec 10` is typed as often
    as `due:"Dec 10"`, and the 10 is not the title's (it was, with December 3rd next
    year for a due date)."""
    today = now.astimezone(zone(tz)).date()
    taken = 0
    for count in (2, 1):
        words = following[:count]
        if len(words) < count or any(t.kind != "word" for t in words):
            continue
        phrase = " ".join([value, *(t.value for t in words)])
        try:
            if calendar_date(phrase, today) is not None:
                taken = count
                break
        except TimeError:  # "Feb 30": the date, refused as one, not left in the title
            return count
    # A time of day after it (`due:tomorrow 3pm`) is the date's too: a due date is a day,
    # so the time is not kept, but it is not the title's either.
    after = following[taken] if len(following) > taken else None
    if after is not None and after.kind == "word" and _CLOCK.fullmatch(after.value):
        phrase = " ".join([value, *(t.value for t in following[: taken + 1])])
        if parse_moment(phrase, tz, now) is not None:
            return taken + 1
    return taken


def _due_in_words(tokens: list[Token], parsed: ParsedCommand, *, tz: str, now: datetime) -> list[Token]:
    """`followup … due friday` / `due next friday` / `due in 3 days` without the colon:
    the last `due` whose rest reads as a date. Otherwise it is part of the title."""
    for i in range(len(tokens) - 1, -1, -1):
        if tokens[i].kind == "word" and tokens[i].value.lower() == "due" and i + 1 < len(tokens):
            rest = [t for t in tokens[i + 1 :] if t.user is None]
            phrase = _plain(rest)
            today = now.astimezone(zone(tz)).date()
            if (
                phrase
                and len(rest) <= 4
                # A date refused as unclear only where it is what follows `due` (`due 04/12`):
                # `due to 2/3 replicas down` is a reason, and the title's.
                and (
                    parse_moment(phrase, tz, now) is not None
                    or unclear_date(rest[0].value, today) is not None
                )
            ):
                parsed.options["due"] = phrase
                return tokens[:i] + [t for t in tokens[i + 1 :] if t.user is not None]
    return tokens


_BETWEEN = ("to", "as")  # `assign comms to @sam`, `assign @sam as comms`


def _fill(
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
                return _usage(
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
                return _missing(verb, arg, command)
            continue
        if arg.slot in (Slot.WORD,):
            parsed.args[arg.name] = tokens[0].value
            tokens = tokens[1:]
        elif arg.slot is Slot.USER:
            if tokens[0].user is None:
                return _usage(
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
                return _usage(verb, f"`{verb.name}` needs at least one person.", command)
        elif arg.slot is Slot.MEMBERS:
            members: list[UserRef | GroupRef] = []
            while tokens and (_member(tokens[0]) or (members and _joining(tokens[0]))):
                member = _member(tokens[0])
                if member is not None:
                    members.append(member)
                tokens = tokens[1:]
            if not members:
                return _usage(
                    verb,
                    f"`{tokens[0].value}` is not a person or a user group: "
                    "mention them, like @bea or @sre-leads.",
                    command,
                )
            parsed.args[arg.name] = members
        elif arg.slot is Slot.PAGEE:
            # A mention is a person or a group; any other word is a name at the provider
            # (an escalation policy), matched there by the handler.
            parsed.args[arg.name] = _member(tokens[0]) or tokens[0].value
            tokens = tokens[1:]
        elif arg.slot is Slot.EVERY:
            words = [t.value for t in tokens]
            if words and words[0].lower() == "every":
                words = words[1:]
            phrase = " ".join(words).lower()
            # As people say it: weekly, every week, daily, fortnightly.
            phrase = _EVERY_WORDS.get(phrase, re.sub(r"^(\d+)?\s*(week|day|hour)s?$", r"\1 \2", phrase))
            phrase = phrase if re.match(r"^\d", phrase) else f"1 {phrase}"
            interval = parse_duration(phrase)
            if interval is None or interval < timedelta(minutes=15):
                return _usage(
                    verb,
                    "Say how often the rotation hands over, like `every 1w` "
                    "or `every 12h` (15 minutes at least).",
                    command,
                )
            parsed.args[arg.name] = interval
            tokens = []
        elif arg.slot is Slot.WHEN:
            try:
                parsed.args[arg.name] = parse_span(_plain(tokens), tz, now)
            except TimeError as exc:
                return _usage(verb, str(exc), command)
            tokens = []
        elif arg.slot is Slot.TEXT:
            if len(tokens) == 1 and _is_number(tokens[0]) and not arg.own_numbers:
                # `status resolved #1`: the number a PagerDuty card shows, meant as the
                # incident, as `status resolved pd:1` names it; taken as text, it was posted
                # as the note of the channel's own incident.
                typed = tokens[0].value
                if not verb.needs_incident or parsed.ref is not None:
                    return _usage(
                        verb,
                        f"`{typed}` alone reads as an incident's number, so it was not taken as "
                        "text: say more than the number.",
                        command,
                    )
                parsed.ref = parse_reference(typed, number=True)
                if arg.required:
                    return _missing(verb, arg, command)
                tokens = []
                continue
            parsed.args[arg.name] = _words(tokens)
            tokens = []
        elif arg.slot is Slot.REF:
            # Here, where the grammar puts nothing but a reference, a bare number is one too:
            # `link 7`, `link #7`, as a PagerDuty card shows it. Never in free text.
            ref = parse_reference(tokens[0].value, number=True)
            if ref is None:
                return _usage(
                    verb,
                    f"`{tokens[0].value}` is not an incident reference. "
                    "Use INC-12, PAGERDUTY:Q1ABC or the incident's URL.",
                    command,
                )
            parsed.args[arg.name] = ref
            tokens = tokens[1:]
    last = tokens[0].value if len(tokens) == 1 and _is_number(tokens[0]) else ""
    if last and verb.needs_incident and parsed.ref is None:
        # `sev critical #3`: as in a text, the number a PagerDuty card shows names the incident.
        parsed.ref = parse_reference(last, number=True)
        return None
    if tokens:
        extra = _plain(tokens)
        return _usage(verb, f"I didn't expect `{extra}` after `{verb.name}`.", command)
    return None


def _member(token: Token) -> UserRef | GroupRef | None:
    """A person or a user group in a list of them, a comma after it allowed (`@bea, @sam`)."""
    if token.user is not None or token.group is not None:
        return token.user or token.group
    name = token.value.rstrip(",")
    if token.kind == "word" and re.fullmatch(r"@[\w.\-]{1,80}", name):
        return UserRef(name=name[1:])
    return None


def _joining(token: Token) -> bool:
    """`@bea, @sam and @sre-leads`: the words between mentions in a list."""
    return token.kind == "word" and token.value.lower() in (",", "and", "&", "+")


def _read_options(
    verb: Verb, parsed: ParsedCommand, *, tz: str, now: datetime, command: str
) -> ParsedCommand | UsageError:
    for option in verb.options:
        key = option.name
        if option.values and key in parsed.options:
            word = str(parsed.options[key]).lower()
            if word not in option.values:
                listed = " or ".join(f"`{key}:{v}`" for v in option.values)
                return _usage(verb, f"`{key}:` takes {listed}.", command)
            parsed.options[key] = word
        if option.slot in (Slot.MOMENT, Slot.DATE) and key in parsed.options:
            today = now.astimezone(zone(tz)).date()
            why = unclear_date(parsed.options[key], today)
            try:
                calendar_date(parsed.options[key], today)
            except TimeError as exc:
                why = why or str(exc)
            if why is not None:
                return _usage(verb, f"`{key}:{parsed.options[key]}`: {why}", command)
            moment = parse_moment(parsed.options[key], tz, now)
            if moment is None:
                return _usage(
                    verb,
                    f"I couldn't read `{key}:{parsed.options[key]}` as a date. "
                    "Try friday, tomorrow or 2026-12-01.",
                    command,
                )
            if (
                option.slot is Slot.DATE
                and moment.astimezone(zone(tz)).date() < now.astimezone(zone(tz)).date()
            ):
                return _usage(
                    verb,
                    f"`{key}:{parsed.options[key]}` is {describe_day(moment, tz, now)}, in the past: "
                    "pick a date from today on.",
                    command,
                )
            parsed.options[key] = (
                on_day(moment.astimezone(zone(tz)).date(), tz) if option.slot is Slot.DATE else moment
            )
    return parsed


def _missing(verb: Verb, arg: Arg, command: str) -> UsageError:
    """A required argument not given: the usage line, or a form where the transport has one."""
    error = _usage(verb, f"`{verb.name}` needs {_article(arg.name)}.", command)
    error.missing = True
    return error


def _article(name: str) -> str:
    """By sound, not letter: "an update", but "a user" (it starts with a "you")."""
    vowel = name[0] in "aeio" or (name[0] == "u" and not name.startswith(("us", "uni")))
    return ("an " if vowel else "a ") + name
