"""What people type without the grammar's colons, read as the option they meant: `sev 1`
and `critical` in a title, `due friday` in a follow-up, `due:Dec 10` with its space, and a
`key:value` that looks like a mistyped option rather than words (`owner:@sam`)."""

from __future__ import annotations

import difflib
import re
from datetime import datetime

from bot.commands import registry
from bot.commands.parsed import ParsedCommand
from bot.commands.registry import Slot, Verb
from bot.commands.timeparse import TimeError, calendar_date, parse_moment, unclear_date, zone
from bot.commands.tokens import Token, plain

# Keys people type as options: every verb's, and the usual other names for them.
_OPTION_WORDS = {option.name for verb in registry.VERBS for option in verb.options} | {
    "severity",
    "priority",
    "owner",
    "assignee",
    "until",
    "deadline",
}


OPTION_ALIASES = {"severity": "sev", "priority": "sev"}


def meant_as_option(key: str, value: str, verb: Verb) -> bool:
    """`owner:@sam` or `due:friday` on a verb that has no such option is a mistake worth
    saying, not words for a title; `error:db` or a URL stays text."""
    if value.startswith("//"):
        return False
    known = _OPTION_WORDS | set(verb.option_names)
    return key in known or bool(difflib.get_close_matches(key, known, n=1, cutoff=0.8))


_SEV_WORD = re.compile(r"^(?:sev|severity)[-_ ]?(\d)$|^p(\d)$", re.IGNORECASE)
_SEV_NAMES = ("critical", "major", "minor")


def severity_in_words(tokens: list[Token], parsed: ParsedCommand) -> list[Token]:
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


def severity_spaced(tokens: list[Token]) -> list[Token]:
    """`sev SEV 2`, `sev p 1`: a severity typed as two words is the one word it names."""
    if len(tokens) == 2 and all(t.kind == "word" for t in tokens):
        word, number = tokens[0].value, tokens[1].value
        if word.lower() in ("sev", "severity", "p") and number.isdigit():
            return [Token(kind="word", value=f"{'P' if word.lower() == 'p' else 'SEV'}{number}")]
    return tokens


def takes_a_date(verb: Verb, key: str) -> bool:
    return any(o.name == key and o.slot in (Slot.MOMENT, Slot.DATE) for o in verb.options)


_CLOCK = re.compile(r"\d{1,2}(?::\d{2})?\s*(?:am|pm)|\d{1,2}:\d{2}", re.IGNORECASE)


def date_continues(value: str, following: list[Token], *, tz: str, now: datetime) -> int:
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


def due_in_words(tokens: list[Token], parsed: ParsedCommand, *, tz: str, now: datetime) -> list[Token]:
    """`followup … due friday` / `due next friday` / `due in 3 days` without the colon:
    the last `due` whose rest reads as a date. Otherwise it is part of the title."""
    for i in range(len(tokens) - 1, -1, -1):
        if tokens[i].kind == "word" and tokens[i].value.lower() == "due" and i + 1 < len(tokens):
            rest = [t for t in tokens[i + 1 :] if t.user is None]
            phrase = plain(rest)
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
