"""`python -m bot shell` with a whole incident piped in, as a person would script it."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

SCRIPT = """\
/incident declare Checkout is failing sev:1 summary:"5xx on /pay"
/incident ack
/incident sev 2
/incident lead @bea
/incident followup Add DB failover alert @sam due:2030-01-04
/incident update Rollback done, error rate falling
/incident schedule primary @ana @cy every 1w
/incident override primary @bob for 2h
/incident oncall primary
/incident stauts resolved
/incident resolve fixed by rollback
/incident
:channel general
/incident ack
"""


def run_shell(script: str, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "INCIDENT"))}
    env["DATABASE_URL"] = f"sqlite+aiosqlite:///{tmp_path / 'shell.db'}"
    return subprocess.run(
        [sys.executable, "-m", "bot", "shell"],
        input=script,
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
        cwd=tmp_path,
    )


def test_scripted_lifecycle_transcript(tmp_path: Path) -> None:
    done = run_shell(SCRIPT, tmp_path)
    assert done.returncode == 0, done.stderr
    out = done.stdout
    expected_in_order = [
        "Declared INC-1: Checkout is failing. Its channel: #inc-1-checkout-is-failing",
        "== INC-1: Checkout is failing ==",
        "(now in #inc-1-checkout-is-failing",
        "@you moved the incident to investigating · INC-1: Checkout is failing",
        "@you set the severity to SEV2",
        "@you made @bea lead",
        "@you added follow-up on INC-1: #1 Add DB failover alert → @sam (due Fri 04 Jan 2030)",  # years off
        "Update on INC-1 from @you",
        "Rollback done, error rate falling",
        "primary: @ana, @cy; hands over every 7d",
        "@you put @bob on call for primary from",
        "primary: @bob until",
        "I don't know `stauts`. Did you mean `status`?",
        "Usage: `/incident status <status> [note]`",
        "@you moved the incident to resolved",
        "fixed by rollback",
        "Status: resolved",
        "Lead: @bea",
        "#1 Add DB failover alert",
        "(now in #general)",
        "This channel isn't linked to an incident.",
    ]
    position = 0
    for line in expected_in_order:
        found = out.find(line, position)
        assert found >= 0, f"missing or out of order: {line!r}\n---\n{out}"
        position = found + len(line)
    assert "Traceback" not in out + done.stderr


def test_state_survives_between_shell_runs_and_eof_exits_zero(tmp_path: Path) -> None:
    assert run_shell("/incident declare First one\n", tmp_path).returncode == 0
    again = run_shell(":channel inc-1-first-one\n/incident info\n", tmp_path)
    assert again.returncode == 0 and "== INC-1: First one ==" in again.stdout
    assert run_shell("", tmp_path).returncode == 0


def test_ctrl_c_leaves_the_shell_quietly(tmp_path: Path) -> None:
    """SIGINT while it waits for the next line: exit 130, nothing on stderr, no traceback."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "INCIDENT"))}
    env["DATABASE_URL"] = f"sqlite:///{tmp_path / 'shell.db'}"
    shell = subprocess.Popen(
        [sys.executable, "-m", "bot", "shell"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
        text=True,
    )
    assert shell.stdin is not None and shell.stdout is not None
    shell.stdin.write("/incident help\n")
    shell.stdin.flush()
    assert shell.stdout.readline() == (  # which provider and database, said first
        f"incident bot shell · provider Built-in · store SQLite file {tmp_path / 'shell.db'}\n"
    )
    assert "Run an incident" in shell.stdout.readline()  # up, answered, waiting for more
    shell.send_signal(signal.SIGINT)
    _, err = shell.communicate(timeout=20)
    assert shell.returncode == 130 and err == ""
