"""Plans of any size for the Slack tests."""

from __future__ import annotations

import time

from bot.core.plan import Plan, PlannedResource, ScanProblem

TYPES = [
    ("sagemaker.endpoint", "SageMaker endpoint", "SageMaker", 150.0),
    ("sagemaker.endpoint-config", "SageMaker endpoint config", "SageMaker", 0.0),
    ("sagemaker.model", "SageMaker model", "SageMaker", 0.0),
    ("lambda.function", "Lambda function", "Lambda", 0.0),
    ("dynamodb.table", "DynamoDB table", "DynamoDB", 1.25),
    ("apigateway.rest-api", "API Gateway REST API", "API Gateway", 0.0),
    ("logs.log-group", "CloudWatch Logs log group", "CloudWatch Logs", None),
    ("iam.role", "IAM role", "IAM", 0.0),
    ("s3.bucket", "S3 bucket", "S3", 0.5),
]


def bucket_contents(prefixes: int = 200, long: bool = False) -> dict[str, object]:
    """A bucket summary as the S3 module reports it, with many top-level prefixes (the worst case to show)."""
    now = time.time()
    tail = "-" + "p" * 150 if long else ""
    return {
        "versions": 123_456,
        "delete_markers": 789,
        "bytes": 5 * 1024**4,
        "newest": now,
        "uploads": 3,
        "complete": False,
        "prefixes": {
            f"team-{p:03d}{tail}/": {"versions": p, "markers": 1, "bytes": p * 1024**2, "latest": now - p}
            for p in range(prefixes)
        },
        "prefixes_complete": False,
    }


def resource(i: int, kind: int = 0, kept: bool = False, long: bool = False) -> PlannedResource:
    type_, label, service, cost = TYPES[kind % len(TYPES)]
    name = f"dogcat-endpoint-{i:05d}" + ("-" + "x" * 200 if long else "")
    details = {"contents": bucket_contents(long=long)} if type_ == "s3.bucket" else {}
    return PlannedResource(
        type=type_,
        label=label,
        service=service,
        region="us-east-1" if type_ not in ("iam.role", "s3.bucket") else "global",
        id=name,
        name=name,
        arn=f"arn:aws:{type_}:us-east-1:123456789012:{name}",
        identity="2026-11-25T00:00:00Z",
        reason="name starts with dogcat-endpoint-" + (" <because> & more " * 30 if long else ""),
        monthly_cost=cost,
        cost_basis="test" if cost is not None else "no price model",
        keep="protected" if kept else None,
        keep_reason="tagged cleanup:protect=true" if kept else "",
        details=details,
    )


def make_plan(n: int = 12, kept: int = 1, problems: int = 0, long: bool = False, kinds: int = len(TYPES)) -> Plan:
    resources = [resource(i, i % kinds, long=long) for i in range(n)]
    resources += [resource(n + i, i % kinds, kept=True, long=long) for i in range(kept)]
    return Plan(
        profile="dogcat",
        account_id="123456789012",
        regions=["us-east-1", "eu-west-1"],
        created_at=time.time(),
        resources=resources,
        problems=[ScanProblem("Lambda", "eu-west-1", "AccessDenied", "not allowed " * 5) for _ in range(problems)],
    )
