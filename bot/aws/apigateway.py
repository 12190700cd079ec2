"""API Gateway REST APIs (apigateway) and HTTP/WebSocket APIs (apigatewayv2).

API names are not unique: several APIs may share one, so the id is the API id and every match is found. Tags come
inside the list items, where AWS returns them (a separate GetTags call answers 404 on moto's server).

An API that a custom domain maps (a REST API's base path mapping, an HTTP/WebSocket API's API mapping) serves
that domain: deleting it would break the domain, so its `guard` says which domain maps it. The region's domains
are read once per find() and again in get(), the executor's just-in-time re-check. When they cannot be read, no
API can be proven unmapped, and the guard says so.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, ClassVar

from botocore.exceptions import BotoCoreError, ClientError

from bot.aws.base import (
    Approval,
    Found,
    KeptError,
    NameMatch,
    ResourceType,
    epoch_seconds,
    error_code,
    is_not_found,
)
from bot.aws.clients import Aws

SHOWN_DOMAINS = 3  # domains named in a guard; the rest are counted, so that the reason stays one short line


def iso(value: Any) -> str:
    """A timestamp as UTC ISO text, so an identity reads the same whatever the local time zone."""
    if isinstance(value, datetime):
        return (value if value.tzinfo else value.replace(tzinfo=UTC)).astimezone(UTC).isoformat()
    return str(value or "")


def _partition(aws: Aws, region: str) -> str:
    return str(aws.session.get_partition_for_region(region))


# -- custom domains ---------------------------------------------------------------------------------------------

MappingRow = tuple[str, str, str]  # (API id, domain name, path), one per mapping
Domain = dict[str, Any]  # one item of GetDomainNames


@dataclass(frozen=True)
class DomainMappings:
    """What one region's custom domains map: API id -> domain -> paths. `unreadable`: why they could not be read
    (then every API is guarded: none can be proven unmapped)."""

    region: str
    paths: dict[str, dict[str, list[str]]] = field(default_factory=dict)
    unreadable: str = ""
    path_word: str = "base path"

    @classmethod
    def of(cls, region: str, mappings: Iterable[MappingRow], path_word: str) -> DomainMappings:
        paths: dict[str, dict[str, list[str]]] = defaultdict(lambda: defaultdict(list))
        for api_id, domain, path in mappings:
            paths[api_id][domain].append(path)
        return cls(region, {api: dict(domains) for api, domains in paths.items()}, path_word=path_word)

    def guard(self, api_id: str) -> str | None:
        if self.unreadable:
            return f"could not check the custom domains in {self.region}: {self.unreadable}; cannot prove none maps it"
        domains = self.paths.get(api_id)
        if not domains:
            return None
        names = [self._where(domain, sorted(paths)) for domain, paths in sorted(domains.items())]
        # Worded so that the core's suffixes (" since the scan", "; the app never switches...") still read well.
        if len(names) == 1:
            return f"deleting it would break custom domain {names[0]}, which maps it"
        return f"deleting it would break custom domains {_and(names)}, which map it"

    def _where(self, domain: str, paths: list[str]) -> str:
        word = self.path_word if len(paths) == 1 else f"{self.path_word}s"
        return f"{domain} ({word} {_and(paths)})"


def _and(items: list[str]) -> str:
    """ "a", "a and b", "a, b and c", "a, b, c and 2 more"."""
    shown, more = items[:SHOWN_DOMAINS], len(items) - SHOWN_DOMAINS
    if more > 0:
        return f"{', '.join(shown)} and {more} more"
    return shown[0] if len(shown) == 1 else f"{', '.join(shown[:-1])} and {shown[-1]}"


def _path(key: str) -> str:
    # AWS writes a domain's root mapping as "(none)" (REST base path) or "" (API mapping key).
    return "/" if key in ("", "(none)") else "/" + key.lstrip("/")


def _read_domains(
    aws: Aws, list_domains: Callable[[], list[Domain]], mappings_of: Callable[[Domain], list[MappingRow]]
) -> tuple[list[MappingRow], str]:
    """Every mapping of the region's domains, read concurrently per domain; or why they could not be read."""
    try:
        per_domain = aws.map(mappings_of, list_domains())
    except (ClientError, BotoCoreError) as e:
        return [], error_code(e)
    return [m for mappings in per_domain for m in mappings], ""


def rest_domain_mappings(aws: Aws, region: str) -> DomainMappings:
    """The REST APIs that the region's custom domains map (GetDomainNames, GetBasePathMappings)."""
    client = aws.client("apigateway", region)

    def domains() -> list[Domain]:
        return [d for page in client.get_paginator("get_domain_names").paginate() for d in page.get("items", [])]

    def mappings_of(domain: Domain) -> list[MappingRow]:
        name = domain.get("domainName", "")
        kwargs = {"domainName": name}
        if domain.get("domainNameId"):  # a private custom domain is named by its id too
            kwargs["domainNameId"] = domain["domainNameId"]
        try:
            pages = list(client.get_paginator("get_base_path_mappings").paginate(**kwargs))
        except ClientError as e:
            if is_not_found(e):  # deleted since it was listed: it maps nothing
                return []
            raise
        return [(m.get("restApiId", ""), name, _path(m.get("basePath", ""))) for p in pages for m in p.get("items", [])]

    found, unreadable = _read_domains(aws, domains, mappings_of)
    if unreadable:
        return DomainMappings(region, unreadable=unreadable)
    return DomainMappings.of(region, found, "base path")


