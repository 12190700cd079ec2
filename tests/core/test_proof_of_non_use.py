"""Roles and buckets are deleted only when "not in use" is proven, across the whole account, at the moment of deletion.

Each test is a situation a real account holds, run for real: the workshop stack and the situation seeded on a moto
server over HTTP, a scan, an approved run, then AWS's state asserted. What moto cannot model (Studio user profiles, jobs
in progress, log-group deletion protection, a refused DeleteRole) is answered in AWS's wire format through
botocore's before-send event (tests/faults.py).
"""

from __future__ import annotations

import json
import time
from typing import Any

import boto3
import pytest

from bot.aws.clients import Aws, new_session
from bot.core.executor import ExecutorOptions, execute
from bot.core.plan import Plan, ResourceResult
from bot.core.scanner import scan
from bot.demo.stack import LAMBDA_TRUST, SAGEMAKER_TRUST, lambda_zip, seed_workshop
from tests.core.helpers import REGION, dogcat, faulty_aws, planned_ids

FAST = ExecutorOptions(delete_interval=0.0)
EC2_TRUST = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"}],
}


@pytest.fixture
def session(moto_server: str) -> boto3.session.Session:
    return new_session(region_name=REGION)


def kept(plan: Plan) -> dict[str, tuple[str | None, str]]:
    return {f"{r.type}:{r.id}": (r.keep, r.keep_reason) for r in plan.kept}


def role_exists(session: boto3.session.Session, name: str) -> bool:
    return name in {r["RoleName"] for r in session.client("iam").list_roles()["Roles"]}


def role_policies(session: boto3.session.Session, name: str) -> tuple[list[str], list[str], list[str]]:
    iam = session.client("iam")
    attached = sorted(p["PolicyArn"] for p in iam.list_attached_role_policies(RoleName=name)["AttachedPolicies"])
    inline = sorted(iam.list_role_policies(RoleName=name)["PolicyNames"])
    profiles = sorted(
        p["InstanceProfileName"] for p in iam.list_instance_profiles_for_role(RoleName=name)["InstanceProfiles"]
    )
    return attached, inline, profiles


def by_name(results: list[ResourceResult]) -> dict[str, ResourceResult]:
    return {r.name: r for r in results}


def create_role(session: boto3.session.Session, name: str, trust: dict[str, Any]) -> str:
    iam = session.client("iam")
    arn: str = iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(trust))["Role"]["Arn"]
    iam.put_role_policy(
        RoleName=name,
        PolicyName="work",
        PolicyDocument=json.dumps(
            {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}]}
        ),
    )
    return arn


def workshop_gone(session: boto3.session.Session, plan: Plan, results: list[ResourceResult]) -> None:
    statuses = {r.key: r.status for r in results}
    for r in plan.to_delete:
        assert statuses[r.key] in {"deleted", "already_gone"}, (r.key, statuses[r.key])


def test_notebook_studio_domain_and_ec2_instance_keep_their_roles(session: boto3.session.Session) -> None:
    stack = seed_workshop(session, REGION)
    notebook_role = create_role(session, "AmazonSageMaker-ExecutionRole-notebook", SAGEMAKER_TRUST)
    studio_role = create_role(session, "AmazonSageMaker-ExecutionRole-studio", SAGEMAKER_TRUST)
    create_role(session, "AmazonSageMaker-ExecutionRole-ec2", EC2_TRUST)
    sm = session.client("sagemaker")
    sm.create_notebook_instance(
        NotebookInstanceName="team-notebook", InstanceType="ml.t3.medium", RoleArn=notebook_role
    )
    sm.create_domain(
        DomainName="team-studio",
        AuthMode="IAM",
        DefaultUserSettings={"ExecutionRole": studio_role},
        SubnetIds=["subnet-1"],
        VpcId="vpc-1",
    )
    iam, ec2 = session.client("iam"), session.client("ec2")
    iam.create_instance_profile(InstanceProfileName="team-instance")
    iam.add_role_to_instance_profile(InstanceProfileName="team-instance", RoleName="AmazonSageMaker-ExecutionRole-ec2")
    image = ec2.describe_images(Owners=["amazon"])["Images"][0]["ImageId"]
    ec2.run_instances(
        ImageId=image, MinCount=1, MaxCount=1, InstanceType="t3.micro", IamInstanceProfile={"Name": "team-instance"}
    )

    aws = Aws(session)
    plan = scan(aws, dogcat(), [REGION])
    reasons = kept(plan)
    assert reasons["iam.role:AmazonSageMaker-ExecutionRole-notebook"][0] == "in-use"
    assert "SageMaker notebook instance team-notebook" in reasons["iam.role:AmazonSageMaker-ExecutionRole-notebook"][1]
    assert "SageMaker Studio domain team-studio" in reasons["iam.role:AmazonSageMaker-ExecutionRole-studio"][1]
    assert "EC2 instance i-" in reasons["iam.role:AmazonSageMaker-ExecutionRole-ec2"][1]
    results = execute(aws, plan, None, FAST)

    workshop_gone(session, plan, results)
    for name in ("notebook", "studio", "ec2"):
        assert role_exists(session, f"AmazonSageMaker-ExecutionRole-{name}")
        assert role_policies(session, f"AmazonSageMaker-ExecutionRole-{name}")[1] == ["work"]
    assert role_policies(session, "AmazonSageMaker-ExecutionRole-ec2")[2] == ["team-instance"]
    assert not role_exists(session, f"AmazonSageMaker-ExecutionRole-2025{'a1b2c3d4'}")
    assert f"s3.bucket:{stack.bucket}" in planned_ids(plan)


