"""Seed an AWS account (moto, for the demo, tests and benchmarks) with the dog/cat workshop stack.

What chapter 8 of the workshop deletes, plus look-alikes that a careless pattern would also delete and that
must survive: PredictionHistoryArchive, InvokeModelLambdaV2 (and its role), MLInferenceAPI-prod.
"""

from __future__ import annotations

import io
import json
import zipfile
from collections.abc import Mapping
from dataclasses import dataclass, field

import boto3

LAMBDA_TRUST = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}],
}
SAGEMAKER_TRUST = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Principal": {"Service": "sagemaker.amazonaws.com"}, "Action": "sts:AssumeRole"}],
}


@dataclass
class SeededStack:
    region: str
    account_id: str
    endpoint: str
    bucket: str
    workshop: list[str] = field(default_factory=list)  # "type:name" of what a cleanup must delete
    survivors: list[str] = field(default_factory=list)  # "type:name" of what it must leave alone


def lambda_zip() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("lambda_function.py", "def handler(event, context):\n    return {'statusCode': 200}\n")
    return buffer.getvalue()


def _role(iam: object, name: str, trust: Mapping[str, object], tags: list[dict[str, str]] | None = None) -> str:
    try:
        arn: str = iam.create_role(  # type: ignore[attr-defined]
            RoleName=name, AssumeRolePolicyDocument=json.dumps(trust), Tags=tags or []
        )["Role"]["Arn"]
    except iam.exceptions.EntityAlreadyExistsException:  # type: ignore[attr-defined]
        arn = iam.get_role(RoleName=name)["Role"]["Arn"]  # type: ignore[attr-defined]
    return arn


def seed_workshop(
    session: boto3.session.Session, region: str, suffix: str = "a1b2c3d4", objects: int = 20
) -> SeededStack:
    """Create the workshop stack in `region` (IAM roles are shared across regions)."""
    account_id = session.client("sts", region_name=region).get_caller_identity()["Account"]
    iam = session.client("iam", region_name=region)
    s3 = session.client("s3", region_name=region)
    sm = session.client("sagemaker", region_name=region)
    lam = session.client("lambda", region_name=region)
    ddb = session.client("dynamodb", region_name=region)
    apigw = session.client("apigateway", region_name=region)
    logs = session.client("logs", region_name=region)

    endpoint = f"dogcat-endpoint-{suffix}"
    bucket = f"sagemaker-{region}-{account_id}"
    stack = SeededStack(region=region, account_id=account_id, endpoint=endpoint, bucket=bucket)

    # S3: the SageMaker default bucket, versioned, with model artifacts and some history.
    if region == "us-east-1":
        s3.create_bucket(Bucket=bucket)
    else:
        s3.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": region})  # type: ignore[typeddict-item]
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    s3.put_object(Bucket=bucket, Key="dogcat/model.tar.gz", Body=b"model" * 1000)
    for i in range(objects):
        s3.put_object(Bucket=bucket, Key=f"dogcat/data/{i:04d}.jpg", Body=b"x" * 256)
    s3.delete_object(Bucket=bucket, Key="dogcat/data/0000.jpg")  # a delete marker, as people leave them
    stack.workshop.append(f"s3.bucket:{bucket}")

    # SageMaker: the model (no fixed name), its config and the endpoint.
    sm_role = _role(iam, f"AmazonSageMaker-ExecutionRole-2025{suffix}", SAGEMAKER_TRUST)
    model = f"pytorch-inference-2025-08-12-{suffix}"
    sm.create_model(
        ModelName=model,
        ExecutionRoleArn=sm_role,
        PrimaryContainer={
            "Image": f"763104351884.dkr.ecr.{region}.amazonaws.com/pytorch-inference:2.1-cpu-py310",
            "ModelDataUrl": f"s3://{bucket}/dogcat/model.tar.gz",
        },
    )
    sm.create_endpoint_config(
        EndpointConfigName=endpoint,
        ProductionVariants=[
            {"VariantName": "AllTraffic", "ModelName": model, "InitialInstanceCount": 1, "InstanceType": "ml.m5.large"}
        ],
    )
    sm.create_endpoint(EndpointName=endpoint, EndpointConfigName=endpoint)
    logs.create_log_group(logGroupName=f"/aws/sagemaker/Endpoints/{endpoint}")
    stack.workshop += [
        f"sagemaker.endpoint:{endpoint}",
        f"sagemaker.endpoint-config:{endpoint}",
        f"sagemaker.model:{model}",
        f"iam.role:AmazonSageMaker-ExecutionRole-2025{suffix}",
        f"logs.log-group:/aws/sagemaker/Endpoints/{endpoint}",
    ]

    # Lambda: two functions with their own roles and log groups.
    code = {"ZipFile": lambda_zip()}
    for function, role_name in (
        ("InvokeModelLambda", f"InvokeModelLambda-role-{suffix}"),
        ("SaveHistoryLambda", f"SavePredictionHistory-role-{suffix}"),
    ):
        role_arn = _role(iam, role_name, LAMBDA_TRUST)
        iam.put_role_policy(
            RoleName=role_name,
            PolicyName="dynamodb-access",
            PolicyDocument=json.dumps(
                {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "dynamodb:*", "Resource": "*"}]}
            ),
        )
        lam.create_function(
            FunctionName=function, Runtime="python3.12", Role=role_arn, Handler="lambda_function.handler", Code=code
        )
        logs.create_log_group(logGroupName=f"/aws/lambda/{function}")
        stack.workshop += [
            f"lambda.function:{function}",
            f"iam.role:{role_name}",
            f"logs.log-group:/aws/lambda/{function}",
        ]

    # DynamoDB and API Gateway.
    ddb.create_table(
        TableName="PredictionHistory",
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
        BillingMode="PROVISIONED",
        ProvisionedThroughput={"ReadCapacityUnits": 5, "WriteCapacityUnits": 5},
    )
    api = apigw.create_rest_api(name="MLInferenceAPI", description="dog/cat inference")
    stack.workshop += ["dynamodb.table:PredictionHistory", f"apigateway.rest-api:{api['id']}"]

    # Look-alikes: exact names are exact.
    ddb.create_table(
        TableName="PredictionHistoryArchive",
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    prod_role = _role(iam, "prod-inference-lambda-role", LAMBDA_TRUST)
    lam.create_function(
        FunctionName="InvokeModelLambdaV2", Runtime="python3.12", Role=prod_role, Handler="x.handler", Code=code
    )
    prod_api = apigw.create_rest_api(name="MLInferenceAPI-prod")
    stack.survivors += [
        "dynamodb.table:PredictionHistoryArchive",
        "lambda.function:InvokeModelLambdaV2",
        "iam.role:prod-inference-lambda-role",
        f"apigateway.rest-api:{prod_api['id']}",
    ]
    return stack
