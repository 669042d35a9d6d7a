"""Provider webhooks, signed the documented way and built from the providers' own example
payloads: what happens at the provider shows up in the incident's channel, once."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from standardwebhooks import Webhook

from bot.webhooks.verify import VERIFIERS
from tests.conftest import ProviderBot, provider_bot, provider_fake
from tests.fakes.incidentio import SEVERITIES
from tests.fakes.specs import SPECS
from tests.helpers import (
    FH_SECRET,
    HOOKS_CHANNEL,
    IO_SECRET,
    PD_SECRET,
    clean_env,
    deliver,
    fh_signature,
    io_example,
    io_headers,
    linked,
    pd_signed,
    set_status,
    status_event,
    text_of,
)
from tests.slackfake import FakeSlack

CHANNEL = HOOKS_CHANNEL


def said_in(fake_slack: FakeSlack, channel: str) -> list[str]:
    return [text_of(c.params) for c in fake_slack.of("chat.postMessage") if c.params["channel"] == channel]


@pytest.fixture
async def io(fake_slack: FakeSlack, sqlite_url: str) -> Any:
    async with provider_bot("incidentio", fake_slack, sqlite_url, incidentio_webhook_secret=IO_SECRET) as pb:
        yield pb


async def test_a_status_change_at_incidentio_is_told_once_and_redraws_the_card(
    io: ProviderBot, fake_slack: FakeSlack
) -> None:
    incident = await linked(io)
    before, redraws = len(said_in(fake_slack, CHANNEL)), len(fake_slack.of("chat.update"))
    set_status(io, incident, "Fixing", "2026-11-23T10:00:00Z")
    body = status_event(incident, "Fixing")
    headers = io_headers(body, msg_id="msg_status_1")
    assert await deliver(io, "incidentio", body, headers) == 200
    notices = said_in(fake_slack, CHANNEL)[before:]
    assert len(notices) == 1 and "Fixing" in notices[0] and "incident.io" in notices[0]
    assert "Fixing" in text_of(fake_slack.of("chat.update")[-1].params)
    assert len(fake_slack.of("chat.update")) == redraws + 1
    # The same delivery again (Svix retries with the same webhook-id): nothing at all.
    assert await deliver(io, "incidentio", body, headers) == 200
    assert len(said_in(fake_slack, CHANNEL)) == before + 1
    assert len(fake_slack.of("chat.update")) == redraws + 1


async def test_forged_unsigned_and_stale_deliveries_are_refused(
    io: ProviderBot, fake_slack: FakeSlack
) -> None:
    incident = await linked(io)
    set_status(io, incident, "Fixing", "2026-11-23T10:00:00Z")
    body = status_event(incident, "Fixing")
    posted = len(fake_slack.calls)
    forged = io_headers(body, msg_id="msg_f", secret="whsec_" + "QUJD" * 8)
    stale = io_headers(body, msg_id="msg_s", at=time.time() - 600)
    unsigned = {"Content-Type": "application/json", "webhook-id": "msg_u"}
    tampered = io_headers(body, msg_id="msg_t")
    for headers, sent in ((forged, body), (stale, body), (unsigned, body), (tampered, body + b" ")):
        assert await deliver(io, "incidentio", sent, headers) == 401
    assert len(fake_slack.calls) == posted


async def test_a_private_incident_sends_only_its_id_and_is_read_again(
    io: ProviderBot, fake_slack: FakeSlack
) -> None:
    incident = await linked(io)
    set_status(io, incident, "Fixing", "2026-11-23T10:00:00Z")
    await deliver(io, "incidentio", body := status_event(incident, "Fixing"), io_headers(body, msg_id="m1"))
    before = len(said_in(fake_slack, CHANNEL))
    incident["severity"] = SEVERITIES[0]  # Critical, changed in incident.io's web UI
    incident["updated_at"] = "2026-11-23T10:05:00Z"
    body = status_event(incident, "", private=True)
    assert await deliver(io, "incidentio", body, io_headers(body, msg_id="m2")) == 200
    [notice] = said_in(fake_slack, CHANNEL)[before:]
    assert "severity" in notice and "Critical" in notice
    reads = [r for r in io.fake.requests if r.method == "GET" and r.path == f"/v2/incidents/{incident['id']}"]
    assert reads, "the private incident was read from incident.io"


async def test_an_unlinked_incident_whose_event_names_a_channel_is_told_there(
    io: ProviderBot, fake_slack: FakeSlack
) -> None:
    fake: Any = io.fake
    incident = fake.add_incident("Made in incident.io", channel="C0THEIRS", status="Triage")
    set_status(io, incident, "Fixing", "2026-11-23T10:00:00Z")
    body = status_event(incident, "Fixing")
    assert await deliver(io, "incidentio", body, io_headers(body, msg_id="m3")) == 200
    [notice] = said_in(fake_slack, "C0THEIRS")
    assert "Fixing" in notice
    nowhere = fake.add_incident("No channel", channel="", status="Triage")
    before = len(fake_slack.of("chat.postMessage"))
    body = status_event(nowhere, "Fixing")
    assert await deliver(io, "incidentio", body, io_headers(body, msg_id="m4")) == 200
    assert len(fake_slack.of("chat.postMessage")) == before  # recorded, otherwise ignored


async def test_an_unknown_event_type_is_accepted_and_ignored(io: ProviderBot, fake_slack: FakeSlack) -> None:
    await linked(io)
    before = len(fake_slack.calls)
    body = json.dumps(io_example("schedule.created_v1")).encode()
    assert await deliver(io, "incidentio", body, io_headers(body, msg_id="m5")) == 200
    assert len(fake_slack.calls) == before


async def test_the_bots_own_change_comes_back_as_a_webhook_and_is_not_told_twice(
    io: ProviderBot, fake_slack: FakeSlack
) -> None:
    incident = await linked(io)
    before = len(said_in(fake_slack, CHANNEL))
    await io.bot.run("status fixing", channel=CHANNEL)
    await io.bot.settled()
    body = status_event(incident, "Fixing")
    assert await deliver(io, "incidentio", body, io_headers(body, msg_id="m6")) == 200
    assert len(said_in(fake_slack, CHANNEL)) == before + 1  # the command's own answer only


async def test_an_older_event_after_a_newer_one_does_not_roll_the_card_back(
    io: ProviderBot, fake_slack: FakeSlack
) -> None:
    incident = await linked(io)
    set_status(io, incident, "Monitoring", "2026-11-23T10:10:00Z")
    newer = status_event(incident, "Monitoring")
    older = json.loads(status_event(incident, "Fixing"))
    older["public_incident.incident_status_updated_v2"]["incident"]["updated_at"] = "2026-11-23T10:00:00Z"
    older_body = json.dumps(older).encode()
    assert await deliver(io, "incidentio", newer, io_headers(newer, msg_id="new")) == 200
    before = len(said_in(fake_slack, CHANNEL))
    assert await deliver(io, "incidentio", older_body, io_headers(older_body, msg_id="old")) == 200
    assert said_in(fake_slack, CHANNEL)[before:] == []
    card = text_of(fake_slack.of("chat.update")[-1].params)
    assert "Monitoring" in card and "Fixing" not in card


async def test_pagerduty_priority_and_acknowledge_from_its_examples(
    fake_slack: FakeSlack, sqlite_url: str
) -> None:
    async with provider_bot("pagerduty", fake_slack, sqlite_url, pagerduty_webhook_secret=PD_SECRET) as pb:
        fake: Any = pb.fake
        incident = fake.add_incident("Paged")
        await pb.bot.run(f"link pd:{incident['incident_number']}", channel=CHANNEL)
        await pb.bot.settled()
        before = len(said_in(fake_slack, CHANNEL))
        example = json.loads(
            (SPECS / "pagerduty" / "webhooks" / "incident.priority_updated.json").read_text()
        )
        example["event"]["data"]["id"] = incident["id"]
        incident["status"] = "acknowledged"  # done in PagerDuty's phone app
        example["event"]["event_type"] = "incident.acknowledged"
        body = json.dumps(example).encode()
        # Several v1= entries while a secret rotates: any one that matches will do.
        assert await deliver(pb, "pagerduty", body, pd_signed(body, "old-secret", PD_SECRET)) == 200
        [notice] = said_in(fake_slack, CHANNEL)[before:]
        assert "acknowledged" in notice and "Tenex Engineer" in notice
        assert await deliver(pb, "pagerduty", body, pd_signed(body, PD_SECRET)) == 200  # same event.id
        assert await deliver(pb, "pagerduty", body, pd_signed(body, "wrong")) == 401
        assert len(said_in(fake_slack, CHANNEL)) == before + 1


async def test_firehydrant_milestone_change_is_told_in_its_channel(
    fake_slack: FakeSlack, sqlite_url: str
) -> None:
    async with provider_bot(
        "firehydrant", fake_slack, sqlite_url, firehydrant_webhook_secret=FH_SECRET
    ) as pb:
        fake: Any = pb.fake
        incident = fake.add_incident("Hydrant", channel=CHANNEL)
        await pb.bot.run(f"link fh:{incident['id']}", channel=CHANNEL)
        await pb.bot.settled()
        before = len(said_in(fake_slack, CHANNEL))
        incident["current_milestone"] = "mitigated"  # a runbook moved it
        body = json.dumps(
            {
                "data": {"incident": {**incident, "incident_channels": [{"id": CHANNEL, "name": "inc"}]}},
                "event": {"operation": "UPDATED", "resource_type": "incident"},
            }
        ).encode()
        headers = fh_signature(body) | {"Content-Type": "application/json"}
        assert await deliver(pb, "firehydrant", body, headers) == 200
        [notice] = said_in(fake_slack, CHANNEL)[before:]
        assert "mitigated" in notice.lower()
        assert await deliver(pb, "firehydrant", body, headers) == 200  # the same body: one event
        assert await deliver(pb, "firehydrant", body, {"fh-signature": "0" * 64}) == 401
        assert len(said_in(fake_slack, CHANNEL)) == before + 1


def test_the_svix_test_vector_and_the_receivers_verifier_agree() -> None:
    """The documented vector signs as documented, and a fresh signature of the same kind
    passes the receiver's verifier (and a changed body does not)."""
    incidentio = VERIFIERS["incidentio"]  # the receiver's own verifier, as it looks one up

    vector = Webhook(IO_SECRET).sign(
        "msg_p5jXN8AQM9LWM0D4loKWxJek", datetime.fromtimestamp(1614265330, tz=UTC), '{"test": 2432232314}'
    )
    assert vector == "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
    body = b'{"test": 2432232314}'
    headers = io_headers(body, msg_id="msg_p5jXN8AQM9LWM0D4loKWxJek")
    assert incidentio(IO_SECRET, body, headers)
    assert not incidentio(IO_SECRET, body + b" ", headers)


