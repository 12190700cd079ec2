"""Who uses IAM roles and S3 locations: listings of every kind of AWS resource that can run on a role or read a bucket.

A role is global and a bucket is read from anywhere, so these listings run in every enabled region of the account,
not only the scanned ones. Each listing reports facts (`Use`: this resource, in this region, names these roles,
instance profiles and S3 locations); the cleanup core decides what those facts mean for a plan.

Roles and S3 URLs are harvested from the whole describe answer rather than from hand-picked fields: a SageMaker
domain names execution roles in four places and S3 output paths in two, a pipeline names them inside its JSON
definition, and a field added by AWS next year is still seen. Over-reading only ever keeps more.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote

from botocore.exceptions import ClientError

from bot.aws.base import is_not_found, resource_key
from bot.aws.clients import Aws


@dataclass(frozen=True)
class S3Location:
    """A bucket and the key (or key prefix) within it that a resource reads or writes; "" is the whole bucket."""

    bucket: str
    key: str = ""


@dataclass(frozen=True)
class Use:
    """One AWS resource, as a user of roles, instance profiles and S3 locations."""

    kind: str  # what people call it: "SageMaker notebook instance"
    region: str
    name: str
    # When the resource is of a type a plan can hold: its plan key and identity, so that the core can tell a
    # planned user (which does not keep what it uses) from an outside one, and notice one re-created since.
    plan_key: str = ""
    identity: str = ""
    roles: frozenset[str] = frozenset()  # role names
    instance_profiles: frozenset[str] = frozenset()  # instance profile ARNs
    locations: frozenset[S3Location] = frozenset()


@dataclass(frozen=True)
class UseLister:
    """One listing of users, run per region: a service's resources that can use roles or buckets."""

    key: str  # "sagemaker.notebook-instance"
    label: str  # "SageMaker notebook instances", for reasons people read
    principal: str  # the service principal that runs on the roles these resources name
    reads_buckets: bool
    list: Callable[[Aws, str], list[Use]] = field(compare=False)


# -- harvesting roles and S3 URLs from any answer -----------------------------------------------------------------

_ROLE_ARN = re.compile(r"arn:aws[a-z-]*:iam::\d{12}:role/[\w+=,.@/-]*[\w+=,.@-]")
_INSTANCE_PROFILE_ARN = re.compile(r"arn:aws[a-z-]*:iam::\d{12}:instance-profile/[\w+=,.@/-]*[\w+=,.@-]")
_KEY = r"(?:/([^\s\"'\\]*))?"
_S3_URL = re.compile(r"s3://([a-z0-9][a-z0-9.-]{1,61}[a-z0-9])" + _KEY, re.IGNORECASE)
# https://bucket.s3.region.amazonaws.com/key, https://bucket.s3-region.amazonaws.com/key, https://bucket.s3.amazonaws.com/key
_S3_VIRTUAL = re.compile(
    r"https?://([a-z0-9][a-z0-9.-]{1,61}[a-z0-9])\.s3(?:[.-](?:dualstack\.)?[a-z0-9-]+)?\.amazonaws\.com(?:\.cn)?"
    + _KEY,
    re.IGNORECASE,
)
# https://s3.region.amazonaws.com/bucket/key, https://s3.amazonaws.com/bucket/key
_S3_PATH = re.compile(
    r"https?://s3(?:[.-](?:dualstack\.)?[a-z0-9-]+)?\.amazonaws\.com(?:\.cn)?/([a-z0-9][a-z0-9.-]{1,61}[a-z0-9])"
    + _KEY,
    re.IGNORECASE,
)


def _text(answer: Any) -> str:
    return answer if isinstance(answer, str) else json.dumps(answer, default=str)


def roles_named(answer: Any) -> frozenset[str]:
    """Role names of every role ARN anywhere in an AWS answer (paths are not part of a role's name)."""
    return frozenset(arn.rsplit("/", 1)[-1] for arn in _ROLE_ARN.findall(_text(answer)))


def instance_profiles_named(answer: Any) -> frozenset[str]:
    return frozenset(_INSTANCE_PROFILE_ARN.findall(_text(answer)))


def s3_locations(answer: Any) -> frozenset[S3Location]:
    """Every S3 location an AWS answer names: s3:// URLs and https:// virtual-hosted and path-style URLs."""
    text = _text(answer)
    found = set()
    for pattern in (_S3_URL, _S3_VIRTUAL, _S3_PATH):
        for bucket, key in pattern.findall(text):
            found.add(S3Location(bucket.lower(), unquote(key or "")))
    return frozenset(found)


def _harvested(kind: str, region: str, name: str, answer: Any, plan_type: str = "", identity: str = "") -> Use:
    text = _text(answer)
    return Use(
        kind=kind,
        region=region,
        name=name,
        plan_key=resource_key(plan_type, region, name) if plan_type else "",
        identity=identity,
        roles=roles_named(text),
        instance_profiles=instance_profiles_named(text),
        locations=s3_locations(text),
    )


