"""Prometheus metrics, served at /metrics: what an operator graphs and alerts on.

One registry of the process's own (not prometheus_client's global one), counted where the
thing happens: commands and answers in the pipeline, acks in the HTTP handler, provider
calls in the provider client, Slack errors where they are read.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST

REGISTRY = CollectorRegistry()
CONTENT_TYPE = CONTENT_TYPE_LATEST
_FAST = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 3.0)
_SLOW = (0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 25.0, 60.0)

COMMANDS = Counter(
    "incident_bot_requests",
    "Requests answered, by kind (command, button, submission, webhook, timer), verb and outcome.",
    ["kind", "verb", "outcome"],
    registry=REGISTRY,
)
ACK_SECONDS = Histogram(
    "incident_bot_ack_seconds",
    "From a Slack request's arrival to its HTTP answer.",
    buckets=_FAST,
    registry=REGISTRY,
)
ANSWER_SECONDS = Histogram(
    "incident_bot_answer_seconds",
    "From a request's admission to its one answer delivered.",
    ["kind"],
    buckets=_SLOW,
    registry=REGISTRY,
)
PROVIDER_CALLS = Counter(
    "incident_bot_provider_calls",
    "Provider API calls, by provider and HTTP status (or timeout, unreachable).",
    ["provider", "status"],
    registry=REGISTRY,
)
PROVIDER_SECONDS = Histogram(
    "incident_bot_provider_seconds",
    "Provider API call latency.",
    ["provider"],
    buckets=_SLOW,
    registry=REGISTRY,
)
SLACK_ERRORS = Counter(
    "incident_bot_slack_api_errors",
    "Slack Web API calls that failed, by method and error.",
    ["method", "error"],
    registry=REGISTRY,
)
TIMER_TICKS = Counter(
    "incident_bot_timer_ticks",
    "Looks for due reminders and notices, done (every INCIDENT_TIMER_TICK seconds): flat means stuck.",
    registry=REGISTRY,
)
BACKLOG = Gauge(
    "incident_bot_inbox_backlog", "Requests acked and not yet answered in this process.", registry=REGISTRY
)


@lru_cache(maxsize=1024)
def child(metric: Counter | Histogram, *values: str) -> Any:
    """`metric.labels(*values)`, kept: prometheus_client checks and looks the labels up under
    a lock at every call, 5 µs where the count itself is 1, and a command counts four times
    (issue 16). Values are in the metric's label order; every label here takes few values."""
    return metric.labels(*values)


def track_backlog(pending: Callable[[], int]) -> None:
    BACKLOG.set_function(pending)


def slack_failed(api_url: str | None, error: str) -> None:
    method = (api_url or "").rstrip("/").rsplit("/", 1)[-1] or "unknown"
    child(SLACK_ERRORS, method[:64], error[:64]).inc()


def exposition() -> bytes:
    return generate_latest(REGISTRY)
