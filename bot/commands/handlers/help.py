"""`/incident help` and `/incident help <verb>`, written from the registry alone."""

from __future__ import annotations

from bot.commands import registry
from bot.commands.context import Context
from bot.commands.handlers import handles
from bot.commands.parser import suggest
from bot.commands.results import Help, HelpEntry, Result
from bot.providers.facets import offered


def entries(command: str, capabilities: frozenset | None = None) -> list[HelpEntry]:
    return [
        HelpEntry(
            name=verb.name,
            aliases=list(verb.aliases),
            summary=verb.summary,
            usage=verb.usage(command),
            examples=list(verb.examples),
            available=capabilities is None or verb.capability is None or verb.capability in capabilities,
        )
        for verb in registry.VERBS
    ]


@handles("help")
async def help_(ctx: Context) -> Result:
    asked = ctx.arg("verb")
    # In a linked channel, help speaks for the provider that holds this channel's incident.
    link = await ctx.store.links.get(ctx.invocation.team_id, ctx.invocation.channel_id)
    provider = ctx.providers.get(link.provider, ctx.provider) if link else ctx.provider
    ctx.provider = provider
    all_entries = entries(ctx.command, offered(ctx.provider))
    if asked:
        verb = registry.lookup(str(asked)) or registry.lookup(suggest(str(asked)) or "")
        if verb is None:
            raise ctx.refuse(f"There is no verb `{asked}`. `{ctx.command} help` lists them all.")
        chosen = [e for e in all_entries if e.name == verb.name]
        return Help(command=ctx.command, entries=chosen, detail=True, provider_label=ctx.provider.label)
    return Help(command=ctx.command, entries=all_entries, provider_label=ctx.provider.label)
