"""Socket Mode, for real: the Procfile's `worker:` process (`python -m bot` with SLACK_APP_TOKEN) connects with
slack_sdk's own Socket Mode client (Bolt's SocketModeHandler) to a loopback WebSocket stand-in that speaks Slack's
protocol (tests/socket_mode_standin.py), and the whole conversation goes over it: `/cleanup dogcat` as a
`slash_commands` envelope, the delete click and the modal submissions as `interactive` envelopes, each answered by
an ack on the socket (within Slack's 3 seconds; a modal's errors ride in the ack's payload)."""

from __future__ import annotations

import json
import shlex
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest
import requests

from bot.demo import slack_user
from bot.demo.aws_proxy import AwsProxy
from bot.demo.inventory import existing
from bot.demo.slack_standin import SlackStandIn
from bot.demo.stack import SeededStack
from bot.slack.blocks import CONFIRM_BLOCK, DELETE_ACTION
from tests.e2e.conftest import AppFactory
from tests.e2e.harness import CHANNEL, REQUESTER, ROOT, TEAMMATE, AppProcess
from tests.e2e.test_conversation import db, final_summary, plan_id_of, plan_message, status, text_of, wait_status
from tests.socket_mode_standin import ACK_TIMEOUT, Ack, Envelope, SocketModeStandIn

APP_TOKEN = "xapp-1-A0CLEANUP-0000-not-a-real-token"


def test_app_token_selects_socket_mode(start_app: AppFactory, standin: SlackStandIn) -> None:
    app = start_app(start=False, SLACK_APP_TOKEN=APP_TOKEN)
    app.start_process()
    try:
        # Socket Mode asks the Web API (SLACK_API_URL) for a WebSocket URL with the app-level token.
        standin.wait_for_call("apps.connections.open", timeout=30)
        try:
            requests.post(app.url, data="x", timeout=2)
            served_http = True
        except requests.ConnectionError:
            served_http = False
        assert not served_http, "Socket Mode must not also open the HTTP port"
    finally:
        app.stop()
    assert "xapp-1-A0CLEANUP" not in app.log()


# -- the conversation over the socket --------------------------------------------------------------------------


@pytest.fixture
def socket_mode(standin: SlackStandIn) -> Iterator[SocketModeStandIn]:
    with SocketModeStandIn() as server:
        standin.socket_mode = server.issue_url  # apps.connections.open now answers with its ws:// URL
        yield server
        standin.socket_mode = None


def worker_argv() -> list[str]:
    """The Procfile's `worker:` command, run with this interpreter."""
    line = next(x for x in (ROOT / "Procfile").read_text().splitlines() if x.startswith("worker:"))
    argv = shlex.split(line.removeprefix("worker:"))
    assert argv[0] == "python", line
    return [sys.executable, *argv[1:]]


def start_worker(start_app: AppFactory, socket_mode: SocketModeStandIn, **overrides: str) -> AppProcess:
    app = start_app(start=False, argv=worker_argv(), SLACK_APP_TOKEN=APP_TOKEN, **overrides)
    app.start_process()
    try:
        socket_mode.wait_connected(timeout=60)
    except AssertionError:
        raise AssertionError(f"the worker did not connect:\n{app.log()}") from None
    return app


def acked(socket_mode: SocketModeStandIn, delivery: Envelope) -> Ack:
    ack = socket_mode.wait_ack(delivery, timeout=30)
    assert ack.latency < ACK_TIMEOUT, f"{delivery.type} acked after {ack.latency:.3f} s"
    return ack


def command(socket_mode: SocketModeStandIn, text: str, user: str = REQUESTER) -> tuple[Envelope, Ack]:
    delivery = socket_mode.slash_command(slack_user.slash_command(user, text, CHANNEL))
    return delivery, acked(socket_mode, delivery)


def click(socket_mode: SocketModeStandIn, plan_id: str, user: str, ts: str) -> tuple[Envelope, Ack]:
    delivery = socket_mode.interactive(slack_user.block_actions(DELETE_ACTION, plan_id, user, CHANNEL, ts))
    return delivery, acked(socket_mode, delivery)


def submit(socket_mode: SocketModeStandIn, plan_id: str, user: str, typed: str | None) -> tuple[Envelope, Ack]:
    delivery = socket_mode.interactive(slack_user.view_submission(plan_id, user, typed))
    return delivery, acked(socket_mode, delivery)


def said(ack: Ack) -> str:
    """Everything an ack's payload shows (text and blocks), as the HTTP tests read a response body."""
    return json.dumps(ack.payload or {}, ensure_ascii=False)


def errors_of(ack: Ack) -> dict[str, str]:
    assert ack.payload and ack.payload.get("response_action") == "errors", ack.raw
    return dict(ack.payload["errors"])


def closes_the_modal(ack: Ack) -> bool:
    return not ack.payload  # an ack without a payload, like an empty HTTP 200


