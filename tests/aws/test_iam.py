"""IAM roles against moto: matching, tags, identity, and deletion that only unhooks what the role uses."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from botocore.exceptions import ClientError
from botocore.stub import ANY, Stubber

from bot.aws.base import GLOBAL, PROTECT_TAG, is_not_found
from bot.aws.clients import Aws
from bot.aws.iam import RoleType

PREFIX = "InvokeModelLambda-role-"
TRUST = json.dumps(
    {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}
        ],
    }
)
POLICY = json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}]})


def prefixed(name: str) -> bool:
    return name.startswith(PREFIX)


def create_role(aws: Aws, name: str, **kwargs: object) -> str:
    return str(aws.client("iam").create_role(RoleName=name, AssumeRolePolicyDocument=TRUST, **kwargs)["Role"]["RoleId"])


def test_find_matches_and_reads_tags(aws: Aws) -> None:
    create_role(aws, f"{PREFIX}abc", Tags=[{"Key": PROTECT_TAG, "Value": "true"}])
    create_role(aws, f"{PREFIX}def", Path="/service-role/")
    create_role(aws, "SomeoneElsesRole")

    found = {f.name: f for f in RoleType().find(aws, GLOBAL, prefixed)}

    assert set(found) == {f"{PREFIX}abc", f"{PREFIX}def"}
    assert found[f"{PREFIX}abc"].protected
    assert not found[f"{PREFIX}def"].protected
    assert found[f"{PREFIX}def"].details["path"] == "/service-role/"
    role = found[f"{PREFIX}def"]
    assert (role.region, role.id, role.type, role.refs, role.usage) == (GLOBAL, f"{PREFIX}def", "iam.role", [], {})
    assert role.arn.endswith(f":role/service-role/{PREFIX}def")


def test_get_missing_is_none(aws: Aws) -> None:
    assert RoleType().get(aws, GLOBAL, "NoSuchRole") is None


def test_identity_changes_when_recreated(aws: Aws) -> None:
    name = f"{PREFIX}abc"
    create_role(aws, name)
    before = RoleType().get(aws, GLOBAL, name)
    assert before is not None
    aws.client("iam").delete_role(RoleName=name)
    role_id = create_role(aws, name)

    after = RoleType().get(aws, GLOBAL, name)

    assert after is not None
    assert after.identity == role_id != before.identity


def test_delete_unhooks_policies_and_instance_profile(aws: Aws) -> None:
    iam = aws.client("iam")
    name = f"{PREFIX}abc"
    create_role(aws, name)
    policy_arn = iam.create_policy(PolicyName="WorkshopS3", PolicyDocument=POLICY)["Policy"]["Arn"]
    iam.attach_role_policy(RoleName=name, PolicyArn=policy_arn)
    iam.put_role_policy(RoleName=name, PolicyName="inline", PolicyDocument=POLICY)
    iam.create_instance_profile(InstanceProfileName="workshop-profile")
    iam.add_role_to_instance_profile(InstanceProfileName="workshop-profile", RoleName=name)
    with pytest.raises(ClientError):  # moto enforces DeleteConflict like AWS, so the unhooking is really tested
        iam.delete_role(RoleName=name)
    found = RoleType().get(aws, GLOBAL, name)
    assert found is not None

    RoleType().delete(aws, found)

    assert RoleType().get(aws, GLOBAL, name) is None
    assert iam.get_instance_profile(InstanceProfileName="workshop-profile")["InstanceProfile"]["Roles"] == []
    assert iam.get_policy(PolicyArn=policy_arn)["Policy"]["AttachmentCount"] == 0


def test_delete_missing_role_says_not_found(aws: Aws) -> None:
    name = f"{PREFIX}abc"
    create_role(aws, name)
    found = RoleType().get(aws, GLOBAL, name)
    assert found is not None
    aws.client("iam").delete_role(RoleName=name)

    with pytest.raises(ClientError) as raised:
        RoleType().delete(aws, found)
    assert is_not_found(raised.value)


def _role(name: str) -> dict[str, object]:
    return {
        "Path": "/",
        "RoleName": name,
        "RoleId": f"AROA{name.upper():A<17}"[:21],
        "Arn": f"arn:aws:iam::123456789012:role/{name}",
        "CreateDate": datetime(2026, 1, 1, tzinfo=UTC),
    }


def test_find_reads_every_page_of_roles(aws: Aws) -> None:
    iam = aws.client("iam")
    with Stubber(iam) as stub:
        stub.add_response(
            "list_roles", {"Roles": [_role("other"), _role(f"{PREFIX}a")], "IsTruncated": True, "Marker": "m"}, {}
        )
        stub.add_response("list_roles", {"Roles": [_role(f"{PREFIX}b")], "IsTruncated": False}, {"Marker": "m"})
        stub.add_response("list_instance_profiles", {"InstanceProfiles": [], "IsTruncated": False}, {})
        for name in (f"{PREFIX}a", f"{PREFIX}b"):  # either call may take either answer
            stub.add_response(
                "get_role", {"Role": {**_role(name), "Tags": [{"Key": "k", "Value": name}]}}, {"RoleName": ANY}
            )
        found = RoleType().find(aws, GLOBAL, prefixed)
        stub.assert_no_pending_responses()

    assert sorted(f.name for f in found) == [f"{PREFIX}a", f"{PREFIX}b"]
    assert all(f.tags == {"k": f.name} for f in found)
