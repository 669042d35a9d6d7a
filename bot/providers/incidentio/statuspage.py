"""incident.io's status pages: `POST /v2/status_page_incidents` the first time (with the
request's key as its idempotency_key), `POST /v2/status_page_incident_updates` after.

The page is the one named (`page:`) among the account's (`GET /v2/status_pages`), or its
only one; components are matched by name against that page's structure
(`GET /v2/status_page_structures/{id}`: its components, those in groups and in sub-pages),
since the account's component list does not say which page each is on.

incident.io's status page incident has no URL of its own: the link is the page's
`public_url` with `/incidents/<id>`, the path its hosted pages give each incident.
"""

from __future__ import annotations

from bot.domain import Person, Rejected, StatusPageIncident, StatusPost
from bot.providers.incidentio.client import CURSOR, Base
from bot.providers.paging import collect
from bot.providers.wire import page_named

OPERATIONAL = "operational"


def _components(items: list[dict]) -> list[dict]:
    """A structure's components wherever they sit: alone, in a group, in a sub-page."""
    found: list[dict] = []
    for item in items:
        if item.get("component"):
            found.append(item["component"])
        found += (item.get("group") or {}).get("components") or []
        found += _components((item.get("sub_page") or {}).get("items") or [])
    return found


class StatusPage(Base):
    async def _public_pages(self) -> list[dict]:
        async def load() -> list[dict]:
            return await collect(self.api.get, "/v2/status_pages", "status_pages", CURSOR)

        return await self._catalogues.get("status_pages", load)

    async def _page_named(self, name: str) -> dict:
        return page_named(await self._public_pages(), name, _name, "incident.io")

    async def _public_components(self, page_id: str) -> list[dict]:
        async def load() -> list[dict]:
            body = await self.api.get(f"/v2/status_page_structures/{page_id}")
            found = _components((body.get("current_structure") or {}).get("items") or [])
            return [c for c in found if c.get("component_id") and c.get("name")]

        return await self._catalogues.get(f"status_page_structure:{page_id}", load)

    async def status_pages(self) -> list[str]:
        return [_name(page) for page in await self._public_pages()]

    async def status_page_components(self, page: str) -> list[str] | None:
        return [
            str(c["name"]) for c in await self._public_components(str((await self._page_named(page))["id"]))
        ]

    async def _component_statuses(self, page_id: str, post: StatusPost) -> list[dict]:
        if not post.components:
            return []
        by_name = {str(c["name"]): str(c["component_id"]) for c in await self._public_components(page_id)}
        state = OPERATIONAL if post.status == "resolved" else post.impact
        missing = [name for name in post.components if name not in by_name]
        if missing:
            raise Rejected(f"incident.io's status page has no component {', '.join(missing)} any more.")
        return [{"component_id": by_name[name], "component_status": state} for name in post.components]

    async def publish_status(
        self, incident_id: str, made: StatusPageIncident | None, post: StatusPost, actor: Person, key: str
    ) -> StatusPageIncident:
        if made is not None:
            page_id = made.page_id or str((await self._page_named(made.page))["id"])
            components = await self._component_statuses(page_id, post)
            update: dict = {
                "status_page_incident_id": made.id,
                "message": post.message,
                "incident_status": post.status,
                "notify_subscribers": True,
            }
            if components:
                update["component_statuses"] = components
            await self.api.call("POST", "/v2/status_page_incident_updates", json_body=update)
            return made
        page = await self._page_named(post.page)
        body = {
            "status_page_id": page["id"],
            "name": post.title[:200],
            "message": post.message,
            "incident_status": post.status,
            "component_statuses": await self._component_statuses(str(page["id"]), post),
            "notify_subscribers": True,
            "idempotency_key": key,
        }
        answer = await self.api.call("POST", "/v2/status_page_incidents", json_body=body, repeatable=True)
        created = (answer or {}).get("status_page_incident") or {}
        public = str(page.get("public_url") or "").rstrip("/")
        return StatusPageIncident(
            id=str(created["id"]),
            page=_name(page),
            page_id=str(page["id"]),
            title=str(created.get("name") or post.title),
            url=f"{public}/incidents/{created['id']}" if public else None,
        )


def _name(page: dict) -> str:
    return str(page.get("name") or page["id"])
