"""Owners' answers decided in the core: keep-until dates (from Slack or the cleanup:keep-until tag) and snoozes.

The scan keeps what an owner kept until a date, visibly, until that date has passed (moto's in-process mock; the
clock is the scan's `now`, never the real time)."""

from __future__ import annotations

from datetime import UTC, date, datetime

import boto3
import pytest

from bot.aws.clients import Aws, new_session
from bot.core.keeps import (
    KEEP_UNTIL_TAG,
    SNOOZE_SECONDS,
    KeepUntil,
    keep_date_problem,
    keep_verdict,
    snooze_until,
    today,
)
from bot.core.scanner import scan
from bot.demo.stack import seed_workshop
from tests.core.helpers import REGION, dogcat

NOW = datetime(2026, 12, 1, 9, 30, tzinfo=UTC).timestamp()  # the clock of these tests
TABLE_KEY = f"dynamodb.table|{REGION}|PredictionHistory"


def at(day: str, hour: int = 12) -> float:
    return datetime.fromisoformat(f"{day}T{hour:02d}:00:00+00:00").timestamp()


# -- the dates an owner may pick ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "picked, problem",
    [
        ("2026-12-02", ""),
        ("2026-12-15", ""),
        ("2027-03-01", ""),  # 90 days after 2026-12-01
        ("2027-03-02", "more than 90 days ahead. Pick a date up to 2027-03-01"),
        ("2026-12-01", "not in the future"),  # today
        ("2026-11-30", "not in the future"),
        ("2020-01-01", "not in the future"),
        ("", "Pick a date"),
        ("15/12/2026", "Pick a date"),
        ("2026-02-30", "Pick a date"),
        ("2026-12-15T00:00", "Pick a date"),
    ],
)
def test_keep_dates(picked: str, problem: str) -> None:
    found = keep_date_problem(picked, NOW)
    assert (problem in found and bool(found)) if problem else found == ""
    if problem:
        assert "nothing was changed" in found


def test_verdicts_from_the_store_and_the_tag() -> None:
    stored = KeepUntil(TABLE_KEY, "123456789012", date(2026, 12, 15), "UMAI00001", NOW, "p" * 16)
    verdict = keep_verdict({}, stored, NOW)
    assert verdict is not None and verdict.until == date(2026, 12, 15) and verdict.by == "UMAI00001"
    assert verdict.reason == "kept until 2026-12-15 by UMAI00001"
    assert keep_verdict({}, stored, at("2026-12-15", 23)) is not None  # kept through the whole day (UTC)
    assert keep_verdict({}, stored, at("2026-12-16", 0)) is None  # offered again the day after
    tagged = keep_verdict({KEEP_UNTIL_TAG: " 2027-06-30 "}, None, NOW)
    assert tagged is not None and tagged.until == date(2027, 6, 30) and tagged.by == ""  # a tag may say any date
    assert tagged.reason == "tagged cleanup:keep-until=2027-06-30"
    assert keep_verdict({KEEP_UNTIL_TAG: "2026-11-30"}, None, NOW) is None  # a past date: no longer kept
    both = keep_verdict({KEEP_UNTIL_TAG: "2026-12-20"}, stored, NOW)
    assert both is not None and both.until == date(2026, 12, 20)  # the later date wins
    bad = keep_verdict({KEEP_UNTIL_TAG: "next week"}, None, NOW)
    assert bad is not None and bad.until is None and "not a date" in bad.reason  # meant to keep: kept
    assert keep_verdict({"cleanup:protect": "true"}, None, NOW) is None


def test_snooze_moves_the_next_reminder_by_a_day() -> None:
    due = NOW + 3600
    assert snooze_until(due, NOW) == due + SNOOZE_SECONDS
    assert snooze_until(NOW - 600, NOW) == NOW + SNOOZE_SECONDS  # overdue: a day from now
    assert today(NOW) == date(2026, 12, 1)


# -- the scan keeps it, visibly, until the date has passed ------------------------------------------------------


@pytest.fixture
def session(mocked: None) -> boto3.session.Session:
    return new_session(region_name=REGION)


