"""Deletion: outcomes in AWS state, order, identity checks, faults (moto in-process, faults via botocore events)."""

from __future__ import annotations

import itertools
import time

import boto3
import pytest

from bot.aws.clients import Aws, new_session
from bot.core.executor import ExecutorOptions, IntervalGate, execute
from bot.core.plan import ProgressEvent, ResourceResult
from bot.core.scanner import scan
from bot.demo.inventory import exists
from bot.demo.stack import SeededStack, lambda_zip, seed_workshop
from tests.core.helpers import REGION, dogcat, faulty_aws

FAST = ExecutorOptions(delete_interval=0.0)


@pytest.fixture
def session(mocked: None) -> boto3.session.Session:
    return new_session(region_name=REGION)


@pytest.fixture
def stack(session: boto3.session.Session) -> SeededStack:
    return seed_workshop(session, REGION)


def statuses(results: list[ResourceResult]) -> dict[str, str]:
    return {f"{r.key.split('|')[0]}:{r.key.split('|')[2]}": r.status for r in results}


def test_full_cleanup_deletes_the_stack_and_nothing_else(
    aws: Aws, session: boto3.session.Session, stack: SeededStack
) -> None:
    plan = scan(aws, dogcat(), [REGION])
    events: list[ProgressEvent] = []
    results = execute(aws, plan, events.append, FAST)

    assert set(statuses(results).values()) == {"deleted"}
    assert len(results) == len(stack.workshop)
    for ident in stack.workshop:
        assert not exists(session, ident), ident
    for ident in stack.survivors:
        assert exists(session, ident), ident

    finished = [(e.key.split("|")[0], e.name) for e in events if e.kind == "deleted"]

    def at(type_: str, prefix: str = "") -> int:
        return next(i for i, (t, n) in enumerate(finished) if t == type_ and n.startswith(prefix))

    assert at("sagemaker.endpoint") < at("sagemaker.endpoint-config") < at("sagemaker.model")
    assert at("sagemaker.model") < at("iam.role", "AmazonSageMaker-") and at("sagemaker.model") < at("s3.bucket")
    assert at("lambda.function", "InvokeModelLambda") < at("iam.role", "InvokeModelLambda-role-")
    assert at("lambda.function", "InvokeModelLambda") < at("logs.log-group", "/aws/lambda/InvokeModelLambda")


def test_second_run_reports_already_gone(aws: Aws, stack: SeededStack) -> None:
    plan = scan(aws, dogcat(), [REGION])
    execute(aws, plan, None, FAST)
    again = execute(aws, plan, None, FAST)
    assert set(statuses(again).values()) == {"already_gone"}


def test_previous_results_of_an_interrupted_run_are_kept(aws: Aws, stack: SeededStack) -> None:
    plan = scan(aws, dogcat(), [REGION])
    first = execute(aws, plan, None, FAST)
    previous = {r.key: r for r in first if r.key.startswith("lambda.function")}
    resumed = execute(aws, plan, None, FAST, previous=previous)
    by_key = {r.key: r.status for r in resumed}
    assert all(by_key[k] == "deleted" for k in previous)
    assert {s for k, s in by_key.items() if k not in previous} == {"already_gone"}


