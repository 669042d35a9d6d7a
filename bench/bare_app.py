"""The floor of this stack: a Bolt AsyncApp over aiohttp that acks and posts one message.

Run as `python -m bench.bare_app`, configured by the same variables as the bot.
"""

from __future__ import annotations

import os

from aiohttp import web
from slack_bolt.adapter.aiohttp import to_aiohttp_response, to_bolt_request
from slack_bolt.async_app import AsyncApp
from slack_sdk.web.async_client import AsyncWebClient


def main() -> None:
    client = AsyncWebClient(token=os.environ["SLACK_BOT_TOKEN"], base_url=os.environ["SLACK_API_URL"])
    app = AsyncApp(signing_secret=os.environ["SLACK_SIGNING_SECRET"], client=client)

    @app.command(os.environ.get("INCIDENT_COMMAND", "/incident"))
    async def command(ack, body, client) -> None:  # type: ignore[no-untyped-def]
        await ack()
        await client.chat_postMessage(channel=body["channel_id"], text=f"<@{body['user_id']}> done")

    async def events(request: web.Request) -> web.Response:
        return await to_aiohttp_response(await app.async_dispatch(await to_bolt_request(request)))

    async def healthz(request: web.Request) -> web.Response:
        return web.json_response({"ok": True})

    web_app = web.Application()
    web_app.add_routes([web.post("/slack/events", events), web.get("/healthz", healthz)])
    web.run_app(web_app, host="127.0.0.1", port=int(os.environ["PORT"]), print=None)


if __name__ == "__main__":
    main()
