"""What exists in the (emulated) AWS account now, of the kinds the workshop stack uses: asked of AWS directly, so
that tests, the demo and the benchmarks judge a run by AWS's state, not by what the app says. Not product code.

Resources are named "type:id" as `bot.demo.stack.SeededStack` lists them (REST APIs by id, the rest by name).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any

import boto3


@dataclass(frozen=True)
class Resource:
    type: str  # "sagemaker.endpoint", "apigateway.rest-api"...
    id: str  # what SeededStack names it by
    name: str  # what a person reads (a REST API's name, not its id)

    @property
    def ident(self) -> str:
        return f"{self.type}:{self.id}"


Lister = Callable[[boto3.session.Session, str | None], Iterator[Resource]]


def _pages(session: boto3.session.Session, region: str | None, service: str, operation: str) -> Iterator[Any]:
    client = session.client(service, region_name=region)  # type: ignore[call-overload]
    yield from client.get_paginator(operation).paginate()


def _lister(service: str, operation: str, items: str, type_: str, id_key: str, name_key: str = "") -> Lister:
    def listed(session: boto3.session.Session, region: str | None) -> Iterator[Resource]:
        for page in _pages(session, region, service, operation):
            for item in page[items]:
                ident = item if isinstance(item, str) else item[id_key]
                name = item[name_key] if name_key else ident
                yield Resource(type_, ident, name)

    return listed


LISTERS: dict[str, Lister] = {
    "sagemaker.endpoint": _lister("sagemaker", "list_endpoints", "Endpoints", "sagemaker.endpoint", "EndpointName"),
    "sagemaker.endpoint-config": _lister(
        "sagemaker", "list_endpoint_configs", "EndpointConfigs", "sagemaker.endpoint-config", "EndpointConfigName"
    ),
    "sagemaker.model": _lister("sagemaker", "list_models", "Models", "sagemaker.model", "ModelName"),
    "lambda.function": _lister("lambda", "list_functions", "Functions", "lambda.function", "FunctionName"),
    "dynamodb.table": _lister("dynamodb", "list_tables", "TableNames", "dynamodb.table", ""),
    "apigateway.rest-api": _lister("apigateway", "get_rest_apis", "items", "apigateway.rest-api", "id", "name"),
    "iam.role": _lister("iam", "list_roles", "Roles", "iam.role", "RoleName"),
    "s3.bucket": _lister("s3", "list_buckets", "Buckets", "s3.bucket", "Name"),
    "logs.log-group": _lister("logs", "describe_log_groups", "logGroups", "logs.log-group", "logGroupName"),
}


def resources(
    session: boto3.session.Session, region: str | None = None, types: Iterable[str] = LISTERS
) -> list[Resource]:
    """Every resource of these types; regional ones in `region` (default: the session's)."""
    return [resource for type_ in types for resource in LISTERS[type_](session, region)]


def existing(session: boto3.session.Session, region: str | None = None) -> set[str]:
    """Every resource of the kinds the stack uses, as "type:id"."""
    return {resource.ident for resource in resources(session, region)}


def exists(session: boto3.session.Session, ident: str) -> bool:
    """Whether "type:id" exists now (only its own type is listed)."""
    type_ = ident.split(":", 1)[0]
    if type_ not in LISTERS:
        raise ValueError(f"not a resource type of the inventory: {type_!r}")
    return any(resource.ident == ident for resource in resources(session, types=[type_]))
