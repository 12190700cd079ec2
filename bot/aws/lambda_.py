"""Lambda functions. Idle functions cost nothing; their execution role and log group are what they leave."""

from __future__ import annotations

from typing import Any

from botocore.exceptions import ClientError

from bot.aws.base import (
    GLOBAL,
    Approval,
    Found,
    NameMatch,
    Ref,
    ResourceType,
    epoch_seconds,
    is_not_found,
    role_name_from_arn,
)
from bot.aws.clients import Aws


class FunctionType(ResourceType):
    key = "lambda.function"
    label = "Lambda function"
    service_label = "Lambda"
    references_others = True
    may_reference = frozenset({"iam.role", "logs.log-group"})

    def find(self, aws: Aws, region: str, match: NameMatch) -> list[Found]:
        client = aws.client("lambda", region)
        configs = [
            fn
            for page in client.get_paginator("list_functions").paginate()
            for fn in page["Functions"]
            if match(fn["FunctionName"])
        ]
        return aws.map(lambda fn: self._found(aws, region, fn), configs)

    def get(self, aws: Aws, region: str, id_: str) -> Found | None:
        try:
            fn = aws.client("lambda", region).get_function_configuration(FunctionName=id_)
        except ClientError as e:
            if is_not_found(e):
                return None
            raise
        return self._found(aws, region, fn)

    def delete(self, aws: Aws, found: Found, approval: Approval | None = None) -> None:
        aws.client("lambda", found.region).delete_function(FunctionName=found.id)

    def _found(self, aws: Aws, region: str, fn: dict[str, Any]) -> Found:
        name = fn["FunctionName"]
        arn = fn["FunctionArn"]
        tags = aws.client("lambda", region).list_tags(Resource=arn).get("Tags", {})
        refs = [Ref("logs.log-group", region, f"/aws/lambda/{name}", "log-group")]
        if fn.get("Role"):
            refs.insert(0, Ref("iam.role", GLOBAL, role_name_from_arn(fn["Role"]), "role"))
        return Found(
            type=self.key,
            region=region,
            id=name,
            name=name,
            arn=arn,
            # No creation time in Lambda's API; LastModified changes on re-creation (and on updates, which
            # also makes us skip rather than delete something that changed after the scan).
            identity=str(fn.get("LastModified", "")),
            tags=dict(tags),
            refs=refs,
            # Lambda reports no creation time: LastModified is the latest it can have been created.
            details={"runtime": fn.get("Runtime", ""), "created_at": epoch_seconds(fn.get("LastModified"))},
        )
