"""A small recording Slack Web API on 127.0.0.1, and signing as Slack signs.

Modelled on bolt-python's own tests/mock_web_api_server: each call is recorded with its
method and parameters, answered with the shape Slack answers with, and tests then check
what the bot asked Slack to do.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import itertools
import json
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, urlencode

from aiohttp import WSMsgType, web

from bot.slack.scopes import bot_scopes
from tests.blockkit import message_problems, view_problems


@dataclass
class Call:
    method: str
    params: dict[str, Any]
    headers: dict[str, str]
    error: str | None = None  # what the fake answered, if it refused
    response: dict[str, Any] = field(default_factory=dict)  # what the fake answered
    url: str = ""  # a response_url answer: which one (tests tag each command's)
    replaced: bool = False  # a response_url answer replaced by a later one (replace_original)
    peer: str = ""  # the caller's address and port: which connection the call came on


# What Slack does wrong, as an injected fault: 429 with Retry-After, a 5xx, Slack's own
# `{"ok": false, "error": ...}` for its faults, a connection dropped before the call is
# carried out ("drop") or after it was, before the answer left ("drop_after").
FAULTS = ("429", "500", "internal_error", "fatal_error", "drop", "drop_after")


@dataclass
class SlackFault:
    """The next `times` calls of `method` ("response_url" for response_url answers) whose
    parameters `when` accepts fail as `kind`."""

    method: str
    kind: str
    times: int = 1
    retry_after: str = "1"
    when: Callable[[dict[str, Any]], bool] | None = None


@dataclass
class Flaky:
    """Calls of `methods` fail at `rate`, each fault one of `kinds` (or of the method's own
    in `kinds_of`). Whether a call fails is decided by what it asks and how often it
    failed before, not by arrival order, so the faults do not depend on how the bot's
    calls interleave; and one call (the same parameters) fails at most `most` times, so a
    bot that tries often enough always gets through."""

    methods: frozenset[str]
    rate: float
    kinds: tuple[str, ...] = FAULTS
    seed: int = 0
    most: int = 2
    kinds_of: dict[str, tuple[str, ...]] = field(default_factory=dict)
    failed: dict[str, int] = field(default_factory=dict)
    dealt: list[str] = field(default_factory=list)  # every fault given, in order

    def fault(self, method: str, url: str, params: dict[str, Any]) -> str | None:
        if method not in self.methods:
            return None
        asked = {k: v for k, v in params.items() if k != "replace_original"}
        what = f"{method} {url} {json.dumps(asked, sort_keys=True, default=str)}"
        failed = self.failed.get(what, 0)
        draw = random.Random(f"{self.seed}:{what}:{failed}")
        if failed >= self.most or draw.random() >= self.rate:
            return None
        self.failed[what] = failed + 1
        kind = draw.choice(self.kinds_of.get(method, self.kinds))
        self.dealt.append(kind)
        return kind


def peer_of(request: web.Request) -> str:
    peer = request.transport.get_extra_info("peername") if request.transport else None
    return f"{peer[0]}:{peer[1]}" if peer else ""


@dataclass
class FakeSlack:
    calls: list[Call] = field(default_factory=list)
    timezones: dict[str, str] = field(default_factory=dict)
    taken_names: set[str] = field(default_factory=set)
    private_channels: set[str] = field(default_factory=set)  # joined only by invitation
    # Channels the bot is not in: posting, pinning and redrawing there fail as in Slack
    # (not_in_channel) until it joins or is invited.
    outside: set[str] = field(default_factory=set)
    # method → error name: makes that method answer {"ok": false, "error": ...}
    errors: dict[str, str] = field(default_factory=dict)
    url: str = ""
    sockets: list[web.WebSocketResponse] = field(default_factory=list)
    views: dict[str, dict[str, Any]] = field(default_factory=dict)  # view id → latest view
    members: dict[str, set[str]] = field(default_factory=dict)  # channel → who was invited or joined
    groups: dict[str, list[str]] = field(default_factory=dict)  # user group id → its users
    handles: dict[str, str] = field(default_factory=dict)  # user group id → its handle
    invalid: list[str] = field(default_factory=list)  # Block Kit over Slack's limits
    # People's messages by channel, as conversations.history and conversations.replies
    # answer them (a reply carries its thread's `thread_ts`), each a message object as Slack
    # sends it: ts, user, text, files, reactions.
    messages: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    faults: list[SlackFault] = field(default_factory=list)  # `fail`: chosen calls fail
    flaky: Flaky | None = None  # `flake`: a share of calls fail
    # Canvases made (id → title, markdown, channel_id, access by channel, edits) and files
    # shared (id → name, content, title, channel_id); `pending`: uploads not completed yet.
    # `canvases_refused`: the error every canvas method answers (a workspace without them).
    canvases: dict[str, dict[str, Any]] = field(default_factory=dict)
    files: dict[str, dict[str, Any]] = field(default_factory=dict)
    pending: dict[str, dict[str, Any]] = field(default_factory=dict)
    canvases_refused: str | None = None
    # The channel kept tidy: each channel's topic, its bookmarks (id → title, link), and
    # the channels archived. Archiving takes the bot out of the channel, as Slack does, and
    # unarchiving is then refused (`not_in_channel`) unless a test puts the bot back.
    topics: dict[str, str] = field(default_factory=dict)
    bookmarks: dict[str, dict[str, dict[str, str]]] = field(default_factory=dict)
    archived: set[str] = field(default_factory=set)
    # The scopes the token was granted, sent as Slack sends them on every answer
    # (`x-oauth-scopes`); None: every scope the manifest asks for.
    granted: list[str] | None = None
    # method → an event: calls of that method wait for it before they are answered (and are
    # counted in `holding` meanwhile), so a test acts while the bot's call is in flight.
    held: dict[str, asyncio.Event] = field(default_factory=dict)
    holding: dict[str, int] = field(default_factory=dict)
    _ids: itertools.count = field(default_factory=lambda: itertools.count(1))
    _changed: asyncio.Event | None = None

    @property
    def api_url(self) -> str:
        return f"{self.url}/api/"

    def response_url(self, tag: str = "r") -> str:
        return f"{self.url}/response/{tag}{next(self._ids)}"

    def fail(
        self,
        method: str,
        kind: str,
        *,
        times: int = 1,
        retry_after: str = "1",
        when: Callable[[dict[str, Any]], bool] | None = None,
    ) -> None:
        assert kind in FAULTS, kind
        self.faults.append(SlackFault(method, kind, times, retry_after, when))

    def flake(
        self,
        methods: set[str],
        rate: float,
        *,
        seed: int = 0,
        kinds: tuple[str, ...] = FAULTS,
        kinds_of: dict[str, tuple[str, ...]] | None = None,
    ) -> None:
        self.flaky = Flaky(frozenset(methods), rate, kinds, seed, kinds_of=kinds_of or {})

    def _fault(self, method: str, url: str, params: dict[str, Any]) -> SlackFault | None:
        for fault in self.faults:
            if fault.times > 0 and fault.method == method and (fault.when is None or fault.when(params)):
                fault.times -= 1
                return fault
        kind = self.flaky.fault(method, url, params) if self.flaky else None
        return SlackFault(method, kind) if kind else None

    def _faulted(self, request: web.Request, call: Call, fault: SlackFault) -> web.Response:
        """The answer to a call that fails before it is carried out: recorded, with what
        was answered as its error, so tests see every try."""
        call.error = {"429": "ratelimited", "500": "HTTP 500", "drop": "dropped"}.get(fault.kind, fault.kind)
        call.response = {"ok": False, "error": call.error}
        self._record(call)
        if fault.kind == "429":
            return web.json_response(call.response, status=429, headers={"Retry-After": fault.retry_after})
        if fault.kind == "500":
            return web.Response(status=500, text="Internal Server Error")
        if fault.kind == "drop":
            return _dropped(request)
        return web.json_response(call.response)  # internal_error, fatal_error: Slack's 200

    async def _api(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        raw = await request.text()
        if method in self.held:
            self.holding[method] = self.holding.get(method, 0) + 1
            try:
                await self.held[method].wait()
            finally:
                self.holding[method] -= 1
        if request.content_type == "application/json":
            params = json.loads(raw or "{}")
        else:
            params = dict(parse_qsl(raw))
        params = {**dict(request.query), **params}
        if isinstance(params.get("blocks"), str):
            params["blocks"] = json.loads(params["blocks"])
        if isinstance(params.get("view"), str):
            params["view"] = json.loads(params["view"])
        error = self.errors.get(method)
        problems = self._problems(method, params)
        if problems:
            self.invalid += [f"{method}: {p}" for p in problems]
            error = "invalid_blocks"
        call = Call(method, params, dict(request.headers), error, peer=peer_of(request))
        fault = self._fault(method, "", params)
        if fault is not None and fault.kind != "drop_after":
            return self._faulted(request, call, fault)
        if error:
            call.response = {"ok": False, "error": error}
        else:
            call.response = self._answer(method, params)
            call.error = call.response.get("error") if not call.response.get("ok") else None
        self._record(call)
        if fault is not None:  # drop_after: carried out (posted, drawn), never answered
            return _dropped(request)
        granted = bot_scopes() if self.granted is None else self.granted
        return web.json_response(call.response, headers={"x-oauth-scopes": ",".join(granted)})

    @staticmethod
    def _problems(method: str, params: dict[str, Any]) -> list[str]:
        """What Slack would refuse as invalid_blocks (tests/blockkit.py has the limits)."""
        if method in ("chat.postMessage", "chat.update", "chat.postEphemeral", "response_url"):
            found = message_problems(params)
            metadata = params.get("metadata")
            if isinstance(metadata, str):
                metadata = json.loads(metadata)
            if metadata is not None and not (
                isinstance(metadata, dict)
                and isinstance(metadata.get("event_type"), str)
                and isinstance(metadata.get("event_payload"), dict)
            ):
                found.append(f"metadata is not {{event_type, event_payload}}: {metadata!r}")
            return found
        if method in ("views.open", "views.update"):
            return view_problems(params.get("view") or {})
        return []

    def _answer(self, method: str, params: dict[str, Any]) -> dict[str, Any]:
        if (
            method in ("chat.postMessage", "chat.update", "pins.add")
            and params.get("channel") in self.outside
        ):
            return {"ok": False, "error": "not_in_channel"}
        if method == "auth.test":
            return {
                "ok": True,
                "team": "Test",
                "team_id": "T111",
                "user": "incident",
                "user_id": "UBOT",
                "bot_id": "BBOT",
                "url": "https://test.slack.com/",
            }
        if method == "chat.postMessage":
            return {"ok": True, "channel": params.get("channel"), "ts": f"{time.time():.6f}"}
        if method == "conversations.history" and params.get("latest"):
            return self._messages(params, replies=False)
        if method == "conversations.history":
            return self._history(params)
        if method == "conversations.replies":
            return self._messages(params, replies=True)
        if method == "chat.getPermalink":
            ts = str(params.get("message_ts", ""))
            if not any(m["ts"] == ts for m in self.messages.get(str(params.get("channel")), [])):
                return {"ok": False, "error": "message_not_found"}
            link = f"https://test.slack.com/archives/{params['channel']}/p{ts.replace('.', '')}"
            return {"ok": True, "channel": params["channel"], "permalink": link}
        if method == "chat.postEphemeral":
            return {"ok": True, "message_ts": f"{time.time():.6f}"}
        if method == "chat.update":
            return {"ok": True, "channel": params.get("channel"), "ts": params.get("ts")}
        if method in ("pins.add", "pins.remove"):
            return {"ok": True}
        if method in ("conversations.setTopic", "conversations.archive", "conversations.unarchive") or (
            method.startswith("bookmarks.")
        ):
            return self._tidy(method, params)
        if method in ("views.open", "views.update"):
            view = params["view"]
            view_id = params.get("view_id") or f"V{next(self._ids):06d}"
            self.views[view_id] = view
            return {"ok": True, "view": {**view, "id": view_id, "hash": f"h{next(self._ids)}"}}
        if method == "conversations.open":
            # The DM with one person: the same D… channel for them every time, as at Slack.
            users = str(params.get("users", ""))
            if not users or "," in users:
                return {"ok": False, "error": "invalid_arguments"}
            return {"ok": True, "channel": {"id": "D" + users.removeprefix("U")}}
        if method == "conversations.create":
            name = params["name"]
            if name in self.taken_names:
                return {"ok": False, "error": "name_taken"}
            self.taken_names.add(name)
            made = f"{'G' if params.get('is_private') in (True, 'true', '1') else 'C'}{next(self._ids):06d}"
            if made.startswith("G"):
                self.private_channels.add(made)
            self.members[made] = {"UBOT"}
            return {"ok": True, "channel": {"id": made, "name": name, "is_private": made.startswith("G")}}
        if method == "conversations.join":
            channel = str(params.get("channel"))
            if channel in self.private_channels:
                return {"ok": False, "error": "method_not_supported_for_channel_type"}
            joined = self.members.setdefault(channel, set())
            already = "UBOT" in joined
            joined.add("UBOT")
            self.outside.discard(channel)
            return {"ok": True, "channel": {"id": channel}} | (
                {"warning": "already_in_channel"} if already else {}
            )
        if method == "conversations.invite":
            users = [u for u in str(params.get("users", "")).split(",") if u]
            members = self.members.setdefault(str(params.get("channel")), set())
            if any(u in members for u in users):
                # As Slack: one member already in it refuses the whole call (without force).
                return {"ok": False, "error": "already_in_channel"}
            members.update(users)
            return {"ok": True, "channel": {"id": params.get("channel")}}
        if method == "conversations.members":
            found = sorted(self.members.get(str(params.get("channel")), set()))
            return {"ok": True, "members": found, "response_metadata": {"next_cursor": ""}}
        if method == "usergroups.users.list":
            if params.get("usergroup") not in self.groups:
                return {"ok": False, "error": "no_such_subteam"}
            return {"ok": True, "users": self.groups[params["usergroup"]]}
        if method == "usergroups.list":
            listed = [
                {"id": gid, "handle": self.handles.get(gid, gid.lower()), "name": self.handles.get(gid, gid)}
                for gid in self.groups
            ]
            return {"ok": True, "usergroups": listed}
        if method == "apps.connections.open":
            return {"ok": True, "url": self.url.replace("http", "ws", 1) + "/socket"}
        if method == "users.info":
            user = params.get("user", "")
            return {
                "ok": True,
                "user": {
                    "id": user,
                    "name": user.lower(),
                    "tz": self.timezones.get(user, "UTC"),
                    "profile": {"email": f"{user.lower()}@example.com"},
                },
            }
        if method == "users.lookupByEmail":
            local, _, domain = str(params.get("email", "")).partition("@")
            if domain != "example.com":
                return {"ok": False, "error": "users_not_found"}
            return {"ok": True, "user": {"id": local.upper(), "name": local}}
        if method.startswith(("canvases.", "files.")):
            return self._documents(method, params)
        return {"ok": False, "error": "unknown_method"}

    def _documents(self, method: str, params: dict[str, Any]) -> dict[str, Any]:
        """Canvases and files as Slack keeps them (docs.slack.dev/reference/methods/…): a
        canvas made with markdown content, edited by `replace`, shared by access.set; a file
        uploaded in three steps (the bytes to the URL given, to this server) and deleted.
        `canvases_refused` makes every canvas method answer that error, as a workspace
        without canvases does."""
        if method.startswith("canvases.") and self.canvases_refused:
            return {"ok": False, "error": self.canvases_refused}
        if method == "canvases.create":
            content = params.get("document_content")
            if not isinstance(content, dict) or content.get("type") != "markdown":
                return {"ok": False, "error": "invalid_arguments"}
            made = f"F{next(self._ids):09d}"
            self.canvases[made] = {
                "title": params.get("title"),
                "markdown": content.get("markdown", ""),
                "channel_id": params.get("channel_id"),
                "access": {},
                "edits": 0,
            }
            return {"ok": True, "canvas_id": made}
        if method == "canvases.edit":
            canvas = self.canvases.get(str(params.get("canvas_id")))
            if canvas is None:
                return {"ok": False, "error": "canvas_not_found"}
            for change in params.get("changes") or []:
                if change.get("operation") != "replace" or "section_id" in change:
                    return {"ok": False, "error": "invalid_arguments"}
                canvas["markdown"] = change["document_content"]["markdown"]
                canvas["edits"] += 1
            return {"ok": True}
        if method == "canvases.access.set":
            canvas = self.canvases.get(str(params.get("canvas_id")))
            if canvas is None:
                return {"ok": False, "error": "canvas_not_found"}
            for channel in str(params.get("channel_ids") or "").split(","):
                if channel:
                    canvas["access"][channel] = params.get("access_level")
            return {"ok": True}
        if method == "files.getUploadURLExternal":
            if not params.get("filename") or not str(params.get("length", "")).isdigit():
                return {"ok": False, "error": "invalid_arguments"}
            made = f"F{next(self._ids):09d}"
            self.pending[made] = {"name": params["filename"], "length": int(params["length"])}
            return {"ok": True, "upload_url": f"{self.url}/upload/{made}", "file_id": made}
        if method == "files.completeUploadExternal":
            listed = params.get("files")
            listed = json.loads(listed) if isinstance(listed, str) else listed
            shared = []
            for item in listed or []:
                pending = self.pending.get(str(item.get("id")))
                if pending is None or "content" not in pending:
                    return {"ok": False, "error": "file_not_found"}
                del self.pending[item["id"]]
                link = f"https://test.slack.com/files/UBOT/{item['id']}/{pending['name']}"
                self.files[item["id"]] = {
                    **pending,
                    "title": item.get("title"),
                    "channel_id": params.get("channel_id"),
                }
                shared.append({"id": item["id"], "title": item.get("title"), "permalink": link})
            return {"ok": True, "files": shared}
        if method == "files.delete":
            if self.files.pop(str(params.get("file")), None) is None:
                return {"ok": False, "error": "file_not_found"}
            return {"ok": True}
        return {"ok": False, "error": "unknown_method"}

    async def _upload(self, request: web.Request) -> web.Response:
        """The upload URL files.getUploadURLExternal gave: the file's bytes, raw or as a
        form's `file` field, of the length announced."""
        pending = self.pending.get(request.match_info["file_id"])
        if request.content_type.startswith("multipart/"):
            form = await request.post()
            part = form.get("file")
            content = part.file.read() if isinstance(part, web.FileField) else str(part or "").encode()
        else:
            content = await request.read()
        self._record(Call("upload", {"file_id": request.match_info["file_id"]}, dict(request.headers)))
        if pending is None or len(content) != pending["length"]:
            return web.Response(status=400, text="invalid upload")
        pending["content"] = content.decode()
        return web.Response(text=f"OK - {len(content)}")

    def _tidy(self, method: str, params: dict[str, Any]) -> dict[str, Any]:
        """Topics, bookmarks and archives as Slack answers them: an archived channel takes
        none (`is_archived`), archiving twice is `already_archived`, unarchiving an open
        channel `not_archived`, and a channel the bot is not in `not_in_channel`."""
        channel = str(params.get("channel") or params.get("channel_id") or "")
        inside = channel not in self.outside and "UBOT" in self.members.get(channel, {"UBOT"})
        if method == "conversations.unarchive":
            if channel not in self.archived:
                return {"ok": False, "error": "not_archived"}
            if not inside:  # a bot token, out of the channel since it was archived
                return {"ok": False, "error": "not_in_channel"}
            self.archived.discard(channel)
            return {"ok": True}
        if channel in self.archived:
            again = method == "conversations.archive"
            return {"ok": False, "error": "already_archived" if again else "is_archived"}
        if not inside:
            return {"ok": False, "error": "not_in_channel"}
        if method == "conversations.archive":
            self.archived.add(channel)
            self.members.setdefault(channel, set()).discard("UBOT")
            return {"ok": True}
        if method == "conversations.setTopic":
            topic = str(params.get("topic", ""))
            if len(topic) > 250:
                return {"ok": False, "error": "too_long"}
            self.topics[channel] = topic
            return {"ok": True, "channel": {"id": channel, "topic": {"value": topic}}}
        marks = self.bookmarks.setdefault(channel, {})
        if method == "bookmarks.add":
            if params.get("type") != "link" or not params.get("title") or not params.get("link"):
                return {"ok": False, "error": "invalid_arguments"}
            made = f"Bk{next(self._ids):08d}"
            marks[made] = {"title": str(params["title"]), "link": str(params["link"])}
            made_one = {"id": made, "channel_id": channel, **marks[made], "type": "link"}
            return {"ok": True, "bookmark": made_one}
        if method == "bookmarks.edit":
            mark = marks.get(str(params.get("bookmark_id")))
            if mark is None:
                return {"ok": False, "error": "not_found"}
            mark |= {k: str(params[k]) for k in ("title", "link") if params.get(k)}
            return {"ok": True, "bookmark": {"id": params["bookmark_id"], "channel_id": channel, **mark}}
        return {"ok": False, "error": "unknown_method"}

    def react(self, channel: str, ts: str, emoji: str, user: str, *, added: bool = True) -> None:
        """A reaction on a message, as Slack then shows it in the message's `reactions`."""
        message = next(m for m in self.messages[channel] if m["ts"] == ts)
        reactions: list[dict[str, Any]] = message.setdefault("reactions", [])
        entry = next((r for r in reactions if r["name"] == emoji), None)
        if entry is None:
            entry = {"name": emoji, "users": [], "count": 0}
            reactions.append(entry)
        users = set(entry["users"]) | {user} if added else set(entry["users"]) - {user}
        entry["users"], entry["count"] = sorted(users), len(users)
        if not users:
            reactions.remove(entry)

    def _messages(self, params: dict[str, Any], *, replies: bool) -> dict[str, Any]:
        """People's messages as Slack reads them back: history has a channel's top-level
        messages up to `latest` (with `inclusive`), newest first; replies a thread's,
        parent first, from a reply's ts too (as Slack does)."""
        channel = str(params.get("channel"))
        if channel in self.outside:
            return {"ok": False, "error": "not_in_channel"}
        kept = self.messages.get(channel, [])
        inclusive = str(params.get("inclusive")).lower() in ("true", "1")
        latest = float(params.get("latest") or "inf")
        limit = int(params.get("limit") or 100)
        if replies:
            asked = next((m for m in kept if m["ts"] == params.get("ts")), None)
            if asked is None:
                return {"ok": False, "error": "thread_not_found"}
            root = asked.get("thread_ts", asked["ts"])
            parent = next(m for m in kept if m["ts"] == root)
            thread = [m for m in kept if m.get("thread_ts") == root and m["ts"] != root]
            found = sorted(thread, key=lambda m: float(m["ts"]))
        else:
            found = [m for m in kept if m.get("thread_ts", m["ts"]) == m["ts"]]
            found.sort(key=lambda m: float(m["ts"]), reverse=True)
        oldest = float(params.get("oldest") or 0)
        found = [
            m
            for m in found
            if (oldest < float(m["ts"]) < latest) or (inclusive and float(m["ts"]) in (oldest, latest))
        ]
        if replies:  # the thread's parent always comes first, in range or not
            found = [parent, *(m for m in found if m is not parent)]
        return {"ok": True, "messages": found[:limit], "has_more": len(found) > limit}

    def _history(self, params: dict[str, Any]) -> dict[str, Any]:
        """The bot's own messages in a channel since `oldest`, newest first, with their
        metadata only when asked for (`include_all_metadata`), as Slack answers."""
        channel = params.get("channel")
        if channel in self.outside:
            return {"ok": False, "error": "not_in_channel"}
        oldest = float(params.get("oldest") or 0)
        with_metadata = str(params.get("include_all_metadata")).lower() in ("true", "1")
        found = []
        for call in reversed(self.calls):
            if call.method != "chat.postMessage" or call.error or call.params.get("channel") != channel:
                continue
            if float(call.response["ts"]) < oldest:
                continue
            posted = {"type": "message", "ts": call.response["ts"], "text": call.params.get("text", "")}
            if with_metadata and call.params.get("metadata"):
                metadata = call.params["metadata"]
                posted["metadata"] = json.loads(metadata) if isinstance(metadata, str) else metadata
            found.append(posted)
        return {"ok": True, "messages": found, "has_more": False, "response_metadata": {"next_cursor": ""}}

    async def _response(self, request: web.Request) -> web.Response:
        """A response_url answer. `replace_original` replaces the last answer given through
        the same URL; with none there, the fake refuses it, the strictest reading of Slack."""
        body = await request.json()
        problems = self._problems("response_url", body)
        self.invalid += [f"response_url: {p}" for p in problems]
        url = str(request.url)
        call = Call(
            "response_url",
            body,
            dict(request.headers),
            "invalid_blocks" if problems else None,
            url=url,
            peer=peer_of(request),
        )
        if problems:
            self._record(call)
            return web.Response(status=400, text="invalid_blocks")
        fault = self._fault("response_url", url, body)
        if fault is not None and fault.kind != "drop_after":
            if fault.kind in ("internal_error", "fatal_error"):  # no such answer here: a 5xx
                fault = SlackFault("response_url", "500")
            return self._faulted(request, call, fault)
        if body.get("replace_original") is True:
            earlier = [c for c in self.calls if c.method == "response_url" and c.url == url and not c.error]
            if not earlier:
                call.error = "message_not_found"
                self._record(call)
                return web.Response(status=404, text="message_not_found")
            earlier[-1].replaced = True
        self._record(call)
        if fault is not None:
            return _dropped(request)
        return web.Response(text="ok")

    async def _socket(self, request: web.Request) -> web.WebSocketResponse:
        """Socket Mode: hand envelopes to the app, record its acks (`socket_ack` calls)."""
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        self.sockets.append(ws)
        await ws.send_json({"type": "hello", "num_connections": 1})
        async for message in ws:
            if message.type == WSMsgType.TEXT:
                self._record(Call("socket_ack", json.loads(message.data), {}))
        return ws

    async def send_envelope(self, kind: str, payload: dict[str, Any]) -> str:
        envelope_id = f"env-{next(self._ids)}"
        envelope = {
            "envelope_id": envelope_id,
            "type": kind,
            "payload": payload,
            "accepts_response_payload": kind != "events_api",
        }
        await self.sockets[-1].send_json(envelope)
        return envelope_id

    def _record(self, call: Call) -> None:
        self.calls.append(call)
        if self._changed:
            self._changed.set()

    def app(self) -> web.Application:
        app = web.Application()
        app.add_routes(
            [
                web.post("/api/{method}", self._api),
                web.get("/api/{method}", self._api),
                web.post("/response/{tag}", self._response),
                web.get("/socket", self._socket),
                web.post("/upload/{file_id}", self._upload),
            ]
        )
        return app

    def of(self, method: str) -> list[Call]:
        return [c for c in self.calls if c.method == method]

    def answers(self) -> list[Call]:
        """What a user sees: messages posted and response_url answers."""
        return [
            c
            for c in self.calls
            if c.method in ("chat.postMessage", "response_url") and not c.error and not c.replaced
        ]

    async def wait_for(self, count: int, method: str | None = None, within: float = 60.0) -> list[Call]:
        """Wait until `count` answers (or calls of `method`) arrived; fails the test if not."""
        self._changed = self._changed or asyncio.Event()
        deadline = asyncio.get_running_loop().time() + within
        while True:
            found = self.of(method) if method else self.answers()
            if len(found) >= count:
                return found
            remaining = deadline - asyncio.get_running_loop().time()
            if remaining <= 0:
                raise AssertionError(f"expected {count} {method or 'answers'}, got {found!r}")
            self._changed.clear()
            try:
                await asyncio.wait_for(self._changed.wait(), remaining)
            except TimeoutError:
                pass


