"""Shared steps for the reliability tests: the conversation of tests/e2e, plus timing and AWS-side counting."""

from __future__ import annotations

import json
import threading
import time
from collections import Counter
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import requests

from bot.demo.slack_standin import Message, SlackStandIn
from bot.demo.slack_user import block_actions, view_submission
from bot.demo.stack import SeededStack
from tests import state_db
from tests.e2e.harness import CHANNEL, REQUESTER, AppProcess
from tests.e2e.test_conversation import final_summary, plan_id_of, plan_message, text_of, wait_status

__all__ = [
    "ACK_LIMIT",
    "approve",
    "assert_one_accepted",
    "audit",
    "block_actions",
    "delete_counts",
    "expected_deletes",
    "final_summary",
    "plan_id_of",
    "plan_message",
    "scan",
    "send",
    "submit_at_once",
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
    db = state_db.connect(tmp_path)
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


def send(app: AppProcess, payload: Any, headers: dict[str, str] | None = None) -> requests.Response:
    """A signed interaction request; `payload` is JSON-encoded unless it is already a string."""
    return app.workspace.interact(payload, headers)


def submit_at_once(
    apps: Sequence[AppProcess],
    plan_id: str,
    submissions: int,
    user_of: Callable[[int], str],
    headers_of: Callable[[int], dict[str, str]] = lambda _i: {},
) -> list[tuple[requests.Response, float]]:
    """`submissions` confirm submissions of one modal, released together; the i-th goes to apps[i % len(apps)]
    as user_of(i), with headers_of(i) (Slack's retry headers, say). Each answer with its response time."""
    barrier = threading.Barrier(submissions)
    responses: list[tuple[requests.Response, float]] = []
    lock = threading.Lock()

    def go(i: int) -> None:
        barrier.wait()
        answer = timed(send, apps[i % len(apps)], view_submission(plan_id, user_of(i), "confirm"), headers_of(i))
        with lock:
            responses.append(answer)

    threads = [threading.Thread(target=go, args=(i,)) for i in range(submissions)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return responses


def assert_one_accepted(responses: list[tuple[requests.Response, float]], submissions: int) -> list[str]:
    """Every submission answered in time; exactly one accepted, the others told who approved. The refusals."""
    assert all(r.status_code == 200 and seconds < ACK_LIMIT for r, seconds in responses), responses
    accepted = [r for r, _ in responses if not r.text.strip()]
    refused = [r.json()["errors"]["confirm_block"] for r, _ in responses if r.text.strip()]
    assert len(accepted) == 1 and len(refused) == submissions - 1, refused
    assert all(text.startswith("This plan was already approved by <@U") for text in refused), refused
    return refused
