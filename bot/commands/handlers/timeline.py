"""Messages into the incident's timeline (📌, the message shortcut, `pin`), and the
timeline read back as one list (`timeline`)."""

from __future__ import annotations

import re
from datetime import datetime

from bot.commands import registry
from bot.commands.context import Context
from bot.commands.handlers.table import handles
from bot.commands.results import Failure, Pinned, Result, Timeline, TimelineItem
from bot.domain import Person, TimelineEntry
from bot.providers import facets

MAX_TIMELINE = 30  # items shown, the newest: the rest is "and N earlier"
AUDIT_READ = 200  # the bot's own rows read for it, at most
# A message's link (Copy link): the channel and the ts with its dot taken out.
_LINK = re.compile(r"/archives/(?P<channel>[CGD][A-Z0-9]+)/p(?P<secs>\d{10})(?P<micros>\d{6})")
_TS = re.compile(r"^\d{10}\.\d{6}$")


def _message_of(ctx: Context) -> tuple[str, str]:
    """The channel and ts a command names: a link, or a bare ts (what a 📌 or the shortcut
    hands in) in this channel."""
    typed = str(ctx.arg("message") or "").strip().strip("<>").split("|")[0]
    if _TS.match(typed):
        return ctx.invocation.channel_id, typed
    found = _LINK.search(typed)
    if found is None:
        raise ctx.refuse(
            f"Give the message's link (its menu → Copy link): `{ctx.verb.usage(ctx.command)}`, "
            "or react to it with 📌."
        )
    return found["channel"], f"{found['secs']}.{found['micros']}"


def pin_key(team_id: str, channel_id: str, ts: str) -> str:
    """One claim per message, however many people react (and however often Slack retries)."""
    return f"pin:{team_id}:{channel_id}:{ts}"


@handles("pin")
async def pin(ctx: Context) -> Result:
    assert ctx.incident_id is not None
    pins = ctx.require(facets.Pins)
    channel, ts = _message_of(ctx)
    reference = ctx.reference or ctx.incident_id
    label = None if ctx.provider.records_applied else ctx.provider.label
    message = await ctx.workspace.message(channel, ts)
    if message is None:
        raise ctx.refuse("I can't read that message: it is gone, or in a channel I am not in (invite me).")
    key = pin_key(ctx.invocation.team_id, channel, ts)
    if not await ctx.store.claims.claim(key):
        return Pinned(reference=reference, provider_label=label, permalink=message.permalink, already=True)
    try:
        await pins.pin_message(ctx.incident_id, message, ctx.actor)
    except BaseException:
        await ctx.store.claims.release(key)  # not in the timeline: the next 📌 tries again
        raise
    return Pinned(reference=reference, provider_label=label, permalink=message.permalink)


@handles("unpin")
async def unpin(ctx: Context) -> Result:
    assert ctx.incident_id is not None
    unpins = ctx.require(facets.Unpins)
    channel, ts = _message_of(ctx)
    reference = ctx.reference or ctx.incident_id
    label = None if ctx.provider.records_applied else ctx.provider.label
    key = pin_key(ctx.invocation.team_id, channel, ts)
    since = await ctx.store.claims.claimed_at(key)
    if since is None:
        return Failure(what=f"That message is not in {reference}'s timeline: nothing to take out.")
    message = await ctx.workspace.message(channel, ts)
    if message is None:
        raise ctx.refuse("I can't read that message: it is gone, or in a channel I am not in (invite me).")
    if ctx.settings.incident_pin_emoji in message.reactions:
        return Failure(
            what=f"Someone's :{ctx.settings.incident_pin_emoji}: is still on that message, "
            f"so it stays in {reference}'s timeline."
        )
    window = ctx.settings.incident_unpin_seconds
    if (ctx.clock.now() - since).total_seconds() > window:
        return Failure(
            what=f"That message was added to {reference}'s timeline over {window // 60} minutes ago, "
            "so it stays.",
            next_step="Remove it at the provider, if it should go.",
        )
    await unpins.unpin_message(ctx.incident_id, message)
    await ctx.store.claims.release(key)
    return Pinned(reference=reference, provider_label=label, removed=True)


async def read_timeline(ctx: Context) -> tuple[list[TimelineEntry], str]:
    """The incident's record, oldest first, and whose it is: the provider's own where it has
    one to read, else what was done through the bot (its audit rows). `timeline` and the
    retro draft read it here, so they never tell two different stories."""
    assert ctx.incident_id is not None
    reference = ctx.reference or ctx.incident_id
    reads = facets.facet(ctx.provider, facets.ReadsTimeline)
    entries: list[TimelineEntry]
    if reads is not None:
        entries = await reads.timeline(ctx.incident_id)
        source = "the bot's own record" if ctx.provider.records_applied else f"from {ctx.provider.label}"
    else:
        entries = []
        for row in await ctx.store.audit.of_incident(ctx.provider.name, reference, AUDIT_READ):
            verb = registry.lookup(str(row.get("verb") or ""))
            if verb is None or not verb.writes:
                continue
            entries.append(
                TimelineEntry(
                    at=row["at"] if isinstance(row["at"], datetime) else ctx.clock.now(),
                    kind=verb.name,
                    text=str(row.get("arguments") or ""),
                    author=Person(slack_id=str(row["user_id"])),
                )
            )
        source = "as done through the bot"
    entries.sort(key=lambda e: e.at)  # stable: the record's own order where times tie
    return entries, source


@handles("timeline")
async def timeline(ctx: Context) -> Result:
    assert ctx.incident_id is not None
    reference = ctx.reference or ctx.incident_id
    entries, source = await read_timeline(ctx)
    shown = entries[-MAX_TIMELINE:]
    return Timeline(
        reference=reference,
        items=[TimelineItem(at=e.at, kind=e.kind, text=e.text, author=e.author) for e in shown],
        earlier=len(entries) - len(shown),
        source=source,
        tz=ctx.invocation.tz,
        at=ctx.clock.now(),
    )
