"""Documents → plain text, for the shell (Errbot's text backend is the model)."""

from __future__ import annotations

from bot.doc import (
    B,
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


def span_text(span: object) -> str:
    match span:
        case T(text) | B(text):
            return text
        case Code(text):
            return f"`{text}`"
        case User(slack_id, name):
            return f"@{name or slack_id}" if slack_id else (name or "someone")
        case Channel(_, name):
            return f"#{name}"
        case Link(url, label):
            return f"{label} <{url}>"
    return str(span)


def line_text(line: Line) -> str:
    return "".join(span_text(span) for span in line)


def render_text(doc: Doc) -> str:
    out: list[str] = []
    for block in doc.blocks:
        match block:
            case Header(text):
                out += [f"== {text} =="]
            case Section(lines):
                out += [line_text(line) for line in lines]
            case Fields(items):
                out += [f"  {label}: {line_text(value)}" for label, value in items]
            case Context(spans):
                out += [f"  ({line_text(spans)})"]
            case Divider():
                out += ["-" * 40]
    return "\n".join(out) if out else line_text(doc.summary)