def _iso(value: Any) -> str:
    return value.isoformat() if hasattr(value, "isoformat") else str(value or "")


def _describe_each(
    aws: Aws, items: list[Any], describe: Callable[[Any], dict[str, Any] | None]
) -> list[tuple[Any, dict[str, Any]]]:
    """Describe listed items concurrently; an item deleted since it was listed is left out."""

    def one(item: Any) -> tuple[Any, dict[str, Any]] | None:
        try:
            answer = describe(item)
        except ClientError as e:
            if is_not_found(e):
                return None
            raise
        return None if answer is None else (item, answer)

    return [pair for pair in aws.map(one, items) if pair is not None]


def _paginate(client: Any, operation: str, result_key: str, **params: Any) -> list[Any]:
    return [item for page in client.get_paginator(operation).paginate(**params) for item in page.get(result_key, [])]


# -- SageMaker: every kind of resource that runs on an execution role or reads S3 ---------------------------------


@dataclass(frozen=True)
class _SageMakerKind:
    key: str
    label: str  # singular, e.g. "SageMaker notebook instance"
    list_op: str
    list_key: str
    name_key: str
    describe_op: str
    describe_params: Callable[[dict[str, Any]], dict[str, Any]]
    list_params: Mapping[str, Any] = field(default_factory=dict)
    plan_type: str = ""  # the registry type of the same resource, when a plan can hold it


def _by(key: str, param: str | None = None) -> Callable[[dict[str, Any]], dict[str, Any]]:
    return lambda item: {param or key: item[key]}


_IN_PROGRESS = {"StatusEquals": "InProgress"}
SAGEMAKER_KINDS: tuple[_SageMakerKind, ...] = (
    _SageMakerKind(
        "sagemaker.model", "SageMaker model", "list_models", "Models", "ModelName", "describe_model",
        _by("ModelName"), plan_type="sagemaker.model",
    ),
    _SageMakerKind(
        "sagemaker.endpoint-config", "SageMaker endpoint config", "list_endpoint_configs", "EndpointConfigs",
        "EndpointConfigName", "describe_endpoint_config", _by("EndpointConfigName"),
        plan_type="sagemaker.endpoint-config",
    ),
    _SageMakerKind(
        "sagemaker.notebook-instance", "SageMaker notebook instance", "list_notebook_instances", "NotebookInstances",
        "NotebookInstanceName", "describe_notebook_instance", _by("NotebookInstanceName"),
    ),
    _SageMakerKind(
        "sagemaker.domain", "SageMaker Studio domain", "list_domains", "Domains", "DomainName", "describe_domain",
        _by("DomainId"),
    ),
    # Spaces run on their domain's default space role or their owner's user-profile role, both listed here.
    _SageMakerKind(
        "sagemaker.user-profile", "SageMaker Studio user profile", "list_user_profiles", "UserProfiles",
        "UserProfileName", "describe_user_profile",
        lambda item: {"DomainId": item["DomainId"], "UserProfileName": item["UserProfileName"]},
    ),
    _SageMakerKind(
        "sagemaker.pipeline", "SageMaker pipeline", "list_pipelines", "PipelineSummaries", "PipelineName",
        "describe_pipeline", _by("PipelineName"),
    ),
    _SageMakerKind(
        "sagemaker.feature-group", "SageMaker feature group", "list_feature_groups", "FeatureGroupSummaries",
        "FeatureGroupName", "describe_feature_group", _by("FeatureGroupName"),
    ),
    _SageMakerKind(
        "sagemaker.model-package", "SageMaker model package", "list_model_packages", "ModelPackageSummaryList",
        "ModelPackageArn", "describe_model_package", _by("ModelPackageArn", "ModelPackageName"),
        list_params={"ModelPackageType": "Both"},
    ),
    _SageMakerKind(
        "sagemaker.training-job", "SageMaker training job in progress", "list_training_jobs", "TrainingJobSummaries",
        "TrainingJobName", "describe_training_job", _by("TrainingJobName"), list_params=_IN_PROGRESS,
    ),
    _SageMakerKind(
        "sagemaker.processing-job", "SageMaker processing job in progress", "list_processing_jobs",
        "ProcessingJobSummaries", "ProcessingJobName", "describe_processing_job", _by("ProcessingJobName"),
        list_params=_IN_PROGRESS,
    ),
    _SageMakerKind(
        "sagemaker.transform-job", "SageMaker transform job in progress", "list_transform_jobs",
        "TransformJobSummaries", "TransformJobName", "describe_transform_job", _by("TransformJobName"),
        list_params=_IN_PROGRESS,
    ),
    _SageMakerKind(
        "sagemaker.tuning-job", "SageMaker tuning job in progress", "list_hyper_parameter_tuning_jobs",
        "HyperParameterTuningJobSummaries", "HyperParameterTuningJobName", "describe_hyper_parameter_tuning_job",
        _by("HyperParameterTuningJobName"), list_params=_IN_PROGRESS,
    ),
    _SageMakerKind(
        "sagemaker.automl-job", "SageMaker AutoML job in progress", "list_auto_ml_jobs", "AutoMLJobSummaries",
        "AutoMLJobName", "describe_auto_ml_job_v2", _by("AutoMLJobName"), list_params=_IN_PROGRESS,
    ),
)  # fmt: skip


