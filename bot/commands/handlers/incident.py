"""The incident's life: declare, link, unlink, info, status (ack, resolve, reopen), severity, update."""

from __future__ import annotations

import re

from bot.commands.asks import declare_failed, relink, same_declared
from bot.commands.context import Context
from bot.commands.handlers.table import handles
from bot.commands.naming import NoMatch, exact, match, rank_of, reads_as
from bot.commands.ports import WorkspaceError
from bot.commands.refs import Reference, looks_like_trailing_reference, parse_reference
from bot.commands.results import (
    Changed,
    Declared,
    Failure,
    NotSupported,
    Post,
    Reply,
    Result,
    Unlinked,
    UpdatePosted,
    card,
)
from bot.domain import Capability, DeclareRequest, Incident, Link, Move, ProviderError, in_command, read_back
from bot.providers import facets
from bot.providers.base import shown_label
from bot.providers.facets import facet, offered


def _an(label: str | None) -> str:
    """ "a PagerDuty", "an incident.io", or "an" where the provider is the bot's own."""
    if label is None:
        return "an"
    return ("an " if label[0].lower() in "aeiou" else "a ") + label


def channel_name(prefix: str, reference: str, title: str) -> str:
    """`inc-12-checkout-is-failing`: Slack's rules are lowercase, no spaces, 80 chars at most."""
    number = re.sub(r"\D", "", reference) or reference.lower()
    slug = re.sub(r"[^a-z0-9]+", "-", title.lower()).strip("-")
    name = f"{prefix}-{number}-{slug}".strip("-")[:80].rstrip("-")
    return name


async def _severity(ctx: Context, typed: str) -> tuple[str, str]:
    """The provider's severity `typed` means, and how it was read where that is not plain
    (`sev 1` is Critical at incident.io): a name or alias first, because FireHydrant has
    both SEV1 and P1; then a step of the scale (`sev 1`, `p1`: the most severe), so one
    way of saying it works at every provider; then the names' prefixes."""
    severities = await ctx.provider.severities()
    names = {s.name: s.aliases for s in severities}
    named = exact(typed, names)
    if named is not None:
        return named, ""
    rank = rank_of(typed)
    scale = sorted((s for s in severities if s.rank is not None), key=lambda s: s.rank or 0)
    if rank is not None and scale:
        at = next((s.name for s in scale if s.rank == rank), None)
        if rank == 0:
            raise ctx.refuse(
                f"The severities here count from 1, the most severe: `{scale[0].name}`. "
                f"Say `{ctx.command} sev 1` for it."
            )
        if at is None:
            listed = ", ".join(f"`{s.name}`" for s in scale)
            raise ctx.refuse(
                f"“{typed}” is past the end of the severities here: {len(scale)} of them, "
                f"most severe first: {listed}."
            )
        first = "the most severe" if rank == 1 else f"{rank} of {len(scale)}, most severe first"
        return at, f" (“{typed}” is {at}, {first})"
    return ctx.chosen(match(typed, names, "severity")), ""


