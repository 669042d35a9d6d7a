"""What the deployer is told: configuration that cannot work stops `serve` and `check`
alike with one line naming the variable (exit 2, no traceback); a setting written loosely
(a name for an id, a URL without https://) is refused the same way; what works only in
part is said at start, and the on-call engineer who meets it is sent to whoever runs the
bot; the shell says which provider and database it uses and keeps to its own."""

from __future__ import annotations

import asyncio
import shutil
import subprocess
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import aiohttp
import pytest

from bot.slack.scopes import bot_scopes, missing_scopes
from tests.conftest import PROVIDER_TOKEN, SECRET, provider_fake
from tests.helpers import clean_env, free_port, text_of, wait_until
from tests.slackfake import FakeSlack, sign, slash_body

ROOT = Path(__file__).resolve().parents[1]
NOWHERE = "http://127.0.0.1:9/"  # nothing listens: `check` never reaches the real Slack


def cli(cwd: Path, *args: str, stdin: str = "", **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bot", *args],
        env=clean_env(**env),
        cwd=cwd,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=60,
    )


def one_line(done: subprocess.CompletedProcess[str]) -> str:
    """The configuration line: exit 2, nothing else on stderr, no traceback anywhere."""
    assert "Traceback" not in done.stdout + done.stderr, done.stderr
    assert done.returncode == 2, (done.returncode, done.stdout, done.stderr)
    [line] = done.stderr.strip().splitlines()
    return line


@asynccontextmanager
async def serving(env: dict[str, str], cwd: Path, port: int) -> AsyncIterator[list[str]]:
    """`python -m bot serve` as a process, answering /healthz; yields its output's lines,
    filled in as it writes them (complete once it has stopped)."""
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        "serve",
        env=env,
        cwd=cwd,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    lines: list[str] = []

    async def read() -> None:
        assert process.stdout is not None
        async for raw in process.stdout:
            lines.append(raw.decode().rstrip("\n"))

    reader = asyncio.create_task(read())
    try:
        async with aiohttp.ClientSession() as session:

            async def healthy() -> bool:
                assert process.returncode is None, "serve stopped"
                try:
                    async with session.get(f"http://127.0.0.1:{port}/healthz") as health:
                        return health.status == 200
                except aiohttp.ClientConnectionError:
                    return False

            await wait_until(healthy, what="serve answering /healthz")
        yield lines
    finally:
        if process.returncode is None:
            process.terminate()
        await process.wait()
        await reader


async def post_command(port: int, body: str) -> tuple[int, str]:
    async with aiohttp.ClientSession() as session:
        async with session.post(
            f"http://127.0.0.1:{port}/slack/events", data=body, headers=sign(SECRET, body)
        ) as response:
            return response.status, await response.text()


# 17: configuration that cannot work --------------------------------------------------------
NO_SECRET = "configuration: SLACK_SIGNING_SECRET is not set: Slack's requests could not be verified."


@pytest.mark.parametrize("command", ["serve", "check"])
def test_env_example_as_copied_stops_serve_and_check_on_the_empty_signing_secret(
    command: str, tmp_path: Path
) -> None:
    """`cp .env.example .env` and start: its `SLACK_SIGNING_SECRET=` is empty, as if unset
    (before, `serve` said ready and answered every Slack request 404)."""
    shutil.copy(ROOT / ".env.example", tmp_path / ".env")
    done = cli(tmp_path, command, SLACK_API_URL=NOWHERE, DATABASE_URL=f"sqlite:///{tmp_path / 'bot.db'}")
    assert one_line(done) == NO_SECRET
    if command == "check":  # the report is still there, with the line that failed
        assert (
            "FAIL slack: set SLACK_SIGNING_SECRET (HTTP mode) or SLACK_APP_TOKEN (Socket Mode)" in done.stdout
        )
        assert "ok   slack:" not in done.stdout
    else:
        assert "ready" not in done.stdout + done.stderr
    # The signing secret filled in, the token left as .env.example has it: the next line.
    env_file = tmp_path / ".env"
    env_file.write_text(env_file.read_text().replace("SLACK_SIGNING_SECRET=\n", "SLACK_SIGNING_SECRET=s\n"))
    done = cli(tmp_path, command, SLACK_API_URL=NOWHERE, DATABASE_URL=f"sqlite:///{tmp_path / 'bot.db'}")
    assert one_line(done) == (
        "configuration: SLACK_BOT_TOKEN is still .env.example's placeholder: put the app's Bot User "
        "OAuth Token (OAuth & Permissions), xoxb-…"
    )


