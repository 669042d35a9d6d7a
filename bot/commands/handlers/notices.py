"""The bot's own notices, by hand: snoozing reminders (bot/commands/timers.py)."""

from __future__ import annotations

import re

from bot.commands.context import Context
from bot.commands.handlers.table import handles
from bot.commands.results import Failure, Result, Snoozed
from bot.commands.timeparse import parse_duration
from bot.commands.timers import SNOOZE_NUDGES, SNOOZE_REMINDERS
from bot.providers import facets

_SNOOZE = re.compile(r"^(?:#(?P<number>\d+))?\s*(?:for\s+)?(?P<span>.*)$", re.IGNORECASE)
LONGEST = 60 * 60 * 24 * 31  # a month: past that it is not a snooze


@handles("snooze")
async def snooze(ctx: Context) -> Result:
    assert ctx.incident_id is not None and ctx.timers is not None
    typed = _SNOOZE.match(str(ctx.arg("for") or "").strip())
    assert typed is not None  # the pattern matches anything
    number = int(typed["number"]) if typed["number"] else None
    span = parse_duration(typed["span"]) if typed["span"].strip() else None
    if typed["span"].strip() and span is None:
        raise ctx.refuse(f"`{typed['span'].strip()}` is not a length of time: say `30m`, `2h` or `1w`.")
    span = span or (SNOOZE_REMINDERS if number is None else SNOOZE_NUDGES)
    if not 0 < span.total_seconds() <= LONGEST:
        raise ctx.refuse("Snooze for a month at the most.")
    until = ctx.clock.now() + span
    reference = ctx.reference or ctx.incident_id
    if not await ctx.timers.snooze(ctx.provider.name, ctx.incident_id, until, number):
        keeps = facets.facet(ctx.provider, facets.FollowUps)
        if number is not None and keeps is not None:
            if number not in {f.number for f in await keeps.list_followups(ctx.incident_id)}:
                raise ctx.refuse(
                    f"{reference} has no follow-up #{number}: `{ctx.command} followups` lists them."
                )
        what = (
            f"Follow-up #{number} of {reference} has no reminders to snooze (none is due, or it is done)."
            if number is not None
            else f"{reference} has no update reminders to snooze (its severity has none, or it is resolved)."
        )
        return Failure(what=what)
    result = Snoozed(reference=reference, actor=ctx.actor, until=until, tz=ctx.invocation.tz, followup=number)
    if number is not None:
        result.visibility = "ephemeral"  # one person's own reminder
    return result
