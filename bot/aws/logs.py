"""CloudWatch Logs groups: what Lambda functions and SageMaker endpoints leave behind, billed for stored bytes."""

from __future__ import annotations

from typing import Any

from botocore.exceptions import ClientError

from bot.aws.base import Approval, Found, NameMatch, ResourceType, epoch_seconds, is_not_found
from bot.aws.clients import Aws


class LogGroupType(ResourceType):
    key = "logs.log-group"
    label = "CloudWatch log group"
    service_label = "CloudWatch Logs"

    def find(self, aws: Aws, region: str, match: NameMatch) -> list[Found]:
        # `match` is opaque (prefix, exact or pattern), so every group is listed and `match` decides.
        groups = [
            group
            for page in aws.client("logs", region).get_paginator("describe_log_groups").paginate()
            for group in page.get("logGroups", [])
            if match(group["logGroupName"])
        ]
        found = aws.map(lambda group: self._read(aws, region, group), groups)
        # A group deleted between the listing and its tag read is simply not there any more.
        return [f for f in found if f is not None]

    def get(self, aws: Aws, region: str, id_: str) -> Found | None:
        # There is no describe for one group: list by prefix and keep the exact name (others share the prefix).
        pages = aws.client("logs", region).get_paginator("describe_log_groups").paginate(logGroupNamePrefix=id_)
        for page in pages:
            for group in page.get("logGroups", []):
                if group["logGroupName"] == id_:
                    return self._read(aws, region, group)
        return None

    def delete(self, aws: Aws, found: Found, approval: Approval | None = None) -> None:
        aws.client("logs", found.region).delete_log_group(logGroupName=found.id)

    def _read(self, aws: Aws, region: str, group: dict[str, Any]) -> Found | None:
        name = group["logGroupName"]
        # "arn" ends in ":*" (it names the streams too); tagging APIs want the group's own ARN.
        arn = group.get("logGroupArn") or str(group.get("arn", "")).removesuffix(":*")
        try:
            tags = _tags(aws, region, name, arn)
        except ClientError as e:
            if is_not_found(e):
                return None
            raise
        return Found(
            type=self.key,
            region=region,
            id=name,
            name=name,
            arn=arn,
            identity=str(group.get("creationTime", "")),
            tags=tags,
            guard="deletion protection is on" if group.get("deletionProtectionEnabled") else None,
            usage={"stored_bytes": int(group.get("storedBytes", 0))},
            details={
                "retention_days": group.get("retentionInDays"),
                "created_at": epoch_seconds(group.get("creationTime")),
            },
        )


def _tags(aws: Aws, region: str, name: str, arn: str) -> dict[str, str]:
    """Tags via ListTagsForResource; the deprecated ListTagsLogGroup where the former is not available."""
    client = aws.client("logs", region)
    try:
        return dict(client.list_tags_for_resource(resourceArn=arn).get("tags", {}))
    except ClientError as e:
        if is_not_found(e):
            raise
        try:
            return dict(client.list_tags_log_group(logGroupName=name).get("tags", {}))
        except ClientError:
            raise e from None