def test_function_in_another_region_keeps_the_role(session: boto3.session.Session) -> None:
    seed_workshop(session, REGION)
    role = session.client("iam").get_role(RoleName="InvokeModelLambda-role-a1b2c3d4")["Role"]["Arn"]
    eu = session.client("lambda", region_name="eu-west-1")
    eu.create_function(
        FunctionName="InvokeModelLambda", Runtime="python3.12", Role=role, Handler="x.h", Code={"ZipFile": lambda_zip()}
    )

    aws = Aws(session)
    plan = scan(aws, dogcat(), [REGION])
    kind, reason = kept(plan)["iam.role:InvokeModelLambda-role-a1b2c3d4"]
    results = execute(aws, plan, None, FAST)

    assert kind == "in-use" and "Lambda function InvokeModelLambda in eu-west-1, not in the plan" in reason
    assert role_exists(session, "InvokeModelLambda-role-a1b2c3d4")
    assert role_policies(session, "InvokeModelLambda-role-a1b2c3d4")[1] == ["dynamodb-access"]
    assert [f["FunctionName"] for f in eu.list_functions()["Functions"]] == ["InvokeModelLambda"]
    assert "InvokeModelLambda" not in {
        f["FunctionName"] for f in session.client("lambda").list_functions()["Functions"]
    }
    workshop_gone(session, plan, results)


def test_redeployed_workshop_does_not_take_the_roles_the_first_one_uses(session: boto3.session.Session) -> None:
    """us-east-1 runs the workshop; ap-southeast-1 redeployed it on the same roles and is cleaned up alone."""
    seed_workshop(session, REGION)
    seed_workshop(session, "ap-southeast-1")  # reuses the us-east-1 roles (same names)

    aws = Aws(session)
    plan = scan(aws, dogcat(), ["ap-southeast-1"])
    results = execute(aws, plan, None, FAST)

    reasons = kept(plan)
    for role in ("InvokeModelLambda-role-a1b2c3d4", "SavePredictionHistory-role-a1b2c3d4"):
        assert "in us-east-1, not in the plan" in reasons[f"iam.role:{role}"][1]
        assert role_exists(session, role)
    assert "in us-east-1, not in the plan" in reasons["iam.role:AmazonSageMaker-ExecutionRole-2025a1b2c3d4"][1]
    workshop_gone(session, plan, results)
    sm_us = session.client("sagemaker")
    assert [e["EndpointName"] for e in sm_us.list_endpoints()["Endpoints"]] == ["dogcat-endpoint-a1b2c3d4"]
    sm_ap = session.client("sagemaker", region_name="ap-southeast-1")
    assert sm_ap.list_endpoints()["Endpoints"] == []