def http_domain_mappings(aws: Aws, region: str) -> DomainMappings:
    """The HTTP/WebSocket APIs that the region's custom domains map (apigatewayv2 GetDomainNames, GetApiMappings)."""
    client = aws.client("apigatewayv2", region)

    def domains() -> list[Domain]:
        return [d for page in client.get_paginator("get_domain_names").paginate() for d in page.get("Items", [])]

    def mappings_of(domain: Domain) -> list[MappingRow]:
        name = domain.get("DomainName", "")
        try:
            items = _api_mappings(client, name)
        except ClientError as e:
            if is_not_found(e):  # deleted since it was listed: it maps nothing
                return []
            raise
        return [(m.get("ApiId", ""), name, _path(m.get("ApiMappingKey", ""))) for m in items]

    found, unreadable = _read_domains(aws, domains, mappings_of)
    if unreadable:
        return DomainMappings(region, unreadable=unreadable)
    return DomainMappings.of(region, found, "API mapping")


def _api_mappings(client: Any, domain: str) -> list[dict[str, Any]]:
    # botocore has no paginator for GetApiMappings: follow NextToken by hand (a repeated token ends it).
    items: list[dict[str, Any]] = []
    token = ""
    while True:
        page = client.get_api_mappings(DomainName=domain, **({"NextToken": token} if token else {}))
        items += page.get("Items", [])
        following = page.get("NextToken") or ""
        if not following or following == token:
            return items
        token = following


# -- the resource types -----------------------------------------------------------------------------------------


class RestApiType(ResourceType):
    key = "apigateway.rest-api"
    label = "API Gateway REST API"
    service_label = "API Gateway"
    # AWS allows one DeleteRestApi per 30 seconds per account. The executor spaces these deletions out (without
    # holding up other services); the module itself never sleeps.
    min_delete_interval: ClassVar[float] = 30.0

    def find(self, aws: Aws, region: str, match: NameMatch) -> list[Found]:
        client = aws.client("apigateway", region)
        apis = [
            api
            for page in client.get_paginator("get_rest_apis").paginate()
            for api in page.get("items", [])
            if match(api.get("name", ""))
        ]
        if not apis:
            return []
        domains = rest_domain_mappings(aws, region)
        return [self._found(aws, region, api, domains) for api in apis]

    def get(self, aws: Aws, region: str, id_: str) -> Found | None:
        try:
            api = aws.client("apigateway", region).get_rest_api(restApiId=id_)
        except ClientError as e:
            if is_not_found(e):
                return None
            raise
        return self._found(aws, region, api, rest_domain_mappings(aws, region))

    def delete(self, aws: Aws, found: Found, approval: Approval | None = None) -> None:
        client = aws.client("apigateway", found.region)
        # Read first: a missing API then raises AWS's NotFoundException ("already gone"), where moto would answer
        # DeleteRestApi with HTTP 500 (retried by botocore) instead.
        client.get_rest_api(restApiId=found.id)
        # The executor's check may be up to DeleteRestApi's quota wait old: a domain mapped meanwhile keeps it.
        guard = rest_domain_mappings(aws, found.region).guard(found.id)
        if guard:
            raise KeptError(f"{guard} (seen right before deleting)")
        client.delete_rest_api(restApiId=found.id)

    def _found(self, aws: Aws, region: str, api: dict[str, Any], domains: DomainMappings) -> Found:
        api_id = api["id"]
        return Found(
            type=self.key,
            region=region,
            id=api_id,
            name=api.get("name", ""),
            arn=f"arn:{_partition(aws, region)}:apigateway:{region}::/restapis/{api_id}",
            identity=f"{api_id}|{iso(api.get('createdDate'))}",
            tags=dict(api.get("tags") or {}),
            guard=domains.guard(api_id),
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
        apis = [
            api
            for page in client.get_paginator("get_apis").paginate()
            for api in page.get("Items", [])
            if match(api.get("Name", ""))
        ]
        if not apis:
            return []
        domains = http_domain_mappings(aws, region)
        return [self._found(aws, region, api, domains) for api in apis]

    def get(self, aws: Aws, region: str, id_: str) -> Found | None:
        try:
            api = aws.client("apigatewayv2", region).get_api(ApiId=id_)
        except ClientError as e:
            if is_not_found(e):
                return None
            raise
        return self._found(aws, region, api, http_domain_mappings(aws, region))

    def delete(self, aws: Aws, found: Found, approval: Approval | None = None) -> None:
        client = aws.client("apigatewayv2", found.region)
        # Read first: a missing API then raises NotFoundException as on AWS; moto's DeleteApi succeeds silently.
        client.get_api(ApiId=found.id)
        client.delete_api(ApiId=found.id)

    def _found(self, aws: Aws, region: str, api: dict[str, Any], domains: DomainMappings) -> Found:
        api_id = api["ApiId"]
        return Found(
            type=self.key,
            region=region,
            id=api_id,
            name=api.get("Name", ""),
            arn=f"arn:{_partition(aws, region)}:apigateway:{region}::/apis/{api_id}",
            identity=f"{api_id}|{iso(api.get('CreatedDate'))}",
            tags=dict(api.get("Tags") or {}),
            guard=domains.guard(api_id),
            details={"protocol": api.get("ProtocolType", ""), "created_at": epoch_seconds(api.get("CreatedDate"))},
        )
