"""Calling Slack so that an answer survives Slack's bad moments.

In a big incident Slack rate-limits the app and has its own faults (5xx, `internal_error`,
`fatal_error`, connections dropped mid-call). slack_sdk's retry handlers cannot be trusted
with answers: they post a message again blindly after a dropped connection (twice in the
channel when Slack had posted it), wait on the real clock, and a second drop escapes as an
aiohttp error that no `except SlackApiError` sees. So every answer path calls Slack here,
on a client without those handlers:

- every call is tried a bounded number of times: a 429 waits its Retry-After (and holds
  back every other call of that method meanwhile: Slack limits per method), 5xx,
  `internal_error`/`fatal_error` and lost connections wait a short backoff;
- a call that may have been carried out although it failed (a dropped connection, a 5xx,
  `internal_error`) is repeated only where repeating it is harmless, and a message is
  posted again only after the channel's recent history shows that its request key is not
  there yet;
- a response_url answer's HTTP status is read (slack_sdk's webhook client returns it
  rather than raise), and a slash command's answer sent again replaces the one that may
  have arrived instead of adding a second;
- methods Slack limits tightly (chat.update Tier 3, pins.* Tier 2) are paced to their tier,
  so a busy incident's redraws are not what gets the app rate-limited.

After the last attempt a call raises `SlackUnavailable` (a `SlackApiError`, so existing
handlers see it), and the caller sends the answer another way or says once that it could not.
"""

from __future__ import annotations

import asyncio
import logging
import time
import weakref
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

import aiohttp
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient
from slack_sdk.web.async_slack_response import AsyncSlackResponse
from slack_sdk.webhook import WebhookResponse
from slack_sdk.webhook.async_client import AsyncWebhookClient

log = logging.getLogger(__name__)

Sleep = Callable[[float], Awaitable[None]]

ATTEMPTS = 4  # tries of one call, the first included
# A Retry-After longer than this is not waited for: the person would rather hear another
# way (the response_url is limited apart from the Web API) than wait a minute.
LONGEST_WAIT = 20.0
BACKOFF = 0.25  # seconds before the second try after a fault; doubled for each one after
# Slack's errors that say "not now", not "no": the same call may work a moment later.
TRANSIENT = frozenset(
    {"ratelimited", "internal_error", "fatal_error", "service_unavailable", "request_timeout"}
)
# Calls Slack allows about this many times a minute per workspace (its Tier 2 and Tier 3),
# and how many may go at once before the pace applies. Slack tolerates bursts, and a card
# held back is a card late, so a minute's worth goes at once; a workspace that keeps
# calling past it is paced to the tier instead of being told to wait by a 429.
TIERS: dict[str, tuple[float, int]] = {
    "chat.update": (50.0, 50),
    "pins.add": (20.0, 20),
    "pins.remove": (20.0, 20),
}
LOOK_BACK_PAGES = 5
RESPONSE_URL_USES = 5  # Slack takes this many posts to one response_url (within 30 minutes)
# Every message the bot posts for a request carries the request's key in its metadata, so
# the key can be looked for: after a lost connection here, after a restart (Resend).
ANSWER_EVENT = "incident_bot_answer"


async def pause(seconds: float) -> None:
    """The wait between two tries; a module-level name so a test can make it instant."""
    await asyncio.sleep(seconds)


class SlackUnavailable(SlackApiError):
    """Slack did not take the call after every attempt (or asked for a longer wait than
    the answer can afford). `ambiguous`: the last failure may have been carried out."""

    def __init__(self, method: str, reason: str, response: Any, ambiguous: bool) -> None:
        super().__init__(f"{method}: {reason} after {ATTEMPTS} attempts", response)
        self.method, self.reason, self.ambiguous = method, reason, ambiguous


class Superseded(Exception):
    """A call given up before it was made: by its turn, what it would send was no longer
    wanted (`call`'s `still`)."""

    def __init__(self, method: str) -> None:
        super().__init__(f"{method}: superseded before it was sent")
        self.method = method


class _Fault:
    """What one failed try says about the next: whether to try, after how long, and
    whether the call may have been carried out anyway."""

    def __init__(self, reason: str, wait: float | None, ambiguous: bool, response: Any = None) -> None:
        self.reason, self.wait, self.ambiguous, self.response = reason, wait, ambiguous, response


def _retry_after(headers: Mapping[str, Any] | None) -> float:
    for name, value in (headers or {}).items():
        if name.lower() == "retry-after":
            raw = value[0] if isinstance(value, list) and value else value
            try:
                return max(float(raw), 0.0)
            except (TypeError, ValueError):
                break
    return 1.0


