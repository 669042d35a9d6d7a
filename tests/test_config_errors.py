"""Every configuration mistake an operator can make is one line on stderr naming the
variable, exit 2, and no traceback; the spellings hosts and people use are accepted."""

from __future__ import annotations

import asyncio
import socket
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from sqlalchemy import make_url, text
from sqlalchemy.ext.asyncio import create_async_engine

from tests.conftest import POSTGRES_URL
from tests.helpers import clean_env, free_port

SLACK = {"SLACK_BOT_TOKEN": "xoxb-x", "SLACK_SIGNING_SECRET": "s"}


def cli(cwd: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bot", *args],
        env=clean_env(**env),
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=60,
    )


MISTAKES = [
    (
        "manifest",
        {"PORT": "abc"},
        "configuration: PORT=abc: Input should be a valid integer, unable to parse string as an integer",
    ),
    (
        "check",
        {"INCIDENT_PROVIDER": "opsgenie"},
        "configuration: INCIDENT_PROVIDER=opsgenie: "
        "should be one of builtin, incident.io, pagerduty, firehydrant",
    ),
    (
        "serve",
        SLACK | {"DATABASE_URL": "mysql://root:hunter2@db/x"},
        "configuration: DATABASE_URL: mysql:// is not a database the bot can use: "
        "sqlite:/// or postgresql://",
    ),
    (
        "serve",
        SLACK | {"DATABASE_URL": "postgresql://postgres@127.0.0.1:1/test"},
        "configuration: DATABASE_URL: the PostgreSQL database test at 127.0.0.1:1 cannot be reached: "
        "nothing answers at that address (is the server up?)",
    ),
    (
        "serve",
        SLACK | {"DATABASE_URL": "postgres://postgres@127.0.0.1:5432/no_such_db"},
        "configuration: DATABASE_URL: the PostgreSQL database no_such_db at 127.0.0.1:5432 does not exist "
        "(create it, or fix the name in the URL)",
    ),
    (
        "serve",
        SLACK | {"DATABASE_URL": "sqlite:////no/such/folder/bot.db"},
        "configuration: DATABASE_URL: the SQLite file /no/such/folder/bot.db cannot be opened: "
        "does its folder exist, and may the bot write there?",
    ),
    (
        "serve",
        SLACK | {"INCIDENT_PROVIDER": "PagerDuty"},
        "configuration: INCIDENT_PROVIDER=pagerduty needs PAGERDUTY_API_TOKEN: "
        "set it, or choose another provider.",
    ),
    (
        "serve",
        {"SLACK_BOT_TOKEN": "xoxb-x"},
        "configuration: SLACK_SIGNING_SECRET is not set: Slack's requests could not be verified.",
    ),
    (
        "serve",
        SLACK | {"INCIDENT_UPDATE_REMINDERS": "SEV1=soon"},
        "configuration: INCIDENT_UPDATE_REMINDERS=SEV1=soon: 'SEV1=soon' is not severity=span, like SEV1=30m",
    ),
]


@pytest.mark.parametrize(("command", "env", "line"), MISTAKES, ids=[m[2][15:40] for m in MISTAKES])
def test_a_configuration_mistake_is_one_line_and_exit_2(
    command: str, env: dict[str, str], line: str, tmp_path: Path
) -> None:
    done = cli(tmp_path, command, **env)
    assert done.returncode == 2
    assert "Traceback" not in done.stderr + done.stdout
    assert "hunter2" not in done.stderr  # a URL's password is never repeated
    assert done.stderr.strip().splitlines() == [line]


def test_a_port_in_use_is_named_by_serve_and_by_check(tmp_path: Path) -> None:
    port = free_port()
    with socket.socket() as taken:
        taken.bind(("0.0.0.0", port))
        taken.listen()
        done = cli(tmp_path, "serve", **SLACK, PORT=str(port))
        checked = cli(tmp_path, "check", **SLACK, PORT=str(port))
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert done.stderr.strip().splitlines() == [
        f"configuration: PORT: {port} is already in use by another program."
    ]
    assert f"FAIL PORT: {port} is already in use by another program" in checked.stdout


async def test_the_spellings_hosts_and_people_use_are_accepted(tmp_path: Path) -> None:
    # A database of its own, empty: the shared one's schema is whatever the last run left.
    url = make_url(POSTGRES_URL)
    name = f"test_spelling_{uuid.uuid4().hex[:8]}"
    admin = create_async_engine(url, isolation_level="AUTOCOMMIT")
    try:
        async with admin.connect() as conn:
            await conn.execute(text(f'CREATE DATABASE "{name}"'))
        where = f"{url.host}:{url.port or 5432}"
        done = await asyncio.to_thread(
            cli,
            tmp_path,
            "check",
            INCIDENT_PROVIDER="incident.io",
            INCIDENTIO_API_KEY="k",
            INCIDENTIO_API_URL="http://127.0.0.1:1",
            DATABASE_URL=f"postgres://{url.username}@{where}/{name}",
        )
        async with admin.connect() as conn:
            await conn.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
    finally:
        await admin.dispose()
    assert "Traceback" not in done.stderr, done.stderr
    assert f"ok   store: the PostgreSQL database {name} at {where} is reachable" in done.stdout
    assert "provider incidentio" in done.stdout  # incident.io, spelt as the product spells it
