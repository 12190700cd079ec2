"""Many accounts on one moto server (MOTO-NOTES 13: sts.assume_role into another account acts on that account's own
backend): each account seeded with the workshop stack and its look-alikes, one scan of all, one approval, then AWS's
state asserted in every account. Faults (a role that cannot be assumed) are answered in STS's query wire format
through botocore's before-send event (tests/faults.py)."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import parse_qs

import boto3
import pytest
from botocore.awsrequest import AWSResponse
from botocore.credentials import DeferredRefreshableCredentials

from bot.aws.accounts import assumed_session, session_name
from bot.aws.clients import Aws, new_session
from bot.core.accounts import Fleet, Target, UnknownAccountError, execute_fleet, scan_fleet
from bot.core.executor import ExecutorOptions
from bot.core.plan import Plan, split_key
from bot.demo.inventory import existing
from bot.demo.stack import SeededStack, seed_workshop
from tests.core.helpers import REGION, dogcat
from tests.faults import error_response

OWN = "123456789012"  # moto's default account: the credentials' own
ALICE, BOB = "111111111111", "222222222222"
ROLE = "DogcatCleanupRole"
FAST = ExecutorOptions(delete_interval=0.0)
APPROVER = "UAPPROVER1"


def role_of(account: str) -> str:
    return f"arn:aws:iam::{account}:role/{ROLE}"


def account_session(base: boto3.session.Session, account: str) -> boto3.session.Session:
    return base if account == OWN else assumed_session(base, role_of(account), "seeding")


class StsLog:
    """Every AssumeRole that reaches the wire (role and session name), and AssumeRole refusals by account."""

    def __init__(self, session: boto3.session.Session) -> None:
        self.assumed: list[tuple[str, str]] = []
        self.refuse: dict[str, str] = {}  # account -> error code
        session.events.register_first("before-send.sts.AssumeRole", self._hook)

    def _hook(self, request: Any = None, **_kwargs: Any) -> AWSResponse | None:
        body = request.body.decode() if isinstance(request.body, bytes) else str(request.body or "")
        fields = {k: v[0] for k, v in parse_qs(body).items()}
        arn, name = fields.get("RoleArn", ""), fields.get("RoleSessionName", "")
        self.assumed.append((arn, name))
        account = arn.split(":")[4] if arn.count(":") >= 5 else ""
        code = self.refuse.get(account)
        if code:
            return error_response("sts", code, f"User is not authorized to perform sts:AssumeRole on {arn}", 403)
        return None


@pytest.fixture
def base(moto_server: str) -> boto3.session.Session:
    return new_session(region_name=REGION)


def seed(base: boto3.session.Session, accounts: list[str]) -> dict[str, SeededStack]:
    return {account: seed_workshop(account_session(base, account), REGION) for account in accounts}


def state(base: boto3.session.Session, account: str) -> set[str]:
    return existing(account_session(base, account))


def test_one_approval_deletes_every_accounts_stack_and_keeps_look_alikes(base: boto3.session.Session) -> None:
    stacks = seed(base, [OWN, ALICE, BOB])
    log = StsLog(base)
    fleet = Fleet(Aws(base), [OWN, ALICE, role_of(BOB)], ROLE)
    plan = scan_fleet(fleet, dogcat(), [REGION], requester="UREQUEST1")

    assert [(a.account_id, a.role_arn, a.error) for a in plan.accounts] == [
        (OWN, "", ""),
        (ALICE, role_of(ALICE), ""),
        (BOB, role_of(BOB), ""),
    ]
    for account, stack in stacks.items():
        planned = {f"{r.type}:{r.name if r.type != 'apigateway.rest-api' else r.id}" for r in plan.to_delete}
        part = plan.for_account(account)
        assert part.account_id == account and part.to_delete
        assert all(r.account_id == account for r in plan.resources if split_key(r.key)[0] == account)
        names = {f"{r.type}:{r.name}" for r in part.to_delete}
        assert f"s3.bucket:sagemaker-{REGION}-{account}" in names
        assert not {s for s in stack.survivors if s in planned and s.split(":")[0] != "apigateway.rest-api"}
    # The own account is used directly; the others through their role, named after the requester.
    assert sorted({arn for arn, _ in log.assumed}) == [role_of(ALICE), role_of(BOB)]
    assert {name for _, name in log.assumed} == {"dogcat-cleanup-scan-UREQUEST1"}

    stored = Plan.from_json(plan.to_json())  # what the state store keeps
    assert stored == plan
    log.assumed.clear()
    events: list[str] = []
    results = execute_fleet(fleet, stored, APPROVER, lambda e: events.append(e.key), FAST)

    assert {r.status for r in results} == {"deleted"}, [(r.key, r.status, r.reason) for r in results]
    assert {r.key for r in results} == {r.key for r in plan.to_delete}
    assert len(results) == len(plan.to_delete) == 3 * len(plan.for_account(OWN).to_delete)
    assert set(events) >= {r.key for r in plan.to_delete}
    assert {name for _, name in log.assumed} == {f"dogcat-cleanup-{APPROVER}"}  # CloudTrail says who approved
    for account, stack in stacks.items():
        left = state(base, account)
        assert set(stack.survivors) <= left, (account, set(stack.survivors) - left)
        assert not [w for w in stack.workshop if w in left], (account, [w for w in stack.workshop if w in left])


def test_account_whose_role_cannot_be_assumed_is_reported_and_the_others_go_on(
    base: boto3.session.Session,
) -> None:
    stacks = seed(base, [ALICE, BOB])
    log = StsLog(base)
    log.refuse[BOB] = "AccessDenied"
    fleet = Fleet(Aws(base), [ALICE, BOB], ROLE)
    plan = scan_fleet(fleet, dogcat(), [REGION], requester="UREQUEST1")

    parts = {a.account_id: a for a in plan.accounts}
    assert parts[ALICE].error == ""
    assert "AccessDenied" in parts[BOB].error and role_of(BOB) in parts[BOB].error
    assert plan.for_account(ALICE).to_delete and not plan.for_account(BOB).resources

    results = execute_fleet(fleet, plan, APPROVER, None, FAST)
    assert {r.status for r in results} == {"deleted"}
    assert not [w for w in stacks[ALICE].workshop if w in state(base, ALICE)]
    log.refuse.clear()
    assert set(stacks[BOB].workshop) <= state(base, BOB)  # never scanned, never touched


def test_role_refused_at_run_time_skips_that_account_only(base: boto3.session.Session) -> None:
    stacks = seed(base, [ALICE, BOB])
    log = StsLog(base)
    plan = scan_fleet(Fleet(Aws(base), [ALICE, BOB], ROLE), dogcat(), [REGION], requester="UREQUEST1")
    log.refuse[BOB] = "AccessDenied"
    results = execute_fleet(Fleet(Aws(base), [ALICE, BOB], ROLE), plan, APPROVER, None, FAST)

    by_account: dict[str, set[str]] = {}
    for r in results:
        by_account.setdefault(split_key(r.key)[0], set()).add(r.status)
    assert by_account == {ALICE: {"deleted"}, BOB: {"skipped"}}
    reasons = {r.reason for r in results if split_key(r.key)[0] == BOB}
    assert len(reasons) == 1 and f"account {BOB}" in reasons.pop()
    log.refuse.clear()
    assert set(stacks[BOB].workshop) <= state(base, BOB)
    assert not [w for w in stacks[ALICE].workshop if w in state(base, ALICE)]


def test_credentials_pointing_at_another_account_delete_nothing_there(
    base: boto3.session.Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    stacks = seed(base, [ALICE, BOB])
    fleet = Fleet(Aws(base), [ALICE, BOB], ROLE)
    plan = scan_fleet(fleet, dogcat(), [REGION], requester="UREQUEST1")
    opened = fleet.open

    def misrouted(target: Target, name: str) -> Aws:  # ALICE's role now leads into BOB's account
        return opened(Target(BOB, role_of(BOB)) if target.account_id == ALICE else target, name)

    monkeypatch.setattr(fleet, "open", misrouted)
    results = execute_fleet(fleet, plan, APPROVER, None, FAST)

    alice = [r for r in results if split_key(r.key)[0] == ALICE]
    assert alice and {r.status for r in alice} == {"skipped"}
    assert all(f"credentials now point at account {BOB}" in r.reason for r in alice)
    assert set(stacks[ALICE].workshop) <= state(base, ALICE)  # nothing deleted in ALICE
    bob = [r for r in results if split_key(r.key)[0] == BOB]
    assert {r.status for r in bob} == {"deleted"}


def test_session_name_says_who_and_stays_within_iam_rules() -> None:
    assert session_name("dogcat-cleanup", "U012AB3CD") == "dogcat-cleanup-U012AB3CD"
    odd = session_name("dogcat-cleanup", "ana maria/ops:" + "x" * 80)
    assert len(odd) == 64 and odd.startswith("dogcat-cleanup-ana-maria-ops-")
    assert all(c.isalnum() or c in "+=,.@-_" for c in odd)


def test_assumed_credentials_refresh_themselves(base: boto3.session.Session) -> None:
    """A role session near its end is renewed by botocore with a new AssumeRole, and calls keep working."""
    log = StsLog(base)
    # 900 s, AWS's shortest session, is inside botocore's 15-minute refresh window: every use renews it.
    session = assumed_session(base, role_of(ALICE), "dogcat-cleanup-URUN", duration_seconds=900)
    credentials = session.get_credentials()
    assert isinstance(credentials, DeferredRefreshableCredentials)
    sts = session.client("sts")
    first = sts.get_caller_identity()
    credentials.get_frozen_credentials()
    second = sts.get_caller_identity()
    assert first["Account"] == second["Account"] == ALICE
    assert first["Arn"].endswith("assumed-role/DogcatCleanupRole/dogcat-cleanup-URUN")
    assert len(log.assumed) >= 2  # the first AssumeRole, then at least one refresh


def test_organization_lists_active_accounts_and_own_is_used_directly(base: boto3.session.Session) -> None:
    org = base.client("organizations")
    org.create_organization(FeatureSet="ALL")
    created = []
    for name in ("ws-participant-1", "ws-participant-2"):
        status = org.create_account(Email=f"{name}@example.com", AccountName=name)["CreateAccountStatus"]
        created.append(org.describe_create_account_status(CreateAccountRequestId=status["Id"])["CreateAccountStatus"])
    ids = sorted(c["AccountId"] for c in created)
    fleet = Fleet(Aws(base), ["organization"], "WorkshopCleanup")
    targets = {t.account_id: t.role_arn for t in fleet.resolve()}
    assert targets == {OWN: "", **{i: f"arn:aws:iam::{i}:role/WorkshopCleanup" for i in ids}}
    assert sorted(fleet.known_ids() or []) == sorted(targets)


def test_unknown_account_is_refused_with_the_configured_ones(base: boto3.session.Session) -> None:
    fleet = Fleet(Aws(base), [ALICE, BOB], ROLE)
    assert fleet.known_ids() == [ALICE, BOB]  # known without any AWS call
    with pytest.raises(UnknownAccountError) as refused:
        scan_fleet(fleet, dogcat(), [REGION], accounts=["333333333333"])
    assert refused.value.unknown == ["333333333333"] and refused.value.known == [ALICE, BOB]


def test_narrowed_scan_covers_only_the_accounts_asked_for(base: boto3.session.Session) -> None:
    seed(base, [ALICE, BOB])
    log = StsLog(base)
    plan = scan_fleet(Fleet(Aws(base), [ALICE, BOB], ROLE), dogcat(), [REGION], accounts=[BOB])
    assert [a.account_id for a in plan.accounts] == [BOB]
    assert {r.account_id for r in plan.resources} == {BOB}
    assert {arn for arn, _ in log.assumed} == {role_of(BOB)}


def test_plans_stored_before_accounts_existed_still_load() -> None:
    old = {
        "profile": "dogcat",
        "account_id": OWN,
        "regions": [REGION],
        "created_at": 1.0,
        "resources": [
            {
                "type": "lambda.function",
                "label": "Lambda function",
                "service": "Lambda",
                "region": REGION,
                "id": "InvokeModelLambda",
                "name": "InvokeModelLambda",
                "arn": "arn:aws:lambda:us-east-1:123456789012:function:InvokeModelLambda",
                "identity": "x",
                "reason": "name is InvokeModelLambda",
            }
        ],
        "problems": [{"service": "IAM role", "region": "global", "code": "AccessDenied", "message": "no"}],
    }
    plan = Plan.from_dict(json.loads(json.dumps(old)))
    assert not plan.is_fleet and plan.accounts == [] and plan.account_ids() == [OWN]
    assert plan.resources[0].key == "lambda.function|us-east-1|InvokeModelLambda"
    assert plan.for_account(OWN) is plan
    assert str(plan.problems[0]) == "IAM role in global: AccessDenied: no"
    assert Plan.from_json(plan.to_json()) == plan
