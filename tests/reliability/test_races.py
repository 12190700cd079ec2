"""Races: many submissions of one approval at once (with and without Slack's retry headers, on one or two app
processes sharing the state store) start exactly one run, counted where it matters: the delete calls that
reach AWS. And approvals that must be refused: from another channel, of a made-up plan, of a plan already run.

tests/e2e/test_conversation.py already covers two processes with six submissions, kill -9 and resume, expiry,
cancel and bad signatures; this adds the counts at the AWS side and the refusals it does not cover."""

from __future__ import annotations

from pathlib import Path

import boto3
import pytest

from bot.demo.aws_proxy import AwsProxy
from bot.demo.inventory import existing
from bot.demo.slack_standin import SlackStandIn
from bot.demo.stack import SeededStack
from tests.e2e.conftest import AppFactory
from tests.e2e.harness import CHANNEL, OTHER, TEAMMATE, AppProcess
from tests.reliability.conftest import record
from tests.reliability.helpers import (
    ACK_LIMIT,
    approve,
    assert_one_accepted,
    audit,
    block_actions,
    delete_counts,
    expected_deletes,
    final_summary,
    scan,
    send,
    submit_at_once,
    text_of,
    timed,
    view_submission,
    wait_status,
)
from tests.state_db import BACKENDS


@pytest.mark.parametrize("state_backend", BACKENDS, indirect=True)
@pytest.mark.parametrize(
    ("processes", "submissions", "retry_headers"),
    [(1, 10, False), (1, 10, True), (2, 8, True)],
    ids=["10-at-once", "10-at-once-slack-retries", "8-at-once-two-processes-slack-retries"],
)
def test_concurrent_submissions_start_exactly_one_run(
    processes: int,
    submissions: int,
    retry_headers: bool,
    start_app: AppFactory,
    standin: SlackStandIn,
    stack: SeededStack,
    session: boto3.session.Session,
    aws_proxy: AwsProxy,
    tmp_path: Path,
) -> None:
    apps = [start_app() for _ in range(processes)]
    plan_id, ts = scan(apps[0], standin)
    apps[0].click("cleanup_delete", plan_id, TEAMMATE, ts)
    standin.wait_for_call("views.open")

    def headers_of(i: int) -> dict[str, str]:
        if retry_headers and i:  # Slack's retries of a submission it thinks timed out
            return {"X-Slack-Retry-Num": str(1 + i % 3), "X-Slack-Retry-Reason": "http_timeout"}
        return {}

    # a double click, and two teammates at once
    responses = submit_at_once(apps, plan_id, submissions, lambda i: (TEAMMATE, OTHER)[i % 2], headers_of)
    assert_one_accepted(responses, submissions)
    final_summary(standin, ts)
    assert wait_status(tmp_path, plan_id, "done") == "done"
    # exactly one run, counted at the AWS side: each resource's delete call reached AWS once
    assert delete_counts(aws_proxy.deletes()) == expected_deletes(stack)
    actions = [action for _actor, action, _detail in audit(tmp_path, plan_id)]
    assert actions.count("approved") == 1 and actions.count("run-started") == 1
    assert actions.count("approval-refused") == submissions - 1
    summaries = [m for m in standin.thread(CHANNEL, ts) if "Cleanup of dogcat finished" in text_of(m.blocks)]
    assert len(summaries) == 1
    assert not set(stack.workshop) & existing(session)
    record(
        f"race_{submissions}_submissions_{processes}_process{'es' if processes > 1 else ''}"
        + ("_with_retry_headers" if retry_headers else ""),
        submissions=submissions,
        runs=1,
        delete_calls=sum(delete_counts(aws_proxy.deletes()).values()),
        resources=len(stack.workshop),
    )


def ephemeral_after(standin: SlackStandIn, count: int, user: str) -> str:
    call = standin.wait_for(
        lambda s: len(s.calls_to("chat.postEphemeral")) > count and s.calls_to("chat.postEphemeral")[count]
    )
    assert call.args["user"] == user
    return str(call.args["text"])


def submit_error(app: AppProcess, plan_id: str, user: str) -> str:
    r, seconds = timed(send, app, view_submission(plan_id, user, "confirm"))
    assert r.status_code == 200 and seconds < ACK_LIMIT and r.json()["response_action"] == "errors", r.text
    return str(r.json()["errors"]["confirm_block"])


@pytest.mark.parametrize("state_backend", BACKENDS, indirect=True)
def test_refused_approvals(
    start_app: AppFactory,
    standin: SlackStandIn,
    stack: SeededStack,
    session: boto3.session.Session,
    aws_proxy: AwsProxy,
    tmp_path: Path,
) -> None:
    before = existing(session)
    app = start_app()
    plan_id, ts = scan(app, standin)
    tried = 0

    # the plan's buttons, clicked from another channel (a crafted request: Slack sends the message's channel)
    r = send(app, block_actions("cleanup_delete", plan_id, TEAMMATE, "COTHERCHN"))
    assert r.status_code == 200
    text = ephemeral_after(standin, 0, TEAMMATE)
    assert "belongs to" in text and f"<#{CHANNEL}>" in text, text
    send(app, block_actions("cleanup_cancel", plan_id, TEAMMATE, "COTHERCHN"))
    assert "belongs to" in ephemeral_after(standin, 1, TEAMMATE)
    tried += 2

    # made-up plan ids: well-formed but unknown, and not even well-formed
    for made_up in ("0123456789abcdef", plan_id[::-1], "../../etc/passwd", "' OR 1=1 --", ""):
        n = len(standin.calls_to("chat.postEphemeral"))
        send(app, block_actions("cleanup_delete", made_up, TEAMMATE, CHANNEL))
        assert "I don't know this plan" in ephemeral_after(standin, n, TEAMMATE)
        assert submit_error(app, made_up, TEAMMATE).startswith("This confirmation does not match a plan")
        tried += 2
    assert not standin.calls_to("views.open")
    assert wait_status(tmp_path, plan_id, "pending") == "pending"
    assert existing(session) == before
    assert not aws_proxy.deletes()

    # approved, run, then approved again (a second modal left open, a late double click)
    approve(app, plan_id, TEAMMATE, ts)
    final_summary(standin, ts)
    assert wait_status(tmp_path, plan_id, "done") == "done"
    deletes = aws_proxy.deletes()
    assert submit_error(app, plan_id, OTHER) == f"This plan was already approved by <@{TEAMMATE}>; it is done."
    n = len(standin.calls_to("chat.postEphemeral"))
    send(app, block_actions("cleanup_delete", plan_id, OTHER, CHANNEL))
    assert "already approved" in ephemeral_after(standin, n, OTHER)
    tried += 2
    assert aws_proxy.deletes() == deletes  # nothing more reached AWS
    actions = [action for _actor, action, _detail in audit(tmp_path, plan_id)]
    assert actions.count("approval-refused") == 3  # one from another channel, two after the run
    assert actions.count("cancel-refused") == 1
    record("race_refused_approvals", refused=tried, deleted_before_approval=0)
