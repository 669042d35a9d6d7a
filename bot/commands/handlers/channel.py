"""`call`: the incident's call link, bookmarked in its channel (bot/slack/channel.py)."""

from __future__ import annotations

import re

from bot.commands.channel import CallSet, call_key
from bot.commands.context import Context
from bot.commands.handlers.table import handles
from bot.domain import read_back
from bot.providers.base import shown_label
from bot.providers.facets import KeepsCallLink

_LINK = re.compile(r"https?://[^\s<>|]+\.[^\s<>|]+", re.IGNORECASE)
LONGEST_LINK = 1_000  # a bookmark's link; a call link is far shorter


@handles("call")
async def call(ctx: Context) -> CallSet:
    assert ctx.incident_id is not None
    # Slack sends a typed link as <https://…> (or <https://…|text>): the link itself.
    typed = str(ctx.arg("link") or "").strip().strip("<>").split("|")[0]
    if not _LINK.fullmatch(typed) or len(typed) > LONGEST_LINK:
        raise ctx.refuse(
            f"`{typed[:80]}` is not a link: give the call's address, like https://meet.example.com/abc."
        )
    if isinstance(ctx.provider, KeepsCallLink):
        # Kept on the incident itself, where the provider's own Slack app and UI show it.
        incident = await ctx.provider.set_call_url(ctx.incident_id, typed)
        return CallSet(
            incident=incident, link=typed, actor=ctx.actor, kept_by=shown_label(ctx.provider) or ""
        )
    await ctx.store.kept.put(call_key(ctx.provider.name, ctx.incident_id), {"url": typed})
    incident = await read_back(ctx.incident(), "the call was set")
    # The incident as the channel's bookmark reads it: what the bot keeps, on the incident.
    incident = incident.model_copy(update={"call_url": typed})
    return CallSet(incident=incident, link=typed, actor=ctx.actor, kept_by="")
