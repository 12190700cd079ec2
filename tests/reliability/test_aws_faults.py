"""AWS faults against the full app (`python -m bot` subprocess): throttling, AccessDenied, slow AWS, a deletion
AWS never finishes, AWS unreachable, no credentials. Faults come from the proxy in front of moto, in each
service's real wire format, so the app's own botocore parses and retries them."""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path

import boto3

from bot.demo.aws_proxy import AwsProxy, Request
from bot.demo.inventory import existing
from bot.demo.slack_standin import SlackStandIn
from bot.demo.stack import SeededStack
from tests.e2e.conftest import AppFactory
from tests.e2e.harness import CHANNEL, OTHER, REQUESTER, TEAMMATE
from tests.reliability.conftest import record
from tests.reliability.helpers import (
    ACK_LIMIT,
    approve,
    audit,
    delete_counts,
    expected_deletes,
    final_summary,
    scan,
    text_of,
    thread_text,
    timed,
    wait_status,
)


def test_thirty_percent_throttled_cleanup_completes(
    start_app: AppFactory,
    standin: SlackStandIn,
    stack: SeededStack,
    session: boto3.session.Session,
    aws_proxy: AwsProxy,
    tmp_path: Path,
) -> None:
    before = existing(session)
    app = start_app()
    aws_proxy.throttle = 0.3  # from the scan's first call to the run's last

    plan_id, ts = scan(app, standin, timeout=120)
    approve(app, plan_id, TEAMMATE, ts)
    summary = final_summary(standin, ts, timeout=180)

    assert wait_status(tmp_path, plan_id, "done", "failed") == "done", thread_text(standin, ts)
    assert "0 skipped, 0 failed" in text_of(summary.blocks)
    after = existing(session)
    assert not set(stack.workshop) & after, set(stack.workshop) & after
    assert before - set(stack.workshop) == after  # the look-alikes and nothing else survive
    assert delete_counts(aws_proxy.deletes()) == expected_deletes(stack)  # each resource deleted once
    throttled = aws_proxy.total_injected()
    services = sorted({k.split(".", 1)[0] for k in aws_proxy.injected})
    assert throttled >= 0.2 * aws_proxy.total() and len(services) >= 8, aws_proxy.injected
    record(
        "aws_throttled_30_percent",
        aws_requests=aws_proxy.total(),
        throttled=throttled,
        services_throttled=len(services),
        resources_deleted=len(stack.workshop),
        failed=0,
    )


def test_access_denied_on_one_deletion_is_reported_and_the_rest_deleted(
    start_app: AppFactory,
    standin: SlackStandIn,
    stack: SeededStack,
    session: boto3.session.Session,
    aws_proxy: AwsProxy,
    tmp_path: Path,
) -> None:
    def delete_table(request: Request) -> bool:
        return request.name == "dynamodb.DeleteTable" and b'"PredictionHistory"' in request.body

    aws_proxy.deny(delete_table)
    app = start_app()
    plan_id, ts = scan(app, standin)
    approve(app, plan_id, TEAMMATE, ts)
    summary = final_summary(standin, ts)

    assert wait_status(tmp_path, plan_id, "done", "failed") == "failed"
    shown = text_of(summary.blocks)
    assert "13 deleted, 0 already gone, 0 skipped, 1 failed" in shown, shown
    failed_line = next(line for line in shown.split("\n") if "PredictionHistory" in line)
    assert "failed" in failed_line and "AccessDeniedException" in failed_line, failed_line
    # the scan message shows the outcome too
    assert "1 failed" in text_of(standin.messages[(CHANNEL, ts)].blocks)
    # the audit log names the resource and the AWS error code
    results = [detail for _actor, action, detail in audit(tmp_path, plan_id) if action == "result"]
    assert "dynamodb.table|us-east-1|PredictionHistory: failed (AccessDeniedException)" in results, results
    assert len({d for d in results if d.endswith(": deleted")}) == 13
    after = existing(session)
    assert set(stack.workshop) & after == {"dynamodb.table:PredictionHistory"}
    assert set(stack.survivors) <= after
    assert aws_proxy.total_injected("AccessDeniedException") == 1  # not retried: AccessDenied is final
    record("aws_access_denied_on_one_deletion", denied="DeleteTable PredictionHistory", others_deleted=13)