def test_shared_default_bucket_keeps_other_teams_data_and_later_writes(session: boto3.session.Session) -> None:
    stack = seed_workshop(session, REGION)
    s3 = session.client("s3")
    for i in range(3):
        s3.put_object(Bucket=stack.bucket, Key=f"fraud-team/data/{i}.csv", Body=b"other team" * 10)
    s3.put_object(Bucket=stack.bucket, Key="README.txt", Body=b"shared bucket")

    aws = Aws(session)
    plan = scan(aws, dogcat(), [REGION])
    bucket_kind, bucket_reason = kept(plan)[f"s3.bucket:{stack.bucket}"]
    objects = next(r for r in plan.to_delete if r.type == "s3.objects")
    assert bucket_kind == "shared"
    assert "fraud-team/ (3 versions" in bucket_reason and "README.txt" in bucket_reason
    assert objects.name == f"s3://{stack.bucket}/dogcat/"
    assert "holds 21 object versions + 1 delete marker" in objects.contents_text()
    bucket = next(r for r in plan.kept if r.type == "s3.bucket")
    assert "by prefix: " in bucket.contents_text() and "fraud-team/ 3 v" in bucket.contents_text()

    time.sleep(1.1)  # S3 times writes to the millisecond; moto to the second
    s3.put_object(Bucket=stack.bucket, Key="dogcat/written-after-the-scan.jpg", Body=b"new")
    results = by_name(execute(aws, plan, None, FAST))

    assert results[objects.name].status == "deleted"
    keys = sorted(v["Key"] for v in s3.list_object_versions(Bucket=stack.bucket).get("Versions", []))
    assert keys == ["README.txt", "dogcat/written-after-the-scan.jpg", *[f"fraud-team/data/{i}.csv" for i in range(3)]]
    assert s3.list_object_versions(Bucket=stack.bucket).get("DeleteMarkers", []) == []


def test_bucket_with_a_version_written_after_the_scan_is_kept(session: boto3.session.Session) -> None:
    stack = seed_workshop(session, REGION)
    aws = Aws(session)
    plan = scan(aws, dogcat(), [REGION])
    assert f"s3.bucket:{stack.bucket}" in planned_ids(plan)  # every key is under dogcat/: deleted whole

    time.sleep(1.1)
    session.client("s3").put_object(Bucket=stack.bucket, Key="other-team/late.csv", Body=b"late")
    results = by_name(execute(aws, plan, None, FAST))

    bucket = results[stack.bucket]
    assert bucket.status == "skipped" and "written after the scan" in bucket.reason
    left = session.client("s3").list_object_versions(Bucket=stack.bucket)
    assert [v["Key"] for v in left.get("Versions", [])] == ["other-team/late.csv"]
    assert left.get("DeleteMarkers", []) == []


def test_model_deployed_on_the_role_while_the_endpoint_deletes_keeps_the_role(session: boto3.session.Session) -> None:
    stack = seed_workshop(session, REGION)
    role_name = "AmazonSageMaker-ExecutionRole-2025a1b2c3d4"
    role_arn = session.client("iam").get_role(RoleName=role_name)["Role"]["Arn"]
    aws = Aws(session)
    plan = scan(aws, dogcat(), [REGION])
    colleague = new_session(region_name="eu-west-1").client("sagemaker")

    def deploy_meanwhile(**_: Any) -> None:  # what a colleague does while AWS deletes the endpoint (minutes)
        colleague.create_model(
            ModelName="colleague-model",
            ExecutionRoleArn=role_arn,
            PrimaryContainer={"Image": "img", "ModelDataUrl": "s3://team-bucket/model.tar.gz"},
        )

    aws.client("sagemaker", REGION).meta.events.register("after-call.sagemaker.DeleteEndpoint", deploy_meanwhile)
    results = by_name(execute(aws, plan, None, FAST))

    role = results[role_name]
    assert role.status == "skipped"
    assert "SageMaker model colleague-model in eu-west-1, not in the plan" in role.reason
    assert role_exists(session, role_name)
    assert results[stack.endpoint].status == "deleted"


