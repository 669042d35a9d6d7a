"""`python -m bot check`: one line per thing the bot depends on, saying whether it works."""

from __future__ import annotations

import asyncio
import socket
import sys
from typing import TextIO

from slack_sdk.errors import SlackApiError

from bot.commands.policy import Policy, PolicyError
from bot.config import ConfigError, Settings, store_name
from bot.domain import ProviderError
from bot.providers import build_providers
from bot.runtime import cannot_serve, missing_credentials
from bot.slack.app import web_client
from bot.slack.scopes import missing_scopes, scope_problem
from bot.store import migrate as migrations
from bot.store.db import Store
from bot.store.errors import database_error


def port_in_use(port: int) -> bool:
    """What `serve` would meet: the port taken by a listener on any address."""
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(("0.0.0.0", port))
        except OSError:
            return True
    return False


async def run_check(settings: Settings, out: TextIO) -> int:
    failures = 0

    def line(ok: bool, what: str) -> None:
        nonlocal failures
        failures += 0 if ok else 1
        out.write(f"{'ok  ' if ok else 'FAIL'} {what}\n")

    store = Store(settings.database_url)
    try:
        found = await store.read(migrations.current)
        await store.start(migrate=False) if found == migrations.head() else None
    except Exception as exc:
        line(False, f"store: {database_error(exc, settings.database_url)}")
        await store.close()
        return 1
    if found == migrations.head():
        line(True, f"store: the {store_name(settings.database_url)} is reachable, schema {found}")
    else:
        behind = f"schema {found or 'empty'}, the bot needs {migrations.head()}"
        if settings.migrates_on_start or found is None:  # an empty database is made on start
            line(
                True,
                f"store: the {store_name(settings.database_url)} is reachable; {behind}: upgraded on start",
            )
        else:
            line(False, f"store: {behind}: run `incident-bot migrate` (or set AUTO_MIGRATE=1)")
    try:
        providers = build_providers(settings, store)
        for name, provider in providers.items():
            try:
                line(True, f"provider {name} ({provider.label}): {await provider.check()}")
            except ProviderError as exc:
                line(False, f"provider {name} ({provider.label}): {exc.message}")
            except Exception as exc:
                line(False, f"provider {name} ({provider.label}): {type(exc).__name__}")
            finally:
                await provider.close()
        missing = missing_credentials(settings)
        if missing:
            line(False, missing)
    finally:
        await store.close()

    if settings.slack_bot_token is None:
        line(False, "slack: SLACK_BOT_TOKEN is not set (the shell works without it)")
    else:
        try:
            auth = await web_client(settings).auth_test()
            line(True, f"slack: token works for team {auth.get('team')} as {auth.get('user')}")
            lacking = missing_scopes(auth.headers.get("x-oauth-scopes"))
            if lacking:
                line(False, scope_problem(lacking))
        except SlackApiError as exc:
            line(False, f"slack: auth.test answered {exc.response.get('error')}")
        except Exception as exc:
            line(False, f"slack: cannot reach {settings.slack_api_url}: {type(exc).__name__}")
    if settings.slack_app_token is None and settings.slack_signing_secret is None:
        line(False, "slack: set SLACK_SIGNING_SECRET (HTTP mode) or SLACK_APP_TOKEN (Socket Mode)")
    else:
        mode = "Socket Mode" if settings.socket_mode else f"HTTP on port {settings.port}"
        line(True, f"slack: {mode}")
    busy = port_in_use(settings.port)
    line(
        not busy,
        f"PORT: {settings.port} is already in use by another program"
        if busy
        else f"PORT: {settings.port} is free",
    )
    try:
        policy = Policy.load(settings.incident_policy)
    except PolicyError as exc:
        line(False, str(exc))
    else:
        source = settings.incident_policy or "the defaults"
        admins = ", ".join(settings.incident_admins) or "none"
        group = settings.incident_admin_group or "none"
        line(True, f"policy: from {source}; admins: {admins}; admin group: {group}")
        if settings.everyone_is_admin:
            out.write("     no admins are set: what is for admins is for responders instead\n")
        for entry in policy.describe():
            out.write(f"     {entry}\n")
    return 1 if failures else 0


def main(settings: Settings) -> int:
    """The report, then, for configuration `serve` cannot work with, the very line `serve`
    would stop with (ConfigError: exit 2), so that `check` passing means `serve` starts."""
    code = asyncio.run(run_check(settings, sys.stdout))
    problem = cannot_serve(settings)
    if problem:
        sys.stdout.flush()
        raise ConfigError(problem)
    return code
