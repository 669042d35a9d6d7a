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
from bot.providers import build_providers
from bot.providers.base import Directory
from bot.store.db import Store
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
    store = Store(settings.database_url, clock=clock, connect_timeout=settings.incident_ack_db_timeout)
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


CREDENTIALS = {
    "incidentio": "INCIDENTIO_API_KEY",
    "pagerduty": "PAGERDUTY_API_TOKEN",
    "firehydrant": "FIREHYDRANT_API_KEY",
}


def missing_credentials(settings: Settings) -> str | None:
    """The default provider named without its key: the line that says which variable."""
    name = settings.incident_provider
    variable = CREDENTIALS.get(name)
    if variable is None or getattr(settings, variable.lower()) is not None:
        return None
    return f"INCIDENT_PROVIDER={name} needs {variable}: set it, or choose another provider."


def instance_name() -> str:
    """This process, as the inbox's owner of what it works on: unique per start."""
    return f"{socket.gethostname()[:40]}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
