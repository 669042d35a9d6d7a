"""A verb's form (bot/commands/forms.py) as a Slack modal, and the submitted state read back.

Slack's limits are applied here, where the view is built: a view Slack rejects is an
outage in the middle of an outage. A catalogue longer than a static select may hold
becomes an external select answered by type-ahead (`block_suggestion`).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from bot.commands import forms
from bot.commands.forms import Field, Kind
from bot.commands.refs import Target
from bot.commands.registry import Verb
from bot.doc import Doc
from bot.slack.blocks import escape, plain, render_blocks
from bot.slack.ids import INPUT_ACTION, choose_action, decode_target, encode_target, form_callback

MAX_OPTIONS = 100
MAX_OPTION_TEXT = 75
MAX_OPTION_VALUE = 150
MAX_VIEW_BLOCKS = 100
MAX_METADATA = 3000
MAX_TITLE = 24


def option(name: str) -> dict[str, Any]:
    """The value is the name itself (cut to Slack's 150): the handler matches it by prefix
    against the provider's catalogue, as it does typed names."""
    return {"text": plain(name, MAX_OPTION_TEXT), "value": name[:MAX_OPTION_VALUE]}


@dataclass
class Meta:
    """What a modal remembers between opening and submission (private_metadata)."""

    verb: str
    channel_id: str
    target: Target | None = None
    response_url: str | None = None
    tz: str = "UTC"

    def dump(self) -> str:
        data = {
            "v": self.verb,
            "c": self.channel_id,
            "t": encode_target(**self.target.model_dump()) if self.target else None,
            "u": self.response_url,
            "tz": self.tz,
        }
        text = json.dumps(data, separators=(",", ":"))
        if len(text) > MAX_METADATA:  # the answer then goes as an ephemeral message instead
            data["u"] = None
            text = json.dumps(data, separators=(",", ":"))
        return text

    @classmethod
    def load(cls, text: str | None) -> Meta | None:
        try:
            data = json.loads(text or "")
            return cls(
                verb=data["v"],
                channel_id=data["c"],
                target=decode_target(data.get("t")),
                response_url=data.get("u"),
                tz=data.get("tz") or "UTC",
            )
        except (ValueError, KeyError, TypeError):
            return None


def _shell(verb: Verb, meta: Meta, blocks: list[dict[str, Any]], submit: bool) -> dict[str, Any]:
    view: dict[str, Any] = {
        "type": "modal",
        "callback_id": form_callback(verb.name),
        "title": plain(forms.title(verb), MAX_TITLE),
        "close": plain("Cancel", MAX_TITLE),
        "private_metadata": meta.dump(),
        "blocks": blocks[:MAX_VIEW_BLOCKS],
    }
    if submit:
        view["submit"] = plain("Submit", MAX_TITLE)
    return view


def loading_view(verb: Verb, meta: Meta) -> dict[str, Any]:
    """Shown at once, while the trigger_id is still valid; filled by views.update after."""
    text = {"type": "mrkdwn", "text": "Loading the choices…"}
    return _shell(verb, meta, [{"type": "section", "text": text}], submit=False)


def message_view(verb: Verb, meta: Meta, doc: Doc) -> dict[str, Any]:
    """A modal that could not become a form says why, in place of the form."""
    return _shell(verb, meta, render_blocks(doc), submit=False)


def _element(field: Field, names: list[str] | None) -> dict[str, Any]:
    match field.kind:
        case Kind.CHOICE if names is not None and len(names) > MAX_OPTIONS:
            assert field.choices is not None
            return {
                "type": "external_select",
                "action_id": choose_action(field.choices),
                "min_query_length": 0,
                "placeholder": plain(f"Type to search {len(names)} choices", 150),
            }
        case Kind.CHOICE if names:
            return {"type": "static_select", "options": [option(n) for n in names]}
        case Kind.USER:
            return {"type": "users_select"}
        case Kind.USERS:
            return {"type": "multi_users_select"}
        case Kind.DATETIME:
            return {"type": "datetimepicker"}
        case Kind.DATE:
            return {"type": "datepicker"}
    return {"type": "plain_text_input", "multiline": field.multiline, "max_length": 3000}


def form_view(verb: Verb, meta: Meta, choices: dict[str, list[str]]) -> dict[str, Any]:
    blocks: list[dict[str, Any]] = []
    for field in forms.fields(verb):
        names = choices.get(field.key) or (list(field.values) if field.values else None)
        element = {"action_id": INPUT_ACTION} | _element(field, names)
        block: dict[str, Any] = {
            "type": "input",
            "block_id": field.key,
            "label": plain(field.label, 2000),
            "optional": not field.required,
            "element": element,
        }
        if field.hint:
            block["hint"] = plain(field.hint, 2000)
        blocks.append(block)
    if meta.target:
        context = {"type": "mrkdwn", "text": f"For {escape(meta.target.reference)}", "verbatim": True}
        blocks.insert(0, {"type": "context", "elements": [context]})
    return _shell(verb, meta, blocks, submit=True)


def read_state(state: dict[str, Any]) -> forms.Values:
    """`view.state.values` → field key → plain Python value, whatever element carried it."""
    values: forms.Values = {}
    for block_id, elements in (state or {}).items():
        for element in elements.values():
            values[block_id] = _read(element)
    return values


def _read(element: dict[str, Any]) -> Any:
    match element.get("type"):
        case "static_select" | "external_select":
            return (element.get("selected_option") or {}).get("value")
        case "users_select":
            return element.get("selected_user")
        case "multi_users_select":
            return element.get("selected_users") or []
        case "datetimepicker":
            stamp = element.get("selected_date_time")
            return datetime.fromtimestamp(int(stamp), UTC) if stamp else None
        case "datepicker":
            day = element.get("selected_date")
            return date.fromisoformat(day) if day else None
    return element.get("value")