@handles("declare")
async def declare(ctx: Context) -> Result | Reply:
    name = str(ctx.arg("name")).strip()
    # `declare private Payroll export leaking`: a private channel. Only the lowercase word
    # first, so an incident named "Private networking down" stays as typed.
    first, _, rest = name.partition(" ")
    private = first == "private" and bool(rest.strip())
    name = rest.strip() if private else name
    if len(name) > 200:
        raise ctx.refuse(
            'That name is longer than 200 characters: keep it short, and put the rest in `summary:"…"`.'
        )
    # The severity read first: a declare refused for it is no declare "in the making", and
    # the corrected one typed next is not asked about.
    severity = (await _severity(ctx, ctx.parsed.options["sev"]))[0] if "sev" in ctx.parsed.options else None
    asked = await same_declared(ctx, name)  # the same person, the same title, minutes ago
    if asked is not None:
        return Reply(result=asked, outcome="asked")
    try:
        incident = await ctx.provider.declare(
            DeclareRequest(
                name=name,
                summary=ctx.parsed.options.get("summary"),
                severity=severity,
                declared_by=ctx.actor,
                idempotency_key=ctx.invocation.request_id,
                private=private,
            )
        )
    except ProviderError as exc:
        if exc.changed == "no":
            await declare_failed(ctx, name)  # nothing was made: the next try is a first one
        raise
    wanted = channel_name(ctx.settings.incident_channel_prefix, incident.reference, name)
    linked = await ctx.store.links.channels_for(ctx.provider.name, incident.id)
    if linked:
        # The same declare again (run again after a restart): the provider handed back the
        # incident it made the first time, and its channel exists. No second channel.
        return Declared(
            incident=incident, channel_id=linked[0].channel_id, channel_name=wanted, private=private
        )
    try:
        if incident.channel_id:
            # The provider made the incident's channel itself (incident.io does): use it,
            # rather than split the responders across two.
            channel_id, created_name = incident.channel_id, wanted
            await ctx.workspace.join(channel_id)  # theirs, not ours: to post and pin the card there
        else:
            channel_id, created_name = await ctx.workspace.create_channel(wanted, private=private)
        await ctx.workspace.invite(channel_id, [ctx.actor.slack_id])
    except WorkspaceError as exc:
        return Failure(
            what=f"{incident.reference} was declared, but I couldn't create its channel: {exc}",
            changed="yes",
            next_step=f"Create a channel yourself and run `{ctx.command} link {incident.reference}` in it.",
        )
    await ctx.store.links.link(
        Link(ctx.invocation.team_id, channel_id, ctx.provider.name, incident.id, incident.reference),
        ctx.actor.slack_id,
    )
    roles = facet(ctx.provider, facets.Roles)
    if roles is not None:
        # Someone must hold the lead from the first minute; the declarer is the one we know.
        lead = (await roles.role_names())[0]
        incident = await roles.assign_role(incident.id, lead, ctx.actor, ctx.actor)
    posted = card(
        incident, offered(ctx.provider), ctx.clock.now(), note="declared this incident", actor=ctx.actor
    )
    return Reply(
        result=Declared(incident=incident, channel_id=channel_id, channel_name=created_name, private=private),
        posts=[Post(channel_id=channel_id, result=posted)],
    )


@handles("link")
async def link(ctx: Context) -> Result | Reply:
    ref = ctx.required("incident", Reference)
    provider_name = ref.provider or ctx.settings.incident_provider
    if ref.number:  # `link 7`: the number as this channel's provider numbers its incidents
        here = await ctx.store.links.get(ctx.invocation.team_id, ctx.invocation.channel_id)
        if here is not None and here.provider in ctx.providers:
            provider_name = here.provider
    provider = ctx.providers.get(provider_name)
    if provider is None:
        return Failure(
            what=f"{ref.raw} is an incident at {provider_name}, which this bot is not connected to.",
            next_step="Ask whoever runs the bot to set that provider's API key.",
        )
    incident_id = provider.parse_reference(ref.id)
    if incident_id is None and ref.number:  # FireHydrant's `#7`: its API finds incidents by id only
        raise ctx.refuse(
            f"{shown_label(provider)} can't find an incident by its number (`{ref.raw}`): "
            "link it with the incident's URL (its page's address)."
        )
    if incident_id is None:
        raise ctx.refuse(f"`{ref.raw}` is not {_an(shown_label(provider))} incident reference.")
    incident = await provider.get_incident(incident_id)
    if ctx.privacy is not None and not await ctx.privacy.may_see(ctx.invocation, provider.name, incident.id):
        # Its card (name, latest update) would be posted and pinned here, and whoever is in
        # this channel would become its responders: only its members (or an admin) decide that.
        return Reply(result=ctx.privacy.refusal(incident.reference, linking=True), outcome="refused")
    asked = await relink(ctx, provider, incident)  # linked to another one: moved only on purpose
    if asked is not None:
        return Reply(result=asked, outcome="asked")
    # Joined first (public channels), so the card can be posted, pinned and redrawn here.
    joined = await ctx.workspace.join(ctx.invocation.channel_id)
    await ctx.store.links.link(
        Link(
            ctx.invocation.team_id,
            ctx.invocation.channel_id,
            provider.name,
            incident.id,
            incident.reference,
        ),
        ctx.actor.slack_id,
    )
    note = "linked this channel to the incident"
    if not joined:
        note += " (invite me with `/invite @incident` so the card can be pinned here)"
    return card(incident, offered(provider), ctx.clock.now(), note=note, actor=ctx.actor)


