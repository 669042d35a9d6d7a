"""The real entry points: `python -m bot serve` as a process, Socket Mode, manifest, check."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from pathlib import Path
from urllib.parse import parse_qsl

import aiohttp
import yaml

from bot.commands import registry
from bot.slack.modals import Meta, form_view
from bot.slack.server import start_socket_mode
from tests.conftest import PROVIDER_TOKEN, SECRET, make_settings, provider_fake
from tests.helpers import clean_env, free_port, wait_until
from tests.slackfake import FakeSlack, sign, slash_body, view_submission


async def test_serve_process_acks_signed_commands_and_answers(fake_slack: FakeSlack, tmp_path: Path) -> None:
    port = free_port()
    env = clean_env(
        SLACK_BOT_TOKEN="xoxb-test",
        SLACK_SIGNING_SECRET=SECRET,
        SLACK_API_URL=fake_slack.api_url,
        PORT=str(port),
        DATABASE_URL=f"sqlite+aiosqlite:///{tmp_path / 'serve.db'}",
    )
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        "serve",
        env=env,
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        async with aiohttp.ClientSession() as session:

            async def healthy() -> bool:
                try:
                    async with session.get(f"http://127.0.0.1:{port}/healthz") as health:
                        assert health.status == 200 and (await health.json()) == {"ok": True}
                        return True
                except aiohttp.ClientConnectionError:
                    return False

            await wait_until(healthy, what="serve answering /healthz")
            body = slash_body("declare Serve works", response_url=fake_slack.response_url())
            async with session.post(
                f"http://127.0.0.1:{port}/slack/events", data=body, headers=sign(SECRET, body)
            ) as ack:
                assert ack.status == 200
            forged = sign("not-the-secret", body)
            async with session.post(
                f"http://127.0.0.1:{port}/slack/events", data=body, headers=forged
            ) as refused:
                assert refused.status == 401
        answers = await fake_slack.wait_for(2)
        assert {a.method for a in answers} == {"response_url", "chat.postMessage"}
        assert fake_slack.of("conversations.create")[0].params["name"] == "inc-1-serve-works"
    finally:
        process.terminate()
        output = (await process.communicate())[0].decode()
    # The access log at INFO: the refusal, not the health checks and the command that went well.
    access = [line for line in output.splitlines() if "aiohttp.access" in line]
    assert len(access) == 1 and '"POST /slack/events" 401' in access[0], output


async def test_socket_mode_acks_the_envelope_and_answers(fake_slack: FakeSlack, sqlite_url: str) -> None:
    settings = make_settings(fake_slack, sqlite_url, slack_app_token="xapp-test", port=free_port())
    handler, runner = await start_socket_mode(settings, host="127.0.0.1")
    try:
        await wait_until(lambda: bool(fake_slack.sockets), what="the socket connected")
        payload = dict(parse_qsl(slash_body("help", response_url=fake_slack.response_url())))
        envelope_id = await fake_slack.send_envelope("slash_commands", payload)
        [ack] = await fake_slack.wait_for(1, "socket_ack")
        assert ack.params["envelope_id"] == envelope_id
        [answer] = await fake_slack.wait_for(1)
        assert answer.method == "response_url" and "/incident declare" in str(answer.params["blocks"])
        assert fake_slack.of("apps.connections.open")[0].headers["Authorization"] == "Bearer xapp-test"

        # Interactions arrive over the same socket: a modal's submission is answered in the
        # envelope's ack (here: the errors for its empty required field).
        view = form_view(registry.lookup("update"), Meta("update", "C111"), {})  # type: ignore[arg-type]
        submitted = view_submission(view, "V1", {}, user="U111")
        envelope_id = await fake_slack.send_envelope("interactive", submitted)
        [_, ack] = await fake_slack.wait_for(2, "socket_ack")
        assert ack.params["envelope_id"] == envelope_id
        assert ack.params["payload"] == {"response_action": "errors", "errors": {"text": "Needed."}}
    finally:
        await handler.close_async()  # type: ignore[attr-defined]
        await runner.cleanup()


def test_manifest_command_fills_in_the_url() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "bot", "manifest", "--url", "https://bot.example.org/"],
        capture_output=True,
        text=True,
        check=True,
        env=clean_env(),
    ).stdout
    manifest = yaml.safe_load(out)
    assert manifest["features"]["slash_commands"][0]["url"] == "https://bot.example.org/slack/events"
    assert manifest["settings"]["interactivity"]["request_url"] == "https://bot.example.org/slack/events"


async def test_check_reports_each_dependency(fake_slack: FakeSlack, tmp_path: Path) -> None:
    env = clean_env(
        SLACK_BOT_TOKEN="xoxb-test",
        SLACK_SIGNING_SECRET=SECRET,
        SLACK_API_URL=fake_slack.api_url,
        DATABASE_URL=f"sqlite+aiosqlite:///{tmp_path / 'check.db'}",
        PORT=str(free_port()),  # `check` fails on a port in use: not this machine's 3000
    )
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", "check", env=env, stdout=subprocess.PIPE, cwd=tmp_path
    )
    out = (await process.communicate())[0].decode()
    assert process.returncode == 0, out
    assert "ok   store" in out and "ok   provider builtin" in out and "team Test" in out
    fake_slack.errors["auth.test"] = "invalid_auth"
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", "check", env=env, stdout=subprocess.PIPE, cwd=tmp_path
    )
    out = (await process.communicate())[0].decode()
    assert process.returncode == 1 and "FAIL slack: auth.test answered invalid_auth" in out
    assert "xoxb-test" not in out


async def test_check_reaches_each_configured_provider_and_says_what_is_wrong(
    fake_slack: FakeSlack, tmp_path: Path
) -> None:
    async with (
        provider_fake("incidentio") as io,
        provider_fake("pagerduty") as pd,
        provider_fake("firehydrant") as fh,
    ):
        env = clean_env(
            SLACK_BOT_TOKEN="xoxb-test",
            SLACK_SIGNING_SECRET=SECRET,
            SLACK_API_URL=fake_slack.api_url,
            DATABASE_URL=f"sqlite+aiosqlite:///{tmp_path / 'check.db'}",
            INCIDENTIO_API_KEY=PROVIDER_TOKEN,
            INCIDENTIO_API_URL=io.url,
            PAGERDUTY_API_TOKEN=PROVIDER_TOKEN,
            PAGERDUTY_API_URL=pd.url,
            PAGERDUTY_FROM_EMAIL="bot@example.com",
            FIREHYDRANT_API_KEY=PROVIDER_TOKEN,
            FIREHYDRANT_API_URL=fh.url,
            PORT=str(free_port()),
        )

        async def check() -> tuple[int, str]:
            process = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "bot", "check", env=env, stdout=subprocess.PIPE, cwd=tmp_path
            )
            out = (await process.communicate())[0].decode()
            return process.returncode or 0, out

        code, out = await check()
        assert "ok   provider incidentio (incident.io): key bot key works" in out
        assert (
            "ok   provider pagerduty (PagerDuty): token works" in out
            and "PAGERDUTY_SERVICE_ID is not set" in out
        )
        assert "ok   provider firehydrant (FireHydrant): token works" in out
        assert code == 0, out
        pd.refuse_token = True
        env["FIREHYDRANT_API_URL"] = "http://127.0.0.1:9"  # nothing listens there
        code, out = await check()
        assert code == 1
        assert "FAIL provider pagerduty (PagerDuty): PagerDuty refused our API key (HTTP 401)" in out
        assert "FAIL provider firehydrant (FireHydrant): FireHydrant could not be reached." in out
        assert PROVIDER_TOKEN not in out
