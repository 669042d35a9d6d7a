"""On-call: who is on now, overrides, and the built-in provider's rotations."""

from __future__ import annotations

import re
from datetime import datetime, timedelta

from bot.commands.context import Context
from bot.commands.handlers.table import handles
from bot.commands.naming import match
from bot.commands.parsed import UserRef
from bot.commands.registry import CANCEL_WORDS
from bot.commands.results import (
    Failure,
    HandoversSet,
    OnCallList,
    OverrideCancelled,
    OverrideCreated,
    Overrides,
    Result,
    Schedules,
)
from bot.commands.timeparse import TimeSpan, describe
from bot.commands.timers import channel_id_of
from bot.domain import Override, Rejected
from bot.providers import facets
from bot.providers.facets import facet


async def _schedule_name(ctx: Context, typed: str) -> str:
    names: dict[str, list[str]] = {s.name: [] for s in await ctx.provider.schedules()}
    return ctx.chosen(match(typed, names, "schedule"))


@handles("oncall")
async def oncall(ctx: Context) -> Result:
    typed = ctx.arg("schedule")
    schedule = await _schedule_name(ctx, str(typed)) if typed else None
    at = ctx.clock.now()
    entries = await ctx.provider.oncall(schedule, at)
    asked = ctx.arg("person")
    if isinstance(asked, UserRef):  # `oncall me`: where this person is on call now
        person = await ctx.person(asked)
        theirs = [e for e in entries if e.person is not None and e.person.slack_id == person.slack_id]
        if theirs:
            return OnCallList(entries=theirs, tz=ctx.invocation.tz, at=at)
        whom = "You are" if person.slack_id == ctx.actor.slack_id else f"@{person.name or person.slack_id} is"
        where = f"on {schedule}" if schedule else "on any schedule"
        return OnCallList(
            entries=entries, tz=ctx.invocation.tz, at=at, heading=f"{whom} not on call {where} now. Who is:"
        )
    return OnCallList(entries=entries, tz=ctx.invocation.tz, at=at)


async def _yours_or_admin(ctx: Context, person_id: str) -> bool:
    """On-call that concerns `person_id`: theirs to change, or an admin's."""
    if person_id == ctx.actor.slack_id or ctx.settings.everyone_is_admin:
        return True
    return bool(ctx.is_admin and await ctx.is_admin())


@handles("override")
async def override(ctx: Context) -> Result:
    schedule = await _schedule_name(ctx, str(ctx.arg("schedule")))
    ref = ctx.required("user", UserRef)
    person = await ctx.person(ref)
    span = ctx.required("when", TimeSpan)
    on_then = await ctx.provider.oncall(schedule, span.start)  # whom it replaces, said in the answer
    # Putting someone else on call is the admins', or the person on call then handing over.
    handing_over = any(e.person and e.person.slack_id == ctx.actor.slack_id for e in on_then)
    if not handing_over and not await _yours_or_admin(ctx, person.slack_id):
        return Failure(
            what=f"Only the bot's admins, or whoever is on call on {schedule} then, "
            "can put someone else on call.",
            next_step=f"Put yourself on (`{ctx.command} override {schedule} me …`), or ask an admin.",
        )
    replaces = [e.person for e in on_then if e.person]
    overlaps: list[Override] = []  # overrides already in that time: said, this one wins where they meet
    lister = facet(ctx.provider, facets.ListsOverrides)
    if lister is not None:
        try:
            listed = await lister.list_overrides(schedule, span.start)
        except Rejected:  # a schedule whose overrides cannot be listed (PagerDuty's shift-based)
            lister, listed = None, []
        existing = await ctx.store.override_numbers.number(ctx.provider.name, _in_order(listed))
        same = next((o for o in existing if _covers(o, person.slack_id, span)), None)
        if same is not None:
            return _already(ctx, same)
        overlaps = [o for o in existing if o.overlaps(span.start, span.end)]
    created = await ctx.require(facets.Overrides).create_override(
        schedule, person, span.start, span.end, ctx.actor
    )
    if lister is not None:
        [created] = await ctx.store.override_numbers.number(ctx.provider.name, [created])
    return OverrideCreated(
        override=created,
        actor=ctx.actor,
        tz=ctx.invocation.tz,
        replaces=replaces,
        overlaps=overlaps,
        at=ctx.clock.now(),
    )


# Typed twice a minute apart, `for 2h` is two spans a minute apart: the same override.
SAME_WITHIN = timedelta(minutes=5)


def _covers(existing: Override, person_id: str, span: TimeSpan) -> bool:
    """An override of the same person that already covers the span: a second would add
    nothing but a line to cancel twice."""
    return (
        existing.person.slack_id == person_id
        and existing.start <= span.start + SAME_WITHIN
        and existing.end >= span.end - SAME_WITHIN
    )


def _already(ctx: Context, same: Override) -> Failure:
    when = f"{describe(same.start, ctx.invocation.tz, ctx.clock.now())} to "
    when += describe(same.end, ctx.invocation.tz, ctx.clock.now())
    who = f"@{same.person.name}" if same.person.name else "Whoever you named"
    return Failure(
        what=f"{who} is already on call on {same.schedule.name} then, by override #{same.number} "
        f"({when}): nothing was added.",
        next_step=f"To change it, cancel it (`{ctx.command} override cancel #{same.number}`) "
        "and make the new one.",
    )