def scanned(standin: SlackStandIn, socket_mode: SocketModeStandIn) -> tuple[str, str]:
    """`/cleanup dogcat` over the socket: the ack says it is scanning, then the plan is posted to the channel."""
    _, ack = command(socket_mode, "dogcat")
    assert ack.payload and "Scanning" in ack.payload["text"] and ack.payload["response_type"] == "ephemeral"
    message = plan_message(standin)
    return plan_id_of(message), message.ts


def test_conversation_over_socket_mode(
    start_app: AppFactory,
    standin: SlackStandIn,
    socket_mode: SocketModeStandIn,
    stack: SeededStack,
    session: boto3.session.Session,
    tmp_path: Path,
) -> None:
    before = existing(session)
    assert set(stack.workshop) <= before and set(stack.survivors) <= before
    app = start_worker(start_app, socket_mode)
    connection = socket_mode.current()
    assert connection.path.startswith("/link/?ticket=")
    opened_with = standin.calls_to("apps.connections.open")
    assert len(opened_with) == 1 and opened_with[0].response["url"].startswith("ws://127.0.0.1:")
    with pytest.raises(requests.ConnectionError):
        requests.post(app.url, data="x", timeout=2)  # no HTTP port in Socket Mode

    # small talk is answered in the ack itself
    _, ack = command(socket_mode, "help")
    assert "/cleanup <profile>" in said(ack) and ack.payload and ack.payload["response_type"] == "ephemeral"

    plan_id, ts = scanned(standin, socket_mode)
    posted = standin.wait_for_call("chat.postMessage", lambda c: c.response.get("ts") == ts)
    assert posted.args["channel"] == CHANNEL and not posted.args.get("thread_ts")
    shown = text_of(standin.messages[(CHANNEL, ts)].blocks)
    for name in ("InvokeModelLambda", "SaveHistoryLambda", "PredictionHistory", stack.endpoint, stack.bucket):
        assert name in shown
    for look_alike in ("PredictionHistoryArchive", "InvokeModelLambdaV2", "MLInferenceAPI-prod"):
        assert look_alike not in shown
    assert f"<@{REQUESTER}>" in shown

    clicked, ack = click(socket_mode, plan_id, TEAMMATE, ts)
    assert not clicked.accepts_response_payload and not ack.payload
    opened = standin.wait_for_call("views.open")
    assert opened.args["trigger_id"] == clicked.payload["trigger_id"]
    view = opened.args["view"]
    assert view["private_metadata"] == plan_id
    inputs = [b for b in view["blocks"] if b["type"] == "input"]
    assert len(inputs) == 1 and inputs[0]["element"]["type"] == "plain_text_input"

    # a wrong word: the errors come back in the ack's payload, and nothing runs
    for typed in ("Confirm", "yes", None):
        delivery, ack = submit(socket_mode, plan_id, TEAMMATE, typed)
        assert delivery.accepts_response_payload
        errors = errors_of(ack)
        assert list(errors) == [CONFIRM_BLOCK] and "confirm" in errors[CONFIRM_BLOCK]
    assert status(tmp_path, plan_id) == "pending"
    assert set(stack.workshop) <= existing(session)
    assert not standin.thread(CHANNEL, ts)

    _, ack = submit(socket_mode, plan_id, TEAMMATE, "  confirm \n")
    assert closes_the_modal(ack), ack.raw

    summary = final_summary(standin, ts)
    assert f"approved by <@{TEAMMATE}>" in text_of(summary.blocks)
    assert wait_status(tmp_path, plan_id, "done") == "done"
    after = existing(session)
    assert not (set(stack.workshop) & after), set(stack.workshop) & after
    assert set(stack.survivors) <= after

    # the scan message was updated (chat.update): outcome, approver, no buttons
    assert standin.calls_to("chat.update")
    top = standin.messages[(CHANNEL, ts)]
    assert top.updates >= 1 and not any(b["type"] == "actions" for b in top.blocks)
    assert "Cleanup finished" in text_of(top.blocks) and f"<@{TEAMMATE}>" in text_of(top.blocks)
    # the thread: one progress message updated in place, and the summary
    thread = standin.thread(CHANNEL, ts)
    progress = [m for m in thread if "handled" in text_of(m.blocks) and "Deleti" in text_of(m.blocks)]
    assert len(progress) == 1 and progress[0].updates >= 1
    assert "Deletion finished" in text_of(progress[0].blocks)
    thread_posts = [c for c in standin.calls_to("chat.postMessage") if c.args.get("thread_ts") == ts]
    assert 2 <= len(thread_posts) <= 3 and all(c.args["channel"] == CHANNEL for c in thread_posts)

    audit = [row[0] for row in db(tmp_path).execute("SELECT action FROM audit WHERE plan_id = ?", (plan_id,))]
    assert audit[0] == "requested" and audit.count("approved") == 1 and audit.count("run-started") == 1
    assert audit[-1] == "run-done"

    # every envelope was acknowledged once, in time, on the one connection: nothing had to be redelivered
    assert all(d.retry_attempt == 0 for d in socket_mode.deliveries)
    assert len(socket_mode.acks) == len(socket_mode.deliveries) == 7
    assert max(a.latency for a in socket_mode.acks) < ACK_TIMEOUT
    assert {a.connection for a in socket_mode.acks} == {connection.number}
    assert len(socket_mode.connections) == 1 and not socket_mode.refused
    log = app.log()
    assert "xapp-1-A0CLEANUP" not in log and "xoxb" not in log