def _dropped(request: web.Request) -> web.Response:
    """The connection closes with no answer at all: the caller cannot tell whether the
    call was carried out."""
    assert request.transport is not None
    request.transport.abort()
    return web.Response(status=500)


def sign(secret: str, body: str, timestamp: int | None = None) -> dict[str, str]:
    """Headers exactly as Slack sends them: v0 HMAC-SHA256 over `v0:{ts}:{body}`."""
    ts = str(int(time.time()) if timestamp is None else timestamp)
    digest = hmac.new(secret.encode(), f"v0:{ts}:{body}".encode(), hashlib.sha256).hexdigest()
    return {
        "X-Slack-Request-Timestamp": ts,
        "X-Slack-Signature": f"v0={digest}",
        "Content-Type": "application/x-www-form-urlencoded",
    }


def slash_body(
    text: str,
    *,
    response_url: str,
    user: str = "U111",
    channel: str = "C111",
    command: str = "/incident",
    trigger: str | None = None,
    channel_name: str = "random",
) -> str:
    """A slash command's form body with every field Slack sends."""
    return urlencode(
        {
            "token": "verification_token",
            "team_id": "T111",
            "team_domain": "test-domain",
            "enterprise_id": "",
            "enterprise_name": "",
            "channel_id": channel,
            "channel_name": channel_name,
            "user_id": user,
            "user_name": user.lower(),
            "command": command,
            "text": text,
            "api_app_id": "A111",
            "is_enterprise_install": "false",
            "response_url": response_url,
            "trigger_id": trigger or f"{time.time_ns()}.111.abc",
        }
    )


