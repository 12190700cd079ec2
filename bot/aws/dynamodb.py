"""DynamoDB tables: they cost for provisioned capacity and stored bytes, and deletion is asynchronous.

Deletion protection is AWS's own guard: it is reported, never switched off.
"""

from __future__ import annotations

from typing import Any, ClassVar

from botocore.exceptions import ClientError

from bot.aws.base import Approval, Found, NameMatch, Pending, ResourceType, epoch_seconds, is_not_found
from bot.aws.clients import Aws


class TableType(ResourceType):
    key = "dynamodb.table"
    label = "DynamoDB table"
    service_label = "DynamoDB"
    deletes_asynchronously = True
    poll_delay: ClassVar[float] = 5.0  # seconds between DescribeTable polls while it deletes

    def find(self, aws: Aws, region: str, match: NameMatch) -> list[Found]:
        client = aws.client("dynamodb", region)
        names = [
            name
            for page in client.get_paginator("list_tables").paginate()
            for name in page.get("TableNames", [])
            if match(name)
        ]
        found = aws.map(lambda name: self.get(aws, region, name), names)
        # A table deleted between the listing and its describe is simply not there any more.
        return [f for f in found if f is not None]

    def get(self, aws: Aws, region: str, id_: str) -> Found | None:
        client = aws.client("dynamodb", region)
        try:
            table = client.describe_table(TableName=id_)["Table"]
            tags = {
                t["Key"]: t.get("Value", "")
                for page in client.get_paginator("list_tags_of_resource").paginate(ResourceArn=table["TableArn"])
                for t in page.get("Tags", [])
            }
        except ClientError as e:
            if is_not_found(e):
                return None
            raise
        return self._found(region, table, tags)

    def delete(self, aws: Aws, found: Found, approval: Approval | None = None) -> None:
        aws.client("dynamodb", found.region).delete_table(TableName=found.id)

    def poll_gone(self, aws: Aws, found: Found) -> Pending | None:
        try:
            table = aws.client("dynamodb", found.region).describe_table(TableName=found.id)["Table"]
        except ClientError as e:
            if is_not_found(e):
                return None
            raise
        return Pending(self.poll_delay, str(table.get("TableStatus", "")))

    def _found(self, region: str, table: dict[str, Any], tags: dict[str, str]) -> Found:
        name = table["TableName"]
        created = table.get("CreationDateTime")
        # TableId is unique per table incarnation; the creation time backs it up where it is missing.
        identity = "|".join(p for p in (table.get("TableId", ""), created.isoformat() if created else "") if p)
        return Found(
            type=self.key,
            region=region,
            id=name,
            name=name,
            arn=table["TableArn"],
            identity=identity,
            tags=tags,
            guard="deletion protection is on" if table.get("DeletionProtectionEnabled") else None,
            usage=_usage(table),
            details={
                "status": table.get("TableStatus", ""),
                "items": table.get("ItemCount", 0),
                "created_at": epoch_seconds(created),
            },
        )


def _usage(table: dict[str, Any]) -> dict[str, Any]:
    """Billing mode, provisioned capacity (table plus global secondary indexes) and stored bytes."""
    mode = table.get("BillingModeSummary", {}).get("BillingMode") or "PROVISIONED"
    rcu = wcu = 0
    if mode == "PROVISIONED":
        for part in [table, *table.get("GlobalSecondaryIndexes", [])]:
            throughput = part.get("ProvisionedThroughput", {})
            rcu += int(throughput.get("ReadCapacityUnits", 0))
            wcu += int(throughput.get("WriteCapacityUnits", 0))
    return {"billing_mode": mode, "rcu": rcu, "wcu": wcu, "stored_bytes": int(table.get("TableSizeBytes", 0))}
