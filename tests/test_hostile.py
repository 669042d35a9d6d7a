"""Nothing a client sends gets a 500: unsigned or malformed bodies, signed payloads of any
shape, oversized requests; and a provider that echoes our key never makes us repeat it."""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import urlencode

import aiohttp
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.slack.server import RUNTIME
from tests.conftest import PROVIDER_TOKEN, SECRET, ProviderBot, RunningBot, provider_bot
from tests.fakes.specs import SPECS
from tests.helpers import (
    FAULTS_CHANNEL,
    FH_SECRET,
    IO_SECRET,
    PD_SECRET,
    fh_signature,
    io_example,
    io_headers,
    link_fault_drill,
    pd_signed,
    text_of,
    write_method,
)
from tests.slackfake import FakeSlack, block_actions, interaction_body, sign, slash_body, view_submission

JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=40),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=4),
    max_leaves=20,
)
SLACK_KEYS = ["type", "user", "team", "actions", "view", "container", "channel", "trigger_id", "response_url"]


def mangled() -> st.SearchStrategy[dict]:
    """Interaction payloads of Slack's kinds with any field of any type, or missing."""
    kinds = st.sampled_from(["block_actions", "view_submission", "block_suggestion", "shortcut", "x"])
    fields = st.dictionaries(st.sampled_from(SLACK_KEYS[1:]), JSON, max_size=6)
    return st.builds(lambda kind, rest: {"type": kind, **rest}, kinds, fields)


def no_tracebacks(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.exc_info or "Traceback" in r.getMessage()]


# Slack gives up on a request it has not had a 200 for within 3 s (and retries it, or
# tells the person "operation_timeout"): the fuzzing client does the same, so an ack that
# slow fails the test as it would fail the person.
SLACK_GIVES_UP = aiohttp.ClientTimeout(total=3)

HYPOTHESIS = settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


async def answered_well(bot: RunningBot, caplog: pytest.LogCaptureFixture, payload: dict) -> None:
    """Sent signed, as Slack sends an interaction (with the fake Slack's response_url where
    the payload says RESPONSE_URL): no 5xx within Slack's 3 s, no traceback after."""
    sent = json.dumps(payload).replace("RESPONSE_URL", bot.slack.response_url("fuzz"))
    body = urlencode({"payload": sent})
    response = await bot.post(body, sign(SECRET, body), within=SLACK_GIVES_UP)
    assert response.status < 500, (response.status, payload)
    await bot.settled()
    assert no_tracebacks(caplog) == []


@HYPOTHESIS
@given(payload=mangled())
async def test_signed_payloads_of_any_shape_get_a_well_formed_answer(
    bot: RunningBot, caplog: pytest.LogCaptureFixture, payload: dict
) -> None:
    caplog.clear()
    await answered_well(bot, caplog, payload)


@HYPOTHESIS
@given(raw=st.binary(max_size=300) | st.text(max_size=300).map(str.encode))
async def test_unsigned_or_garbage_bodies_are_refused_with_one_line(
    bot: RunningBot, caplog: pytest.LogCaptureFixture, raw: bytes
) -> None:
    caplog.clear()
    for headers in (
        {"Content-Type": "application/x-www-form-urlencoded"},
        {"Content-Type": "application/x-www-form-urlencoded", "X-Slack-Signature": "v0=x"},
    ):
        response = await bot.post(raw, headers, within=SLACK_GIVES_UP)
        assert response.status == 401
    signed = sign(SECRET, raw.decode("utf-8", "replace"))
    response = await bot.post(raw.decode("utf-8", "replace").encode(), signed, within=SLACK_GIVES_UP)
    assert response.status < 500
    assert no_tracebacks(caplog) == []


SECRETS = {
    "incidentio": {"incidentio_webhook_secret": IO_SECRET},
    "pagerduty": {"pagerduty_webhook_secret": PD_SECRET},
    "firehydrant": {"firehydrant_webhook_secret": FH_SECRET},
}


@pytest.fixture(params=sorted(SECRETS))
async def hooks(request: pytest.FixtureRequest, fake_slack: FakeSlack, sqlite_url: str) -> AsyncIterator[Any]:
    """A bot whose provider is `request.param`, with that provider's receiver on and one
    incident linked: a mutated event may name it, and is then read again at the fake."""
    provider: str = request.param
    async with provider_bot(provider, fake_slack, sqlite_url, **SECRETS[provider]) as pb:
        yield pb


