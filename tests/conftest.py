"""Shared fixtures: databases (SQLite and PostgreSQL), the fake Slack, the running app."""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import aiohttp
import pytest
from aiohttp import web
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from bot.clock import SYSTEM, Clock
from bot.config import Settings
from bot.providers.builtin import tables  # the store's metadata, with the built-in provider's tables on it
from bot.slack.server import PIPELINE, create_web_app
from tests.fakes.firehydrant import FakeFireHydrant
from tests.fakes.incidentio import FakeIncidentIo
from tests.fakes.pagerduty import FakePagerDuty
from tests.fakes.server import FakeProvider
from tests.slackfake import FakeSlack, interaction_body, sign, slash_body

SECRET = "8f742231b10e8888abcd99yyyzzz85a5"
POSTGRES_URL = os.environ.get("TEST_POSTGRES_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/test")


async def _fresh_postgres() -> str:
    engine = create_async_engine(POSTGRES_URL)
    try:
        async with engine.begin() as conn:
            await conn.run_sync(tables.metadata.drop_all)
            await conn.execute(text("DROP TABLE IF EXISTS alembic_version"))
    finally:
        await engine.dispose()
    return POSTGRES_URL


@pytest.fixture(params=["sqlite", "postgresql"])
async def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite+aiosqlite:///{tmp_path / 'store.db'}"
    return await _fresh_postgres()


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite+aiosqlite:///{tmp_path / 'bot.db'}"


async def serve(app: web.Application) -> tuple[web.AppRunner, str]:
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    return runner, f"http://127.0.0.1:{port}"


@pytest.fixture
async def fake_slack() -> AsyncIterator[FakeSlack]:
    fake = FakeSlack()
    runner, fake.url = await serve(fake.app())
    yield fake
    await runner.cleanup()
    assert not fake.invalid, "Block Kit Slack would refuse:\n" + "\n".join(fake.invalid)


def make_settings(fake: FakeSlack, database_url: str, **extra: object) -> Settings:
    values: dict[str, object] = {
        "slack_bot_token": "xoxb-test-token",
        "slack_signing_secret": SECRET,
        "slack_api_url": fake.api_url,
        "database_url": database_url,
        "incident_command_timeout": 5.0,
        # Each change's card redrawn as it comes: a test waits for the redraw it asserts, never
        # for the spacing that keeps a busy incident within Slack's rate limit (1 s; a test of
        # that spacing sets its own).
        "incident_card_redraw_seconds": 0.0,
    }
    values.update(extra)
    return Settings(_env_file=None, **values)  # type: ignore[call-arg]


@dataclass
class RunningBot:
    url: str
    slack: FakeSlack
    session: aiohttp.ClientSession
    settings: Settings
    app: web.Application

    async def post(
        self, body: str | bytes, headers: dict[str, str], within: aiohttp.ClientTimeout | None = None
    ) -> aiohttp.ClientResponse:
        async with self.session.post(
            f"{self.url}/slack/events", data=body, headers=headers, timeout=within or self.session.timeout
        ) as response:
            await response.read()
            return response

    async def interact(self, payload: dict) -> tuple[int, str]:
        """A signed interaction (block_actions, view_submission, block_suggestion): status, body."""
        body = interaction_body(payload)
        async with self.session.post(f"{self.url}/slack/events", data=body, headers=sign(SECRET, body)) as r:
            return r.status, await r.text()

    async def command(
        self,
        text: str,
        *,
        user: str = "U111",
        channel: str = "C111",
        trigger: str | None = None,
        channel_name: str = "random",
    ) -> tuple[aiohttp.ClientResponse, str]:
        """Send `/incident <text>` signed; return the ack and the response_url used."""
        response_url = self.slack.response_url()
        body = slash_body(
            text,
            response_url=response_url,
            user=user,
            channel=channel,
            command=self.settings.incident_command,
            trigger=trigger,
            channel_name=channel_name,
        )
        return await self.post(body, sign(SECRET, body)), response_url

    async def run(self, text: str, **kwargs: object) -> dict:
        """Send a command and wait for its one answer; return that answer's parameters."""
        before = len(self.slack.answers())
        response, _ = await self.command(text, **kwargs)  # type: ignore[arg-type]
        assert response.status == 200, await response.text()
        answers = await self.slack.wait_for(before + 1)
        return answers[before].params | {"_via": answers[before].method}

    async def settled(self, seconds: float = 60.0) -> None:
        """Every acked request answered and recorded (its inbox row done, its audit row written)."""
        async with asyncio.timeout(seconds):
            await self.app[PIPELINE].idle()

    async def declare(self, text: str, **kwargs: object) -> tuple[dict, str]:
        """Declare; wait for both the invoker's answer and the card; return (answer, channel)."""
        before = len(self.slack.answers())
        answer = await self.run(f"declare {text}", **kwargs)
        await self.slack.wait_for(before + 2)
        return answer, self.slack.of("conversations.invite")[-1].params["channel"]


@asynccontextmanager
async def running_bot(
    fake: FakeSlack, settings: Settings, clock: Clock = SYSTEM
) -> AsyncIterator[RunningBot]:
    app = create_web_app(settings, clock)
    runner, url = await serve(app)
    try:
        async with aiohttp.ClientSession() as session:
            yield RunningBot(url, fake, session, settings, app)
    finally:
        await runner.cleanup()


@pytest.fixture
async def bot(fake_slack: FakeSlack, sqlite_url: str) -> AsyncIterator[RunningBot]:
    async with running_bot(fake_slack, make_settings(fake_slack, sqlite_url)) as running:
        yield running


PROVIDER_TOKEN = "tok-SECRET-9f8e7d6c5b4a"  # distinctive, so a leak anywhere is easy to find

FAKES: dict[str, type[FakeProvider]] = {
    "incidentio": FakeIncidentIo,
    "pagerduty": FakePagerDuty,
    "firehydrant": FakeFireHydrant,
}


def provider_settings(name: str, url: str) -> dict[str, object]:
    settings: dict[str, object] = {
        "incident_provider": name,
        f"{name}_api_url": url,
        # The fakes answer at once unless told to hang: a bound far above a busy core's, and
        # below the fakes' hang (tests/fakes/server.py).
        "provider_timeout": 3.0,
        "incident_command_timeout": 8.0,
    }
    key = {"incidentio": "incidentio_api_key", "pagerduty": "pagerduty_api_token"}.get(
        name, f"{name}_api_key"
    )
    settings[key] = PROVIDER_TOKEN
    if name == "pagerduty":
        settings |= {"pagerduty_from_email": "bot@example.com", "pagerduty_service_id": "PSERV01"}
    return settings


@asynccontextmanager
async def provider_fake(name: str) -> AsyncIterator[FakeProvider]:
    fake = FAKES[name]()
    runner, fake.url = await serve(fake.app())
    try:
        yield fake
    finally:
        fake.released.set()
        await runner.cleanup()
    assert not fake.violations, "requests or answers the official spec rejects:\n" + "\n".join(
        fake.violations
    )


@dataclass
class ProviderBot:
    bot: RunningBot
    fake: FakeProvider


@asynccontextmanager
async def provider_bot(
    name: str, fake_slack: FakeSlack, database_url: str, **extra: object
) -> AsyncIterator[ProviderBot]:
    async with provider_fake(name) as fake:
        settings = make_settings(fake_slack, database_url, **(provider_settings(name, fake.url) | extra))
        async with running_bot(fake_slack, settings) as running:
            yield ProviderBot(running, fake)
