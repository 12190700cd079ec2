"""A loopback stand-in for the Slack Web API, for the end-to-end tests and the local demo.

A small threaded HTTP server on 127.0.0.1 that records every Web API call (method, form or JSON arguments) and
answers the way Slack does for the methods the app uses: ``auth.test``, ``chat.postMessage`` (ok, channel, ts),
``chat.update``, ``chat.postEphemeral``, ``views.open``, ``views.update``, ``conversations.info``,
``chat.getPermalink``, ``users.info`` (with each person's ``locales`` entry when asked with ``include_locale``),
``apps.connections.open`` (with the URL that ``socket_mode`` issues, when a test sets
it: see tests/socket_mode_standin.py). Channels listed in ``not_in_channel`` answer ``not_in_channel`` like a
channel the bot was never invited to. Slash-command ``response_url`` posts (``/respond/...``) are recorded too.

Slack's bad minutes, for the reliability tests: ``fail_for(seconds, kind)`` opens a window in which every Web API
call (or only some methods) fails the way Slack does: ``server_error`` (HTTP 500 with an HTML page, from the
edge), ``ratelimited`` (HTTP 429 with ``Retry-After`` and Slack's JSON error) or ``drop`` (the connection closed
without an answer). Those calls are kept in ``faulted``, not in ``calls``, which stays what Slack answered.

Point the app at it with ``SLACK_API_URL=<standin.api_url>``. It keeps the messages it was sent, so a transcript
can be rendered from ``messages`` and ``calls``. Tokens are never recorded.
"""

from __future__ import annotations

import itertools
import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Literal
from urllib.parse import parse_qs

BOT_USER = "UBOTCLEAN"
DEFAULT_LOCALE = "en-US"
BOT_ID = "BBOTCLEAN"
TEAM = "T0DOGCAT"


@dataclass
class Call:
    method: str
    args: dict[str, Any]
    at: float = field(default_factory=time.time)
    response: dict[str, Any] = field(default_factory=dict)


@dataclass
class Message:
    channel: str
    ts: str
    text: str
    blocks: list[dict[str, Any]]
    thread_ts: str = ""
    updates: int = 0


FaultKind = Literal["server_error", "ratelimited", "drop"]


@dataclass(frozen=True)
class Outage:
    """A window in which Slack fails: every call, or only those to `methods`, until `until` (time.monotonic())."""

    kind: FaultKind
    until: float
    retry_after: int = 1  # seconds, for ratelimited
    methods: frozenset[str] = frozenset()

    def hits(self, method: str) -> bool:
        return time.monotonic() < self.until and (not self.methods or method in self.methods)


def _decode(value: Any) -> Any:
    """Form-encoded arguments carry JSON as strings (blocks, view); decode them like Slack does."""
    if isinstance(value, str) and value[:1] in "[{":
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


