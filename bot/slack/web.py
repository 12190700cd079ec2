"""The one wrapper of Slack's Web API calls the app makes. Every caller goes through it, so every call handles
Slack's errors the same way: logged with Slack's error code, never raised into AWS work or a listener, and told
to the caller as an empty answer (or, where the caller words its own reply, as the error code).

Slack has bad minutes: `ratelimited` (HTTP 429 with Retry-After), 5xx, connections dropped or timing out. Every
call gets slack_sdk's own retry handlers for those (a few seconds' worth, installed on the app's one WebClient,
so Bolt's listeners have them too). The calls that report the end of a run (`post_until`, `update_until`) keep
trying with backoff until a deadline some minutes away (`Persistence`), so a run's summary reaches its thread
even after Slack was down for a minute; errors that retrying cannot cure (`not_in_channel`...) end at once.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from http.client import HTTPException, RemoteDisconnected
from typing import Any
from urllib.error import URLError

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry import (
    ConnectionErrorRetryHandler,
    HttpRequest,
    HttpResponse,
    RateLimitErrorRetryHandler,
    RetryHandler,
    RetryState,
)
from slack_sdk.http_retry.builtin_handlers import ServerErrorRetryHandler

log = logging.getLogger(__name__)

# Slack's own words for "try again later" in an error answer (besides HTTP 429 and 5xx)
TRANSIENT_ERRORS = frozenset(
    {"ratelimited", "fatal_error", "internal_error", "service_unavailable", "request_timeout", "team_added_to_org"}
)
SERVER_ERROR_STATUSES = frozenset({500, 502, 503, 504})
NETWORK_ERRORS: tuple[type[Exception], ...] = (URLError, ConnectionError, TimeoutError, HTTPException)
SDK_RETRIES = 2  # per call, inside slack_sdk: seconds of backoff, never minutes
SDK_LONGEST_RATE_LIMIT_WAIT = 30.0  # a longer Retry-After is left to the caller (a listener must not sleep on it)


@dataclass(frozen=True)
class Persistence:
    """How long the calls that must get through (a run's end) keep trying while Slack is failing."""

    seconds: float = 300.0  # a few minutes: a minute-long outage still gets the summary to the thread
    first_pause: float = 2.0
    longest_pause: float = 30.0

    def pause(self, attempt: int, retry_after: float) -> float:
        """Exponential backoff from first_pause, capped; never shorter than Slack's Retry-After."""
        return max(retry_after, min(self.longest_pause, self.first_pause * 2.0**attempt))


class _RateLimitRetry(RateLimitErrorRetryHandler):
    """slack_sdk's rate-limit handler (sleeps Retry-After), only for waits short enough to sleep in any thread."""

    def _can_retry(
        self,
        *,
        state: RetryState,
        request: HttpRequest,
        response: HttpResponse | None = None,
        error: Exception | None = None,
    ) -> bool:
        if not super()._can_retry(state=state, request=request, response=response, error=error):
            return False
        assert response is not None
        return _retry_after(response.headers) <= SDK_LONGEST_RATE_LIMIT_WAIT


class _ServerErrorRetry(ServerErrorRetryHandler):
    """slack_sdk's 5xx handler knows 500 and 503; Slack's edge also answers 502 and 504."""

    def _can_retry(
        self,
        *,
        state: RetryState,
        request: HttpRequest,
        response: HttpResponse | None = None,
        error: Exception | None = None,
    ) -> bool:
        return response is not None and response.status_code in SERVER_ERROR_STATUSES


def retry_handlers() -> list[RetryHandler]:
    """slack_sdk's handlers for dropped connections and timeouts, 429 with Retry-After, and 5xx."""
    network: list[type[Exception]] = [URLError, ConnectionError, RemoteDisconnected, TimeoutError]
    return [
        ConnectionErrorRetryHandler(max_retry_count=SDK_RETRIES, error_types=network),
        _RateLimitRetry(max_retry_count=SDK_RETRIES),
        _ServerErrorRetry(max_retry_count=SDK_RETRIES),
    ]


# What Slack answers auth.test when the token itself is wrong, not when Slack is having a bad moment.
REFUSED_TOKEN_ERRORS = frozenset(
    {"invalid_auth", "not_authed", "account_inactive", "token_revoked", "token_expired", "not_allowed_token_type"}
)


def check_bot_token(token: str, api_url: str) -> str:
    """Why Slack refuses the bot token ("" when it accepts it), asked once with `auth.test` before serving.

    Bolt asks the same when a worker builds the app, but fails there with a traceback and gunicorn halts with "Worker
    failed to boot"; asked first, a wrong or revoked token stops the app with one line. Slack unreachable or down
    is not a verdict on the token: the app starts, and Bolt's own check decides."""
    _answer, error = SlackWeb(WebClient(token=token, base_url=api_url, timeout=10)).auth_test()
    if error in REFUSED_TOKEN_ERRORS:
        return error
    if error:  # Slack unreachable or failing: not the token's fault
        log.warning("auth.test failed before serving (%s); starting anyway", error)
    return ""


def install_retries(client: WebClient) -> None:
    """Give the client the retry handlers, once (several SlackWeb may wrap the app's one client)."""
    if not any(isinstance(h, _ServerErrorRetry) for h in client.retry_handlers):
        client.retry_handlers = retry_handlers()


def _retry_after(headers: Any) -> float:
    """Slack's Retry-After header (seconds), 0 when absent; header values may be lists (slack_sdk's retry view)."""
    for key, value in dict(headers or {}).items():
        if key.lower() == "retry-after":
            first = value[0] if isinstance(value, list | tuple) else value
            try:
                return max(0.0, float(first))
            except (TypeError, ValueError):
                return 0.0
    return 0.0


@dataclass(frozen=True)
class _Answer:
    """One call's outcome: Slack's response, or its error code, whether trying again may help, and when."""

    response: Any = None
    error: str = ""
    transient: bool = False
    retry_after: float = 0.0

    @property
    def ok(self) -> bool:
        return not self.error


def _call(call: Callable[[], Any]) -> _Answer:
    try:
        return _Answer(call())
    except SlackApiError as e:
        status = int(getattr(e.response, "status_code", 0) or 0)
        code = str(e.response.get("error", "") or "")
        if not code.replace("_", "").isalnum():  # a non-JSON body (an HTML error page): its status says enough
            code = f"http_{status}" if status else "unknown"
        transient = status == 429 or status in SERVER_ERROR_STATUSES or code in TRANSIENT_ERRORS
        return _Answer(None, code, transient, _retry_after(e.response.headers))
    except NETWORK_ERRORS as e:  # refused, reset, dropped, timed out: Slack unreachable for now
        return _Answer(None, type(e).__name__, True)
    except Exception as e:  # never raised into a run or a listener
        log.exception("Slack call failed unexpectedly")
        return _Answer(None, type(e).__name__)


class SlackWeb:
    """The few Web API calls the app makes; errors are logged, never raised."""

    def __init__(self, client: WebClient, persistence: Persistence | None = None, sdk_retries: bool = True) -> None:
        if sdk_retries:  # off for lookups that must answer within a modal's trigger time, retried or not
            install_retries(client)
        self.client = client
        self.persistence = persistence or Persistence()

    def deadline(self) -> float:
        """When calls that must get through, started now, give up (time.monotonic())."""
        return time.monotonic() + self.persistence.seconds

    def post(self, channel: str, text: str, blocks_: list[dict[str, Any]], thread_ts: str = "") -> str:
        """chat.postMessage; the message's ts, or "" when Slack refused it."""
        return self.post_checked(channel, text, blocks_, thread_ts)[0]

    def post_checked(
        self, channel: str, text: str, blocks_: list[dict[str, Any]], thread_ts: str = ""
    ) -> tuple[str, str]:
        """chat.postMessage: (ts, "") when posted, ("", Slack's error code) when not."""
        answer = self._post(channel, text, blocks_, thread_ts)
        return (str(answer.response["ts"]) if answer.ok else ""), answer.error

    def post_until(
        self,
        deadline: float,
        channel: str,
        text: str,
        blocks_: list[dict[str, Any]],
        thread_ts: str = "",
        stop: threading.Event | None = None,
    ) -> str:
        """chat.postMessage, tried again while Slack fails in a way time can cure, until `deadline`."""
        answer = self._persist(lambda: self._post(channel, text, blocks_, thread_ts), deadline, stop)
        return str(answer.response["ts"]) if answer.ok else ""

    def update(self, channel: str, ts: str, text: str, blocks_: list[dict[str, Any]]) -> bool:
        return self._update(channel, ts, text, blocks_).ok

    def update_until(
        self,
        deadline: float,
        channel: str,
        ts: str,
        text: str,
        blocks_: list[dict[str, Any]],
        stop: threading.Event | None = None,
    ) -> bool:
        """chat.update, tried again while Slack fails in a way time can cure, until `deadline`."""
        return self._persist(lambda: self._update(channel, ts, text, blocks_), deadline, stop).ok

    def auth_test(self) -> tuple[dict[str, Any], str]:
        """auth.test: (Slack's answer, "") or ({}, Slack's error code, or the network error's name)."""
        answer = _call(self.client.auth_test)
        if not answer.ok:
            log.warning("auth.test failed: %s", answer.error)
            return {}, answer.error
        return dict(answer.response.data), ""

    def user_info(self, user: str) -> dict[str, Any] | None:
        """users.info with the person's locale; None when Slack cannot say."""
        answer = _call(lambda: self.client.users_info(user=user, include_locale=True))
        if not answer.ok:
            log.warning("users.info for %s failed: %s", user, answer.error)
            return None
        info = answer.response.get("user")
        return info if isinstance(info, dict) else {}

    def open_view(self, trigger_id: str, view: dict[str, Any]) -> bool:
        """views.open with a click's trigger_id (valid for 3 seconds); False when Slack refused it."""
        answer = _call(lambda: self.client.views_open(trigger_id=trigger_id, view=view))
        if not answer.ok:
            log.warning("views.open failed: %s", answer.error)
        return answer.ok

    def permalink(self, channel: str, ts: str) -> str:
        """The link to a message, or "" when Slack cannot give one."""
        if not ts:
            return ""
        answer = _call(lambda: self.client.chat_getPermalink(channel=channel, message_ts=ts))
        if not answer.ok:
            log.warning("chat.getPermalink in %s failed: %s", channel, answer.error)
            return ""
        return str(answer.response.get("permalink") or "")

    def ephemeral(self, channel: str, user: str, text: str, response_url: str = "") -> None:
        """Tell one person; through chat.postEphemeral, or the command's response_url when that fails."""
        answer = _call(lambda: self.client.chat_postEphemeral(channel=channel, user=user, text=text))
        if answer.ok:
            return
        log.info("chat.postEphemeral in %s failed: %s", channel, answer.error)
        if response_url:
            from slack_sdk.webhook import WebhookClient

            try:
                WebhookClient(response_url).send(text=text, response_type="ephemeral")
            except Exception:  # the requester just does not get the note
                log.warning("response_url post failed", exc_info=True)

    # -- internals ---------------------------------------------------------------------------------------------

    def _post(self, channel: str, text: str, blocks_: list[dict[str, Any]], thread_ts: str) -> _Answer:
        if not channel:  # a run started from the command line, resumed here: it has no Slack thread
            return _Answer(None, "no_channel")
        kwargs: dict[str, Any] = {"channel": channel, "text": text, "blocks": blocks_}
        if thread_ts:
            kwargs["thread_ts"] = thread_ts
        answer = _call(lambda: self.client.chat_postMessage(**kwargs))
        if not answer.ok:
            hint = " (invite the app to the channel)" if answer.error in ("not_in_channel", "channel_not_found") else ""
            log.warning("chat.postMessage to %s failed: %s%s", channel, answer.error, hint)
        return answer

    def _update(self, channel: str, ts: str, text: str, blocks_: list[dict[str, Any]]) -> _Answer:
        if not ts:
            return _Answer(None, "no_message")
        answer = _call(lambda: self.client.chat_update(channel=channel, ts=ts, text=text, blocks=blocks_))
        if not answer.ok:
            log.warning("chat.update of %s in %s failed: %s", ts, channel, answer.error)
        return answer

    def _persist(self, attempt: Callable[[], _Answer], deadline: float, stop: threading.Event | None) -> _Answer:
        waiting = stop or threading.Event()
        tries = 0
        while True:
            answer = attempt()
            if answer.ok or not answer.transient:
                if tries and answer.ok:
                    log.info("Slack answered again after %d failed tries", tries)
                return answer
            tries += 1
            left = deadline - time.monotonic()
            if left <= 0:
                log.warning("Slack still failing (%s) after %d tries; giving up on this message", answer.error, tries)
                return answer
            if waiting.wait(min(left, self.persistence.pause(tries - 1, answer.retry_after))):  # the app stops
                return answer
