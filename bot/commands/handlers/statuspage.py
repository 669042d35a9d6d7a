"""`statuspage "Payments degraded" component:api`: the incident on the provider's public
status page, made the first time and updated after.

What goes on a public page cannot be taken back from those who read it, so every typed
`statuspage` is asked first, with exactly what would be published; the question's button,
or the same command typed again, publishes it (bot/commands/confirm.py). The status page incident's id is kept
(`store.kept`, under `status_page_key`), so a second run updates that one, and the card links
it. Runs on one incident take turns (`turn="statuspage"`), so two at once never make two.
"""

from __future__ import annotations

import uuid

from bot.commands.confirm import confirmed
from bot.commands.confirm import done as asked_done
from bot.commands.context import Context
from bot.commands.handlers.table import handles
from bot.commands.naming import match
from bot.commands.pulse import status_page_key
from bot.commands.registry import STATUS_PAGE_STATES
from bot.commands.results import AskStatusPage, Reply, Result, StatusPublished
from bot.domain import StatusPageIncident, StatusPost
from bot.providers import facets
from bot.providers.base import shown_label

MAX_WORDS = 1_500  # the question's button carries the words, within Slack's bound on its value
MAX_TITLE = 200  # the longest name incident.io takes for a status page incident


@handles("statuspage")
async def statuspage(ctx: Context) -> Result | Reply:
    pages = ctx.require(facets.StatusPages)
    message = str(ctx.arg("message") or "").strip().strip('"“”').strip()
    if not message:
        raise ctx.refuse(f"Say what the public should read: `{ctx.verb.usage(ctx.command)}`.")
    words = _words(message, ctx.parsed.options)
    if len(words) > MAX_WORDS:
        raise ctx.refuse(f"That is over {MAX_WORDS:,} characters: say it shorter, the public reads it fast.")
    incident = await ctx.incident()
    key = status_page_key(ctx.provider.name, incident.id)
    kept = await ctx.store.kept.get(key) or {}
    made = StatusPageIncident.model_validate(kept) if kept else None
    label = shown_label(ctx.provider) or ctx.provider.label
    page = await _page(ctx, pages, made, label, incident.reference)
    typed = [c.strip() for c in str(ctx.parsed.options.get("component", "")).split(",") if c.strip()]
    known = await pages.status_page_components(made.page_id or page if made is not None else page)
    if typed and known is None:
        raise ctx.refuse(
            f"{label}'s status page shows the services and functionalities this incident impacts, "
            f"set on the incident in {label}: `component:` names nothing there. Nothing was published."
        )
    components = [ctx.chosen(match(name, {n: [] for n in known or []}, "component")) for name in typed]
    state = str(ctx.parsed.options.get("state") or kept.get("state") or STATUS_PAGE_STATES[0])
    post = StatusPost(
        title=made.title if made is not None and made.title else message[:MAX_TITLE],
        message=message,
        page=page,
        status=state,
        components=components or [str(c) for c in kept.get("components") or []],
    )
    if not await confirmed(ctx, incident.id, words):
        ask = AskStatusPage(
            verb=ctx.verb.name,
            text=words,
            provider=ctx.provider.name,
            incident_id=incident.id,
            reference=incident.reference,
            page=page,
            provider_label=label,
            post=post,
            update_of=made.title if made is not None else None,
            shows_state=known is not None,
        )
        return Reply(result=ask, outcome="asked")
    request = ctx.invocation.request_id or uuid.uuid4().hex
    done = await pages.publish_status(incident.id, made, post, ctx.actor, key=f"statuspage:{request}")
    await ctx.store.kept.put(key, done.model_dump() | {"state": post.status, "components": post.components})
    await asked_done(ctx, incident.id, words)
    return StatusPublished(
        incident=incident,
        reference=incident.reference,
        actor=ctx.actor,
        page=done.page,
        provider_label=label,
        post=post,
        made=made is None,
        url=done.url,
        shows_state=known is not None,
    )


async def _page(
    ctx: Context, pages: facets.StatusPages, made: StatusPageIncident | None, label: str, reference: str
) -> str:
    """The page to publish on: the one published on already, else the one `page:` names, else
    the account's only one. With several and none named, the person says which: a public
    post on the wrong page is not taken back."""
    typed = str(ctx.parsed.options.get("page") or "").strip().strip('"“”')
    if made is not None:
        if typed and _key(typed) not in _key(made.page):
            raise ctx.refuse(
                f"{reference} is on {made.page} already, and its updates go there: leave `page:` out. "
                f"Nothing was published."
            )
        return made.page
    names = await pages.status_pages()
    if not names:
        raise ctx.refuse(f"{label} has no status page on this account: make one in {label} first.")
    if typed:
        return ctx.chosen(match(typed, {n: [] for n in names}, "status page"))
    if len(names) > 1:
        listing = ", ".join(f"`{n}`" for n in names)
        raise ctx.refuse(
            f"{label} has {len(names)} status pages: say which with `page:`, one of {listing}. "
            f"Nothing was published."
        )
    return names[0]


def _key(text: str) -> str:
    return " ".join(text.lower().split())


def _words(message: str, options: dict[str, object]) -> str:
    """What the question's button carries, read again to publish exactly what was shown:
    rebuilt from what was read, so a modal's answers carry as typed words do."""
    parts = [message]
    if options.get("component"):
        parts.append(f'component:"{options["component"]}"')
    if options.get("state"):
        parts.append(f"state:{options['state']}")
    if options.get("page"):
        parts.append(f'page:"{options["page"]}"')
    return " ".join(parts)