def fault_of(exc: BaseException) -> _Fault | None:
    """A failure worth another try, or None for Slack's plain "no" (not_in_channel …)."""
    if isinstance(exc, SlackUnavailable):
        return None  # already tried as often as it may be
    if isinstance(exc, SlackApiError):
        response = exc.response
        status = getattr(response, "status_code", 0) or 0
        data = getattr(response, "data", None)
        error = str(data.get("error")) if isinstance(data, dict) and data.get("error") else ""
        if status == 429 or error == "ratelimited":
            return _Fault("ratelimited", _retry_after(getattr(response, "headers", None)), False, response)
        if status >= 500 or error in TRANSIENT:
            return _Fault(error or f"HTTP {status}", None, True, response)
        return None
    if isinstance(exc, aiohttp.ClientConnectorError):
        return _Fault("connection refused", None, False)  # nothing reached Slack
    if isinstance(exc, aiohttp.ClientError | TimeoutError | ConnectionError):
        return _Fault(f"connection lost ({type(exc).__name__})", None, True)
    return None


def _status_fault(response: WebhookResponse) -> _Fault | None:
    if response.status_code == 429:
        return _Fault("ratelimited", _retry_after(response.headers), False, response)
    if response.status_code >= 500:
        return _Fault(f"HTTP {response.status_code}", None, True, response)
    return None


