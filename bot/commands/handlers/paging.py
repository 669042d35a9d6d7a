"""`page` and `escalate`: people brought onto an incident through the provider's paging.

A page wakes someone up, so it is the one write that must never go out twice: the same
target for the same incident within `PAGED_WITHIN` is claimed in the store first (across
processes, across a double click and a retried request), and the claim is given back only
when the provider said no, so that a fixed retry pages. A page that may have gone out
keeps its claim, and the answer says it may have.

Every page sent is recorded (bot/store/pages.py) for the card. The built-in provider rings
nobody itself: the bot DMs the person, pages again and moves down the rotation
(bot/commands/ringing.py), `escalate` moves it down at once, and `answer` (the DM's
Acknowledge) stops it.
"""

from __future__ import annotations

from bot.commands import naming
from bot.commands.context import Context
from bot.commands.handlers.table import handles
from bot.commands.invites import LARGE_GROUP, bring_in, incident_channels
from bot.commands.parsed import GroupRef, UserRef
from bot.commands.ports import WorkspaceError
from bot.commands.refs import Target
from bot.commands.results import EscalatedTo, Failure, Paged, Post, Reply, Restarted, Result
from bot.commands.ringing import Ringer
from bot.domain import Incident, PageTarget, Person, ProviderError
from bot.providers import facets
from bot.providers.facets import offered
from bot.store.pages import PAGED, UNANSWERED

PAGED_WITHIN = 5 * 60.0  # the same target paged again this soon is one page


@handles("page")
async def page(ctx: Context) -> Result | Reply:
    pages = ctx.require(facets.Pages)
    named = ctx.arg("who")
    if named is None or named == "":
        raise ctx.refuse(f"Say who: `{ctx.verb.usage(ctx.command)}`.")
    target = await _target(ctx, pages, named)
    incident = await ctx.incident()
    if incident.closed:
        raise ctx.refuse(
            f"{incident.reference} is {incident.status}: nobody is paged for it. If it is not over, "
            f"`{ctx.command} reopen` it first; to bring someone in to look back, `{ctx.command} invite` them."
        )
    base = f"page:{ctx.invocation.team_id}:{ctx.provider.name}:{incident.id}"
    shown = target.name or ", ".join(p.name or p.slack_id for p in target.people)
    # This very request run again after a restart (a provider whose page carries the
    # request's key, so it dedupes): sent again with that key, not answered "paged already".
    request_id = ctx.invocation.request_id
    replayed = request_id is not None and not await ctx.store.claims.claim(f"page-request:{request_id}")
    # Each person is claimed on their own: a group paged after one of its people (or the
    # other way round) pages the others, not that person a second time.
    keys = [f"{base}:people:{p.slack_id}" for p in target.people] or [f"{base}:{target.key}"]
    # Run again, it pages whom its first run chose (kept before that run paged anyone).
    chose = f"page-request:{request_id}"
    if replayed:
        first = await ctx.store.kept.get(chose)
        if first is None:  # stopped between its claims and this record: it paged nobody
            claimed = [True] * len(keys)
        elif not first.get("pages", True):  # it answered "paged already": so does this
            claimed = [False] * len(keys)
        else:
            chosen = set(first.get("people") or [])
            claimed = [p.slack_id in chosen for p in target.people] or [True]
    else:
        claimed = [await ctx.store.claims.claim(k, window=PAGED_WITHIN) for k in keys]
    skipped: list[Person] = []
    if target.people and any(claimed) and not all(claimed):
        skipped = [p for p, got in zip(target.people, claimed, strict=True) if not got]
        target = PageTarget(people=[p for p, got in zip(target.people, claimed, strict=True) if got])
        keys = [k for k, got in zip(keys, claimed, strict=True) if got]
    if request_id is not None and not replayed:
        chosen_now = {"pages": any(claimed), "people": [p.slack_id for p in target.people]}
        await ctx.store.kept.put(chose, chosen_now)
    if not any(claimed):
        # Held by a page that failed with its outcome unknown: said so, never "was paged".
        unsure = bool(await _unsure(ctx, keys))
        already = Paged(
            reference=incident.reference,
            actor=ctx.actor,
            target=shown,
            people=target.people,
            provider_label=ctx.provider.label,
            already=True,
            unsure=unsure,
            within=PAGED_WITHIN,
            visibility="ephemeral",
        )
        return Reply(result=already, outcome="ok")
    typed = ctx.arg("message")
    message = _message(incident, typed if isinstance(typed, str) else None)
    try:
        # The request's own key: a retry of it is the same page; a page typed again later
        # (past the claim's minutes) is a new one.
        request = request_id or f"{base}:{target.key}:{ctx.clock.now().isoformat()}"
        sent = await pages.page(incident.id, target, ctx.actor, message, request)
    except ProviderError as exc:
        for key in keys:
            if exc.changed == "no":
                await ctx.store.claims.release(key)  # refused: nobody was paged, so a retry may page
            else:  # it may have gone out: kept claimed, and the next try is told that, not "paged"
                await ctx.store.claims.claim(f"unsure:{key}", window=PAGED_WITHIN)
        raise
    paged = sent.people or target.people
    # Run again after a restart: the page this request made is found by its id there (the
    # built-in one's is the request's key), not recorded, and so not rung, a second time.
    made = None
    if replayed and sent.id:
        made = await ctx.store.pages.made(ctx.provider.name, incident.id, sent.id)
        if made is not None and made.person is not None and made.person.slack_id:
            paged = [made.person]  # whom it paged then (the rotation may have handed over since)
    record = made or await ctx.store.pages.add(
        ctx.provider.name,
        incident.id,
        target.key,
        sent.target,
        person=paged[0] if len(paged) == 1 else None,
        via=sent.rotation,
        external_id=sent.id,
        answers_to=sent.answers_to,
        paged_by=ctx.actor.slack_id,
    )
    result = Paged(
        reference=incident.reference,
        actor=ctx.actor,
        target=sent.target,
        people=paged,
        provider_label=ctx.provider.label,
        note=sent.note,
        incident=incident,
        skipped=skipped,
    )
    if skipped:  # one whose page failed unknown is said so, never "was paged"
        doubtful = set(await _unsure(ctx, [f"{base}:people:{p.slack_id}" for p in skipped]))
        result.skipped_unsure = [p for p in skipped if f"{base}:people:{p.slack_id}" in doubtful]
        result.skipped = [p for p in skipped if p not in result.skipped_unsure]
    result.on = Target(provider=ctx.provider.name, incident_id=incident.id, reference=incident.reference)
    result.capabilities = offered(ctx.provider)
    posts: list[Post] = []
    if sent.ring and ctx.timers is not None:  # the provider rings nobody: the bot DMs them
        ringer = Ringer(ctx.settings, ctx.store, ctx.workspace, ctx.timers, ctx.clock)
        said = typed if isinstance(typed, str) else None
        posts = await ringer.start(incident, record, paged, ctx.actor, said)
        result.rings, result.via = True, sent.rotation
        result.timeout = ctx.settings.incident_page_timeout
    wanted = [p.slack_id for p in paged if p.slack_id]
    if wanted:
        channels = await incident_channels(ctx.store, ctx.provider.name, incident, ctx.invocation.channel_id)
        if channels:
            try:
                brought = await bring_in(ctx.workspace, channels, wanted)
            except WorkspaceError as exc:  # the page went out: say so, and that the invite did not
                result.invite_failed = str(exc)
            else:
                names = {p.slack_id: p for p in paged}
                result.invited = [names.get(u, Person(slack_id=u)) for u in brought.invited]
                result.invite_failed = brought.failed
        else:
            result.invite_failed = f"{incident.reference} has no channel linked to it"
    return Reply(result=result, posts=posts) if posts else result


