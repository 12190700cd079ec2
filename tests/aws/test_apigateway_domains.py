"""API Gateway APIs that a custom domain maps are kept, with the domain named (issue 13).

A REST API with a base path mapping, or an HTTP/WebSocket API with an API mapping, serves its domain: deleting it
would break the domain. moto over HTTP holds real domains and mappings; faults come in API Gateway's own error
format (tests/faults.py); botocore Stubber answers the paging moto ignores.
"""

from __future__ import annotations

from datetime import UTC, datetime

import boto3
import pytest
from botocore.stub import Stubber

from bot.aws.apigateway import HttpApiType, RestApiType
from bot.aws.base import Found, KeptError
from bot.aws.clients import Aws, new_session
from bot.core.executor import ExecutorOptions, execute
from bot.core.scanner import scan
from tests.core.helpers import REGION, dogcat, faulty_aws
from tests.faults import Faults

NAME = "MLInferenceAPI"
FAST = ExecutorOptions(delete_interval=0.0)


def exact(name: str) -> bool:
    return name == NAME


@pytest.fixture
def seed(moto_server: str) -> boto3.session.Session:
    """The account as a colleague changes it: same moto server, not the app's clients."""
    return new_session(region_name=REGION)


@pytest.fixture
def app(moto_server: str) -> tuple[Aws, Faults]:
    return faulty_aws()


def rest_api(seed: boto3.session.Session) -> str:
    return str(seed.client("apigateway").create_rest_api(name=NAME)["id"])


def http_api(seed: boto3.session.Session) -> str:
    return str(seed.client("apigatewayv2").create_api(Name=NAME, ProtocolType="HTTP")["ApiId"])


def map_rest(seed: boto3.session.Session, domain: str, api_id: str, base_path: str = "") -> None:
    client = seed.client("apigateway")
    if domain not in {d["domainName"] for d in client.get_domain_names()["items"]}:
        client.create_domain_name(domainName=domain)
    client.create_base_path_mapping(domainName=domain, restApiId=api_id, basePath=base_path)


def map_http(seed: boto3.session.Session, domain: str, api_id: str, key: str = "") -> None:
    client = seed.client("apigatewayv2")
    if domain not in {d["DomainName"] for d in client.get_domain_names()["Items"]}:
        client.create_domain_name(DomainName=domain)
    client.create_api_mapping(DomainName=domain, ApiId=api_id, Stage="$default", ApiMappingKey=key)


def guards(found: list[Found]) -> dict[str, str | None]:
    return {f.id: f.guard for f in found}


# -- the facts: which domain maps which API ----------------------------------------------------------------------


def test_rest_api_mapped_by_a_domain_is_guarded_with_the_domain(
    seed: boto3.session.Session, app: tuple[Aws, Faults]
) -> None:
    aws, _ = app
    mapped, unmapped = rest_api(seed), rest_api(seed)
    map_rest(seed, "api.example.com", mapped, "v1")
    seed.client("apigateway").create_domain_name(domainName="idle.example.com")  # maps nothing

    found = guards(RestApiType().find(aws, REGION, exact))

    assert found == {
        mapped: "deleting it would break custom domain api.example.com (base path /v1), which maps it",
        unmapped: None,
    }
    got = RestApiType().get(aws, REGION, mapped)
    assert got is not None and got.guard == found[mapped]


def test_http_api_mapped_by_a_domain_is_guarded_with_the_domain(
    seed: boto3.session.Session, app: tuple[Aws, Faults]
) -> None:
    aws, _ = app
    mapped, unmapped = http_api(seed), http_api(seed)
    map_http(seed, "chat.example.com", mapped)

    found = guards(HttpApiType().find(aws, REGION, exact))

    assert found == {
        mapped: "deleting it would break custom domain chat.example.com (API mapping /), which maps it",
        unmapped: None,
    }
    got = HttpApiType().get(aws, REGION, unmapped)
    assert got is not None and got.guard is None


def test_every_domain_and_path_that_maps_an_api_is_named(seed: boto3.session.Session, app: tuple[Aws, Faults]) -> None:
    aws, _ = app
    api_id = rest_api(seed)
    map_rest(seed, "b.example.com", api_id, "v2")
    map_rest(seed, "b.example.com", api_id, "v1")
    map_rest(seed, "a.example.com", api_id)

    got = RestApiType().get(aws, REGION, api_id)

    assert got is not None
    assert got.guard == (
        "deleting it would break custom domains a.example.com (base path /) and b.example.com "
        "(base paths /v1 and /v2), which map it"
    )