def webhooks_command(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bot", "webhooks", *args],
        env=clean_env(**env),
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_webhooks_command_prints_each_connected_providers_url_and_secret_state(tmp_path: Path) -> None:
    done = webhooks_command(
        "--url",
        "https://bot.example.com/",
        INCIDENTIO_API_KEY="k",
        FIREHYDRANT_API_KEY="k",
        FIREHYDRANT_WEBHOOK_SECRET="s",
        DATABASE_URL=f"sqlite+aiosqlite:///{tmp_path / 'x.db'}",
    )
    assert done.returncode == 0, done.stderr
    assert "https://bot.example.com/webhooks/incidentio" in done.stdout
    assert "INCIDENTIO_WEBHOOK_SECRET NOT set" in done.stdout
    assert "FIREHYDRANT_WEBHOOK_SECRET set" in done.stdout
    assert "pagerduty" not in done.stdout.lower()  # not connected: nothing to register


async def test_webhooks_create_pagerduty_makes_a_v3_subscription_and_prints_its_secret_once() -> None:
    async with provider_fake("pagerduty") as fake:
        env = {"PAGERDUTY_API_TOKEN": "tok", "PAGERDUTY_API_URL": fake.url, "PAGERDUTY_SERVICE_ID": "PSERV01"}
        done = await asyncio.to_thread(
            webhooks_command, "--create", "pagerduty", "--url", "https://bot.example.com", **env
        )
        assert done.returncode == 0, done.stderr
        assert "PAGERDUTY_WEBHOOK_SECRET=pd-whsec-Z9y8X7" in done.stdout
        [made] = fake.webhooks  # checked against PagerDuty's spec by the fake
        assert made["delivery_method"]["url"] == "https://bot.example.com/webhooks/pagerduty"
        assert made["filter"] == {"type": "service_reference", "id": "PSERV01"}
        assert "incident.acknowledged" in made["events"]

        refused = await asyncio.to_thread(
            webhooks_command, "--create", "pagerduty", "--url", "http://x", **env
        )
        assert refused.returncode == 2 and "https://" in refused.stderr and len(fake.webhooks) == 1