def interaction_body(payload: dict[str, Any]) -> str:
    """Interactions come form-encoded, the JSON in one `payload` field, signed like commands."""
    return urlencode({"payload": json.dumps(payload)})


def _who(user: str) -> dict[str, Any]:
    return {"id": user, "username": user.lower(), "name": user.lower(), "team_id": "T111"}


TEAM = {"id": "T111", "domain": "test-domain"}


def block_actions(
    action: dict[str, Any],
    *,
    user: str,
    channel: str,
    message_ts: str,
    response_url: str,
    trigger: str | None = None,
    action_ts: str | None = None,
) -> dict[str, Any]:
    """A click on a message button, shaped as bolt-python's fixture block_actions.body.json."""
    return {
        "type": "block_actions",
        "user": _who(user),
        "api_app_id": "A111",
        "token": "verification_token",
        "container": {
            "type": "message",
            "message_ts": message_ts,
            "channel_id": channel,
            "is_ephemeral": False,
        },
        "trigger_id": trigger or f"{time.time_ns()}.111.trig",
        "team": TEAM,
        "channel": {"id": channel, "name": "inc"},
        "response_url": response_url,
        "actions": [
            {
                "action_id": action["action_id"],
                "block_id": action.get("block_id", "b"),
                "text": action.get("text", {"type": "plain_text", "text": "Button"}),
                "value": action.get("value", ""),
                "type": action.get("type", "button"),
                "action_ts": action_ts or f"{time.time():.6f}",
                # An overflow menu's pick: the option chosen, as Slack sends it.
                **({"selected_option": action["selected_option"]} if "selected_option" in action else {}),
            }
        ],
    }


