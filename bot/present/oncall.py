"""On-call answers → documents: who is on call, overrides made, listed and cancelled,
and rotations.

Apart from bot/present/core.py so that neither grows past reading: these all speak of
schedules, shifts and spans of time in the reader's zone.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from bot.commands import results as r
from bot.commands.timeparse import describe, describe_duration, elapsed
from bot.doc import B, Code, Doc, Line, Section, T, User
from bot.domain import Override
from bot.present.core import MAX_LIST, people, present, who


@present.register
def _(result: r.OnCallList) -> Doc:
    if not result.entries:
        return _no_schedules("There are no on-call schedules yet.", result.command)
    lines: list[Line] = []
    for entry in result.entries[:MAX_LIST]:
        line: Line = [B(entry.schedule.name), T(": ")]
        if entry.person is None:
            line.append(T("nobody is on call"))
        else:
            line += who(entry.person)
            if entry.until:
                line.append(T(f" until {describe(entry.until, result.tz, result.at)}"))
            if entry.is_override:
                line.append(T(" (override)"))
        lines.append(line)
    if len(result.entries) > MAX_LIST:
        more = f"… and {len(result.entries) - MAX_LIST} more: name one, "
        lines.append([T(more), Code(f"{result.command} oncall <schedule>")])
    if result.heading:
        return Doc([T(result.heading)], [Section([[T(result.heading)], *lines])])
    return Doc(lines[0] if len(lines) == 1 else [T("Who is on call now")], [Section(lines)])


@present.register
def _(result: r.OverrideCreated) -> Doc:
    o = result.override
    line: Line = [
        User(result.actor.slack_id, result.actor.name),
        T(" put "),
        *who(o.person),
        T(f" on call for {o.schedule.name} from {_span(o, result.tz, result.at)}"),
        T(f" ({describe_duration(elapsed(o.start, o.end))}){_number(o, ', override ')}"),
    ]
    lines: list[Line] = [line]
    replaced = [p for p in result.replaces if p.slack_id != o.person.slack_id or not p.slack_id]
    if replaced:
        lines.append([T("While it lasts it replaces "), *people(replaced), T(".")])
    # Once per override overlapped, however often the provider listed it.
    overlapped = list({other.id: other for other in result.overlaps}.values())
    for other in overlapped[:MAX_LIST]:
        lines.append(
            [
                T("⚠️ It overlaps "),
                *who(other.person),
                T(f"'s override{_number(other, ' ')}, {_span(other, result.tz, result.at)}"),
                T(": this one wins where they meet."),
            ]
        )
    if overlapped:
        listed = Code(f"{result.command} overrides " + o.schedule.name)
        lines.append([listed, T(" lists them to cancel one.")])
    return Doc(line, [Section(lines)])


def _number(o: Override, before: str) -> str:
    return f"{before}#{o.number}" if o.number is not None else ""


def _span(o: Override, tz: str, now: datetime | None = None) -> str:
    return f"{describe(o.start, tz, now)} to {describe(o.end, tz, now)}"


@present.register
def _(result: r.Overrides) -> Doc:
    where = f" on {result.schedule}" if result.schedule else ""
    if not result.overrides:
        line: Line = [T(f"No upcoming overrides{where}.")]
        return Doc(line, [Section([line])])
    lines: list[Line] = [[B(f"Upcoming overrides{where}")]]
    for n, o in enumerate(result.overrides[:MAX_LIST], 1):
        number = o.number if o.number is not None else n  # the store's: it stays put
        span = _span(o, result.tz, result.at)
        lines.append([T(f"#{number} "), B(o.schedule.name), T(": "), *who(o.person), T(f", {span}")])
    if len(result.overrides) > MAX_LIST:
        lines.append([T(f"and {len(result.overrides) - MAX_LIST} more")])
    first = result.overrides[0].number or 1
    where_typed = f"{result.schedule} " if result.schedule else ""
    cancel = f"{result.command} override cancel {where_typed}#{first}"
    lines.append([T("Cancel one: "), Code(cancel)])
    return Doc([T(f"{len(result.overrides)} upcoming overrides{where}")], [Section(lines)])


@present.register
def _(result: r.OverrideCancelled) -> Doc:
    o = result.override
    line: Line = [
        User(result.actor.slack_id, result.actor.name),
        T(" cancelled "),
        *who(o.person),
        T(f"'s override on {o.schedule.name}, {_span(o, result.tz, result.at)}{_number(o, ' (')}"),
        T(")" if o.number is not None else ""),
        T(" (it had begun, so it ends now)" if result.ended_now else ""),
    ]
    return Doc(line, [Section([line])])


@present.register
def _(result: r.Schedules) -> Doc:
    if not result.schedules:
        return _no_schedules("No schedules yet.", result.command)
    lines: list[Line] = [[B("Saved schedule" if result.saved else "Schedules")]]
    for s in result.schedules[:MAX_LIST]:
        line = [B(s.name), T(": "), *people(s.users[:10])]
        if s.handover_seconds:
            line.append(T(f"; hands over every {describe_duration(timedelta(seconds=s.handover_seconds))}"))
        if s.start:
            line.append(T(f" from {describe(s.start, result.tz)}"))
        lines.append(line)
    if result.saved and result.start_by_default:
        first = result.schedules[0]
        if first.start and first.handover_seconds and first.users:
            handover = first.start + timedelta(seconds=first.handover_seconds)
            lines.append(
                [
                    T("On call from now: "),
                    *who(first.users[0]),
                    T(f"; handovers fall on the hour, the first at {describe(handover, result.tz)}. "),
                    T("Say "),
                    Code("from:…"),
                    T(" to start at another time."),
                ]
            )
    if result.saved and result.starts_later:
        name = result.schedules[0].name
        lines.append(
            [
                T(f"Until {describe(result.starts_later, result.tz)} nobody is on call on {name}: "),
                Code(f"{result.command} override {name} @someone until …"),
                T(" covers the gap."),
            ]
        )
    return Doc(
        lines[0] + [T(f": {result.schedules[0].name}")] if result.saved else lines[0],
        [Section(lines)],
    )


def _no_schedules(said: str, command: str) -> Doc:
    """Nothing to list yet: what to type to make the first rotation."""
    line: Line = [T(f"{said} Create one: "), Code(f"{command} schedule primary @ana @bob every 1w")]
    return Doc(line, [Section([line])])