def test_slow_aws_acks_stay_fast_and_runs_report_progress(
    start_app: AppFactory,
    standin: SlackStandIn,
    stack: SeededStack,
    session: boto3.session.Session,
    aws_proxy: AwsProxy,
    tmp_path: Path,
) -> None:
    app = start_app()
    plan_id, ts = scan(app, standin)
    aws_proxy.delay = 2.0  # every AWS call now takes 2 s
    acks: list[float] = []

    def ack(call: object, *args: object, **kwargs: object) -> str:
        r, seconds = timed(call, *args, **kwargs)
        assert r.status_code == 200, r.text
        acks.append(seconds)
        return r.text

    assert "Scanning" in ack(app.command, "dogcat", user=OTHER)  # a second, slow scan
    ack(app.click, "cleanup_delete", plan_id, TEAMMATE, ts)
    standin.wait_for_call("views.open")
    assert not ack(app.submit, plan_id, TEAMMATE, "confirm").strip()
    started = time.monotonic()
    # while the scan and the run wait for AWS, everything else is still answered at once
    assert "/cleanup <profile>" in ack(app.command, "help")
    assert "dogcat" in ack(app.command, "history")
    ack(app.click, "cleanup_delete", plan_id, OTHER, ts)
    standin.wait_for_call("chat.postEphemeral", lambda c: "already approved" in c.args["text"])
    assert errors_text(ack(app.submit, plan_id, OTHER, "confirm")).startswith("This plan was already approved")

    def progress_with_a_result(s: SlackStandIn) -> bool:
        return any("Latest:" in text_of(m.blocks) for m in s.thread(CHANNEL, ts))

    standin.wait_for(progress_with_a_result, timeout=90)  # the slow run reports as it goes
    first_result = time.monotonic() - started
    assert not [m for m in standin.thread(CHANNEL, ts) if "Cleanup of dogcat finished" in text_of(m.blocks)]
    aws_proxy.delay = 0.0
    final_summary(standin, ts, timeout=120)
    assert wait_status(tmp_path, plan_id, "done") == "done"
    standin.wait_for(lambda s: len(s.top_messages(CHANNEL)) == 2, timeout=120)  # the slow scan finished too
    assert max(acks) < ACK_LIMIT, acks
    assert not set(stack.workshop) & existing(session)
    record(
        "aws_slow_2s_per_call",
        requests_acked=len(acks),
        slowest_ack_s=round(max(acks), 3),
        first_progress_result_s=round(first_result, 1),
    )


def errors_text(body: str) -> str:
    return str(next(iter(json.loads(body)["errors"].values())))