@handles("unlink")
async def unlink(ctx: Context) -> Result:
    """Unlinks this channel, whatever incident is named: `unlink INC-3` in a channel linked
    to another incident said "unlinked from INC-3" and unlinked the other one."""
    team, here = ctx.invocation.team_id, ctx.invocation.channel_id
    link = await ctx.store.links.get(team, here)
    if link is None:
        raise ctx.refuse("This channel isn't linked to an incident: there is nothing to unlink.")
    if (link.provider, link.incident_id) != (ctx.provider.name, ctx.incident_id):
        raise ctx.refuse(
            f"This channel is linked to {link.reference}, not {ctx.reference}. `{ctx.command} unlink` "
            f"here unlinks {link.reference}; {ctx.reference}'s channels are unlinked in them."
        )
    await ctx.store.links.unlink(team, here, ctx.invocation.user_id)
    return Unlinked(reference=link.reference or ctx.reference or "", actor=ctx.actor)


@handles("info")
async def info(ctx: Context) -> Result | Reply:
    """The asker gets the card privately, and the cards the incident's channels show are
    brought up to date if they are behind: a new copy in the channel, re-pinned, for every
    `info` was noise and two Slack calls each. Only in a channel linked to the incident
    that has no card yet (the bot was not in it when it was linked) is one posted and
    pinned; never in a channel that only names the incident."""
    incident = await ctx.incident()
    shown = card(incident, offered(ctx.provider), ctx.clock.now())
    here = ctx.invocation.channel_id
    carded = {ref.channel_id for ref in await ctx.store.cards.of(incident.provider, incident.id)}
    if here not in carded:
        link = await ctx.store.links.get(ctx.invocation.team_id, here)
        if link is not None and (link.provider, link.incident_id) == (incident.provider, incident.id):
            return shown  # posted and pinned: this channel's card from now on
    shown.visibility = "ephemeral"
    return Reply(result=shown, refresh=incident)


@handles("status", "ack", "resolve")
async def status(ctx: Context) -> Result:
    note = ctx.arg("note")
    read_as = ""
    back = False
    if ctx.verb.moves_to is not None:
        target = await ctx.provider.target_status(ctx.verb.moves_to)
    else:
        names: dict[str, list[str]] = {name: [] for name in await ctx.provider.statuses()}
        typed = str(ctx.arg("status"))
        said = str(note or "").split(maxsplit=2)
        if typed.lower() == "back" and len(said) > 1 and said[0].lower() == "to":
            # `status back to investigating`: a step back, on purpose (as `… again`).
            typed, note, back = said[1], said[2] if len(said) > 2 else None, True
        found = match(typed, names, "status")
        if isinstance(found, NoMatch) and said and not back:
            # Two words for one status: `status all clear`.
            both = match(f"{typed} {said[0]}", names, "status")
            if not isinstance(both, NoMatch):
                typed, found = f"{typed} {said[0]}", both
                note = " ".join(said[1:]) or None
        target = ctx.chosen(found)
        if reads_as(typed, target):
            where = shown_label(ctx.provider)
            read_as = f" (“{typed}” is {target}{f' at {where}' if where else ''})"
    # Read first: a move that changes nothing, or goes backwards without being asked to
    # (`ack` on a resolved incident), is answered and not written.
    current = await ctx.incident()
    words = str(note or "").split(maxsplit=1)
    again = ctx.verb.moves_to is None and bool(words) and words[0].lower() == "again"
    if again:
        note = words[1] if len(words) > 1 else None
    again = again or back
    if note is not None and _names_an_incident(str(note)):
        # `status all clear INC-3`, `status back to investigating #3`: the parser read the
        # words after the status as the note, so the reference would be posted as the note
        # of this channel's incident, which would be moved instead of the one named.
        raise ctx.refuse(
            f"`{note}` after the status reads as the note, not as the incident. To move another "
            f"incident, name it right after `{ctx.verb.name}` (`{ctx.command} {ctx.verb.name} INC-3 "
            "back to investigating`), or with `incident:INC-3` anywhere in the command."
        )
    statuses = await ctx.provider.statuses()
    if _not_a_move(ctx, current, target, again, statuses) is not None:
        # A refusal rests on a read from the provider now, never on a reused one.
        refused = _not_a_move(ctx, await ctx.incident(again=True), target, again, statuses)
        if refused is not None:
            return await _note_kept(ctx, refused, str(note) if note else None)
    incident = await ctx.provider.set_status(
        ctx.incident_id or "",
        target,
        ctx.actor,
        str(note) if note else None,
        key=ctx.invocation.request_id,
    )
    return Changed(
        incident=incident,
        actor=ctx.actor,
        what=f"moved the incident to {target}{read_as}",
        note=str(note) if note else None,
    )


