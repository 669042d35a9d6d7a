"""What several test files share: waiting on a condition (never on the clock), the text of an
answer, a clean environment for a real process, and the drills that link a channel (the
webhooks', the provider faults'), sign a provider's webhook, or click the card's buttons and
fill its modals. Test files import these from here (or from the fakes), never from one
another."""

from __future__ import annotations

import asyncio
import copy
import gzip
import hashlib
import hmac
import inspect
import json
import os
import socket
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from standardwebhooks import Webhook

from bot.slack.server import RUNTIME
from tests.conftest import ProviderBot, RunningBot
from tests.fakes.specs import SPECS
from tests.slackfake import Call, FakeSlack, block_actions, view_submission

# How long a wait for something that must happen may take before the test fails: a bound
# for a machine far slower than any the suite runs on (one core, kept busy by another
# process), never a measure of speed. Where all goes well the wait ends as soon as it holds.
PATIENCE = 180.0


async def wait_until(
    condition: Callable[[], bool | Awaitable[bool]], *, within: float = PATIENCE, what: str = ""
) -> None:
    """Until `condition()` (sync or async) holds, checked every few milliseconds; fails the
    test only once `within` seconds went by without it."""
    deadline = time.monotonic() + within
    while True:
        held = condition()
        if inspect.isawaitable(held):
            held = await held
        if held:
            return
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {within:.0f} s: {what or condition}")
        await asyncio.sleep(0.01)


# answers ------------------------------------------------------------------------------------
def text_of(answer: dict) -> str:
    """Everything a user would read in one answer: fallback text and every block's text."""
    return answer.get("text", "") + "\n" + json.dumps(answer.get("blocks", []), ensure_ascii=False)


# processes ----------------------------------------------------------------------------------
def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def clean_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "INCIDENT", "DATABASE"))}
    env.update(extra)
    return env


# the store ----------------------------------------------------------------------------------
async def store_rows(bot: RunningBot, table: Any) -> list[dict]:
    """The store's own rows, read through the running bot's store (no cache in between)."""
    store = bot.app[RUNTIME].store
    return await store.read(lambda conn: [dict(r._mapping) for r in conn.execute(select(table))])


# the card and its modals --------------------------------------------------------------------
def buttons_of(message: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """action_id → button element, for every button in a message's blocks; an overflow
    menu's option is there under its verb's action_id, as the pick `click` sends."""
    found: dict[str, dict[str, Any]] = {}
    for block in message.get("blocks", []):
        if block.get("type") != "actions":
            continue
        for element in block["elements"]:
            if element.get("type") != "overflow":
                found[element["action_id"]] = element
                continue
            for option in element["options"]:
                verb = json.loads(option["value"])["v"]
                pick = {"action_id": element["action_id"], "type": "overflow", "selected_option": option}
                found[f"verb.{verb}"] = pick
    return found


def shown_buttons(message: dict[str, Any]) -> list[str]:
    """The action_ids of the buttons shown at once (not in a menu), in order."""
    return [
        element["action_id"]
        for block in message.get("blocks", [])
        if block.get("type") == "actions"
        for element in block["elements"]
        if element.get("type") == "button"
    ]


def menu_of(message: dict[str, Any]) -> list[str]:
    """The verbs' action_ids in a message's overflow menu, in order."""
    return [
        f"verb.{json.loads(option['value'])['v']}"
        for block in message.get("blocks", [])
        if block.get("type") == "actions"
        for element in block["elements"]
        if element.get("type") == "overflow"
        for option in element["options"]
    ]


def card_post(slack: FakeSlack, channel: str) -> Call:
    """The latest card posted to `channel` (a message with buttons)."""
    posts = [
        c for c in slack.of("chat.postMessage") if c.params["channel"] == channel and buttons_of(c.params)
    ]
    assert posts, f"no card in {channel}"
    return posts[-1]


async def open_modal(bot: RunningBot, text: str, channel: str, user: str = "U111") -> tuple[str, dict]:
    """Type `/incident <text>` with arguments missing: the modal opens, then is filled."""
    opened = len(bot.slack.of("views.open"))
    updated = len(bot.slack.of("views.update"))
    trigger = f"{time.time_ns()}.999.modal"
    response, _ = await bot.command(text, channel=channel, user=user, trigger=trigger)
    assert response.status == 200
    [*_, first] = await bot.slack.wait_for(opened + 1, "views.open")
    assert first.params["trigger_id"] == trigger  # opened with the command's own trigger
    [*_, filled] = await bot.slack.wait_for(updated + 1, "views.update")
    return filled.params["view_id"], filled.params["view"]


async def click(
    bot: RunningBot, message: Call, action_id: str, *, user: str = "U111", action_ts: str | None = None
) -> tuple[int, str]:
    """Click the button `action_id` on a message the bot posted."""
    button = buttons_of(message.params)[action_id]
    payload = block_actions(
        button,
        user=user,
        channel=message.params["channel"],
        message_ts=message.response["ts"],
        response_url=bot.slack.response_url("act"),
        action_ts=action_ts,
    )
    return await bot.interact(payload)


async def click_element(bot: RunningBot, element: dict, *, user: str, channel: str) -> None:
    """Click a button element (a notice's), and wait for what it started to be answered."""
    payload = block_actions(
        {"action_id": element["action_id"], "value": element["value"]},
        user=user,
        channel=channel,
        message_ts="9.9",
        response_url=bot.slack.response_url("click"),
    )
    assert (await bot.interact(payload))[0] == 200
    await bot.settled()


async def submit(bot: RunningBot, view_id: str, view: dict, answers: dict, user: str = "U111") -> dict:
    status, body = await bot.interact(view_submission(view, view_id, answers, user=user))
    assert status == 200, body
    return json.loads(body) if body else {}


# provider webhooks --------------------------------------------------------------------------
HOOKS_CHANNEL = "C0HOOKS"  # the channel `linked` links
# Svix's own test vector secret (see Standard Webhooks): any whsec_ works the same way.
IO_SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
PD_SECRET = "pd-webhook-secret-123"
FH_SECRET = "fh-webhook-secret-456"


def io_example(event_type: str) -> dict[str, Any]:
    """incident.io's own example body for an event type (its OpenAPI document's x-webhooks)."""
    document = json.loads(gzip.decompress((SPECS / "incident-io" / "openapi.json.gz").read_bytes()))
    operation = next(iter(document["x-webhooks"][f"/x-webhooks/{event_type}"].values()))
    return copy.deepcopy(operation["responses"]["200"]["content"]["application/json"]["example"])


def io_headers(
    body: bytes, *, msg_id: str, secret: str = IO_SECRET, at: float | None = None
) -> dict[str, str]:
    when = datetime.fromtimestamp(at if at is not None else time.time(), tz=UTC)
    signature = Webhook(secret).sign(msg_id, when, body.decode())
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": str(int(when.timestamp())),
        "webhook-signature": signature,
        "Content-Type": "application/json",
    }


