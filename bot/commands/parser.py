"""From the text after `/incident` to a typed command, or a usage message.

Here: which verb, which incident (a reference where the grammar puts one), and the
`key:value` options. The tokens are `tokens.py`'s, the words people type for an option
`shorthand.py`'s, and a verb's arguments are filled by `filling.py` from its declaration.

`parse` never raises: every input ends as a `ParsedCommand` or a `UsageError`.
"""

from __future__ import annotations

import difflib
import re
from datetime import datetime

from bot.clock import SYSTEM
from bot.commands import registry
from bot.commands.filling import fill, read_options, usage
from bot.commands.invocation import MAX_TEXT
from bot.commands.parsed import ParsedCommand, UsageError
from bot.commands.refs import looks_like_trailing_reference, parse_reference
from bot.commands.registry import Choices, Slot, Verb
from bot.commands.shorthand import (
    OPTION_ALIASES,
    date_continues,
    due_in_words,
    meant_as_option,
    severity_in_words,
    severity_spaced,
    takes_a_date,
)
from bot.commands.tokens import Token, is_reference, plain, tokenize

_OPTION = re.compile(r"^(?P<key>[A-Za-z_]+):(?P<value>.+)$", re.DOTALL)


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
        return usage(None, f"I don't know `{word}`. Here is what I can do: `{command} help`.", command)
    name, later = nearest
    if later:
        return usage(None, not_yet(word, command) or "", command)
    return usage(
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
        return usage(None, "That command is too long (over 4,000 characters).", command)
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
    parsed = ParsedCommand(verb=verb.name, text=plain(rest))

    # key:value options this verb declares; other colons stay text ("error: db down").
    remaining: list[Token] = []
    taken: set[int] = set()  # words a date option took after it (`due:Dec 10`)
    for at, token in enumerate(rest):
        if at in taken:
            continue
        option = _OPTION.match(token.value) if token.kind == "word" else None
        key = OPTION_ALIASES.get(option["key"].lower(), option["key"].lower()) if option else ""
        if option and verb.needs_incident and key in _INCIDENT_KEYS:
            # `incident:INC-6`: the one way to name another incident inside free text.
            ref = parse_reference(option["value"].strip().strip('"“”'))
            if ref is None:
                return usage(
                    verb,
                    f"`{option['value']}` is not an incident reference. "
                    "Use INC-12, PAGERDUTY:Q1ABC or the incident's URL.",
                    command,
                )
            if parsed.ref is not None:
                return usage(verb, "Name one incident: a command acts on one at a time.", command)
            parsed.ref = ref
            parsed.text = plain([t for t in rest if t is not token])
        elif option and key in verb.option_names:
            value = option["value"].strip().strip('"“”').strip()
            if not value:
                return usage(verb, f"`{option['key']}:` needs a value.", command)
            if takes_a_date(verb, key) and not option["value"].startswith(('"', "“")):
                more = date_continues(value, rest[at + 1 :], tz=tz, now=now)
                value = " ".join([value, *(t.value for t in rest[at + 1 : at + 1 + more])])
                taken.update(range(at + 1, at + 1 + more))
            parsed.options[key] = value
        elif option and meant_as_option(option["key"].lower(), option["value"], verb):
            takes = ", ".join(f"`{name}:`" for name in verb.option_names) or "no key:value options"
            return usage(verb, f"`{verb.name}` doesn't take `{option['key']}:`; it takes {takes}.", command)
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
        if start is not None and len(remaining) > start + 1 and is_reference(remaining[start]):
            return _no_form(_with_ref(verb, remaining, start, parsed, rest, tz=tz, now=now, command=command))
        if start != 0 and len(remaining) > 1 and is_reference(remaining[0]):
            # Right after the verb, too: `status INC-2 resolved`, `sev INC-2 critical`. A
            # reference is never a status, a severity or a person, which it was read as.
            return _no_form(_with_ref(verb, remaining, 0, parsed, rest, tz=tz, now=now, command=command))
        if remaining and is_reference(remaining[-1]):
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
    with_ref.text = plain([t for t in rest if t is not found])
    tokens = remaining[:at] + remaining[at + 1 :]
    return _complete(verb, tokens, with_ref, tz=tz, now=now, command=command)


def _has_free_text(verb: Verb, parsed: ParsedCommand) -> bool:
    return any(arg.slot is Slot.TEXT and parsed.args.get(arg.name) for arg in verb.args)


def _complete(
    verb: Verb, remaining: list[Token], parsed: ParsedCommand, *, tz: str, now: datetime, command: str
) -> ParsedCommand | UsageError:
    if "sev" in verb.option_names and "sev" not in parsed.options:
        remaining = severity_in_words(remaining, parsed)
    if "due" in verb.option_names and "due" not in parsed.options:
        remaining = due_in_words(remaining, parsed, tz=tz, now=now)
    if any(arg.choices is Choices.SEVERITIES for arg in verb.args):
        remaining = severity_spaced(remaining)
    error = fill(verb, remaining, parsed, tz=tz, now=now, command=command)
    if error:
        return error
    return read_options(verb, parsed, tz=tz, now=now, command=command)