class SlackStandIn:
    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        self.calls: list[Call] = []
        self.messages: dict[tuple[str, str], Message] = {}
        self.not_in_channel: set[str] = set()
        self.failures: dict[str, str] = {}  # method -> error to answer with
        # users.info: each person's Slack locale (include_locale), DEFAULT_LOCALE for anyone not listed
        self.locales: dict[str, str] = {}
        self.team_id = TEAM  # the installing workspace, as auth.test names it
        self.enterprise_id = ""  # set: the workspace is part of that Enterprise Grid org (auth.test says so)
        self.outage: Outage | None = None  # see fail_for
        self.faulted: list[Call] = []  # calls that met the outage
        # issues a Socket Mode WebSocket URL for apps.connections.open; unset, it answers ok without a URL
        self.socket_mode: Callable[[], str] | None = None
        self._lock = threading.Condition()
        self._seq = itertools.count(1)
        self._base = int(time.time())
        standin = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:  # quiet
                return

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                ctype = self.headers.get("Content-Type", "")
                args: dict[str, Any] = {}
                if "json" in ctype and raw:
                    args = json.loads(raw)
                elif raw:
                    args = {k: _decode(v[-1]) for k, v in parse_qs(raw.decode(), keep_blank_values=True).items()}
                args.pop("token", None)
                path = self.path.split("?", 1)[0]
                if path.startswith("/respond/"):
                    body = standin._record("response_url", {**args, "url_path": path}, {"ok": True})
                else:
                    method = path.rsplit("/", 1)[-1]
                    outage = standin._outage_for(method, args)
                    if outage is not None:
                        self._fail(outage)
                        return
                    bearer = self.headers.get("Authorization", "").removeprefix("Bearer ")
                    body = standin._answer(method, args, app_token=bearer.startswith("xapp-"))
                data = json.dumps(body).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json; charset=utf-8")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST

            def _fail(self, outage: Outage) -> None:
                if outage.kind == "drop":  # no status line at all: the client sees the connection end
                    self.close_connection = True
                    return
                if outage.kind == "ratelimited":
                    status, ctype, data = 429, "application/json; charset=utf-8", b'{"ok":false,"error":"ratelimited"}'
                else:
                    status, ctype, data = 500, "text/html", b"<html><body><h1>500 Server Error</h1></body></html>"
                self.send_response(status)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(data)))
                if outage.kind == "ratelimited":
                    self.send_header("Retry-After", str(outage.retry_after))
                self.end_headers()
                self.wfile.write(data)

        self.server = ThreadingHTTPServer((host, port), Handler)
        self.server.daemon_threads = True
        # A short poll so that stopping takes milliseconds, not the default half second.
        self._thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.02}, name="slack-standin", daemon=True
        )

    # -- life cycle ----------------------------------------------------------------------------------------------

    @property
    def url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host!s}:{port}"

    @property
    def api_url(self) -> str:
        return f"{self.url}/api/"

    def response_url(self, name: str = "cmd") -> str:
        return f"{self.url}/respond/{name}"

    def start(self) -> SlackStandIn:
        self._thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def __enter__(self) -> SlackStandIn:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- faults ---------------------------------------------------------------------------------------------------

    def fail_for(
        self, seconds: float, kind: FaultKind = "server_error", methods: tuple[str, ...] = (), retry_after: int = 1
    ) -> Outage:
        """From now on, for `seconds`, answer every call (or those to `methods`) with the fault `kind`."""
        with self._lock:
            self.outage = Outage(kind, time.monotonic() + seconds, retry_after, frozenset(methods))
            return self.outage

    def end_outage(self) -> None:
        with self._lock:
            self.outage = None

    def _outage_for(self, method: str, args: dict[str, Any]) -> Outage | None:
        with self._lock:
            outage = self.outage
            if outage is None or not outage.hits(method):
                return None
            self.faulted.append(Call(method, args, response={"fault": outage.kind}))
            self._lock.notify_all()
            return outage

    # -- answering -----------------------------------------------------------------------------------------------

    def _ts(self) -> str:
        return f"{self._base}.{next(self._seq):06d}"

    def _record(self, method: str, args: dict[str, Any], response: dict[str, Any]) -> dict[str, Any]:
        with self._lock:
            self.calls.append(Call(method, args, response=response))
            self._lock.notify_all()
        return response

    def _answer(self, method: str, args: dict[str, Any], app_token: bool = False) -> dict[str, Any]:
        with self._lock:
            response = self._respond(method, args, app_token)
            self.calls.append(Call(method, args, response=response))
            self._lock.notify_all()
        return response

    def _respond(self, method: str, args: dict[str, Any], app_token: bool = False) -> dict[str, Any]:
        if method in self.failures:
            return {"ok": False, "error": self.failures[method]}
        if method == "apps.connections.open" and self.socket_mode is not None:
            if not app_token:  # Slack wants the app-level token (xapp-) here, not the bot token
                return {"ok": False, "error": "not_allowed_token_type"}
            return {"ok": True, "url": self.socket_mode()}
        channel = str(args.get("channel", ""))
        if method == "auth.test":
            answer: dict[str, Any] = {
                "ok": True,
                "url": "https://dogcat.example.slack.com/",
                "team": "Dogcat",
                "user": "dogcat-cleanup",
                "team_id": self.team_id,
                "user_id": BOT_USER,
                "bot_id": BOT_ID,
                "is_enterprise_install": False,
            }
            if self.enterprise_id:
                answer["enterprise_id"] = self.enterprise_id
            return answer
        if method in ("chat.postMessage", "chat.update", "chat.postEphemeral") and not channel:
            return {"ok": False, "error": "channel_not_found"}
        if method in ("chat.postMessage", "chat.update", "chat.postEphemeral") and channel in self.not_in_channel:
            return {"ok": False, "error": "not_in_channel"}
        if method == "chat.postMessage":
            ts = self._ts()
            message = Message(
                channel,
                ts,
                str(args.get("text", "")),
                list(_decode(args.get("blocks")) or []),
                str(args.get("thread_ts", "") or ""),
            )
            self.messages[(channel, ts)] = message
            return {
                "ok": True,
                "channel": channel,
                "ts": ts,
                "message": {"type": "message", "text": message.text, "ts": ts, "bot_id": BOT_ID},
            }
        if method == "chat.update":
            ts = str(args.get("ts", ""))
            found = self.messages.get((channel, ts))
            if found is None:
                return {"ok": False, "error": "message_not_found"}
            found.text = str(args.get("text", found.text))
            if "blocks" in args:
                found.blocks = list(_decode(args["blocks"]) or [])
            found.updates += 1
            return {"ok": True, "channel": channel, "ts": ts, "text": found.text}
        if method == "chat.postEphemeral":
            return {"ok": True, "message_ts": self._ts()}
        if method in ("views.open", "views.update", "views.push"):
            if method == "views.open" and not args.get("trigger_id"):
                return {"ok": False, "error": "invalid_trigger_id"}
            view = _decode(args.get("view")) or {}
            return {"ok": True, "view": {"id": f"V{next(self._seq):08d}", "team_id": TEAM, **view}}
        if method == "users.info":
            user = str(args.get("user", ""))
            if not user:
                return {"ok": False, "error": "user_not_found"}
            info: dict[str, Any] = {"id": user, "team_id": self.team_id, "name": user.lower(), "is_bot": False}
            if str(args.get("include_locale", "")).lower() in ("true", "1"):
                info["locale"] = self.locales.get(user, DEFAULT_LOCALE)
            return {"ok": True, "user": info}
        if method == "conversations.info":
            return {
                "ok": True,
                "channel": {"id": channel, "name": channel.lower(), "is_member": channel not in self.not_in_channel},
            }
        if method == "chat.getPermalink":
            ts = str(args.get("message_ts", ""))
            return {
                "ok": True,
                "channel": channel,
                "permalink": f"https://dogcat.example.slack.com/archives/{channel}/p{ts}",
            }
        return {"ok": True}

    # -- inspection ----------------------------------------------------------------------------------------------

    def calls_to(self, method: str | None = None) -> list[Call]:
        with self._lock:
            return [c for c in self.calls if method is None or c.method == method]

    def wait_for(self, predicate: Callable[[SlackStandIn], Any], timeout: float = 30.0) -> Any:
        """Wait until predicate(self) is truthy and return its value; AssertionError on time-out."""
        deadline = time.monotonic() + timeout
        with self._lock:
            while True:
                value = predicate(self)
                if value:
                    return value
                left = deadline - time.monotonic()
                if left <= 0:
                    methods = [c.method for c in self.calls]
                    raise AssertionError(f"timed out waiting for the Slack stand-in; calls so far: {methods}")
                self._lock.wait(min(left, 0.2))

    def wait_for_call(self, method: str, where: Callable[[Call], bool] = lambda c: True, timeout: float = 30.0) -> Call:
        result: Call = self.wait_for(
            lambda s: next((c for c in s.calls if c.method == method and where(c)), None), timeout
        )
        return result

    def thread(self, channel: str, ts: str) -> list[Message]:
        with self._lock:
            return [m for m in self.messages.values() if m.channel == channel and m.thread_ts == ts]

    def top_messages(self, channel: str) -> list[Message]:
        with self._lock:
            return [m for m in self.messages.values() if m.channel == channel and not m.thread_ts]
