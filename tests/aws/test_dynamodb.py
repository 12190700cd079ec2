"""DynamoDB tables against moto; waiting and paging against botocore's Stubber."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Any

import pytest
from botocore.exceptions import ClientError
from botocore.stub import Stubber

from bot.aws.base import Found, Pending
from bot.aws.clients import Aws
from bot.aws.dynamodb import TableType

REGION = "us-east-1"
TABLE = "PredictionHistory"
LOOKALIKES = ["PredictionHistoryArchive", "predictionhistory", "OldPredictionHistory"]


def ddb(aws: Aws) -> Any:
    return aws.client("dynamodb", REGION)


def make_table(aws: Aws, name: str, **extra: Any) -> None:
    params: dict[str, Any] = {
        "TableName": name,
        "KeySchema": [{"AttributeName": "id", "KeyType": "HASH"}],
        "AttributeDefinitions": [{"AttributeName": "id", "AttributeType": "S"}],
        "BillingMode": "PAY_PER_REQUEST",
    }
    params.update(extra)
    ddb(aws).create_table(**params)


def table_names(aws: Aws) -> set[str]:
    return set(ddb(aws).list_tables()["TableNames"])


def exact(name: str) -> bool:
    return name == TABLE


@pytest.fixture
def tables(aws: Aws) -> None:
    for name in [TABLE, *LOOKALIKES]:
        make_table(aws, name)


def test_find_exact_name_skips_lookalikes(aws: Aws, tables: None) -> None:
    found = TableType().find(aws, REGION, exact)

    assert [f.id for f in found] == [TABLE]
    assert set(LOOKALIKES) <= table_names(aws)
    table = ddb(aws).describe_table(TableName=TABLE)["Table"]
    f = found[0]
    assert f.arn == table["TableArn"]
    assert f.guard is None and not f.protected
    assert f.usage == {"billing_mode": "PAY_PER_REQUEST", "rcu": 0, "wcu": 0, "stored_bytes": 0}
    assert f.details["status"] == "ACTIVE"


def test_provisioned_usage_includes_gsi_capacity(aws: Aws) -> None:
    make_table(
        aws,
        TABLE,
        BillingMode="PROVISIONED",
        ProvisionedThroughput={"ReadCapacityUnits": 5, "WriteCapacityUnits": 3},
        AttributeDefinitions=[
            {"AttributeName": "id", "AttributeType": "S"},
            {"AttributeName": "label", "AttributeType": "S"},
        ],
        GlobalSecondaryIndexes=[
            {
                "IndexName": "by-label",
                "KeySchema": [{"AttributeName": "label", "KeyType": "HASH"}],
                "Projection": {"ProjectionType": "ALL"},
                "ProvisionedThroughput": {"ReadCapacityUnits": 2, "WriteCapacityUnits": 1},
            }
        ],
    )
    ddb(aws).put_item(TableName=TABLE, Item={"id": {"S": "1"}, "label": {"S": "cat"}})

    found = TableType().get(aws, REGION, TABLE)

    assert found is not None
    table = ddb(aws).describe_table(TableName=TABLE)["Table"]
    # moto keeps TableSizeBytes at 0 whatever is stored; the fact is passed through as AWS reports it.
    assert found.usage == {"billing_mode": "PROVISIONED", "rcu": 7, "wcu": 4, "stored_bytes": table["TableSizeBytes"]}


def test_deletion_protection_is_a_guard_that_aws_enforces(aws: Aws) -> None:
    make_table(aws, TABLE, DeletionProtectionEnabled=True)

    found = TableType().get(aws, REGION, TABLE)

    assert found is not None
    assert found.guard == "deletion protection is on"
    with pytest.raises(ClientError):
        TableType().delete(aws, found)  # the executor never calls this for a guarded table; AWS refuses anyway
    assert TABLE in table_names(aws)
    assert ddb(aws).describe_table(TableName=TABLE)["Table"]["DeletionProtectionEnabled"] is True


def test_protect_tag_is_read(aws: Aws) -> None:
    make_table(aws, TABLE, Tags=[{"Key": "cleanup:protect", "Value": "true"}, {"Key": "team", "Value": "ml"}])

    found = TableType().get(aws, REGION, TABLE)

    assert found is not None
    assert found.tags == {"cleanup:protect": "true", "team": "ml"}
    assert found.protected


def test_delete_then_get_is_none(aws: Aws, tables: None) -> None:
    t = TableType()
    found = t.get(aws, REGION, TABLE)
    assert found is not None

    t.delete(aws, found)
    assert t.poll_gone(aws, found) is None  # moto deletes at once: no DELETING state to wait through

    assert TABLE not in table_names(aws)
    assert set(LOOKALIKES) <= table_names(aws)
    assert t.get(aws, REGION, TABLE) is None
    assert t.find(aws, REGION, exact) == []


def test_identity_changes_when_recreated(aws: Aws) -> None:
    make_table(aws, TABLE)
    t = TableType()
    before = t.get(aws, REGION, TABLE)
    assert before is not None
    ddb(aws).delete_table(TableName=TABLE)
    # moto returns no TableId, so identity is the creation time alone (millisecond precision in moto); on AWS
    # TableId differs per incarnation. The short sleep keeps both creations out of the same millisecond.
    time.sleep(0.01)
    make_table(aws, TABLE)

    after = t.get(aws, REGION, TABLE)

    assert after is not None and after.arn == before.arn
    assert after.identity != before.identity


def test_identity_prefers_table_id(aws: Aws) -> None:
    """AWS returns a TableId (unique per incarnation); moto does not, so this shape comes from a Stubber."""
    created = datetime(2026, 1, 1, tzinfo=UTC)
    arn = "arn:aws:dynamodb:us-east-1:123456789012:table/PredictionHistory"
    table = {"TableName": TABLE, "TableArn": arn, "TableId": "1234-abcd", "CreationDateTime": created}
    with Stubber(ddb(aws)) as stub:
        stub.add_response("describe_table", {"Table": table}, {"TableName": TABLE})
        stub.add_response("list_tags_of_resource", {"Tags": []}, {"ResourceArn": arn})

        found = TableType().get(aws, REGION, TABLE)

    assert found is not None
    assert found.identity == f"1234-abcd|{created.isoformat()}"


# --- Stubber: waiting and paging ---------------------------------------------------------------------------------


class FastTableType(TableType):
    poll_delay = 0.01


def table_found() -> Found:
    return Found(type="dynamodb.table", region=REGION, id=TABLE, name=TABLE, arn="arn", identity="x")


def test_poll_gone_reports_deleting_without_sleeping(aws: Aws) -> None:
    with Stubber(ddb(aws)) as stub:
        stub.add_response(
            "describe_table", {"Table": {"TableName": TABLE, "TableStatus": "DELETING"}}, {"TableName": TABLE}
        )
        start = time.monotonic()

        pending = FastTableType().poll_gone(aws, table_found())

        stub.assert_no_pending_responses()
    assert pending == Pending(FastTableType.poll_delay, "DELETING")
    assert time.monotonic() - start < 0.5


def test_poll_gone_is_none_once_the_table_is_gone(aws: Aws) -> None:
    with Stubber(ddb(aws)) as stub:
        stub.add_client_error("describe_table", "ResourceNotFoundException", "gone", 400, {"TableName": TABLE})

        assert FastTableType().poll_gone(aws, table_found()) is None

        stub.assert_no_pending_responses()


def test_poll_gone_surfaces_unexpected_errors(aws: Aws) -> None:
    with Stubber(ddb(aws)) as stub:
        stub.add_client_error("describe_table", "AccessDeniedException", "no", 400, {"TableName": TABLE})

        with pytest.raises(ClientError, match="AccessDenied"):
            FastTableType().poll_gone(aws, table_found())


def test_list_tables_reads_every_page(aws: Aws) -> None:
    client = ddb(aws)
    seen: list[str] = []

    def match(name: str) -> bool:
        seen.append(name)
        return False

    with Stubber(client) as stub:
        stub.add_response("list_tables", {"TableNames": ["Alpha", "Beta"], "LastEvaluatedTableName": "Beta"}, {})
        stub.add_response("list_tables", {"TableNames": [TABLE]}, {"ExclusiveStartTableName": "Beta"})

        assert TableType().find(aws, REGION, match) == []

        stub.assert_no_pending_responses()
    assert seen == ["Alpha", "Beta", TABLE]
