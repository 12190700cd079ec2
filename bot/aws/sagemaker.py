"""SageMaker endpoints, endpoint configs and models: the endpoint is what bills by the hour.

An endpoint uses a config, a config uses models, a model uses an execution role and the S3 bucket of its
artifacts. Endpoint deletion is asynchronous (minutes on AWS): `poll_gone` takes one look, the executor paces
the looks. AWS refuses DeleteEndpoint while an endpoint is Creating, Updating, SystemUpdating or RollingBack, and
while inference components live on it; auto scaling targets of its variants would outlive it. So `delete` raises
NotYet for what AWS cannot take yet, deletes the approved inference components first, and deregisters the
variants' scalable targets right before DeleteEndpoint.
"""

from __future__ import annotations

import re
from abc import abstractmethod
from collections.abc import Callable
from typing import Any, ClassVar

from botocore.exceptions import ClientError

from bot.aws.autoscaling import component_resource_id, deregister_endpoint_targets, deregister_targets
from bot.aws.base import (
    GLOBAL,
    Approval,
    Found,
    KeptError,
    NameMatch,
    NotYet,
    Pending,
    Ref,
    ResourceType,
    epoch_seconds,
    error_message,
    is_not_found,
    role_name_from_arn,
)
from bot.aws.clients import Aws
from bot.aws.usage import s3_locations


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
    """Shared find/get/delete for the three SageMaker types, described as data (the list, describe and delete
    operations and the name field): list names, describe each concurrently, drop vanished ones."""

    _paginator: ClassVar[str]  # list_endpoints
    _list_key: ClassVar[str]  # Endpoints
    _name_key: ClassVar[str]  # EndpointName: the field in the listing, and the parameter of describe and delete
    _describe_operation: ClassVar[str]  # describe_endpoint
    _delete_operation: ClassVar[str]  # delete_endpoint

    def delete(self, aws: Aws, found: Found, approval: Approval | None = None) -> None:
        getattr(aws.client("sagemaker", found.region), self._delete_operation)(**{self._name_key: found.id})

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

    def _describe(self, aws: Aws, region: str, name: str) -> dict[str, Any] | None:
        """The describe_* answer for `name`, or None when it is gone."""
        describe = getattr(aws.client("sagemaker", region), self._describe_operation)
        return _describe_or_none(describe, **{self._name_key: name})

    @abstractmethod
    def _found(self, aws: Aws, region: str, described: dict[str, Any]) -> Found:
        """The Found for a describe_* answer (reads tags, which may raise not-found if it just vanished)."""


# What AWS says while an endpoint cannot be deleted yet, as an approver reads it (the executor's wait reason, and
# the reason it is kept once the wait budget is spent).
_NOT_DELETABLE_YET = {
    "Creating": "endpoint is Creating; AWS refuses to delete it until it is InService or Failed",
    "Updating": "endpoint is Updating; AWS refuses to delete it until the update ends (InService or Failed)",
    "SystemUpdating": "endpoint is SystemUpdating (AWS maintenance); AWS refuses to delete it until maintenance ends",
    "RollingBack": "endpoint is RollingBack a scaling change; AWS refuses to delete it until it is InService again",
}
# SageMaker answers a delete it cannot take in this state with a ValidationException whose wording varies
# ("Cannot update in-progress endpoint ...", "... in status Creating ..."): matched leniently.
_STATE_REFUSAL = re.compile(
    r"in[- ]progress|\b(status|state)\b|creating|updating|rolling ?back|inference components?\b", re.IGNORECASE
)