def test_roles_trusted_by_what_nobody_can_list_are_kept(session: boto3.session.Session) -> None:
    seed_workshop(session, REGION)
    create_role(
        session,
        "InvokeModelLambda-role-ci",
        {
            "Version": "2012-10-17",
            "Statement": [
                {"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"},
                {"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::111122223333:root"}, "Action": "sts:AssumeRole"},
            ],
        },
    )
    create_role(
        session,
        "InvokeModelLambda-role-ecs",
        {
            "Version": "2012-10-17",
            "Statement": [
                {"Effect": "Allow", "Principal": {"Service": "ecs-tasks.amazonaws.com"}, "Action": "sts:AssumeRole"}
            ],
        },
    )
    create_role(
        session,
        "InvokeModelLambda-role-oidc",
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Principal": {"Federated": "arn:aws:iam::123456789012:oidc-provider/token.actions.example"},
                    "Action": "sts:AssumeRoleWithWebIdentity",
                }
            ],
        },
    )
    aws = Aws(session)
    plan = scan(aws, dogcat(), [REGION])
    reasons = kept(plan)
    execute(aws, plan, None, FAST)

    ci_kind, ci_reason = reasons["iam.role:InvokeModelLambda-role-ci"]
    assert ci_kind == "unprovable"
    assert "cannot prove it is unused: trusted by AWS arn:aws:iam::111122223333:root" in ci_reason
    assert "the service ecs-tasks.amazonaws.com" in reasons["iam.role:InvokeModelLambda-role-ecs"][1]
    assert "Federated arn:aws:iam::123456789012:oidc-provider" in reasons["iam.role:InvokeModelLambda-role-oidc"][1]
    for suffix in ("ci", "ecs", "oidc"):
        assert role_exists(session, f"InvokeModelLambda-role-{suffix}")


def test_a_region_that_cannot_be_listed_keeps_the_roles_it_could_hide(moto_server: str) -> None:
    aws, faults = faulty_aws()
    session = new_session(region_name=REGION)
    seed_workshop(session, REGION)
    faults.deny_in("lambda", "ListFunctions", "eu-west-1")
    plan = scan(aws, dogcat(), [REGION])
    reasons = kept(plan)
    execute(aws, plan, None, FAST)

    kind, reason = reasons["iam.role:InvokeModelLambda-role-a1b2c3d4"]
    assert kind == "unchecked"
    assert "could not check Lambda functions and versions in eu-west-1: AccessDeniedException" in reason
    assert role_exists(session, "InvokeModelLambda-role-a1b2c3d4")
    # The SageMaker role is not trusted by Lambda: its users were all listed, so it goes.
    assert not role_exists(session, "AmazonSageMaker-ExecutionRole-2025a1b2c3d4")


def test_studio_user_profile_and_training_job_in_progress_keep_roles_and_bucket(moto_server: str) -> None:
    """moto has no user profiles and finishes jobs at once: SageMaker's own answers, canned in its wire format."""
    aws, faults = faulty_aws()
    session = new_session(region_name=REGION)
    stack = seed_workshop(session, REGION)
    profile_role = create_role(session, "AmazonSageMaker-ExecutionRole-profile", SAGEMAKER_TRUST)
    job_role = create_role(session, "AmazonSageMaker-ExecutionRole-training", SAGEMAKER_TRUST)
    created = 1764600000.0
    faults.answer(
        "sagemaker",
        "ListUserProfiles",
        {"UserProfiles": [{"DomainId": "d-abc", "UserProfileName": "mai", "Status": "InService"}]},
        region="ap-southeast-1",
    )
    faults.answer(
        "sagemaker",
        "DescribeUserProfile",
        {
            "DomainId": "d-abc",
            "UserProfileName": "mai",
            "Status": "InService",
            "CreationTime": created,
            "UserSettings": {"ExecutionRole": profile_role},
        },
        region="ap-southeast-1",
    )
    faults.answer(
        "sagemaker",
        "ListTrainingJobs",
        {"TrainingJobSummaries": [{"TrainingJobName": "resnet-42", "TrainingJobStatus": "InProgress"}]},
        region="us-west-2",
    )
    faults.answer(
        "sagemaker",
        "DescribeTrainingJob",
        {
            "TrainingJobName": "resnet-42",
            "TrainingJobStatus": "InProgress",
            "RoleArn": job_role,
            "CreationTime": created,
            "OutputDataConfig": {"S3OutputPath": f"https://{stack.bucket}.s3.us-east-1.amazonaws.com/dogcat/out/"},
        },
        region="us-west-2",
    )
    plan = scan(aws, dogcat(), [REGION])
    reasons = kept(plan)
    execute(aws, plan, None, FAST)

    assert (
        "SageMaker Studio user profile mai in ap-southeast-1"
        in reasons["iam.role:AmazonSageMaker-ExecutionRole-profile"][1]
    )
    training = reasons["iam.role:AmazonSageMaker-ExecutionRole-training"][1]
    assert "SageMaker training job in progress resnet-42 in us-west-2" in training
    # The job writes to the bucket's dogcat/ prefix through an https:// URL: bucket and prefix are kept.
    assert "SageMaker training job in progress resnet-42" in reasons[f"s3.bucket:{stack.bucket}"][1]
    assert not any(r.type == "s3.objects" for r in plan.to_delete)
    assert session.client("s3").head_bucket(Bucket=stack.bucket)
    assert role_exists(session, "AmazonSageMaker-ExecutionRole-profile")
    assert role_exists(session, "AmazonSageMaker-ExecutionRole-training")