@pytest.mark.parametrize(
    ("env", "line"),
    [
        (
            {"SLACK_BOT_TOKEN": "xoxp-123-456"},
            "SLACK_BOT_TOKEN needs the bot token, xoxb-… (OAuth & Permissions → Bot User OAuth Token).",
        ),
        (
            {"SLACK_BOT_TOKEN": "xoxb-1", "SLACK_APP_TOKEN": "xoxb-1"},
            "SLACK_APP_TOKEN needs an app-level token, xapp-… (Basic Information → App-Level Tokens, "
            "with connections:write); for HTTP mode, leave it unset.",
        ),
    ],
)
@pytest.mark.parametrize("command", ["serve", "check"])
def test_a_token_of_the_wrong_kind_is_one_line_never_repeated(
    command: str, env: dict[str, str], line: str, tmp_path: Path
) -> None:
    done = cli(tmp_path, command, SLACK_SIGNING_SECRET="s", SLACK_API_URL=NOWHERE, **env)
    assert one_line(done) == f"configuration: {line}"
    assert "xoxp-123-456" not in done.stdout + done.stderr


def test_empty_values_in_the_environment_count_as_unset(tmp_path: Path) -> None:
    done = cli(tmp_path, "serve", SLACK_BOT_TOKEN="xoxb-x", SLACK_SIGNING_SECRET="", SLACK_APP_TOKEN="")
    assert one_line(done) == NO_SECRET  # SLACK_APP_TOKEN= turned nothing on
    done = cli(tmp_path, "serve", SLACK_BOT_TOKEN="", SLACK_SIGNING_SECRET="s")
    assert one_line(done) == "configuration: SLACK_BOT_TOKEN is not set."


