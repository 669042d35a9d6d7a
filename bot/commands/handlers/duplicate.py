"""`duplicate INC-6`: this incident is the same as INC-6, which goes on.

At the provider it is merged into the other (PagerDuty) or resolved with a note pointing at
it (incident.io, FireHydrant and the built-in one, whose APIs have no merge). Then every
channel that followed it follows the other: its link moves and the other's card is pinned
there, and the other incident's own channels are told who joined them.

Resolving an incident and moving its channels is not undone by a second command, so typed
it is asked first (bot/commands/confirm.py): the question's button, or the same command typed
again, does it. Naming the incident itself, or one at another
provider, is refused before anything is read or changed.
"""

from __future__ import annotations

from bot.commands.confirm import confirmed
from bot.commands.confirm import done as asked_done
from bot.commands.context import Context
from bot.commands.handlers.table import handles
from bot.commands.refs import Reference
from bot.commands.results import AskDuplicate, DuplicateJoined, MarkedDuplicate, Post, Reply, Result, card
from bot.domain import Link
from bot.providers import facets
from bot.providers.base import shown_label
from bot.providers.facets import offered


@handles("duplicate")
async def duplicate(ctx: Context) -> Result | Reply:
    marks = ctx.require(facets.MarksDuplicate)
    ref = ctx.required("of", Reference)
    provider = ctx.provider
    this = await ctx.incident()
    if ref.provider is not None and ref.provider != provider.name:
        other = ctx.providers.get(ref.provider)
        where = other.label if other is not None else ref.provider
        raise ctx.refuse(
            f"{ref.raw} is at {where}, and {this.reference} at {provider.label}: an incident can only "
            f"be a duplicate of one at the same provider. Nothing was changed. To follow {ref.raw} "
            f"here instead, `{ctx.command} link {ref.raw}`."
        )
    of_id = provider.parse_reference(ref.id)
    if of_id is None:
        raise ctx.refuse(f"`{ref.raw}` is not an incident reference at {provider.label}.")
    if _same(of_id, ref.raw, this.id, this.reference):
        raise ctx.refuse(
            f"{ref.raw} is this incident itself: name the other incident, the one that goes on. "
            "Nothing was changed."
        )
    of = await ctx.incident(of_id)
    if ctx.privacy is not None and not await ctx.privacy.may_see(ctx.invocation, provider.name, of.id):
        # Marked its duplicate, this channel would follow it: its card, its updates, its verbs.
        return Reply(result=ctx.privacy.refusal(of.reference, linking=True), outcome="refused")
    if (of.provider, of.id) == (this.provider, this.id):
        raise ctx.refuse(
            f"{ref.raw} is {this.reference} itself: name the other incident, the one that goes on. "
            "Nothing was changed."
        )
    if of.closed:
        raise ctx.refuse(
            f"{of.reference} is resolved: a duplicate is marked against the incident that goes on. "
            f"Reopen {of.reference} first, or resolve {this.reference} with a note. Nothing was changed."
        )
    merges = marks.merges()
    channels = await ctx.store.links.channels_for(provider.name, this.id)
    label = shown_label(provider) or "the built-in provider"
    if not await confirmed(ctx, this.id, of.id):
        ask = AskDuplicate(
            verb=ctx.verb.name,
            text=ref.raw,
            provider=provider.name,
            incident_id=this.id,
            reference=this.reference,
            of_reference=of.reference,
            of_name=of.name,
            of_url=of.url,
            provider_label=label,
            merges=merges,
            moving=[link.channel_id for link in channels],
            typed=ctx.invocation.text,
        )
        return Reply(result=ask, outcome="asked")

    note = f"Duplicate of {of.reference}: {of.name}" + (f" ({of.url})" if of.url else "")
    note += f". Marked from Slack by {ctx.actor.name or ctx.actor.slack_id}; the work goes on there."
    done = await marks.mark_duplicate(this.id, of, note, ctx.actor, key=ctx.invocation.request_id)
    await asked_done(ctx, this.id, of.id)
    if ctx.fresh is not None:
        ctx.fresh.forget(provider.name, of.id)  # a merge changed it too (its alerts)
    already = {link.channel_id for link in await ctx.store.links.channels_for(provider.name, of.id)}
    moved: list[str] = []
    for link in channels:
        await ctx.store.links.link(
            Link(link.team_id, link.channel_id, provider.name, of.id, of.reference), ctx.actor.slack_id
        )
        moved.append(link.channel_id)
    follows = f"marked {this.reference} a duplicate of {of.reference}, so this channel now follows it"
    posts = [
        Post(
            channel_id=channel,
            result=card(of, offered(provider), ctx.clock.now(), note=follows, actor=ctx.actor),
        )
        for channel in moved
    ]
    joined = DuplicateJoined(
        reference=this.reference,
        name=this.name,
        of_reference=of.reference,
        actor=ctx.actor,
        merged=done.merged,
        provider_label=label,
        moved=moved,
    )
    posts += [Post(channel_id=channel, result=joined) for channel in sorted(already - set(moved))]
    result = MarkedDuplicate(
        incident=done.incident or this,
        of_reference=of.reference,
        of_name=of.name,
        of_url=of.url,
        actor=ctx.actor,
        provider_label=label,
        merged=done.merged,
        moved=moved,
    )
    return Reply(result=result, posts=posts)


def _same(of_id: str, typed: str, this_id: str, this_reference: str) -> bool:
    """Named as itself, by its id or by the reference people see (INC-5, #5)."""
    return of_id == this_id or typed.strip().upper() in (this_reference.upper(), this_id.upper())
