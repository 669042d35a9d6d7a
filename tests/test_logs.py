"""Logging as `serve` sets it up (bot/logs.py): what it costs on the hot path."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import aiohttp
import pytest
from slack_sdk.web.async_client import AsyncWebClient
from slack_sdk.webhook.async_client import AsyncWebhookClient

from bot import logs
from tests.slackfake import FakeSlack


class Counted(str):
    """A string that counts how often it is formatted into a log line (repr), never when
    it is sent as JSON (json.dumps reads the string itself)."""

    formatted = 0

    def __repr__(self) -> str:
        Counted.formatted += 1
        return super().__repr__()


@pytest.fixture
def restore_levels() -> Iterator[None]:
    root = logging.getLogger()
    kept = [(logging.getLogger(n), logging.getLogger(n).level) for n in logs.SLACK_SDK_LOGGERS]
    handlers, level = root.handlers[:], root.level
    yield
    for logger, was in kept:
        logger.setLevel(was)
    root.handlers[:] = handlers
    root.setLevel(level)


@pytest.mark.parametrize(("configured", "built"), [(logging.INFO, False), (logging.DEBUG, True)])
async def test_slack_calls_build_no_debug_line_unless_debug_is_on(
    fake_slack: FakeSlack, restore_levels: None, configured: int, built: bool
) -> None:
    logs.configure(level=configured)
    Counted.formatted = 0
    async with aiohttp.ClientSession() as session:
        client = AsyncWebClient(token="xoxb-test", base_url=fake_slack.api_url, session=session)
        posted = await client.chat_postMessage(channel="C1", text=Counted("status: monitoring"))
        answered = await AsyncWebhookClient(fake_slack.response_url(), session=session).send_dict(
            {"text": Counted("INC-1 is monitoring")}
        )
    # Both calls went through: the text arrived as sent.
    assert posted["ok"] and answered.status_code == 200
    texts = [call.params.get("text") for call in fake_slack.calls]
    assert texts == ["status: monitoring", "INC-1 is monitoring"]
    assert (Counted.formatted > 0) is built
