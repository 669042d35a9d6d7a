"""The bot's own notices → documents: reminders, nudges, handovers, announcements, snoozes.

Apart from bot/present/core.py (the answers to commands) because these are said unasked, to a
channel or a person who did not type anything: each says why it is there and how to make
it stop.
"""

from __future__ import annotations

from datetime import timedelta

from bot.commands import results as r
from bot.commands.timeparse import describe, describe_day, describe_duration
from bot.doc import Actions, B, Button, Channel, Code, Context, Doc, Line, Link, Section, T, User
from bot.domain import Incident
from bot.present.core import present, who


def _title(incident: Incident) -> Line:
    label = f"{incident.reference}: {incident.name}"
    return [Link(incident.url, label)] if incident.url else [B(label)]


def _actions(incident: Incident, actions: list[r.Action]) -> Actions:
    return Actions(
        [
            Button(
                a.verb,
                a.label,
                incident.provider,
                incident.id,
                incident.reference,
                style=a.style,
                text=a.text,
            )
            for a in actions
        ]
    )


@present.register
def _(result: r.Reminder) -> Doc:
    incident = result.incident
    quiet = describe_duration(timedelta(seconds=result.quiet_for))
    every = describe_duration(timedelta(seconds=result.every))
    line: Line = [T("⏰ No update on "), *_title(incident), T(f" for {quiet}.")]
    why: Line = [
        T(f"At {incident.severity} the bot reminds after {every} without one. A short "),
        Code(f"{result.command} update …"),
        T(" keeps everyone on the same page."),
    ]
    actions = [
        r.Action(verb="update", label="Post update", style="primary"),
        r.Action(verb="snooze", label="Snooze 1 hour", text="1h"),
    ]
    return Doc(line, [Section([line]), Context(why), _actions(incident, actions)])


@present.register
def _(result: r.Nudge) -> Doc:
    item, incident = result.followup, result.incident
    due = describe_day(item.due, "UTC", result.at) if item.due else "some time ago"
    line: Line = [
        T(f"📌 Follow-up #{item.number} of "),
        *_title(incident),
        T(f" was due {due}: "),
        B(item.title),
    ]
    why: Line = [
        T("One reminder a day while it is open. "),
        Code(f"{result.command} followups {incident.reference}"),
    ]
    actions = [
        r.Action(verb="followup", label="Done", text=f"done #{item.number}", style="primary"),
        r.Action(verb="snooze", label="Snooze a week", text=f"#{item.number} 7d"),
    ]
    return Doc(line, [Section([line]), Context([*why, T(" lists them all.")]), _actions(incident, actions)])


@present.register
def _(result: r.Handover) -> Doc:
    line: Line = [T("📟 On call for "), B(result.schedule), T(" now: "), *who(result.person)]
    if result.until:
        line.append(T(f" until {describe(result.until, 'UTC', result.at)}"))
    if result.before:
        line += [T(", taking over from "), *who(result.before)]
    return Doc(line, [Section([line])])


@present.register
def _(result: r.Announcement) -> Doc:
    incident = result.incident
    if incident.closed:
        line: Line = [T("✅ "), *_title(incident), T(f" · {incident.status}")]
        if incident.resolved_at:
            line.append(T(f" after {describe_duration(incident.resolved_at - incident.created_at)}"))
    else:
        line = [
            T("🚨 "),
            *_title(incident),
            T(f" · {incident.severity or 'severity not set'} · {incident.status}"),
        ]
    if result.channel_id:
        line += [T(" · "), Channel(result.channel_id, result.channel_id)]
    return Doc(line, [Section([line])])


@present.register
def _(result: r.Snoozed) -> Doc:
    until = describe(result.until, result.tz)
    what = f"follow-up #{result.followup}'s reminders" if result.followup else "update reminders"
    line: Line = [
        User(result.actor.slack_id, result.actor.name),
        T(f" snoozed {what} for {result.reference} until {until}."),
    ]
    return Doc(line, [Section([line])])


@present.register
def _(result: r.HandoversSet) -> Doc:
    line: Line = [User(result.actor.slack_id, result.actor.name)]
    if result.channel_id:
        line += [
            T(" — on-call changes of "),
            B(result.schedule),
            T(" will be posted in "),
            Channel(result.channel_id, result.channel_id),
            T("."),
        ]
    else:
        line += [T(" — on-call changes of "), B(result.schedule), T(" are no longer posted.")]
    return Doc(line, [Section([line])])
