"""CloudWatch Logs groups against moto; paging and the tag fallback against botocore's Stubber."""

from __future__ import annotations

import time
from typing import Any

import pytest
from botocore.stub import Stubber

from bot.aws.clients import Aws
from bot.aws.logs import LogGroupType

REGION = "us-east-1"
GROUP = "/aws/lambda/InvokeModelLambda"
LOOKALIKES = [
    "/aws/lambda/InvokeModelLambdaV2",
    "/aws/lambda/invokemodellambda",
    "/custom/aws/lambda/InvokeModelLambda",
]
ARN = f"arn:aws:logs:us-east-1:123456789012:log-group:{GROUP}"


def logs(aws: Aws) -> Any:
    return aws.client("logs", REGION)


def group_names(aws: Aws) -> set[str]:
    return {g["logGroupName"] for g in logs(aws).describe_log_groups()["logGroups"]}


@pytest.fixture
def groups(aws: Aws) -> None:
    for name in [GROUP, *LOOKALIKES, "/aws/sagemaker/Endpoints/dogcat-endpoint-abc12345"]:
        logs(aws).create_log_group(logGroupName=name)


def test_find_exact_name_skips_lookalikes(aws: Aws, groups: None) -> None:
    found = LogGroupType().find(aws, REGION, lambda n: n == GROUP)

    assert [f.id for f in found] == [GROUP]
    assert set(LOOKALIKES) <= group_names(aws)
    described = logs(aws).describe_log_groups(logGroupNamePrefix=GROUP)["logGroups"][0]
    f = found[0]
    assert f.arn == ARN  # without the ":*" that describe_log_groups' "arn" carries
    assert f.identity == str(described["creationTime"])
    assert not f.protected


def test_find_by_prefix(aws: Aws, groups: None) -> None:
    found = LogGroupType().find(aws, REGION, lambda n: n.startswith("/aws/sagemaker/Endpoints/dogcat-endpoint-"))
    assert [f.id for f in found] == ["/aws/sagemaker/Endpoints/dogcat-endpoint-abc12345"]


def test_get_picks_the_exact_name_among_prefix_matches(aws: Aws, groups: None) -> None:
    t = LogGroupType()
    found = t.get(aws, REGION, GROUP)

    assert found is not None and found.id == GROUP
    assert t.get(aws, REGION, "/aws/lambda/InvokeModel") is None  # a prefix of real groups, not a group


def test_usage_and_tags(aws: Aws) -> None:
    logs(aws).create_log_group(logGroupName=GROUP, tags={"cleanup:protect": "true"})
    logs(aws).create_log_stream(logGroupName=GROUP, logStreamName="s")
    logs(aws).put_log_events(
        logGroupName=GROUP, logStreamName="s", logEvents=[{"timestamp": int(time.time() * 1000), "message": "x" * 100}]
    )

    found = LogGroupType().get(aws, REGION, GROUP)

    assert found is not None
    assert found.tags == {"cleanup:protect": "true"}
    assert found.protected
    stored = logs(aws).describe_log_groups(logGroupNamePrefix=GROUP)["logGroups"][0]["storedBytes"]
    assert found.usage == {"stored_bytes": stored}
    assert stored > 0


def test_delete_then_get_is_none(aws: Aws, groups: None) -> None:
    t = LogGroupType()
    found = t.get(aws, REGION, GROUP)
    assert found is not None

    t.delete(aws, found)

    assert GROUP not in group_names(aws)
    assert set(LOOKALIKES) <= group_names(aws)
    assert t.get(aws, REGION, GROUP) is None


def test_identity_changes_when_recreated(aws: Aws) -> None:
    logs(aws).create_log_group(logGroupName=GROUP)
    t = LogGroupType()
    before = t.get(aws, REGION, GROUP)
    assert before is not None
    logs(aws).delete_log_group(logGroupName=GROUP)
    time.sleep(0.01)  # creationTime is in milliseconds: keep both creations out of the same one
    logs(aws).create_log_group(logGroupName=GROUP)

    after = t.get(aws, REGION, GROUP)

    assert after is not None and after.arn == before.arn
    assert after.identity != before.identity


def group_item(name: str) -> dict[str, Any]:
    arn = f"arn:aws:logs:us-east-1:123456789012:log-group:{name}"
    return {"logGroupName": name, "creationTime": 1, "storedBytes": 5, "arn": arn + ":*"}


def test_describe_log_groups_reads_every_page(aws: Aws) -> None:
    client = logs(aws)
    with Stubber(client) as stub:
        stub.add_response("describe_log_groups", {"logGroups": [group_item("/a")], "nextToken": "t1"}, {})
        stub.add_response("describe_log_groups", {"logGroups": [group_item(GROUP)]}, {"nextToken": "t1"})
        stub.add_response("list_tags_for_resource", {"tags": {"k": "v"}}, {"resourceArn": ARN})

        found = LogGroupType().find(aws, REGION, lambda n: n == GROUP)

        stub.assert_no_pending_responses()
    assert [(f.id, f.tags, f.usage) for f in found] == [(GROUP, {"k": "v"}, {"stored_bytes": 5})]


def test_tags_fall_back_to_list_tags_log_group(aws: Aws) -> None:
    """Where ListTagsForResource is not available (older endpoints, narrow IAM policies), the old call is used."""
    client = logs(aws)
    with Stubber(client) as stub:
        stub.add_response("describe_log_groups", {"logGroups": [group_item(GROUP)]}, {"logGroupNamePrefix": GROUP})
        stub.add_client_error("list_tags_for_resource", "UnknownOperationException", "nope", 400, {"resourceArn": ARN})
        stub.add_response("list_tags_log_group", {"tags": {"cleanup:protect": "true"}}, {"logGroupName": GROUP})

        found = LogGroupType().get(aws, REGION, GROUP)

        stub.assert_no_pending_responses()
    assert found is not None and found.protected


def test_group_gone_while_reading_tags_is_none(aws: Aws) -> None:
    client = logs(aws)
    with Stubber(client) as stub:
        stub.add_response("describe_log_groups", {"logGroups": [group_item(GROUP)]}, {"logGroupNamePrefix": GROUP})
        stub.add_client_error("list_tags_for_resource", "ResourceNotFoundException", "gone", 400, {"resourceArn": ARN})

        assert LogGroupType().get(aws, REGION, GROUP) is None
