"""The incident channel kept tidy → documents: the call set, the archive coming, an
unarchive Slack refused (bot/commands/channel.py)."""

from __future__ import annotations

from bot.commands.channel import ArchiveSoon, CallSet, NotUnarchived
from bot.commands.timeparse import describe
from bot.doc import B, Channel, Code, Context, Doc, Line, Link, Section, T, User
from bot.present.core import present


@present.register
def _(result: CallSet) -> Doc:
    i = result.incident
    line: Line = [
        User(result.actor.slack_id, result.actor.name),
        T(" set the call of "),
        B(f"{i.reference}: {i.name}"),
        T(": "),
        Link(result.link, "join the call"),
    ]
    kept = f"Kept at {result.kept_by} too. " if result.kept_by else ""
    said: Line = [T(f"{kept}It is bookmarked at the top of the incident's channel.")]
    return Doc(line, [Section([line]), Context(said)])


@present.register
def _(result: ArchiveSoon) -> Doc:
    i = result.incident
    line: Line = [
        T("🗄️ This channel will be archived on "),
        B(describe(result.at, "UTC")),
        T(f", as {i.reference} is resolved."),
    ]
    keep: Line = [
        T("To keep it open, reopen the incident ("),
        Code(f"{result.command} reopen"),
        T("). An archived channel can be read, and unarchived from its settings, at any time."),
    ]
    return Doc(line, [Section([line]), Context(keep)])


@present.register
def _(result: NotUnarchived) -> Doc:
    i = result.incident
    line: Line = [
        T(f"{i.reference} was reopened, but Slack would not let the bot unarchive "),
        Channel(result.channel_id, "incident-channel"),
        T(f" ({result.reason})."),
    ]
    how: Line = [
        T("Open the channel and choose Unarchive (anyone in the workspace may), then carry on there.")
    ]
    return Doc(line, [Section([line]), Context(how)])
