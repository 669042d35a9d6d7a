"""Reading Block Kit back as a person would: every text, or only what Slack parses as mrkdwn."""

from __future__ import annotations


def texts(node: object, *, mrkdwn_only: bool = False) -> list[str]:
    """Every text object's string in `node`; with mrkdwn_only, only those Slack parses for
    mentions (plain_text objects are never parsed, so a literal <!here> there pings nobody)."""
    found: list[str] = []

    def walk(item: object) -> None:
        if isinstance(item, dict):
            text = item.get("text")
            if isinstance(text, str) and (not mrkdwn_only or item.get("type") == "mrkdwn"):
                found.append(text)
            for value in item.values():
                walk(value)
        elif isinstance(item, list):
            for value in item:
                walk(value)

    walk(node)
    return found
