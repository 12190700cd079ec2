"""SageMaker endpoints, endpoint configs and models: the endpoint is what bills by the hour.

An endpoint uses a config, a config uses models, a model uses an execution role and the S3 bucket of its
artifacts. Endpoint deletion is asynchronous (minutes on AWS), so `wait_gone` polls with a bounded waiter.
"""

from __future__ import annotations

from abc import abstractmethod
from collections.abc import Callable
from typing import Any, ClassVar

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
from bot.aws.usage import s3_locations
from bot.aws.waiters import wait_until_gone


def _tags(aws: Aws, region: str, arn: str) -> dict[str, str]:
    client = aws.client("sagemaker", region)
    return {
        t["Key"]: t.get("Value", "")
        for page in client.get_paginator("list_tags").paginate(ResourceArn=arn)
        for t in page.get("Tags", [])
    }


def _describe_or_none(fn: Callable[..., dict[str, Any]], **params: Any) -> dict[str, Any] | None:
    """A describe call, or None when SageMaker says the resource is gone (ValidationException 'Could not find')."""
    try:
        return fn(**params)
    except ClientError as e:
        if is_not_found(e):
            return None
        raise


class _SageMakerType(ResourceType):
    """Shared find/get for the three SageMaker types: list names, describe each concurrently, drop vanished ones."""

    _paginator: ClassVar[str]
    _list_key: ClassVar[str]
    _name_key: ClassVar[str]

    def find(self, aws: Aws, region: str, match: NameMatch) -> list[Found]:
        client = aws.client("sagemaker", region)
        # moto ignores NameContains/MaxResults on some list calls, and names are matched exactly by `match`
        # anyway, so every page is read and filtered here.
        names = [
            item[self._name_key]
            for page in client.get_paginator(self._paginator).paginate()
            for item in page.get(self._list_key, [])
            if match(item[self._name_key])
        ]
        found = aws.map(lambda name: self.get(aws, region, name), names)
        # A resource deleted between the listing and its describe is simply not there any more.
        return [f for f in found if f is not None]

    def get(self, aws: Aws, region: str, id_: str) -> Found | None:
        described = self._describe(aws, region, id_)
        if described is None:
            return None
        try:
            return self._found(aws, region, described)
        except ClientError as e:
            if is_not_found(e):  # deleted while we were reading its tags
                return None
            raise

    @abstractmethod
    def _describe(self, aws: Aws, region: str, name: str) -> dict[str, Any] | None:
        """The describe_* answer for `name`, or None when it is gone."""

    @abstractmethod
    def _found(self, aws: Aws, region: str, described: dict[str, Any]) -> Found:
        """The Found for a describe_* answer (reads tags, which may raise not-found if it just vanished)."""


class EndpointType(_SageMakerType):
    key = "sagemaker.endpoint"
    label = "SageMaker endpoint"
    service_label = "SageMaker"
    references_others = True
    may_reference = frozenset({"sagemaker.endpoint-config", "logs.log-group"})
    deletes_asynchronously = True
    poll_delay: ClassVar[float] = 15.0  # seconds between DescribeEndpoint polls in wait_gone

    _paginator = "list_endpoints"
    _list_key = "Endpoints"
    _name_key = "EndpointName"

    def delete(self, aws: Aws, found: Found, approval: Approval | None = None) -> None:
        aws.client("sagemaker", found.region).delete_endpoint(EndpointName=found.id)

    def wait_gone(self, aws: Aws, found: Found, timeout: float) -> None:
        wait_until_gone(
            aws.client("sagemaker", found.region),
            "endpoint_deleted",
            timeout,
            self.poll_delay,
            f"SageMaker endpoint {found.id}",
            lambda response: str(response.get("EndpointStatus", "")),
            EndpointName=found.id,
        )

    def _describe(self, aws: Aws, region: str, name: str) -> dict[str, Any] | None:
        return _describe_or_none(aws.client("sagemaker", region).describe_endpoint, EndpointName=name)

    def _found(self, aws: Aws, region: str, described: dict[str, Any]) -> Found:
        name = described["EndpointName"]
        arn = described["EndpointArn"]
        config_name = described.get("EndpointConfigName", "")
        # Instance types live only in the config; it may already be gone (deleted before its endpoint).
        config = (
            _describe_or_none(aws.client("sagemaker", region).describe_endpoint_config, EndpointConfigName=config_name)
            if config_name
            else None
        )
        refs = []
        if config_name:
            refs.append(Ref("sagemaker.endpoint-config", region, config_name, "config"))
        refs.append(Ref("logs.log-group", region, f"/aws/sagemaker/Endpoints/{name}", "log-group"))
        return Found(
            type=self.key,
            region=region,
            id=name,
            name=name,
            arn=arn,
            identity=described["CreationTime"].isoformat(),
            tags=_tags(aws, region, arn),
            refs=refs,
            usage={"instances": _instances(described, config)},
            details={
                "status": described.get("EndpointStatus", ""),
                "config": config_name,
                "created_at": epoch_seconds(described.get("CreationTime")),
            },
        )


