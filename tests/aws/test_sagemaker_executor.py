"""A whole cleanup when the endpoint is not simply InService: the executor over a moto server, with the states moto
cannot show (Failed, Creating, Deleting) answered in SageMaker's JSON wire format by a botocore before-send hook.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from typing import Any, ClassVar

import boto3
from botocore.awsrequest import AWSResponse

from bot.aws.base import ResourceType
from bot.aws.clients import new_session
from bot.aws.sagemaker import EndpointType
from bot.core.executor import ExecutorOptions, execute
from bot.core.plan import ProgressEvent, ResourceResult
from bot.core.scanner import default_types, scan
from bot.demo.inventory import exists
from bot.demo.stack import SeededStack, seed_workshop
from tests.core.helpers import REGION, dogcat, faulty_aws
from tests.faults import Faults

FAST = ExecutorOptions(delete_interval=0.0)


class QuickEndpointType(EndpointType):
    poll_delay: ClassVar[float] = 0.05


def quick_types() -> Mapping[str, ResourceType]:
    return {**default_types(), "sagemaker.endpoint": QuickEndpointType()}


def described(session: boto3.session.Session, endpoint: str, status: str, **extra: Any) -> dict[str, Any]:
    """DescribeEndpoint's JSON body for the seeded endpoint (same creation time: the same endpoint) in `status`."""
    real = session.client("sagemaker").describe_endpoint(EndpointName=endpoint)
    return {
        "EndpointName": endpoint,
        "EndpointArn": real["EndpointArn"],
        "EndpointConfigName": real["EndpointConfigName"],
        "EndpointStatus": status,
        "CreationTime": real["CreationTime"].isoformat(),
        "LastModifiedTime": real["LastModifiedTime"].isoformat(),
        **extra,
    }


def seeded() -> tuple[Any, Faults, EndpointLifecycle, boto3.session.Session, SeededStack]:
    aws, faults = faulty_aws()
    lifecycle = EndpointLifecycle(aws.session)
    session = new_session(region_name=REGION)
    return aws, faults, lifecycle, session, seed_workshop(session, REGION)


def by_type(results: list[ResourceResult]) -> dict[tuple[str, str], ResourceResult]:
    """(type, name): an endpoint and its config share a name."""
    return {(r.key.split("|")[0], r.name): r for r in results}


class EndpointLifecycle:
    """DescribeEndpoint as AWS answers it around a deletion: `before` until DeleteEndpoint is sent, then each of
    `after` once, then moto's own answer (which deleted it at once: "Could not find endpoint")."""

    def __init__(self, session: boto3.session.Session) -> None:
        # On the session before its clients exist (each client copies the session's handlers); idle until play().
        self.before: dict[str, Any] | None = None
        self.after: list[dict[str, Any]] = []
        self.deleted = False
        session.events.register_first("before-send.sagemaker.DescribeEndpoint", self._describe)
        session.events.register_first("before-send.sagemaker.DeleteEndpoint", self._delete)

    def play(self, before: dict[str, Any], *after: dict[str, Any]) -> EndpointLifecycle:
        self.before, self.after = before, list(after)
        return self

    def _delete(self, **_kwargs: Any) -> None:
        self.deleted = self.before is not None  # and moto answers it

    def _describe(self, **_kwargs: Any) -> AWSResponse | None:
        if self.before is None or (self.deleted and not self.after):
            return None
        body = self.after.pop(0) if self.deleted else self.before
        headers = {"x-amzn-RequestId": "lifecycle", "Content-Type": "application/x-amz-json-1.1"}
        return AWSResponse("https://sagemaker.invalid/", 200, headers, _Body(json.dumps(body).encode()))


class _Body:
    def __init__(self, body: bytes) -> None:
        self._body = body

    def stream(self, **_kwargs: Any) -> Iterator[bytes]:
        yield self._body


