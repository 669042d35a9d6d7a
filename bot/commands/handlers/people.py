"""Roles, tasks and follow-ups: who does what, now and after the incident."""

from __future__ import annotations

import re

from bot.commands.context import Context
from bot.commands.handlers.table import handles
from bot.commands.naming import match
from bot.commands.parsed import UserRef
from bot.commands.results import Changed, FollowUpAdded, FollowUps, Result, Roles
from bot.domain import FollowUp
from bot.providers import facets

_DONE = re.compile(r"^(?:done|close|complete)((?:\s*,?\s*(?:and\s+)?#?\d+)*)\s*$", re.IGNORECASE)
_DONE_NAMED = re.compile(r"^(?:done|close|complete)\s+(.+)$", re.IGNORECASE | re.DOTALL)


@handles("assign", "lead")
async def assign(ctx: Context) -> Result:
    roles = ctx.require(facets.Roles)
    role_names = await roles.role_names()
    ref = ctx.required("user", UserRef)
    if ctx.verb.gives_lead:
        role = role_names[0]
    elif ctx.arg("role") is None:  # `assign @bea`: the role is what is missing
        listed = ", ".join(f"`{r}`" for r in role_names)
        whom = "you" if ref.me else f"@{ref.name or ref.id}"
        raise ctx.refuse(
            f"Which role should {whom} have? The roles here: {listed}. "
            f"Say it first: `{ctx.command} assign {role_names[-1]} {'me' if ref.me else whom}`."
        )
    else:
        # A role's own short names where the provider has them (incident.io's `comms`).
        short = ctx.provider if isinstance(ctx.provider, facets.NamesRoles) else None
        aliases = await short.role_aliases() if short is not None else {}
        names = {r: aliases.get(r, []) for r in role_names}
        role = ctx.chosen(match(str(ctx.arg("role")), names, "role"))
    person = await ctx.person(ref)
    incident = await roles.assign_role(ctx.incident_id or "", role, person, ctx.actor)
    return Changed(incident=incident, actor=ctx.actor, what=f"made {{person}} {role}", person=person)


@handles("reassign")
async def reassign(ctx: Context) -> Result:
    ref = ctx.required("user", UserRef)
    person = await ctx.person(ref)
    incident = await ctx.require(facets.Reassigns).reassign(ctx.incident_id or "", person, ctx.actor)
    return Changed(incident=incident, actor=ctx.actor, what="handed the incident to {person}", person=person)


@handles("roles")
async def roles(ctx: Context) -> Result:
    incident = await ctx.incident()
    return Roles(incident=incident, role_names=await ctx.require(facets.Roles).role_names())


@handles("followup")
async def followup(ctx: Context) -> Result:
    title = str(ctx.arg("title")).strip()
    incident_id = ctx.incident_id or ""
    followups_of = ctx.require(facets.FollowUps)
    done = _DONE.match(title)
    named = None if done else await _open_titled(followups_of, incident_id, title)
    if done or named is not None:
        typed = done[1] if done is not None else ""
        numbers = [named.number] if named is not None else [int(n) for n in re.findall(r"\d+", typed)]
        if not numbers:  # which one? the open ones, numbered
            incident = await ctx.incident()
            items = [f for f in await followups_of.list_followups(incident_id) if f.state == "open"]
            pick = f"{ctx.command} followup done #{items[0].number if items else 1}"
            return FollowUps(
                incident=incident, followups=items, tz=ctx.invocation.tz, pick=pick if items else None
            )
        items = [
            await followups_of.complete_followup(incident_id, n, ctx.actor) for n in dict.fromkeys(numbers)
        ]
        incident = await ctx.incident_after_work()
        if len(items) > 1:
            listed = ", ".join(f"#{item.number}" for item in items)
            return Changed(incident=incident, actor=ctx.actor, what=f"completed follow-ups {listed}")
        return FollowUpAdded(
            incident=incident, followup=items[0], actor=ctx.actor, completed=True, tz=ctx.invocation.tz
        )
    if not title:
        raise ctx.refuse("A follow-up needs a title: what should be done?")
    if len(title) > 500:
        raise ctx.refuse("That follow-up title is over 500 characters: keep it short.")
    ref = ctx.arg("assignee")
    assignee = await ctx.person(ref) if isinstance(ref, UserRef) else None
    item = await followups_of.add_followup(
        incident_id, title, assignee, ctx.parsed.options.get("due"), ctx.actor
    )
    incident = await ctx.incident_after_work()
    return FollowUpAdded(
        incident=incident, followup=item, actor=ctx.actor, tz=ctx.invocation.tz, at=ctx.clock.now()
    )


async def _open_titled(followups_of: facets.FollowUps, incident_id: str, title: str) -> FollowUp | None:
    """`followup done Add the alert`: the one open follow-up with that title (or beginning
    so), to complete. None, and the words are a new follow-up's title, where none or
    several are (`followup close the firewall port` is a task of its own)."""
    named = _DONE_NAMED.match(title)
    if named is None:
        return None
    wanted = " ".join(named[1].split()).casefold()
    items = await followups_of.list_followups(incident_id)
    # Its exact title first, done or not (done already, it is said so, not added again);
    # then the one open follow-up beginning so.
    hits = [f for f in items if " ".join(f.title.split()).casefold() == wanted]
    if not hits:
        hits = [f for f in items if f.state == "open" and f.title.casefold().startswith(wanted)]
    return hits[0] if len(hits) == 1 else None


@handles("followups")
async def followups(ctx: Context) -> Result:
    incident = await ctx.incident()
    items = await ctx.require(facets.FollowUps).list_followups(ctx.incident_id or "")
    return FollowUps(incident=incident, followups=items, tz=ctx.invocation.tz, at=ctx.clock.now())


def _tasks(ctx: Context) -> facets.Tasks:
    return ctx.require(facets.Tasks)


@handles("task")
async def task(ctx: Context) -> Result:
    title = str(ctx.arg("title")).strip()
    incident_id = ctx.incident_id or ""
    done = _DONE.match(title)
    numbers = [int(n) for n in re.findall(r"\d+", done[1])] if done else []
    if done and not numbers:
        raise ctx.refuse(f"Which task? Say `{ctx.command} task done #1`; `{ctx.command} tasks` lists them.")
    if done:
        for number in numbers[:-1]:
            await _tasks(ctx).complete_task(incident_id, number, ctx.actor)
        item = await _tasks(ctx).complete_task(incident_id, numbers[-1], ctx.actor)
    else:
        if len(title) > 500:
            raise ctx.refuse("That task is over 500 characters: keep it short.")
        ref = ctx.arg("assignee")
        assignee = await ctx.person(ref) if isinstance(ref, UserRef) else None
        item = await _tasks(ctx).add_task(incident_id, title, assignee, ctx.actor)
    incident = await ctx.incident_after_work()
    return FollowUpAdded(
        incident=incident,
        followup=item,
        actor=ctx.actor,
        completed=bool(done),
        tz=ctx.invocation.tz,
        kind="task",
    )


@handles("tasks")
async def tasks(ctx: Context) -> Result:
    incident = await ctx.incident()
    items = await _tasks(ctx).list_tasks(ctx.incident_id or "")
    return FollowUps(incident=incident, followups=items, tz=ctx.invocation.tz, kind="task")
