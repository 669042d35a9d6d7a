"""The retro draft as Markdown (the canvas, or the file where canvases are not available),
and the line posted in the channel when it is written.

Written from the typed draft alone (bot/commands/retro.py): the transports hand it here,
so Slack's canvas and the shell's file say the same. Two flavours differ only in how a
person or a channel is named: a canvas has mentions of its own (`![](@U…)`, `![](#C…)`),
a plain Markdown file shows names.
"""

from __future__ import annotations

import re
from datetime import datetime

from bot.commands.retro import NEW, REPLACE, AskRetro, RetroDraft, RetroItem, RetroWritten, Step
from bot.commands.timeparse import describe_duration, elapsed, zone
from bot.doc import Actions, B, Code, Context, Doc, Line, Link, Section, T, User
from bot.domain import Person
from bot.present.asks import ask_button
from bot.present.core import present

RETRO_LINE = 500  # characters of one timeline item's text in the draft
# A follow-up still to do, as each provider names it (the built-in one's and FireHydrant's
# "open", incident.io's "outstanding", a ticket "in progress").
OPEN_STATES = frozenset({"open", "outstanding", "in_progress", "in progress", "todo", "to do", "new"})
_SPACES = re.compile(r"\s+")


def _plain(text: str) -> str:
    """One line of someone's words, with nothing in it that Markdown would take for a
    mention, a picture or a table's edge."""
    said = _SPACES.sub(" ", text).strip()
    return said.replace("![", "!\\[").replace("|", "\\|")


def _person(person: Person | None, canvas: bool) -> str:
    if person is None:
        return "nobody"
    if canvas and person.slack_id:
        return f"![](@{person.slack_id})"
    if person.name:
        return _plain(person.name)
    return f"@{person.slack_id}" if person.slack_id else "someone"


def _when(at: datetime, tz: str) -> str:
    local = at.astimezone(zone(tz))
    return f"{local:%Y-%m-%d %H:%M} {local.tzname() or tz}"


def _day(at: datetime, tz: str) -> str:
    return f"{at.astimezone(zone(tz)):%a %Y-%m-%d}"


def _steps(steps: list[Step], closed: bool, tz: str) -> list[str]:
    lines = ["| Step | When | After it was declared | After the step before |", "|---|---|---|---|"]
    declared = steps[0].at
    before: datetime | None = None
    for step in steps:
        if step.at is None:
            missing = "not reached" if not closed or step.name == "resolved" else "not recorded"
            lines.append(f"| {step.name.capitalize()} | {missing} | — | — |")
            continue
        since = describe_duration(elapsed(declared, step.at)) if declared and step is not steps[0] else "—"
        gap = describe_duration(elapsed(before, step.at)) if before is not None else "—"
        lines.append(f"| {step.name.capitalize()} | {_when(step.at, tz)} | {since} | {gap} |")
        before = step.at
    return lines


def _item(item: RetroItem, tz: str, canvas: bool) -> str:
    text = _plain(item.text)
    text = text if len(text) <= RETRO_LINE else text[: RETRO_LINE - 1] + "…"
    who = f" ({_person(item.author, canvas)})" if item.author else ""
    return f"- {_when(item.at, tz)} · {_plain(item.kind)}: {text}{who}"


