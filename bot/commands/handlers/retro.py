"""`retro`: the retrospective draft, written where everyone who was there can open it.

What it says is gathered here (the incident, its timeline as `timeline` reads it, its
follow-ups) and put together in bot/commands/retro.py; the channel's document is written
through the `Workspace` port (a canvas on Slack, a Markdown file where canvases are not
available). Its id is kept (`store.kept`, one key per incident), so running `retro` again
brings the same document up to date rather than making a second one.

A canvas is people's to write in too (what went well, what to change): writing it again
replaces all of it. So `retro` run again over a canvas asks first (a file cannot be edited
in Slack, and is replaced without asking); `retro replace` and `retro new` say it on purpose.
"""

from __future__ import annotations

from bot.commands import retro as drafts
from bot.commands.context import Context
from bot.commands.handlers.table import handles
from bot.commands.handlers.timeline import read_timeline
from bot.commands.ports import WorkspaceError
from bot.commands.results import Failure, Reply, Result
from bot.domain import Capability, FollowUp, ProviderError
from bot.providers import facets


@handles("retro")
async def retro(ctx: Context) -> Result | Reply:
    assert ctx.incident_id is not None
    how = ctx.arg("how")
    if how is not None and str(how).lower() not in (drafts.REPLACE, drafts.NEW):
        raise ctx.refuse(
            f"“{how}” is not something `{ctx.command} {ctx.verb.name}` takes: `{drafts.REPLACE}` "
            f"rewrites its canvas, `{drafts.NEW}` writes a new one beside it, and alone it asks which."
        )
    how = str(how).lower() if how is not None else None
    incident = await ctx.incident()
    key = drafts.key(ctx.provider.name, incident.id)
    earlier = drafts.Document.from_kept(await ctx.store.kept.get(key))
    if earlier is not None and earlier.kind == "canvas" and how is None:
        ask = drafts.AskRetro(
            verb=ctx.verb.name,
            provider=ctx.provider.name,
            incident_id=incident.id,
            reference=incident.reference,
            document=earlier,
        )
        return Reply(result=ask, outcome="asked")
    if how == drafts.NEW:
        earlier = None  # the canvas written before stays as it is, with what people wrote in it
    incident = await ctx.incident(again=True)  # a document meant to last: not a reused read
    entries, source = await read_timeline(ctx)
    followups: list[FollowUp] | None = None
    keeps = facets.facet(ctx.provider, facets.FollowUps)
    if keeps is not None:
        followups = await keeps.list_followups(ctx.incident_id)
    knows = ctx.provider if isinstance(ctx.provider, facets.KnowsRetroFacts) else None
    facts = await knows.retro_facts(ctx.incident_id) if knows is not None else None
    theirs = failed = None
    opens = ctx.provider if isinstance(ctx.provider, facets.OpensRetrospective) else None
    if opens is not None:
        try:
            theirs = await opens.open_retrospective(ctx.incident_id)
        except ProviderError as exc:  # the draft is written all the same, and says so
            failed = exc.message
    channel_id = ctx.invocation.channel_id
    here = incident.channel_id in (None, channel_id)
    draft = drafts.assemble(
        incident,
        entries,
        followups=followups,
        has_roles=ctx.can(Capability.ROLES),
        provider_label=None if ctx.provider.records_applied else ctx.provider.label,
        timeline_source=source,
        channel_id=incident.channel_id or channel_id,
        channel_name=ctx.invocation.channel_name if here else None,
        command=ctx.command,
        at=ctx.clock.now(),
        tz=ctx.invocation.tz,
        facts=facts,
        provider_retro=theirs,
        provider_retro_failed=failed,
    )
    try:
        published = await ctx.workspace.publish_retro(channel_id, draft, earlier)
    except WorkspaceError as exc:
        started = f" {draft.provider_label}'s own retrospective “{theirs}” is started." if theirs else ""
        return Failure(
            what=f"I couldn't write the retro draft of {incident.reference}: {exc}.{started}",
            changed="yes" if theirs else "no",
            next_step="Try again in a moment; if it keeps failing, tell whoever runs the bot.",
        )
    await ctx.store.kept.put(key, published.document.model_dump(mode="json"))
    return drafts.RetroWritten(
        reference=incident.reference,
        actor=ctx.actor,
        document=published.document,
        replaced=published.replaced,
        no_canvas=published.no_canvas,
        previous_gone=published.previous_gone,
        provider_label=draft.provider_label,
        provider_retro=theirs,
        provider_retro_failed=failed,
        incident_url=incident.url,
    )
