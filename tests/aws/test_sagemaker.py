"""SageMaker endpoints, configs and models against moto; waiting and paging against botocore's Stubber."""

from __future__ import annotations

import time
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import pytest
from botocore.exceptions import ClientError
from botocore.stub import Stubber

from bot.aws.base import Pending, Ref
from bot.aws.clients import Aws
from bot.aws.sagemaker import EndpointConfigType, EndpointType, ModelType

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
    assert t.poll_gone(aws, found) is None  # moto deletes at once: no Deleting state to wait through

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


# --- waiting: one look at a time (poll_gone); the executor paces and bounds the looks ------------------------------


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
    # What the stubbed answers below describe: the endpoint as created on 2026-01-01.
    return replace(found, identity=datetime(2026, 1, 1, tzinfo=UTC).isoformat())


def test_poll_gone_is_pending_while_deleting_then_none_once_gone(aws: Aws, endpoint_found: Any) -> None:
    with Stubber(sm(aws)) as stub:
        stub.add_response("describe_endpoint", endpoint_response("Deleting"), {"EndpointName": ENDPOINT})
        stub.add_client_error(
            "describe_endpoint",
            "ValidationException",
            f"Could not find endpoint {ENDPOINT}.",
            400,
            {"EndpointName": ENDPOINT},
        )

        first = EndpointType().poll_gone(aws, endpoint_found)
        second = EndpointType().poll_gone(aws, endpoint_found)

        stub.assert_no_pending_responses()  # one look each, no waiter loop
    assert first == Pending(EndpointType.poll_delay, "Deleting")
    assert second is None


def test_poll_interval_is_a_class_attribute(aws: Aws, endpoint_found: Any) -> None:
    class FastEndpointType(EndpointType):
        poll_delay = 0.01

    with Stubber(sm(aws)) as stub:
        stub.add_response("describe_endpoint", endpoint_response("Deleting"), {"EndpointName": ENDPOINT})
        assert FastEndpointType().poll_gone(aws, endpoint_found) == Pending(0.01, "Deleting")
    assert EndpointType.poll_delay == 15.0


def test_poll_gone_failed_endpoint_is_not_final(aws: Aws, endpoint_found: Any) -> None:
    """A Failed endpoint (a quota error in the workshop) goes Failed -> Deleting -> gone after DeleteEndpoint;
    botocore's endpoint_deleted waiter gave up on the first Failed and the whole chain behind it was kept."""
    failed = replace(
        endpoint_found, details={**endpoint_found.details, "status": "Failed", "failure_reason": "quota exceeded"}
    )
    with Stubber(sm(aws)) as stub:
        stub.add_response(
            "describe_endpoint",
            endpoint_response("Failed", FailureReason="quota exceeded"),
            {"EndpointName": ENDPOINT},
        )
        stub.add_response("describe_endpoint", endpoint_response("Deleting"), {"EndpointName": ENDPOINT})
        stub.add_client_error("describe_endpoint", "ValidationException", f"Could not find endpoint {ENDPOINT}.", 400)

        looks = [EndpointType().poll_gone(aws, failed) for _ in range(3)]

        stub.assert_no_pending_responses()
    assert looks == [Pending(15.0, "Failed"), Pending(15.0, "Deleting"), None]


def test_poll_gone_raises_when_the_deletion_itself_fails(aws: Aws, endpoint_found: Any) -> None:
    with Stubber(sm(aws)) as stub:
        stub.add_response(
            "describe_endpoint",
            endpoint_response("Failed", FailureReason="role cannot be assumed"),
            {"EndpointName": ENDPOINT},
        )

        with pytest.raises(RuntimeError, match="could not be deleted: status Failed: role cannot be assumed"):
            EndpointType().poll_gone(aws, endpoint_found)


def test_poll_gone_a_recreated_endpoint_means_ours_is_gone(aws: Aws, endpoint_found: Any) -> None:
    later = datetime(2026, 1, 2, tzinfo=UTC)
    with Stubber(sm(aws)) as stub:
        stub.add_response(
            "describe_endpoint", endpoint_response("Creating", CreationTime=later), {"EndpointName": ENDPOINT}
        )

        assert EndpointType().poll_gone(aws, endpoint_found) is None


def test_poll_gone_surfaces_unexpected_aws_error(aws: Aws, endpoint_found: Any) -> None:
    with Stubber(sm(aws)) as stub:
        stub.add_client_error("describe_endpoint", "AccessDeniedException", "no", 400, {"EndpointName": ENDPOINT})

        with pytest.raises(ClientError) as caught:
            EndpointType().poll_gone(aws, endpoint_found)

    assert caught.value.response["Error"]["Code"] == "AccessDeniedException"
    assert caught.value.operation_name == "DescribeEndpoint"


def test_wait_gone_is_gone() -> None:
    assert not hasattr(EndpointType, "wait_gone")  # the blocking wait held a delete worker for minutes


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