def state_for(view: dict[str, Any], answers: dict[str, Any]) -> dict[str, Any]:
    """What Slack sends as view.state.values after a person filled `answers` (block id →
    option value, user id(s), text, unix time or YYYY-MM-DD) into `view`."""
    values: dict[str, Any] = {}
    for block in view.get("blocks", []):
        if block.get("type") != "input" or block["block_id"] not in answers:
            continue
        element = block["element"]
        answer = answers[block["block_id"]]
        kind = element["type"]
        if kind in ("static_select", "external_select"):
            state = {
                "selected_option": None
                if answer is None
                else {"text": {"type": "plain_text", "text": answer}, "value": answer}
            }
        elif kind == "users_select":
            state = {"selected_user": answer}
        elif kind == "multi_users_select":
            state = {"selected_users": answer}
        elif kind == "datetimepicker":
            state = {"selected_date_time": answer}
        elif kind == "datepicker":
            state = {"selected_date": answer}
        else:
            state = {"value": answer}
        values[block["block_id"]] = {element["action_id"]: {"type": kind, **state}}
    return values


def view_submission(
    view: dict[str, Any], view_id: str, answers: dict[str, Any], *, user: str
) -> dict[str, Any]:
    """A modal submitted, shaped as bolt-python's fixture view_submission.body.json."""
    return {
        "type": "view_submission",
        "team": TEAM,
        "user": _who(user),
        "api_app_id": "A111",
        "token": "verification_token",
        "trigger_id": f"{time.time_ns()}.111.sub",
        "view": {
            **view,
            "id": view_id,
            "team_id": "T111",
            "state": {"values": state_for(view, answers)},
            "hash": "1596530361.3wRYuk3R",
            "app_id": "A111",
            "bot_id": "B111",
        },
        "response_urls": [],
    }


def block_suggestion(
    view: dict[str, Any], view_id: str, action_id: str, block_id: str, query: str, *, user: str
) -> dict[str, Any]:
    """Type-ahead in an external select, shaped as bolt-python's block_suggestion.body.json."""
    return {
        "type": "block_suggestion",
        "user": _who(user),
        "container": {"type": "view", "view_id": view_id},
        "api_app_id": "A111",
        "token": "verification_token",
        "action_id": action_id,
        "block_id": block_id,
        "value": query,
        "team": TEAM,
        "view": {**view, "id": view_id, "team_id": "T111", "state": {"values": {}}, "hash": "111.xxx"},
    }