def _sagemaker_lister(kind: _SageMakerKind) -> Callable[[Aws, str], list[Use]]:
    def list_uses(aws: Aws, region: str) -> list[Use]:
        client = aws.client("sagemaker", region)
        items = _paginate(client, kind.list_op, kind.list_key, **kind.list_params)
        described = _describe_each(
            aws, items, lambda item: getattr(client, kind.describe_op)(**kind.describe_params(item))
        )
        uses = []
        for item, answer in described:
            answer = {k: v for k, v in answer.items() if k != "ResponseMetadata"}
            name = str(item.get(kind.name_key, ""))
            if kind.key == "sagemaker.model-package":
                name = name.rsplit("/", 1)[-1]
            identity = _iso(answer.get("CreationTime")) if kind.plan_type else ""
            uses.append(_harvested(kind.label, region, name, answer, kind.plan_type, identity))
        return uses

    return list_uses


# -- Lambda, EC2, Step Functions, EventBridge Scheduler ---------------------------------------------------------


def _lambda_functions(aws: Aws, region: str) -> list[Use]:
    """Every function and every published version (a version keeps the role it was published with)."""
    configs = _paginate(aws.client("lambda", region), "list_functions", "Functions", FunctionVersion="ALL")
    by_name: dict[str, list[dict[str, Any]]] = {}
    for config in configs:
        by_name.setdefault(config["FunctionName"], []).append(config)
    uses = []
    for name, versions in by_name.items():
        latest = next((v for v in versions if v.get("Version", "$LATEST") == "$LATEST"), versions[0])
        uses.append(
            Use(
                kind="Lambda function",
                region=region,
                name=name,
                plan_key=resource_key("lambda.function", region, name),
                identity=str(latest.get("LastModified", "")),
                roles=frozenset(r for v in versions for r in roles_named(v.get("Role", ""))),
            )
        )
    return uses


def _ec2_instances(aws: Aws, region: str) -> list[Use]:
    """Instances that hold an instance profile (and so the role in it)."""
    associations = _paginate(
        aws.client("ec2", region), "describe_iam_instance_profile_associations", "IamInstanceProfileAssociations"
    )
    return [
        Use(
            kind="EC2 instance",
            region=region,
            name=str(a.get("InstanceId", "")),
            instance_profiles=frozenset({str(a.get("IamInstanceProfile", {}).get("Arn", ""))}),
        )
        for a in associations
        if a.get("State") != "disassociated"
    ]


def _state_machines(aws: Aws, region: str) -> list[Use]:
    client = aws.client("stepfunctions", region)
    machines = _paginate(client, "list_state_machines", "stateMachines")
    described = _describe_each(
        aws, machines, lambda m: client.describe_state_machine(stateMachineArn=m["stateMachineArn"])
    )
    return [_harvested("Step Functions state machine", region, m["name"], answer) for m, answer in described]


def _schedules(aws: Aws, region: str) -> list[Use]:
    client = aws.client("scheduler", region)
    schedules = _paginate(client, "list_schedules", "Schedules")
    described = _describe_each(
        aws, schedules, lambda s: client.get_schedule(Name=s["Name"], GroupName=s.get("GroupName", "default"))
    )
    return [_harvested("EventBridge schedule", region, s["Name"], answer) for s, answer in described]


LISTERS: tuple[UseLister, ...] = (
    UseLister("lambda.function", "Lambda functions and versions", "lambda.amazonaws.com", False, _lambda_functions),
    *(UseLister(k.key, f"{k.label}s", "sagemaker.amazonaws.com", True, _sagemaker_lister(k)) for k in SAGEMAKER_KINDS),
    UseLister("ec2.instance", "EC2 instances (instance profiles)", "ec2.amazonaws.com", False, _ec2_instances),
    UseLister("states.state-machine", "Step Functions state machines", "states.amazonaws.com", True, _state_machines),
    UseLister("scheduler.schedule", "EventBridge Scheduler schedules", "scheduler.amazonaws.com", True, _schedules),
)
LISTERS_BY_KEY: dict[str, UseLister] = {lister.key: lister for lister in LISTERS}
EC2_LISTER = "ec2.instance"


def listers_for_principal(principal: str) -> list[UseLister]:
    """The listings that find every user of a role trusted by `principal`; empty when the app cannot list them."""
    return [lister for lister in LISTERS if lister.principal == principal]


def bucket_listers() -> list[UseLister]:
    return [lister for lister in LISTERS if lister.reads_buckets]
