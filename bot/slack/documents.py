"""The retro draft in a Slack channel: a canvas, or a Markdown file where canvases are not
available.

Why `canvases.create` with `channel_id`, and not `conversations.canvases.create`: a channel
has one channel canvas, which its people may already use for something else (and which
Slack refuses to make twice: `channel_canvas_already_exists`); a canvas of its own, tabbed
in the channel, is the retro's alone. `channel_id` is also what Slack's free plan requires
of a canvas (docs.slack.dev/reference/methods/canvases.create). `canvases.access.set`
then gives the channel's members write access by name, so the draft is theirs to fill in
whatever the workspace's default for tabbed canvases is.

Running it again: a canvas is edited in place (`canvases.edit`, one `replace` of the whole
document), so its link and its tab stay. A file cannot be edited through the Web API, so
the new file is uploaded first and the old one deleted (`files.delete`) once the new one
is shared: the channel never has none, and never keeps two. The answer says "replaced".
"""

from __future__ import annotations

import logging
import re
from typing import Protocol, TypeVar

import aiohttp
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot import metrics
from bot.commands.ports import WorkspaceError
from bot.commands.retro import Document, Published, RetroDraft
from bot.present.retro import retro_markdown
from bot.slack.calls import SlackCalls, calls_of

log = logging.getLogger(__name__)

# Slack's answers that mean "no canvases here" (a plan, a setting, a token without the
# scope), as opposed to a fault worth reporting: the draft goes out as a file instead.
NO_CANVAS = frozenset(
    {
        "free_teams_cannot_create_non_channel_canvases",
        "free_teams_cannot_create_non_tabbed_canvases",
        "team_tier_cannot_create_channel_canvases",
        "canvas_disabled",
        "canvas_disabled_user_team",
        "canvas_creation_failed",
        "not_allowed",
        "not_allowed_token_type",
        "restricted_action",
        "missing_scope",
        "feature_not_enabled",
    }
)
# The canvas or file made before is no longer there: a new one is made.
GONE = frozenset({"canvas_not_found", "canvas_deleted", "file_not_found", "file_deleted", "invalid_canvas"})
_NOT_IN_NAME = re.compile(r"[^A-Za-z0-9._-]+")


def slack_error(exc: SlackApiError) -> str:
    """Slack's error name (counted as bot/slack/workspace.py counts its own)."""
    data = exc.response.data
    error = (
        str(data["error"])
        if isinstance(data, dict) and data.get("error")
        else f"HTTP {exc.response.status_code}"
    )
    metrics.slack_failed(getattr(exc.response, "api_url", None), error)
    return error


class Bookmarks(Protocol):
    """The channel's bookmarks, kept by kind (bot/slack/channel.py's ChannelKeeper)."""

    async def keep_bookmark(
        self, team_id: str, channel_id: str, kind: str, title: str, link: str
    ) -> bool: ...


B = TypeVar("B", bound=Bookmarks)
RETRO_BOOKMARK = "retro"  # the kind: one Retro bookmark per channel, edited when the link changes