def _not_a_move(
    ctx: Context, current: Incident, target: str, again: bool, statuses: list[str]
) -> Failure | None:
    """None to go on; else why this status change is not made (nothing was changed)."""
    here, there = current.status.lower(), target.lower()
    if here == there or (ctx.verb.moves_to is Move.RESOLVE and current.closed):
        return Failure(what=f"{current.reference} is already {current.status}: nothing to change.")
    order = [name.lower() for name in statuses]
    backwards = here in order and there in order and order.index(there) < order.index(here)
    if backwards and current.closed and not ctx.can(Capability.REOPEN):
        # A provider that cannot reopen (incident.io, as its adapter says): nothing takes it
        # back out, `again` or not.
        what = f"{current.reference} is {current.status}; {target} would reopen it."
        step = in_command(ctx.provider.unsupported.get(Capability.REOPEN, ""), ctx.command)
        return Failure(what=what, next_step=step)
    if again or not backwards:
        return None
    back = f"`{ctx.command} status {target} again`"
    if current.closed:
        what = f"{current.reference} is {current.status}; {target} would reopen it."
        step = f"To reopen it, say `{ctx.command} reopen` (or {back})."
    else:
        what = f"{current.reference} is already at {current.status}; {target} is a step back."
        step = f"If it really went back, say {back}."
    return Failure(what=what, next_step=step)


async def _note_kept(ctx: Context, refused: Failure, note: str | None) -> Result:
    """A status change refused (already fixing) that carried a note: the note is what the
    person took time to write, so it is posted as an update, and the answer says the
    change was not made. Where the provider takes no updates, the refusal alone."""
    if not note or not ctx.can(Capability.UPDATES):
        return refused
    return await keep_note(ctx, " ".join(part for part in (refused.what, refused.next_step) if part), note)


async def keep_note(ctx: Context, instead: str, note: str) -> UpdatePosted:
    """The note of a change that was not made (`instead`: why), posted as an update; also
    for a verb the provider does not offer at all (bot/commands/service.py)."""
    await ctx.provider.post_update(ctx.incident_id or "", note, ctx.actor, key=ctx.invocation.request_id)
    incident = await read_back(ctx.incident(again=True), "the note was posted as an update")
    return UpdatePosted(
        incident=incident, text=note, actor=ctx.actor, instead=f"{instead} Your note is posted as an update:"
    )


@handles("reopen")
async def reopen(ctx: Context) -> Result:
    current = await ctx.incident()
    if not current.closed:
        current = await ctx.incident(again=True)
    if not current.closed:
        refused = Failure(what=f"{current.reference} is open ({current.status}): there is nothing to reopen.")
        return await _note_kept(ctx, refused, str(ctx.arg("note") or "") or None)
    # Raises Rejected, with the reason, where the provider cannot (incident.io).
    target = await ctx.provider.target_status(Move.REOPEN)
    note = ctx.arg("note")
    incident = await ctx.provider.set_status(
        ctx.incident_id or "", target, ctx.actor, str(note) if note else None, key=ctx.invocation.request_id
    )
    return Changed(
        incident=incident,
        actor=ctx.actor,
        what=f"reopened the incident (it was {current.status}, now {incident.status})",
        note=str(note) if note else None,
    )


@handles("severity")
async def severity(ctx: Context) -> Result:
    chosen, read_as = await _severity(ctx, str(ctx.arg("severity")))
    incident = await ctx.provider.set_severity(ctx.incident_id or "", chosen, ctx.actor)
    return Changed(incident=incident, actor=ctx.actor, what=f"set the severity to {chosen}{read_as}")


@handles("update")
async def post_update(ctx: Context) -> Result:
    text = str(ctx.arg("text"))
    stakeholders = ctx.parsed.options.get("to") == "stakeholders"
    if stakeholders and not ctx.can(Capability.STAKEHOLDER_UPDATES):
        return NotSupported(
            provider_label=ctx.provider.label,
            verb="update to:stakeholders",
            reason=ctx.provider.unsupported.get(Capability.STAKEHOLDER_UPDATES),
        )
    await ctx.provider.post_update(
        ctx.incident_id or "", text, ctx.actor, key=ctx.invocation.request_id, stakeholders=stakeholders
    )
    incident = await read_back(ctx.incident(), "the update was posted")
    return UpdatePosted(incident=incident, text=text, actor=ctx.actor, stakeholders=stakeholders)


def _names_an_incident(note: str) -> bool:
    """A note that is one incident reference and nothing else (`INC-3`, `pd:3`, `#3`)."""
    word = note.strip()
    if " " in word:
        return False
    return looks_like_trailing_reference(word) or (
        word.startswith("#") and parse_reference(word, number=True) is not None
    )
