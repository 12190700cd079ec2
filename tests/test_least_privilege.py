"""iam-policy.json allows exactly what the app calls: nothing it needs is missing, nothing it never uses is granted.

Every AWS operation the app's clients make is recorded through botocore's event system during a scan and a full
cleanup of a stack that exercises every code path (managed and inline policies, instance profiles, multipart
uploads, REST and HTTP APIs, protected resources, a repeated run), then mapped to the IAM actions it needs.
"""

from __future__ import annotations

import json
from pathlib import Path

import boto3

from bot.aws.clients import Aws, new_session
from bot.core.executor import ExecutorOptions, execute
from bot.core.scanner import scan
from bot.demo.stack import SAGEMAKER_TRUST, seed_workshop
from tests.core.helpers import REGION, dogcat

POLICY = Path(__file__).resolve().parents[1] / "iam-policy.json"

# botocore "service-id.Operation" -> the IAM actions it needs (None: needs no permission).
IAM_ACTIONS: dict[str, tuple[str, ...]] = {
    "sts.GetCallerIdentity": (),
    "api-gateway.GetRestApis": ("apigateway:GET",),
    "api-gateway.GetRestApi": ("apigateway:GET",),
    "api-gateway.DeleteRestApi": ("apigateway:DELETE",),
    "apigatewayv2.GetApis": ("apigateway:GET",),
    "apigatewayv2.GetApi": ("apigateway:GET",),
    "apigatewayv2.DeleteApi": ("apigateway:DELETE",),
    "api-gateway.GetDomainNames": ("apigateway:GET",),
    "api-gateway.GetBasePathMappings": ("apigateway:GET",),
    "apigatewayv2.GetDomainNames": ("apigateway:GET",),
    "apigatewayv2.GetApiMappings": ("apigateway:GET",),
    "s3.ListBuckets": ("s3:ListAllMyBuckets",),
    "s3.GetObjectLockConfiguration": ("s3:GetBucketObjectLockConfiguration",),
    "s3.ListObjectVersions": ("s3:ListBucketVersions",),
    "s3.ListMultipartUploads": ("s3:ListBucketMultipartUploads",),
    "s3.DeleteObjects": ("s3:DeleteObject", "s3:DeleteObjectVersion"),
}
IAM_ACTIONS |= {
    "s3.GetBucketPolicy": ("s3:GetBucketPolicy",),
    "s3.GetBucketVersioning": ("s3:GetBucketVersioning",),
}
PREFIX = {"cloudwatch-logs": "logs", "lambda": "lambda", "dynamodb": "dynamodb", "iam": "iam", "s3": "s3"}
PREFIX |= {"sagemaker": "sagemaker", "ec2": "ec2", "sfn": "states", "scheduler": "scheduler"}
PREFIX |= {"application-auto-scaling": "application-autoscaling"}
# Granted, but not reached on moto here; each is exercised elsewhere:
# - describes of SageMaker jobs in progress and Studio user profiles: moto finishes jobs at once and has no
#   user profiles (tests/core/test_usage.py answers them in AWS's wire format);
# - putting back what was unhooked when DeleteRole is refused (tests/aws/test_iam.py);
# - ListTagsLogGroup: a fallback that only runs where the primary call is unsupported;
# - DeleteInferenceComponent: moto has no inference components (tests/aws/test_sagemaker_lifecycle.py answers
#   them in SageMaker's wire format).
NOT_REACHED_ON_MOTO = {
    "sagemaker:DeleteInferenceComponent",
    "logs:ListTagsLogGroup",
    "sagemaker:DescribeTrainingJob",
    "sagemaker:DescribeProcessingJob",
    "sagemaker:DescribeTransformJob",
    "sagemaker:DescribeHyperParameterTuningJob",
    "sagemaker:DescribeAutoMLJobV2",
    "sagemaker:DescribeUserProfile",
    "iam:AttachRolePolicy",
    "iam:PutRolePolicy",
    "iam:AddRoleToInstanceProfile",
}


def actions_for(operation: str) -> tuple[str, ...]:
    if operation in IAM_ACTIONS:
        return IAM_ACTIONS[operation]
    service, name = operation.split(".", 1)
    assert service in PREFIX, f"no IAM mapping for {operation}: add it to IAM_ACTIONS"
    return (f"{PREFIX[service]}:{name}",)


def policy_actions() -> set[str]:
    policy = json.loads(POLICY.read_text())
    return {action for statement in policy["Statement"] for action in statement["Action"]}


