"""Every resource type the app knows, by key. Adding a service: write its module, register it here."""

from __future__ import annotations

from bot.aws import apigateway, dynamodb, iam, lambda_, logs, s3, sagemaker
from bot.aws.base import ResourceType

RESOURCE_TYPES: dict[str, ResourceType] = {
    t.key: t
    for t in (
        sagemaker.EndpointType(),
        sagemaker.EndpointConfigType(),
        sagemaker.ModelType(),
        lambda_.FunctionType(),
        dynamodb.TableType(),
        apigateway.RestApiType(),
        apigateway.HttpApiType(),
        iam.RoleType(),
        s3.BucketType(),
        s3.ObjectsType(),
        logs.LogGroupType(),
    )
}
