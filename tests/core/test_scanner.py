"""The scan: exact names, references, and every reason to keep something (against moto's in-process mock)."""

from __future__ import annotations

import json

import boto3
import pytest

from bot.aws.clients import Aws, new_session
from bot.core.plan import Plan
from bot.core.scanner import ScanError, scan
from bot.demo.stack import SAGEMAKER_TRUST, lambda_zip, seed_workshop
from tests.core.helpers import REGION, dogcat, faulty_aws, planned_ids


@pytest.fixture
def session(mocked: None) -> boto3.session.Session:
    return new_session(region_name=REGION)


def kept(plan: Plan) -> dict[str, tuple[str | None, str]]:
    return {f"{r.type}:{r.id}": (r.keep, r.keep_reason) for r in plan.kept}


def test_plan_is_exactly_the_workshop_stack(aws: Aws, session: boto3.session.Session) -> None:
    stack = seed_workshop(session, REGION)
    plan = scan(aws, dogcat(), [REGION])

    assert plan.account_id == stack.account_id
    assert planned_ids(plan) == set(stack.workshop)
    assert plan.kept == []
    everything = planned_ids(plan) | planned_ids(plan, kept=True)
    for survivor in stack.survivors:  # look-alikes are not even mentioned
        assert survivor not in everything
    model = next(r for r in plan.to_delete if r.type == "sagemaker.model")
    assert model.reason == f"model of SageMaker endpoint config {stack.endpoint}"
    endpoint = next(r for r in plan.to_delete if r.type == "sagemaker.endpoint")
    assert endpoint.monthly_cost == pytest.approx(0.115 * 730)


def test_dependencies_follow_references(aws: Aws, session: boto3.session.Session) -> None:
    stack = seed_workshop(session, REGION)
    plan = scan(aws, dogcat(), [REGION])
    by_id = {r.id: r for r in plan.to_delete}
    endpoint_key = f"sagemaker.endpoint|{REGION}|{stack.endpoint}"
    config = next(r for r in plan.to_delete if r.type == "sagemaker.endpoint-config")
    model = next(r for r in plan.to_delete if r.type == "sagemaker.model")
    sm_role = next(r for r in plan.to_delete if r.id.startswith("AmazonSageMaker-ExecutionRole-"))
    bucket = by_id[stack.bucket]
    assert config.depends_on == [endpoint_key]
    assert model.depends_on == [config.key]
    # A role SageMaker can use, and every bucket, wait for every planned endpoint, config and model.
    assert sm_role.depends_on == sorted([endpoint_key, config.key, model.key])
    assert bucket.depends_on == sorted([endpoint_key, config.key, model.key])
    assert by_id["/aws/lambda/InvokeModelLambda"].depends_on == [f"lambda.function|{REGION}|InvokeModelLambda"]


def test_role_used_by_a_function_outside_the_plan_is_kept(aws: Aws, session: boto3.session.Session) -> None:
    seed_workshop(session, REGION)
    role_arn = session.client("iam").get_role(RoleName="InvokeModelLambda-role-a1b2c3d4")["Role"]["Arn"]
    session.client("lambda").create_function(
        FunctionName="NightlyReport", Runtime="python3.12", Role=role_arn, Handler="x.h", Code={"ZipFile": lambda_zip()}
    )
    plan = scan(aws, dogcat(), [REGION])

    kind, reason = kept(plan)["iam.role:InvokeModelLambda-role-a1b2c3d4"]
    assert kind == "in-use"
    assert "NightlyReport" in reason and "not in the plan" in reason
    assert "lambda.function:InvokeModelLambda" in planned_ids(plan)  # the function itself still goes


def test_bucket_read_by_a_model_outside_the_plan_is_kept(aws: Aws, session: boto3.session.Session) -> None:
    stack = seed_workshop(session, REGION)
    other_role = session.client("iam").create_role(
        RoleName="ops-sagemaker", AssumeRolePolicyDocument=json.dumps(SAGEMAKER_TRUST)
    )
    session.client("sagemaker").create_model(
        ModelName="fraud-detector",
        ExecutionRoleArn=other_role["Role"]["Arn"],
        PrimaryContainer={"Image": "img", "ModelDataUrl": f"s3://{stack.bucket}/fraud/model.tar.gz"},
    )
    plan = scan(aws, dogcat(), [REGION])

    kind, reason = kept(plan)[f"s3.bucket:{stack.bucket}"]
    assert kind == "in-use" and "fraud-detector" in reason
    assert "iam.role:ops-sagemaker" not in planned_ids(plan) | planned_ids(plan, kept=True)