async def test_an_empty_app_token_line_leaves_serve_in_http_mode_taking_signed_requests(
    fake_slack: FakeSlack, tmp_path: Path
) -> None:
    """A `.env` with the signing secret filled in and an empty `SLACK_APP_TOKEN=` line:
    HTTP mode (not Socket Mode, whose /slack/events is a 404), and a command is answered."""
    (tmp_path / ".env").write_text(
        f"SLACK_BOT_TOKEN=xoxb-test\nSLACK_SIGNING_SECRET={SECRET}\nSLACK_APP_TOKEN=\n"
    )
    port = free_port()
    env = clean_env(
        SLACK_API_URL=fake_slack.api_url, PORT=str(port), DATABASE_URL=f"sqlite:///{tmp_path / 'b.db'}"
    )
    async with serving(env, tmp_path, port) as output:
        status, _ = await post_command(port, slash_body("help", response_url=fake_slack.response_url()))
        assert status == 200
        [answer] = await fake_slack.wait_for(1)
        assert "/incident declare" in text_of(answer.params)
    assert any("ready: HTTP listening" in line for line in output), output
    assert not fake_slack.of("apps.connections.open")
    # In a thread: the fake Slack answers on this test's event loop.
    checked = await asyncio.to_thread(
        cli,
        tmp_path,
        "check",
        SLACK_API_URL=fake_slack.api_url,
        DATABASE_URL=env["DATABASE_URL"],
        PORT=str(port),
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert f"ok   slack: HTTP on port {port}" in checked.stdout


# 18: loose settings -----------------------------------------------------------------------
SLACK = {"SLACK_BOT_TOKEN": "xoxb-x", "SLACK_SIGNING_SECRET": "s", "SLACK_API_URL": NOWHERE}
LOOSE = [
    (
        {"INCIDENT_ADMINS": "bea,@sam"},
        "configuration: INCIDENT_ADMINS=bea,@sam: needs Slack user ids, like U0123ABCD, "
        "not names (bea, @sam): a person's profile → ⋮ → Copy member ID",
    ),
    (
        {"INCIDENT_ADMINS": "U0123ABCD, sam"},
        "configuration: INCIDENT_ADMINS=U0123ABCD, sam: needs Slack user ids, like U0123ABCD, "
        "not names (sam): a person's profile → ⋮ → Copy member ID",
    ),
    (
        {"INCIDENT_ADMIN_GROUP": "@sre-leads"},
        "configuration: INCIDENT_ADMIN_GROUP=@sre-leads: needs a Slack user group id, like S0123ABCD, "
        "not a name: the group's page → ⋮ → Copy group ID",
    ),
    (
        {"INCIDENT_ANNOUNCE_CHANNEL": "#incidents"},
        "configuration: INCIDENT_ANNOUNCE_CHANNEL=#incidents: needs a Slack channel id, like C0123ABCD, "
        "not a name: the channel's details → About, at the bottom",
    ),
    (
        {"PAGERDUTY_SERVICE_ID": "Checkout API"},
        "configuration: PAGERDUTY_SERVICE_ID=Checkout API: needs a PagerDuty service id, like PABC123 "
        "(the end of the service's URL), not its name",
    ),
    (
        {"INCIDENTIO_API_URL": "api.incident.io"},
        "configuration: INCIDENTIO_API_URL=api.incident.io: needs a URL with its scheme, "
        "like https://api.incident.io",
    ),
    (
        {"INCIDENT_CHANNEL_PREFIX": "#Incident"},
        "configuration: INCIDENT_CHANNEL_PREFIX=#Incident: Slack channel names are lower-case letters, "
        "digits, - and _ (like inc)",
    ),
    (
        {"PAGERDUTY_FROM_EMAIL": "oncall-bot"},
        "configuration: PAGERDUTY_FROM_EMAIL=oncall-bot: needs an email address: "
        "that of the PagerDuty user the bot makes changes as",
    ),
]


@pytest.mark.parametrize("command", ["serve", "check"])
@pytest.mark.parametrize(
    ("env", "line"), LOOSE, ids=[next(iter(e)) + str(n) for n, (e, _) in enumerate(LOOSE)]
)
def test_a_name_where_an_id_belongs_is_one_line_naming_the_variable(
    command: str, env: dict[str, str], line: str, tmp_path: Path
) -> None:
    assert one_line(cli(tmp_path, command, **SLACK, **env)) == line


def test_ids_as_slack_gives_them_are_taken(tmp_path: Path) -> None:
    done = cli(
        tmp_path,
        "check",
        **SLACK,
        INCIDENT_ADMINS="U0123ABCD, W0456EFGH",
        INCIDENT_ADMIN_GROUP="S0ADMINS",
        INCIDENT_ANNOUNCE_CHANNEL="C0INCIDENTS",
        DATABASE_URL=f"sqlite:///{tmp_path / 'c.db'}",
    )
    assert done.returncode == 1 and "Traceback" not in done.stderr  # only Slack is unreachable
    assert "admins: U0123ABCD, W0456EFGH; admin group: S0ADMINS" in done.stdout


@pytest.mark.parametrize("command", ["manifest", "webhooks"])
@pytest.mark.parametrize(
    ("url", "said"),
    [("bot.acme.dev", "https://bot.acme.dev"), ("http://bot.acme.dev/", "https://bot.acme.dev/")],
)
def test_a_url_without_https_is_refused_with_the_one_to_give(
    command: str, url: str, said: str, tmp_path: Path
) -> None:
    done = cli(tmp_path, command, "--url", url)
    assert one_line(done) == (
        f"configuration: --url {url}: Slack sends requests only to https:// URLs: say --url {said}"
    )
    assert done.stdout == ""  # no manifest whose every URL Slack would reject


def test_a_url_with_the_bots_own_path_is_refused_with_the_base_to_give(tmp_path: Path) -> None:
    done = cli(tmp_path, "manifest", "--url", "https://bot.acme.dev/slack/events")
    assert one_line(done) == (
        "configuration: --url https://bot.acme.dev/slack/events: give the bot's base URL, "
        "without /slack/events: say --url https://bot.acme.dev"
    )
    done = cli(tmp_path, "manifest", "--url", "https://bot.acme.dev/incident-bot/")
    assert done.returncode == 0  # a path of its own (behind a proxy) is the base
    assert "url: https://bot.acme.dev/incident-bot/slack/events" in done.stdout


def test_a_socket_mode_manifest_needs_no_url(tmp_path: Path) -> None:
    done = cli(tmp_path, "manifest", "--socket", "--url", "bot.acme.dev")
    assert done.returncode == 0 and "socket_mode_enabled: true" in done.stdout


async def test_pagerduty_without_from_email_is_said_at_start_and_the_engineer_is_sent_to_the_operator(
    fake_slack: FakeSlack, tmp_path: Path
) -> None:
    async with provider_fake("pagerduty") as pd:
        incident = pd.add_incident("Checkout down")  # type: ignore[attr-defined]
        port = free_port()
        env = clean_env(
            SLACK_BOT_TOKEN="xoxb-test",
            SLACK_SIGNING_SECRET=SECRET,
            SLACK_API_URL=fake_slack.api_url,
            PORT=str(port),
            DATABASE_URL=f"sqlite:///{tmp_path / 'pd.db'}",
            INCIDENT_PROVIDER="pagerduty",
            PAGERDUTY_API_TOKEN=PROVIDER_TOKEN,
            PAGERDUTY_API_URL=pd.url,
            INCIDENT_CACHE_SECONDS="0",  # every command reads PagerDuty: the revoked key is met
        )
        async with serving(env, tmp_path, port) as output:
            link = slash_body(
                f"link pd:{incident['incident_number']}",
                channel="C0PD",
                response_url=fake_slack.response_url(),
            )
            assert (await post_command(port, link))[0] == 200
            await wait_until(lambda: "Checkout down" in str(fake_slack.answers()), what="the link answered")
            pd.requests.clear()
            before = len(fake_slack.answers())
            ack = slash_body("ack", channel="C0PD", response_url=fake_slack.response_url("ack"))
            assert (await post_command(port, ack))[0] == 200
            answers = await fake_slack.wait_for(before + 1)
            said = text_of(answers[-1].params)
            assert pd.writes() == []  # nothing was sent to PagerDuty without a From
            assert incident["status"] == "triggered"

            # The same class: the bot's key refused is nothing a minute mends, either.
            pd.refuse_token = True
            info = slash_body("info", channel="C0PD", response_url=fake_slack.response_url("info"))
            assert (await post_command(port, info))[0] == 200
            refused = text_of((await fake_slack.wait_for(before + 2))[-1].params)

            # No PAGERDUTY_SERVICE_ID: declare is off, and the engineer is sent on, not told
            # to set a variable they cannot reach.
            pd.refuse_token = False
            declare = slash_body("declare Payments down", response_url=fake_slack.response_url("declare"))
            assert (await post_command(port, declare))[0] == 200
            declined = text_of((await fake_slack.wait_for(before + 3))[-1].params)
            assert pd.writes() == [] and len(pd.incidents) == 1  # type: ignore[attr-defined]
        assert answers[-1].params["text"].count("PAGERDUTY_FROM_EMAIL") == 1, said  # named once
        assert "Ask whoever runs the bot to set it." in said
        assert "in a minute" not in said
        assert "PagerDuty refused our API key (HTTP 401)" in refused
        assert "Ask whoever runs the bot to check its PagerDuty API key" in refused, refused
        assert "in a minute" not in refused
        assert "ask whoever runs the bot to set PAGERDUTY_SERVICE_ID, or declare it in PagerDuty" in declined
        warned = [line for line in output if "configuration: PAGERDUTY_FROM_EMAIL is not set" in line]
        ready = [n for n, line in enumerate(output) if "ready: HTTP" in line]
        assert warned and ready and output.index(warned[0]) < ready[0], output
        assert "Traceback" not in "\n".join(output)


# 19: the shell ----------------------------------------------------------------------------
def test_the_shell_reads_no_env_file_and_says_which_provider_and_database_it_uses(tmp_path: Path) -> None:
    """A `.env` in the folder is serve's (here: PagerDuty and serve's database): the shell,
    which promises no accounts, keeps to the built-in provider and a file of its own."""
    (tmp_path / ".env").write_text(
        "INCIDENT_PROVIDER=pagerduty\nPAGERDUTY_API_TOKEN=tok\nDATABASE_URL=sqlite:///serve.db\n"
    )
    done = cli(tmp_path, "shell", stdin="/incident declare Shell works\n")
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0] == "incident bot shell · provider Built-in · store SQLite file incident-shell.db"
    assert "Declared INC-1: Shell works" in done.stdout
    assert (tmp_path / "incident-shell.db").exists() and not (tmp_path / "serve.db").exists()
    assert done.stderr == ""


