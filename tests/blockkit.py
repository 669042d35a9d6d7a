"""Slack's Block Kit limits, checked on every message and view the bot sends to the fake.

There is no offline Block Kit validator, and slack_sdk checks only some limits, only on
its own models: so the numbers from Slack's Block Kit reference are checked here, and
the fake Slack answers `invalid_blocks` (as Slack does) to anything over them.
"""

from __future__ import annotations

from typing import Any

MESSAGE_BLOCKS, VIEW_BLOCKS = 50, 100
LIMITS = {
    "section_text": 3000,
    "field": 2000,
    "fields": 10,
    "header": 150,
    "context_elements": 10,
    "actions_elements": 25,
    "button_text": 75,
    "button_value": 2000,
    "button_url": 3000,
    "id": 255,
    "options": 100,
    "overflow_options": 5,
    "option_text": 75,
    "option_value": 150,
    "option_description": 75,
    "modal_title": 24,
    "private_metadata": 3000,
    "label": 2000,
    "max_length": 3000,
    "message_text": 40000,
    "confirm_title": 100,
    "confirm_text": 300,
    "confirm_button": 30,
}


def _text(obj: Any) -> str:
    return obj.get("text", "") if isinstance(obj, dict) else ""


def _over(found: list[str], where: str, value: str | None, limit: str) -> None:
    if value is not None and len(value) > LIMITS[limit]:
        found.append(f"{where}: {limit} is {len(value)} characters, over {LIMITS[limit]}")


def _element(element: dict[str, Any], where: str, found: list[str]) -> None:
    kind = element.get("type")
    _over(found, where, element.get("action_id"), "id")
    if kind == "button":
        _over(found, where, _text(element.get("text")), "button_text")
        _over(found, where, element.get("value"), "button_value")
        _over(found, where, element.get("url"), "button_url")
    if kind in ("static_select", "multi_static_select", "overflow"):
        options = element.get("options") or []
        groups = element.get("option_groups")
        if not options and not groups:
            found.append(f"{where}: a {kind} with no options")
        if len(options) > LIMITS["options"]:
            found.append(f"{where}: {len(options)} options, over {LIMITS['options']}")
        if kind == "overflow" and len(options) > LIMITS["overflow_options"]:
            found.append(f"{where}: an overflow of {len(options)} options, over {LIMITS['overflow_options']}")
        for option in options:
            _over(found, where, _text(option.get("text")), "option_text")
            _over(found, where, option.get("value"), "option_value")
            _over(found, where, _text(option.get("description")), "option_description")
    if kind == "plain_text_input" and element.get("max_length", 0) > LIMITS["max_length"]:
        found.append(f"{where}: max_length over {LIMITS['max_length']}")
    confirm = element.get("confirm")
    if confirm:
        _over(found, where, _text(confirm.get("title")), "confirm_title")
        _over(found, where, _text(confirm.get("text")), "confirm_text")
        _over(found, where, _text(confirm.get("confirm")), "confirm_button")
        _over(found, where, _text(confirm.get("deny")), "confirm_button")


def block_problems(blocks: list[dict[str, Any]], *, limit: int = MESSAGE_BLOCKS) -> list[str]:
    found: list[str] = []
    if len(blocks) > limit:
        found.append(f"{len(blocks)} blocks, over {limit}")
    for n, block in enumerate(blocks):
        where = f"block {n} ({block.get('type')})"
        _over(found, where, block.get("block_id"), "id")
        match block.get("type"):
            case "section":
                _over(found, where, _text(block.get("text")), "section_text")
                fields = block.get("fields") or []
                if len(fields) > LIMITS["fields"]:
                    found.append(f"{where}: {len(fields)} fields, over {LIMITS['fields']}")
                for field in fields:
                    _over(found, where, _text(field), "field")
                if block.get("accessory"):
                    _element(block["accessory"], where, found)
            case "header":
                _over(found, where, _text(block.get("text")), "header")
            case "context":
                if len(block.get("elements", [])) > LIMITS["context_elements"]:
                    found.append(f"{where}: over {LIMITS['context_elements']} elements")
            case "actions":
                if len(block.get("elements", [])) > LIMITS["actions_elements"]:
                    found.append(f"{where}: over {LIMITS['actions_elements']} elements")
                for element in block.get("elements", []):
                    _element(element, where, found)
            case "input":
                _over(found, where, _text(block.get("label")), "label")
                _over(found, where, _text(block.get("hint")), "label")
                if not block.get("element"):
                    found.append(f"{where}: an input with no element")
                else:
                    _element(block["element"], where, found)
    return found


def message_problems(params: dict[str, Any]) -> list[str]:
    found = block_problems(params.get("blocks") or [])
    _over(found, "message", params.get("text"), "message_text")
    return found


def view_problems(view: dict[str, Any]) -> list[str]:
    blocks = view.get("blocks") or []
    found = block_problems(blocks, limit=VIEW_BLOCKS)
    for key in ("title", "submit", "close"):
        _over(found, f"view {key}", _text(view.get(key)), "modal_title")
    _over(found, "view", view.get("private_metadata"), "private_metadata")
    _over(found, "view", view.get("callback_id"), "id")
    if any(b.get("type") == "input" for b in blocks) and not view.get("submit"):
        found.append("view: input blocks but no submit button")
    return found