def test_protected_endpoint_keeps_what_it_uses(aws: Aws, session: boto3.session.Session) -> None:
    stack = seed_workshop(session, REGION)
    sm = session.client("sagemaker")
    arn = sm.describe_endpoint(EndpointName=stack.endpoint)["EndpointArn"]
    sm.add_tags(ResourceArn=arn, Tags=[{"Key": "cleanup:protect", "Value": "true"}])
    plan = scan(aws, dogcat(), [REGION])

    kinds = kept(plan)
    assert kinds[f"sagemaker.endpoint:{stack.endpoint}"][0] == "protected"
    assert kinds[f"sagemaker.endpoint-config:{stack.endpoint}"][0] == "depends-on-kept"
    assert kinds[f"s3.bucket:{stack.bucket}"][0] == "depends-on-kept"
    assert kinds["iam.role:AmazonSageMaker-ExecutionRole-2025a1b2c3d4"][0] == "depends-on-kept"
    assert {"lambda.function:InvokeModelLambda", "dynamodb.table:PredictionHistory"} <= planned_ids(plan)


def test_deletion_protection_is_a_guard(aws: Aws, session: boto3.session.Session) -> None:
    seed_workshop(session, REGION)
    session.client("dynamodb").update_table(TableName="PredictionHistory", DeletionProtectionEnabled=True)
    plan = scan(aws, dogcat(), [REGION])
    kind, reason = kept(plan)["dynamodb.table:PredictionHistory"]
    assert kind == "guarded" and "deletion protection" in reason


def test_access_denied_on_one_listing_is_reported_and_keeps_what_it_might_use(moto_server: str) -> None:
    aws, faults = faulty_aws()
    seed_workshop(new_session(region_name=REGION), REGION)
    faults.deny("lambda", "ListFunctions")
    plan = scan(aws, dogcat(), [REGION])

    assert [(p.service, p.region, p.code) for p in plan.problems] == [
        ("Lambda function", REGION, "AccessDeniedException")
    ]
    kinds = kept(plan)
    assert kinds["iam.role:InvokeModelLambda-role-a1b2c3d4"][0] == "unchecked"
    assert "Lambda function in us-east-1" in kinds["iam.role:InvokeModelLambda-role-a1b2c3d4"][1]
    # What no Lambda function can use still goes.
    assert {"dynamodb.table:PredictionHistory", "sagemaker.endpoint:dogcat-endpoint-a1b2c3d4"} <= planned_ids(plan)


def test_plan_round_trips_through_json(aws: Aws, session: boto3.session.Session) -> None:
    seed_workshop(session, REGION)
    plan = scan(aws, dogcat(), [REGION])
    assert Plan.from_json(plan.to_json()) == plan


def test_several_regions(aws: Aws, session: boto3.session.Session) -> None:
    seed_workshop(session, REGION, suffix="east0001")
    seed_workshop(new_session(region_name="eu-west-1"), "eu-west-1", suffix="west0001")
    plan = scan(aws, dogcat(), [REGION, "eu-west-1"])
    endpoints = {(r.region, r.id) for r in plan.to_delete if r.type == "sagemaker.endpoint"}
    assert endpoints == {(REGION, "dogcat-endpoint-east0001"), ("eu-west-1", "dogcat-endpoint-west0001")}
    buckets = {(r.region, r.id) for r in plan.to_delete if r.type == "s3.bucket"}
    assert buckets == {(REGION, "sagemaker-us-east-1-123456789012"), ("eu-west-1", "sagemaker-eu-west-1-123456789012")}


def test_unknown_region_is_refused_before_any_call(aws: Aws) -> None:
    with pytest.raises(ScanError, match="unknown AWS region us-east-9"):
        scan(aws, dogcat(), ["us-east-9"])


def test_no_credentials_is_a_clear_error(monkeypatch: pytest.MonkeyPatch, tmp_path: object) -> None:
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.delenv(name)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", f"{tmp_path}/none")
    monkeypatch.setenv("AWS_CONFIG_FILE", f"{tmp_path}/none")
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    with pytest.raises(ScanError, match="no AWS credentials"):
        scan(Aws(new_session(region_name=REGION)), dogcat(), [REGION])