def test_a_stored_keep_is_kept_until_its_date_then_offered_again(aws: Aws, session: boto3.session.Session) -> None:
    stack = seed_workshop(session, REGION)
    keeps = [KeepUntil(TABLE_KEY, stack.account_id, date(2026, 12, 15), "UMAI00001", NOW, "p" * 16)]
    plan = scan(aws, dogcat(), [REGION], now=NOW, keeps=keeps)
    table = next(r for r in plan.resources if r.key == TABLE_KEY)
    assert table.keep == "kept-until" and table.keep_reason == "kept until 2026-12-15 by UMAI00001"
    assert table.details["keep_until"] == "2026-12-15" and table.details["kept_by"] == "UMAI00001"
    assert table not in plan.to_delete and len(plan.to_delete) == len(stack.workshop) - 1
    # another account's keep of the same name does not keep this one
    other = [KeepUntil(TABLE_KEY, "999999999999", date(2026, 12, 15), "UMAI00001", NOW, "p" * 16)]
    assert TABLE_KEY in {r.key for r in scan(aws, dogcat(), [REGION], now=NOW, keeps=other).to_delete}
    # the date passed: offered again
    later = scan(aws, dogcat(), [REGION], now=at("2026-12-16"), keeps=keeps)
    assert TABLE_KEY in {r.key for r in later.to_delete} and not later.kept


def test_keeping_an_endpoint_keeps_what_it_uses(aws: Aws, session: boto3.session.Session) -> None:
    stack = seed_workshop(session, REGION)
    key = f"sagemaker.endpoint|{REGION}|{stack.endpoint}"
    plan = scan(aws, dogcat(), [REGION], now=NOW, keeps=[KeepUntil(key, "", date(2026, 12, 15), "UMAI00001")])
    kinds = {r.type: r.keep for r in plan.kept}
    assert kinds["sagemaker.endpoint"] == "kept-until"
    assert kinds["sagemaker.endpoint-config"] == "depends-on-kept" and kinds["sagemaker.model"] == "depends-on-kept"


def test_the_keep_until_tag_set_by_hand(aws: Aws, session: boto3.session.Session) -> None:
    seed_workshop(session, REGION)
    ddb = session.client("dynamodb")
    arn = ddb.describe_table(TableName="PredictionHistory")["Table"]["TableArn"]
    ddb.tag_resource(ResourceArn=arn, Tags=[{"Key": KEEP_UNTIL_TAG, "Value": "2026-12-24"}])
    plan = scan(aws, dogcat(), [REGION], now=NOW)
    table = next(r for r in plan.resources if r.key == TABLE_KEY)
    assert table.keep == "kept-until" and table.keep_reason == "tagged cleanup:keep-until=2026-12-24"
    assert table.details["keep_until"] == "2026-12-24" and table.details["kept_by"] == ""
    assert TABLE_KEY in {r.key for r in scan(aws, dogcat(), [REGION], now=at("2026-12-25")).to_delete}


def test_a_keep_until_tag_added_after_the_scan_is_honoured_at_deletion(
    aws: Aws, session: boto3.session.Session
) -> None:
    from datetime import timedelta

    from bot.core.executor import execute
    from bot.demo.inventory import exists
    from tests.core.test_executor import FAST

    seed_workshop(session, REGION)
    plan = scan(aws, dogcat(), [REGION])
    ddb = session.client("dynamodb")
    arn = ddb.describe_table(TableName="PredictionHistory")["Table"]["TableArn"]
    until = (datetime.now(UTC).date() + timedelta(days=7)).isoformat()
    ddb.tag_resource(ResourceArn=arn, Tags=[{"Key": KEEP_UNTIL_TAG, "Value": until}])
    results = {r.name: r for r in execute(aws, plan, None, FAST)}
    assert results["PredictionHistory"].status == "skipped"
    assert results["PredictionHistory"].reason == f"tagged cleanup:keep-until={until} since the scan"
    assert exists(session, "dynamodb.table:PredictionHistory")
