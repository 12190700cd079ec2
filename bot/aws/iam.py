"""IAM roles: free to keep, but the workshop's execution roles are what a careful cleanup must not leave behind.

A role cannot be deleted while policies are attached or embedded or while it sits in an instance profile, so
delete() unhooks those first. It only unhooks: managed policies and instance profiles may be outside the plan.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from botocore.exceptions import ClientError

from bot.aws.base import GLOBAL, Found, NameMatch, ResourceType, epoch_seconds
from bot.aws.clients import Aws


def _iso(value: Any) -> str:
    if isinstance(value, datetime):
        return (value if value.tzinfo else value.replace(tzinfo=UTC)).astimezone(UTC).isoformat()
    return str(value or "")


def _no_such_entity(error: ClientError) -> bool:
    return str(error.response.get("Error", {}).get("Code", "")) == "NoSuchEntity"


def _listed(client: Any, operation: str, result_key: str, role_name: str) -> list[Any]:
    """Everything one of the role's paginated list calls returns; empty when the role is already gone.

    Collected before any change is made (a role holds at most a few dozen), so removals never shift a marker.
    """
    try:
        return [
            item
            for page in client.get_paginator(operation).paginate(RoleName=role_name)
            for item in page.get(result_key, [])
        ]
    except ClientError as e:
        if _no_such_entity(e):
            return []
        raise


def _carry_on_if_gone(call: Callable[..., Any], **kwargs: Any) -> None:
    """One unhooking step; NoSuchEntity means it is already undone (or the role is gone), which is fine."""
    try:
        call(**kwargs)
    except ClientError as e:
        if not _no_such_entity(e):
            raise


class RoleType(ResourceType):
    key = "iam.role"
    label = "IAM role"
    service_label = "IAM"
    is_global = True

    def find(self, aws: Aws, region: str, match: NameMatch) -> list[Found]:
        client = aws.client("iam", GLOBAL)
        names = [
            role["RoleName"]
            for page in client.get_paginator("list_roles").paginate()
            for role in page["Roles"]
            if match(role["RoleName"])
        ]
        # ListRoles leaves tags out; GetRole has them. A role deleted meanwhile is simply not found.
        return [found for found in aws.map(lambda name: self.get(aws, GLOBAL, name), names) if found]

    def get(self, aws: Aws, region: str, id_: str) -> Found | None:
        client = aws.client("iam", GLOBAL)
        try:
            role = client.get_role(RoleName=id_)["Role"]
            tags = role.get("Tags", [])  # GetRole returns every tag of the role; the key is absent when none
        except ClientError as e:
            if _no_such_entity(e):
                return None
            raise
        details: dict[str, Any] = {"path": role.get("Path", "/"), "created_at": epoch_seconds(role.get("CreateDate"))}
        last_used = role.get("RoleLastUsed") or {}
        if last_used.get("LastUsedDate"):
            details["last_used"] = _iso(last_used["LastUsedDate"])
        if last_used.get("Region"):
            details["last_used_region"] = last_used["Region"]
        return Found(
            type=self.key,
            region=GLOBAL,
            id=role["RoleName"],
            name=role["RoleName"],
            arn=role["Arn"],
            identity=role["RoleId"],  # a new RoleId each time a role is created, even under the same name
            tags={tag["Key"]: tag["Value"] for tag in tags},
            details=details,
        )

    def delete(self, aws: Aws, found: Found) -> None:
        client = aws.client("iam", GLOBAL)
        name = found.id
        for policy in _listed(client, "list_attached_role_policies", "AttachedPolicies", name):
            _carry_on_if_gone(client.detach_role_policy, RoleName=name, PolicyArn=policy["PolicyArn"])
        for policy_name in _listed(client, "list_role_policies", "PolicyNames", name):
            _carry_on_if_gone(client.delete_role_policy, RoleName=name, PolicyName=policy_name)
        for profile in _listed(client, "list_instance_profiles_for_role", "InstanceProfiles", name):
            _carry_on_if_gone(
                client.remove_role_from_instance_profile,
                InstanceProfileName=profile["InstanceProfileName"],
                RoleName=name,
            )
        # NoSuchEntity here propagates: the executor reports the role as already gone.
        client.delete_role(RoleName=name)