def pd_signed(body: bytes, *secrets: str) -> dict[str, str]:
    signatures = ",".join("v1=" + hmac.new(s.encode(), body, hashlib.sha256).hexdigest() for s in secrets)
    return {"X-PagerDuty-Signature": signatures, "Content-Type": "application/json"}


def fh_signature(body: bytes, secret: str = FH_SECRET) -> dict[str, str]:
    """FireHydrant's signature header over `body`."""
    return {"fh-signature": hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()}


async def deliver(pb: ProviderBot, provider: str, body: bytes, headers: dict[str, str]) -> int:
    async with pb.bot.session.post(f"{pb.bot.url}/webhooks/{provider}", data=body, headers=headers) as r:
        await r.read()
        status = r.status
    await pb.bot.settled()
    return status


def status_event(incident: dict, status: str, *, private: bool = False) -> bytes:
    if private:
        body = io_example("private_incident.incident_updated_v2")
        body["private_incident.incident_updated_v2"]["id"] = incident["id"]
        return json.dumps(body).encode()
    body = io_example("public_incident.incident_status_updated_v2")
    inner = body["public_incident.incident_status_updated_v2"]
    inner["incident"].update(
        id=incident["id"],
        reference=incident["reference"],
        slack_channel_id=incident["slack_channel_id"],
        updated_at=incident["updated_at"],
    )
    inner["new_status"]["name"] = status
    return json.dumps(body).encode()


async def linked(pb: ProviderBot, status: str = "Investigating") -> dict:
    """An incident at incident.io, linked to HOOKS_CHANNEL."""
    fake: Any = pb.fake
    incident = fake.add_incident("Webhook drill", channel=HOOKS_CHANNEL, status=status)
    answer = await pb.bot.run(f"link {incident['reference']}", channel=HOOKS_CHANNEL)
    assert "Webhook drill" in text_of(answer)
    await pb.bot.settled()
    return incident


def set_status(pb: ProviderBot, incident: dict, name: str, stamp: str) -> None:
    """A change made at incident.io itself (its web UI), not through the bot."""
    fake: Any = pb.fake
    incident["incident_status"] = fake._named(fake.status_catalogue, name)
    incident["updated_at"] = stamp


# provider faults ----------------------------------------------------------------------------
FAULTS_CHANNEL = "C0FAULT"  # the channel `link_fault_drill` links


async def link_fault_drill(pb: ProviderBot) -> tuple[str, str]:
    """Link FAULTS_CHANNEL to a fresh incident; return (read path, write path) for `ack`."""
    fake: Any = pb.fake
    name = pb.bot.settings.incident_provider
    if name == "incidentio":
        incident = fake.add_incident("Fault drill", channel=FAULTS_CHANNEL, status="Triage")
        ref, read, write = incident["reference"], f"/v2/incidents/{incident['id']}", None
        write = f"/v2/incidents/{incident['id']}/actions/edit"
    elif name == "pagerduty":
        incident = fake.add_incident("Fault drill")
        ref, read, write = (
            f"pd:{incident['incident_number']}",
            f"/incidents/{incident['id']}",
            f"/incidents/{incident['id']}",
        )
    else:
        incident = fake.add_incident("Fault drill", channel=FAULTS_CHANNEL)
        ref, read = f"fh:{incident['id']}", f"/v1/incidents/{incident['id']}"
        write = f"/v1/incidents/{incident['id']}/milestones/bulk_update"
    assert "Fault drill" in text_of(await pb.bot.run(f"link {ref}", channel=FAULTS_CHANNEL))
    await pb.bot.run("info", channel=FAULTS_CHANNEL)  # warm the catalogues a status change reads
    await pb.bot.run(
        "status " + {"incidentio": "triage", "pagerduty": "triggered", "firehydrant": "started"}[name],
        channel=FAULTS_CHANNEL,
    )
    pb.fake.requests.clear()
    return read, write


def write_method(pb: ProviderBot) -> str:
    return {"incidentio": "POST", "pagerduty": "PUT", "firehydrant": "PUT"}[pb.bot.settings.incident_provider]