def exercise_everything(app_session: boto3.session.Session) -> None:
    seed = new_session(region_name=REGION)
    stack = seed_workshop(seed, REGION)
    iam = seed.client("iam")
    policy_arn = iam.create_policy(
        PolicyName="dogcat-extra",
        PolicyDocument=json.dumps(
            {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}]}
        ),
    )["Policy"]["Arn"]
    role = "AmazonSageMaker-ExecutionRole-2025a1b2c3d4"
    iam.attach_role_policy(RoleName=role, PolicyArn=policy_arn)
    iam.create_instance_profile(InstanceProfileName="dogcat-profile")
    iam.add_role_to_instance_profile(InstanceProfileName="dogcat-profile", RoleName=role)
    seed.client("s3").create_multipart_upload(Bucket=stack.bucket, Key="dogcat/big.bin")
    seed.client("application-autoscaling").register_scalable_target(
        ServiceNamespace="sagemaker",
        ResourceId=f"endpoint/{stack.endpoint}/variant/AllTraffic",
        ScalableDimension="sagemaker:variant:DesiredInstanceCount",
        MinCapacity=1,
        MaxCapacity=2,
    )
    seed.client("apigatewayv2").create_api(Name="MLInferenceAPI", ProtocolType="HTTP")
    seed_custom_domains(seed)
    seed.client("dynamodb").create_table(
        TableName="PredictionHistory-keep",
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    seed_other_users(seed)
    aws = Aws(app_session)
    plan = scan(aws, dogcat(), [REGION])
    execute(aws, plan, None, ExecutorOptions(delete_interval=0.0))
    execute(aws, plan, None, ExecutorOptions(delete_interval=0.0))  # already gone: the "get" paths
    assert len(plan.to_delete) == len(stack.workshop) + 1  # + the HTTP API


def seed_custom_domains(seed: boto3.session.Session) -> None:
    """A REST and an HTTP API of another team, each on a custom domain: the app reads every domain's mappings."""
    rest, http = seed.client("apigateway"), seed.client("apigatewayv2")
    rest.create_domain_name(domainName="api.example.com")
    rest.create_base_path_mapping(domainName="api.example.com", restApiId=rest.create_rest_api(name="team-api")["id"])
    http.create_domain_name(DomainName="chat.example.com")
    team_http = http.create_api(Name="team-chat", ProtocolType="HTTP")["ApiId"]
    http.create_api_mapping(DomainName="chat.example.com", ApiId=team_http, Stage="$default")


def seed_other_users(seed: boto3.session.Session) -> None:
    """One of each kind of role and bucket user the app lists, on another team's role and bucket."""
    iam, s3 = seed.client("iam"), seed.client("s3")
    role = iam.create_role(RoleName="team-ml", AssumeRolePolicyDocument=json.dumps(SAGEMAKER_TRUST))["Role"]["Arn"]
    s3.create_bucket(Bucket="team-ml-data")
    sm = seed.client("sagemaker", region_name="eu-west-1")
    sm.create_notebook_instance(NotebookInstanceName="team-notebook", InstanceType="ml.t3.medium", RoleArn=role)
    sm.create_domain(
        DomainName="team-studio",
        AuthMode="IAM",
        DefaultUserSettings={"ExecutionRole": role},
        SubnetIds=["subnet-1"],
        VpcId="vpc-1",
    )
    sm.create_pipeline(
        PipelineName="team-pipeline",
        PipelineDefinition=json.dumps({"Version": "2020-12-01", "Steps": [], "Output": "s3://team-ml-data/out/"}),
        RoleArn=role,
    )
    sm.create_feature_group(
        FeatureGroupName="team-features",
        RecordIdentifierFeatureName="id",
        EventTimeFeatureName="t",
        FeatureDefinitions=[
            {"FeatureName": "id", "FeatureType": "String"},
            {"FeatureName": "t", "FeatureType": "String"},
        ],
        OfflineStoreConfig={"S3StorageConfig": {"S3Uri": "s3://team-ml-data/features/"}},
        RoleArn=role,
    )
    sm.create_model_package(
        ModelPackageName="team-package",
        InferenceSpecification={
            "Containers": [{"Image": "img", "ModelDataUrl": "s3://team-ml-data/models/m.tar.gz"}],
            "SupportedContentTypes": ["text/csv"],
            "SupportedResponseMIMETypes": ["text/csv"],
        },
    )
    seed.client("stepfunctions", region_name="eu-west-1").create_state_machine(
        name="team-flow",
        definition=json.dumps({"StartAt": "A", "States": {"A": {"Type": "Pass", "End": True}}}),
        roleArn=role,
    )
    seed.client("scheduler", region_name="eu-west-1").create_schedule(
        Name="team-nightly",
        ScheduleExpression="rate(1 day)",
        FlexibleTimeWindow={"Mode": "OFF"},
        Target={"Arn": "arn:aws:lambda:eu-west-1:123456789012:function:x", "RoleArn": role},
    )


def test_policy_allows_exactly_what_the_app_calls(mocked: None) -> None:
    operations: set[str] = set()
    app_session = new_session(region_name=REGION)
    app_session.events.register("before-call", lambda event_name, **_: operations.add(event_name.split(".", 1)[1]))
    exercise_everything(app_session)

    needed = {action for op in operations for action in actions_for(op)}
    granted = policy_actions()
    optional = NOT_REACHED_ON_MOTO
    assert needed - granted == set(), f"the app calls actions the policy does not allow: {sorted(needed - granted)}"
    assert granted - needed - optional == set(), f"the policy grants unused actions: {sorted(granted - needed)}"
