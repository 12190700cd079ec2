"""IAM roles: free to keep, but the workshop's execution roles are what a careful cleanup must not leave behind.

A role cannot be deleted while policies are attached or embedded or while it sits in an instance profile, so
delete() unhooks those first. It only unhooks: managed policies and instance profiles may be outside the plan.
If DeleteRole is refused after that, what was unhooked is put back, so that no half-destroyed role is left.

get() reports who may use the role: the principals of its trust policy (`details["trust"]`) and the instance
profiles holding it. The cleanup core turns those into the listings that prove the role unused.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime
from functools import partial
from typing import Any
from urllib.parse import unquote

from botocore.exceptions import ClientError

from bot.aws.base import GLOBAL, Approval, Found, NameMatch, ResourceType, epoch_seconds
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


def trust_principals(document: Any) -> dict[str, list[str]]:
    """Who the trust policy lets assume the role: {"services": [...], "other": ["AWS arn:...", "Federated ..."]}.

    Every Allow statement counts, whatever its conditions (a condition narrows who, never makes a principal safe).
    A document that cannot be read is reported as trusting "an unreadable trust policy".
    """
    if isinstance(document, str):
        try:
            document = json.loads(unquote(document))
        except ValueError:
            return {"services": [], "other": ["an unreadable trust policy"]}
    if not isinstance(document, dict):
        return {"services": [], "other": ["an unreadable trust policy"]}
    statements = document.get("Statement", [])
    if isinstance(statements, dict):
        statements = [statements]
    services: list[str] = []
    other: list[str] = []
    for statement in statements if isinstance(statements, list) else []:
        if not isinstance(statement, dict) or statement.get("Effect") != "Allow":
            continue
        if "NotPrincipal" in statement:
            other.append("everyone but a few (NotPrincipal)")
        principal = statement.get("Principal", {})
        if principal == "*" or not isinstance(principal, dict):
            other.append("any principal (*)")
            continue
        for kind, values in principal.items():
            for value in [values] if isinstance(values, str) else list(values or []):
                if kind == "Service":
                    services.append(str(value))
                else:
                    other.append(f"{kind} {value}")
    return {"services": sorted(set(services)), "other": sorted(set(other))}


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
        if not names:
            return []
        # One account-wide listing of instance profiles rather than one call per role.
        profiles: dict[str, list[str]] = {}
        for page in client.get_paginator("list_instance_profiles").paginate():
            for profile in page.get("InstanceProfiles", []):
                for role in profile.get("Roles", []):
                    profiles.setdefault(role["RoleName"], []).append(profile["Arn"])
        # ListRoles leaves tags out; GetRole has them. A role deleted meanwhile is simply not found.
        found = aws.map(lambda name: self._read(aws, name, profiles.get(name, [])), names)
        return [f for f in found if f]

    def get(self, aws: Aws, region: str, id_: str) -> Found | None:
        return self._read(aws, id_, None)

    def _read(self, aws: Aws, id_: str, profiles: list[str] | None) -> Found | None:
        """The role as it is now; `profiles`: the instance profiles holding it, when already listed."""
        client = aws.client("iam", GLOBAL)
        try:
            role = client.get_role(RoleName=id_)["Role"]
            tags = role.get("Tags", [])  # GetRole returns every tag of the role; the key is absent when none
        except ClientError as e:
            if _no_such_entity(e):
                return None
            raise
        if profiles is None:
            profiles = [p["Arn"] for p in _listed(client, "list_instance_profiles_for_role", "InstanceProfiles", id_)]
        details: dict[str, Any] = {
            "path": role.get("Path", "/"),
            "created_at": epoch_seconds(role.get("CreateDate")),
            "trust": trust_principals(role.get("AssumeRolePolicyDocument")),
            "instance_profiles": sorted(profiles),
        }
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

    def delete(self, aws: Aws, found: Found, approval: Approval | None = None) -> None:
        client = aws.client("iam", GLOBAL)
        name = found.id
        # Everything is read before anything changes, so that it can be put back if DeleteRole is refused.
        attached = [p["PolicyArn"] for p in _listed(client, "list_attached_role_policies", "AttachedPolicies", name)]
        inline = {
            policy_name: client.get_role_policy(RoleName=name, PolicyName=policy_name)["PolicyDocument"]
            for policy_name in _listed(client, "list_role_policies", "PolicyNames", name)
        }
        profiles = [
            p["InstanceProfileName"]
            for p in _listed(client, "list_instance_profiles_for_role", "InstanceProfiles", name)
        ]
        undone: list[Callable[[], Any]] = []
        try:
            for policy_arn in attached:
                _carry_on_if_gone(client.detach_role_policy, RoleName=name, PolicyArn=policy_arn)
                undone.append(partial(client.attach_role_policy, RoleName=name, PolicyArn=policy_arn))
            for policy_name, document in inline.items():
                _carry_on_if_gone(client.delete_role_policy, RoleName=name, PolicyName=policy_name)
                text = document if isinstance(document, str) else json.dumps(document)
                undone.append(
                    partial(client.put_role_policy, RoleName=name, PolicyName=policy_name, PolicyDocument=text)
                )
            for profile in profiles:
                _carry_on_if_gone(client.remove_role_from_instance_profile, InstanceProfileName=profile, RoleName=name)
                undone.append(partial(client.add_role_to_instance_profile, InstanceProfileName=profile, RoleName=name))
            # NoSuchEntity here propagates: the executor reports the role as already gone.
            client.delete_role(RoleName=name)
        except ClientError as e:
            if _no_such_entity(e) or not undone:
                raise
            raise _restored(e, undone, len(attached), len(inline), len(profiles)) from e


def _restored(
    error: ClientError, undone: list[Callable[[], Any]], managed: int, inline: int, profiles: int
) -> ClientError:
    """Put back what was unhooked, newest first; the error says what was restored (or what could not be)."""
    failed = 0
    for step in reversed(undone):
        try:
            step()
        except ClientError:
            failed += 1
    what = f"{managed} managed policies, {inline} inline policies, {profiles} instance profiles"
    restored = f"restored {what}" if not failed else f"{failed} of {len(undone)} unhooking steps could NOT be undone"
    err = dict(error.response.get("Error", {}))
    err["Message"] = f"{err.get('Message', '')} (role kept; {restored})".strip()
    return ClientError({**error.response, "Error": err}, error.operation_name)
