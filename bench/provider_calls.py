"""CPU per provider request: the bot's ApiClient (httpx's API on aiohttp's connections,
bot/providers/aio.py) against a local server that answers `{"incident": {}}` at once,
beside a bare aiohttp client and the same ApiClient on httpx's own transport, same run.

    .venv/bin/python -m bench.provider_calls -n 3000

Prints CPU µs per request for each and their ratio. Issue 16's profile put half of the
bot's CPU per incident.io command in the provider HTTP stack; this isolates that stack.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.util
import time

import aiohttp
import httpx
from aiohttp import web

from bot.providers.http import ApiClient, TokenAuth


async def _serve() -> tuple[web.AppRunner, str]:
    async def answer(request: web.Request) -> web.Response:
        return web.json_response({"incident": {"id": request.match_info["id"]}})

    app = web.Application()
    app.router.add_get("/v2/incidents/{id}", answer)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    return runner, f"http://127.0.0.1:{port}"


async def _cpu_per_request(n: int, call: object) -> float:
    started = time.process_time()
    for i in range(n):
        await call(i)  # type: ignore[operator]
    return (time.process_time() - started) / n * 1e6


async def run(n: int) -> dict[str, float]:
    runner, url = await _serve()
    try:
        api, api_httpcore = (
            ApiClient(label="incident.io", base_url=url, auth=TokenAuth("x"), error_text=lambda _: None, **kw)
            for kw in ({}, {"transport": httpx.AsyncHTTPTransport()})
        )
        async with aiohttp.ClientSession(base_url=url) as session:

            async def bare(i: int) -> None:
                async with session.get(f"/v2/incidents/{i}") as response:
                    await response.json()

            async def ours(i: int) -> None:
                await api.get(f"/v2/incidents/{i}")

            async def on_httpcore(i: int) -> None:
                await api_httpcore.get(f"/v2/incidents/{i}")

            for call in (bare, ours, on_httpcore):  # warm each: connections, imports
                await _cpu_per_request(200, call)
            bare_us = await _cpu_per_request(n, bare)
            ours_us = await _cpu_per_request(n, ours)
            httpcore_us = await _cpu_per_request(n, on_httpcore)
        await api.close()
        await api_httpcore.close()
    finally:
        await runner.cleanup()
    return {
        "bare_aiohttp_us": round(bare_us, 1),
        "bot_apiclient_us": round(ours_us, 1),
        "bot_apiclient_on_httpcore_us": round(httpcore_us, 1),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.provider_calls", description=__doc__)
    parser.add_argument("-n", "--requests", type=int, default=3000)
    parser.add_argument(
        "--logging", action="store_true", help="log as `serve` does (INFO, to stderr: send it to /dev/null)"
    )
    args = parser.parse_args(argv)
    if args.logging:
        from bot.logs import configure

        configure()
    found = asyncio.run(run(args.requests))
    sniffio = "installed" if importlib.util.find_spec("sniffio") else "missing"
    ratio = found["bot_apiclient_us"] / found["bare_aiohttp_us"]
    print(
        f"sniffio {sniffio}, logging {'as serve' if args.logging else 'off'}: "
        f"CPU per provider request {found['bot_apiclient_us']} µs "
        f"(bare aiohttp client {found['bare_aiohttp_us']} µs, {ratio:.2f}×), {args.requests} requests; "
        f"on httpx's own transport (httpcore) instead of aiohttp's: "
        f"{found['bot_apiclient_on_httpcore_us']} µs "
        f"({found['bot_apiclient_on_httpcore_us'] / found['bare_aiohttp_us']:.2f}×)"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