def test_a_deletion_aws_never_finishes_times_out_and_is_reported(
    start_app: AppFactory,
    standin: SlackStandIn,
    stack: SeededStack,
    session: boto3.session.Session,
    aws_proxy: AwsProxy,
    tmp_path: Path,
) -> None:
    """The endpoint stays "Deleting" forever: the wait is bounded, the endpoint reported, what needs it kept."""
    accepted = threading.Event()
    # AWS answers for the same endpoint: same creation time (a different one would be a re-created endpoint)
    created = session.client("sagemaker").describe_endpoint(EndpointName=stack.endpoint)["CreationTime"].timestamp()

    def stuck(request: Request) -> tuple[int, dict[str, str], bytes] | None:
        if request.name == "sagemaker.DeleteEndpoint":
            accepted.set()
            return 200, {"Content-Type": "application/x-amz-json-1.1"}, b"{}"
        if request.name == "sagemaker.DescribeEndpoint" and accepted.is_set():
            arn = f"arn:aws:sagemaker:us-east-1:{stack.account_id}:endpoint/{stack.endpoint}"
            body: dict[str, object] = {"EndpointName": stack.endpoint, "EndpointArn": arn}
            body["EndpointConfigName"] = stack.endpoint
            body |= {"EndpointStatus": "Deleting", "CreationTime": created, "LastModifiedTime": created}
            return 200, {"Content-Type": "application/x-amz-json-1.1"}, json.dumps(body).encode()
        return None

    aws_proxy.rules.append(stuck)
    app = start_app(CLEANUP_WAIT_TIMEOUT_SECONDS="3")
    plan_id, ts = scan(app, standin)
    started = time.monotonic()
    approve(app, plan_id, TEAMMATE, ts)
    summary = final_summary(standin, ts)
    seconds = time.monotonic() - started

    assert wait_status(tmp_path, plan_id, "done", "failed") == "failed"
    shown = thread_text(standin, ts)
    endpoint_line = next(line for line in shown.split("\n") if f"endpoint `{stack.endpoint}`" in line)
    assert "failed" in endpoint_line and "`Timeout`" in endpoint_line and "after 3 s" in endpoint_line
    assert "Deleting" in endpoint_line, endpoint_line
    # what depends on the endpoint is kept, and says why; everything else is deleted
    assert "kept because SageMaker endpoint" in shown
    assert "8 deleted, 0 already gone, 5 skipped, 1 failed" in text_of(summary.blocks)
    after = existing(session)
    kept = {i for i in stack.workshop if "sagemaker" in i.lower()}  # endpoint, config, model, role, logs, bucket
    assert set(stack.workshop) & after == kept, (set(stack.workshop) & after) ^ kept
    assert seconds < 60
    record("aws_deletion_never_finishes", wait_timeout_s=3, run_s=round(seconds, 1), reported="Timeout")


def test_aws_unreachable_then_back(
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
    aws_proxy.down()  # connection refused, like an endpoint on a closed port

    r, seconds = timed(app.command, "dogcat")
    assert r.status_code == 200 and "Scanning" in r.text and seconds < ACK_LIMIT
    approve(app, plan_id, TEAMMATE, ts)  # a run that cannot reach AWS either
    r, seconds = timed(app.command, "help")  # still serving
    assert r.status_code == 200 and "/cleanup <profile>" in r.text and seconds < ACK_LIMIT

    note = standin.wait_for_call("chat.postEphemeral", lambda c: "scan could not run" in c.args["text"], 120)
    assert note.args["user"] == REQUESTER and "cannot reach AWS" in note.args["text"], note.args
    summary = final_summary(standin, ts, timeout=120)
    assert "0 deleted, 0 already gone, 14 skipped, 0 failed" in text_of(summary.blocks)
    assert "could not confirm the AWS account" in thread_text(standin, ts)
    assert existing(session) == before  # nothing deleted

    aws_proxy.up()  # AWS is back: the same process scans again
    new_plan, _ = scan(app, standin)
    assert new_plan != plan_id
    record("aws_unreachable", scan_message="cannot reach AWS", run="nothing deleted, all skipped", recovered=True)


def test_no_credentials(
    start_app: AppFactory, standin: SlackStandIn, stack: SeededStack, session: boto3.session.Session
) -> None:
    before = existing(session)
    nowhere = "/nonexistent/aws"
    app = start_app(
        AWS_ACCESS_KEY_ID="",
        AWS_SECRET_ACCESS_KEY="",
        AWS_SHARED_CREDENTIALS_FILE=nowhere,
        AWS_CONFIG_FILE=nowhere,
        AWS_EC2_METADATA_DISABLED="true",
    )
    for attempt in range(2):  # a second request works as well as the first
        r, seconds = timed(app.command, "dogcat")
        assert r.status_code == 200 and seconds < ACK_LIMIT
        note = standin.wait_for(
            lambda s, n=attempt: (  # type: ignore[misc]
                len([c for c in s.calls_to("chat.postEphemeral") if "no AWS credentials" in c.args["text"]]) > n
            )
        )
        assert note
    texts = [c.args["text"] for c in standin.calls_to("chat.postEphemeral")]
    assert all(t.startswith("The scan could not run: no AWS credentials found") for t in texts), texts
    r = app.command("help")
    assert r.status_code == 200 and "/cleanup <profile>" in r.text
    assert app.proc is not None and app.proc.poll() is None
    assert existing(session) == before
    record("aws_no_credentials", requests=3, message=texts[0])
