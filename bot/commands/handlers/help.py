"""`/incident help` and `/incident help <verb>`, written from the registry alone."""

from __future__ import annotations

from bot.commands import forms, registry
from bot.commands.context import Context
from bot.commands.handlers.table import handles
from bot.commands.naming import common_words
from bot.commands.parser import not_yet, suggest
from bot.commands.results import Help, HelpEntry, Result
from bot.domain import ProviderError
from bot.providers.base import shown_label
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


async def _with_choices(ctx: Context, verb: registry.Verb, entry: HelpEntry) -> HelpEntry:
    """One verb's help with what its arguments are picked from at this provider: its own
    statuses, not the built-in ones a README names. A catalogue that cannot be read now
    is left out; the rest of the help still answers."""
    choices: dict[str, list[str]] = {}
    for arg in (*verb.args, *verb.options):
        if arg.choices is None or not entry.available:
            continue
        try:
            choices[arg.choices.value] = await forms.catalogue(ctx.provider, arg.choices, ctx.workspace)
        except ProviderError:
            continue
    statuses = choices.get(registry.Choices.STATUSES.value)
    common = common_words(statuses) if statuses else {}
    return entry.model_copy(update={"choices": choices, "common": common})


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
            # `help page`: said as plainly as `page` itself is.
            raise ctx.refuse(
                not_yet(str(asked), ctx.command)
                or f"There is no verb `{asked}`. `{ctx.command} help` lists them all."
            )
        chosen = [await _with_choices(ctx, verb, e) for e in all_entries if e.name == verb.name]
        label = shown_label(ctx.provider)
        return Help(command=ctx.command, entries=chosen, detail=True, provider_label=label)
    return Help(command=ctx.command, entries=all_entries, provider_label=shown_label(ctx.provider))
