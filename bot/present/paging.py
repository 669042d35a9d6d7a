"""A built-in page as documents: the DM that rings someone, and the lines its channel hears
when it is acknowledged or goes unanswered.

The DM is read half awake on a phone: what is on fire and where to go first, then the one
button; once answered it is redrawn without it, saying who answered.
"""

from __future__ import annotations

from datetime import timedelta

from bot.commands import results as r
from bot.commands.timeparse import describe_duration
from bot.doc import Actions, B, Block, Button, Channel, Code, Context, Doc, Line, Link, Section, T, User
from bot.domain import Incident, Person
from bot.present.core import people, present, who

NAMED = 5  # people of a user group named in a channel line before "and N more"


def _people(persons: list[Person]) -> Line:
    """Everyone a page rang (a user group's members), the first few by name."""
    line = people(persons[:NAMED])
    if len(persons) > NAMED:
        line.append(T(f" and {len(persons) - NAMED} more"))
    return line


def _title(incident: Incident) -> Line:
    label = f"{incident.reference}: {incident.name}"
    return [Link(incident.url, label)] if incident.url else [B(label)]


@present.register
def _(result: r.PageRing) -> Doc:
    i = result.incident
    severity = f" ({i.severity})" if i.severity else ""
    if result.state == "acknowledged":
        head: Line = [T("✅ Acknowledged: "), *_title(i), T(severity)]
        by: Line = [T("by "), *who(result.by)]
        if result.at is not None:
            by.append(T(f" at {result.at:%H:%M} UTC"))
        lines: list[Line] = [head, by]
        if result.channel_id:
            lines.append([T("Its channel: "), Channel(result.channel_id, f"{i.reference} channel")])
        return Doc(head, [Section(lines)])
    first = "📟 Paged again" if result.ring > 1 else "📟 You are paged"
    head = [T(f"{first} for "), *_title(i), T(severity)]
    lines = [head]
    if result.channel_id:
        lines.append([T("Join its channel: "), Channel(result.channel_id, f"{i.reference} channel")])
    if result.actor is not None:
        said: Line = [T("Paged by "), *who(result.actor)]
        if result.message:
            said += [T(": "), T(result.message)]
        lines.append(said)
    blocks: list[Block] = [Section(lines)]
    if result.state == "escalated":
        escalated_by: Line = who(result.by) if result.by is not None else [T("Someone")]
        note: Line = [*escalated_by, T(" escalated the page")]
        if result.next is not None:
            note += [T(": "), User(result.next.slack_id, result.next.name), T(" is paged now")]
        note.append(T(". You can still acknowledge."))
    elif result.state == "moved":
        note = [T("Not acknowledged in time: the next person on call was paged. You can still acknowledge.")]
    elif result.state == "unanswered":
        note = [T("Nobody acknowledged in time, and the channel was told. You can still acknowledge.")]
    else:
        then = f", then the next person of {result.via}" if result.via else ""
        note = [T(f"Acknowledge so the bot stops paging: without it you are paged again{then}.")]
        if result.ring > 1:
            note = [T(f"The last time you are paged for this{then}.")]
    blocks.append(Context(note))
    button = Button(
        "answer",
        "Acknowledge",
        i.provider,
        i.id,
        i.reference,
        style="primary",
        text=f"#{result.page_id}",
    )
    blocks.append(Actions([button]))
    return Doc(head, blocks)


@present.register
def _(result: r.PageAnswered) -> Doc:
    waited = describe_duration(result.at - result.paged_at)
    line: Line = [
        T("✅ "),
        User(result.person.slack_id, result.person.name),
        T(
            f" acknowledged the page for {result.reference} (paged {result.paged_at:%H:%M} UTC, "
            f"answered after {waited})."
        ),
    ]
    return Doc(line, [Section([line])])


@present.register
def _(result: r.PageMoved) -> Doc:
    waited = describe_duration(timedelta(seconds=result.waited))
    rung = result.people or [result.person]
    person = _people(rung)
    several = len(rung) > 1
    if result.next is not None and result.next.slack_id == result.person.slack_id:
        line: Line = [
            T("📟 "),
            *person,
            T(f" {'haven' if several else 'hasn'}'t acknowledged the page for {result.reference} "),
            T(f"in {waited}: paged again."),
        ]
        return Doc(line, [Section([line])])
    if result.next is not None:
        via = f", next in {result.via}," if result.via else ""
        line = [
            T("📟 "),
            *person,
            T(f" didn't acknowledge the page for {result.reference} in {waited}: paging "),
            User(result.next.slack_id, result.next.name),
            T(f"{via} instead."),
        ]
        return Doc(line, [Section([line])])
    line = [
        T(f"⚠️ Nobody acknowledged the page for {result.reference}: "),
        *person,
        T(f" {'were' if several else 'was'} paged twice, and there is nobody else to page"),
        T(f" in {result.via}." if result.via else "."),
    ]
    help_line: Line = [T("Page someone else: "), Code(f"{result.command} page @them"), T(".")]
    return Doc(line, [Section([line, help_line])])


@present.register
def _(result: r.PageEscalated) -> Doc:
    """Who is paged now, and whom that skipped: the channel must know who to expect."""
    lines: list[Line] = []
    for step in result.moves:
        line: Line = [
            T("📟 "),
            *who(result.actor),
            T(f" escalated the page for {result.reference}: paging "),
            User(step.next.slack_id, step.next.name),
            T(f" (level {step.level} of {step.via}) now"),
        ]
        if step.skipped:
            line += [T(", instead of "), *_people(step.skipped)]
        line.append(T("."))
        lines.append(line)
    wait = describe_duration(timedelta(seconds=result.timeout))
    lines.append([T(f"Not acknowledged within {wait}, they are paged again, then the next person.")])
    lines += [[T(f"⚠️ {why}")] for why in result.not_moved]
    return Doc(lines[0], [Section(lines)])
