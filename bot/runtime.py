"""Wiring shared by every entry point: settings → store → providers → command service."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

from bot.commands.ports import Workspace
from bot.commands.service import CommandService
from bot.config import Settings
from bot.providers import build_providers
from bot.providers.base import Directory
from bot.store.db import Store

log = logging.getLogger(__name__)


class Inflight:
    """Commands acked but not yet answered. A stop (a deploy's SIGTERM) waits for them
    before closing the store, so an acked command still gets its one answer."""

    def __init__(self, high_water: int = 32) -> None:
        self.count = 0
        self.high_water = high_water
        self._idle = asyncio.Event()
        self._idle.set()
        self._room = asyncio.Condition()

    @asynccontextmanager
    async def track(self) -> AsyncIterator[None]:
        self.count += 1
        self._idle.clear()
        try:
            yield
        finally:
            self.count -= 1
            if not self.count:
                self._idle.set()
            if self.count < self.high_water:
                async with self._room:
                    self._room.notify()

    async def room(self, seconds: float) -> None:
        """Backpressure before an ack: with `high_water` commands acked and unanswered, wait
        (at most `seconds`) for one to finish. Acking faster than the bot answers only
        queues answers (seconds late) and memory; a slower ack slows the sender instead."""
        if self.count < self.high_water:
            return
        try:
            async with asyncio.timeout(seconds), self._room:
                await self._room.wait_for(lambda: self.count < self.high_water)
        except TimeoutError:
            pass

    async def drain(self, seconds: float) -> None:
        try:
            async with asyncio.timeout(seconds):
                await self._idle.wait()
        except TimeoutError:
            log.warning("stopping with %d commands still running", self.count)


@dataclass
class Runtime:
    settings: Settings
    store: Store
    service: CommandService

    async def close(self) -> None:
        for provider in self.service.providers.values():
            await provider.close()
        await self.store.close()


async def build_runtime(settings: Settings, workspace: Workspace) -> Runtime:
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
    return Runtime(settings, store, CommandService(settings, store, providers, workspace))