def _instances(endpoint: dict[str, Any], config: dict[str, Any] | None) -> list[dict[str, Any]]:
    """What the endpoint provisions, per variant: {"type", "count"} or {"serverless": True} (priced as unknown).

    Counts come from the endpoint (what runs now) when it reports them, else from the config (what it asked for).
    The type is None when the config is gone, so the price is unknown rather than guessed.
    """
    result: list[dict[str, Any]] = []
    for variants_key in ("ProductionVariants", "ShadowProductionVariants"):
        configured = {v["VariantName"]: v for v in (config or {}).get(variants_key, [])}
        running = endpoint.get(variants_key) or list(configured.values())
        for variant in running:
            conf = configured.get(variant["VariantName"], {})
            serverless = conf.get("ServerlessConfig") or variant.get("CurrentServerlessConfig")
            if serverless or variant.get("ServerlessConfig"):
                result.append({"serverless": True})
                continue
            count = variant.get("CurrentInstanceCount", conf.get("InitialInstanceCount", 0))
            result.append({"type": conf.get("InstanceType"), "count": int(count or 0)})
    return result


class EndpointConfigType(_SageMakerType):
    key = "sagemaker.endpoint-config"
    label = "SageMaker endpoint config"
    service_label = "SageMaker"
    references_others = True
    may_reference = frozenset({"sagemaker.model"})

    _paginator = "list_endpoint_configs"
    _list_key = "EndpointConfigs"
    _name_key = "EndpointConfigName"

    def delete(self, aws: Aws, found: Found, approval: Approval | None = None) -> None:
        aws.client("sagemaker", found.region).delete_endpoint_config(EndpointConfigName=found.id)

    def _describe(self, aws: Aws, region: str, name: str) -> dict[str, Any] | None:
        return _describe_or_none(aws.client("sagemaker", region).describe_endpoint_config, EndpointConfigName=name)

    def _found(self, aws: Aws, region: str, described: dict[str, Any]) -> Found:
        name = described["EndpointConfigName"]
        arn = described["EndpointConfigArn"]
        models: list[str] = []
        for variant in [*described.get("ProductionVariants", []), *described.get("ShadowProductionVariants", [])]:
            model = variant.get("ModelName")
            if model and model not in models:
                models.append(model)
        return Found(
            type=self.key,
            region=region,
            id=name,
            name=name,
            arn=arn,
            identity=described["CreationTime"].isoformat(),
            tags=_tags(aws, region, arn),
            refs=[Ref("sagemaker.model", region, model, "model") for model in models],
            details={"models": models, "created_at": epoch_seconds(described.get("CreationTime"))},
        )


class ModelType(_SageMakerType):
    key = "sagemaker.model"
    label = "SageMaker model"
    service_label = "SageMaker"
    references_others = True
    may_reference = frozenset({"iam.role", "s3.bucket"})

    _paginator = "list_models"
    _list_key = "Models"
    _name_key = "ModelName"

    def delete(self, aws: Aws, found: Found, approval: Approval | None = None) -> None:
        aws.client("sagemaker", found.region).delete_model(ModelName=found.id)

    def _describe(self, aws: Aws, region: str, name: str) -> dict[str, Any] | None:
        return _describe_or_none(aws.client("sagemaker", region).describe_model, ModelName=name)

    def _found(self, aws: Aws, region: str, described: dict[str, Any]) -> Found:
        name = described["ModelName"]
        arn = described["ModelArn"]
        refs: list[Ref] = []
        if described.get("ExecutionRoleArn"):
            refs.append(Ref("iam.role", GLOBAL, role_name_from_arn(described["ExecutionRoleArn"]), "role"))
        for bucket in _artifact_buckets(described):
            # Buckets are listed account-wide ("global"); the S3 module resolves each bucket's real region.
            ref = Ref("s3.bucket", GLOBAL, bucket, "bucket")
            if ref not in refs:
                refs.append(ref)
        return Found(
            type=self.key,
            region=region,
            id=name,
            name=name,
            arn=arn,
            identity=described["CreationTime"].isoformat(),
            tags=_tags(aws, region, arn),
            refs=refs,
            details={"created_at": epoch_seconds(described.get("CreationTime"))},
        )


def _artifact_buckets(model: dict[str, Any]) -> list[str]:
    """Buckets the model reads artifacts from, in every container: ModelDataUrl (s3:// or https://),
    ModelDataSource and AdditionalModelDataSources."""
    containers = [model.get("PrimaryContainer") or {}, *model.get("Containers", [])]
    return sorted({location.bucket for location in s3_locations(containers)})
