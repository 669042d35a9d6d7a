"""Results → neutral documents. The one place that decides what each answer says."""

from __future__ import annotations

from datetime import datetime
from functools import singledispatch

from bot.commands import results as r
from bot.commands.timeparse import describe, describe_day, describe_duration
from bot.doc import (
    Actions,
    B,
    Block,
    Button,
    Channel,
    Code,
    Context,
    Doc,
    Fields,
    Header,
    Line,
    Link,
    Section,
    T,
    User,
)
from bot.domain import FollowUp, Incident, PageShown, Person, in_command

MAX_LIST = 20  # follow-ups / schedules shown before "and N more": messages stay readable


def who(person: Person | None) -> list:
    return [User(person.slack_id, person.name)] if person else [T("nobody")]


def people(persons: list[Person]) -> Line:
    """@ana, @bea, @cy: mentions where Slack knows them, names otherwise."""
    line: Line = []
    for n, person in enumerate(persons):
        line += ([T(", ")] if n else []) + who(person)
    return line


def _incident_title(incident: Incident) -> Line:
    title: Line = [B(f"{incident.reference}: {incident.name}")]
    if incident.url:
        title = [Link(incident.url, f"{incident.reference}: {incident.name}")]
    return title


def _running(incident: Incident, now: datetime) -> str:
    end = incident.resolved_at or now
    return describe_duration(end - incident.created_at)


def _followup_line(item: FollowUp, tz: str, now: datetime | None = None) -> Line:
    line: Line = [T(f"#{item.number} "), T(item.title)]
    if item.assignee:
        line += [T(" → "), User(item.assignee.slack_id, item.assignee.name)]
    if item.due:
        line.append(T(f" (due {describe_day(item.due, tz, now)})"))
    if item.state != "open":
        line.append(T(f" [{item.state}]"))
    return line


def _pages_line(pages: list[PageShown], more: int) -> Line:
    """One short line: who was paged, and whether they answered. Times, not "3m ago": the
    card is redrawn only when something changes."""
    line: Line = [T("📟 Paged: ")]
    for n, page in enumerate(pages):
        line += [T(" · ")] if n else []
        person = page.person if page.person and (page.person.slack_id or page.person.name) else None
        line += who(person) if person else [T(page.target)]
        if person and page.target not in (person.name, person.slack_id):
            line.append(T(f" ({page.target})"))  # the rotation or policy they were paged through
        if page.state == "paged":
            line.append(T(f" paged {page.paged_at:%H:%M} UTC, not acknowledged yet"))
        else:
            when = page.answered_at or page.paged_at
            line.append(T(f" {page.state} {when:%H:%M} UTC"))
    if more:
        line.append(T(f" · and {more} more"))
    return line


def _next_update(due: datetime, now: datetime) -> str:
    if due <= now:
        return f"overdue by {describe_duration(now - due)}"
    return f"due in {describe_duration(due - now)} ({describe(due, 'UTC', now)})"


def card_blocks(incident: Incident, now: datetime) -> list:
    """`now`: the caller's clock's moment (a presenter never reads the wall clock itself),
    what "running for" counts to. First what someone opening the channel needs: where it
    stands, who leads (or that nobody does), the latest update and when the next is due."""
    pulse = incident.pulse
    fields: list[tuple[str, Line]] = [
        ("Status", [T(incident.status)]),
        ("Severity", [T(incident.severity or "not set")]),
    ]
    lead = pulse.lead_role if pulse else None
    if lead is not None:
        held = incident.roles.get(lead)
        fields.append((lead.capitalize(), who(held) if held else [T("no lead yet")]))
    for role, person in incident.roles.items():
        if role != lead:
            fields.append((role.capitalize(), who(person)))
    state = "resolved after" if incident.closed else "running for"
    fields.append(("Time", [T(f"{state} {_running(incident, now)}")]))
    if pulse and pulse.next_update and not incident.closed:
        fields.append(("Next update", [T(_next_update(pulse.next_update, now))]))
    blocks: list = [Header(f"{incident.reference}: {incident.name}"), Fields(fields[:10])]
    latest = pulse.latest if pulse else None
    if latest is not None:
        said: Line = [B("Latest update"), T(f" ({describe_duration(now - latest.at)} ago")]
        said += [T(", "), *who(latest.author), T(")")] if latest.author else [T(")")]
        blocks.append(Section([said, [T(latest.text)]]))
    if incident.summary:
        blocks.append(Section([[T(incident.summary)]]))
    open_items = [f for f in incident.followups if f.state == "open"]
    if open_items:
        lines: list[Line] = [[B(f"Open follow-ups ({len(open_items)})")]]
        lines += [_followup_line(f, "UTC", now) for f in open_items[:MAX_LIST]]
        if len(open_items) > MAX_LIST:
            lines.append([T(f"… and {len(open_items) - MAX_LIST} more")])
        blocks.append(Section(lines))
    if pulse and pulse.pages:
        blocks.append(Context(_pages_line(pulse.pages, pulse.more_pages)))
    label = pulse.label if pulse else None  # the provider's own name; none for the built-in one
    ctx: Line = [T(f"{label} · {incident.reference}" if label else incident.reference)]
    if incident.url:
        ctx += [T(" · "), Link(incident.url, f"open at {label}" if label else "open at the provider")]
    public = pulse.status_page if pulse else None  # published through `statuspage`
    if public is not None:
        shown = f"on the status page {public.page}"
        ctx += [T(" · "), Link(public.url, shown) if public.url else T(shown)]
    blocks.append(Context(ctx))
    return blocks


