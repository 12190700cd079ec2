"""Property: in random worlds of users and candidates across 3 regions, nothing used from outside the plan
changes.

Each example seeds an account (a moto server over HTTP, reset per example) with candidate roles (the dogcat
prefixes, Lambda or SageMaker trust) and a bucket, then users spread over three regions: Lambda functions named
like the workshop's (planned only in the scanned region) or not, and SageMaker models reading prefixes of the
bucket. One region is scanned and the plan executed. Every role a non-planned user runs on must still exist with
its policies, and every object version a non-planned model reads must still be there.
"""

from __future__ import annotations

import json

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.aws.clients import Aws, new_session
from bot.core.executor import ExecutorOptions, execute
from bot.core.scanner import scan
from bot.demo.stack import LAMBDA_TRUST, SAGEMAKER_TRUST, lambda_zip
from tests.conftest import reset_moto
from tests.core.helpers import dogcat

REGIONS = ["us-east-1", "eu-west-1", "ap-southeast-1"]
ROLES = [
    ("InvokeModelLambda-role-a", LAMBDA_TRUST),
    ("SavePredictionHistory-role-b", LAMBDA_TRUST),
    ("AmazonSageMaker-ExecutionRole-c", SAGEMAKER_TRUST),
    ("AmazonSageMaker-ExecutionRole-d", SAGEMAKER_TRUST),
]
PREFIXES = ["dogcat/", "fraud/", "shared/"]
POLICY = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}]}
FUNCTION_NAMES = ["InvokeModelLambda", "SaveHistoryLambda", "NightlyReport"]

functions = st.lists(
    st.tuples(st.sampled_from(FUNCTION_NAMES), st.sampled_from(REGIONS), st.sampled_from([0, 1])),
    max_size=4,
    unique_by=lambda f: (f[0], f[1]),
)
models = st.lists(st.tuples(st.sampled_from(REGIONS), st.sampled_from([2, 3]), st.sampled_from(PREFIXES)), max_size=3)


@settings(
    max_examples=10,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(functions=functions, models=models, scanned=st.sampled_from(REGIONS))
def test_nothing_used_from_outside_the_plan_changes(
    moto_server: str, functions: list[tuple[str, str, int]], models: list[tuple[str, int, str]], scanned: str
) -> None:
    reset_moto(moto_server)  # each example starts from an empty account on the shared moto server
    session = new_session(region_name="us-east-1")
    account = session.client("sts").get_caller_identity()["Account"]
    iam = session.client("iam")
    arns = []
    for name, trust in ROLES:
        arns.append(iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(trust))["Role"]["Arn"])
        iam.put_role_policy(RoleName=name, PolicyName="work", PolicyDocument=json.dumps(POLICY))
    bucket = f"sagemaker-{scanned}-{account}"
    s3 = session.client("s3", region_name=scanned)
    if scanned == "us-east-1":
        s3.create_bucket(Bucket=bucket)
    else:
        s3.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": scanned})  # type: ignore[typeddict-item]
    for prefix in PREFIXES:
        s3.put_object(Bucket=bucket, Key=f"{prefix}model.tar.gz", Body=prefix.encode())

    outside_roles: set[str] = set()
    for name, region, role in functions:
        session.client("lambda", region_name=region).create_function(
            FunctionName=name, Runtime="python3.12", Role=arns[role], Handler="x.h", Code={"ZipFile": lambda_zip()}
        )
        if region != scanned or name == "NightlyReport":
            outside_roles.add(ROLES[role][0])
    outside_keys: set[str] = set()
    for number, (region, role, prefix) in enumerate(models):
        session.client("sagemaker", region_name=region).create_model(
            ModelName=f"team-model-{number}",
            ExecutionRoleArn=arns[role],
            PrimaryContainer={"Image": "img", "ModelDataUrl": f"s3://{bucket}/{prefix}model.tar.gz"},
        )
        outside_roles.add(ROLES[role][0])
        outside_keys.add(f"{prefix}model.tar.gz")

    aws = Aws(new_session(region_name="us-east-1"))
    try:
        plan = scan(aws, dogcat(), [scanned])
        execute(aws, plan, None, ExecutorOptions(delete_interval=0.0))
    finally:
        aws.close()

    left = {r["RoleName"] for r in iam.list_roles()["Roles"]}
    for kept in outside_roles:
        assert kept in left, f"{kept} is used from outside the plan but was deleted"
        assert iam.list_role_policies(RoleName=kept)["PolicyNames"] == ["work"], kept
    buckets = {b["Name"] for b in s3.list_buckets()["Buckets"]}
    if outside_keys:
        assert bucket in buckets
        keys = {v["Key"] for v in s3.list_object_versions(Bucket=bucket).get("Versions", [])}
        assert outside_keys <= keys, f"read from outside the plan but deleted: {outside_keys - keys}"
    planned = {r.id for r in plan.to_delete if r.type == "iam.role"}
    assert not planned & outside_roles