def test_failed_endpoint_is_deleted_and_so_is_its_chain(moto_server: str) -> None:
    """Failed (an instance quota error) can only be deleted: AWS moves it to Deleting, then it is gone. botocore's
    endpoint_deleted waiter took Failed as final, so the config, model, role, bucket and log group were kept."""
    aws, _faults, lifecycle, session, stack = seeded()
    plan = scan(aws, dogcat(), [REGION])
    quota = "ResourceLimitExceeded: ml.m5.large for endpoint usage"
    failed = described(session, stack.endpoint, "Failed", FailureReason=quota)
    deleting = described(session, stack.endpoint, "Deleting")
    lifecycle.play(failed, failed, deleting, deleting)  # still Failed right after DeleteEndpoint, Deleting, gone
    events: list[ProgressEvent] = []

    results = {r.name: r for r in execute(aws, plan, events.append, FAST, types=quick_types())}

    assert {r.status for r in results.values()} == {"deleted"}, {n: (r.status, r.reason) for n, r in results.items()}
    for ident in stack.workshop:
        assert not exists(session, ident), ident
    assert lifecycle.deleted and not lifecycle.after  # it waited through every answer
    waits = [e.message for e in events if e.kind == "waiting" and e.name == stack.endpoint]
    assert "AWS is deleting it (status Failed)" in waits and "AWS is deleting it (status Deleting)" in waits


def test_endpoint_failing_to_delete_fails_with_aws_reason_and_keeps_its_chain(moto_server: str) -> None:
    aws, _faults, lifecycle, session, stack = seeded()
    plan = scan(aws, dogcat(), [REGION])
    in_service = described(session, stack.endpoint, "InService")
    broken = described(session, stack.endpoint, "Failed", FailureReason="Unable to assume the execution role")
    lifecycle.play(in_service, broken)

    results = by_type(execute(aws, plan, None, FAST, types=quick_types()))

    endpoint = results["sagemaker.endpoint", stack.endpoint]
    assert (endpoint.status, endpoint.error_code) == ("failed", "RuntimeError")
    assert "Unable to assume the execution role" in endpoint.reason
    assert results["s3.bucket", stack.bucket].status == "skipped"
    assert exists(session, f"s3.bucket:{stack.bucket}")


def test_endpoint_still_creating_is_kept_with_the_reason_and_its_chain_too(moto_server: str) -> None:
    aws, faults, _lifecycle, session, stack = seeded()
    plan = scan(aws, dogcat(), [REGION])
    faults.answer("sagemaker", "DescribeEndpoint", described(session, stack.endpoint, "Creating"))
    events: list[ProgressEvent] = []
    options = ExecutorOptions(delete_interval=0.0, wait_timeout=0.5)

    results = by_type(execute(aws, plan, events.append, options, types=quick_types()))

    endpoint = results["sagemaker.endpoint", stack.endpoint]
    assert endpoint.status == "skipped"
    assert endpoint.reason.startswith("endpoint is Creating; AWS refuses to delete it until it is InService or Failed")
    assert exists(session, f"sagemaker.endpoint:{stack.endpoint}")  # DeleteEndpoint was never sent
    assert faults.calls["sagemaker.DeleteEndpoint"] == 0
    assert any(e.kind == "waiting" and "endpoint is Creating" in e.message for e in events)
    for ident in (f"sagemaker.endpoint-config:{stack.endpoint}", f"s3.bucket:{stack.bucket}"):
        assert exists(session, ident), ident
    assert results["s3.bucket", stack.bucket].status == "skipped"
    assert results["lambda.function", "InvokeModelLambda"].status == "deleted"  # what does not depend on it goes on


def test_endpoint_creating_then_in_service_is_deleted_after_the_wait(moto_server: str) -> None:
    aws, faults, _lifecycle, session, stack = seeded()
    plan = scan(aws, dogcat(), [REGION])
    for _ in range(2):
        faults.answer("sagemaker", "DescribeEndpoint", described(session, stack.endpoint, "Creating"), once=True)

    events: list[ProgressEvent] = []

    results = by_type(execute(aws, plan, events.append, FAST, types=quick_types()))

    assert results["sagemaker.endpoint", stack.endpoint].status == "deleted"
    assert not exists(session, f"sagemaker.endpoint:{stack.endpoint}")
    assert not exists(session, f"s3.bucket:{stack.bucket}")
    assert faults.calls["sagemaker.DeleteEndpoint"] == 1
    waits = [e.message for e in events if e.kind == "waiting" and e.name == stack.endpoint]
    assert waits[0].startswith("endpoint is Creating")  # the thread said why it waited