async def _unsure(ctx: Context, keys: list[str]) -> list[str]:
    """Those of `keys` held by a page that failed with its outcome unknown."""
    held = []
    for key in keys:
        if not await ctx.store.claims.claim(f"unsure:{key}", window=PAGED_WITHIN):
            held.append(key)
        else:
            await ctx.store.claims.release(f"unsure:{key}")
    return held


async def _target(ctx: Context, pages: facets.Pages, named: object) -> PageTarget:
    """A mention is a person; a user group, its members; a word, one of the provider's
    names (an escalation policy), matched as roles and schedules are."""
    if isinstance(named, GroupRef):
        return PageTarget(people=await _members(ctx, named.id, named.handle))
    if isinstance(named, UserRef):
        if named.me or named.id:
            return PageTarget(people=[await ctx.person(named)])
        found = await ctx.workspace.find_user(named.name or "")
        if found is not None:
            return PageTarget(people=[found])
        group = await ctx.workspace.find_group(named.name or "")
        if group is not None:
            return PageTarget(people=await _members(ctx, group, named.name or ""))
        raise ctx.refuse(
            f"I can't find @{named.name}. Pick them, or the group, from Slack's autocomplete so the "
            "mention is a real one."
        )
    typed = str(named).strip()
    if typed.startswith("@"):  # typed in the modal's box, where no mention is made
        return await _target(ctx, pages, UserRef(name=typed[1:]))
    names = await pages.page_targets()
    chosen = naming.match(typed, {n: [] for n in names}, "policy to page")
    if isinstance(chosen, naming.NoMatch):
        raise ctx.refuse(f"{chosen.message} Or page a person: `{ctx.command} page @them`.")
    return PageTarget(name=chosen)


