"""Logging as operators read it: lines for a terminal, one JSON object per line for a log
pipeline (LOG_FORMAT=json). Secrets are masked before either (bot/redact.py)."""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime

from aiohttp.abc import AbstractAccessLogger
from aiohttp.web import BaseRequest, StreamResponse

TEXT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False)


def configure(fmt: str = "text", level: int = logging.INFO) -> None:
    logging.basicConfig(level=level, format=TEXT, force=True)
    if fmt == "json":
        for handler in logging.getLogger().handlers:
            handler.setFormatter(JsonFormatter())
    logging.getLogger("alembic").setLevel(logging.WARNING)  # a line per plugin and step: noise
    # A line per provider request ("HTTP Request: GET …"): 1.4 a command, noise in an outage
    # and CPU on the hot path; provider calls are counted, by status, in /metrics.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    # slack_sdk builds its debug lines (the whole request body, the answer's headers and
    # body) whenever its module logger has no level of its own (`logger.level <= DEBUG`
    # holds for NOTSET), and only then does logging drop them: CPU on every answer and
    # redraw (docs/performance.md, "The figures behind the code's choices"). Given the
    # level, it builds them only at DEBUG.
    for name in SLACK_SDK_LOGGERS:
        logging.getLogger(name).setLevel(level)


SLACK_SDK_LOGGERS = ("slack_sdk.web.async_base_client", "slack_sdk.webhook.async_client")

# A request slower than this is worth a line at INFO whatever its status: Slack gives 3 s.
SLOW_REQUEST_S = 1.0


class AccessLogger(AbstractAccessLogger):
    """aiohttp's access log, quiet where all is well: a line at INFO for a refusal or an error
    (status 400 and up: a bad signature, a replay past its window, a crash) or a request
    slower than SLOW_REQUEST_S, every request at DEBUG. aiohttp's own logger wrote and
    formatted a line for every Slack request and webhook at INFO: a line per command in an
    outage's logs that says nothing the metrics don't, and a share of the bot's CPU under
    load (docs/performance.md, "The figures behind the code's choices")."""

    def log(self, request: BaseRequest, response: StreamResponse, time: float) -> None:
        quiet = response.status < 400 and time < SLOW_REQUEST_S
        level = logging.DEBUG if quiet else logging.INFO
        if not self.logger.isEnabledFor(level):
            return
        self.logger.log(
            level,
            '%s "%s %s" %s %.1f ms',
            request.remote,
            request.method,
            request.path,
            response.status,
            time * 1000,
        )
