"""Who was brought in, who would be, and what is open: `invite` and `list` as documents.

Apart from bot/present/core.py so that neither grows past reading.
"""

from __future__ import annotations

from datetime import timedelta

from bot.commands import registry
from bot.commands import results as r
from bot.commands.timeparse import describe_duration
from bot.doc import Actions, B, Block, Button, Channel, Code, Doc, Line, Section, T, User
from bot.present.core import MAX_LIST, _running, people, present


def _some(persons: list, limit: int = MAX_LIST) -> Line:
    """Mentions of at most `limit` people, the rest counted: a large group is a long line."""
    line = people(persons[:limit])
    if len(persons) > limit:
        line.append(T(f" and {len(persons) - limit} more"))
    return line


def _groups(handles: list[str]) -> str:
    return ", ".join(f"@{h}" for h in handles)


@present.register
def _(result: r.Invited) -> Doc:
    lines: list[Line] = []
    if result.invited:
        who: Line = (
            [User(result.actor.slack_id, result.actor.name), T(" invited ")]
            if result.actor
            else [T("Invited ")]
        )
        line: Line = [*who]
        if result.groups:
            # Those named one by one are not said to come from the group.
            named = [p for p in result.invited if p.slack_id in result.named]
            members = [p for p in result.invited if p.slack_id not in result.named]
            if named:
                line += [*_some(named), T(", and " if members else "")]
            if members:
                line += [*_some(members), T(f" (from {_groups(result.groups)})")]
        else:
            line += _some(result.invited)
        if result.severity and result.actor is None:
            line.append(
                T(f": {result.reference} is {result.severity}, and the bot's policy brings them in at it")
            )
        line.append(T("."))
        lines.append(line)
    if result.already:
        said = " was" if len(result.already) == 1 else " were"
        lines.append([*_some(result.already), T(f"{said} here already.")])
    if result.failed:
        lines.append(
            [
                T(f"I couldn't invite everyone: {result.failed}. Slack's own "),
                Code("/invite @them"),
                T(" works where I can't."),
            ]
        )
    if not lines:
        lines.append([T("Nobody to invite.")])
    return Doc(lines[0], [Section(lines)])


@present.register
def _(result: r.OpenIncidents) -> Doc:
    where = " where you hold a role" if result.mine else ""
    if not result.entries:
        # Only where every provider answered is "none" known; otherwise, none among those read.
        said = "right now" if not result.missing else "at the providers that answered"
        head: Line = [T(f"No open incidents{where} {said}.")]
        lines: list[Line] = [head]
    else:
        count = len(result.entries) + result.more
        head = [T(f"{count} open incident{'s' if count != 1 else ''}{where}, newest first:")]
        lines = [head]
        for entry in result.entries:
            lines.append(_line(entry, result))
        if result.more and result.mine:
            lines.append([T(f"… and {result.more} more.")])
        elif result.more:
            lines.append(
                [T(f"… and {result.more} more; "), Code(f"{result.command} list mine"), T(" shows yours.")]
            )
    for missing in result.missing:
        lines.append([T(f"Not in this list: {missing}.")])
    if result.hidden:
        some = "1 private incident" if result.hidden == 1 else f"{result.hidden} private incidents"
        lines.append([T(f"Not in this list: {some} (only the people in its channel see it).")])
    return Doc(head, [Section(lines)])


def _line(entry: r.OpenIncident, result: r.OpenIncidents) -> Line:
    incident = entry.incident
    title = f"{incident.reference}: {incident.name}"
    line: Line = [B(title)]
    if entry.provider_label:
        line.append(T(f" at {entry.provider_label}"))
    line.append(T(f" · {incident.status} · {incident.severity or 'no severity'} · "))
    line += (
        [T("lead "), User(entry.lead.slack_id, entry.lead.name)]
        if entry.lead and entry.lead.slack_id
        else [T(f"lead {entry.lead.name}" if entry.lead and entry.lead.name else "no lead")]
    )
    line.append(T(f" · open {_running(incident, result.at)}"))
    if entry.channel_id:
        line += [T(" · "), Channel(entry.channel_id, incident.reference.lower())]
    return line


def _span(seconds: float) -> str:
    return describe_duration(timedelta(seconds=seconds))


@present.register
def _(result: r.Paged) -> Doc:
    who: Line = _some(result.people) if result.people else [B(result.target)]
    if result.already and result.unsure:
        head: Line = [
            T("A page to "),
            *who,
            T(f" for {result.reference} failed a moment ago and may or may not have gone out "),
            T(f"({result.provider_label} did not answer in time). Check at {result.provider_label} "),
            T(f"before paging again: it can be sent again after {_span(result.within)}."),
            T(" Or page someone else."),
        ]
        return Doc(head, [Section([head])])
    if result.already:
        head = [
            *who,
            T(f" {'was' if len(result.people) < 2 else 'were'} paged for {result.reference} "),
            T("in the last few minutes; not paged again. Give them a moment, or page someone else."),
        ]
        return Doc(head, [Section([head])])
    where = f" (on call for {result.via}) by DM" if result.via else " by DM"
    head = [
        User(result.actor.slack_id, result.actor.name),
        T(" paged "),
        *who,
        T(f"{where if result.rings else ' at ' + result.provider_label} for {result.reference}."),
    ]
    lines: list[Line] = [head]
    if result.rings:  # the bot rings them itself: say what happens without an answer
        wait = describe_duration(timedelta(seconds=result.timeout))
        after = f", then the next person of {result.via}" if result.via else ""
        lines.append([T(f"Not acknowledged within {wait}, they are paged again{after}.")])
    if result.skipped:
        were = "was" if len(result.skipped) == 1 else "were"
        again = f" {were} paged for {result.reference} in the last few minutes: not paged again."
        lines.append([*_some(result.skipped), T(again)])
    if result.skipped_unsure:
        lines.append(
            [
                T("A page to "),
                *_some(result.skipped_unsure),
                T(" failed a moment ago and may or may not have gone out: not sent again. "),
                T(f"Check at {result.provider_label}."),
            ]
        )
    if result.note:
        lines.append([T(f"⚠️ {result.note}")])
    if result.invited:
        where = f"{result.reference}'s channel" if result.elsewhere is not None else "this channel"
        lines.append([*_some(result.invited), T(f" invited to {where}.")])
    if result.invite_failed:
        lines.append(
            [
                T(f"I couldn't invite them here: {result.invite_failed}. Slack's own "),
                Code("/invite @them"),
                T(" works where I can't."),
            ]
        )
    blocks: list[Block] = [Section(lines)]
    target = result.on
    then = registry.after_paging(result.capabilities) if target is not None else []
    if target is not None and then:
        blocks.append(
            Actions(
                [
                    Button(
                        v.name,
                        v.button or v.name,
                        target.provider,
                        target.incident_id,
                        target.reference,
                        confirm=v.confirm,
                    )
                    for v in then
                ]
            )
        )
    return Doc(head, blocks)


@present.register
def _(result: r.EscalatedTo) -> Doc:
    level = f" to level {result.level}" if result.level is not None else ""
    policy = f" of {result.policy}" if result.policy else ""
    head: Line = [
        User(result.actor.slack_id, result.actor.name),
        T(f" escalated {result.reference}{level}{policy} at {result.provider_label}."),
    ]
    lines: list[Line] = [head]
    if result.level is not None:
        lines.append([T("Next: "), Code(f"{result.command} escalate {result.level + 1}"), T(".")])
    return Doc(head, [Section(lines)])