@pytest.mark.parametrize(
    ("service", "operation", "type_"),
    [
        ("api-gateway", "GetDomainNames", RestApiType),
        ("api-gateway", "GetBasePathMappings", RestApiType),
        ("apigatewayv2", "GetDomainNames", HttpApiType),
        ("apigatewayv2", "GetApiMappings", HttpApiType),
    ],
)
def test_domains_that_cannot_be_read_guard_every_api(
    seed: boto3.session.Session, app: tuple[Aws, Faults], service: str, operation: str, type_: type[RestApiType]
) -> None:
    aws, faults = app
    api_id = rest_api(seed) if type_ is RestApiType else http_api(seed)
    if type_ is RestApiType:
        map_rest(seed, "other.example.com", rest_api(seed))
    else:
        map_http(seed, "other.example.com", http_api(seed))
    faults.deny(service, operation)

    found = type_().get(aws, REGION, api_id)

    assert found is not None
    assert found.guard == (
        f"could not check the custom domains in {REGION}: AccessDeniedException; cannot prove none maps it"
    )


def test_domains_are_read_once_per_find_and_only_for_a_match(
    seed: boto3.session.Session, app: tuple[Aws, Faults]
) -> None:
    aws, faults = app
    map_rest(seed, "api.example.com", seed.client("apigateway").create_rest_api(name="MLInferenceAPI-prod")["id"])
    assert RestApiType().find(aws, REGION, exact) == []
    assert faults.calls["api-gateway.GetDomainNames"] == 0

    for version in range(3):
        map_rest(seed, "api.example.com", rest_api(seed), f"v{version}")

    assert len(RestApiType().find(aws, REGION, exact)) == 3
    assert faults.calls["api-gateway.GetDomainNames"] == 1
    assert faults.calls["api-gateway.GetBasePathMappings"] == 1


def test_delete_refuses_an_api_mapped_since_it_was_read(seed: boto3.session.Session, app: tuple[Aws, Faults]) -> None:
    """DeleteRestApi's quota wait lies between the executor's check and the deletion: the deletion looks again."""
    aws, _ = app
    api_id = rest_api(seed)
    read = RestApiType().get(aws, REGION, api_id)
    assert read is not None and read.guard is None
    map_rest(seed, "api.example.com", api_id, "v1")

    with pytest.raises(KeptError, match=r"api\.example\.com \(base path /v1\)"):
        RestApiType().delete(aws, read)

    assert [a["id"] for a in seed.client("apigateway").get_rest_apis()["items"]] == [api_id]


# -- paging and races, where moto ignores page sizes -------------------------------------------------------------

CREATED = datetime(2026, 1, 1, tzinfo=UTC)


def test_rest_domains_and_mappings_read_every_page(app: tuple[Aws, Faults]) -> None:
    aws, _ = app
    client = aws.client("apigateway", REGION)
    api = {"id": "a1", "name": NAME, "createdDate": CREATED, "tags": {}}
    with Stubber(client) as stub:
        stub.add_response("get_rest_api", api, {"restApiId": "a1"})
        stub.add_response("get_domain_names", {"items": [{"domainName": "one.example.com"}], "position": "p"}, {})
        private = {"domainName": "private.example.com", "domainNameId": "abc123"}
        stub.add_response("get_domain_names", {"items": [private]}, {"position": "p"})
        stub.add_response(
            "get_base_path_mappings",
            {"items": [{"basePath": "x", "restApiId": "zz"}], "position": "q"},
            {"domainName": "one.example.com"},
        )
        stub.add_response(
            "get_base_path_mappings",
            {"items": [{"basePath": "v9", "restApiId": "a1"}]},
            {"domainName": "one.example.com", "position": "q"},
        )
        stub.add_response(  # a private custom domain is named by its id too
            "get_base_path_mappings",
            {"items": [{"basePath": "(none)", "restApiId": "a1"}]},
            {"domainName": "private.example.com", "domainNameId": "abc123"},
        )
        found = RestApiType().get(aws, REGION, "a1")
        stub.assert_no_pending_responses()

    assert found is not None
    assert found.guard == (
        "deleting it would break custom domains one.example.com (base path /v9) and private.example.com "
        "(base path /), which map it"
    )


def test_http_api_mappings_follow_next_token(app: tuple[Aws, Faults]) -> None:
    aws, _ = app
    client = aws.client("apigatewayv2", REGION)
    api = {"ApiId": "h1", "Name": NAME, "CreatedDate": CREATED, "ProtocolType": "HTTP", "RouteSelectionExpression": "x"}
    with Stubber(client) as stub:
        stub.add_response("get_api", api, {"ApiId": "h1"})
        stub.add_response("get_domain_names", {"Items": [{"DomainName": "h.example.com"}]}, {})
        stub.add_response(
            "get_api_mappings",
            {"Items": [{"ApiId": "other", "ApiMappingKey": "a", "Stage": "s"}], "NextToken": "t"},
            {"DomainName": "h.example.com"},
        )
        stub.add_response(
            "get_api_mappings",
            {"Items": [{"ApiId": "h1", "ApiMappingKey": "orders/v2", "Stage": "s"}]},
            {"DomainName": "h.example.com", "NextToken": "t"},
        )
        found = HttpApiType().get(aws, REGION, "h1")
        stub.assert_no_pending_responses()

    assert found is not None
    assert found.guard == (
        "deleting it would break custom domain h.example.com (API mapping /orders/v2), which maps it"
    )