def _in_order(listed: list[Override]) -> list[Override]:
    """Upcoming first, once each (a provider may list one override on two pages)."""
    unique = {o.id: o for o in listed}
    return sorted(unique.values(), key=lambda o: (o.start, o.schedule.name, o.id))


_CANCEL = re.compile(
    rf"^(?:{'|'.join(CANCEL_WORDS)})\b\s*(?:(?P<schedule>[^#\s\d]\S*)\s+)?#?(?P<number>\d+)?$", re.I
)


@handles("overrides")
async def overrides(ctx: Context) -> Result:
    """`overrides [schedule]` lists; `override cancel [schedule] #n` removes the n-th listed."""
    words = str(ctx.arg("schedule") or "").strip()
    cancel = _CANCEL.match(words)
    if cancel and not cancel["number"]:
        raise ctx.refuse(
            f"Say which, like `{ctx.command} override cancel #2`: `{ctx.command} overrides` numbers them."
        )
    typed = (cancel["schedule"] if cancel else words) or ""
    schedule = await _schedule_name(ctx, typed) if typed else None
    lister = ctx.require(facets.ListsOverrides)
    at = ctx.clock.now()
    listed = _in_order([o for o in await lister.list_overrides(schedule, at) if o.end > at])
    # Numbered by the store, not by position: cancelling #1 leaves #2 as #2.
    upcoming = await ctx.store.override_numbers.number(ctx.provider.name, listed)
    if not cancel:
        return Overrides(overrides=upcoming, tz=ctx.invocation.tz, schedule=schedule, at=at)
    number = int(cancel["number"])
    chosen = next((o for o in upcoming if o.number == number), None)
    if chosen is None:
        where = f" on {schedule}" if schedule else ""
        raise ctx.refuse(
            f"There is no override #{number}{where} ({len(upcoming)} upcoming): "
            f"`{ctx.command} overrides{' ' + schedule if schedule else ''}` lists them."
        )
    if not await _yours_or_admin(ctx, chosen.person.slack_id):
        return Failure(
            what="Only the bot's admins, or the person an override puts on call, can cancel it.",
            next_step="Ask an admin, or the person it puts on call.",
        )
    removed = await lister.cancel_override(chosen, ctx.actor)
    return OverrideCancelled(
        override=chosen, actor=ctx.actor, tz=ctx.invocation.tz, ended_now=not removed, at=at
    )


@handles("schedule")
async def schedule(ctx: Context) -> Result:
    name = ctx.arg("name")
    users = ctx.arg("users")
    if "channel" in ctx.parsed.options and not users:
        return await _handovers(ctx, str(name or ""), str(ctx.parsed.options["channel"]))
    if not users:
        found = await ctx.provider.schedules()
        if name:
            chosen = ctx.chosen(match(str(name), {s.name: [] for s in found}, "schedule"))
            found = [s for s in found if s.name == chosen]
        return Schedules(schedules=found, tz=ctx.invocation.tz, visibility="ephemeral")  # a read
    save = ctx.require(facets.SavesSchedules).save_schedule
    every = ctx.arg("every")
    if not isinstance(every, timedelta):
        raise ctx.refuse("Say how often it hands over, like `every 1w`.")
    if len(str(name)) > 80:
        raise ctx.refuse("Keep the schedule's name under 80 characters.")
    people = (
        [await ctx.person(ref) for ref in users if isinstance(ref, UserRef)]
        if isinstance(users, list)
        else []
    )
    typed_start: datetime | None = ctx.parsed.options.get("from")
    at = ctx.clock.now()
    start = typed_start or this_whole_hour(at)
    saved = await save(str(name).lower(), people, every, start)
    return Schedules(
        schedules=[saved],
        tz=ctx.invocation.tz,
        saved=True,
        starts_later=start if start > at else None,
        start_by_default=typed_start is None,
    )


def this_whole_hour(at: datetime) -> datetime:
    """Where a rotation is anchored when no `from:` is typed. Handovers at the minute
    someone happened to type the command are a surprise a week later, so they fall on the
    hour; anchored at this hour, not the next, so the first person is on call from now
    rather than nobody for up to an hour."""
    return at.replace(minute=0, second=0, microsecond=0)


async def _handovers(ctx: Context, typed: str, channel: str) -> Result:
    """`schedule primary channel:#sre`: post there whenever who is on call changes."""
    assert ctx.timers is not None
    if not typed:
        raise ctx.refuse("Name the schedule, like `schedule primary channel:#sre`.")
    name = await _schedule_name(ctx, typed)
    if channel.lower() == "off":
        channel_id = None
    else:
        channel_id = channel_id_of(channel, ctx.invocation.channel_id)
        if channel_id is None:
            raise ctx.refuse(
                f"`{channel}` is not a channel: pick one from Slack's autocomplete, or say `here`."
            )
    await ctx.timers.watch_schedule(ctx.provider.name, name, channel_id, ctx.invocation.team_id)
    return HandoversSet(schedule=name, channel_id=channel_id, actor=ctx.actor)
