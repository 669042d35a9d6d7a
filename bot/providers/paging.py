"""One way to read a list that comes in pages, for every adapter.

Each provider pages its own way: incident.io with a cursor (`after`, answered in
`pagination_meta.after`), PagerDuty with an offset and `more`, FireHydrant with page
numbers and `pagination.next`. The style is a small value; `paginate` is the loop, written
once, bounded so a provider that keeps answering "more" cannot keep a command forever.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Protocol

MAX_PAGES = 500  # 125,000 incidents at 250 a page: far past any real account's live ones

Get = Callable[[str, Any], Awaitable[Any]]


class Paging(Protocol):
    def first(self) -> dict[str, Any]:
        """Parameters for the first page."""

    def after(self, sent: dict[str, Any], body: dict[str, Any], items: list[Any]) -> dict[str, Any] | None:
        """Parameters for the page after this one; None when this was the last."""


@dataclass(frozen=True)
class Cursor:
    """incident.io: the next page is `after=<pagination_meta.after>`."""

    size: int

    def first(self) -> dict[str, Any]:
        return {"page_size": self.size}

    def after(self, sent: dict[str, Any], body: dict[str, Any], items: list[Any]) -> dict[str, Any] | None:
        cursor = (body.get("pagination_meta") or {}).get("after")
        return {"page_size": self.size, "after": cursor} if cursor and items else None


@dataclass(frozen=True)
class Offset:
    """PagerDuty: `offset` moves by what came back, while the answer says `more`."""

    size: int

    def first(self) -> dict[str, Any]:
        return {"limit": self.size, "offset": 0}

    def after(self, sent: dict[str, Any], body: dict[str, Any], items: list[Any]) -> dict[str, Any] | None:
        if not body.get("more") or not items:
            return None
        return {"limit": self.size, "offset": int(sent["offset"]) + len(items)}


@dataclass(frozen=True)
class Numbered:
    """FireHydrant: `page=1, 2, …` while `pagination.next` names another."""

    size: int

    def first(self) -> dict[str, Any]:
        return {"page": 1, "per_page": self.size}

    def after(self, sent: dict[str, Any], body: dict[str, Any], items: list[Any]) -> dict[str, Any] | None:
        if not (body.get("pagination") or {}).get("next") or not items:
            return None
        return {"page": int(sent["page"]) + 1, "per_page": self.size}


async def pages(
    get: Get,
    path: str,
    key: str,
    paging: Paging,
    params: dict[str, Any] | None = None,
    limit: int = MAX_PAGES,
) -> AsyncIterator[list[Any]]:
    """Each page's items under `key` (at most `limit` pages); stop early by leaving the loop."""
    sent: dict[str, Any] | None = paging.first()
    for _ in range(limit):
        if sent is None:
            return
        body = await get(path, {**(params or {}), **sent})
        items = (body.get(key) if isinstance(body, dict) else None) or []
        yield items
        sent = paging.after(sent, body, items)


async def paginate(
    get: Get,
    path: str,
    key: str,
    paging: Paging,
    params: dict[str, Any] | None = None,
    limit: int = MAX_PAGES,
) -> AsyncIterator[Any]:
    """Every item, page after page."""
    async for page in pages(get, path, key, paging, params, limit):
        for item in page:
            yield item


async def collect(
    get: Get,
    path: str,
    key: str,
    paging: Paging,
    params: dict[str, Any] | None = None,
    limit: int = MAX_PAGES,
) -> list[Any]:
    return [item async for item in paginate(get, path, key, paging, params, limit)]
