"""Our configured secrets never leave the process: not in a log line, not in a message.

A provider (or a proxy in front of it) that echoes request headers into its error body
once put the incident.io key into Slack messages and logs. Every secret the settings hold
is registered at start; `redact` replaces any of them in a text, and `install` makes every
log record pass through it, whoever logs it (ours, httpx, Bolt, aiohttp).
"""

from __future__ import annotations

import logging
import re

MASK = "[redacted]"
_secrets: set[str] = set()
_pattern: re.Pattern[str] | None = None
_installed = False


def register(*values: str | None) -> None:
    """Secrets shorter than 8 characters are not secrets worth the name (and would mask
    ordinary words)."""
    global _pattern
    added = {v for v in values if v and len(v) >= 8}
    if added - _secrets:
        _secrets.update(added)
        ordered = sorted(_secrets, key=len, reverse=True)
        _pattern = re.compile("|".join(re.escape(s) for s in ordered))


def redact(text: str) -> str:
    return text if _pattern is None else _pattern.sub(MASK, text)


def install() -> None:
    """Every log record's message is redacted once it is formatted."""
    global _installed
    if _installed:
        return
    _installed = True
    make = logging.getLogRecordFactory()

    def factory(*args: object, **kwargs: object) -> logging.LogRecord:
        record = make(*args, **kwargs)
        if _pattern is not None:
            message = record.getMessage()
            cleaned = redact(message)
            if cleaned != message:
                record.msg, record.args = cleaned, None
        return record

    logging.setLogRecordFactory(factory)


def clip(text: str, limit: int = 300) -> str:
    """A provider's message as shown to a person: one line, bounded."""
    line = " ".join(text.split())
    return line if len(line) <= limit else line[: limit - 1] + "…"
