"""API Gateway REST APIs (apigateway) and HTTP/WebSocket APIs (apigatewayv2).

API names are not unique: several APIs may share one, so the id is the API id and every match is found. Tags come
inside the list items, where AWS returns them (a separate GetTags call answers 404 on moto's server).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, ClassVar

from botocore.exceptions import ClientError

from bot.aws.base import Approval, Found, NameMatch, ResourceType, epoch_seconds, is_not_found
from bot.aws.clients import Aws


def iso(value: Any) -> str:
    """A timestamp as UTC ISO text, so an identity reads the same whatever the local time zone."""
    if isinstance(value, datetime):
        return (value if value.tzinfo else value.replace(tzinfo=UTC)).astimezone(UTC).isoformat()
    return str(value or "")


def _partition(aws: Aws, region: str) -> str:
    return str(aws.session.get_partition_for_region(region))


class RestApiType(ResourceType):
    key = "apigateway.rest-api"
    label = "API Gateway REST API"
    service_label = "API Gateway"
    # AWS allows one DeleteRestApi per 30 seconds per account. The executor spaces these deletions out (without
    # holding up other services); the module itself never sleeps.
    min_delete_interval: ClassVar[float] = 30.0

    def find(self, aws: Aws, region: str, match: NameMatch) -> list[Found]:
        client = aws.client("apigateway", region)
        return [
            self._found(aws, region, api)
            for page in client.get_paginator("get_rest_apis").paginate()
            for api in page.get("items", [])
            if match(api.get("name", ""))
        ]

    def get(self, aws: Aws, region: str, id_: str) -> Found | None:
        try:
            api = aws.client("apigateway", region).get_rest_api(restApiId=id_)
        except ClientError as e:
            if is_not_found(e):
                return None
            raise
        return self._found(aws, region, api)

    def delete(self, aws: Aws, found: Found, approval: Approval | None = None) -> None:
        client = aws.client("apigateway", found.region)
        # Read first: a missing API then raises AWS's NotFoundException ("already gone"), where moto would answer
        # DeleteRestApi with HTTP 500 (retried by botocore) instead.
        client.get_rest_api(restApiId=found.id)
        client.delete_rest_api(restApiId=found.id)

    def _found(self, aws: Aws, region: str, api: dict[str, Any]) -> Found:
        api_id = api["id"]
        return Found(
            type=self.key,
            region=region,
            id=api_id,
            name=api.get("name", ""),
            arn=f"arn:{_partition(aws, region)}:apigateway:{region}::/restapis/{api_id}",
            identity=f"{api_id}|{iso(api.get('createdDate'))}",
            tags=dict(api.get("tags") or {}),
            details={
                "endpoint_types": list(api.get("endpointConfiguration", {}).get("types", [])),
                "created_at": epoch_seconds(api.get("createdDate")),
            },
        )


class HttpApiType(ResourceType):
    key = "apigatewayv2.api"
    label = "API Gateway HTTP/WebSocket API"
    service_label = "API Gateway"

    def find(self, aws: Aws, region: str, match: NameMatch) -> list[Found]:
        client = aws.client("apigatewayv2", region)
        return [
            self._found(aws, region, api)
            for page in client.get_paginator("get_apis").paginate()
            for api in page.get("Items", [])
            if match(api.get("Name", ""))
        ]

    def get(self, aws: Aws, region: str, id_: str) -> Found | None:
        try:
            api = aws.client("apigatewayv2", region).get_api(ApiId=id_)
        except ClientError as e:
            if is_not_found(e):
                return None
            raise
        return self._found(aws, region, api)

    def delete(self, aws: Aws, found: Found, approval: Approval | None = None) -> None:
        client = aws.client("apigatewayv2", found.region)
        # Read first: a missing API then raises NotFoundException as on AWS; moto's DeleteApi succeeds silently.
        client.get_api(ApiId=found.id)
        client.delete_api(ApiId=found.id)

    def _found(self, aws: Aws, region: str, api: dict[str, Any]) -> Found:
        api_id = api["ApiId"]
        return Found(
            type=self.key,
            region=region,
            id=api_id,
            name=api.get("Name", ""),
            arn=f"arn:{_partition(aws, region)}:apigateway:{region}::/apis/{api_id}",
            identity=f"{api_id}|{iso(api.get('CreatedDate'))}",
            tags=dict(api.get("Tags") or {}),
            details={"protocol": api.get("ProtocolType", ""), "created_at": epoch_seconds(api.get("CreatedDate"))},
        )
