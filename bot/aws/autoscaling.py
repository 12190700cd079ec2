"""Application Auto Scaling targets of SageMaker endpoint variants and inference components: deregistered before
the variant's endpoint, or the component, is deleted.

A variant with auto scaling is a scalable target `endpoint/<endpoint>/variant/<variant>`, an inference component
one `inference-component/<name>`; left behind, a target outlives what it scaled and keeps its scaling policies and
CloudWatch alarms. Deregistering a target also deletes its scaling policies (AWS does that itself).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from botocore.exceptions import ClientError

from bot.aws.clients import Aws

NAMESPACE = "sagemaker"
_IDS_PER_CALL = 50  # DescribeScalableTargets takes at most 50 ResourceIds


def variant_resource_id(endpoint: str, variant: str) -> str:
    return f"endpoint/{endpoint}/variant/{variant}"


def component_resource_id(component: str) -> str:
    return f"inference-component/{component}"


def registered_targets(aws: Aws, region: str, resource_ids: Iterable[str]) -> list[dict[str, Any]]:
    """The scalable targets registered on these SageMaker resource IDs (every page, 50 resource IDs a call)."""
    ids = list(dict.fromkeys(resource_ids))
    client = aws.client("application-autoscaling", region)
    targets: list[dict[str, Any]] = []
    for start in range(0, len(ids), _IDS_PER_CALL):
        pages = client.get_paginator("describe_scalable_targets").paginate(
            ServiceNamespace=NAMESPACE, ResourceIds=ids[start : start + _IDS_PER_CALL]
        )
        targets += [t for page in pages for t in page.get("ScalableTargets", [])]
    return targets


def endpoint_targets(aws: Aws, region: str, endpoint: str, variants: Iterable[str]) -> list[dict[str, Any]]:
    """The scalable targets registered on the endpoint's variants."""
    return registered_targets(aws, region, (variant_resource_id(endpoint, v) for v in variants))


def deregister_targets(aws: Aws, region: str, resource_ids: Iterable[str]) -> list[str]:
    """Deregister every scalable target registered on these resource IDs; the resource IDs deregistered.

    A target already gone counts as done; any other refusal (AccessDenied...) is raised, so that nothing is deleted
    with its scaling left behind.
    """
    client = aws.client("application-autoscaling", region)
    done: list[str] = []
    for target in registered_targets(aws, region, resource_ids):
        try:
            client.deregister_scalable_target(
                ServiceNamespace=NAMESPACE,
                ResourceId=target["ResourceId"],
                ScalableDimension=target["ScalableDimension"],
            )
        except ClientError as e:
            if not _target_gone(e):
                raise
        done.append(str(target["ResourceId"]))
    return done


def deregister_endpoint_targets(aws: Aws, region: str, endpoint: str, variants: Iterable[str]) -> list[str]:
    """Deregister every scalable target of the endpoint's variants (deregister_targets)."""
    return deregister_targets(aws, region, (variant_resource_id(endpoint, v) for v in variants))


def _target_gone(error: ClientError) -> bool:
    err = error.response.get("Error", {})
    code, message = str(err.get("Code", "")), str(err.get("Message", "")).lower()
    # AWS: ObjectNotFoundException; moto: ValidationException "No scalable target found ..."
    return code == "ObjectNotFoundException" or (code == "ValidationException" and "no scalable target" in message)
