"""deploy/: the member-account role's permissions are iam-policy.json's, never drifting, and the template deploys."""

from __future__ import annotations

import ast
import json
from pathlib import Path

from bot.aws.accounts import assumed_session
from bot.aws.clients import new_session
from bot.config import Settings

ROOT = Path(__file__).resolve().parents[1]
TEMPLATE = ROOT / "deploy" / "member-role.json"


def actions(statements: list[dict[str, object]]) -> dict[str, set[str]]:
    out: dict[str, set[str]] = {}
    for statement in statements:
        action = statement["Action"]
        out[str(statement["Sid"])] = {action} if isinstance(action, str) else set(action)  # type: ignore[call-overload]
    return out


def template_policy(template: dict[str, object]) -> list[dict[str, object]]:
    role = template["Resources"]["CleanupRole"]["Properties"]  # type: ignore[index]
    (policy,) = role["Policies"]
    return list(policy["PolicyDocument"]["Statement"])


def test_template_grants_exactly_iam_policy_json() -> None:
    template = json.loads(TEMPLATE.read_text())
    policy = json.loads((ROOT / "iam-policy.json").read_text())
    assert actions(template_policy(template)) == actions(policy["Statement"])
    for mine, theirs in zip(template_policy(template), policy["Statement"], strict=True):
        assert (mine["Effect"], mine["Resource"]) == (theirs["Effect"], theirs["Resource"])


def test_template_trusts_the_apps_account_and_names_the_apps_default_role() -> None:
    template = json.loads(TEMPLATE.read_text())
    role = template["Resources"]["CleanupRole"]["Properties"]
    assert template["Parameters"]["RoleName"]["Default"] == Settings().assume_role == "DogcatCleanupRole"
    (trust,) = role["AssumeRolePolicyDocument"]["Statement"]
    assert trust["Action"] == "sts:AssumeRole"
    assert trust["Principal"] == {"AWS": {"Fn::Sub": "arn:${AWS::Partition}:iam::${AppAccountId}:root"}}
    assert "123456789012" not in TEMPLATE.read_text()  # nothing account-specific: one template for a StackSet
    app = json.loads((ROOT / "deploy" / "app-identity-policy.json").read_text())
    assert {a for s in app["Statement"] for a in [s["Action"]]} == {"sts:AssumeRole", "organizations:ListAccounts"}


def test_stack_creates_the_role_in_a_member_account(moto_server: str) -> None:
    member = assumed_session(new_session(region_name="us-east-1"), "arn:aws:iam::111111111111:role/Admin", "deploying")
    cfn = member.client("cloudformation")
    cfn.create_stack(
        StackName="dogcat-cleanup-role",
        TemplateBody=TEMPLATE.read_text(),
        Parameters=[{"ParameterKey": "AppAccountId", "ParameterValue": "123456789012"}],
        Capabilities=["CAPABILITY_NAMED_IAM"],
    )
    iam = member.client("iam")
    role = iam.get_role(RoleName="DogcatCleanupRole")["Role"]
    assert role["Arn"] == "arn:aws:iam::111111111111:role/DogcatCleanupRole"
    trust = role["AssumeRolePolicyDocument"]
    trust = json.loads(trust) if isinstance(trust, str) else trust
    assert trust["Statement"][0]["Principal"] == {"AWS": "arn:aws:iam::123456789012:root"}
    inline = iam.get_role_policy(RoleName="DogcatCleanupRole", PolicyName="dogcat-cleanup")["PolicyDocument"]
    if isinstance(inline, str):  # moto keeps a CloudFormation-made inline policy as Python's repr of it
        inline = ast.literal_eval(inline)
    policy = json.loads((ROOT / "iam-policy.json").read_text())
    assert actions(inline["Statement"]) == actions(policy["Statement"])