def signed_for(provider: str, body: bytes) -> dict[str, str]:
    """Each provider's documented signature over `body`."""
    if provider == "incidentio":  # Standard Webhooks signs text: the body is UTF-8 here
        return io_headers(body, msg_id=f"msg_{hashlib.sha256(body).hexdigest()[:12]}")
    if provider == "pagerduty":
        return pd_signed(body, PD_SECRET)
    return fh_signature(body)


def examples() -> dict[str, Any]:
    """Each provider's own example event, the shape a mutation starts from."""
    firehydrant = {
        "data": {"incident": {"id": "fh-1", "name": "Hydrant", "current_milestone": "mitigated"}},
        "event": {"operation": "UPDATED", "resource_type": "incident"},
    }
    pagerduty = json.loads((SPECS / "pagerduty" / "webhooks" / "incident.priority_updated.json").read_text())
    return {
        "incidentio": io_example("public_incident.incident_updated_v2"),
        "pagerduty": pagerduty,
        "firehydrant": firehydrant,
    }


EXAMPLES = examples()


def paths(value: Any, at: tuple = ()) -> list[tuple]:
    found = [at]
    if isinstance(value, dict):
        for key, inner in value.items():
            found += paths(inner, (*at, key))
    elif isinstance(value, list):
        for index, inner in enumerate(value):
            found += paths(inner, (*at, index))
    return found


def mutate(example: Any, path: tuple, replacement: Any) -> Any:
    """The example with the value at `path` replaced (or, for a key, removed: replacement
    None at a dict key deletes it)."""
    if not path:
        return replacement
    copy = json.loads(json.dumps(example))
    parent = copy
    for step in path[:-1]:
        parent = parent[step]
    if replacement is None and isinstance(parent, dict):
        del parent[path[-1]]
    else:
        parent[path[-1]] = replacement
    return copy


@st.composite
def webhook_bodies(draw: st.DrawFn) -> tuple[str, Any]:
    """How to make a body from a provider's example: one field anywhere replaced by any
    JSON or removed; any JSON; or bytes."""
    kind = draw(st.sampled_from(["mutated", "json", "bytes"]))
    if kind == "json":
        return kind, draw(JSON)
    if kind == "bytes":
        return kind, draw(st.binary(max_size=200))
    return kind, (draw(st.integers(min_value=0)), draw(JSON))


def body_of(provider: str, how: tuple[str, Any]) -> bytes:
    kind, value = how
    if kind == "json":
        return json.dumps(value).encode()
    if kind == "bytes":
        return value
    where, replacement = value
    example = EXAMPLES[provider]
    every = paths(example)
    return json.dumps(mutate(example, every[where % len(every)], replacement)).encode()


@HYPOTHESIS
@given(how=webhook_bodies())
async def test_webhook_bodies_of_any_shape_get_a_well_formed_answer(
    hooks: ProviderBot, caplog: pytest.LogCaptureFixture, how: tuple[str, Any]
) -> None:
    """Unsigned: 401. Signed with the provider's secret but of any shape: never a 5xx,
    never a traceback, answered before the provider gives up."""
    caplog.clear()
    provider = hooks.bot.settings.incident_provider
    body = body_of(provider, how)
    if provider == "incidentio":
        body = body.decode("utf-8", "replace").encode()
    url = f"{hooks.bot.url}/webhooks/{provider}"
    async with hooks.bot.session.post(url, data=body, timeout=SLACK_GIVES_UP) as response:
        assert response.status == 401
    async with hooks.bot.session.post(
        url, data=body, headers=signed_for(provider, body), timeout=SLACK_GIVES_UP
    ) as response:
        assert response.status < 500, (response.status, body)
    await hooks.bot.settled()
    assert no_tracebacks(caplog) == []


def real_interactions() -> list[dict[str, Any]]:
    """A real card click and a real modal submission, as Slack shapes them."""
    click = block_actions(
        {"action_id": "verb.ack", "value": json.dumps({"p": "builtin", "i": "1", "r": "INC-1"})},
        user="U111",
        channel="C1",
        message_ts="1.2",
        response_url="RESPONSE_URL",  # the fake Slack's, filled in when sent
    )
    meta = json.dumps({"verb": "severity", "channel_id": "C1", "tz": "UTC"})
    view = {"callback_id": "form.severity", "private_metadata": meta, "blocks": []}
    return [click, view_submission(view, "V1", {}, user="U111")]


REAL = real_interactions()