@singledispatch
def present(result: r.Result) -> Doc:
    raise TypeError(f"no presentation for {type(result).__name__}")


def _buttons(result: r.Card) -> Actions:
    i = result.incident

    def drawn(b: r.Button) -> Button:
        return Button(b.verb, b.label, i.provider, i.id, i.reference, b.confirm, b.style, b.text)

    return Actions([drawn(b) for b in result.buttons], [drawn(b) for b in result.menu])


@present.register
def _(result: r.Card) -> Doc:
    summary: Line = [T(f"{result.incident.reference}: {result.incident.name} ({result.incident.status})")]
    blocks = card_blocks(result.incident, result.at)
    if result.buttons or result.menu:
        blocks.append(_buttons(result))
    if result.actor and result.note:
        blocks.insert(0, Context([User(result.actor.slack_id, result.actor.name), T(f" {result.note}")]))
        summary = [User(result.actor.slack_id, result.actor.name), T(f" {result.note}: "), *summary]
    return Doc(summary, blocks)


@present.register
def _(result: r.Changed) -> Doc:
    i = result.incident
    before, _, after = result.what.partition("{person}")
    line: Line = [User(result.actor.slack_id, result.actor.name), T(f" {before}")]
    if result.person:
        line += [*who(result.person), T(after)]
    line += [T(" · "), B(f"{i.reference}: {i.name}")]
    blocks: list = [Section([line])]
    if result.note:
        blocks.append(Section([[T(result.note)]]))
    blocks.append(Context([T(f"Status: {i.status} · Severity: {i.severity or 'not set'}")]))
    return Doc(line, blocks)


@present.register
def _(result: r.Declared) -> Doc:
    i = result.incident
    line: Line = [
        T(f"Declared {i.reference}: "),
        T(i.name),
        T(". Its private channel: " if result.private else ". Its channel: "),
        Channel(result.channel_id, result.channel_name),
    ]
    if result.private:
        line.append(T(" (only those invited see it)"))
    return Doc(line, [Section([line])])


@present.register
def _(result: r.Unlinked) -> Doc:
    line: Line = [
        User(result.actor.slack_id, result.actor.name),
        T(f" unlinked this channel from {result.reference}. The incident itself is unchanged."),
    ]
    return Doc(line, [Section([line])])


@present.register
def _(result: r.Roles) -> Doc:
    i = result.incident
    lines: list[Line] = [[B(f"Roles on {i.reference}")]]
    for role in result.role_names:
        lines.append([T(f"{role}: "), *who(i.roles.get(role))])
    return Doc(lines[0], [Section(lines)])


@present.register
def _(result: r.FollowUpAdded) -> Doc:
    verb = f"completed {result.kind}" if result.completed else f"added {result.kind}"
    line: Line = [
        User(result.actor.slack_id, result.actor.name),
        T(f" {verb} on {result.incident.reference}: "),
    ]
    line += _followup_line(result.followup, result.tz, result.at)
    return Doc(line, [Section([line])])


@present.register
def _(result: r.FollowUps) -> Doc:
    i = result.incident
    example = {
        "follow-up": f"{result.command} followup <what> @who due:friday",
        "task": f"{result.command} task <what> @who",
    }
    if not result.followups:
        line: Line = [T(f"{i.reference} has no {result.kind}s yet. Add one: "), Code(example[result.kind])]
        return Doc(line, [Section([line])])
    title = f"{result.kind.capitalize()}s on {i.reference} ({len(result.followups)})"
    lines: list[Line] = [[B(title)]]
    lines += [_followup_line(f, result.tz, result.at) for f in result.followups[:MAX_LIST]]
    if len(result.followups) > MAX_LIST:
        more: Line = [T(f"… and {len(result.followups) - MAX_LIST} more")]
        if i.url:  # the whole list is the provider's to show
            more += [T(": "), Link(i.url, f"all {len(result.followups)} on the incident's page")]
        lines.append(more)
    if not result.pick:
        return Doc(lines[0], [Section(lines)])
    lines.append([T("Which one? Click it, or say "), Code(result.pick)])
    # One click each (the verb's own button, carrying `done #n`), for the first five.
    done = [
        Button("followup", f"Done #{f.number}", i.provider, i.id, i.reference, text=f"done #{f.number}")
        for f in result.followups[:5]
    ]
    return Doc(lines[0], [Section(lines), Actions(done)])


