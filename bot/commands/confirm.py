"""Asked first, then done: the confirmation `duplicate` and `statuspage` share.

The question's button confirms (its click carries the incident as a `Target`); a modal's
answers are asked about as typed words are. Where there
is no button to click (the shell), or someone would rather type, the same command typed
again by the same person within `ASKED_WITHIN` of the question is the confirmation, as a
second `declare` of one title is (bot/commands/asks.py). A request run again after a restart
is asked again, never taken for the second typing: it is the same request, not a new one.
"""

from __future__ import annotations

import hashlib

from bot.commands.context import Context

ASKED_WITHIN = 10 * 60.0  # seconds: typed again later than this, it is asked again


def _key(ctx: Context, incident_id: str, words: str) -> str:
    said = hashlib.sha256(" ".join(words.split()).casefold().encode()).hexdigest()[:24]
    who = f"{ctx.invocation.team_id}:{ctx.actor.slack_id}"
    return f"asked:{ctx.verb.name}:{who}:{ctx.provider.name}:{incident_id}:{said}"


async def confirmed(ctx: Context, incident_id: str, words: str) -> bool:
    """True where it may be done now: clicked on the question, or typed again after it.
    False: ask (and this call remembers that it was asked)."""
    if ctx.parsed.target is not None and not _from_form(ctx):
        return True
    request = ctx.invocation.request_id
    if request and not await ctx.store.claims.claim(f"asked-checked:{request}"):
        return False
    return not await ctx.store.claims.claim(_key(ctx, incident_id, words), window=ASKED_WITHIN)


def _from_form(ctx: Context) -> bool:
    """A modal's answers (the verb typed alone opens one) carry its incident too, but were not
    shown as the question is: they are asked. A form's words begin with the verb's name
    (bot/commands/forms.py), a button's are the words after it."""
    return (ctx.parsed.text or "").split(" ", 1)[0] == ctx.verb.name


async def done(ctx: Context, incident_id: str, words: str) -> None:
    """After it was done: the same words typed again are asked about again, not done again."""
    await ctx.store.claims.release(_key(ctx, incident_id, words))
