"""A neutral message: what to say, with every piece typed by where it came from.

Results become a `Doc` once (bot/present/core.py); Slack renders it as Block Kit and the shell
as text. Keeping user-written text in its own span type is what lets the Slack renderer
escape exactly that and nothing else.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class T:
    """Text someone typed, or a provider returned: always escaped in mrkdwn."""

    text: str


@dataclass(frozen=True)
class B:
    """Bold text (escaped like T)."""

    text: str


@dataclass(frozen=True)
class Code:
    text: str


@dataclass(frozen=True)
class User:
    slack_id: str
    name: str | None = None


@dataclass(frozen=True)
class Channel:
    channel_id: str
    name: str


@dataclass(frozen=True)
class Link:
    url: str
    label: str


Span = T | B | Code | User | Channel | Link
Line = list[Span]


@dataclass
class Header:
    text: str


@dataclass
class Section:
    lines: list[Line]


@dataclass
class Fields:
    items: list[tuple[str, Line]]


@dataclass
class Context:
    spans: Line


@dataclass
class Divider:
    pass


@dataclass(frozen=True)
class Button:
    """A verb offered as a click on one incident; the transport decides how to carry it."""

    verb: str
    label: str
    provider: str
    incident_id: str
    reference: str
    confirm: str | None = None
    style: str | None = None  # primary, danger
    text: str | None = None  # the verb's words (`done #2`); none: the verb's form, or the verb alone


@dataclass
class Actions:
    buttons: list[Button]
    # More of the same, behind one "more" control (Slack's overflow menu): a phone shows a
    # row of buttons, not three rows of them.
    menu: list[Button] = field(default_factory=list)


Block = Header | Section | Fields | Context | Divider | Actions


@dataclass
class Doc:
    summary: Line  # one line: the notification text and the shell's first line
    blocks: list[Block] = field(default_factory=list)