class EndpointType(_SageMakerType):
    key = "sagemaker.endpoint"
    label = "SageMaker endpoint"
    service_label = "SageMaker"
    references_others = True
    may_reference = frozenset({"sagemaker.endpoint-config", "logs.log-group"})
    deletes_asynchronously = True
    poll_delay: ClassVar[float] = 15.0  # seconds between two looks (poll_gone, NotYet retries); tests shorten it

    _paginator = "list_endpoints"
    _list_key = "Endpoints"
    _name_key = "EndpointName"
    _describe_operation = "describe_endpoint"  # its delete is its own: components, scaling and state come first

    def delete(self, aws: Aws, found: Found, approval: Approval | None = None) -> None:
        """Start deleting the endpoint as `found` (just read) shows it; raises NotYet while AWS cannot take it."""
        status = str(found.details.get("status", ""))
        if status == "Deleting":
            return  # already asked for (an earlier run, a colleague): asking again is refused; the executor polls
        if status in _NOT_DELETABLE_YET:
            raise NotYet(_NOT_DELETABLE_YET[status], self.poll_delay, status)
        self._delete_components(aws, found, approval)
        deregister_endpoint_targets(aws, found.region, found.id, found.details.get("variants") or [])
        try:
            aws.client("sagemaker", found.region).delete_endpoint(EndpointName=found.id)
        except ClientError as e:
            if _refused_for_state(e):
                raise NotYet(
                    f"AWS refuses to delete the endpoint for now ({error_message(e)})", self.poll_delay, status
                ) from e
            raise

    def poll_gone(self, aws: Aws, found: Found) -> Pending | None:
        described = self._describe(aws, found.region, found.id)
        if described is None or described["CreationTime"].isoformat() != found.identity:
            return None  # gone (a same-named endpoint created since is not the one deleted)
        status = str(described.get("EndpointStatus", ""))
        reason = str(described.get("FailureReason", ""))
        # A Failed endpoint stays Failed for a moment after DeleteEndpoint; only a new failure means it cannot go.
        if status == "Failed" and reason and reason != found.details.get("failure_reason", ""):
            raise RuntimeError(f"SageMaker endpoint {found.id} could not be deleted: status Failed: {reason}")
        return Pending(self.poll_delay, status)

    def _delete_components(self, aws: Aws, found: Found, approval: Approval | None) -> None:
        """Delete the inference components approved with the endpoint; NotYet until AWS has removed them all.

        Approved: shown at scan, i.e. created no later than the newest one shown (`Approval.written_before`).
        One created since was never approved: the endpoint is kept with it, and nothing is touched.
        """
        components: list[dict[str, Any]] = found.details.get("inference_components") or []
        if not components:
            return
        shown_until = approval.written_before if approval else None
        unapproved = [
            c["name"]
            for c in components
            if shown_until is None or c.get("created_at") is None or float(c["created_at"]) > shown_until
        ]
        if unapproved:
            many = len(unapproved) > 1
            raise KeptError(
                f"inference component{'s' if many else ''} {', '.join(unapproved)} on this endpoint appeared after "
                f"the scan and {'were' if many else 'was'} not approved; the endpoint is kept"
            )
        client = aws.client("sagemaker", found.region)
        to_delete = [c for c in components if c.get("status") != "Deleting"]  # asked for already: AWS refuses again
        deregister_targets(aws, found.region, (component_resource_id(c["name"]) for c in to_delete))
        for component in to_delete:
            try:
                client.delete_inference_component(InferenceComponentName=component["name"])
            except ClientError as e:
                if not (is_not_found(e) or _refused_for_state(e)):  # refused for its state: asked again next pass
                    raise
        left = _components(aws, found.region, found.id)
        if left:
            names = ", ".join(f"{c['name']} ({c.get('status') or 'unknown'})" for c in left)
            raise NotYet(
                f"AWS refuses to delete the endpoint while inference components live on it; deleting them first: "
                f"{names}",
                self.poll_delay,
                "deleting inference components",
            )

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
        components = _components(aws, region, name)
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
                "failure_reason": described.get("FailureReason", ""),
                "config": config_name,
                "variants": _variant_names(described, config),
                "inference_components": components,
                # What the approver was shown: components created later are not approved (see delete).
                "written_before": max((c["created_at"] or 0.0 for c in components), default=0.0),
                "created_at": epoch_seconds(described.get("CreationTime")),
            },
        )


def _refused_for_state(error: ClientError) -> bool:
    """AWS refused the call because of the resource's state (busy, or still holding components), not for good."""
    err = error.response.get("Error", {})
    code, message = str(err.get("Code", "")), str(err.get("Message", ""))
    if code == "ResourceInUse":
        return True
    return code == "ValidationException" and not is_not_found(error) and bool(_STATE_REFUSAL.search(message))


def _components(aws: Aws, region: str, endpoint: str) -> list[dict[str, Any]]:
    """The inference components hosted on the endpoint: name, status, variant, created_at (epoch seconds)."""
    pages = (
        aws.client("sagemaker", region).get_paginator("list_inference_components").paginate(EndpointNameEquals=endpoint)
    )
    return [
        {
            "name": c["InferenceComponentName"],
            "status": c.get("InferenceComponentStatus", ""),
            "variant": c.get("VariantName", ""),
            "created_at": epoch_seconds(c.get("CreationTime")),
        }
        for page in pages
        for c in page.get("InferenceComponents", [])
        if c.get("EndpointName", endpoint) == endpoint  # the filter is exact on AWS; never trust an emulator's
    ]


def _variant_names(endpoint: dict[str, Any], config: dict[str, Any] | None) -> list[str]:
    """Variant names (production and shadow): the endpoint's own, or its config's when it reports none (Failed)."""
    names: list[str] = []
    for source in (endpoint, config or {}):
        for key in ("ProductionVariants", "ShadowProductionVariants"):
            for variant in source.get(key) or []:
                if variant.get("VariantName") and variant["VariantName"] not in names:
                    names.append(variant["VariantName"])
        if names:
            break
    return names


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
    _describe_operation = "describe_endpoint_config"
    _delete_operation = "delete_endpoint_config"

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
    _describe_operation = "describe_model"
    _delete_operation = "delete_model"

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