async def _members(ctx: Context, group_id: str, handle: str) -> list[Person]:
    members = sorted(await ctx.workspace.group_members(group_id))
    if not members:
        raise ctx.refuse(
            f"@{handle} has nobody in it that I can see (or I can't read it): "
            "page the people instead, or ask whoever runs the bot to check its usergroups:read scope."
        )
    if len(members) > LARGE_GROUP:
        raise ctx.refuse(
            f"@{handle} has {len(members)} people: paging all of them is surely not meant. "
            "Page its escalation policy by name, or the people who should come."
        )
    return [Person(slack_id=u) for u in members]


def _message(incident: Incident, typed: str | None) -> str:
    said = f"{incident.reference}: {incident.name}."
    if incident.url:
        said += f" {incident.url}"
    return f"{said}\n{typed}" if typed else f"{said}\nPlease join the incident's Slack channel."


@handles("escalate")
async def escalate(ctx: Context) -> Result | Reply:
    escalates = ctx.require(facets.Escalates)
    typed = ctx.arg("level")
    level: int | None = None
    if isinstance(typed, str) and typed:
        digits = typed.lower().removeprefix("level").strip()
        if not digits.isdigit() or int(digits) < 1:
            raise ctx.refuse(f"“{typed}” is not a level: say a number, like `{ctx.command} escalate 2`.")
        level = int(digits)
    incident = await ctx.incident()
    done = await escalates.escalate(incident.id, level, ctx.actor)
    if done.ring and ctx.timers is not None:  # the provider escalates nothing: the bot moves its pages
        # Nothing at the provider marks it made: this request moving pages once is claimed, so
        # run again after a restart it says what is known instead of paging one person more.
        request = ctx.invocation.request_id
        if request and not await ctx.store.claims.claim(f"escalate-request:{request}"):
            text = ctx.invocation.text or ctx.verb.name
            return Reply(
                result=Restarted(command=ctx.command, text=text, changed="unknown"), outcome="unknown"
            )
        ringer = Ringer(ctx.settings, ctx.store, ctx.workspace, ctx.timers, ctx.clock)
        return await ringer.escalate(
            incident, ctx.provider, level, ctx.actor, ctx.invocation.channel_id, ctx.command
        )
    return EscalatedTo(
        reference=incident.reference,
        actor=ctx.actor,
        provider_label=ctx.provider.label,
        level=done.level,
        policy=done.policy,
    )


@handles("answer")
async def answer(ctx: Context) -> Result | Reply:
    """Only the person a page rang may answer it: a page acknowledged by someone else would
    stop the escalation while the one paged still sleeps through it."""
    incident = await ctx.incident()
    pages = await ctx.store.pages.of_incident(ctx.provider.name, incident.id)
    rung = [p for p in pages if p.rings > 0]  # rung by the bot itself (a built-in page)
    typed = ctx.arg("page")
    mine = [p for p in rung if ctx.actor.slack_id in p.tried and p.state in (PAGED, UNANSWERED)]
    if isinstance(typed, str) and typed:
        digits = typed.lstrip("#")
        chosen = next((p for p in rung if digits.isdigit() and p.id == int(digits)), None)
        if chosen is None:
            raise ctx.refuse(f"{incident.reference} has no page {typed} that the bot sent.")
        if ctx.actor.slack_id not in chosen.tried:
            raise ctx.refuse(
                f"That page of {incident.reference} was not sent to you: nothing to acknowledge."
            )
    else:
        if not mine:
            raise ctx.refuse(f"No page of {incident.reference} is waiting for you to acknowledge.")
        chosen = mine[0]
    if chosen.state not in (PAGED, UNANSWERED):
        who = chosen.person.name or chosen.person.slack_id if chosen.person else "someone"
        return Failure(
            what=f"That page of {incident.reference} was {chosen.state} already ({who}): nothing more to do.",
            changed="no",
            visibility="ephemeral",
        )
    assert ctx.timers is not None
    ringer = Ringer(ctx.settings, ctx.store, ctx.workspace, ctx.timers, ctx.clock)
    done = await ringer.acknowledge(incident, chosen, ctx.actor, ctx.invocation.channel_id)
    if done is None:
        return Failure(
            what=f"That page of {incident.reference} was answered a moment ago: nothing more to do.",
            changed="no",
            visibility="ephemeral",
        )
    # Paged twice for one incident (a rotation and by name): one answer is the answer to
    # both, or the other would go on ringing them, then the next person. The channel is
    # told once; each page's DMs are redrawn.
    # `answer #2` typed: that page only; the DM's Acknowledge (which carries its page): all.
    for other in mine if ctx.parsed.target is not None or not typed else []:
        if other.id != chosen.id:
            also = await ringer.acknowledge(incident, other, ctx.actor, ctx.invocation.channel_id)
            if also is not None:
                done.posts += [post for post in also.posts if post.only_update]
    return done
