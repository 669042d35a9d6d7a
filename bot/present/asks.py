"""Questions asked before a command is done, because typed as it was it may not be what was
meant, or is hard to undo: a second declare of the same incident, a re-link of a linked
channel, a change typed in one incident's channel about another, a large group invited.

Each says that nothing was done yet, what doing it would mean, and offers a button that does
it on purpose (and, for the shell, which has no buttons, how to say it on purpose).
"""

from __future__ import annotations

from bot.commands import results as r
from bot.doc import Actions, B, Button, Channel, Code, Context, Doc, Line, Link, Section, T
from bot.present.core import present


def ask_button(result: r.Ask, label: str, *, confirm: str | None = None, style: str | None = None) -> Button:
    """The question's one button: the verb, on its incident, with the words that were typed."""
    return Button(
        result.verb,
        label,
        result.provider,
        result.incident_id,
        result.reference,
        confirm=confirm,
        style=style,
        text=result.text,
    )


@present.register
def _(result: r.SameDeclared) -> Doc:
    if not result.reference:  # the first is being made as this is asked
        line: Line = [T("You are declaring "), B(result.name), T(" already, seconds ago: it is on its way")]
    else:
        first = f"{result.reference}: {result.name}"
        line = [
            T("You declared "),
            Link(result.url, first) if result.url else B(first),
            T(" already"),
        ]
    if result.channel_id:
        line += [T(" ("), Channel(result.channel_id, result.channel_id), T(")")]
    line.append(T(". Is this the same incident? Nothing was declared yet."))
    button = ask_button(
        result,
        "Declare a new one",
        style="primary",
    )
    hint: Line = [
        T(f"If it is {result.reference or 'that one'}, carry on in its channel. If it is a new one, click "),
        B("Declare a new one"),
        T(", or type "),
        Code(f"{result.command} {result.verb} {result.text}"),
        T(" again: I ask once."),
    ]
    return Doc(line, [Section([line]), Actions([button]), Context(hint)])


@present.register
def _(result: r.AskRelink) -> Doc:
    line: Line = [
        T("This channel is linked to "),
        B(result.leaves),
        T(". Move it to "),
        B(result.reference),
        T("? Nothing was changed yet."),
    ]
    after: Line = [
        T(f"If you move it, {result.leaves} itself stays as it is, but this channel stops following it: "),
        T(f"its card here would be replaced by {result.reference}'s, and "),
    ]
    if result.leaves_elsewhere:
        after.append(T(f"{result.leaves} would keep its other channel"))
        after.append(T("s: " if len(result.leaves_elsewhere) > 1 else ": "))
        for n, channel_id in enumerate(result.leaves_elsewhere[:5]):
            after += ([T(", ")] if n else []) + [Channel(channel_id, channel_id)]
        after.append(T("."))
    else:
        after.append(T(f"{result.leaves} would be left with no channel."))
    label = f"Move to {result.reference}"
    button = ask_button(
        result,
        label,
        confirm=f"Move this channel from {result.leaves} to {result.reference}?",
        style="danger",
    )
    hint: Line = [
        T("Or on purpose by hand: "),
        Code(f"{result.command} unlink"),
        T(", then "),
        Code(f"{result.command} {result.verb} {result.text}"),
        T("."),
    ]
    return Doc(line, [Section([line, after]), Actions([button]), Context(hint)])


@present.register
def _(result: r.AskElsewhere) -> Doc:
    said = f"{result.command} {result.verb} {result.text or ''}".strip()
    line: Line = [
        T("This channel is "),
        B(result.channel_reference),
        T(", and you named "),
        B(result.reference),
        T(". Do "),
        Code(said),
        T(f" on {result.reference}? Nothing was done yet."),
    ]
    button = ask_button(
        result,
        result.label,
        confirm=f"{result.label}? {result.reference} is not this channel's incident.",
        style="danger",
    )
    hint: Line = [T("To act on this channel's incident instead, leave the reference out.")]
    return Doc(line, [Section([line]), Actions([button]), Context(hint)])


@present.register
def _(result: r.AskInvite) -> Doc:
    large = ", ".join(f"@{handle} has {count} people" for handle, count in result.groups.items())
    line: Line = [
        T(f"{large}: over {result.threshold}, and an invite cannot be taken back. Invite them all to "),
        B(result.reference),
        T("'s channel? Nobody was invited yet."),
    ]
    button = ask_button(
        result,
        "Invite them all",
        confirm=f"Invite everyone named to {result.reference}'s channel?",
        style="primary",
    )
    hint: Line = [
        T("Or name the people you need, or type "),
        Code(f"{result.command} {result.verb} {result.text}"),
        T(" again: I ask once."),
    ]
    return Doc(line, [Section([line]), Actions([button]), Context(hint)])
