"""Sample plans for the tests and the benchmarks: the smallest plans the state store and the runner can work on."""

from __future__ import annotations

import time

from bot.core.plan import Plan, PlannedResource


def lambda_plan(n: int = 2, region: str = "us-east-1", account_id: str = "123456789012") -> Plan:
    """A dogcat plan of `n` Lambda functions fn0, fn1, ..., created now."""
    return Plan(
        profile="dogcat",
        account_id=account_id,
        regions=[region],
        created_at=time.time(),
        resources=[
            PlannedResource(
                type="lambda.function",
                label="Lambda function",
                service="Lambda",
                region=region,
                id=f"fn{i}",
                name=f"fn{i}",
                arn=f"arn:aws:lambda:{region}:{account_id}:function:fn{i}",
                identity="x",
                reason="name matches the profile",
            )
            for i in range(n)
        ],
    )