class Documents:
    """Writes the draft in a channel; one per Web API client (`SlackWorkspace` holds it)."""

    def __init__(self, client: AsyncWebClient) -> None:
        self.client = client
        self._base: str | None = None  # the workspace's address (auth.test), for a canvas's link
        self._team: str | None = None  # the workspace's id (auth.test), for its bookmarks
        self.bookmarks: Bookmarks | None = None

    def bookmarked_by(self, keeper: B) -> B:
        """Bookmark each draft in its channel through `keeper` (the one that keeps the
        incident's page and call there), handed back for its other users."""
        self.bookmarks = keeper
        return keeper

    async def publish(self, channel_id: str, draft: RetroDraft, earlier: Document | None) -> Published:
        published = await self._publish(channel_id, draft, earlier)
        link = published.document.url
        if self.bookmarks is not None and link:
            await self._who()
            if self._team:  # the keeper never raises: a bookmark refused costs nobody the retro
                await self.bookmarks.keep_bookmark(self._team, channel_id, RETRO_BOOKMARK, "Retro", link)
        return published

    @property
    def calls(self) -> SlackCalls:
        return calls_of(self.client)

    async def _publish(self, channel_id: str, draft: RetroDraft, earlier: Document | None) -> Published:
        no_canvas: str | None = None
        gone = False
        if earlier is not None and earlier.kind == "canvas":
            try:
                await self._edit(earlier.id, draft)
                return Published(document=earlier, replaced=True)
            except SlackApiError as exc:
                error = slack_error(exc)
                if error in NO_CANVAS:
                    no_canvas = error  # turned off since: the draft becomes a file
                elif error in GONE:
                    gone = True
                else:
                    raise WorkspaceError(f"Slack answered {error} to canvases.edit") from None
        if no_canvas is None and (earlier is None or earlier.kind == "canvas"):
            try:
                made = await self._create(channel_id, draft)
                return Published(document=made, previous_gone=gone)
            except SlackApiError as exc:
                error = slack_error(exc)
                if error not in NO_CANVAS:
                    raise WorkspaceError(f"Slack answered {error} to canvases.create") from None
                no_canvas = error
                log.info("canvases are not available (%s): the retro draft goes out as a file", error)
        replacing = earlier if earlier is not None and earlier.kind == "file" else None
        made = await self._upload(channel_id, draft)
        if replacing is not None:
            gone = not await self._delete(replacing.id) or gone
        return Published(
            document=made,
            replaced=replacing is not None and not gone,
            no_canvas=no_canvas,
            previous_gone=gone,
        )

    # canvases ------------------------------------------------------------------------------
    async def _create(self, channel_id: str, draft: RetroDraft) -> Document:
        """Tried again after a fault like every call (bot/slack/calls.py): a second canvas
        after a dropped connection is the lesser harm than no retro."""
        content = {"type": "markdown", "markdown": retro_markdown(draft, canvas=True)}
        response = await self.calls.call(
            "canvases.create", title=draft.title, document_content=content, channel_id=channel_id
        )
        canvas_id = str(response["canvas_id"])
        try:
            await self.calls.call(
                "canvases.access.set", canvas_id=canvas_id, access_level="write", channel_ids=[channel_id]
            )
        except SlackApiError as exc:  # it is in the channel's tab all the same
            log.warning(
                "could not give %s write access to the retro canvas: %s", channel_id, slack_error(exc)
            )
        return Document(
            kind="canvas", id=canvas_id, url=await self._canvas_link(canvas_id), channel_id=channel_id
        )

    async def _edit(self, canvas_id: str, draft: RetroDraft) -> None:
        content = {"type": "markdown", "markdown": retro_markdown(draft, canvas=True)}
        await self.calls.call(
            "canvases.edit",
            canvas_id=canvas_id,
            changes=[{"operation": "replace", "document_content": content}],
        )

    async def _canvas_link(self, canvas_id: str) -> str | None:
        """A canvas opens at <workspace>/docs/<team>/<canvas id>; None where auth.test does
        not say the workspace's address (the answer then says where to find it)."""
        await self._who()
        return f"{self._base}/{canvas_id}" if self._base else None

    async def _who(self) -> None:
        """The workspace's address and id, read once (auth.test)."""
        if self._team is not None:
            return
        try:
            auth = await self.calls.call("auth.test")
        except SlackApiError as exc:
            log.info("could not read the workspace's address: %s", slack_error(exc))
            return
        url, team = str(auth.get("url") or ""), str(auth.get("team_id") or "")
        self._team = team or None
        self._base = f"{url.rstrip('/')}/docs/{team}" if url and team else None

    # files -------------------------------------------------------------------------------------
    async def _upload(self, channel_id: str, draft: RetroDraft) -> Document:
        """files.getUploadURLExternal, the bytes to the URL Slack gave, then
        files.completeUploadExternal sharing it in the channel."""
        content = retro_markdown(draft, canvas=False).encode()
        name = _NOT_IN_NAME.sub("-", f"retro-{draft.reference}").strip("-") + ".md"
        try:
            slot = await self.calls.call("files.getUploadURLExternal", filename=name, length=len(content))
            await self._put(str(slot["upload_url"]), content)
            done = await self.calls.call(
                "files.completeUploadExternal",
                files=[{"id": str(slot["file_id"]), "title": draft.title}],
                channel_id=channel_id,
            )
        except SlackApiError as exc:
            raise WorkspaceError(f"Slack answered {slack_error(exc)} to the file's upload") from None
        shared = (done.get("files") or [{}])[0]
        return Document(
            kind="file",
            id=str(shared.get("id") or slot["file_id"]),
            url=shared.get("permalink"),
            channel_id=channel_id,
        )

    async def _put(self, url: str, content: bytes) -> None:
        """The bytes POSTed to the upload URL, as slack_sdk's own upload does, on the
        client's HTTP session (a session of its own where the client has none, as in a
        script)."""
        session = self.client.session
        try:
            if session is not None and not session.closed:
                async with session.post(url, data=content) as response:
                    status = response.status
            else:
                async with aiohttp.ClientSession() as own, own.post(url, data=content) as response:
                    status = response.status
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise WorkspaceError(f"the file's upload failed ({type(exc).__name__})") from None
        if status != 200:
            raise WorkspaceError(f"the file's upload was refused (HTTP {status})")

    async def _delete(self, file_id: str) -> bool:
        """False: it was gone already (deleted by someone in the channel)."""
        try:
            await self.calls.call("files.delete", file=file_id)
        except SlackApiError as exc:
            error = slack_error(exc)
            if error in GONE:
                return False
            # The new one is shared: an old file left behind is said in the log, not refused.
            log.warning("could not delete the earlier retro file %s: %s", file_id, error)
        return True
