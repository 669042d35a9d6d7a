"""Every action_id and callback_id the bot emits, and what a button carries.

Blocks and views are built with these names and the listeners are registered with the
same ones, so a button whose action nobody handles cannot be built (a contract test
sends a signed click for every id that any built block or view can emit).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable

from bot.commands import registry
from bot.commands.refs import Target
from bot.commands.registry import Choices, Verb

VERB_ACTION = "verb."  # a card button: verb.ack, verb.status, …
FORM_CALLBACK = "form."  # a verb's modal: form.status, …
CHOOSE_ACTION = "choose."  # an external select's type-ahead: choose.schedules, …
INPUT_ACTION = "value"  # inputs inside modal input blocks: read on submit, never dispatched
# The card's overflow menu: one action_id, each option's value naming its verb (`v`), and
# handled by the same listener as the verbs' buttons.
MENU_ACTION = "menu"
# The message shortcut that puts a message in its incident's timeline (bot/slack/requests.py).
PIN_SHORTCUT = "pin_message"
PIN_SHORTCUT_NAME = "Add to incident timeline"


def verb_action(verb: str) -> str:
    return VERB_ACTION + verb


def form_callback(verb: str) -> str:
    return FORM_CALLBACK + verb


def choose_action(choices: Choices) -> str:
    return CHOOSE_ACTION + choices.value


def verb_of(name: str) -> Verb | None:
    """The verb an action_id or callback_id stands for."""
    for prefix in (VERB_ACTION, FORM_CALLBACK):
        if name.startswith(prefix):
            return registry.lookup(name.removeprefix(prefix))
    return None


def menu_verb(value: str | None) -> Verb | None:
    """The verb a menu option names: only one with a button, as a button would be."""
    try:
        name = json.loads(value or "").get("v")
    except (ValueError, AttributeError):
        return None
    verb = registry.lookup(name) if isinstance(name, str) else None
    return verb if verb is not None and verb.button else None


def button_verbs() -> list[Verb]:
    return [verb for verb in registry.VERBS if verb.button]


def form_verbs() -> list[Verb]:
    return [verb for verb in registry.VERBS if verb.needs_input]


def exactly(names: Iterable[str]) -> re.Pattern[str]:
    """A pattern matching these ids and nothing else (an unknown id stays unhandled)."""
    return re.compile("^(?:" + "|".join(re.escape(n) for n in sorted(names)) + ")$")


def encode_target(
    provider: str, incident_id: str, reference: str, text: str | None = None, verb: str | None = None
) -> str:
    """A button's value (at most 2,000 characters: ids and a few words fit); a menu
    option's names its verb too (at most 150: ids and a verb fit)."""
    data = {"p": provider, "i": incident_id, "r": reference} | ({"t": text} if text else {})
    data |= {"v": verb} if verb else {}
    return json.dumps(data, separators=(",", ":"))


def decode_text(value: str | None) -> str | None:
    """The verb's words a button carries (a notice's *Done* carries `done #2`)."""
    try:
        text = json.loads(value or "").get("t")
    except (ValueError, AttributeError):
        return None
    return text if isinstance(text, str) else None


def decode_target(value: str | None) -> Target | None:
    try:
        data = json.loads(value or "")
        return Target(provider=data["p"], incident_id=data["i"], reference=data["r"])
    except (ValueError, KeyError, TypeError):
        return None