def test_a_domain_deleted_while_listing_maps_nothing(app: tuple[Aws, Faults]) -> None:
    aws, _ = app
    client = aws.client("apigateway", REGION)
    api = {"id": "a1", "name": NAME, "createdDate": CREATED, "tags": {}}
    with Stubber(client) as stub:
        stub.add_response("get_rest_api", api, {"restApiId": "a1"})
        stub.add_response("get_domain_names", {"items": [{"domainName": "gone.example.com"}]}, {})
        stub.add_client_error(
            "get_base_path_mappings", "NotFoundException", "Invalid domain name identifier specified", 404
        )
        found = RestApiType().get(aws, REGION, "a1")
        stub.assert_no_pending_responses()

    assert found is not None and found.guard is None


# -- outcomes: scan and cleanup ----------------------------------------------------------------------------------


def rest_exists(seed: boto3.session.Session, api_id: str) -> bool:
    return any(a["id"] == api_id for a in seed.client("apigateway").get_rest_apis()["items"])


def http_exists(seed: boto3.session.Session, api_id: str) -> bool:
    return any(a["ApiId"] == api_id for a in seed.client("apigatewayv2").get_apis()["Items"])


def test_cleanup_keeps_mapped_apis_and_deletes_the_unmapped(
    seed: boto3.session.Session, app: tuple[Aws, Faults]
) -> None:
    aws, _ = app
    rest_mapped, rest_free, rest_late = rest_api(seed), rest_api(seed), rest_api(seed)
    http_mapped, http_free, http_late = http_api(seed), http_api(seed), http_api(seed)
    map_rest(seed, "api.example.com", rest_mapped, "v1")
    map_http(seed, "chat.example.com", http_mapped, "ws")

    plan = scan(aws, dogcat(), [REGION])
    kept = {r.id: r for r in plan.kept}
    assert {rest_mapped, http_mapped} <= set(kept)
    assert kept[rest_mapped].keep == "guarded"
    assert "custom domain api.example.com (base path /v1), which maps it" in kept[rest_mapped].keep_reason
    assert "custom domain chat.example.com (API mapping /ws), which maps it" in kept[http_mapped].keep_reason
    assert {rest_free, rest_late, http_free, http_late} <= {r.id for r in plan.to_delete}

    map_rest(seed, "late.example.com", rest_late)  # a colleague maps them after the scan
    map_http(seed, "late.example.com", http_late, "v2")
    results = {r.key.split("|")[2]: r for r in execute(aws, plan, None, FAST)}

    assert results[rest_free].status == "deleted" and results[http_free].status == "deleted"
    assert not rest_exists(seed, rest_free) and not http_exists(seed, http_free)
    assert results[rest_late].status == "skipped"
    assert "custom domain late.example.com (base path /), which maps it" in results[rest_late].reason
    assert "since the scan" in results[rest_late].reason
    assert results[http_late].status == "skipped"
    assert "late.example.com (API mapping /v2)" in results[http_late].reason
    for api_id in (rest_mapped, rest_late):
        assert rest_exists(seed, api_id)
    for api_id in (http_mapped, http_late):
        assert http_exists(seed, api_id)


def test_domains_unreadable_at_scan_keep_the_api(seed: boto3.session.Session, app: tuple[Aws, Faults]) -> None:
    aws, faults = app
    api_id = rest_api(seed)
    faults.deny("api-gateway", "GetDomainNames")

    plan = scan(aws, dogcat(), [REGION])

    kept = {r.id: r for r in plan.kept}
    assert api_id in kept and api_id not in {r.id for r in plan.to_delete}
    assert "could not check the custom domains in us-east-1: AccessDeniedException" in kept[api_id].keep_reason


def test_domains_unreadable_at_deletion_keep_the_api(seed: boto3.session.Session, app: tuple[Aws, Faults]) -> None:
    aws, faults = app
    rest_id, http_id = rest_api(seed), http_api(seed)
    plan = scan(aws, dogcat(), [REGION])
    assert {rest_id, http_id} <= {r.id for r in plan.to_delete}

    faults.deny("api-gateway", "GetBasePathMappings")
    faults.deny("apigatewayv2", "GetDomainNames")
    map_rest(seed, "api.example.com", rest_api(seed))  # a domain whose mappings the app may not read
    results = {r.key.split("|")[2]: r for r in execute(aws, plan, None, FAST)}

    for api_id in (rest_id, http_id):
        assert results[api_id].status == "skipped"
        assert "could not check the custom domains in us-east-1: AccessDeniedException" in results[api_id].reason
    assert rest_exists(seed, rest_id) and http_exists(seed, http_id)
    assert faults.calls["api-gateway.DeleteRestApi"] == 0 and faults.calls["apigatewayv2.DeleteApi"] == 0