@HYPOTHESIS
@given(which=st.integers(min_value=0, max_value=1), where=st.integers(min_value=0), replacement=JSON)
async def test_real_interactions_with_any_field_broken_get_a_well_formed_answer(
    bot: RunningBot, caplog: pytest.LogCaptureFixture, which: int, where: int, replacement: Any
) -> None:
    """A real click or submission with one field anywhere replaced by any JSON, or removed;
    INC-1, which they name, exists."""
    if not bot.slack.of("conversations.create"):
        await bot.declare("Fuzzed")
    caplog.clear()
    every = paths(REAL[which])
    payload = mutate(REAL[which], every[where % len(every)], replacement)
    await answered_well(bot, caplog, payload)


async def test_a_real_click_whose_fields_are_broken_is_told_it_is_out_of_date(bot: RunningBot) -> None:
    payload = block_actions(
        {"action_id": "verb.ack", "value": json.dumps({"p": "builtin", "i": "1", "r": "INC-1"})},
        user="U111",
        channel="C1",
        message_ts="1.2",
        response_url=bot.slack.response_url("broken"),
    )
    payload["user"] = "not-an-object"  # a field of the wrong type
    assert (await bot.interact(payload))[0] == 200
    [answer] = await bot.slack.wait_for(1)
    assert "out of date" in text_of(answer.params)


async def test_oversized_bodies_and_texts_are_refused_and_nothing_stores_them(bot: RunningBot) -> None:
    huge = "x" * (2 * 1024 * 1024)
    async with bot.session.post(f"{bot.url}/slack/events", data=huge, headers=sign(SECRET, huge)) as response:
        assert response.status == 413
    _, channel = await bot.declare("Sizes")
    answer = await bot.run("update " + "y" * 20_000, channel=channel)
    assert "too long" in text_of(answer)
    await bot.settled()
    rows = await bot.app[RUNTIME].store.audit.rows()
    assert max(len(r["arguments"]) for r in rows) <= 4000
    inbox = await bot.app[RUNTIME].inbox.rows()
    assert max(len(json.dumps(r["payload"])) for r in inbox) < 10_000


@pytest.mark.parametrize("provider", ["incidentio", "pagerduty", "firehydrant"])
async def test_a_provider_that_echoes_our_key_never_makes_us_repeat_it(
    provider: str, fake_slack: FakeSlack, sqlite_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    async with provider_bot(provider, fake_slack, sqlite_url) as pb:
        _, write = await link_fault_drill(pb)
        pb.fake.fail(write_method(pb), write, "echo")
        answer = text_of(await pb.bot.run("ack", channel=FAULTS_CHANNEL))
        assert "HTTP 400" in answer and "[redacted]" in answer, answer
        await pb.bot.settled()
    assert PROVIDER_TOKEN not in json.dumps([c.params for c in fake_slack.calls])
    assert not [r for r in caplog.records if PROVIDER_TOKEN in r.getMessage()]


async def test_a_command_body_is_parsed_only_after_its_signature(bot: RunningBot) -> None:
    body = slash_body("declare Unsigned", response_url=bot.slack.response_url())
    response = await bot.post(body, {"Content-Type": "application/x-www-form-urlencoded"})
    assert response.status == 401
    await bot.settled()
    assert bot.slack.calls == [c for c in bot.slack.calls if c.method == "auth.test"]


async def test_a_click_is_verified_once_before_anything_reads_it(bot: RunningBot) -> None:
    """The server checks every request's signature before it parses the body, clicks and
    submissions included (Bolt, behind it, no longer checks it again): an unsigned or
    wrongly signed click is a 401 and nothing at all happens; the same click signed runs."""
    _, channel = await bot.declare("Checkout failing")
    await bot.settled()
    calls = len(bot.slack.calls)
    card = [c for c in bot.slack.of("chat.postMessage") if c.params["channel"] == channel][-1]
    ack = next(
        e
        for b in card.params["blocks"]
        if b["type"] == "actions"
        for e in b["elements"]
        if e.get("action_id") == "verb.ack"
    )
    ts, url = card.response["ts"], bot.slack.response_url()
    payload = block_actions(ack, user="U111", channel=channel, message_ts=ts, response_url=url)
    body = interaction_body(payload)
    form = {"Content-Type": "application/x-www-form-urlencoded"}
    for headers in (form, {**form, **sign("not-the-secret", body)}):
        response = await bot.post(body, headers)
        assert response.status == 401
    await bot.settled()
    assert bot.slack.calls[calls:] == []  # nothing was done, nobody was told anything
    status, _ = await bot.interact(payload)
    assert status == 200
    await bot.settled()
    assert "moved the incident to investigating" in " ".join(str(c.params) for c in bot.slack.calls[calls:])
