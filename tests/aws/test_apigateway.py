"""API Gateway REST and HTTP APIs against moto: exact names, shared names, tags, deletion."""

from __future__ import annotations

import time
from datetime import UTC, datetime

import pytest
from botocore.exceptions import ClientError
from botocore.stub import Stubber

from bot.aws.apigateway import HttpApiType, RestApiType
from bot.aws.base import PROTECT_TAG, is_not_found
from bot.aws.clients import Aws

REGION = "us-east-1"
NAME = "MLInferenceAPI"


def exact(name: str) -> bool:
    return name == NAME


def test_rest_exact_name_and_shared_names(aws: Aws) -> None:
    client = aws.client("apigateway", REGION)
    first = client.create_rest_api(name=NAME)["id"]
    second = client.create_rest_api(name=NAME)["id"]
    client.create_rest_api(name="MLInferenceAPI-prod")

    found = RestApiType().find(aws, REGION, exact)

    assert {f.id for f in found} == {first, second}
    assert all(f.name == NAME and f.region == REGION and f.type == "apigateway.rest-api" for f in found)
    assert all(f.arn == f"arn:aws:apigateway:{REGION}::/restapis/{f.id}" for f in found)
    assert len({f.identity for f in found}) == 2


def test_http_api_exact_name(aws: Aws) -> None:
    client = aws.client("apigatewayv2", REGION)
    api_id = client.create_api(Name=NAME, ProtocolType="HTTP")["ApiId"]
    client.create_api(Name="MLInferenceAPI-prod", ProtocolType="HTTP")
    aws.client("apigateway", REGION).create_rest_api(name="other")

    found = HttpApiType().find(aws, REGION, exact)

    assert [f.id for f in found] == [api_id]
    assert found[0].details["protocol"] == "HTTP"
    assert abs(found[0].details["created_at"] - time.time()) < 300  # when it was created, epoch seconds
    assert found[0].identity.startswith(f"{api_id}|")
    assert RestApiType().find(aws, REGION, exact) == []


def test_protect_tag_is_read(aws: Aws) -> None:
    rest = aws.client("apigateway", REGION)
    rest.create_rest_api(name=NAME, tags={PROTECT_TAG: "true"})
    rest.create_rest_api(name=NAME, tags={"team": "ml"})
    aws.client("apigatewayv2", REGION).create_api(Name=NAME, ProtocolType="HTTP", Tags={PROTECT_TAG: "True"})

    rest_found = RestApiType().find(aws, REGION, exact)
    http_found = HttpApiType().find(aws, REGION, exact)

    assert sorted(f.protected for f in rest_found) == [False, True]
    assert [f.protected for f in http_found] == [True]
    assert {f.tags.get("team") for f in rest_found} == {None, "ml"}


def test_get_matches_find_and_missing_is_none(aws: Aws) -> None:
    rest_id = aws.client("apigateway", REGION).create_rest_api(name=NAME)["id"]
    http_id = aws.client("apigatewayv2", REGION).create_api(Name=NAME, ProtocolType="WEBSOCKET")["ApiId"]

    rest_got = RestApiType().get(aws, REGION, rest_id)
    http_got = HttpApiType().get(aws, REGION, http_id)

    assert rest_got == RestApiType().find(aws, REGION, exact)[0]
    assert http_got == HttpApiType().find(aws, REGION, exact)[0]
    assert RestApiType().get(aws, REGION, "nope123456") is None
    assert HttpApiType().get(aws, REGION, "nope1234") is None


def test_delete_rest_api_keeps_its_namesake(aws: Aws) -> None:
    client = aws.client("apigateway", REGION)
    doomed = client.create_rest_api(name=NAME)["id"]
    kept = client.create_rest_api(name=NAME)["id"]
    found = RestApiType().get(aws, REGION, doomed)
    assert found is not None

    RestApiType().delete(aws, found)

    assert [api["id"] for api in client.get_rest_apis()["items"]] == [kept]
    with pytest.raises(ClientError) as raised:  # already gone: AWS's NotFoundException, not moto's HTTP 500
        RestApiType().delete(aws, found)
    assert is_not_found(raised.value)


def test_delete_http_api(aws: Aws) -> None:
    client = aws.client("apigatewayv2", REGION)
    api_id = client.create_api(Name=NAME, ProtocolType="HTTP")["ApiId"]
    found = HttpApiType().get(aws, REGION, api_id)
    assert found is not None

    HttpApiType().delete(aws, found)

    assert client.get_apis()["Items"] == []
    with pytest.raises(ClientError) as raised:  # moto deletes a missing API silently; AWS says NotFound
        HttpApiType().delete(aws, found)
    assert is_not_found(raised.value)


def test_rest_delete_rate_limit_is_declared() -> None:
    assert RestApiType.min_delete_interval == 30.0


def _rest_item(api_id: str, name: str) -> dict[str, object]:
    return {"id": api_id, "name": name, "createdDate": datetime(2026, 1, 1, tzinfo=UTC), "tags": {}}


def test_rest_find_reads_every_page(aws: Aws) -> None:
    client = aws.client("apigateway", REGION)
    with Stubber(client) as stub:
        stub.add_response("get_rest_apis", {"items": [_rest_item("a1", NAME)], "position": "p2"}, {})
        stub.add_response(
            "get_rest_apis", {"items": [_rest_item("b2", NAME), _rest_item("c3", "x")]}, {"position": "p2"}
        )
        stub.add_response("get_domain_names", {"items": []}, {})  # once for the region, not per API
        found = RestApiType().find(aws, REGION, exact)
        stub.assert_no_pending_responses()

    assert [f.id for f in found] == ["a1", "b2"]
    assert [f.guard for f in found] == [None, None]  # no custom domain maps them
    assert found[0].identity == "a1|2026-01-01T00:00:00+00:00"


def test_http_find_reads_every_page(aws: Aws) -> None:
    client = aws.client("apigatewayv2", REGION)
    created = datetime(2026, 1, 1, tzinfo=UTC)

    def item(api_id: str) -> dict[str, object]:
        return {
            "ApiId": api_id,
            "Name": NAME,
            "CreatedDate": created,
            "ProtocolType": "HTTP",
            "RouteSelectionExpression": "$request.method $request.path",
        }

    with Stubber(client) as stub:
        stub.add_response("get_apis", {"Items": [item("a1")], "NextToken": "t"}, {})
        stub.add_response("get_apis", {"Items": [item("b2")]}, {"NextToken": "t"})
        stub.add_response("get_domain_names", {"Items": []}, {})
        found = HttpApiType().find(aws, REGION, exact)
        stub.assert_no_pending_responses()

    assert [f.id for f in found] == ["a1", "b2"]
    assert [f.guard for f in found] == [None, None]
