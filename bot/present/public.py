"""What `duplicate` and `statuspage` say: the questions before them (nothing done yet, and
exactly what would be), the answers where they were done, and the word to the other
incident's channels that a duplicate joined them."""

from __future__ import annotations

from bot.commands import results as r
from bot.doc import Actions, B, Channel, Code, Context, Doc, Line, Link, Section, T, User
from bot.present.asks import ask_button
from bot.present.core import present


def _channels(channel_ids: list[str]) -> Line:
    line: Line = []
    for n, channel_id in enumerate(channel_ids[:5]):
        line += ([T(", ")] if n else []) + [Channel(channel_id, channel_id)]
    if len(channel_ids) > 5:
        line.append(T(f" and {len(channel_ids) - 5} more"))
    return line


def _state(status: str) -> str:
    return status.replace("_", " ")


@present.register
def _(result: r.AskDuplicate) -> Doc:
    other: Line = (
        [Link(result.of_url, f"{result.of_reference}: {result.of_name}")]
        if result.of_url
        else [B(f"{result.of_reference}: {result.of_name}")]
    )
    line: Line = [
        T(f"Mark {result.reference} a duplicate of "),
        *other,
        T("? Nothing happens until you click the button."),
    ]
    if result.merges:
        does: Line = [
            T(f"At {result.provider_label}, {result.reference} is merged into {result.of_reference}: "),
            T(f"its alerts move there and {result.reference} is resolved."),
        ]
    else:
        does = [
            T(f"No merge at {result.provider_label}: {result.reference} is resolved, with a note "),
            T(f"pointing at {result.of_reference}."),
        ]
    moving: Line = []
    if result.moving:
        follows = (
            f"Then these channels follow {result.of_reference}, its card in place of {result.reference}'s: "
        )
        moving = [T(follows)]
        moving += [*_channels(result.moving), T(f". {result.of_reference}'s channels are told.")]
    button = ask_button(
        result,
        f"Mark duplicate of {result.of_reference}",
        confirm=f"Resolve {result.reference} as a duplicate of {result.of_reference}?",
        style="danger",
    )
    hint: Line = [
        T(f"If {result.reference} is a separate problem, leave it as it is. Or type "),
        Code(f"{result.command} {result.typed or f'{result.verb} {result.text}'}"),
        T(" again: I ask once."),
    ]
    lines = [line, does] + ([moving] if moving else [])
    return Doc(line, [Section(lines), Actions([button]), Context(hint)])


@present.register
def _(result: r.MarkedDuplicate) -> Doc:
    line: Line = [
        User(result.actor.slack_id, result.actor.name),
        T(f" marked {result.incident.reference} a duplicate of "),
        Link(result.of_url, f"{result.of_reference}: {result.of_name}")
        if result.of_url
        else B(f"{result.of_reference}: {result.of_name}"),
        T(". "),
    ]
    if result.merged:
        line.append(
            T(f"It was merged into {result.of_reference} at {result.provider_label} and is resolved.")
        )
    else:
        line.append(
            T(f"It was resolved at {result.provider_label}, with a note pointing at {result.of_reference}.")
        )
    blocks: list = [Section([line])]
    if result.moved:
        moved: Line = [T(f"Now following {result.of_reference}: "), *_channels(result.moved)]
        moved.append(T(f". Carry on in {result.of_reference}'s channels."))
        blocks.append(Section([moved]))
    return Doc(line, blocks)


@present.register
def _(result: r.DuplicateJoined) -> Doc:
    line: Line = [
        User(result.actor.slack_id, result.actor.name),
        T(f" marked {result.reference} ({result.name}) a duplicate of this incident, {result.of_reference}"),
        T(
            f": merged here at {result.provider_label}."
            if result.merged
            else f": {result.reference} is resolved."
        ),
    ]
    blocks: list = [Section([line])]
    if result.moved:
        blocks.append(
            Section([[T(f"Its channel now follows {result.of_reference} too: "), *_channels(result.moved)]])
        )
    return Doc(line, blocks)


def _published(post: r.StatusPost, shows_state: bool) -> list[Line]:
    lines: list[Line] = [[B("Title"), T(": " + post.title)], [B("Message"), T(": " + post.message)]]
    if shows_state:
        lines.append([B("Status"), T(": " + post.status)])
        if post.components:
            impact = "operational" if post.status == "resolved" else _state(post.impact)
            lines.append([B("Components"), T(": " + ", ".join(f"{c} ({impact})" for c in post.components))])
        else:
            lines.append([B("Components"), T(": none named")])
    return lines


@present.register
def _(result: r.AskStatusPage) -> Doc:
    if result.update_of is not None:
        line: Line = [
            T(f"Post this update on {result.page}, {result.provider_label}'s public status page, to "),
            B(result.update_of),
            T(f" ({result.reference})? Nothing was published yet."),
        ]
    else:
        line = [
            T(f"Publish {result.reference} on {result.page}, {result.provider_label}'s public status page? "),
            T("Nothing was published yet."),
        ]
    shown = _published(result.post, result.shows_state)
    button = ask_button(
        result,
        "Publish update" if result.update_of is not None else "Publish",
        confirm=f"Publish this on {result.page}? Everyone can read it, and subscribers are notified.",
        style="primary",
    )
    hint: Line = [
        T("Anyone can read it once published. To change the words, type "),
        Code(f"{result.command} {result.verb} …"),
        T(" with new ones; the same words typed again publish them: I ask once."),
    ]
    return Doc(line, [Section([line]), Section(shown), Actions([button]), Context(hint)])


@present.register
def _(result: r.StatusPublished) -> Doc:
    what = "published" if result.made else "posted an update to"
    page: Line = [Link(result.url, result.post.title)] if result.url else [B(result.post.title)]
    line: Line = [
        User(result.actor.slack_id, result.actor.name),
        T(f" {what} {result.reference}'s status page incident "),
        *page,
        T(f" on {result.page} ({result.provider_label}, public)."),
    ]
    blocks: list = [Section([line]), Section(_published(result.post, result.shows_state))]
    again: Line = [T("Update it with "), Code(f"{result.command} {'statuspage'} <what changed>")]
    if result.shows_state:
        again.append(T(", and `state:resolved` when it is over."))
    blocks.append(Context(again))
    return Doc(line, blocks)