class SlackCalls:
    """One per Web API client (`calls_of`): the pace and Retry-After of each method are the
    workspace's, shared by every caller."""

    def __init__(
        self,
        client: AsyncWebClient,
        *,
        attempts: int = ATTEMPTS,
        sleep: Sleep | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.client = client
        self.attempts = attempts
        self._sleep = sleep
        self._clock = clock
        self._bare: AsyncWebClient | None = None
        self._not_before: dict[str, float] = {}  # method → until when Slack asked to wait
        self._paced: dict[str, float] = {}  # method → when its next call is due at its tier's pace

    # plumbing ----------------------------------------------------------------------------
    def _web(self) -> AsyncWebClient:
        """The client's twin without slack_sdk's retry handlers, on the same HTTP session
        (the session is opened at start-up, after the client is built)."""
        client = self.client
        if self._bare is None or self._bare.session is not client.session or self._bare.token != client.token:
            self._bare = AsyncWebClient(
                token=client.token,
                base_url=client.base_url,
                timeout=client.timeout,
                session=client.session,
                headers=dict(client.headers),
                retry_handlers=[],
            )
        return self._bare

    async def _wait(self, seconds: float) -> None:
        if seconds > 0:
            await (self._sleep or pause)(seconds)

    async def _gate(self, method: str, longest: float = LONGEST_WAIT) -> None:
        """Wait for Slack's Retry-After on this method (given up at once where it is longer
        than `longest`), then for the method's tier pace."""
        held = self._not_before.get(method, 0.0) - self._clock()
        if held > longest:
            raise self._unavailable(method, _Fault("ratelimited", held, False))
        await self._wait(held)
        tier = TIERS.get(method)
        if tier is not None:
            now = self._clock()
            per_minute, burst = tier
            interval = 60.0 / per_minute
            due = max(self._paced.get(method, 0.0), now)
            self._paced[method] = due + interval
            await self._wait(due - burst * interval - now)

    def _hold(self, fault: _Fault, method: str) -> None:
        """A 429 is Slack's word on the method, not on the one call: every caller waits."""
        if fault.wait is not None:
            self._not_before[method] = max(self._not_before.get(method, 0.0), self._clock() + fault.wait)

    @staticmethod
    def _backoff(fault: _Fault, tried: int) -> float:
        return fault.wait if fault.wait is not None else BACKOFF * 2 ** (tried - 1)

    def _unavailable(self, method: str, fault: _Fault) -> SlackUnavailable:
        response = fault.response
        if not isinstance(response, AsyncSlackResponse):
            status = getattr(response, "status_code", 0) or 0
            response = AsyncSlackResponse(
                client=self._web(),
                http_verb="POST",
                api_url=f"{self.client.base_url}{method}",
                req_args={},
                data={"ok": False, "error": fault.reason},
                headers={},
                status_code=status,
            )
        return SlackUnavailable(method, fault.reason, response, fault.ambiguous)

    # calls ---------------------------------------------------------------------------------
    async def call(
        self,
        method: str,
        *,
        longest: float = LONGEST_WAIT,
        still: Callable[[], Awaitable[bool]] | None = None,
        **params: Any,
    ) -> AsyncSlackResponse:
        """A call that is harmless to repeat (chat.update, pins.*, views.*, reads), or whose
        repeat is the lesser harm: chat.postEphemeral cannot be looked up afterwards, and a
        private answer seen twice beats one never seen. `longest`: the longest Retry-After
        worth waiting for (a card can wait longer than a person for an answer). `still`:
        asked once the call's turn has come (after Slack's pace and any Retry-After), before
        each try; False raises Superseded, and the call is not made."""
        do = getattr(self._web(), method.replace(".", "_"))
        fault: _Fault | None = None
        for tried in range(1, self.attempts + 1):
            await self._gate(method, longest)
            if still is not None and not await still():
                raise Superseded(method)
            try:
                response: AsyncSlackResponse = await do(**params)
                return response
            except Exception as exc:
                fault = fault_of(exc)
                if fault is None:
                    raise
                self._hold(fault, method)
                if tried == self.attempts or (fault.wait or 0) > longest:
                    raise self._unavailable(method, fault) from exc
                log.info(
                    "%s failed (%s): trying again (%d of %d)", method, fault.reason, tried + 1, self.attempts
                )
                await self._wait(self._backoff(fault, tried))
        raise AssertionError("unreachable")  # pragma: no cover

    async def post(self, channel: str, key: str | None, **params: Any) -> Mapping[str, Any]:
        """chat.postMessage, posted once: after a try that may have been posted although it
        failed, the channel's recent messages are searched for `key` (in the message's
        metadata) before it is posted again. Without a key it is not posted again."""
        since = time.time() - 5  # Slack's ts are wall-clock seconds; a margin for clock skew
        fault: _Fault | None = None
        maybe_posted = False
        for tried in range(1, self.attempts + 1):
            if maybe_posted:
                found = await self.find(channel, key, since) if key else None
                if found is not None:
                    log.info("%s was posted although its call failed: not posted again", key)
                    return found
            await self._gate("chat.postMessage")
            try:
                client = self._web()
                response = await client.chat_postMessage(channel=channel, **params)
                return response.data if isinstance(response.data, dict) else {"ts": response.get("ts")}
            except Exception as exc:
                fault = fault_of(exc)
                if fault is None:
                    raise
                maybe_posted = maybe_posted or fault.ambiguous
                self._hold(fault, "chat.postMessage")
                if (maybe_posted and not key) or tried == self.attempts or (fault.wait or 0) > LONGEST_WAIT:
                    if maybe_posted and key:
                        found = await self.find(channel, key, since)
                        if found is not None:
                            return found
                    raise self._unavailable("chat.postMessage", fault) from exc
                log.info(
                    "chat.postMessage failed (%s): trying again (%d of %d)",
                    fault.reason,
                    tried + 1,
                    self.attempts,
                )
                await self._wait(self._backoff(fault, tried))
        raise AssertionError("unreachable")  # pragma: no cover

    async def find(
        self, channel: str, key: str, since: float, *, event_type: str | None = None
    ) -> dict[str, Any] | None:
        """The bot's message in `channel` since `since` (unix seconds) whose metadata names
        `key`; None where there is none, or the channel cannot be read."""
        event_type = event_type or ANSWER_EVENT
        cursor: str | None = None
        try:
            for _ in range(LOOK_BACK_PAGES):
                page = await self.call(
                    "conversations.history",
                    channel=channel,
                    oldest=f"{since:.6f}",
                    include_all_metadata=True,
                    limit=200,
                    cursor=cursor,
                )
                for posted in page.get("messages") or []:
                    metadata = posted.get("metadata") or {}
                    payload = metadata.get("event_payload") or {}
                    if metadata.get("event_type") == event_type and payload.get("request") == key:
                        return {"ok": True, "channel": channel, **posted}
                cursor = (page.get("response_metadata") or {}).get("next_cursor")
                if not cursor:
                    break
        except SlackApiError as exc:
            log.info("could not look in %s for %s: %s", channel, key, _error(exc))
        return None

    async def webhook(self, url: str, body: dict[str, Any], *, replaceable: bool = False) -> WebhookResponse:
        """A response_url answer. Its status is read: a 429 waits Retry-After, a 5xx or a
        lost connection is tried again; where the answer may have arrived, a `replaceable`
        one (a slash command's: nothing else is "original" there) is sent with
        replace_original, so it takes its own place instead of appearing twice. Answers
        Slack refused (4xx) are returned for the caller to send another way."""
        hook = AsyncWebhookClient(
            url, timeout=self.client.timeout, session=self.client.session, retry_handlers=[]
        )
        replace = body.get("replace_original") is True
        tried = sent = 0
        while True:
            tried, sent = tried + 1, sent + 1
            try:
                response = await hook.send_dict(body | {"replace_original": replace})
            except Exception as exc:
                fault = fault_of(exc)
                if fault is None:
                    raise
            else:
                if response.status_code < 400:
                    return response
                if response.status_code == 404 and replace and sent < RESPONSE_URL_USES:
                    # Nothing there to replace: what may have arrived before did not.
                    replace, tried = False, tried - 1
                    continue
                fault = _status_fault(response)
                if fault is None:
                    return response
            replace = replace or (fault.ambiguous and replaceable)
            if tried >= self.attempts or sent >= RESPONSE_URL_USES or (fault.wait or 0) > LONGEST_WAIT:
                raise self._unavailable("response_url", fault)
            log.info(
                "a response_url answer failed (%s): trying again (%d of %d)",
                fault.reason,
                tried + 1,
                self.attempts,
            )
            # Not held against other response_urls: each is its own.
            await self._wait(self._backoff(fault, tried))


_calls: weakref.WeakKeyDictionary[AsyncWebClient, SlackCalls] = weakref.WeakKeyDictionary()


def calls_of(client: AsyncWebClient) -> SlackCalls:
    """The one SlackCalls of this client: every caller shares its methods' waits and pace."""
    found = _calls.get(client)
    if found is None:
        found = _calls[client] = SlackCalls(client)
    return found


def _error(exc: SlackApiError) -> str:
    data = getattr(exc.response, "data", None)
    if isinstance(data, dict) and data.get("error"):
        return str(data["error"])
    return f"HTTP {getattr(exc.response, 'status_code', 0)}"
