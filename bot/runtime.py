"""Wiring shared by every entry point: settings → store → providers → command service."""

from __future__ import annotations

import logging
import os
import socket
import uuid
from dataclasses import dataclass

from bot import redact
from bot.commands.ports import Workspace
from bot.commands.service import CommandService
from bot.config import Settings
from bot.providers import build_providers
from bot.providers.base import Directory
from bot.store.db import Store
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
        await self.store.close()


async def build_runtime(settings: Settings, workspace: Workspace) -> Runtime:
    redact.register(*settings.secrets())
    redact.install()
    store = Store(settings.database_url)
    await store.start()
    # A workspace that can look people up by email lends that to the providers that need it.
    directory = workspace if isinstance(workspace, Directory) else None
    providers = build_providers(settings, store, directory)
    if settings.incident_provider not in providers:
        await store.close()
        raise SystemExit(
            f"INCIDENT_PROVIDER is {settings.incident_provider}, but its credentials are not set."
        )
    inbox = Inbox(store, owner=instance_name(), lease=settings.inbox_lease)
    return Runtime(settings, store, CommandService(settings, store, providers, workspace), inbox)


def instance_name() -> str:
    """This process, as the inbox's owner of what it works on: unique per start."""
    return f"{socket.gethostname()[:40]}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
