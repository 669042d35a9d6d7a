"""`python -m bot shell`: the command layer with no Slack and no accounts.

Reads one command a line (`/incident declare Checkout failing sev:1`), from a terminal or
a pipe, and prints each result as text rendered from the same documents as Slack's
blocks. `:channel NAME`, `:user NAME` and `:tz ZONE` switch the context; EOF ends it.
"""

from __future__ import annotations

import asyncio
import re
import signal
import sys
from typing import TextIO

from bot.commands.invocation import Invocation
from bot.commands.ports import WorkspaceError
from bot.commands.retro import Document, Published, RetroDraft
from bot.config import Settings, store_name
from bot.domain import ChatMessage, Person
from bot.present import shown
from bot.present.retro import retro_markdown
from bot.runtime import build_runtime
from bot.textrender import render_text

HELP = """Type a command as in Slack, e.g. /incident declare Checkout failing sev:1
  :channel NAME  switch channel      :user NAME  act as someone else
  :tz ZONE       your timezone       :quit       leave (or end of input)"""


class ShellWorkspace:
    """Channels and people exist as soon as they are named: there is nobody to look up."""

    def __init__(self) -> None:
        self.channels: dict[str, set[str]] = {"general": set()}
        self.created: list[str] = []
        self.documents: dict[str, str] = {}  # the retro drafts written, by id: their Markdown

    async def find_user(self, name: str) -> Person | None:
        name = name.strip().lstrip("@")
        return Person(slack_id=name, name=name) if name else None

    async def join(self, channel_id: str) -> bool:
        self.channels.setdefault(channel_id, set())
        return True

    async def create_channel(self, name: str, private: bool = False) -> tuple[str, str]:
        if not re.fullmatch(r"[a-z0-9_\-]{1,80}", name):
            raise WorkspaceError(f"#{name} is not a valid channel name")
        candidate, n = name, 1
        while candidate in self.channels:
            n += 1
            candidate = f"{name[: 80 - len(str(n)) - 1]}-{n}"
        self.channels[candidate] = set()
        self.created.append(candidate)
        return candidate, candidate

    async def invite(self, channel_id: str, user_ids: list[str]) -> None:
        self.channels.setdefault(channel_id, set()).update(user_ids)

    async def channel_members(self, channel_id: str) -> frozenset[str]:
        return frozenset(self.channels.get(channel_id, set()))

    async def group_members(self, group_id: str) -> frozenset[str]:
        return frozenset()

    async def find_group(self, handle: str) -> str | None:
        return None  # no groups here: a handle is taken for a person (find_user)

    async def group_handles(self) -> list[str]:
        return []

    async def user_timezone(self, user_id: str) -> str | None:
        return None  # `:tz ZONE` sets it on each invocation

    async def message(self, channel_id: str, ts: str) -> ChatMessage | None:
        return None  # the shell keeps no messages: there is nothing to pin

    async def publish_retro(self, channel_id: str, draft: RetroDraft, earlier: Document | None) -> Published:
        """Kept in memory as the Markdown a file would hold: the shell has no canvases."""
        replaced = earlier is not None and earlier.id in self.documents
        made = earlier if earlier is not None and replaced else None
        document = made or Document(kind="file", id=f"retro-{len(self.documents) + 1}", channel_id=channel_id)
        self.documents[document.id] = retro_markdown(draft, canvas=False)
        return Published(document=document, replaced=replaced)


async def run_shell(settings: Settings, stdin: TextIO, stdout: TextIO) -> int:
    workspace = ShellWorkspace()
    runtime = await build_runtime(settings, workspace)
    user, channel, tz = "you", "general", "UTC"
    interactive = stdin.isatty()
    command = settings.incident_command

    def say(text: str) -> None:
        stdout.write(text + "\n")
        stdout.flush()

    # Said first, piped or not: which provider a command acts on and where its incidents
    # are kept, so nobody scripts against a real account or serve's database unknowingly.
    provider = runtime.service.providers[settings.incident_provider]
    say(f"incident bot shell · provider {provider.label} · store {store_name(settings.database_url)}")
    if interactive:
        say(HELP)
    # Ctrl-C leaves with 130 wherever it lands: while a line is read, while a command runs,
    # or after the input ended and the runtime is closing (then it only sets the code, so the
    # close finishes). asyncio.run's own handler made a Ctrl-C during the close a plain exit.
    interrupted, looping = False, True
    main_task = asyncio.current_task()

    def interrupt() -> None:
        nonlocal interrupted
        interrupted = True
        if looping and main_task is not None:
            main_task.cancel()

    loop = asyncio.get_running_loop()
    try:
        loop.add_signal_handler(signal.SIGINT, interrupt)
    except (NotImplementedError, RuntimeError):  # no signal handlers on this loop (Windows)
        pass
    try:
        while True:
            if interactive:
                stdout.write(f"#{channel} @{user}> ")
                stdout.flush()
            line = await asyncio.to_thread(stdin.readline)
            if not line:
                break
            line = line.strip()
            if not line or line.startswith("# "):
                continue
            if line.startswith(":"):
                word, _, value = line[1:].partition(" ")
                value = value.strip().lstrip("#@")
                if word in ("quit", "exit", "q"):
                    break
                if word == "channel" and value:
                    channel = value
                    say(f"(now in #{channel})")
                elif word == "user" and value:
                    user = value
                    say(f"(now acting as @{user})")
                elif word == "tz" and value:
                    tz = value
                    say(f"(timezone {tz})")
                else:
                    say(HELP)
                continue
            if not line.startswith(command):
                line = f"{command} {line}" if not line.startswith("/") else line
            if not line.startswith(command):
                say(f"Only {command} is served here. {HELP}")
                continue
            text = line[len(command) :].strip()
            invocation = Invocation(
                text=text,
                user_id=user,
                user_name=user,
                channel_id=channel,
                channel_name=channel,
                tz=tz,
            )
            reply = await runtime.service.run(invocation)
            say(render_text(shown(reply.result, runtime.service.command)))
            for post in reply.posts:
                say(f"[#{post.channel_id}]")
                say(render_text(shown(post.result, runtime.service.command)))
            if workspace.created:
                channel = workspace.created.pop()
                say(f"(now in #{channel}; `:channel general` to go back)")
    except asyncio.CancelledError:
        if not interrupted:
            raise
    finally:
        looping = False
        await runtime.close()
    return 130 if interrupted else 0


def main(settings: Settings) -> int:
    return asyncio.run(run_shell(settings, sys.stdin, sys.stdout))
