"""Wiring shared by every entry point: settings → store → providers → command service."""

from __future__ import annotations

import logging
import os
import socket
import uuid
from dataclasses import dataclass

from bot import redact
from bot.clock import SYSTEM, Clock
from bot.commands.ports import Workspace
from bot.commands.service import CommandService
from bot.config import ConfigError, Settings
from bot.providers import SPECS, build_providers, missing_credentials
from bot.providers.base import Directory
from bot.store.db import Store
from bot.store.engine import pool_for
from bot.store.errors import database_error
from bot.store.inbox import Inbox

log = logging.getLogger(__name__)


@dataclass
class Runtime:
    settings: Settings
    store: Store
    service: CommandService
    inbox: Inbox

    async def close(self) -> None:
        for provider in self.service.providers.values():
            await provider.close()
        await self.service.locks.close()
        await self.store.close()


async def build_runtime(settings: Settings, workspace: Workspace, clock: Clock = SYSTEM) -> Runtime:
    """`clock`: the one every piece below tells the time by (bot/clock.py); a test hands in
    a fixed one and every layer, from the store's rows to the card's "running for", follows it."""
    redact.register(*settings.secrets())
    redact.install()
    missing = missing_credentials(settings)
    if missing:
        raise ConfigError(missing)
    for said in half_configured(settings):
        log.warning("configuration: %s", said)
    store = Store(
        settings.database_url,
        clock=clock,
        connect_timeout=settings.incident_ack_db_timeout,
        pool=pool_for(settings.incident_work_slots, settings.database_pool_max),
    )
    try:
        await store.start(migrate=settings.migrates_on_start)
    except Exception as exc:
        await store.close()
        raise database_error(exc, settings.database_url) from None
    # A workspace that can look people up by email lends that to the providers that need it.
    directory = workspace if isinstance(workspace, Directory) else None
    providers = build_providers(settings, store, directory, clock)
    bound = settings.incident_ack_db_timeout
    inbox = Inbox(store, owner=instance_name(), lease=settings.inbox_lease, bound=bound)
    service = CommandService(settings, store, providers, workspace, clock)
    return Runtime(settings, store, service, inbox)


def cannot_serve(settings: Settings) -> str | None:
    """Configuration `serve` cannot work with, in the one line `serve` stops with and `check`
    ends with (exit 2 from both): no way to take Slack's requests, no token to answer them
    (or one of the wrong kind, which Slack would refuse at every call), or a default
    provider without its key."""
    if settings.slack_signing_secret is None and not settings.socket_mode:
        return "SLACK_SIGNING_SECRET is not set: Slack's requests could not be verified."
    if settings.slack_bot_token is None:
        return "SLACK_BOT_TOKEN is not set."
    bot_token = settings.slack_bot_token.get_secret_value()
    if bot_token == "xoxb-...":
        return (
            "SLACK_BOT_TOKEN is still .env.example's placeholder: put the app's Bot User OAuth "
            "Token (OAuth & Permissions), xoxb-…"
        )
    if not bot_token.startswith("xoxb-"):  # a user (xoxp-) or app-level (xapp-) token, say
        return "SLACK_BOT_TOKEN needs the bot token, xoxb-… (OAuth & Permissions → Bot User OAuth Token)."
    app_token = settings.slack_app_token.get_secret_value() if settings.slack_app_token else None
    if app_token is not None and not app_token.startswith("xapp-"):
        return (
            "SLACK_APP_TOKEN needs an app-level token, xapp-… (Basic Information → App-Level "
            "Tokens, with connections:write); for HTTP mode, leave it unset."
        )
    return missing_credentials(settings)


def half_configured(settings: Settings) -> list[str]:
    """What works only in part, said at start (a warning each): the bot still serves what it
    can, and the person who hits the rest is told to ask whoever runs the bot."""
    return [said for spec in SPECS if spec.enabled(settings) for said in spec.half_configured(settings)]


def instance_name() -> str:
    """This process, as the inbox's owner of what it works on: unique per start."""
    return f"{socket.gethostname()[:40]}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
