"""Creation times: read from every AWS module, carried by the plan (JSON round trip), priced since creation."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta, timezone

import pytest

from bot.aws.base import epoch_seconds
from bot.aws.clients import Aws, new_session
from bot.core.plan import Plan
from bot.core.pricing import cost_since_created, format_usd
from bot.core.scanner import scan
from bot.demo.stack import seed_workshop
from tests.core.helpers import REGION, dogcat

MOMENT = datetime(2025, 8, 12, 9, 30, 0, tzinfo=UTC).timestamp()


@pytest.mark.parametrize(
    "value",
    [
        datetime(2025, 8, 12, 9, 30, 0, tzinfo=UTC),
        datetime(2025, 8, 12, 11, 30, 0, tzinfo=timezone(timedelta(hours=2))),
        datetime(2025, 8, 12, 9, 30, 0),  # naive: UTC
        "2025-08-12T09:30:00.000+0000",  # Lambda's LastModified
        "2025-08-12T09:30:00.000000000Z",  # nine fraction digits (moto)
        "2025-08-12T09:30:00Z",
        int(MOMENT * 1000),  # CloudWatch Logs: milliseconds
        MOMENT,
    ],
)
def test_epoch_seconds_reads_every_form(value: object) -> None:
    assert epoch_seconds(value) == pytest.approx(MOMENT)


@pytest.mark.parametrize("value", [None, "", "yesterday", True, [], {}])
def test_epoch_seconds_unknown(value: object) -> None:
    assert epoch_seconds(value) is None


def test_cost_since_created() -> None:
    now = MOMENT + 73 * 3600  # 73 hours: a tenth of the table's 730-hour month
    assert cost_since_created(100.0, MOMENT, now) == pytest.approx(10.0)
    assert cost_since_created(100.0, now + 60, now) == 0.0  # a clock skew never gives a negative cost
    assert cost_since_created(None, MOMENT, now) is None
    assert cost_since_created(100.0, None, now) is None
    assert [format_usd(c) for c in (0.0, 0.004, 12.345, 1234.5)] == ["$0", "< $0.01", "$12.35", "$1,234.50"]


def test_scan_fills_creation_times(aws: Aws) -> None:
    session = new_session(region_name=REGION)
    before = time.time()
    seed_workshop(session, REGION)
    plan = scan(aws, dogcat(), [REGION])
    assert plan.to_delete
    for r in plan.to_delete:
        assert r.created_at is not None, r.key
        assert before - 300 < r.created_at < time.time() + 300, (r.key, r.created_at)
    again = Plan.from_json(plan.to_json())
    assert [r.created_at for r in again.resources] == [r.created_at for r in plan.resources]
    # plans stored before creation times existed still load
    data = plan.to_dict()
    for r in data["resources"]:
        del r["created_at"]
    assert all(r.created_at is None for r in Plan.from_dict(data).resources)
