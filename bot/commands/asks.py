"""Commands that, typed as they were, may not be what was meant: asked before they are done.

A second declare of the same incident minutes after the first (typed twice in an outage,
or by someone unsure the first went through) would split the responders across two
incidents and two channels; `link` in a channel that is linked to another incident would
silently move it and take the first incident's card away. Both are asked, with a button
that does it on purpose; the button's click carries the incident it was asked about, which
is how a handler tells the deliberate command from the typed one.
"""

from __future__ import annotations

import re
from datetime import timedelta

from bot.commands.context import Context
from bot.commands.results import AskRelink, SameDeclared
from bot.domain import Incident, ProviderError
from bot.providers.base import Provider

# The same title from the same person within this long is taken for the same incident.
DECLARED_WITHIN = timedelta(minutes=15)


def _title(name: str) -> str:
    """Titles compared as people retype them: case, spacing and punctuation aside."""
    return " ".join(re.sub(r"[^\w\s]", " ", name.casefold()).split())


async def same_declared(ctx: Context, name: str) -> SameDeclared | None:
    """The question to ask instead of declaring `name`, or None to declare it.

    Asked once: typed again after the question, it is declared (the person has seen the
    first and means a new one), as it is from the question's button."""
    if ctx.parsed.target is not None:
        return None  # the question's button: declared on purpose
    request = ctx.invocation.request_id
    if request and not await ctx.store.claims.claim(f"declare-checked:{request}"):
        # This very request, run again after a restart: the incident it made the first
        # time would look like "the first" one. The provider hands that one back instead.
        return None
    wanted = _title(name)
    team, user = ctx.invocation.team_id, ctx.actor.slack_id
    # Two declares a second apart run side by side: the first may not have its channel yet.
    # One begun by this person, under this title, within a command's time is in the making.
    making = _making(ctx, wanted)
    alone = await ctx.store.claims.claim(making, window=ctx.settings.incident_command_timeout)
    found = await _declared(ctx, wanted)
    if (found is None and alone) or (found is not None and found[0].closed):
        return None  # none lately, or over already: this is a new one
    first, channel_id = found if found is not None else (None, None)
    asked = f"asked-declare:{team}:{user}:{ctx.provider.name}:{wanted}"
    if not await ctx.store.claims.claim(asked, window=DECLARED_WITHIN.total_seconds()):
        return None  # asked about this title already: this is the answer
    return SameDeclared(
        verb=ctx.verb.name,
        text=ctx.parsed.text or name,
        provider=ctx.provider.name,
        incident_id=first.id if first else "",
        reference=first.reference if first else "",
        name=first.name if first else name,
        channel_id=channel_id,
        url=first.url if first else None,
    )


async def declare_failed(ctx: Context, name: str) -> None:
    """The provider refused the declare (nothing made): it is no longer in the making."""
    await ctx.store.claims.release(_making(ctx, _title(name)))


def _making(ctx: Context, wanted: str) -> str:
    return f"declaring:{ctx.invocation.team_id}:{ctx.actor.slack_id}:{ctx.provider.name}:{wanted}"


async def _declared(ctx: Context, wanted: str) -> tuple[Incident, str] | None:
    """The incident this person declared (or linked) under this title lately, and its
    channel: the first one still open, else the first one."""
    since = ctx.clock.now() - DECLARED_WITHIN
    found: list[tuple[Incident, str]] = []
    for link in await ctx.store.links.linked_by(ctx.invocation.team_id, ctx.actor.slack_id, since):
        if link.provider != ctx.provider.name:
            continue
        try:
            first = await ctx.incident(link.incident_id)
        except ProviderError:
            continue  # can't tell: a question resting on nothing would only delay the declare
        if _title(first.name) == wanted:
            found.append((first, link.channel_id))
    return next((f for f in found if not f[0].closed), found[0] if found else None)


async def relink(ctx: Context, provider: Provider, incident: Incident) -> AskRelink | None:
    """The question to ask before this channel is moved to `incident`, or None to link it:
    it is not linked, is linked to `incident` already, or this is the question's button."""
    here = await ctx.store.links.get(ctx.invocation.team_id, ctx.invocation.channel_id)
    if here is None or (here.provider, here.incident_id) == (provider.name, incident.id):
        return None
    target = ctx.parsed.target
    if target is not None and (target.provider, target.incident_id) == (provider.name, incident.id):
        return None
    others = await ctx.store.links.channels_for(here.provider, here.incident_id)
    return AskRelink(
        verb=ctx.verb.name,
        text=ctx.parsed.text or incident.reference,
        provider=provider.name,
        incident_id=incident.id,
        reference=incident.reference,
        leaves=here.reference,
        leaves_elsewhere=[other.channel_id for other in others if other.channel_id != here.channel_id],
    )
