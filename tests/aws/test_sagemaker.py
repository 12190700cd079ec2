"""SageMaker endpoints, configs and models against moto; waiting and paging against botocore's Stubber."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Any

import pytest
from botocore.exceptions import ClientError
from botocore.stub import Stubber

from bot.aws.base import Ref
from bot.aws.clients import Aws
from bot.aws.sagemaker import EndpointConfigType, EndpointType, ModelType
from bot.aws.waiters import waiter_config

REGION = "us-east-1"
PREFIX = "dogcat-endpoint-"
ENDPOINT = "dogcat-endpoint-abc12345"
LOOKALIKES = ["dogcat-endpoint", "old-dogcat-endpoint-1", "dogcat-endpointx-1"]


def starts_with_prefix(name: str) -> bool:
    return name.startswith(PREFIX)


def sm(aws: Aws) -> Any:
    return aws.client("sagemaker", REGION)


def make_role(aws: Aws, name: str = "AmazonSageMaker-ExecutionRole-123") -> str:
    role = aws.client("iam").create_role(RoleName=name, Path="/service-role/", AssumeRolePolicyDocument="{}")
    return str(role["Role"]["Arn"])


def make_model(aws: Aws, name: str, role_arn: str, url: str = "s3://sagemaker-us-east-1-123456789012/m.tar.gz") -> None:
    sm(aws).create_model(
        ModelName=name, ExecutionRoleArn=role_arn, PrimaryContainer={"Image": "img", "ModelDataUrl": url}
    )


def make_config(aws: Aws, name: str, model: str, count: int = 1, tags: list[dict[str, str]] | None = None) -> None:
    sm(aws).create_endpoint_config(
        EndpointConfigName=name,
        ProductionVariants=[
            {"VariantName": "main", "ModelName": model, "InstanceType": "ml.m5.large", "InitialInstanceCount": count}
        ],
        Tags=tags or [],
    )


def make_endpoint(aws: Aws, name: str, config: str, tags: list[dict[str, str]] | None = None) -> None:
    sm(aws).create_endpoint(EndpointName=name, EndpointConfigName=config, Tags=tags or [])


@pytest.fixture
def workshop(aws: Aws) -> str:
    """The chapter's endpoint + config + model, plus look-alike endpoints that are not dogcat's."""
    role = make_role(aws)
    make_model(aws, "dogcat-model", role)
    make_config(aws, ENDPOINT, "dogcat-model", count=2)
    make_endpoint(aws, ENDPOINT, ENDPOINT)
    for name in LOOKALIKES:
        make_config(aws, name, "dogcat-model")
        make_endpoint(aws, name, name)
    return role


# --- endpoints ---------------------------------------------------------------------------------------------------


def test_find_endpoints_by_prefix_skips_lookalikes(aws: Aws, workshop: str) -> None:
    found = EndpointType().find(aws, REGION, starts_with_prefix)

    assert [f.id for f in found] == [ENDPOINT]
    listed = {e["EndpointName"] for e in sm(aws).list_endpoints()["Endpoints"]}
    assert set(LOOKALIKES) <= listed  # they exist in AWS, they just were not picked
    f = found[0]
    described = sm(aws).describe_endpoint(EndpointName=ENDPOINT)
    assert f.arn == described["EndpointArn"]
    assert f.identity == described["CreationTime"].isoformat()
    assert f.details["status"] == "InService"
    assert f.refs == [
        Ref("sagemaker.endpoint-config", REGION, ENDPOINT, "config"),
        Ref("logs.log-group", REGION, f"/aws/sagemaker/Endpoints/{ENDPOINT}", "log-group"),
    ]
    assert f.usage == {"instances": [{"type": "ml.m5.large", "count": 2}]}
    assert not f.protected


def test_find_exact_name(aws: Aws, workshop: str) -> None:
    found = EndpointType().find(aws, REGION, lambda n: n == "dogcat-endpoint")
    assert [f.id for f in found] == ["dogcat-endpoint"]


def test_endpoint_protect_tag_is_read(aws: Aws, workshop: str) -> None:
    make_endpoint(aws, "dogcat-endpoint-keepme", ENDPOINT, tags=[{"Key": "cleanup:protect", "Value": "true"}])

    by_id = {f.id: f for f in EndpointType().find(aws, REGION, starts_with_prefix)}

    assert by_id["dogcat-endpoint-keepme"].tags == {"cleanup:protect": "true"}
    assert by_id["dogcat-endpoint-keepme"].protected
    assert not by_id[ENDPOINT].protected


def test_endpoint_delete_then_get_is_none(aws: Aws, workshop: str) -> None:
    t = EndpointType()
    found = t.get(aws, REGION, ENDPOINT)
    assert found is not None

    t.delete(aws, found)
    t.wait_gone(aws, found, timeout=5)  # moto deletes at once: no Deleting state to wait through

    assert ENDPOINT not in {e["EndpointName"] for e in sm(aws).list_endpoints()["Endpoints"]}
    with pytest.raises(ClientError):
        sm(aws).describe_endpoint(EndpointName=ENDPOINT)
    assert t.get(aws, REGION, ENDPOINT) is None
    # The look-alikes were not touched.
    assert set(LOOKALIKES) <= {e["EndpointName"] for e in sm(aws).list_endpoints()["Endpoints"]}


def test_endpoint_identity_changes_when_recreated(aws: Aws, workshop: str) -> None:
    t = EndpointType()
    before = t.get(aws, REGION, ENDPOINT)
    assert before is not None
    sm(aws).delete_endpoint(EndpointName=ENDPOINT)
    # moto stamps CreationTime with millisecond precision; on AWS re-creating an endpoint takes minutes. The
    # short sleep only keeps the two creations from landing in the same millisecond.
    time.sleep(0.01)
    make_endpoint(aws, ENDPOINT, ENDPOINT)

    after = t.get(aws, REGION, ENDPOINT)

    assert after is not None
    assert after.name == before.name and after.arn == before.arn
    assert after.identity != before.identity


def test_endpoint_whose_config_is_gone_reports_unknown_type(aws: Aws, workshop: str) -> None:
    sm(aws).delete_endpoint_config(EndpointConfigName=ENDPOINT)

    found = EndpointType().get(aws, REGION, ENDPOINT)

    assert found is not None
    assert Ref("sagemaker.endpoint-config", REGION, ENDPOINT, "config") in found.refs
    assert found.usage == {"instances": [{"type": None, "count": 2}]}


def test_serverless_variant_usage(aws: Aws, workshop: str) -> None:
    sm(aws).create_endpoint_config(
        EndpointConfigName="dogcat-endpoint-serverless",
        ProductionVariants=[
            {
                "VariantName": "sls",
                "ModelName": "dogcat-model",
                "ServerlessConfig": {"MemorySizeInMB": 2048, "MaxConcurrency": 5},
            }
        ],
    )
    make_endpoint(aws, "dogcat-endpoint-serverless", "dogcat-endpoint-serverless")

    found = EndpointType().get(aws, REGION, "dogcat-endpoint-serverless")

    assert found is not None
    assert found.usage == {"instances": [{"serverless": True}]}


# --- endpoint configs --------------------------------------------------------------------------------------------


def test_config_find_and_refs_to_models_deduped(aws: Aws, workshop: str) -> None:
    make_model(aws, "other-model", workshop)
    sm(aws).create_endpoint_config(
        EndpointConfigName="dogcat-endpoint-multi",
        ProductionVariants=[
            {"VariantName": "a", "ModelName": "dogcat-model", "InstanceType": "ml.m5.large", "InitialInstanceCount": 1},
            {"VariantName": "b", "ModelName": "other-model", "InstanceType": "ml.m5.large", "InitialInstanceCount": 1},
            {"VariantName": "c", "ModelName": "dogcat-model", "InstanceType": "ml.m5.large", "InitialInstanceCount": 1},
        ],
    )

    by_id = {f.id: f for f in EndpointConfigType().find(aws, REGION, starts_with_prefix)}

    assert set(by_id) == {ENDPOINT, "dogcat-endpoint-multi"}
    assert by_id[ENDPOINT].refs == [Ref("sagemaker.model", REGION, "dogcat-model", "model")]
    assert by_id["dogcat-endpoint-multi"].refs == [
        Ref("sagemaker.model", REGION, "dogcat-model", "model"),
        Ref("sagemaker.model", REGION, "other-model", "model"),
    ]
    described = sm(aws).describe_endpoint_config(EndpointConfigName=ENDPOINT)
    assert by_id[ENDPOINT].identity == described["CreationTime"].isoformat()


def test_config_tags_delete_and_get_none(aws: Aws, workshop: str) -> None:
    make_config(aws, "dogcat-endpoint-tagged", "dogcat-model", tags=[{"Key": "cleanup:protect", "Value": "TRUE"}])
    t = EndpointConfigType()
    tagged = t.get(aws, REGION, "dogcat-endpoint-tagged")
    assert tagged is not None and tagged.protected

    found = t.get(aws, REGION, ENDPOINT)
    assert found is not None
    t.delete(aws, found)

    names = {c["EndpointConfigName"] for c in sm(aws).list_endpoint_configs()["EndpointConfigs"]}
    assert ENDPOINT not in names and "dogcat-endpoint-tagged" in names
    assert t.get(aws, REGION, ENDPOINT) is None


# --- models ------------------------------------------------------------------------------------------------------


def test_model_refs_role_and_buckets(aws: Aws) -> None:
    role = make_role(aws)
    sm(aws).create_model(
        ModelName="dogcat-model",
        ExecutionRoleArn=role,
        PrimaryContainer={"Image": "img", "ModelDataUrl": "s3://sagemaker-us-east-1-123456789012/out/model.tar.gz"},
        Tags=[{"Key": "cleanup:protect", "Value": "true"}],
    )
    sm(aws).create_model(
        ModelName="pipeline-model",
        ExecutionRoleArn=role,
        Containers=[
            {"Image": "img", "ModelDataUrl": "s3://bucket-a/a.tar.gz"},
            {"Image": "img", "ModelDataUrl": "s3://bucket-a/b.tar.gz"},
            {
                "Image": "img",
                "ModelDataSource": {
                    "S3DataSource": {
                        "S3Uri": "s3://bucket-b/prefix/",
                        "S3DataType": "S3Prefix",
                        "CompressionType": "None",
                    }
                },
            },
        ],
    )
    make_model(aws, "unrelated", role)

    by_id = {f.id: f for f in ModelType().find(aws, REGION, lambda n: n in {"dogcat-model", "pipeline-model"})}

    assert set(by_id) == {"dogcat-model", "pipeline-model"}
    role_ref = Ref("iam.role", "global", "AmazonSageMaker-ExecutionRole-123", "role")
    assert by_id["dogcat-model"].refs == [
        role_ref,
        Ref("s3.bucket", "global", "sagemaker-us-east-1-123456789012", "bucket"),
    ]
    assert by_id["pipeline-model"].refs == [
        role_ref,
        Ref("s3.bucket", "global", "bucket-a", "bucket"),
        Ref("s3.bucket", "global", "bucket-b", "bucket"),
    ]
    assert by_id["dogcat-model"].protected
    assert (
        by_id["dogcat-model"].identity == sm(aws).describe_model(ModelName="dogcat-model")["CreationTime"].isoformat()
    )


def test_model_delete_then_get_is_none(aws: Aws) -> None:
    make_model(aws, "dogcat-model", make_role(aws))
    t = ModelType()
    found = t.get(aws, REGION, "dogcat-model")
    assert found is not None

    t.delete(aws, found)

    assert sm(aws).list_models()["Models"] == []
    assert t.get(aws, REGION, "dogcat-model") is None
    assert t.get(aws, REGION, "never-existed") is None


def test_list_models_reads_every_page(aws: Aws) -> None:
    """moto ignores MaxResults, so the second page and the tag pages are proven with a Stubber."""
    created = datetime(2026, 1, 1, tzinfo=UTC)
    arn = "arn:aws:sagemaker:us-east-1:123456789012:model/dogcat-model"
    client = sm(aws)
    seen: list[str] = []

    def match(name: str) -> bool:
        seen.append(name)
        return name == "dogcat-model"

    with Stubber(client) as stub:
        stub.add_response(
            "list_models",
            {"Models": [{"ModelName": "a", "ModelArn": arn + "a", "CreationTime": created}], "NextToken": "t1"},
            {},
        )
        stub.add_response(
            "list_models",
            {"Models": [{"ModelName": "dogcat-model", "ModelArn": arn, "CreationTime": created}]},
            {"NextToken": "t1"},
        )
        stub.add_response(
            "describe_model",
            {
                "ModelName": "dogcat-model",
                "ModelArn": arn,
                "CreationTime": created,
                "ExecutionRoleArn": "arn:aws:iam::123456789012:role/r",
            },
            {"ModelName": "dogcat-model"},
        )
        stub.add_response("list_tags", {"Tags": [{"Key": "a", "Value": "1"}], "NextToken": "p2"}, {"ResourceArn": arn})
        stub.add_response(
            "list_tags",
            {"Tags": [{"Key": "cleanup:protect", "Value": "true"}]},
            {"ResourceArn": arn, "NextToken": "p2"},
        )

        found = ModelType().find(aws, REGION, match)

        stub.assert_no_pending_responses()
    assert seen == ["a", "dogcat-model"]
    assert [f.id for f in found] == ["dogcat-model"]
    assert found[0].tags == {"a": "1", "cleanup:protect": "true"}
    assert found[0].protected


# --- waiting -----------------------------------------------------------------------------------------------------


class FastEndpointType(EndpointType):
    poll_delay = 0.01


def endpoint_response(status: str, **extra: Any) -> dict[str, Any]:
    now = datetime(2026, 1, 1, tzinfo=UTC)
    return {
        "EndpointName": ENDPOINT,
        "EndpointArn": f"arn:aws:sagemaker:us-east-1:123456789012:endpoint/{ENDPOINT}",
        "EndpointConfigName": ENDPOINT,
        "EndpointStatus": status,
        "CreationTime": now,
        "LastModifiedTime": now,
        **extra,
    }


@pytest.fixture
def endpoint_found(aws: Aws, workshop: str) -> Any:
    found = EndpointType().get(aws, REGION, ENDPOINT)
    assert found is not None
    return found


def test_waiter_config_is_bounded_by_timeout() -> None:
    assert waiter_config(60, 15) == {"Delay": 15, "MaxAttempts": 5}  # polls at 0, 15, 30, 45, 60
    assert waiter_config(3, 15) == {"Delay": 3, "MaxAttempts": 2}
    assert waiter_config(0, 15)["MaxAttempts"] == 1
    for timeout in (0.5, 7, 59, 600, 1800):
        config = waiter_config(timeout, 15)
        assert (config["MaxAttempts"] - 1) * config["Delay"] <= timeout
        assert config["MaxAttempts"] >= 1


def test_wait_gone_times_out_while_deleting(aws: Aws, endpoint_found: Any) -> None:
    client = sm(aws)
    attempts = int(waiter_config(0.05, FastEndpointType.poll_delay)["MaxAttempts"])
    with Stubber(client) as stub:
        for _ in range(attempts):
            stub.add_response("describe_endpoint", endpoint_response("Deleting"), {"EndpointName": ENDPOINT})
        start = time.monotonic()

        with pytest.raises(TimeoutError, match=r"still exists after .*Deleting"):
            FastEndpointType().wait_gone(aws, endpoint_found, timeout=0.05)

        elapsed = time.monotonic() - start
        stub.assert_no_pending_responses()  # it polled exactly the bounded number of times, then stopped
    assert elapsed < 1.0


def test_wait_gone_returns_when_endpoint_disappears(aws: Aws, endpoint_found: Any) -> None:
    client = sm(aws)
    with Stubber(client) as stub:
        stub.add_response("describe_endpoint", endpoint_response("Deleting"), {"EndpointName": ENDPOINT})
        stub.add_client_error(
            "describe_endpoint",
            "ValidationException",
            f"Could not find endpoint {ENDPOINT}.",
            400,
            {"EndpointName": ENDPOINT},
        )

        FastEndpointType().wait_gone(aws, endpoint_found, timeout=5)

        stub.assert_no_pending_responses()


def test_wait_gone_failed_endpoint_raises_runtime_error(aws: Aws, endpoint_found: Any) -> None:
    client = sm(aws)
    with Stubber(client) as stub:
        stub.add_response(
            "describe_endpoint",
            endpoint_response("Failed", FailureReason="role cannot be assumed"),
            {"EndpointName": ENDPOINT},
        )

        with pytest.raises(RuntimeError, match="role cannot be assumed"):
            FastEndpointType().wait_gone(aws, endpoint_found, timeout=5)


def test_wait_gone_surfaces_unexpected_aws_error(aws: Aws, endpoint_found: Any) -> None:
    client = sm(aws)
    with Stubber(client) as stub:
        stub.add_client_error("describe_endpoint", "AccessDeniedException", "no", 400, {"EndpointName": ENDPOINT})

        with pytest.raises(ClientError) as caught:
            FastEndpointType().wait_gone(aws, endpoint_found, timeout=5)

    assert caught.value.response["Error"]["Code"] == "AccessDeniedException"
    assert caught.value.operation_name == "DescribeEndpoint"


def test_endpoint_deleted_between_list_and_describe_is_skipped(aws: Aws) -> None:
    client = sm(aws)
    now = datetime(2026, 1, 1, tzinfo=UTC)
    summary = {
        "EndpointName": ENDPOINT,
        "EndpointArn": f"arn:aws:sagemaker:us-east-1:123456789012:endpoint/{ENDPOINT}",
        "CreationTime": now,
        "LastModifiedTime": now,
        "EndpointStatus": "Deleting",
    }
    with Stubber(client) as stub:
        stub.add_response("list_endpoints", {"Endpoints": [summary]}, {})
        stub.add_client_error(
            "describe_endpoint",
            "ValidationException",
            f"Could not find endpoint {ENDPOINT}.",
            400,
            {"EndpointName": ENDPOINT},
        )

        assert EndpointType().find(aws, REGION, starts_with_prefix) == []

        stub.assert_no_pending_responses()
