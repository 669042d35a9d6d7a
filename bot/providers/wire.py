"""What the adapters share beyond HTTP: timestamps as the providers write them, finding a
Slack user at a provider that knows people only by email, and a status page by its id or
its name."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime

from bot.domain import Person, Rejected
from bot.providers.base import Directory
from bot.providers.cache import TTLCache


def parse_time(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value.replace("Z", "+00:00")) if value else None


def iso_utc(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def page_named(pages: list[dict], wanted: str, name_of: Callable[[dict], str], label: str) -> dict:
    """The status page by its id (what a published incident keeps: a page may be renamed),
    else by its name as `name_of` gives it; refused, naming the provider, where none is."""
    by_id = next((page for page in pages if str(page["id"]) == wanted), None)
    found = by_id or next((page for page in pages if name_of(page) == wanted), None)
    if found is None:
        raise Rejected(f"{label} has no status page {wanted} any more: nothing was published.")
    return found


def slack_person(user: dict | None) -> Person | None:
    """A provider's user as a Slack person, where the provider knows their Slack id
    (incident.io, FireHydrant); by name alone where it does not."""
    if not user:
        return None
    return Person(slack_id=user.get("slack_user_id") or "", name=user.get("name"))


async def user_id_by_email(
    person: Person,
    *,
    label: str,
    directory: Directory,
    cache: TTLCache,
    search: Callable[[str], Awaitable[list[dict]]],
) -> str:
    """The provider's id for a Slack user: Slack's email for them, then the provider's
    user search, matched exactly (searches match names too), cached."""
    who = f"@{person.name or person.slack_id}"
    email = await directory.email_of(person.slack_id) if person.slack_id else None
    if not email:
        raise Rejected(f"I can't see an email for {who} in Slack, so I can't find them in {label}.")

    async def load() -> str | None:
        users = await search(email)
        return next((u["id"] for u in users if str(u.get("email", "")).lower() == email.lower()), None)

    found = await cache.get(email.lower(), load)
    if found is None:
        cache.forget(email.lower())
        raise Rejected(f"{who} ({email}) has no {label} account.")
    return found