def plans(tmp_path: Path) -> int:
    return int(db(tmp_path).execute("SELECT COUNT(*) FROM plans").fetchone()[0])


def test_redelivered_envelopes_start_nothing_twice(
    start_app: AppFactory,
    standin: SlackStandIn,
    socket_mode: SocketModeStandIn,
    stack: SeededStack,
    session: boto3.session.Session,
    aws_proxy: AwsProxy,
    tmp_path: Path,
) -> None:
    start_worker(start_app, socket_mode)

    # the slash command, delivered again (same envelope_id, retry_attempt 1) as if its ack had been late
    first, _ = command(socket_mode, "dogcat")
    again = socket_mode.redeliver(first, "timeout")
    assert (again.envelope_id, again.retry_attempt, again.retry_reason) == (first.envelope_id, 1, "timeout")
    ack = acked(socket_mode, again)
    assert ack.payload and "Scanning" in ack.payload["text"]  # the same answer as the first time
    message = plan_message(standin)
    plan_id, ts = plan_id_of(message), message.ts
    aws_calls = aws_proxy.total()
    time.sleep(2.0)  # a second scan would have started at the redelivery, and be calling AWS by now
    assert aws_proxy.total() == aws_calls
    assert len(standin.top_messages(CHANNEL)) == 1, [text_of(m.blocks)[:200] for m in standin.top_messages(CHANNEL)]
    assert plans(tmp_path) == 1

    # the click, delivered twice: one modal
    clicked, _ = click(socket_mode, plan_id, TEAMMATE, ts)
    acked(socket_mode, socket_mode.redeliver(clicked))
    standin.wait_for_call("views.open")
    time.sleep(1.0)
    assert len(standin.calls_to("views.open")) == 1

    # the approval, whose ack is lost on the way: the stand-in redelivers it after 3 s, and that redelivery must
    # be answered as the first delivery was (the modal closes), not refused as "already approved"
    delivery = socket_mode.interactive(slack_user.view_submission(plan_id, TEAMMATE, "confirm"))
    socket_mode.lose_ack(delivery)
    redelivered = socket_mode.wait_for(
        lambda s: next((d for d in s.deliveries_of(delivery.envelope_id) if d.retry_attempt == 1), None), timeout=30
    )
    assert redelivered.retry_reason == "timeout"
    ack = acked(socket_mode, redelivered)
    assert closes_the_modal(ack), ack.raw
    lost = [a for a in socket_mode.acks_of(delivery.envelope_id) if a.lost]
    assert len(lost) == 1 and lost[0].latency < ACK_TIMEOUT  # the app was in time; the network was not

    final_summary(standin, ts)
    assert wait_status(tmp_path, plan_id, "done") == "done"
    time.sleep(1.0)
    audit = [row[0] for row in db(tmp_path).execute("SELECT action FROM audit WHERE plan_id = ?", (plan_id,))]
    assert audit.count("requested") == 1 and audit.count("approved") == 1 and audit.count("run-started") == 1
    summaries = [m for m in standin.thread(CHANNEL, ts) if "Cleanup of dogcat finished" in text_of(m.blocks)]
    assert len(summaries) == 1
    assert not (set(stack.workshop) & existing(session))
    assert set(stack.survivors) <= existing(session)
    assert plans(tmp_path) == 1
    assert all(a.latency < ACK_TIMEOUT for a in socket_mode.acks)


def test_disconnect_moves_to_a_new_connection(
    start_app: AppFactory, standin: SlackStandIn, socket_mode: SocketModeStandIn, aws_proxy: AwsProxy
) -> None:
    """Slack asks a client to reconnect (`disconnect`, reason `refresh_requested`) every few hours."""
    start_worker(start_app, socket_mode)
    _, ack = command(socket_mode, "help")
    assert "/cleanup <profile>" in said(ack)
    old = socket_mode.disconnect("refresh_requested")
    new = socket_mode.wait_connected(timeout=30, after=old.number)
    assert old.closed.wait(timeout=30), "the old connection was not closed"
    assert len(standin.calls_to("apps.connections.open")) >= 2  # a new URL, a new ticket
    _, ack = command(socket_mode, "help")
    assert "/cleanup <profile>" in said(ack) and ack.connection == new.number
    assert not socket_mode.refused
