"""incident.io's status pages: `POST /v2/status_page_incidents` the first time (with the
request's key as its idempotency_key), `POST /v2/status_page_incident_updates` after.

The page is the account's first status page (`GET /v2/status_pages`); components are
matched by name against `GET /v2/status_page_components`.
"""

from __future__ import annotations

from bot.domain import Person, Rejected, StatusPageIncident, StatusPost
from bot.providers.incidentio.client import CURSOR, Base
from bot.providers.paging import collect

OPERATIONAL = "operational"


class StatusPage(Base):
    async def _public_pages(self) -> list[dict]:
        async def load() -> list[dict]:
            return await collect(self.api.get, "/v2/status_pages", "status_pages", CURSOR)

        return await self._catalogues.get("status_pages", load)

    async def _public_components(self) -> list[dict]:
        async def load() -> list[dict]:
            body = await self.api.get("/v2/status_page_components")
            return list(body.get("status_page_components") or [])

        return await self._catalogues.get("status_page_components", load)

    async def status_page_components(self) -> list[str] | None:
        return [str(c["name"]) for c in await self._public_components()]

    async def status_page_name(self) -> str:
        return str((await self._public_page()).get("name") or "the status page")

    async def _public_page(self) -> dict:
        pages = await self._public_pages()
        if not pages:
            raise Rejected("incident.io has no status page on this account: make one in incident.io first.")
        return pages[0]

    async def _component_statuses(self, post: StatusPost) -> list[dict]:
        by_name = {str(c["name"]): str(c["id"]) for c in await self._public_components()}
        state = OPERATIONAL if post.status == "resolved" else post.impact
        missing = [name for name in post.components if name not in by_name]
        if missing:
            raise Rejected(f"incident.io's status page has no component {', '.join(missing)} any more.")
        return [{"component_id": by_name[name], "component_status": state} for name in post.components]

    async def publish_status(
        self, incident_id: str, made: StatusPageIncident | None, post: StatusPost, actor: Person, key: str
    ) -> StatusPageIncident:
        components = await self._component_statuses(post)
        if made is not None:
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
        page = await self._public_page()
        body = {
            "status_page_id": page["id"],
            "name": post.title[:200],
            "message": post.message,
            "incident_status": post.status,
            "component_statuses": components,
            "notify_subscribers": True,
            "idempotency_key": key,
        }
        answer = await self.api.call("POST", "/v2/status_page_incidents", json_body=body, repeatable=True)
        created = (answer or {}).get("status_page_incident") or {}
        public = str(page.get("public_url") or "").rstrip("/")
        return StatusPageIncident(
            id=str(created["id"]),
            page=str(page.get("name") or "the status page"),
            page_id=str(page["id"]),
            title=str(created.get("name") or post.title),
            url=f"{public}/incidents/{created['id']}" if public else None,
        )