def test_the_shell_reads_a_settings_file_when_asked(tmp_path: Path) -> None:
    (tmp_path / "try.env").write_text("DATABASE_URL=sqlite:///tried.db\nINCIDENT_ROLES=lead,comms\n")
    done = cli(tmp_path, "shell", "--env-file", "try.env")
    assert done.returncode == 0, done.stderr
    assert (
        done.stdout.splitlines()[0] == "incident bot shell · provider Built-in · store SQLite file tried.db"
    )
    assert (tmp_path / "tried.db").exists()
    assert one_line(cli(tmp_path, "shell", "--env-file", "nope.env")) == (
        "configuration: --env-file nope.env: there is no such file"
    )


def test_quick_start_shell_with_stdin_at_end_of_file_exits_zero(tmp_path: Path) -> None:
    """The README's Quick start as CI runs it: `python -m bot shell` in a fresh folder,
    stdin at end-of-file, no settings at all."""
    done = cli(tmp_path, "shell")
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == [
        "incident bot shell · provider Built-in · store SQLite file incident-shell.db"
    ]


# an install older than the scopes this version asks for ------------------------------------
async def test_an_install_missing_new_scopes_is_told_by_check_and_at_start(
    fake_slack: FakeSlack, tmp_path: Path
) -> None:
    """An app installed from an older manifest, before canvases and bookmarks: `check` fails
    with one line naming each missing scope, what uses it and the fix; `serve` starts and
    says the same once, as a WARNING."""
    fake_slack.granted = [s for s in bot_scopes() if s not in ("canvases:write", "bookmarks:write")]
    port = free_port()
    env = clean_env(
        SLACK_BOT_TOKEN="xoxb-test",
        SLACK_SIGNING_SECRET=SECRET,
        SLACK_API_URL=fake_slack.api_url,
        PORT=str(port),
        DATABASE_URL=f"sqlite:///{tmp_path / 'old.db'}",
        AUTO_MIGRATE="1",
    )
    check = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        "check",
        env=env,
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    out, err = (part.decode() for part in await check.communicate())
    assert check.returncode == 1, (out, err)
    [said] = [line for line in out.splitlines() if "lacks" in line]
    assert said.startswith("FAIL slack: the app's token lacks 2 scopes this bot asks for: ")
    assert "bookmarks:write (bookmarks.add, bookmarks.edit)" in said
    assert "canvases:write (canvases.create, canvases.edit, canvases.access.set)" in said
    assert "Update the app from `manifest.yml` (or `python -m bot manifest`) and reinstall it" in said
    assert "Traceback" not in out + err

    async with serving(env, tmp_path, port) as output:
        await wait_until(lambda: any("lacks" in line for line in output), what="serve's warning")
    warned = [line for line in output if "the app's token lacks 2 scopes" in line]
    assert len(warned) == 1 and "WARNING" in warned[0], output
    assert "Traceback" not in "\n".join(output)


def test_scopes_granted_are_read_from_slacks_header() -> None:
    everything = ",".join(bot_scopes())
    assert missing_scopes(everything) == []
    assert missing_scopes(" " + everything.replace(",", ", ")) == []  # as some proxies space it
    assert missing_scopes(everything.replace("files:write,", "")) == ["files:write"]
    assert missing_scopes(None) == []  # no header: nothing can be said, nothing is
