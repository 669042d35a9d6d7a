"""Documents → Block Kit as plain dicts. User and provider text is escaped here and only here.

Every text is cut to Slack's limit where it is built. slack_sdk's block models would check
some limits again at `to_dict()`, at a cost measured at about a tenth of the bot's CPU per
command (bench/); the tests check every message and view the bot sends against all of
Slack's limits instead (tests/blockkit.py)."""

from __future__ import annotations

from typing import Any

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
from bot.slack.ids import MENU_ACTION, encode_target, verb_action

MAX_BLOCKS = 50
MAX_SECTION = 3000
MAX_FIELD = 2000
MAX_HEADER = 150
MAX_BUTTON_TEXT = 75
MAX_ACTIONS = 25
MAX_MENU = 5  # options in an overflow menu
MAX_OPTION_TEXT = 75


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


def _mrkdwn(text: str, limit: int = MAX_SECTION) -> dict[str, Any]:
    return {"type": "mrkdwn", "text": _clip(text, limit), "verbatim": True}


def plain(text: str, limit: int) -> dict[str, Any]:
    """A plain_text object, cut to `limit` (Slack refuses longer ones, it does not cut)."""
    return {"type": "plain_text", "text": _clip(text, limit), "emoji": True}


def _section(text: str) -> dict[str, Any]:
    return {"type": "section", "text": _mrkdwn(text)}


def _section_blocks(lines: list[Line]) -> list[Any]:
    """A long list becomes several sections rather than one Slack would refuse."""
    blocks, chunk = [], ""
    for line in lines:
        text = _clip(line_mrkdwn(line), MAX_SECTION)
        if chunk and len(chunk) + 1 + len(text) > MAX_SECTION:
            blocks.append(_section(chunk))
            chunk = ""
        chunk = f"{chunk}\n{text}" if chunk else text
    if chunk:
        blocks.append(_section(chunk))
    return blocks


def button(item: Button) -> dict[str, Any]:
    element: dict[str, Any] = {
        "type": "button",
        "text": plain(item.label, MAX_BUTTON_TEXT),
        "action_id": verb_action(item.verb),
        "value": encode_target(item.provider, item.incident_id, item.reference, item.text),
    }
    if item.style:
        element["style"] = item.style
    if item.confirm:
        element["confirm"] = {
            "title": plain(item.label, 100),
            "text": _mrkdwn(item.confirm, 300),
            "confirm": plain("Yes", 30),
            "deny": plain("Cancel", 30),
        }
    return element


def overflow(items: list[Button]) -> dict[str, Any]:
    """The menu of the actions not shown as buttons: an option carries no confirm, so one
    whose verb asks first is asked after it is picked (bot/slack/interactive.py)."""
    options = [
        {
            "text": plain(item.label, MAX_OPTION_TEXT),
            "value": encode_target(item.provider, item.incident_id, item.reference, item.text, item.verb),
        }
        for item in items[:MAX_MENU]
    ]
    return {"type": "overflow", "action_id": MENU_ACTION, "options": options}


def render_blocks(doc: Doc) -> list[dict[str, Any]]:
    blocks: list[dict[str, Any]] = []
    for block in doc.blocks:
        match block:
            case Header(text):
                blocks.append({"type": "header", "text": plain(text, MAX_HEADER)})
            case Section(lines):
                blocks.extend(_section_blocks(lines))
            case Fields(items):
                fields = [
                    _mrkdwn(f"*{escape(label)}*\n{line_mrkdwn(value)}", MAX_FIELD)
                    for label, value in items[:10]
                ]
                blocks.append({"type": "section", "fields": fields})
            case Context(spans):
                blocks.append({"type": "context", "elements": [_mrkdwn(line_mrkdwn(spans))]})
            case Divider():
                blocks.append({"type": "divider"})
            case Actions(buttons, menu):
                elements = [button(b) for b in buttons[: MAX_ACTIONS - bool(menu)]]
                if menu:
                    elements.append(overflow(menu))
                if elements:
                    blocks.append({"type": "actions", "elements": elements})
    return blocks[:MAX_BLOCKS]


def render_text(doc: Doc) -> str:
    """The notification / fallback text that accompanies the blocks."""
    return _clip(line_mrkdwn(doc.summary), 3000)
