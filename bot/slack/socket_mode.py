"""Socket Mode: Bolt's SocketModeHandler (slack_sdk's built-in client), dispatching each envelope once.

Slack delivers an envelope again when its ack has not arrived within 3 seconds: the same `envelope_id`, with
`retry_attempt` + 1 and `retry_reason` "timeout". That happens even when the app answered in time and only the ack
was slow or lost on the way. Dispatched again, a redelivered `/cleanup` would start a second scan and post a second
plan, a click would open a second modal, and an approval's redelivery would be answered "already approved" (an
error in the modal) while its run goes on. So the answer to an envelope's first delivery is kept by `envelope_id`,
and a redelivery gets that same answer without reaching a listener.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import OrderedDict
from typing import Any

from slack_bolt.adapter.socket_mode import SocketModeHandler
from slack_bolt.adapter.socket_mode.internals import run_bolt_app, send_response
from slack_bolt.response import BoltResponse
from slack_sdk.socket_mode.client import BaseSocketModeClient
from slack_sdk.socket_mode.request import SocketModeRequest

log = logging.getLogger(__name__)


class _Answer:
    def __init__(self) -> None:
        self.done = threading.Event()
        self.response: BoltResponse | None = None


class OnceSocketModeHandler(SocketModeHandler):  # type: ignore[misc]
    remembered = 10_000  # envelope ids kept (Slack stops redelivering within minutes)
    wait_for_first = 2.5  # seconds a redelivery waits for the first delivery's answer, within Slack's 3

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._answers: OrderedDict[str, _Answer] = OrderedDict()
        self._answers_lock = threading.Lock()

    def handle(self, client: BaseSocketModeClient, req: SocketModeRequest) -> None:
        start = time.time()
        with self._answers_lock:
            answer = self._answers.get(req.envelope_id)
            first = answer is None
            if answer is None:
                answer = self._answers[req.envelope_id] = _Answer()
                while len(self._answers) > self.remembered:
                    self._answers.popitem(last=False)
        if not first:
            log.info(
                "Socket Mode envelope %s delivered again (retry %s, %s): answered as the first time",
                req.envelope_id,
                req.retry_attempt,
                req.retry_reason,
            )
            if answer.done.wait(self.wait_for_first) and answer.response is not None:
                send_response(client, req, answer.response, start)
            return
        try:
            answer.response = run_bolt_app(self.app, req)
        finally:
            answer.done.set()
        send_response(client, req, answer.response, start)
