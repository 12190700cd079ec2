"""A loopback stand-in for Slack's Socket Mode WebSocket, for the tests only.

A real WebSocket server (the `websockets` library's threaded server) on 127.0.0.1 that speaks Slack's Socket Mode
protocol, so the app's own Socket Mode client (slack_sdk's, started by Bolt's SocketModeHandler) is tested over
real frames:

- The app asks the Web API for a URL (``apps.connections.open``); `SlackStandIn.socket_mode` is pointed at
  `issue_url`, which hands out a one-time ticket. A connection without a valid ticket is refused (401).
- On connect the server sends ``hello`` (``num_connections``, ``debug_info``, ``connection_info.app_id``).
- `deliver` sends an envelope ``{"envelope_id", "type", "payload", "accepts_response_payload", "retry_attempt",
  "retry_reason"}``: ``slash_commands`` (the command's fields as an object) or ``interactive`` (block_actions,
  view_submission...).
- The app acknowledges with ``{"envelope_id", "payload"?}``; every ack is recorded with its latency, measured from
  the moment its delivery went out.
- An envelope not acknowledged within `ack_timeout` (Slack's 3 seconds) is delivered again with the same
  ``envelope_id``, ``retry_attempt`` + 1 and ``retry_reason: "timeout"``, up to `max_retries` times. `lose_ack`
  drops an envelope's next ack as if it was lost on the way, which makes the ack late without slowing the app.
- `disconnect` sends ``{"type": "disconnect", "reason": ...}``, after which a client opens a new connection.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlsplit

from websockets.exceptions import ConnectionClosed
from websockets.http11 import Request, Response
from websockets.sync.server import Server, ServerConnection, serve

from bot.demo.slack_user import APP_ID

ACK_TIMEOUT = 3.0  # seconds: Slack redelivers an envelope whose ack has not arrived by then


@dataclass
class Envelope:
    """One delivery of an envelope (a redelivery is another Envelope with the same envelope_id)."""

    envelope_id: str
    type: str
    payload: dict[str, Any]
    accepts_response_payload: bool
    retry_attempt: int = 0
    retry_reason: str = ""
    connection: int = 0
    sent_at: float = 0.0  # time.monotonic()

    def message(self) -> dict[str, Any]:
        return {
            "envelope_id": self.envelope_id,
            "type": self.type,
            "payload": self.payload,
            "accepts_response_payload": self.accepts_response_payload,
            "retry_attempt": self.retry_attempt,
            "retry_reason": self.retry_reason,
        }


@dataclass
class Ack:
    envelope_id: str
    payload: dict[str, Any] | None
    retry_attempt: int  # of the delivery it answers (the latest one sent before it arrived)
    latency: float  # seconds from that delivery to this ack
    connection: int
    raw: dict[str, Any] = field(default_factory=dict)
    lost: bool = False  # dropped by `lose_ack`: it does not count as an acknowledgement


@dataclass
class Connection:
    number: int
    path: str
    ws: ServerConnection
    opened_at: float = field(default_factory=time.monotonic)
    closed: threading.Event = field(default_factory=threading.Event)
    send_lock: threading.Lock = field(default_factory=threading.Lock)
    received: list[dict[str, Any]] = field(default_factory=list)  # every non-ack message from the client

    def send(self, message: dict[str, Any]) -> None:
        with self.send_lock:
            self.ws.send(json.dumps(message))


class SocketModeStandIn:
    def __init__(
        self,
        app_id: str = APP_ID,
        host: str = "127.0.0.1",
        ack_timeout: float = ACK_TIMEOUT,
        max_retries: int = 3,
    ) -> None:
        self.app_id = app_id
        self.ack_timeout = ack_timeout
        self.max_retries = max_retries
        self.connections: list[Connection] = []
        self.deliveries: list[Envelope] = []
        self.acks: list[Ack] = []
        self.refused: list[str] = []  # paths of handshakes refused (unknown or reused ticket)
        self._tickets: set[str] = set()
        self._lose: dict[str, int] = {}
        self._numbers = itertools.count(1)
        self._lock = threading.Condition()
        self._stopping = threading.Event()
        self.server: Server = serve(self._handle, host, 0, process_request=self._check_ticket)
        self._threads = [
            threading.Thread(target=self.server.serve_forever, name="socket-mode-standin", daemon=True),
            threading.Thread(target=self._redeliver_late, name="socket-mode-redelivery", daemon=True),
        ]

    # -- life cycle ----------------------------------------------------------------------------------------------

    @property
    def address(self) -> tuple[str, int]:
        host, port = self.server.socket.getsockname()[:2]
        return str(host), int(port)

    def issue_url(self) -> str:
        """What apps.connections.open answers: a ws:// URL on loopback with a one-time ticket (Slack's is wss://
        on port 443; slack_sdk's built-in client speaks plain TCP to any other port)."""
        ticket = uuid.uuid4().hex
        with self._lock:
            self._tickets.add(ticket)
        host, port = self.address
        return f"ws://{host}:{port}/link/?ticket={ticket}&app_id={self.app_id}"

    def start(self) -> SocketModeStandIn:
        for thread in self._threads:
            thread.start()
        return self

    def stop(self) -> None:
        self._stopping.set()
        with self._lock:
            connections = list(self.connections)
        for connection in connections:
            connection.ws.close()
        self.server.shutdown()
        for thread in self._threads:
            thread.join(timeout=10)

    def __enter__(self) -> SocketModeStandIn:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- the server side -----------------------------------------------------------------------------------------

    def _check_ticket(self, ws: ServerConnection, request: Request) -> Response | None:
        parts = urlsplit(request.path)
        ticket = (parse_qs(parts.query).get("ticket") or [""])[0]
        with self._lock:
            valid = parts.path == "/link/" and ticket in self._tickets
            self._tickets.discard(ticket)
            if not valid:
                self.refused.append(request.path)
        if valid:
            return None
        return ws.respond(401, "invalid or used ticket\n")

    def _handle(self, ws: ServerConnection) -> None:
        with self._lock:
            connection = Connection(next(self._numbers), ws.request.path if ws.request else "", ws)
            self.connections.append(connection)
            live = sum(1 for c in self.connections if not c.closed.is_set())
            self._lock.notify_all()
        try:
            connection.send(
                {
                    "type": "hello",
                    "num_connections": live,
                    "debug_info": {
                        "host": "applink-standin-1",
                        "build_number": 1,
                        "approximate_connection_time": 18060,
                    },
                    "connection_info": {"app_id": self.app_id},
                }
            )
            for raw in ws:
                self._received(connection, raw)
        except ConnectionClosed:
            pass
        finally:
            with self._lock:
                connection.closed.set()
                self._lock.notify_all()

    def _received(self, connection: Connection, raw: str | bytes) -> None:
        arrived = time.monotonic()
        try:
            message = json.loads(raw)
        except ValueError:
            message = {"unparsed": raw if isinstance(raw, str) else raw.decode(errors="replace")}
        with self._lock:
            envelope_id = message.get("envelope_id") if isinstance(message, dict) else None
            delivery = self._latest(str(envelope_id)) if envelope_id else None
            if delivery is None:
                connection.received.append(message if isinstance(message, dict) else {"value": message})
            else:
                lost = self._lose.get(delivery.envelope_id, 0) > 0
                if lost:
                    self._lose[delivery.envelope_id] -= 1
                payload = message.get("payload")
                self.acks.append(
                    Ack(
                        delivery.envelope_id,
                        payload if isinstance(payload, dict) else None,
                        delivery.retry_attempt,
                        arrived - delivery.sent_at,
                        connection.number,
                        message,
                        lost,
                    )
                )
            self._lock.notify_all()

    def _latest(self, envelope_id: str) -> Envelope | None:
        return next((d for d in reversed(self.deliveries) if d.envelope_id == envelope_id), None)

    @staticmethod
    def _answers(ack: Ack, delivery: Envelope) -> bool:
        """A counted ack of this envelope, for this delivery or a later one."""
        return ack.envelope_id == delivery.envelope_id and ack.retry_attempt >= delivery.retry_attempt and not ack.lost

    def _acked(self, delivery: Envelope) -> bool:
        return any(self._answers(a, delivery) for a in self.acks)

    def _redeliver_late(self) -> None:
        while not self._stopping.wait(0.05):
            now = time.monotonic()
            with self._lock:
                latest: dict[str, Envelope] = {}
                for d in self.deliveries:
                    latest[d.envelope_id] = d
                late = [
                    d
                    for d in latest.values()
                    if d.retry_attempt < self.max_retries and now - d.sent_at > self.ack_timeout and not self._acked(d)
                ]
            for delivery in late:
                # without a connection it waits for the next one; a test waiting for its ack says so
                with contextlib.suppress(ConnectionClosed, RuntimeError):
                    self.redeliver(delivery, "timeout")

    # -- what a test does ----------------------------------------------------------------------------------------

    def wait_for(self, predicate: Callable[[SocketModeStandIn], Any], timeout: float = 30.0) -> Any:
        """Wait until predicate(self) is truthy and return its value; AssertionError on time-out."""
        deadline = time.monotonic() + timeout
        with self._lock:
            while True:
                value = predicate(self)
                if value:
                    return value
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(
                        f"timed out waiting for the Socket Mode stand-in; {len(self.connections)} connection(s), "
                        f"deliveries {[(d.type, d.retry_attempt) for d in self.deliveries]}, "
                        f"acks {[(a.envelope_id[:8], a.retry_attempt, round(a.latency, 3)) for a in self.acks]}"
                    )
                self._lock.wait(min(left, 0.2))

    def wait_connected(self, timeout: float = 30.0, after: int = 0) -> Connection:
        """The newest open connection numbered above `after`, once it exists."""

        def open_one(s: SocketModeStandIn) -> Connection | None:
            return next((c for c in reversed(s.connections) if c.number > after and not c.closed.is_set()), None)

        found: Connection = self.wait_for(open_one, timeout)
        return found

    def current(self) -> Connection:
        with self._lock:
            live = [c for c in self.connections if not c.closed.is_set()]
        if not live:
            raise RuntimeError("no open Socket Mode connection")
        return live[-1]

    def deliver(
        self,
        type: str,
        payload: dict[str, Any],
        accepts_response_payload: bool = True,
        envelope_id: str = "",
        retry_attempt: int = 0,
        retry_reason: str = "",
    ) -> Envelope:
        connection = self.current()
        delivery = Envelope(
            envelope_id or str(uuid.uuid4()),
            type,
            payload,
            accepts_response_payload,
            retry_attempt,
            retry_reason,
            connection.number,
        )
        with self._lock:
            delivery.sent_at = time.monotonic()
            self.deliveries.append(delivery)
        connection.send(delivery.message())
        return delivery

    def slash_command(self, fields: dict[str, str]) -> Envelope:
        return self.deliver("slash_commands", dict(fields), accepts_response_payload=True)

    def interactive(self, payload: dict[str, Any]) -> Envelope:
        # Slack accepts a response payload for submissions (response_action), not for button clicks
        accepts = payload.get("type") in ("view_submission", "block_suggestion")
        return self.deliver("interactive", payload, accepts_response_payload=accepts)

    def redeliver(self, delivery: Envelope, reason: str = "timeout") -> Envelope:
        """The same envelope again, as Slack sends it when the ack was late: same envelope_id, retry_attempt + 1."""
        with self._lock:
            attempt = max(d.retry_attempt for d in self.deliveries if d.envelope_id == delivery.envelope_id) + 1
        return self.deliver(
            delivery.type, delivery.payload, delivery.accepts_response_payload, delivery.envelope_id, attempt, reason
        )

    def lose_ack(self, delivery: Envelope, count: int = 1) -> None:
        """Drop the next `count` acks of this envelope as if lost on the way: it is redelivered after ack_timeout."""
        with self._lock:
            self._lose[delivery.envelope_id] = self._lose.get(delivery.envelope_id, 0) + count

    def wait_ack(self, delivery: Envelope, timeout: float = 30.0) -> Ack:
        """The first counted ack of this envelope that answers this delivery or a later one."""

        def acked(s: SocketModeStandIn) -> Ack | None:
            return next((a for a in s.acks if s._answers(a, delivery)), None)

        found: Ack = self.wait_for(acked, timeout)
        return found

    def acks_of(self, envelope_id: str) -> list[Ack]:
        with self._lock:
            return [a for a in self.acks if a.envelope_id == envelope_id]

    def deliveries_of(self, envelope_id: str) -> list[Envelope]:
        with self._lock:
            return [d for d in self.deliveries if d.envelope_id == envelope_id]

    def disconnect(self, reason: str = "refresh_requested") -> Connection:
        """Ask the client to move to a new connection, as Slack does every few hours (`refresh_requested`)."""
        connection = self.current()
        connection.send({"type": "disconnect", "reason": reason, "debug_info": {"host": "applink-standin-1"}})
        return connection
