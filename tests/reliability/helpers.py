"""Shared steps for the reliability tests: the conversation of tests/e2e, plus timing and AWS-side counting."""

from __future__ import annotations

import json
import sqlite3
import time
import uuid
from collections import Counter
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import requests

from bot.demo.stack import SeededStack
from bot.slack.standin import Message, SlackStandIn
from tests.e2e.harness import CHANNEL, REQUESTER, TEAM, AppProcess
from tests.e2e.test_conversation import final_summary, plan_id_of, plan_message, text_of, wait_status

__all__ = [
    "ACK_LIMIT",
    "approve",
    "audit",
    "block_actions",
    "delete_counts",
    "expected_deletes",
    "final_summary",
    "plan_id_of",
    "plan_message",
    "scan",
    "send",
    "text_of",
    "thread_text",
    "timed",
    "view_submission",
    "wait_status",
]

ACK_LIMIT = 3.0  # Slack shows an error to the user when an HTTP request is not answered within 3 s

# resource type in SeededStack lists -> the AWS operation that deletes it, as the proxy names it
DELETE_OPERATION = {
    "sagemaker.endpoint": "sagemaker.DeleteEndpoint",
    "sagemaker.endpoint-config": "sagemaker.DeleteEndpointConfig",
    "sagemaker.model": "sagemaker.DeleteModel",
    "lambda.function": "lambda.DeleteFunction",
    "dynamodb.table": "dynamodb.DeleteTable",
    "apigateway.rest-api": "api-gateway.DeleteRestApi",
    "iam.role": "iam.DeleteRole",
    "s3.bucket": "s3.DeleteBucket",
    "logs.log-group": "cloudwatch-logs.DeleteLogGroup",
}


def timed(call: Any, *args: Any, **kwargs: Any) -> tuple[requests.Response, float]:
    started = time.monotonic()
    response = call(*args, **kwargs)
    return response, time.monotonic() - started


def scan(app: AppProcess, standin: SlackStandIn, user: str = REQUESTER, timeout: float = 60) -> tuple[str, str]:
    """/cleanup dogcat, acked in time; returns (plan id, plan message ts) once the plan is posted."""
    before = len(standin.top_messages(CHANNEL))
    r, seconds = timed(app.command, "dogcat", user=user)
    assert r.status_code == 200 and seconds < ACK_LIMIT, (r.status_code, seconds, app.log()[-3000:])
    message: Message = standin.wait_for(
        lambda s: len(s.top_messages(CHANNEL)) > before and s.top_messages(CHANNEL)[-1], timeout
    )
    return plan_id_of(message), message.ts


def approve(app: AppProcess, plan_id: str, user: str, ts: str) -> None:
    r, seconds = timed(app.click, "cleanup_delete", plan_id, user, ts)
    assert r.status_code == 200 and seconds < ACK_LIMIT, (r.status_code, seconds)
    r, seconds = timed(app.submit, plan_id, user, "confirm")
    assert r.status_code == 200 and not r.text.strip() and seconds < ACK_LIMIT, (r.text, seconds)


def thread_text(standin: SlackStandIn, ts: str) -> str:
    return "\n".join(text_of(m.blocks) for m in standin.thread(CHANNEL, ts))


def audit(tmp_path: Path, plan_id: str) -> list[tuple[str, str, str]]:
    db = sqlite3.connect(tmp_path / "state.sqlite3")
    try:
        rows = db.execute("SELECT actor, action, detail FROM audit WHERE plan_id = ? ORDER BY seq", (plan_id,))
        return [(str(a), str(b), str(c)) for a, b, c in rows.fetchall()]
    finally:
        db.close()


def expected_deletes(stack: SeededStack, minus: tuple[str, ...] = ()) -> Counter[str]:
    """How many times each delete operation must reach AWS for the stack's workshop resources."""
    wanted: Counter[str] = Counter()
    for item in stack.workshop:
        if item not in minus:
            wanted[DELETE_OPERATION[item.split(":", 1)[0]]] += 1
    return wanted


def delete_counts(seen: Counter[str]) -> Counter[str]:
    return Counter({k: v for k, v in seen.items() if k in DELETE_OPERATION.values()})


def dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, default=str)


# -- Slack's interaction payloads, as dicts (tests/e2e/harness.py sends the same shapes) --------------------------


def block_actions(action_id: str, value: Any, user: Any, channel: Any, message_ts: str = "1.000001") -> dict[str, Any]:
    return {
        "type": "block_actions",
        "user": {"id": user, "username": "someone", "name": "someone", "team_id": TEAM},
        "api_app_id": "A0CLEANUP",
        "token": "legacy-verification-token",
        "container": {"type": "message", "message_ts": message_ts, "channel_id": channel, "is_ephemeral": False},
        "trigger_id": f"{uuid.uuid4().int % 10**13}.{uuid.uuid4().hex[:20]}",
        "team": {"id": TEAM, "domain": "dogcat"},
        "enterprise": None,
        "is_enterprise_install": False,
        "channel": {"id": channel, "name": "workshop"},
        "message": {"type": "message", "ts": message_ts, "text": "plan", "bot_id": "BBOTCLEAN"},
        "state": {"values": {}},
        "response_url": "https://hooks.slack.com/actions/T0DOGCAT/1/abc",
        "actions": [
            {
                "action_id": action_id,
                "block_id": "cleanup_actions",
                "text": {"type": "plain_text", "text": "button", "emoji": True},
                "value": value,
                "type": "button",
                "action_ts": f"{time.time():.6f}",
            }
        ],
    }


def view_submission(plan_id: Any, user: Any, typed: Any, callback_id: str = "cleanup_confirm") -> dict[str, Any]:
    return {
        "type": "view_submission",
        "team": {"id": TEAM, "domain": "dogcat"},
        "user": {"id": user, "username": "someone", "name": "someone", "team_id": TEAM},
        "api_app_id": "A0CLEANUP",
        "token": "legacy-verification-token",
        "trigger_id": f"{uuid.uuid4().int % 10**13}.{uuid.uuid4().hex[:20]}",
        "view": {
            "id": f"V{uuid.uuid4().hex[:10].upper()}",
            "team_id": TEAM,
            "type": "modal",
            "callback_id": callback_id,
            "private_metadata": plan_id,
            "title": {"type": "plain_text", "text": "Confirm cleanup"},
            "blocks": [],
            "state": {"values": {"confirm_block": {"confirm_input": {"type": "plain_text_input", "value": typed}}}},
            "hash": f"{int(time.time())}.{uuid.uuid4().hex[:8]}",
            "app_id": "A0CLEANUP",
            "bot_id": "BBOTCLEAN",
        },
        "response_urls": [],
        "is_enterprise_install": False,
        "enterprise": None,
    }


def send(app: AppProcess, payload: Any, headers: dict[str, str] | None = None) -> requests.Response:
    """A signed interaction request; `payload` is JSON-encoded unless it is already a string."""
    raw = payload if isinstance(payload, str) else json.dumps(payload)
    return app.post(urlencode({"payload": raw}), headers=headers or {})