def test_bucket_policy_denying_deletion_and_log_group_protection_are_guards(moto_server: str) -> None:
    aws, faults = faulty_aws()
    session = new_session(region_name=REGION)
    stack = seed_workshop(session, REGION)
    deny = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Deny",
                "Principal": "*",
                "Action": "s3:DeleteObject*",
                "Resource": f"arn:aws:s3:::{stack.bucket}/*",
            }
        ],
    }
    session.client("s3").put_bucket_policy(Bucket=stack.bucket, Policy=json.dumps(deny))
    group = "/aws/lambda/SaveHistoryLambda"
    faults.answer(
        "cloudwatch-logs",
        "DescribeLogGroups",
        {
            "logGroups": [
                {
                    "logGroupName": group,
                    "creationTime": 1764600000000,
                    "arn": f"arn:aws:logs:{REGION}:{stack.account_id}:log-group:{group}:*",
                    "storedBytes": 0,
                    "deletionProtectionEnabled": True,
                }
            ]
        },
    )
    plan = scan(aws, dogcat(), [REGION])
    reasons = kept(plan)
    execute(aws, plan, None, FAST)

    assert reasons[f"s3.bucket:{stack.bucket}"][0] == "guarded"
    assert "its bucket policy denies s3:DeleteObject" in reasons[f"s3.bucket:{stack.bucket}"][1]
    assert reasons[f"logs.log-group:{group}"] == (
        "guarded",
        "deletion protection is on; the app never switches AWS's guards off",
    )
    versions = session.client("s3").list_object_versions(Bucket=stack.bucket)
    assert len(versions["Versions"]) == 21  # nothing emptied before a refusal at the last step


def test_refused_delete_role_puts_back_what_was_unhooked(moto_server: str) -> None:
    aws, faults = faulty_aws()
    session = new_session(region_name=REGION)
    seed_workshop(session, REGION)
    iam = session.client("iam")
    role = "SavePredictionHistory-role-a1b2c3d4"
    policy = iam.create_policy(
        PolicyName="history-extra",
        PolicyDocument=json.dumps(
            {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}]}
        ),
    )["Policy"]["Arn"]
    iam.attach_role_policy(RoleName=role, PolicyArn=policy)
    iam.create_instance_profile(InstanceProfileName="history-profile")
    iam.add_role_to_instance_profile(InstanceProfileName="history-profile", RoleName=role)
    before = role_policies(session, role)
    document = iam.get_role_policy(RoleName=role, PolicyName="dynamodb-access")["PolicyDocument"]
    plan = scan(aws, dogcat(), [REGION])
    faults.deny("iam", "DeleteRole", code="AccessDenied", status=403)
    results = by_name(execute(aws, plan, None, FAST))

    result = results[role]
    assert (result.status, result.error_code) == ("failed", "AccessDenied")
    assert "role kept; restored 1 managed policies, 1 inline policies, 1 instance profiles" in result.reason
    assert role_policies(session, role) == before
    assert iam.get_role_policy(RoleName=role, PolicyName="dynamodb-access")["PolicyDocument"] == document


def test_role_used_only_by_the_plan_in_several_regions_goes(session: boto3.session.Session) -> None:
    """The same roles used by the workshop in two regions, both scanned: proven unused, deleted once."""
    seed_workshop(session, REGION)
    seed_workshop(session, "eu-west-1")
    aws = Aws(session)
    plan = scan(aws, dogcat(), [REGION, "eu-west-1"])
    results = execute(aws, plan, None, FAST)

    assert plan.kept == []
    workshop_gone(session, plan, results)
    for role in ("InvokeModelLambda-role-a1b2c3d4", "AmazonSageMaker-ExecutionRole-2025a1b2c3d4"):
        assert not role_exists(session, role)
    assert LAMBDA_TRUST  # the roles' trust (Lambda, SageMaker) is what was listed
