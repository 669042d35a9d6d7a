"""`invite`: people and Slack user groups brought into the incident's channel."""

from __future__ import annotations

from bot.commands.context import Context
from bot.commands.handlers.table import handles
from bot.commands.invites import LARGE_GROUP, bring_in, incident_channels
from bot.commands.parsed import GroupRef, UserRef
from bot.commands.results import AskInvite, Invited, Reply, Result
from bot.domain import Person

ASKED_WITHIN = 15 * 60.0  # typed again this soon after the question: the answer is yes


@handles("invite")
async def invite(ctx: Context) -> Result | Reply:
    named = ctx.arg("person")
    if not isinstance(named, list) or not named:
        raise ctx.refuse(f"Say who: `{ctx.verb.usage(ctx.command)}`.")
    people: list[Person] = []
    groups: dict[str, frozenset[str]] = {}
    for ref in named:
        if isinstance(ref, GroupRef):
            groups[ref.handle] = await _group(ctx, ref.id, ref.handle)
        elif isinstance(ref, UserRef):
            person = await _person_or_group(ctx, ref, groups)
            if person is not None:
                people.append(person)
    incident = await ctx.incident()
    large = {handle: len(members) for handle, members in groups.items() if len(members) > LARGE_GROUP}
    if large and not await _answered(ctx, sorted(large)):
        asked = AskInvite(
            verb=ctx.verb.name,
            text=_words(named),
            provider=ctx.provider.name,
            incident_id=incident.id,
            reference=incident.reference,
            groups=large,
            threshold=LARGE_GROUP,
        )
        return Reply(result=asked, outcome="asked")
    channels = await incident_channels(ctx.store, ctx.provider.name, incident, ctx.invocation.channel_id)
    if not channels:
        raise ctx.refuse(
            f"{incident.reference} has no channel to invite anyone to: "
            f"`{ctx.command} link {incident.reference}` in one first."
        )
    wanted = [p.slack_id for p in people] + [u for members in groups.values() for u in sorted(members)]
    brought = await bring_in(ctx.workspace, channels, wanted)
    names = {p.slack_id: p for p in people}
    result = Invited(
        reference=incident.reference,
        actor=ctx.actor,
        invited=[names.get(u, Person(slack_id=u)) for u in brought.invited],
        already=[names.get(u, Person(slack_id=u)) for u in brought.already],
        groups=sorted(groups),
        named=[p.slack_id for p in people],
        failed=brought.failed,
    )
    if not brought.invited:
        result.visibility = "ephemeral"  # nothing changed: nobody else needs to hear it
        return Reply(result=result, outcome="failed" if brought.failed else "ok")
    return result


async def _group(ctx: Context, group_id: str, handle: str) -> frozenset[str]:
    members = await ctx.workspace.group_members(group_id)
    if not members:
        raise ctx.refuse(
            f"@{handle} has nobody in it that I can see (or I can't read it): "
            "name the people instead, or ask whoever runs the bot to check its usergroups:read scope."
        )
    return members


async def _person_or_group(ctx: Context, ref: UserRef, groups: dict[str, frozenset[str]]) -> Person | None:
    """A typed `@name` (no mention id) may be a person or a user group's handle."""
    if ref.me or ref.id:
        return await ctx.person(ref)
    name = ref.name or ""
    found = await ctx.workspace.find_user(name)
    if found is not None:
        return found
    group_id = await ctx.workspace.find_group(name)
    if group_id is None:
        raise ctx.refuse(
            f"I can't find @{name}. Pick them, or the group, from Slack's autocomplete so the "
            "mention is a real one."
        )
    groups[name] = await _group(ctx, group_id, name)
    return None


async def _answered(ctx: Context, handles: list[str]) -> bool:
    """The question was answered yes: its button (which carries the incident), or the same
    invite typed again after it was asked."""
    if ctx.parsed.target is not None:
        return True
    key = (
        f"asked-invite:{ctx.invocation.team_id}:{ctx.actor.slack_id}:"
        f"{ctx.provider.name}:{ctx.incident_id}:{','.join(handles)}"
    )
    return not await ctx.store.claims.claim(key, window=ASKED_WITHIN)


def _words(named: list[object]) -> str:
    """The invite as Slack would send it, for the question's button: the mentions' ids
    kept, which plain text (`@sre-leads`) would lose."""
    words = []
    for ref in named:
        if isinstance(ref, GroupRef):
            words.append(f"<!subteam^{ref.id}|@{ref.handle}>")
        elif isinstance(ref, UserRef) and ref.id:
            words.append(f"<@{ref.id}|{ref.name}>" if ref.name else f"<@{ref.id}>")
        elif isinstance(ref, UserRef):
            words.append("me" if ref.me else f"@{ref.name}")
    return " ".join(words)