def test_resource_recreated_after_the_scan_is_skipped(
    aws: Aws, session: boto3.session.Session, stack: SeededStack
) -> None:
    plan = scan(aws, dogcat(), [REGION])
    ddb = session.client("dynamodb")
    ddb.delete_table(TableName="PredictionHistory")
    time.sleep(0.01)  # moto's creation times have millisecond precision
    ddb.create_table(
        TableName="PredictionHistory",
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    results = {r.name: r for r in execute(aws, plan, None, FAST)}

    assert results["PredictionHistory"].status == "skipped"
    assert "re-created" in results["PredictionHistory"].reason
    assert exists(session, "dynamodb.table:PredictionHistory")
    assert results["InvokeModelLambda"].status == "deleted"


def test_other_account_deletes_nothing(aws: Aws, session: boto3.session.Session, stack: SeededStack) -> None:
    plan = scan(aws, dogcat(), [REGION])
    plan.account_id = "210987654321"
    results = execute(aws, plan, None, FAST)
    assert {r.status for r in results} == {"skipped"}
    assert "account 123456789012" in results[0].reason
    for ident in stack.workshop:
        assert exists(session, ident), ident


def test_new_user_after_the_scan_keeps_the_role(aws: Aws, session: boto3.session.Session, stack: SeededStack) -> None:
    plan = scan(aws, dogcat(), [REGION])
    role_arn = session.client("iam").get_role(RoleName="InvokeModelLambda-role-a1b2c3d4")["Role"]["Arn"]
    session.client("lambda").create_function(
        FunctionName="LateComer", Runtime="python3.12", Role=role_arn, Handler="x.h", Code={"ZipFile": lambda_zip()}
    )
    results = {r.name: r for r in execute(aws, plan, None, FAST)}
    assert results["InvokeModelLambda-role-a1b2c3d4"].status == "skipped"
    assert "LateComer" in results["InvokeModelLambda-role-a1b2c3d4"].reason
    assert exists(session, "iam.role:InvokeModelLambda-role-a1b2c3d4")


def test_protect_tag_added_after_the_scan_is_honoured(
    aws: Aws, session: boto3.session.Session, stack: SeededStack
) -> None:
    plan = scan(aws, dogcat(), [REGION])
    arn = session.client("dynamodb").describe_table(TableName="PredictionHistory")["Table"]["TableArn"]
    session.client("dynamodb").tag_resource(ResourceArn=arn, Tags=[{"Key": "cleanup:protect", "Value": "true"}])
    results = {r.name: r for r in execute(aws, plan, None, FAST)}
    assert results["PredictionHistory"].status == "skipped"
    assert exists(session, "dynamodb.table:PredictionHistory")


def test_access_denied_on_one_deletion_leaves_the_rest_deleted(moto_server: str) -> None:
    aws, faults = faulty_aws()
    session = new_session(region_name=REGION)
    stack = seed_workshop(session, REGION)
    plan = scan(aws, dogcat(), [REGION])
    faults.deny("dynamodb", "DeleteTable")
    results = {r.name: r for r in execute(aws, plan, None, FAST)}

    table = results.pop("PredictionHistory")
    assert (table.status, table.error_code) == ("failed", "AccessDeniedException")
    assert "not authorized" in table.reason
    assert {r.status for r in results.values()} == {"deleted"}
    assert exists(session, "dynamodb.table:PredictionHistory")
    for ident in stack.workshop:
        if ident != "dynamodb.table:PredictionHistory":
            assert not exists(session, ident), ident


def test_failed_endpoint_keeps_everything_it_uses(moto_server: str) -> None:
    aws, faults = faulty_aws()
    session = new_session(region_name=REGION)
    stack = seed_workshop(session, REGION)
    plan = scan(aws, dogcat(), [REGION])
    faults.deny("sagemaker", "DeleteEndpoint")
    results = {r.name: r for r in execute(aws, plan, None, FAST) if r.label != "SageMaker endpoint config"}

    assert results[stack.endpoint].status == "failed"
    for name in ("pytorch-inference-2025-08-12-a1b2c3d4", "AmazonSageMaker-ExecutionRole-2025a1b2c3d4", stack.bucket):
        assert results[name].status == "skipped", name
        assert "was not deleted" in results[name].reason
    assert exists(session, f"s3.bucket:{stack.bucket}")
    assert results["InvokeModelLambda"].status == "deleted"


def test_throttling_is_retried_by_botocore(moto_server: str) -> None:
    aws, faults = faulty_aws()
    session = new_session(region_name=REGION)
    stack = seed_workshop(session, REGION)
    faults.throttle(0.3)
    plan = scan(aws, dogcat(), [REGION])
    results = execute(aws, plan, None, FAST)

    assert set(statuses(results).values()) == {"deleted"}
    assert sum(faults.injected.values()) >= 10
    for ident in stack.workshop:
        assert not exists(session, ident), ident


def test_interval_gate_spaces_the_calls_themselves_without_sleeping() -> None:
    gate = IntervalGate()
    began = time.monotonic()

    assert gate.try_pass() == 0.0
    assert 0 < gate.try_pass() < 1  # the holder is still checking: ask again in a moment
    gate.passed(30.0, called=False)  # it kept its resource: no call made, the next may go at once
    assert gate.try_pass() == 0.0
    gate.passed(30.0, called=True)
    assert gate.try_pass() == pytest.approx(30.0, abs=0.05)  # one interval after the call itself
    assert time.monotonic() - began < 0.1  # nobody slept


def test_keep_until_answered_after_the_scan_is_honoured(aws: Aws, stack: SeededStack) -> None:
    """An owner answers "keep until" on another message while this plan waits: the run keeps that resource."""
    from datetime import UTC, datetime, timedelta

    from bot.core.keeps import KeepUntil

    plan = scan(aws, dogcat(), [REGION])
    table = next(r for r in plan.to_delete if r.type == "dynamodb.table")
    until = (datetime.now(UTC) + timedelta(days=7)).date()
    keeps = [KeepUntil(key=table.key, account_id=plan.account_id, until=until, by="<@UMAI>")]
    options = ExecutorOptions(delete_interval=0.0, stored_keeps=lambda: keeps)
    results = {r.name: r for r in execute(aws, plan, None, options)}

    assert results["PredictionHistory"].status == "skipped"
    assert f"kept until {until.isoformat()} by <@UMAI> since the scan" in results["PredictionHistory"].reason
    assert exists(new_session(region_name=REGION), "dynamodb.table:PredictionHistory")
    assert results["InvokeModelLambda"].status == "deleted"


def test_rest_api_quota_waits_hold_no_worker(aws: Aws, stack: SeededStack, session: boto3.session.Session) -> None:
    """20 REST APIs behind DeleteRestApi's spacing, 2 workers: every other deletion still goes at once (SPEC)."""
    for _ in range(19):
        session.client("apigateway").create_rest_api(name="MLInferenceAPI")
    plan = scan(aws, dogcat(), [REGION])
    assert sum(1 for r in plan.to_delete if r.type == "apigateway.rest-api") == 20
    interval = 0.3
    finished: dict[str, float] = {}
    calls: list[float] = []  # when each DeleteRestApi call left
    began = time.monotonic()
    aws.client("apigateway", REGION).meta.events.register(
        "before-call.api-gateway.DeleteRestApi", lambda **_: calls.append(time.monotonic())
    )

    def sink(event: ProgressEvent) -> None:
        if event.kind in ("deleted", "already_gone", "skipped", "failed"):
            finished[event.key] = time.monotonic() - began

    results = execute(aws, plan, sink, ExecutorOptions(max_workers=2, delete_interval=interval))

    assert {r.status for r in results} == {"deleted"}
    apis = sorted(t for k, t in finished.items() if k.startswith("apigateway.rest-api|"))
    others = [t for k, t in finished.items() if not k.startswith("apigateway.rest-api|")]
    gaps = [round(b - a, 3) for a, b in itertools.pairwise(calls)]
    assert len(calls) == 20 and min(gaps) >= interval * 0.9, gaps  # the quota is kept
    # With the waits holding the two workers, the rest would finish after the APIs (~5.7 s), not alongside.
    assert max(others) < apis[-1] / 2, (max(others), apis[-1])