@present.register
def _(result: r.UpdatePosted) -> Doc:
    head: Line = [
        B(f"{'Stakeholder update' if result.stakeholders else 'Update'} on {result.incident.reference}"),
        T(" from "),
        User(result.actor.slack_id, result.actor.name),
    ]
    # A refused change whose note was kept: why first, so nobody reads it as made.
    said: list[Section] = [Section([[T(result.instead)]])] if result.instead else []
    return Doc(
        [*([T(result.instead + " ")] if result.instead else []), *head, T(": "), T(result.text)],
        [*said, Section([head, [T(result.text)]]), Context([T(f"Status: {result.incident.status}")])],
    )


@present.register
def _(result: r.Help) -> Doc:
    if result.detail:
        e = result.entries[0]
        lines: list[Line] = [[B(e.name)], [T(e.summary)], [T("Usage: "), Code(e.usage)]]
        if e.aliases:
            lines.append([T("Also: " + ", ".join(e.aliases))])
        lines += [[T("Example: "), Code(x)] for x in e.examples]
        where = f" at {result.provider_label}" if result.provider_label else " here"
        for kind, names in e.choices.items():
            if names:
                shown = names[:MAX_LIST]
                more = f" … and {len(names) - len(shown)} more" if len(names) > len(shown) else ""
                lines.append([T(f"{kind.capitalize()}{where}: " + ", ".join(shown) + more)])
        if e.common:
            lines.append([T("Also understood: " + ", ".join(f"{w} → {n}" for w, n in e.common.items()))])
        if not e.available:
            where = f" with {result.provider_label}" if result.provider_label else " here"
            lines.append([T(f"Not available{where}.")])
        return Doc([T(f"How to use {e.name}: "), Code(e.usage)], [Section(lines)])
    lines = [[Code(e.usage), T(f"  {e.summary}")] for e in result.entries if e.available]
    missing = [e.name for e in result.entries if not e.available]
    blocks: list = [Header("Run an incident from this channel"), Section(lines)]
    if missing:
        by = f" by {result.provider_label}'s API" if result.provider_label else " here"
        blocks.append(Context([T(f"Not offered{by}: " + ", ".join(missing))]))
    blocks.append(Context([T(f"More on one verb: {result.command} help <verb>")]))
    return Doc([T(f"{result.command} verbs: " + ", ".join(e.name for e in result.entries))], blocks)


@present.register
def _(result: r.Usage) -> Doc:
    e = result.error
    line: Line = [T(e.message)]
    return Doc(line, [Section([line, [T("Usage: "), Code(e.usage)]])])


@present.register
def _(result: r.Quiet) -> Doc:
    return Doc([], [])


@present.register
def _(result: r.Notice) -> Doc:
    incident = result.incident
    title: Line = [T("🔔 "), T(f"{incident.reference}: {incident.name}")]
    if incident.url:
        title = [T("🔔 "), Link(incident.url, f"{incident.reference}: {incident.name}")]
    said = [T(f"changed at {result.provider_label}")]
    if result.actor:
        said.append(T(f" by {result.actor}"))
    lines: list[Line] = [[*title, T(" · "), *said]]
    lines += [[T("• "), T(change)] for change in result.changes[:10]]
    return Doc(lines[0], [Section(lines)])


@present.register
def _(result: r.ActedElsewhere) -> Doc:
    line: Line = [
        User(result.actor.slack_id, result.actor.name),
        T(" ran "),
        Code(f"{result.command} {result.text}".strip()),
        T(" from "),
        Channel(result.channel_id, result.channel_name or result.channel_id),
    ]
    return Doc(line, [Section([line])])


@present.register
def _(result: r.Restarted) -> Doc:
    doing = Code(f"{result.command} {result.text}".strip())
    said: Line = [T("The bot restarted while doing "), doing, T(".")]
    outcome: Line
    if result.changed == "yes":
        outcome = [B("It was done."), T(" "), Code(f"{result.command} info"), T(" shows where things stand.")]
    else:
        outcome = [
            B("It may or may not have taken effect."),
            T(" Check the card ("),
            Code(f"{result.command} info"),
            T(") before trying again."),
        ]
    return Doc(said, [Section([said, outcome])])