def retro_markdown(draft: RetroDraft, *, canvas: bool) -> str:
    """The whole draft. `canvas`: Slack's canvas mentions; otherwise names, for a file."""
    tz, command = draft.tz, draft.command
    at = f" at {draft.provider_label}" if draft.provider_label else ""
    out: list[str] = [
        f"# Retro: {_plain(draft.reference)} {_plain(draft.name)}",
        "",
        f"_A draft written by the incident bot on {_when(draft.written_at, tz)}, from what the incident "
        f"holds{at}. Fill it in together. `{command} retro` asks before it writes it again from "
        "the incident, which replaces what was written here._"
        if canvas
        else f"_A draft written by the incident bot on {_when(draft.written_at, tz)}, from what the "
        f"incident holds{at}. `{command} retro` writes a new file from the incident in its place._",
        "",
        "## Summary",
        "",
        _plain(draft.summary)
        if draft.summary
        else f"No summary was written{at}: say what happened, in a few lines.",
        "",
        "## Impact",
        "",
        f"- Severity: {_plain(draft.severity) if draft.severity else 'not set'}",
        f"- Status: {_plain(draft.status)}",
    ]
    if draft.impact:
        out += [f"- {_plain(line)}" for line in draft.impact]
    else:
        holder = draft.provider_label or "The bot"
        out.append(
            f"- {holder} holds no impact for this incident (services, customers, functions affected): "
            "write who and what was affected, and for how long."
        )
    out += ["", "## Durations", "", *_steps(draft.steps, draft.closed, tz), ""]
    declared, resolved = draft.steps[0].at, draft.steps[-1].at
    if declared is not None and resolved is not None:
        out += [f"Resolved {describe_duration(elapsed(declared, resolved))} after it was declared.", ""]
    elif declared is not None:
        out += [f"Not resolved yet: open for {describe_duration(elapsed(declared, draft.written_at))}.", ""]
    out += ["## Roles", ""]
    if not draft.has_roles:
        out.append(f"- The incident's provider{at} keeps no roles.")
    elif draft.roles:
        out += [f"- {_plain(held.role).capitalize()}: {_person(held.person, canvas)}" for held in draft.roles]
    else:
        out.append("- Nobody held a role.")
    out += ["", "## Timeline", ""]
    if draft.timeline_source:
        out += [f"_{_plain(draft.timeline_source).capitalize()}, oldest first._", ""]
    if draft.earlier:
        out.append(f"- … and {draft.earlier} earlier")
    out += [_item(item, tz, canvas) for item in draft.timeline] or ["- Nothing in the timeline."]
    out += ["", "## Follow-ups", ""]
    if not draft.has_followups:
        out.append(f"- The incident's provider{at} keeps no follow-ups: list them here.")
    elif draft.followups:
        for item in draft.followups:
            still = item.state.lower() in OPEN_STATES
            box = "[ ]" if still else "[x]"
            owner = _person(item.assignee, canvas) if item.assignee else "no owner yet"
            due = f", due {_day(item.due, tz)}" if item.due else ", no due date"
            done = "" if item.state.lower() in ("open", "outstanding") else f" ({_plain(item.state)})"
            out.append(f"- {box} #{item.number} {_plain(item.title)}: {owner}{due}{done}")
    else:
        out.append(f"- None yet: add them with `{command} followup <what> @owner due:<day>`.")
    out += ["", "## Links", ""]
    if draft.incident_url:
        where = draft.provider_label or "the provider"
        out.append(f"- The incident at {where}: [{_plain(draft.reference)}]({draft.incident_url})")
    if draft.provider_retro:
        where = (
            f"[the incident's page]({draft.incident_url})" if draft.incident_url else "the incident's page"
        )
        out.append(
            f"- {draft.provider_label}'s own retrospective, “{_plain(draft.provider_retro)}”: on {where}"
        )
    elif draft.provider_retro_failed:
        why = _plain(draft.provider_retro_failed)
        out.append(f"- {draft.provider_label}'s own retrospective could not be started: {why}")
    if draft.channel_id:
        name = f"#{draft.channel_name}" if draft.channel_name else draft.channel_id
        out.append(f"- The incident's channel: {f'![](#{draft.channel_id})' if canvas else _plain(name)}")
    if not draft.incident_url and not draft.channel_id:
        out.append("- None known.")
    return "\n".join(out) + "\n"


@present.register
def _(result: RetroWritten) -> Doc:
    document = result.document
    what = "canvas" if document.kind == "canvas" else "Markdown file"
    if result.replaced and document.kind == "canvas":
        said = f" brought the retro draft of {result.reference} up to date"
    elif result.replaced:
        said = f" replaced the retro draft of {result.reference} with a new file"
    else:
        said = f" wrote the retro draft of {result.reference}"
    line: Line = [User(result.actor.slack_id, result.actor.name), T(said)]
    if document.url:
        line += [T(": "), Link(document.url, f"open the {what}")]
    else:
        line += [
            T(f" (a {what}: find it among this channel's "),
            T("tabs)" if document.kind == "canvas" else "files)"),
        ]
    lines: list[Line] = [line]
    if result.no_canvas:
        lines.append(
            [
                T("Canvases are not available here (Slack answered "),
                Code(result.no_canvas),
                T("), so it is a file. Running it again replaces the file."),
            ]
        )
    if result.provider_retro:
        theirs: Line = [
            T(f"{result.provider_label}'s own retrospective “{result.provider_retro}” is started too")
        ]
        if result.incident_url:
            theirs += [T(", on "), Link(result.incident_url, "the incident's page")]
        lines.append([*theirs, T(".")])
    elif result.provider_retro_failed:
        lines.append(
            [
                T(f"{result.provider_label}'s own retrospective could not be started: "),
                T(result.provider_retro_failed),
            ]
        )
    if result.previous_gone:
        lines.append([T("The draft written before was deleted, so this is a new one.")])
    again = f"{result.command} retro"
    if document.kind == "canvas":
        lines.append(
            [
                B("Fill it in together. "),
                Code(again),
                T(" asks before it writes it again from the incident, which replaces what is in it."),
            ]
        )
    else:
        lines.append([Code(again), T(" writes a new file from the incident in its place.")])
    return Doc(line, [Section(lines)])


@present.register
def _(result: AskRetro) -> Doc:
    """Replace or beside: what people wrote in the canvas is theirs to keep."""
    canvas: Line = [Link(result.document.url, "its canvas")] if result.document.url else [T("its canvas")]
    line: Line = [
        T(f"The retro draft of {result.reference} is written already ("),
        *canvas,
        T("). Writing it again replaces all of it, with whatever people wrote there since."),
        T(" Nothing was changed yet."),
    ]
    replace = ask_button(result.model_copy(update={"text": REPLACE}), "Replace it")
    beside = ask_button(result.model_copy(update={"text": NEW}), "Write a new one")
    hint: Line = [
        T("Or type "),
        Code(f"{result.command} {result.verb} {REPLACE}"),
        T(" or "),
        Code(f"{result.command} {result.verb} {NEW}"),
        T(": a new one leaves the first as it is, and the next "),
        Code(f"{result.command} {result.verb}"),
        T(" is about the new one."),
    ]
    return Doc(line, [Section([line]), Actions([replace, beside]), Context(hint)])
