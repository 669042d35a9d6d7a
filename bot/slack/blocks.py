"""Documents → Block Kit, through slack_sdk's block models so Slack's limits are checked
when `to_dict()` runs. User and provider text is escaped here and only here."""

from __future__ import annotations

from typing import Any

from slack_sdk.models.blocks import (
    ActionsBlock,
    ButtonElement,
    ConfirmObject,
    ContextBlock,
    DividerBlock,
    HeaderBlock,
    MarkdownTextObject,
    PlainTextObject,
    SectionBlock,
)

from bot.doc import (
    Actions,
    B,
    Button,
    Channel,
    Code,
    Context,
    Divider,
    Doc,
    Fields,
    Header,
    Line,
    Link,
    Section,
    T,
    User,
)
from bot.slack.ids import encode_target, verb_action

MAX_BLOCKS = 50
MAX_SECTION = 3000
MAX_FIELD = 2000
MAX_HEADER = 150
MAX_BUTTON_TEXT = 75
MAX_ACTIONS = 25


def escape(text: str) -> str:
    """Slack's three entities; `&` first so the others are not double-escaped."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def span_mrkdwn(span: object) -> str:
    match span:
        case T(text):
            return escape(text)
        case B(text):
            return f"*{escape(text)}*" if text.strip() else escape(text)
        case Code(text):
            return f"`{escape(text)}`"
        case User(slack_id, name):
            # Someone the provider knows but Slack does not: their name, never a mention.
            return f"<@{escape(slack_id)}>" if slack_id else escape(name or "someone")
        case Channel(channel_id, _):
            return f"<#{escape(channel_id)}>"
        case Link(url, label):
            return f"<{escape(url)}|{escape(label).replace('|', '¦')}>"
    return escape(str(span))


def line_mrkdwn(line: Line) -> str:
    return "".join(span_mrkdwn(span) for span in line)


def _mrkdwn(text: str, limit: int = MAX_SECTION) -> MarkdownTextObject:
    return MarkdownTextObject(text=_clip(text, limit), verbatim=True)


def _section_blocks(lines: list[Line]) -> list[Any]:
    """A long list becomes several sections rather than one Slack would refuse."""
    blocks, chunk = [], ""
    for line in lines:
        text = _clip(line_mrkdwn(line), MAX_SECTION)
        if chunk and len(chunk) + 1 + len(text) > MAX_SECTION:
            blocks.append(SectionBlock(text=_mrkdwn(chunk)))
            chunk = ""
        chunk = f"{chunk}\n{text}" if chunk else text
    if chunk:
        blocks.append(SectionBlock(text=_mrkdwn(chunk)))
    return blocks


def button(item: Button) -> ButtonElement:
    confirm = None
    if item.confirm:
        confirm = ConfirmObject(
            title=_clip(item.label, 100), text=_clip(item.confirm, 300), confirm="Yes", deny="Cancel"
        )
    return ButtonElement(
        text=_clip(item.label, MAX_BUTTON_TEXT),
        action_id=verb_action(item.verb),
        value=encode_target(item.provider, item.incident_id, item.reference),
        style=item.style,
        confirm=confirm,
    )


def render_blocks(doc: Doc) -> list[dict[str, Any]]:
    blocks: list[Any] = []
    for block in doc.blocks:
        match block:
            case Header(text):
                blocks.append(HeaderBlock(text=PlainTextObject(text=_clip(text, MAX_HEADER))))
            case Section(lines):
                blocks.extend(_section_blocks(lines))
            case Fields(items):
                fields = [
                    _mrkdwn(f"*{escape(label)}*\n{line_mrkdwn(value)}", MAX_FIELD)
                    for label, value in items[:10]
                ]
                blocks.append(SectionBlock(fields=fields))
            case Context(spans):
                blocks.append(ContextBlock(elements=[_mrkdwn(line_mrkdwn(spans))]))
            case Divider():
                blocks.append(DividerBlock())
            case Actions(buttons):
                if buttons:
                    blocks.append(ActionsBlock(elements=[button(b) for b in buttons[:MAX_ACTIONS]]))
    return [b.to_dict() for b in blocks[:MAX_BLOCKS]]


def render_text(doc: Doc) -> str:
    """The notification / fallback text that accompanies the blocks."""
    return _clip(line_mrkdwn(doc.summary), 3000)