@present.register
def _(result: r.Failure) -> Doc:
    changed = {
        "no": "Nothing was changed.",
        "yes": "Part of it was done (see above).",
        "unknown": "It may or may not have taken effect.",
    }[result.changed]
    lines: list[Line] = [[T("⚠️ "), T(result.what)], [B(changed)]]
    if result.next_step:
        lines.append([T(result.next_step)])
    return Doc(lines[0], [Section(lines)])


@present.register
def _(result: r.DoneUnread) -> Doc:
    line: Line = [*(who(result.actor) if result.actor else []), T(f" Done: {result.done}.")]
    behind: Line = [
        T(
            f"Reading the incident back from {result.provider_label} afterwards failed ({result.reason}), "
            "so the card may be a moment behind. "
        ),
        Code(f"{result.command} info"),
        T(" in a minute shows it; there is no need to do it again."),
    ]
    return Doc(line, [Section([line, behind])])


@present.register
def _(result: r.AskFirst) -> Doc:
    t = result.target
    line: Line = [T(result.question), T(" Nothing was done yet.")]
    button = Button(result.verb, result.label, t.provider, t.incident_id, t.reference, style="danger")
    return Doc(line, [Section([line]), Actions([button])])


@present.register
def _(result: r.NotLinked) -> Doc:
    if result.retyped:
        said: Line = [
            T("This channel isn't linked to an incident, and a reference after the words is read as "),
            T("part of them. Name the incident before them: "),
            Code(f"{result.command} {result.retyped}"),
            T("."),
        ]
        return Doc(said, [Section([said])])
    line: Line = [
        T("This channel isn't linked to an incident. Link it with "),
        Code(f"{result.command} link INC-12"),
        T(", name one at the end ("),
        Code(f"{result.command} status resolved INC-12"),
        T("), or start one with "),
        Code(f"{result.command} declare <what is broken>"),
        T("."),
    ]
    return Doc(line, [Section([line])])


@present.register
def _(result: r.NotSupported) -> Doc:
    reason = in_command(result.reason, result.command) if result.reason else None
    line: Line = [T(reason or f"{result.provider_label}'s API can't do `{result.verb}`.")]
    if result.url:
        line += [T(f" Do it in {result.provider_label}: "), Link(result.url, "open the incident")]
    return Doc(line, [Section([line])])


def shown(result: r.Result, command: str) -> Doc:
    """A result rendered with the workspace's own command in its examples."""
    if result.command != command:
        result = result.model_copy(update={"command": command})
    doc = present(result)
    if result.elsewhere is not None:
        doc = _elsewhere(doc, result.elsewhere)
    return doc


def _elsewhere(doc: Doc, where: r.Elsewhere) -> Doc:
    """Said before anything else: the answer is about another incident than the channel's."""
    banner: Line = [
        T("⚠️ "),
        B(f"This acted on {where.reference}"),
        T(f", not on this channel's incident {where.channel_reference}."),
    ]
    return Doc([*banner, T(" "), *doc.summary], [Section([banner]), *doc.blocks])


TIMELINE_LINE = 200  # characters of one item's text: thirty items stay one readable message
TIMELINE_SECTION = 8  # items per section, so none passes Block Kit's 3,000 characters


@present.register
def _(result: r.Pinned) -> Doc:
    at = f" at {result.provider_label}" if result.provider_label else ""
    if result.removed:
        said = f"Took that message out of {result.reference}'s timeline{at}."
    elif result.already:
        said = f"That message is already in {result.reference}'s timeline{at}."
    else:
        said = f"Added that message to {result.reference}'s timeline{at}."
    line: Line = [T(said)]
    if result.permalink and not result.removed:
        line += [T(" "), Link(result.permalink, "the message")]
    return Doc(line, [Section([line])])


@present.register
def _(result: r.Timeline) -> Doc:
    if not result.items:
        line: Line = [T(f"{result.reference}'s timeline is empty so far.")]
        return Doc(line, [Section([line])])
    head: Line = [B(f"Timeline of {result.reference}"), T(f" ({result.source}, newest last)")]
    lines: list[Line] = []
    if result.earlier:
        lines.append([T(f"… and {result.earlier} earlier")])
    for item in result.items:
        text = item.text if len(item.text) <= TIMELINE_LINE else item.text[: TIMELINE_LINE - 1] + "…"
        line = [T(f"{describe(item.at, result.tz, result.at)} · {item.kind}: "), T(text)]
        if item.author:
            line += [T(" — "), *who(item.author)]
        lines.append(line)
    sections: list[Block] = [Section([head])]
    sections += [Section(lines[n : n + TIMELINE_SECTION]) for n in range(0, len(lines), TIMELINE_SECTION)]
    return Doc(head, sections)
