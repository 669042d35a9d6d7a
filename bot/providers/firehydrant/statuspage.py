"""FireHydrant's own status pages (its "nunc" connections): the page is added to the
incident once (`POST /v1/incidents/{id}/status_pages`), and each message is a note posted
to it (`POST /v1/incidents/{id}/notes` with `visibility: open_to_public` and the page in
`status_pages`), as FireHydrant's own UI posts them.

The page is the one named (`page:`) among the account's, or its only one. FireHydrant's
page shows the services and functionalities the incident impacts, set on the incident in
FireHydrant, so `component:` names nothing here. Neither call takes an
idempotency key: each is sent once, never retried on a doubtful failure.
"""

from __future__ import annotations

from bot.domain import Person, StatusPageIncident, StatusPost
from bot.providers.firehydrant.client import Base
from bot.providers.wire import page_named

SLUG = "nunc"  # FireHydrant's hosted status pages, as its API names their integration


class StatusPage(Base):
    async def _public_pages(self) -> list[dict]:
        async def load() -> list[dict]:
            return list((await self.api.get("/v1/nunc_connections")).get("data") or [])

        return await self._catalogues.get("status_pages", load)

    async def _page_named(self, name: str) -> dict:
        return page_named(await self._public_pages(), name, _name, "FireHydrant")

    async def status_pages(self) -> list[str]:
        return [_name(page) for page in await self._public_pages()]

    async def status_page_components(self, page: str) -> list[str] | None:
        return None

    async def publish_status(
        self, incident_id: str, made: StatusPageIncident | None, post: StatusPost, actor: Person, key: str
    ) -> StatusPageIncident:
        if made is None:
            page = await self._page_named(post.page)
            body = {"integration_slug": SLUG, "integration_id": str(page["id"]), "title": post.title}
            added = (
                await self.api.call("POST", f"/v1/incidents/{incident_id}/status_pages", json_body=body) or {}
            )
            made = StatusPageIncident(
                id=str(added.get("id") or page["id"]),
                page=_name(page),
                page_id=str(page["id"]),
                title=post.title,
                url=str(added["url"]) if added.get("url") else None,
            )
        note = {
            "body": post.message,
            "visibility": "open_to_public",
            "status_pages": [{"id": made.id, "integration_slug": SLUG}],
        }
        await self.api.call("POST", f"/v1/incidents/{incident_id}/notes", json_body=note)
        return made


def _name(page: dict) -> str:
    return str(page.get("title") or page.get("company_name") or page.get("domain") or page["id"])
